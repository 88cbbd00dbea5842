//! After an issuance or renewal: re-export to the certificate's export target, then run its
//! deploy hook.
//!
//! The hook runs through `/bin/sh -c`, as certbot runs its deploy hooks (lego splits its
//! `--renew-hook` on spaces and runs no shell): `systemctl reload nginx && ...` works, and a
//! plain `program arg` line means the same either way. The command comes from the operator's
//! own config file and certificate data reaches the hook only through environment variables,
//! never spliced into the command line, so the shell adds no injection path.
//!
//! A private key leaves the keyring only for an export target the operator configured; without
//! one the hook gets public files (the leaf, chain and full chain) next to the stored
//! certificate and no `CERTPILOT_KEY_PATH`.

mod hook;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use time::format_description::well_known::Rfc3339;

pub use hook::{run_hook, HookOutcome};

use crate::cert::inspect;
use crate::cert::store::{CertMeta, CertStore, StoreError};
use crate::config::{Config, ExportLayout};
use crate::fsutil::{self, Mode};
use crate::secrets::{Keystore, SecretError, SecretRef};

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// Nothing stored yet.
    #[error("certificate {0:?} has not been issued yet")]
    NotIssued(String),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored chain does not parse.
    #[error("{cert}: the stored certificate cannot be read: {detail}")]
    BadChain {
        /// Certificate name.
        cert: String,
        /// What the parser said.
        detail: String,
    },
    /// The key the metadata names is not in the keyring.
    #[error(
        "the private key of {cert} ({entry}) is not in the keyring; issue the certificate again"
    )]
    KeyMissing {
        /// Certificate name.
        cert: String,
        /// The keyring entry.
        entry: String,
    },
    /// The keyring failed.
    #[error(transparent)]
    Secrets(#[from] SecretError),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// The PEM files a hook is told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedFiles {
    /// The directory holding them (certbot's `RENEWED_LINEAGE`).
    pub lineage: PathBuf,
    /// The leaf certificate.
    pub cert: PathBuf,
    /// The intermediates.
    pub chain: PathBuf,
    /// Leaf and intermediates.
    pub fullchain: PathBuf,
    /// The private key: only in an export target.
    pub key: Option<PathBuf>,
}

impl DeployedFiles {
    /// Where an export to `dir` in `layout` puts certificate `name`'s files.
    #[must_use]
    pub fn export_target(dir: &Path, layout: ExportLayout, name: &str) -> Self {
        let lineage = match layout {
            ExportLayout::Flat => dir.to_path_buf(),
            ExportLayout::Certbot => dir.join("live").join(name),
        };
        Self {
            cert: lineage.join("cert.pem"),
            chain: lineage.join("chain.pem"),
            fullchain: lineage.join("fullchain.pem"),
            key: Some(lineage.join("privkey.pem")),
            lineage,
        }
    }
}

/// Write certificate `name` (leaf, chain, full chain and key) to `dir` in `layout`. Each file
/// is replaced atomically; directories are created 0700 and the key is 0600.
///
/// # Errors
/// Not issued, unreadable store, key missing from the keyring, or a write failed.
pub fn export(
    store: &CertStore,
    keystore: &Keystore,
    name: &str,
    dir: &Path,
    layout: ExportLayout,
) -> Result<(DeployedFiles, CertMeta), DeployError> {
    let stored = store
        .load(name)?
        .ok_or_else(|| DeployError::NotIssued(name.to_owned()))?;
    let entry = SecretRef::CertKey {
        cert: name.to_owned(),
        key_id: stored.meta.key_id.clone(),
    };
    let key = keystore
        .get(&entry)?
        .ok_or_else(|| DeployError::KeyMissing {
            cert: name.to_owned(),
            entry: entry.user(),
        })?;
    let files = DeployedFiles::export_target(dir, layout, name);
    write_pems(name, &stored.chain_pem, &files)?;
    if let Some(path) = &files.key {
        write(path, &key, Mode::Private)?;
    }
    Ok((files, stored.meta))
}

