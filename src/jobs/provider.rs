//! Mapping a domain to a DNS provider (`rfc2136`, `powerdns`) from the UI: the wizard's
//! request runs [`crate::ops::domains::set`] with the credentials trial on, so a failed test
//! restores the previous secret and leaves the configuration as it was.

use std::path::PathBuf;
use std::sync::Arc;

use super::Context;
use crate::config::DomainConfig;
use crate::ops::domains::{self, SecretSource};

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

impl From<ProviderRequest> for domains::Request {
    fn from(request: ProviderRequest) -> Self {
        domains::Request {
            domain: request.domain,
            config: request.config,
            secret: Some(SecretSource::File(request.secret_file)),
            no_cname_follow: None,
            trial: true,
        }
    }
}

/// Store the secret, test the credentials, save the mapping; the test's words on success.
///
/// # Errors
/// A bad domain or file, the keyring, or the provider's answer to the test (with its hint).
pub async fn save(
    ctx: &Arc<Context>,
    request: ProviderRequest,
) -> Result<String, crate::ops::Error> {
    let kind = request.config.kind();
    let saved = domains::set(ctx, request.into()).await?;
    let fqdn = saved.trial.map(|t| t.fqdn).unwrap_or_default();
    Ok(format!(
        "credentials work: added and removed {fqdn} TXT; {} mapped to {kind}",
        saved.domain
    ))
}
