//! What jobs need from the command line, resolved the way the CLI resolves it: the command
//! line wins over the configuration file, which is read afresh by every job.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::cli::GlobalArgs;
use crate::config::{self, Config};
use crate::paths::Paths;
use crate::secrets::{Keystore, StoreKind};

/// Shared by every job (behind an `Arc`).
#[derive(Debug)]
pub struct Context {
    /// Where state lives.
    pub paths: Paths,
    global: GlobalArgs,
    keystore: OnceLock<Keystore>,
}

impl Context {
    /// A context for the given paths and command-line options.
    #[must_use]
    pub fn new(paths: Paths, global: GlobalArgs) -> Self {
        Self {
            paths,
            global,
            keystore: OnceLock::new(),
        }
    }

    /// The configuration as it is on disk now.
    ///
    /// # Errors
    /// The config error's message (path, line, column).
    pub fn config(&self) -> Result<Config, String> {
        config::load(&self.paths.config_file).map_err(|e| e.to_string())
    }

    /// The keyring store chosen on the command line (or the OS default).
    ///
    /// # Errors
    /// An unknown store name.
    pub fn store_kind(&self) -> Result<StoreKind, String> {
        match &self.global.keystore {
            Some(text) => text.parse::<StoreKind>().map_err(|e| e.to_string()),
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
    /// Why the store cannot be opened.
    pub fn keystore(&self) -> Result<Keystore, String> {
        if let Some(keystore) = self.keystore.get() {
            return Ok(keystore.clone());
        }
        let opened = Keystore::open(self.store_kind()?, &Keystore::service_from_env())
            .map_err(|e| e.to_string())?;
        Ok(self.keystore.get_or_init(|| opened).clone())
    }

    /// Resolvers: the command line wins over the config.
    #[must_use]
    pub fn resolvers(&self, config: &Config) -> Vec<String> {
        if self.global.resolvers.is_empty() {
            config.settings.resolvers.clone()
        } else {
            self.global.resolvers.clone()
        }
    }

    /// How long to wait for challenge records to become visible.
    #[must_use]
    pub fn propagation_timeout(&self, config: &Config) -> Duration {
        Duration::from_secs(
            self.global
                .propagation_timeout
                .unwrap_or(config.settings.propagation_timeout),
        )
    }

    /// The CA bundle given on the command line or in the environment.
    #[must_use]
    pub fn global_ca_bundle(&self) -> Option<&Path> {
        self.global.ca_bundle.as_deref()
    }

    /// The CA bundle for an account: the command line wins over the account's own.
    #[must_use]
    pub fn ca_bundle_for(&self, config: &Config, account: &str) -> Option<PathBuf> {
        self.global.ca_bundle.clone().or_else(|| {
            config
                .accounts
                .get(account)
                .and_then(|a| a.ca_bundle.clone())
        })
    }

    /// `--ca-timeout`: how long one request to the CA may take (also bounds waiting for
    /// validation and issuance), as for the headless commands.
    #[must_use]
    pub fn ca_timeout(&self) -> Duration {
        Duration::from_secs(self.global.ca_timeout)
    }

    /// `--ignore-server` as given.
    #[must_use]
    pub fn ignored_servers(&self) -> &[String] {
        &self.global.ignore_servers
    }

    /// `--propagation MODE` as given, if any.
    #[must_use]
    pub fn propagation_mode(&self) -> Option<&str> {
        self.global.propagation.as_deref()
    }
}

/// Run a blocking closure on tokio's blocking pool, keeping the caller's tracing dispatcher
/// (so its events reach the log pane too). A panic becomes an error message.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    tokio::task::spawn_blocking(move || tracing::dispatcher::with_default(&dispatch, f))
        .await
        .unwrap_or_else(|e| Err(format!("background task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn context(args: &[&str]) -> Context {
        let global = Cli::parse_from(args).global;
        Context::new(Paths::working_dir(Path::new("/nonexistent")), global)
    }

    #[test]
    fn ca_timeout_is_the_command_lines_or_the_default() {
        assert_eq!(
            context(&["certpilot"]).ca_timeout(),
            crate::acme::ca_client::DEFAULT_TIMEOUT
        );
        assert_eq!(
            context(&["certpilot", "--ca-timeout", "7"]).ca_timeout(),
            Duration::from_secs(7)
        );
    }
}
