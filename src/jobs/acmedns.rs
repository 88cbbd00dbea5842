//! acme-dns from the UI: register an account or import a credentials file, the same steps
//! as `certpilot acme-dns register|import`, optionally mapping the domain to the acme-dns
//! solver. The result is the CNAME to create, in copy-ready forms.

use std::path::PathBuf;
use std::sync::Arc;

use super::context::blocking;
use super::Context;
use crate::acmedns::{import, AcmeDnsClient, CnameRecord, Password, ServerUrl};
use crate::config::{AcmeDnsRegistration, DomainConfig};
use crate::domain::names;
use crate::secrets::SecretRef;

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

/// Check what needs no network: domain, server URL, networks.
///
/// # Errors
/// A message naming the field.
pub fn validate(
    domain: &str,
    server: &str,
    allow_from: &[String],
    insecure: bool,
) -> Result<String, String> {
    let name = names::normalize(domain).map_err(|e| e.to_string())?;
    ServerUrl::parse(server, insecure).map_err(|e| e.to_string())?;
    for cidr in allow_from {
        if cidr.parse::<ipnet::IpNet>().is_err() {
            return Err(format!(
                "{cidr}: not a network in CIDR notation (e.g. 192.0.2.0/24)"
            ));
        }
    }
    Ok(names::base_domain(&name).to_owned())
}

/// Register, keep the password in the keyring, save the registration.
///
/// # Errors
/// Validation, keyring, server or file errors, as messages.
pub async fn register(
    ctx: &Arc<Context>,
    request: RegisterRequest,
) -> Result<Vec<Delegation>, String> {
    let domain = validate(
        &request.domain,
        &request.server,
        &request.allow_from,
        request.allow_insecure_http,
    )?;
    let url = ServerUrl::parse(&request.server, request.allow_insecure_http)
        .map_err(|e| e.to_string())?;
    // Open the keyring first: a registration whose password cannot be kept is lost.
    let opener = Arc::clone(ctx);
    let keystore = blocking(move || opener.keystore()).await?;
    let client =
        AcmeDnsClient::new(url.clone(), ctx.global_ca_bundle()).map_err(|e| e.to_string())?;
    let reg = client
        .register(&request.allow_from)
        .await
        .map_err(|e| e.to_string())?;
    let entry = SecretRef::AcmeDns(domain.clone());
    let password = reg.password.expose().to_owned();
    blocking(move || keystore.put(&entry, &password).map_err(|e| e.to_string())).await?;
    let registration = AcmeDnsRegistration {
        server: url.as_str().to_owned(),
        username: reg.username,
        subdomain: reg.subdomain,
        fulldomain: reg.fulldomain.trim_end_matches('.').to_ascii_lowercase(),
        allowfrom: reg.allowfrom,
    };
    let saver = Arc::clone(ctx);
    let entries = vec![(domain, registration)];
    blocking(move || save(&saver, entries, request.use_for_issuance)).await
}

/// Import a credentials file: passwords into the keyring, registrations into the config.
///
/// # Errors
/// Unreadable or invalid file, keyring or config errors.
pub async fn import_file(
    ctx: &Arc<Context>,
    request: ImportRequest,
) -> Result<Vec<Delegation>, String> {
    let file = import::read(
        &request.path,
        request.server.as_deref(),
        request.allow_insecure_http,
    )
    .map_err(|e| e.to_string())?;
    let opener = Arc::clone(ctx);
    let keystore = blocking(move || opener.keystore()).await?;
    let secrets: Vec<(SecretRef, Password)> = file
        .accounts
        .iter()
        .map(|a| (SecretRef::AcmeDns(a.domain.clone()), a.password.clone()))
        .collect();
    // Every password goes in before the config names the accounts.
    blocking(move || {
        secrets
            .iter()
            .try_for_each(|(entry, password)| keystore.put(entry, password.expose()))
            .map_err(|e| e.to_string())
    })
    .await?;
    let entries = file
        .accounts
        .into_iter()
        .map(|a| (a.domain, a.registration))
        .collect();
    let saver = Arc::clone(ctx);
    blocking(move || save(&saver, entries, request.use_for_issuance)).await
}

fn save(
    ctx: &Context,
    entries: Vec<(String, AcmeDnsRegistration)>,
    map: bool,
) -> Result<Vec<Delegation>, String> {
    let mut config = ctx.config()?;
    let mut out = Vec::new();
    for (domain, registration) in entries {
        if map {
            config.domains.insert(
                domain.clone(),
                DomainConfig::AcmeDns {
                    server: registration.server.clone(),
                },
            );
        }
        out.push(Delegation {
            server: registration.server.clone(),
            record: CnameRecord::new(&domain, &registration.fulldomain),
            mapped: map,
        });
        config.acme_dns.insert(domain, registration);
    }
    crate::config::save(&ctx.paths.config_file, &config).map_err(|e| e.to_string())?;
    tracing::info!(count = out.len(), "acme-dns registrations saved");
    Ok(out)
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
            let err = validate(domain, server, &allow, insecure).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }
}
