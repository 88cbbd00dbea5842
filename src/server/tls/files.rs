//! `tls = "cert"`: the API certificate from a chain file and a key file (e.g. written by
//! certpilot's own deploy, or another ACME client), reloaded when either file changes. A
//! half-written or mismatched pair is not served: the previous certificate stays until the
//! files form a valid pair again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::slot::{certified_key, CertSlot};
use super::TlsError;

/// How often the files' modification times are compared.
const POLL: Duration = Duration::from_secs(2);

/// The certificate in `cert` with the key in `key`.
pub(crate) fn load(cert: &Path, key: &Path) -> Result<rustls::sign::CertifiedKey, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    certified_key(&read(cert)?, &read(key)?)
}

fn stamps(cert: &Path, key: &Path) -> (Option<SystemTime>, Option<SystemTime>) {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (modified(cert), modified(key))
}

/// Watch the two files and swap the served certificate when they change.
pub(crate) async fn watch(slot: Arc<CertSlot>, cert: PathBuf, key: PathBuf) {
    let mut seen = stamps(&cert, &key);
    loop {
        tokio::time::sleep(POLL).await;
        let now = stamps(&cert, &key);
        if now == seen {
            continue;
        }
        let (c, k) = (cert.clone(), key.clone());
        // A broken pair is reported once; the next write changes the stamps again.
        seen = now;
        match tokio::task::spawn_blocking(move || load(&c, &k)).await {
            Ok(Ok(loaded)) => {
                slot.set(Arc::new(loaded));
                tracing::info!(cert = %cert.display(), "API certificate reloaded");
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "API certificate files changed but do not load; keeping the previous one");
            }
            Err(error) => tracing::warn!(%error, "API certificate reload failed"),
        }
    }
}