/// The public PEM files next to the stored certificate, for a hook without an export target.
fn public_files(store: &CertStore, name: &str) -> Result<(DeployedFiles, CertMeta), DeployError> {
    let stored = store
        .load(name)?
        .ok_or_else(|| DeployError::NotIssued(name.to_owned()))?;
    let lineage = store.root().join(name);
    let files = DeployedFiles {
        cert: lineage.join("cert.pem"),
        chain: lineage.join("chain.pem"),
        fullchain: lineage.join("fullchain.pem"),
        key: None,
        lineage,
    };
    write_pems(name, &stored.chain_pem, &files)?;
    Ok((files, stored.meta))
}

fn write_pems(name: &str, chain_pem: &str, files: &DeployedFiles) -> Result<(), DeployError> {
    let blocks = inspect::split_chain_pem(chain_pem).map_err(|e| DeployError::BadChain {
        cert: name.to_owned(),
        detail: e.to_string(),
    })?;
    let (leaf, chain) = blocks.split_first().ok_or_else(|| DeployError::BadChain {
        cert: name.to_owned(),
        detail: "the chain is empty".to_owned(),
    })?;
    fsutil::create_private_dir(&files.lineage).map_err(|source| DeployError::Io {
        path: files.lineage.clone(),
        source,
    })?;
    write(&files.chain, &chain.concat(), Mode::Public)?;
    write(&files.cert, leaf, Mode::Public)?;
    write(&files.fullchain, &blocks.concat(), Mode::Public)
}

