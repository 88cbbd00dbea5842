//! Mapping a domain to a DNS provider (`rfc2136`, `powerdns`) from the UI: the secret goes
//! into the keyring, the credentials are tested by adding and removing a harmless record,
//! and only then is the mapping saved. A failed test restores the previous secret and
//! leaves the configuration as it was.

use std::path::PathBuf;
use std::sync::Arc;

use super::Context;
use crate::config::DomainConfig;
use crate::domain::names;
use crate::ops::blocking;
use crate::providers::credentials;
use crate::secrets::{Keystore, SecretRef};

/// What the provider wizard saves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRequest {
    /// The domain (and its subdomains) to map.
    pub domain: String,
    /// The mapping.
    pub config: DomainConfig,
    /// The operator's file holding the TSIG secret or API key.
    pub secret_file: PathBuf,
}

/// Store the secret, test the credentials, save the mapping; the test's words on success.
///
/// # Errors
/// A bad domain or file, the keyring, or the provider's answer to the test (with its hint).
pub async fn save(ctx: &Arc<Context>, request: ProviderRequest) -> Result<String, String> {
    let domain = names::normalize(&request.domain).map_err(|e| e.to_string())?;
    if domain.starts_with("*.") {
        return Err(format!("{domain}: map the domain without '*.'"));
    }
    let text = std::fs::read_to_string(&request.secret_file)
        .map_err(|e| format!("{}: {e}", request.secret_file.display()))?;
    let secret = credentials::secret_from_text(&request.config, &text)
        .map_err(|e| format!("{}: {e}", request.secret_file.display()))?;
    let entry = credentials::secret_entry(&domain, &request.config)
        .ok_or_else(|| format!("the {} solver has no credentials", request.config.kind()))?;
    let opener = Arc::clone(ctx);
    let keystore = blocking(move || opener.keystore().map_err(|e| e.to_string())).await?;
    let previous = swap(&keystore, &entry, Some(secret)).await?;
    match test(ctx, &domain, &request.config, &keystore).await {
        Ok(words) => {
            let mut config = ctx.load_config().map_err(|e| e.to_string())?;
            config.domains.insert(domain.clone(), request.config);
            crate::config::save(&ctx.paths.config_file, &config).map_err(|e| e.to_string())?;
            tracing::info!(%domain, "DNS provider mapping saved after a successful test");
            Ok(words)
        }
        Err(e) => {
            swap(&keystore, &entry, previous).await?;
            Err(e)
        }
    }
}

/// Put `secret` (or delete the entry for `None`); the value it replaced.
async fn swap(
    keystore: &Keystore,
    entry: &SecretRef,
    secret: Option<String>,
) -> Result<Option<String>, String> {
    let (keystore, entry) = (keystore.clone(), entry.clone());
    blocking(move || {
        let old = keystore.get(&entry).map_err(|e| e.to_string())?;
        match secret {
            Some(secret) => keystore.put(&entry, &secret),
            None => keystore.delete(&entry).map(|_| ()),
        }
        .map_err(|e| e.to_string())?;
        Ok(old)
    })
    .await
}

/// Add and remove `_certpilot-test.<domain>` with the solver `cfg` describes.
async fn test(
    ctx: &Context,
    domain: &str,
    cfg: &DomainConfig,
    keystore: &Keystore,
) -> Result<String, String> {
    let done = crate::ops::domains::trial(ctx, domain, domain, cfg, keystore)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "credentials work: added and removed {} TXT; {domain} mapped to {}",
        done.fqdn,
        cfg.kind()
    ))
}
