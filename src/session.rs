//! The session both front ends share: where state lives, the command-line overrides, the
//! keyring (opened once, on first use) and the CA client. [`Session::effective`] is the ONE
//! place where the overrides are folded into the configuration; the CLI and the TUI both read
//! the config through it, so neither can forget `--resolver` or `--ca-bundle`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::acme::ca_client::DEFAULT_TIMEOUT;
use crate::config::{self, Config};
use crate::paths::Paths;
use crate::secrets::{Keystore, StoreKind};

/// What the command line (or its environment variables) overrides, as plain values: the CLI
/// converts its arguments into this at the edge; nothing below knows clap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overrides {
    /// Self-contained working directory.
    pub dir: Option<PathBuf>,
    /// Keyring store name (`secret-service`, `keyutils`, `platform`).
    pub keystore: Option<String>,
    /// Resolvers that see challenge records (empty: the config's).
    pub resolvers: Vec<String>,
    /// Extra CA certificates for ACME directories and acme-dns servers.
    pub ca_bundle: Option<PathBuf>,
    /// How long one request to the CA may take.
    pub ca_timeout: Duration,
    /// Seconds to wait for challenge records (unset: the config's).
    pub propagation_timeout: Option<u64>,
    /// `--propagation MODE` as given.
    pub propagation: Option<String>,
    /// Authoritative servers left out of the propagation check.
    pub ignore_servers: Vec<String>,
}

impl Default for Overrides {
    fn default() -> Self {
        Self {
            dir: None,
            keystore: None,
            resolvers: Vec::new(),
            ca_bundle: None,
            ca_timeout: DEFAULT_TIMEOUT,
            propagation_timeout: None,
            propagation: None,
            ignore_servers: Vec::new(),
        }
    }
}

/// Why a session could not start.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No home directory and no `--dir`.
    #[error(transparent)]
    NoHome(#[from] crate::paths::NoHomeError),
    /// `--keystore` names no store.
    #[error("--keystore {name:?}: {reason}")]
    BadKeystore {
        /// As given.
        name: String,
        /// Why not.
        reason: String,
    },
    /// The keyring cannot be opened.
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
}

/// Paths, overrides, the keyring: what every operation works with.
#[derive(Debug)]
pub struct Session {
    /// Where state lives.
    pub paths: Paths,
    overrides: Overrides,
    keystore: OnceLock<Keystore>,
}

impl Session {
    /// A session on `paths` with the given overrides.
    #[must_use]
    pub fn new(paths: Paths, overrides: Overrides) -> Self {
        Self {
            paths,
            overrides,
            keystore: OnceLock::new(),
        }
    }

    /// A session on the directory the overrides name (`--dir`), or the user's directories.
    ///
    /// # Errors
    /// No home directory.
    pub fn open(overrides: Overrides) -> Result<Self, SessionError> {
        let paths = Paths::resolve(overrides.dir.as_deref())?;
        Ok(Self::new(paths, overrides))
    }

    /// The overrides as given.
    #[must_use]
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// The configuration file as it is on disk now (what edits change and save).
    ///
    /// # Errors
    /// The config error (path, line, column).
    pub fn load_config(&self) -> Result<Config, config::ConfigError> {
        config::load(&self.paths.config_file)
    }

    /// The configuration as in effect: the file's, read now, with the overrides folded in.
    ///
    /// # Errors
    /// The config error (path, line, column).
    pub fn config(&self) -> Result<Config, config::ConfigError> {
        Ok(self.effective(self.load_config()?))
    }

    /// Fold the overrides into `config`: the command line wins over the file. The only place
    /// that does (resolvers, propagation timeout, the CA bundle of the settings and of every
    /// account). Never save the result: it would write the command line into the file.
    #[must_use]
    pub fn effective(&self, mut config: Config) -> Config {
        let o = &self.overrides;
        if !o.resolvers.is_empty() {
            config.settings.resolvers.clone_from(&o.resolvers);
        }
        if let Some(secs) = o.propagation_timeout {
            config.settings.propagation_timeout = secs;
        }
        if let Some(bundle) = &o.ca_bundle {
            config.settings.ca_bundle = Some(bundle.clone());
            for account in config.accounts.values_mut() {
                account.ca_bundle = Some(bundle.clone());
            }
        }
        config
    }

