//! HTTPS for the API (`[tls]` in the server config): `none` (plain HTTP, the default), `cert`
//! (a chain and key file, reloaded when they change) or `acme` (obtained and renewed from an
//! ACME CA through the server's own zone, see [`acme`]). Either way the certificate sits in a
//! [`slot::CertSlot`] that rustls asks at every handshake, so a new one serves the next
//! connection without a restart.

mod acme;
mod files;
mod slot;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::dns::Authority;
use crate::secrets::Keystore;

/// Why HTTPS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read or written.
    #[error("API certificate file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The PEM does not hold a usable chain and matching key.
    #[error("API certificate: {0}")]
    Pem(String),
    /// Getting the certificate from the CA failed.
    #[error("API certificate from the ACME CA: {0}")]
    Acme(String),
    /// `tls.mode = "acme"` needs the keyring, and none was given.
    #[error("tls.mode = \"acme\" keeps the ACME account and key in the keyring, which is not available: {0}")]
    Keystore(String),
}

/// How the API is served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain HTTP.
    #[default]
    None,
    /// Certificate and key from files.
    Cert,
    /// Certificate from an ACME CA through the server's own zone.
    Acme,
}

/// The `[tls]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// `none`, `cert` or `acme`.
    #[serde(default)]
    pub mode: TlsMode,
    /// `cert`: the chain (PEM, leaf first).
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// `cert`: the private key (PEM).
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// `acme`: a directory preset (`letsencrypt`, `letsencrypt-staging`, ...) or URL.
    #[serde(default)]
    pub directory: Option<String>,
    /// `acme`: extra CA certificates (PEM) trusted for the CA's own HTTPS.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// `acme`: contact e-mail of the ACME account.
    #[serde(default)]
    pub email: Option<String>,
    /// `acme`: names on the certificate, inside the zone (default: the zone itself).
    #[serde(default)]
    pub names: Vec<String>,
    /// `acme`: where the chain is kept (default: `api-certificate.pem` beside the config).
    #[serde(default)]
    pub chain_file: Option<PathBuf>,
    /// `acme`: renew when fewer days than this are left (default: a third of the lifetime).
    #[serde(default)]
    pub renew_before_days: Option<u64>,
    /// `acme`: seconds between renewal checks (default 3600).
    #[serde(default)]
    pub renew_check_secs: Option<u64>,
}

impl TlsConfig {
    /// Resolve relative file names against `base` (the config file's directory).
    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        for path in [
            &mut self.cert,
            &mut self.key,
            &mut self.ca_bundle,
            &mut self.chain_file,
        ]
        .into_iter()
        .flatten()
        {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
        if self.mode == TlsMode::Acme && self.chain_file.is_none() {
            self.chain_file = Some(base.join("api-certificate.pem"));
        }
    }
}

/// HTTPS ready to serve: the acceptor, and the task that reloads or renews (if any).
pub(crate) struct ApiTls {
    /// Wraps accepted connections.
    pub acceptor: TlsAcceptor,
    /// File watcher or renewal loop.
    pub task: JoinHandle<()>,
}

/// Set up HTTPS per `config` (`None` for plain HTTP). `acme` obtains the first certificate
/// now (through `authority`, whose DNS must already answer) unless a stored one is still good.
pub(crate) async fn prepare(
    config: &TlsConfig,
    zone: &str,
    authority: &Arc<Authority>,
    keystore: Option<Keystore>,
) -> Result<Option<ApiTls>, super::ServerError> {
    let slot = Arc::new(slot::CertSlot::default());
    let task = match config.mode {
        TlsMode::None => return Ok(None),
        TlsMode::Cert => {
            let (Some(cert), Some(key)) = (config.cert.clone(), config.key.clone()) else {
                return Err(super::config::invalid(
                    "tls.cert",
                    "tls.mode = \"cert\" needs tls.cert and tls.key",
                )
                .into());
            };
            let (c, k) = (cert.clone(), key.clone());
            let loaded = tokio::task::spawn_blocking(move || files::load(&c, &k))
                .await
                .map_err(|e| TlsError::Pem(e.to_string()))??;
            slot.set(Arc::new(loaded));
            tokio::spawn(files::watch(Arc::clone(&slot), cert, key))
        }
        TlsMode::Acme => {
            let acme = acme_settings(config, zone, keystore)?;
            let first = match acme.stored().await {
                Some(stored) => stored,
                None => acme.obtain(authority).await?,
            };
            slot.set(Arc::new(first));
            tokio::spawn(acme.renew_loop(Arc::clone(&slot), Arc::clone(authority)))
        }
    };
    let acceptor = TlsAcceptor::from(slot::server_config(slot)?);
    Ok(Some(ApiTls { acceptor, task }))
}

fn acme_settings(
    config: &TlsConfig,
    zone: &str,
    keystore: Option<Keystore>,
) -> Result<acme::AcmeTls, super::ServerError> {
    let keystore = keystore.ok_or_else(|| TlsError::Keystore("no keyring opened".into()))?;
    let directory = config.directory.as_deref().unwrap_or("letsencrypt");
    let directory = crate::acme::account::directory_url(directory)
        .map_err(|e| super::config::invalid("tls.directory", e.to_string()))?;
    let names = if config.names.is_empty() {
        vec![zone.to_owned()]
    } else {
        config.names.clone()
    };
    let suffix = format!(".{zone}");
    if let Some(outside) = names.iter().find(|n| **n != zone && !n.ends_with(&suffix)) {
        return Err(super::config::invalid(
            "tls.names",
            format!("{outside} is not inside the zone {zone}: this server can only answer challenges for its own zone"),
        )
        .into());
    }
    Ok(acme::AcmeTls {
        directory,
        ca_bundle: config.ca_bundle.clone(),
        email: config.email.clone(),
        names,
        chain_file: config
            .chain_file
            .clone()
            .unwrap_or_else(|| PathBuf::from("api-certificate.pem")),
        keystore,
        zone: zone.to_owned(),
        renew_before: config
            .renew_before_days
            .map(|days| Duration::from_secs(days.saturating_mul(86_400))),
        check_every: Duration::from_secs(config.renew_check_secs.unwrap_or(3600).max(1)),
    })
}
