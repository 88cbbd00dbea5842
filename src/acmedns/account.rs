//! Getting an acme-dns account into certpilot: register a new one, or keep the passwords of
//! imported ones. The password goes to the keyring; the caller stores the returned public
//! parts in the config (`[acme-dns."<domain>"]`). The CLI and the dashboard both use these.

use std::path::Path;

use super::import::ImportedAccount;
use super::{AcmeDnsClient, AcmeDnsError, ServerUrl};
use crate::config::AcmeDnsRegistration;
use crate::domain::names;
use crate::secrets::blocking;
use crate::secrets::{Keystore, SecretRef};

/// The registration key of a domain: normalised, `*.` stripped (a wildcard and its apex
/// share one account).
///
/// # Errors
/// [`AcmeDnsError::BadInput`] naming the mistake.
pub fn domain_key(input: &str) -> Result<String, AcmeDnsError> {
    let name = names::normalize(input).map_err(|e| AcmeDnsError::BadInput(e.to_string()))?;
    Ok(names::base_domain(&name).to_owned())
}

/// Every `--allow-from` value must be a network in CIDR notation (the server refuses the
/// whole registration otherwise).
///
/// # Errors
/// [`AcmeDnsError::BadInput`] naming the first bad value.
pub fn check_allow_from(cidrs: &[String]) -> Result<(), AcmeDnsError> {
    match cidrs.iter().find(|c| c.parse::<ipnet::IpNet>().is_err()) {
        Some(bad) => Err(AcmeDnsError::BadInput(format!(
            "--allow-from {bad}: not a network in CIDR notation (e.g. 192.0.2.0/24 or 2001:db8::/32)"
        ))),
        None => Ok(()),
    }
}

/// Register a new account for `domain` (a [`domain_key`]) on `server`, and keep its password
/// in `keystore`. Returns what goes into the config.
///
/// # Errors
/// Bad networks, TLS setup, the server's answer, or the keyring.
pub async fn register(
    domain: &str,
    server: &ServerUrl,
    allow_from: &[String],
    ca_bundle: Option<&Path>,
    keystore: &Keystore,
) -> Result<AcmeDnsRegistration, AcmeDnsError> {
    check_allow_from(allow_from)?;
    let client = AcmeDnsClient::new(server.clone(), ca_bundle)?;
    let reg = client.register(allow_from).await?;
    let entry = SecretRef::AcmeDns(domain.to_owned());
    let password = reg.password.expose().to_owned();
    let keystore = keystore.clone();
    blocking(move || keystore.put(&entry, &password)).await?;
    Ok(AcmeDnsRegistration {
        server: server.as_str().to_owned(),
        username: reg.username,
        subdomain: reg.subdomain,
        fulldomain: reg.fulldomain.trim_end_matches('.').to_ascii_lowercase(),
        allowfrom: reg.allowfrom,
    })
}

/// Put the passwords of imported accounts into `keystore`, all before the caller names the
/// accounts in the config.
///
/// # Errors
/// The first keyring failure.
pub async fn keep_passwords(
    accounts: &[ImportedAccount],
    keystore: &Keystore,
) -> Result<(), AcmeDnsError> {
    let secrets: Vec<_> = accounts
        .iter()
        .map(|a| (SecretRef::AcmeDns(a.domain.clone()), a.password.clone()))
        .collect();
    let keystore = keystore.clone();
    blocking(move || {
        secrets
            .iter()
            .try_for_each(|(entry, password)| keystore.put(entry, password.expose()))
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_keys_and_networks() {
        assert_eq!(domain_key("*.Example.COM.").unwrap(), "example.com");
        assert!(domain_key("*.*.example.com").unwrap_err().is_usage());
        assert!(check_allow_from(&["192.0.2.0/24".into(), "::1/128".into()]).is_ok());
        let e = check_allow_from(&["192.0.2.0/24".into(), "1.2.3.4".into()]).unwrap_err();
        assert!(e.is_usage());
        assert!(
            e.to_string()
                .starts_with("--allow-from 1.2.3.4: not a network"),
            "{e}"
        );
    }
}
