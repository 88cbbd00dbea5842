//! acme-dns, client side: delegated DNS-01 records without DNS-provider API keys.
//!
//! The user creates one CNAME, `_acme-challenge.<domain>` → `<subdomain>.<acme-dns zone>`,
//! and certpilot updates that account's two TXT slots over the REST API.
//!
//! - [`account`]: register an account or keep imported passwords (CLI and dashboard).
//! - [`client`]: `/register`, `/update`, `/health`, and the transport policy ([`ServerUrl`]).
//! - [`import`]: goacmedns and certbot-dns-acmedns credential files.
//! - [`records`]: the CNAME in copy-ready forms.
//! - [`delegation`]: is the CNAME in place? Checked before anything is sent to the CA.
//! - [`solver`]: the `acme-dns` [`crate::solver::Solver`], with the two-values capacity guard.
//!
//! Passwords live in the keyring ([`crate::secrets::SecretRef::AcmeDns`]); nothing here puts
//! one in a message, a log line or a `Debug` output.

pub mod account;
pub mod client;
pub mod delegation;
pub mod import;
mod lookup;
pub mod records;
mod slots;
pub mod solver;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use client::{AcmeDnsClient, Credentials, Password, Registration, ServerUrl};
pub use delegation::{
    check_delegation, check_delegation_on, verify_delegation, DelegationCheck, DelegationState,
};
pub use records::CnameRecord;
pub use solver::{AcmeDnsSolver, SolverOptions};

use crate::config::AcmeDnsRegistration;
use crate::secrets::SecretError;

/// What can go wrong talking to acme-dns, importing credentials or checking the delegation.
/// No variant carries a password.
#[derive(Debug, thiserror::Error)]
pub enum AcmeDnsError {
    /// The server URL is not usable.
    #[error("acme-dns server {url:?}: {reason}")]
    BadServerUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Plain http to a server that is not on loopback, without the explicit opt-in.
    #[error(
        "refusing plain http to {url}: the acme-dns password would cross the network \
         unencrypted. Use https://, or pass --allow-insecure-http if the path to the server is \
         trusted"
    )]
    InsecureHttp {
        /// The URL as given.
        url: String,
    },
    /// TLS setup failed (CA bundle, trust roots).
    #[error("TLS setup for acme-dns: {0}")]
    Tls(String),
    /// The request did not complete.
    #[error("{url}: {detail}")]
    Request {
        /// The endpoint.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The server answered with an error status; its body is shown as sent.
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        /// The endpoint.
        url: String,
        /// HTTP status.
        status: u16,
        /// The server's body (holds no secret), shortened.
        body: String,
    },
    /// The server answered something that is not what acme-dns sends.
    #[error("{url}: unexpected answer: {detail}")]
    BadResponse {
        /// The endpoint.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// Stored credentials cannot be sent (they are not valid header values).
    #[error("acme-dns credentials: {0}")]
    BadCredentials(String),
    /// A domain or network given by the user is not usable.
    #[error("{0}")]
    BadInput(String),
    /// A credentials file cannot be imported.
    #[error("{}: {detail}", .file.display())]
    Import {
        /// The file.
        file: PathBuf,
        /// What is wrong (never a value from the file).
        detail: String,
    },
    /// A certbot file has no server URL and none was given.
    #[error(
        "{}: certbot's acmedns.json does not record the server; pass --server URL (the \
         acme-dns server the accounts were registered on)", .file.display()
    )]
    ServerRequired {
        /// The file.
        file: PathBuf,
    },
    /// No registration covers a domain that is mapped to acme-dns.
    #[error(
        "{domain}: no acme-dns registration; run `certpilot acme-dns register {domain} --server {}` \
         and create the CNAME it prints", .server.as_deref().unwrap_or("URL")
    )]
    NoRegistration {
        /// The domain (without `*.`).
        domain: String,
        /// The server the domain is mapped to, when known.
        server: Option<String>,
    },
    /// The domain mapping and the registration name different servers.
    #[error(
        "{domain}: mapped to acme-dns server {mapped} but registered on {registered}; run \
         `certpilot domain set {domain} --solver acme-dns --server {registered}` or register again"
    )]
    ServerMismatch {
        /// The registration's domain.
        domain: String,
        /// The server of `domain set`.
        mapped: String,
        /// The server of the registration.
        registered: String,
    },
    /// The keyring holds no password for a registration.
    #[error(
        "{domain}: the keyring holds no acme-dns password; run `certpilot acme-dns register \
         {domain} --server {server}` again or import the credentials file"
    )]
    MissingPassword {
        /// The registration's domain.
        domain: String,
        /// Its server.
        server: String,
    },
    /// More TXT values than one account can serve.
    #[error("{0}")]
    Capacity(String),
    /// Another order in this process holds the account and did not finish in time.
    #[error("acme-dns account {fulldomain} is still used by another order after {}s", .waited.as_secs())]
    Busy {
        /// The account's fulldomain.
        fulldomain: String,
        /// How long we waited.
        waited: Duration,
    },
    /// The account's TXT values did not become visible.
    #[error(
        "{fulldomain}: after {}s the acme-dns server's TXT values are not visible (want {}; \
         seen {}){}", .waited.as_secs(), .expected.join(", "), none_if_empty(.seen),
        .last_error.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default()
    )]
    NotServed {
        /// The account's fulldomain.
        fulldomain: String,
        /// Values wanted.
        expected: Vec<String>,
        /// Values last seen.
        seen: Vec<String>,
        /// How long we waited.
        waited: Duration,
        /// The last lookup error.
        last_error: Option<String>,
    },
    /// The CNAME is missing or wrong; each line names the record to fix.
    #[error("the acme-dns delegation is not in place, so the CA would fail the validation; certpilot stops here:\n{}", .0.join("\n"))]
    Delegation(Vec<String>),
    /// DNS lookups could not be set up.
    #[error("DNS: {0}")]
    Dns(String),
    /// The keyring failed.
    #[error(transparent)]
    Secrets(#[from] SecretError),
}