    /// The CA bundle for account `name` in an effective config; for an account not in it
    /// (being registered), the command line's.
    #[must_use]
    pub fn ca_bundle_for(&self, effective: &Config, name: &str) -> Option<PathBuf> {
        effective
            .accounts
            .get(name)
            .and_then(|a| a.ca_bundle.clone())
            .or_else(|| self.overrides.ca_bundle.clone())
    }

    /// The CA bundle given on the command line or in the environment.
    #[must_use]
    pub fn global_ca_bundle(&self) -> Option<&Path> {
        self.overrides.ca_bundle.as_deref()
    }

    /// How long one request to the CA may take.
    #[must_use]
    pub fn ca_timeout(&self) -> Duration {
        self.overrides.ca_timeout
    }

    /// `--propagation MODE` as given, if any.
    #[must_use]
    pub fn propagation_mode(&self) -> Option<&str> {
        self.overrides.propagation.as_deref()
    }

    /// `--ignore-server` as given.
    #[must_use]
    pub fn ignored_servers(&self) -> &[String] {
        &self.overrides.ignore_servers
    }

    /// The keyring store chosen on the command line (or the OS default).
    ///
    /// # Errors
    /// An unknown store name.
    pub fn store_kind(&self) -> Result<StoreKind, SessionError> {
        match &self.overrides.keystore {
            Some(text) => text
                .parse::<StoreKind>()
                .map_err(|e| SessionError::BadKeystore {
                    name: text.clone(),
                    reason: e.to_string(),
                }),
            None => Ok(StoreKind::default_for_os()),
        }
    }

    /// Where keys are stored, for display: `keyutils keyring, service "certpilot"`.
    #[must_use]
    pub fn key_store_label(&self) -> String {
        let kind = self
            .store_kind()
            .map_or_else(|e| format!("({e})"), |k| k.as_str().to_owned());
        format!("{kind} keyring, service {:?}", Keystore::service_from_env())
    }

    /// The keyring, opened on first use. Blocking: call from a blocking thread.
    ///
    /// # Errors
    /// An unknown store, or why it cannot be opened.
    pub fn keystore(&self) -> Result<Keystore, SessionError> {
        if let Some(keystore) = self.keystore.get() {
            return Ok(keystore.clone());
        }
        let opened = Keystore::open(self.store_kind()?, &Keystore::service_from_env())?;
        Ok(self.keystore.get_or_init(|| opened).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AccountConfig;

    fn session(overrides: Overrides) -> Session {
        Session::new(Paths::working_dir(Path::new("/nonexistent")), overrides)
    }

    fn config() -> Config {
        let mut config = Config::default();
        config.settings.resolvers = vec!["192.0.2.1".into()];
        config.accounts.insert(
            "a".into(),
            AccountConfig {
                directory: "https://ca.example/dir".into(),
                email: None,
                ca_bundle: Some("/own.pem".into()),
                eab_kid: None,
                caa_identities: Vec::new(),
            },
        );
        config
    }

    #[test]
    fn without_overrides_the_file_is_in_effect() {
        let s = session(Overrides::default());
        assert_eq!(s.effective(config()), config());
        assert_eq!(s.ca_bundle_for(&config(), "a"), Some("/own.pem".into()));
        assert_eq!(s.ca_bundle_for(&config(), "new"), None);
        assert_eq!(s.ca_timeout(), DEFAULT_TIMEOUT);
    }

    #[test]
    fn the_command_line_wins_everywhere() {
        let s = session(Overrides {
            resolvers: vec!["127.0.0.1:53".into()],
            ca_bundle: Some("/cli.pem".into()),
            propagation_timeout: Some(7),
            ..Overrides::default()
        });
        let effective = s.effective(config());
        assert_eq!(effective.settings.resolvers, ["127.0.0.1:53"]);
        assert_eq!(effective.settings.ca_bundle, Some("/cli.pem".into()));
        assert_eq!(effective.settings.propagation_timeout, 7);
        assert_eq!(s.ca_bundle_for(&effective, "a"), Some("/cli.pem".into()));
        assert_eq!(s.ca_bundle_for(&effective, "new"), Some("/cli.pem".into()));
    }

    #[test]
    fn an_unknown_keystore_is_named() {
        let s = session(Overrides {
            keystore: Some("floppy".into()),
            ..Overrides::default()
        });
        assert!(s.store_kind().unwrap_err().to_string().contains("floppy"));
    }
}
