//! acme-dns accounts, one copy for both front ends: register one on a server or import a
//! credentials file (passwords into the keyring, registrations into the config), optionally
//! mapping the domains to the acme-dns solver. The result is the CNAME to create.

use std::path::PathBuf;
use std::sync::Arc;

use super::{blocking, Error};
use crate::acmedns::import::{self, ImportedFile};
use crate::acmedns::{account, CnameRecord, ServerUrl};
use crate::config::{AcmeDnsRegistration, DomainConfig};
use crate::session::Session;

/// Register a new acme-dns account for a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    /// The domain (`*.` stripped: a wildcard shares its apex's account).
    pub domain: String,
    /// Server URL.
    pub server: String,
    /// Networks allowed to update (CIDR).
    pub allow_from: Vec<String>,
    /// Allow plain http to a server that is not on loopback.
    pub allow_insecure_http: bool,
    /// Also map the domain to the acme-dns solver.
    pub use_for_issuance: bool,
}

/// Import goacmedns / certbot credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRequest {
    /// The JSON file.
    pub path: PathBuf,
    /// Server URL (required for certbot files; overrides goacmedns URLs).
    pub server: Option<String>,
    /// Allow plain http to a server that is not on loopback.
    pub allow_insecure_http: bool,
    /// Also map the domains to the acme-dns solver.
    pub use_for_issuance: bool,
}

/// One registered (or imported) domain and the record that delegates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// The server.
    pub server: String,
    /// The CNAME to create.
    pub record: CnameRecord,
    /// Whether the domain now uses the acme-dns solver.
    pub mapped: bool,
}

/// What a registration or an import saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// Each domain and its CNAME.
    pub delegations: Vec<Delegation>,
    /// Registrations replaced by different ones: (domain, the old one).
    pub replaced: Vec<(String, AcmeDnsRegistration)>,
}

/// Check what needs no network: domain, server URL, networks. Returns the domain key (the
/// base domain the account is kept under).
///
/// # Errors
/// The field at fault.
pub fn validate(
    domain: &str,
    server: &str,
    allow_from: &[String],
    insecure: bool,
) -> Result<String, Error> {
    let key = account::domain_key(domain)?;
    ServerUrl::parse(server, insecure)?;
    account::check_allow_from(allow_from)?;
    Ok(key)
}

/// Register on the server (with the session's CA bundle), keep the password in the keyring,
/// save the registration.
///
/// # Errors
/// Validation, keyring, server or file errors.
pub async fn register(session: &Arc<Session>, request: RegisterRequest) -> Result<Saved, Error> {
    let domain = validate(
        &request.domain,
        &request.server,
        &request.allow_from,
        request.allow_insecure_http,
    )?;
    let url = ServerUrl::parse(&request.server, request.allow_insecure_http)?;
    // Open the keyring first: a registration whose password cannot be kept is lost.
    let opener = Arc::clone(session);
    let keystore = blocking::<_, Error>(move || Ok(opener.keystore()?)).await?;
    let bundle = session.config()?.settings.ca_bundle;
    let registration = account::register(
        &domain,
        &url,
        &request.allow_from,
        bundle.as_deref(),
        &keystore,
    )
    .await?;
    let saver = Arc::clone(session);
    let entries = vec![(domain, registration)];
    blocking::<_, Error>(move || save(&saver, entries, request.use_for_issuance)).await
}

/// Read a credentials file (goacmedns or certbot).
///
/// # Errors
/// Unreadable or invalid file, naming the entry and field.
pub fn read(request: &ImportRequest) -> Result<ImportedFile, Error> {
    Ok(import::read(
        &request.path,
        request.server.as_deref(),
        request.allow_insecure_http,
    )?)
}

/// Import a file read by [`read`]: every password into the keyring before the config names
/// the accounts.
///
/// # Errors
/// Keyring or config errors.
pub async fn import(
    session: &Arc<Session>,
    file: &ImportedFile,
    use_for_issuance: bool,
) -> Result<Saved, Error> {
    let opener = Arc::clone(session);
    let keystore = blocking::<_, Error>(move || Ok(opener.keystore()?)).await?;
    account::keep_passwords(&file.accounts, &keystore).await?;
    let entries = file
        .accounts
        .iter()
        .map(|a| (a.domain.clone(), a.registration.clone()))
        .collect();
    let saver = Arc::clone(session);
    blocking::<_, Error>(move || save(&saver, entries, use_for_issuance)).await
}

fn save(
    session: &Session,
    entries: Vec<(String, AcmeDnsRegistration)>,
    map: bool,
) -> Result<Saved, Error> {
    let mut config = session.load_config()?;
    let mut saved = Saved {
        delegations: Vec::new(),
        replaced: Vec::new(),
    };
    for (domain, registration) in entries {
        if map {
            config.domains.insert(
                domain.clone(),
                DomainConfig::AcmeDns {
                    server: registration.server.clone(),
                },
            );
        }
        saved.delegations.push(Delegation {
            server: registration.server.clone(),
            record: CnameRecord::new(&domain, &registration.fulldomain),
            mapped: map,
        });
        let previous = config.acme_dns.insert(domain.clone(), registration.clone());
        if let Some(old) = previous.filter(|old| *old != registration) {
            saved.replaced.push((domain, old));
        }
    }
    crate::config::save(&session.paths.config_file, &config)?;
    tracing::info!(
        count = saved.delegations.len(),
        "acme-dns registrations saved"
    );
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        assert_eq!(
            validate("*.Example.com", "https://auth.example.net", &[], false).unwrap(),
            "example.com"
        );
        assert!(validate(
            "example.com",
            "http://127.0.0.1:8080",
            &["10.0.0.0/8".into()],
            false
        )
        .is_ok());
        let cases = [
            (
                "bad..name",
                "https://a.example",
                vec![],
                false,
                "empty label",
            ),
            ("example.com", "ftp://a.example", vec![], false, "https://"),
            (
                "example.com",
                "http://auth.example.net",
                vec![],
                false,
                "plain http",
            ),
            (
                "example.com",
                "https://a.example",
                vec!["10.0.0.0".to_owned()],
                false,
                "CIDR",
            ),
        ];
        for (domain, server, allow, insecure, needle) in cases {
            let err = validate(domain, server, &allow, insecure)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{err}");
        }
    }
}
