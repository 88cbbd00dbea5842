//! The PowerDNS Authoritative HTTP API (v1): the `powerdns` solver.
//!
//! - [`client`]: the zone list, one zone's record sets, and PATCH of record sets.
//! - [`solver`]: records grouped by zone (longest match in the API's zone list), one PATCH
//!   per zone that keeps every other TXT value at the same names.
//!
//! The API key lives in the keyring ([`crate::secrets::SecretRef::PowerDns`]); it travels in
//! the sensitive `X-API-Key` header and no error, log line or `Debug` output contains it.

pub mod client;
pub mod solver;

pub use client::PowerDnsClient;
pub use solver::{PowerDnsOptions, PowerDnsSolver};

/// What can go wrong with the PowerDNS API. No variant carries the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PowerDnsError {
    /// The API URL is unusable or not allowed.
    #[error("PowerDNS API URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// TLS setup failed.
    #[error("TLS setup for the PowerDNS API: {0}")]
    Tls(String),
    /// No API key in the keyring for the domain.
    #[error("no PowerDNS API key in the keyring for {domain}: run `certpilot domain set {domain} --solver powerdns ... --api-key-file FILE` again")]
    MissingKey {
        /// The mapped domain.
        domain: String,
    },
    /// The keyring failed.
    #[error("keyring: {0}")]
    Keyring(String),
    /// The request did not get an answer.
    #[error("PowerDNS API {url}: {detail}")]
    Request {
        /// The URL.
        url: String,
        /// What happened.
        detail: String,
    },
    /// 401/403: the key is wrong.
    #[error("PowerDNS API {url} rejected the API key ({status}): the key in the keyring is not the server's api-key. Store the right one with `certpilot domain set DOMAIN --solver powerdns --api-url URL --api-key-file FILE`")]
    Unauthorized {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// Any other non-success answer, with the API's error text.
    #[error("PowerDNS API {url} answered {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The API's `error` text or the body, shortened.
        body: String,
    },
    /// The answer is not what the API documents.
    #[error("PowerDNS API {url}: unexpected answer: {detail}")]
    BadResponse {
        /// The URL.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// No zone on the server contains the name.
    #[error(
        "no zone on the PowerDNS server {server_id} at {url} contains {name} (zones: {zones})"
    )]
    NoZone {
        /// The API URL.
        url: String,
        /// The server id.
        server_id: String,
        /// The record owner.
        name: String,
        /// The zones the server has, shortened.
        zones: String,
    },
}
