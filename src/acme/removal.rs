//! Removing an ACME account from certpilot, for both front ends: the configuration first
//! (certificates moved to another account, the account gone: from then on nothing uses the
//! key), then its keyring entries and public facts. A crash in between leaves an unused
//! keyring entry, never a certificate whose account has no key. The CA is not told.

use crate::config::{self, ConfigError};
use crate::paths::Paths;
use crate::secrets::{Keystore, SecretError, SecretRef};

/// Why an account could not be removed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    /// No such account.
    #[error("account {0:?} is not configured (see `certpilot account list`)")]
    Unknown(String),
    /// `--reassign` names the account itself or an unknown one.
    #[error("--reassign {0}: {1}")]
    BadReassign(String, &'static str),
    /// Certificates use it and no other account was named.
    #[error("account {name:?} is used by certificate(s) {users}; move them with `certpilot account remove {name} --reassign OTHER` (or `cert add … --account OTHER --replace`)")]
    InUse {
        /// The account.
        name: String,
        /// The certificates using it.
        users: String,
    },
    /// The configuration could not be read or written.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The keyring refused.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

impl RemoveError {
    /// Whether the operator's input is at fault (exit 2), not the machine.
    #[must_use]
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::Unknown(_) | Self::BadReassign(..) | Self::InUse { .. }
        )
    }
}

/// Remove account `name`, moving its certificates to `reassign`; returns the certificates
/// moved. Blocking (config file, keyring).
///
/// # Errors
/// See [`RemoveError`]; nothing is changed when the request itself is refused.
pub fn remove_account(
    paths: &Paths,
    keystore: &Keystore,
    name: &str,
    reassign: Option<&str>,
) -> Result<Vec<String>, RemoveError> {
    let mut cfg = config::load(&paths.config_file)?;
    if !cfg.accounts.contains_key(name) {
        return Err(RemoveError::Unknown(name.to_owned()));
    }
    let users = cfg.certificates_using(name);
    let moved = match reassign {
        Some(other) if other == name => {
            return Err(RemoveError::BadReassign(
                other.to_owned(),
                "that is the account being removed",
            ))
        }
        Some(other) if !cfg.accounts.contains_key(other) => {
            return Err(RemoveError::BadReassign(
                other.to_owned(),
                "no such account (see `certpilot account list`)",
            ))
        }
        Some(other) => cfg.reassign_account(name, other),
        None if users.is_empty() => Vec::new(),
        None => {
            return Err(RemoveError::InUse {
                name: name.to_owned(),
                users: users.join(", "),
            })
        }
    };
    cfg.accounts.remove(name);
    config::save(&paths.config_file, &cfg)?;
    keystore.delete(&SecretRef::Account(name.to_owned()))?;
    keystore.delete(&super::account::rollover_entry(name))?;
    keystore.delete(&SecretRef::EabHmac(name.to_owned()))?;
    let meta = paths.accounts.join(format!("{name}.json"));
    match std::fs::remove_file(&meta) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            tracing::warn!(path = %meta.display(), error = %e, "could not delete account facts");
        }
        _ => {}
    }
    tracing::info!(account = name, moved = ?moved, "account removed");
    Ok(moved)
}
