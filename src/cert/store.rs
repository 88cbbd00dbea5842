//! `certificates/<name>/<name>.crt` (full chain, PEM) and `<name>.json` (metadata).
//!
//! The private key is not here: it lives in the keyring under the `key_id` the metadata names,
//! so the certificate and the key it belongs to always change together.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::fsutil::{self, Mode};

/// What certpilot knows about a stored certificate besides the PEM itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertMeta {
    /// Certificate name.
    pub name: String,
    /// Names requested (normalised, in config order).
    pub names: Vec<String>,
    /// Account that obtained it.
    pub account: String,
    /// Key algorithm (`ecdsa-p256`, ...).
    pub key_type: String,
    /// Keyring entry suffix of the private key (`cert-key:<name>:<key_id>`).
    pub key_id: String,
    /// When certpilot stored it.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// Validity start.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// Validity end.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// ACME order URL.
    pub order_url: String,
    /// Serial, lower-case hex.
    pub serial: String,
    /// Issuer name.
    pub issuer: String,
    /// Earlier issuances of this certificate, oldest first (at most [`HISTORY_LEN`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<IssuanceRecord>,
    /// Set once `certpilot revoke` had the CA revoke this certificate; renewal treats a
    /// revoked certificate as due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
}

/// A revocation the CA confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// When the CA confirmed it (or, for `alreadyRevoked`, when certpilot learnt of it).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The reason given (`key-compromise`, ...).
    pub reason: String,
}

/// How many earlier issuances a certificate's metadata remembers.
pub const HISTORY_LEN: usize = 20;

/// One earlier issuance, as remembered in the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuanceRecord {
    /// When certpilot stored it.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// Its serial.
    pub serial: String,
    /// Its expiry.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// The account that obtained it.
    pub account: String,
    /// Its order URL.
    pub order_url: String,
}

impl CertMeta {
    /// The history a successor of `self` carries: `self`'s own plus `self` itself.
    #[must_use]
    pub fn history_for_successor(&self) -> Vec<IssuanceRecord> {
        let mut history = self.history.clone();
        history.push(IssuanceRecord {
            issued_at: self.issued_at,
            serial: self.serial.clone(),
            not_after: self.not_after,
            account: self.account.clone(),
            order_url: self.order_url.clone(),
        });
        let excess = history.len().saturating_sub(HISTORY_LEN);
        history.drain(..excess);
        history
    }
}

/// A certificate read back from disk.
#[derive(Debug, Clone)]
pub struct StoredCert {
    /// The metadata file.
    pub meta: CertMeta,
    /// The full chain, PEM.
    pub chain_pem: String,
}

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The metadata file is not what certpilot writes.
    #[error("{path}: not a certpilot metadata file: {detail}")]
    BadMeta {
        /// The file.
        path: PathBuf,
        /// What serde said.
        detail: String,
    },
    /// The chain file is unreadable, or its leaf is not the certificate the metadata
    /// describes (a crash between [`CertStore::save_chain`] and [`CertStore::save_meta`]).
    #[error(
        "{path}: {detail}; the next `certpilot issue` or `renew` of this certificate repairs it"
    )]
    Mismatch {
        /// The chain file.
        path: PathBuf,
        /// What does not fit.
        detail: String,
    },
}

/// The `certificates/` directory.
#[derive(Debug, Clone)]
pub struct CertStore {
    root: PathBuf,
}

