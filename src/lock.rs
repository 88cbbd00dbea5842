//! Per-certificate locks, so two certpilot runs (a cron `renew --all` and an operator's
//! `issue`) never work on the same certificate at once.
//!
//! The lock is an advisory `flock` on `state/locks/<name>.lock`: the kernel releases it when
//! the process dies, so a killed run never leaves a stale lock behind.
//!
//! [`turn`] is the in-process counterpart: one async mutex per key (an acme-dns account, a
//! PowerDNS zone) for tasks of one run that must not interleave.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use fs2::FileExt;

use crate::fsutil;

/// Held while a certificate is being worked on; released on drop.
#[derive(Debug)]
pub struct CertLock {
    file: File,
}

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("another certpilot run is working on certificate {0:?}")]
    Busy(String),
    /// The lock file could not be opened.
    #[error("lock for {name:?}: {source}")]
    Io {
        /// Certificate name.
        name: String,
        /// The OS error.
        source: io::Error,
    },
}

impl CertLock {
    /// Take the lock for `name` without waiting.
    ///
    /// # Errors
    ///
    /// When another process holds the lock, or the lock file cannot be created.
    pub fn try_acquire(state_dir: &Path, name: &str) -> Result<Self, LockError> {
        let io_err = |source| LockError::Io {
            name: name.to_owned(),
            source,
        };
        let dir = state_dir.join("locks");
        fsutil::create_private_dir(&dir).map_err(io_err)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("{name}.lock")))
            .map_err(io_err)?;
        match file.try_lock_exclusive() {
            Ok(()) => Ok(Self { file }),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(11) => {
                Err(LockError::Busy(name.to_owned()))
            }
            Err(e) => Err(io_err(e)),
        }
    }
}

impl Drop for CertLock {
    fn drop(&mut self) {
        let _ = FileExt::unlock(&self.file);
    }
}

/// The in-process lock of `key` (created on first use, kept for the process's lifetime).
pub fn turn(key: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock, PoisonError};
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    Arc::clone(locks.entry(key.to_owned()).or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_the_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let first = CertLock::try_acquire(dir.path(), "web").unwrap();
        assert!(matches!(
            CertLock::try_acquire(dir.path(), "web"),
            Err(LockError::Busy(_))
        ));
        assert!(CertLock::try_acquire(dir.path(), "api").is_ok());
        drop(first);
        assert!(CertLock::try_acquire(dir.path(), "web").is_ok());
    }
}