fn write(path: &Path, data: &str, mode: Mode) -> Result<(), DeployError> {
    fsutil::write_atomic(path, data.as_bytes(), mode).map_err(|source| DeployError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The environment of a deploy hook: the same variable names for every hook.
#[must_use]
pub fn hook_env(meta: &CertMeta, files: &DeployedFiles) -> Vec<(&'static str, String)> {
    let path = |p: &Path| p.display().to_string();
    let names = meta.names.join(" ");
    let mut env = vec![
        ("CERTPILOT_CERT_NAME", meta.name.clone()),
        ("CERTPILOT_NAMES", names.clone()),
        ("CERTPILOT_CERT_PATH", path(&files.cert)),
        ("CERTPILOT_CHAIN_PATH", path(&files.chain)),
        ("CERTPILOT_FULLCHAIN_PATH", path(&files.fullchain)),
        ("CERTPILOT_SERIAL", meta.serial.clone()),
        (
            "CERTPILOT_NOT_AFTER",
            meta.not_after.format(&Rfc3339).unwrap_or_default(),
        ),
        ("RENEWED_LINEAGE", path(&files.lineage)),
        ("RENEWED_DOMAINS", names),
    ];
    if let Some(key) = &files.key {
        env.push(("CERTPILOT_KEY_PATH", path(key)));
    }
    env
}

/// What [`after_issue`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployReport {
    /// The export target written, if one is configured and the export succeeded.
    pub exported_to: Option<PathBuf>,
    /// The hook's end, if a hook is configured and was run.
    pub hook: Option<HookOutcome>,
    /// Why nothing could be deployed (the export failed; the hook was not run).
    pub error: Option<String>,
}

impl DeployReport {
    /// A short phrase for a failed deploy ("deploy hook failed (exit 3)"); `None` when every
    /// configured step succeeded.
    #[must_use]
    pub fn failure(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(format!("deploy failed: {error}"));
        }
        match &self.hook {
            Some(HookOutcome::Succeeded) | None => None,
            Some(outcome) => Some(format!("deploy hook failed ({outcome})")),
        }
    }

    /// A short phrase for a successful deploy ("exported to DIR; deploy hook ran").
    #[must_use]
    pub fn success(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(dir) = &self.exported_to {
            parts.push(format!("exported to {}", dir.display()));
        }
        if self.hook == Some(HookOutcome::Succeeded) {
            parts.push("deploy hook ran".to_owned());
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// What to append to a summary line: `"; deploy hook failed (exit 3)"`, `"; deploy hook
    /// ran"`, or nothing when no deploy is configured.
    #[must_use]
    pub fn summary_suffix(&self) -> String {
        self.failure()
            .or_else(|| self.success())
            .map(|s| format!("; {s}"))
            .unwrap_or_default()
    }
}

/// The export target and the deploy hook (its own, else the global one) of certificate `name`.
fn configured(
    config: &Config,
    name: &str,
) -> (Option<crate::config::ExportConfig>, Option<String>) {
    let cert = config.certificates.get(name);
    let target = cert.and_then(|c| c.export.clone());
    let hook = cert
        .and_then(|c| c.deploy_hook.clone())
        .or_else(|| config.settings.deploy_hook.clone())
        .filter(|h| !h.trim().is_empty());
    (target, hook)
}

/// Deploy certificate `name` after a successful issuance or renewal: re-export to its export
/// target (if any), then run its deploy hook (its own, else `settings.deploy_hook`) bounded
/// by `settings.hook_timeout`. Never touches the stored certificate or key: a failure here is
/// reported, not undone.
pub async fn after_issue(
    config: &Config,
    store: &CertStore,
    keystore: &Keystore,
    name: &str,
) -> DeployReport {
    let (target, hook) = configured(config, name);
    if target.is_none() && hook.is_none() {
        return DeployReport::default();
    }
    let (store, keystore, owned) = (store.clone(), keystore.clone(), name.to_owned());
    let written = tokio::task::spawn_blocking(move || match target {
        Some(target) => export(&store, &keystore, &owned, &target.dir, target.layout),
        None => public_files(&store, &owned),
    })
    .await;
    let mut report = DeployReport::default();
    let (files, meta) = match written {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            tracing::error!(cert = name, error = %e, "deploy: export failed; hook not run");
            report.error = Some(e.to_string());
            return report;
        }
        Err(e) => {
            report.error = Some(format!("export task failed: {e}"));
            return report;
        }
    };
    if files.key.is_some() {
        tracing::info!(cert = name, dir = %files.lineage.display(), "exported");
        report.exported_to = Some(files.lineage.clone());
    }
    if let Some(command) = hook {
        let timeout = Duration::from_secs(config.settings.hook_timeout);
        let outcome = run_hook(&command, &hook_env(&meta, &files), timeout, name).await;
        // The command line may carry credentials (tokens in URLs): only at debug.
        tracing::debug!(cert = name, %command, "deploy hook command");
        tracing::info!(cert = name, outcome = %outcome, "deploy hook finished");
        report.hook = Some(outcome);
    }
    report
}

/// `state/deploy-pending/<name>`: the last deploy of `name` failed after its certificate was
/// stored. The certificate is not due again for weeks, so without this marker nothing would
/// retry the deploy; `renew` does.
fn pending_marker(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join("deploy-pending").join(name)
}

/// [`after_issue`], marked pending before it starts and until it succeeds, so that the next
/// `renew` runs a failed or interrupted deploy again: a run killed while the hook runs (a
/// reboot, `kill -9`, the OOM killer) leaves the marker behind.
pub async fn deploy(
    state_dir: &Path,
    config: &Config,
    store: &CertStore,
    keystore: &Keystore,
    name: &str,
) -> DeployReport {
    let (target, hook) = configured(config, name);
    if target.is_some() || hook.is_some() {
        note_pending(state_dir, name, true).await;
    }
    let report = after_issue(config, store, keystore, name).await;
    note_pending(state_dir, name, report.failure().is_some()).await;
    report
}

/// Create (`pending`) or remove the pending-deploy marker of `name`; a failure is logged, as
/// the deploy itself already happened or is about to.
async fn note_pending(state_dir: &Path, name: &str, pending: bool) {
    let marker = pending_marker(state_dir, name);
    let noted = fsutil::blocking_io(move || {
        if pending {
            fsutil::write_atomic(&marker, b"", Mode::Private)
        } else {
            match std::fs::remove_file(&marker) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        }
    })
    .await;
    if let Err(e) = noted {
        tracing::warn!(cert = name, error = %e, "could not record the deploy's outcome");
    }
}

/// Certificates whose last deploy failed, to run again.
#[must_use]
pub fn pending(state_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(state_dir.join("deploy-pending")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// From JSON, so fields other modules add later keep their defaults.
    fn meta() -> CertMeta {
        serde_json::from_value(serde_json::json!({
            "name": "web",
            "names": ["example.com", "*.example.com"],
            "account": "le",
            "key_type": "ecdsa-p256",
            "key_id": "k1",
            "issued_at": "2026-01-01T00:00:00Z",
            "not_before": "2026-01-01T00:00:00Z",
            "not_after": "2026-04-01T12:30:00Z",
            "order_url": "https://ca/order/1",
            "serial": "0a1b",
            "issuer": "Test CA"
        }))
        .unwrap()
    }

    #[test]
    fn hook_environment_names_every_file_and_the_key_only_when_exported() {
        let exported =
            DeployedFiles::export_target(Path::new("/etc/tls"), ExportLayout::Certbot, "web");
        let env: BTreeMap<_, _> = hook_env(&meta(), &exported).into_iter().collect();
        let want = [
            ("CERTPILOT_CERT_NAME", "web"),
            ("CERTPILOT_NAMES", "example.com *.example.com"),
            ("CERTPILOT_CERT_PATH", "/etc/tls/live/web/cert.pem"),
            ("CERTPILOT_CHAIN_PATH", "/etc/tls/live/web/chain.pem"),
            (
                "CERTPILOT_FULLCHAIN_PATH",
                "/etc/tls/live/web/fullchain.pem",
            ),
            ("CERTPILOT_KEY_PATH", "/etc/tls/live/web/privkey.pem"),
            ("CERTPILOT_SERIAL", "0a1b"),
            ("CERTPILOT_NOT_AFTER", "2026-04-01T12:30:00Z"),
            ("RENEWED_LINEAGE", "/etc/tls/live/web"),
            ("RENEWED_DOMAINS", "example.com *.example.com"),
        ];
        assert_eq!(env.len(), want.len());
        for (k, v) in want {
            assert_eq!(env[k], v, "{k}");
        }
        let mut public = DeployedFiles::export_target(Path::new("/d"), ExportLayout::Flat, "web");
        public.key = None;
        let env: BTreeMap<_, _> = hook_env(&meta(), &public).into_iter().collect();
        assert!(!env.contains_key("CERTPILOT_KEY_PATH"));
        assert_eq!(env["CERTPILOT_CERT_PATH"], "/d/cert.pem");
    }

    #[test]
    fn summaries_name_the_hook_failure() {
        let cases = [
            (Some(HookOutcome::Succeeded), None, "; deploy hook ran"),
            (
                Some(HookOutcome::Exited(3)),
                None,
                "; deploy hook failed (exit 3)",
            ),
            (
                Some(HookOutcome::Exited(127)),
                None,
                "; deploy hook failed (exit 127: command not found)",
            ),
            (
                Some(HookOutcome::TimedOut(Duration::from_secs(5))),
                None,
                "; deploy hook failed (timed out after 5 s, killed)",
            ),
            (None, Some("disk full"), "; deploy failed: disk full"),
            (None, None, ""),
        ];
        for (hook, error, want) in cases {
            let report = DeployReport {
                exported_to: None,
                hook,
                error: error.map(str::to_owned),
            };
            assert_eq!(report.summary_suffix(), want);
        }
    }
}