impl CertStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `certificates/<name>/<name>.crt`
    #[must_use]
    pub fn chain_path(&self, name: &str) -> PathBuf {
        self.root.join(name).join(format!("{name}.crt"))
    }

    /// `certificates/<name>/<name>.json`
    #[must_use]
    pub fn meta_path(&self, name: &str) -> PathBuf {
        self.root.join(name).join(format!("{name}.json"))
    }

    /// Store a certificate. The chain is written first and the metadata last: the metadata
    /// is what names the key, so a crash in between leaves the previous metadata, which
    /// [`Self::load`] detects by comparing serials.
    ///
    /// # Errors
    ///
    /// When either file cannot be written (see [`Self::save_chain`], [`Self::save_meta`]).
    pub fn save(&self, meta: &CertMeta, chain_pem: &str) -> Result<(), StoreError> {
        self.save_chain(&meta.name, chain_pem)?;
        self.save_meta(meta)
    }

    /// The first half of [`Self::save`]: replace the chain file only. The issuance engine
    /// calls the halves itself so its journal can tell a crash between them apart.
    ///
    /// # Errors
    ///
    /// When the chain file cannot be written.
    pub fn save_chain(&self, name: &str, chain_pem: &str) -> Result<(), StoreError> {
        let chain = self.chain_path(name);
        fsutil::write_atomic(&chain, chain_pem.as_bytes(), Mode::Public).map_err(|source| {
            StoreError::Io {
                path: chain.clone(),
                source,
            }
        })
    }

    /// The second half of [`Self::save`]: replace the metadata file (which names the key).
    ///
    /// # Errors
    ///
    /// When the metadata cannot be serialized or the file cannot be written.
    pub fn save_meta(&self, meta: &CertMeta) -> Result<(), StoreError> {
        let path = self.meta_path(&meta.name);
        let json = serde_json::to_vec_pretty(meta).map_err(|e| StoreError::BadMeta {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        fsutil::write_atomic(&path, &json, Mode::Private)
            .map_err(|source| StoreError::Io { path, source })
    }

    /// Read only the metadata (what listings need); `None` when never issued.
    ///
    /// # Errors
    ///
    /// When the file exists but cannot be read or parsed.
    pub fn load_meta(&self, name: &str) -> Result<Option<CertMeta>, StoreError> {
        let path = self.meta_path(name);
        let Some(text) = read_optional(&path)? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError::BadMeta {
                path,
                detail: e.to_string(),
            })
    }

    /// Read a certificate back; `None` when it was never issued. The chain's leaf must be
    /// the certificate the metadata describes (same serial): a chain without its metadata
    /// would pair a new certificate with the old key.
    ///
    /// # Errors
    ///
    /// When a file cannot be read or parsed, or the chain's leaf does not match the metadata's
    /// serial.
    pub fn load(&self, name: &str) -> Result<Option<StoredCert>, StoreError> {
        let meta_path = self.meta_path(name);
        let Some(meta_text) = read_optional(&meta_path)? else {
            return Ok(None);
        };
        let meta: CertMeta = serde_json::from_str(&meta_text).map_err(|e| StoreError::BadMeta {
            path: meta_path,
            detail: e.to_string(),
        })?;
        let chain_path = self.chain_path(name);
        let chain_pem = read_optional(&chain_path)?.ok_or_else(|| StoreError::Io {
            path: chain_path,
            source: io::Error::new(io::ErrorKind::NotFound, "metadata without certificate"),
        })?;
        let mismatch = |detail: String| StoreError::Mismatch {
            path: self.chain_path(name),
            detail,
        };
        let leaf = crate::cert::inspect::inspect_chain_pem(&chain_pem)
            .map_err(|e| mismatch(format!("the stored chain is unreadable: {e}")))?;
        if leaf.serial != meta.serial {
            return Err(mismatch(format!(
                "the chain holds serial {} but the metadata describes serial {}",
                leaf.serial, meta.serial
            )));
        }
        Ok(Some(StoredCert { meta, chain_pem }))
    }

    /// Remove a certificate's folder (used by `cert remove --purge`).
    ///
    /// # Errors
    ///
    /// When the folder exists but cannot be removed.
    pub fn remove(&self, name: &str) -> Result<(), StoreError> {
        let dir = self.root.join(name);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { path: dir, source }),
        }
    }

    /// The store's root.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, StoreError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A stored certificate's metadata, for tests here and in other modules (`acme::ari`).
    pub(crate) fn meta(name: &str) -> CertMeta {
        let t = time::macros::datetime!(2026-01-01 0:00 UTC);
        CertMeta {
            name: name.into(),
            names: vec!["example.com".into()],
            account: "a".into(),
            key_type: "ecdsa-p256".into(),
            key_id: "k1".into(),
            issued_at: t,
            not_before: t,
            not_after: t + time::Duration::days(90),
            order_url: "https://ca/order/1".into(),
            serial: "01".into(),
            issuer: "CA".into(),
            history: Vec::new(),
            revoked: None,
        }
    }

    /// A self-signed certificate with `serial` (hex `01` for `[1]`), as PEM.
    fn chain(serial: u8) -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["example.com".into()]).unwrap();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[serial]));
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn save_then_load_round_trips_and_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = CertStore::new(dir.path());
        assert!(store.load("web").unwrap().is_none());
        let pem = chain(1);
        store.save(&meta("web"), &pem).unwrap();
        let back = store.load("web").unwrap().unwrap();
        assert_eq!(back.meta, meta("web"));
        assert_eq!(back.chain_pem, pem);
        assert!(dir.path().join("web/web.crt").exists());
    }

    #[test]
    fn a_chain_saved_without_its_metadata_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = CertStore::new(dir.path());
        store.save(&meta("web"), &chain(1)).unwrap();
        // The crash window: the new chain is in place, the metadata still the old one.
        store.save_chain("web", &chain(2)).unwrap();
        let err = store.load("web").unwrap_err().to_string();
        assert!(
            err.contains("web.crt") && err.contains("serial 02") && err.contains("serial 01"),
            "{err}"
        );
        store.save_chain("web", "not PEM").unwrap();
        let err = store.load("web").unwrap_err().to_string();
        assert!(err.contains("unreadable"), "{err}");
        // Only the metadata is needed for listings: it still loads.
        assert_eq!(store.load_meta("web").unwrap().unwrap(), meta("web"));
    }

    #[test]
    fn history_keeps_the_latest_issuances_oldest_first() {
        let mut current = meta("web");
        for i in 0..25 {
            let mut next = meta("web");
            next.serial = format!("{:02x}", i + 2);
            next.history = current.history_for_successor();
            current = next;
        }
        assert_eq!(current.history.len(), HISTORY_LEN);
        assert_eq!(current.history.last().unwrap().serial, "19");
        assert_eq!(current.history.first().unwrap().serial, "06");
        let json = serde_json::to_string(&meta("web")).unwrap();
        assert!(
            !json.contains("history"),
            "empty history is not written: {json}"
        );
    }

    #[test]
    fn corrupt_metadata_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = CertStore::new(dir.path());
        std::fs::create_dir_all(dir.path().join("web")).unwrap();
        std::fs::write(store.meta_path("web"), "{not json").unwrap();
        let err = store.load("web").unwrap_err().to_string();
        assert!(err.contains("web.json"), "{err}");
    }
}