fn none_if_empty(seen: &[String]) -> String {
    if seen.is_empty() {
        "nothing".to_owned()
    } else {
        seen.join(", ")
    }
}

impl AcmeDnsError {
    /// Whether the user's input or configuration is at fault (exit 2) rather than the run.
    #[must_use]
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::BadServerUrl { .. }
                | Self::BadInput(_)
                | Self::InsecureHttp { .. }
                | Self::Import { .. }
                | Self::ServerRequired { .. }
                | Self::NoRegistration { .. }
                | Self::ServerMismatch { .. }
                | Self::Capacity(_)
        )
    }
}

/// The registration that serves `name`: its own (a wildcard counts as its base), else the
/// closest parent's (`www.example.com` may share `example.com`'s account, with its own CNAME
/// to the same fulldomain).
#[must_use]
pub fn registration_for<'a>(
    registrations: &'a BTreeMap<String, AcmeDnsRegistration>,
    name: &str,
) -> Option<(&'a str, &'a AcmeDnsRegistration)> {
    let mut candidate = crate::domain::names::base_domain(name.trim_end_matches('.'));
    loop {
        if let Some((domain, reg)) = registrations.get_key_value(candidate) {
            return Some((domain.as_str(), reg));
        }
        candidate = candidate.split_once('.')?.1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(sub: &str) -> AcmeDnsRegistration {
        AcmeDnsRegistration {
            server: "https://auth.example.org".into(),
            username: format!("user-{sub}"),
            subdomain: sub.into(),
            fulldomain: format!("{sub}.auth.example.org"),
            allowfrom: Vec::new(),
        }
    }

    #[test]
    fn own_registration_then_closest_parent() {
        let regs: BTreeMap<String, AcmeDnsRegistration> = [
            ("example.com".to_owned(), reg("a")),
            ("dev.example.com".to_owned(), reg("b")),
        ]
        .into();
        let cases = [
            ("example.com", Some("example.com")),
            ("*.example.com", Some("example.com")),
            ("www.example.com", Some("example.com")),
            ("dev.example.com", Some("dev.example.com")),
            ("*.dev.example.com", Some("dev.example.com")),
            ("x.dev.example.com.", Some("dev.example.com")),
            ("example.org", None),
            ("com", None),
        ];
        for (name, want) in cases {
            assert_eq!(
                registration_for(&regs, name).map(|(d, _)| d),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn usage_errors_are_the_users_to_fix() {
        let e = AcmeDnsError::NoRegistration {
            domain: "example.com".into(),
            server: Some("https://auth.example.org".into()),
        };
        assert!(e.is_usage());
        assert!(e
            .to_string()
            .contains("certpilot acme-dns register example.com --server https://auth.example.org"));
        assert!(!AcmeDnsError::Dns("x".into()).is_usage());
    }
}
