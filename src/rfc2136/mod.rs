//! RFC 2136 dynamic updates signed with TSIG: the `rfc2136` solver.
//!
//! - [`key`]: algorithm names and the secret as read from a key file.
//! - [`update`]: the UPDATE messages (hickory's message types; no hand-made wire format).
//! - [`exchange`]: one signed UPDATE over TCP, the answer's TSIG verified, errors decoded.
//! - [`solver`]: records grouped by zone, one UPDATE per zone per order.
//!
//! The secret lives in the keyring ([`crate::secrets::SecretRef::Tsig`]); no error, log line
//! or `Debug` output here contains it.

pub mod exchange;
pub mod key;
pub mod placement;
pub mod solver;
pub mod update;

use std::net::SocketAddr;

pub use key::{Algorithm, TsigKey};
pub use solver::{Rfc2136Options, Rfc2136Solver};

/// Why an update could not be made. No variant carries the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rfc2136Error {
    /// The key (name, algorithm or secret) is unusable.
    #[error("TSIG key: {0}")]
    BadKey(String),
    /// No secret in the keyring for the domain.
    #[error("no TSIG secret in the keyring for {domain}: run `certpilot domain set {domain} --solver rfc2136 ... --tsig-secret-file FILE` again")]
    MissingSecret {
        /// The mapped domain.
        domain: String,
    },
    /// The keyring failed.
    #[error("keyring: {0}")]
    Keyring(String),
    /// The zone or its primary server could not be found.
    #[error("{0}")]
    Discovery(String),
    /// The server did not answer in time.
    #[error("update of zone {zone} at {server}: no answer within {:.1}s; is {server} the zone's primary, and does it accept DNS over TCP from this host?", .waited.as_secs_f64())]
    Timeout {
        /// The server.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// The limit.
        waited: std::time::Duration,
    },
    /// The connection failed or the answer could not be read.
    #[error("update of zone {zone} at {server}: {detail}")]
    Transport {
        /// The server.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// What happened.
        detail: String,
    },
    /// The server answered with an error; `hint` says what to change.
    #[error("update of zone {zone} at {server} failed: {code}. {hint}")]
    Rejected {
        /// The server.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// The RCODE, with the TSIG error when there is one (`NOTAUTH/BADSIG`).
        code: String,
        /// What to do about it.
        hint: String,
    },
    /// The answer's TSIG signature did not verify: it may not come from the server.
    #[error("update of zone {zone} at {server}: the answer's TSIG signature does not verify ({detail}); not trusting it")]
    Unverified {
        /// The server.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// Why.
        detail: String,
    },
}
