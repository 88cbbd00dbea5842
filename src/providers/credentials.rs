//! The secret a solver mapping needs (TSIG secret, PowerDNS API key), from the text of the
//! operator's file, and the keyring entry it goes to. Shared by `domain set` and the TUI.

use crate::config::DomainConfig;
use crate::secrets::SecretRef;

/// The keyring entry of `domain`'s secret under `cfg`, or `None` when the solver has none.
#[must_use]
pub fn secret_entry(domain: &str, cfg: &DomainConfig) -> Option<SecretRef> {
    match cfg {
        DomainConfig::Rfc2136 { .. } => Some(SecretRef::Tsig(domain.to_owned())),
        DomainConfig::PowerDns { .. } => Some(SecretRef::PowerDns(domain.to_owned())),
        _ => None,
    }
}

/// The secret in `text` for `cfg`: the base64 TSIG secret (bare, BIND or Knot key file), or
/// the API key (trimmed). The mapping itself is checked too (algorithm, API URL policy).
///
/// # Errors
/// What is wrong, never quoting the text.
pub fn secret_from_text(cfg: &DomainConfig, text: &str) -> Result<String, String> {
    check(cfg)?;
    let secret = match cfg {
        DomainConfig::Rfc2136 { .. } => {
            crate::rfc2136::key::secret_from_text(text).map_err(|e| e.to_string())?
        }
        _ => text.trim().to_owned(),
    };
    if secret.is_empty() {
        return Err("the secret is empty".into());
    }
    Ok(secret)
}

/// Whether the mapping's own settings are usable (before any secret is read).
///
/// # Errors
/// An unknown TSIG algorithm, or an API URL the transport policy refuses.
pub fn check(cfg: &DomainConfig) -> Result<(), String> {
    match cfg {
        DomainConfig::Rfc2136 { tsig_algorithm, .. } => tsig_algorithm
            .parse::<crate::rfc2136::Algorithm>()
            .map(|_| ())
            .map_err(|e| e.to_string()),
        DomainConfig::PowerDns { api_url, .. } => crate::powerdns::client::api_root(api_url)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        _ => Ok(()),
    }
}
