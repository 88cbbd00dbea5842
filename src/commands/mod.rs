//! The headless subcommands. Each calls the same library functions the TUI uses.

mod account;
mod acmedns;
mod cert;
mod check;
mod domain;
mod export;
mod issue;
mod list;
mod profile;
mod revoke;
mod sandbox;
mod schedule;
mod timer;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::cli::{Command, GlobalArgs};
use crate::config::{self, Config, ConfigError};
use crate::dns::visibility::Checker;
use crate::paths::Paths;
use crate::secrets::{Keystore, SecretError, StoreKind};

/// How a command failed; decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage or bad input (exit 2).
    Usage(String),
    /// The operation failed (exit 1).
    Failed(String),
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Failed(_) => 1,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(m) | Failure::Failed(m) => m,
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::Io { .. } => Failure::Failed(e.to_string()),
            _ => Failure::Usage(e.to_string()),
        }
    }
}

impl From<SecretError> for Failure {
    fn from(e: SecretError) -> Self {
        Failure::Failed(e.to_string())
    }
}

/// Shorthand for command results.
pub type Outcome = Result<(), Failure>;

/// What every command works with: paths, the loaded config, the options.
pub struct Env {
    /// State locations.
    pub paths: Paths,
    /// The loaded configuration.
    pub config: Config,
    /// Command-line options.
    pub global: GlobalArgs,
    keystore: OnceLock<Keystore>,
}

impl Env {
    /// Load the config (a malformed file stops everything before anything is written).
    pub fn load(global: GlobalArgs) -> Result<Self, Failure> {
        let paths =
            Paths::resolve(global.dir.as_deref()).map_err(|e| Failure::Usage(e.to_string()))?;
        let config = config::load(&paths.config_file)?;
        Ok(Self {
            paths,
            config,
            global,
            keystore: OnceLock::new(),
        })
    }

    /// The keyring, opened on first use (listing needs none).
    pub fn keystore(&self) -> Result<Keystore, Failure> {
        if let Some(ks) = self.keystore.get() {
            return Ok(ks.clone());
        }
        let kind = match &self.global.keystore {
            Some(text) => text
                .parse::<StoreKind>()
                .map_err(|e| Failure::Usage(e.to_string()))?,
            None => StoreKind::default_for_os(),
        };
        let ks = Keystore::open(kind, &Keystore::service_from_env())?;
        Ok(self.keystore.get_or_init(|| ks).clone())
    }

    /// Save the config atomically.
    pub fn save_config(&self) -> Outcome {
        config::save(&self.paths.config_file, &self.config).map_err(Failure::from)
    }

    /// Resolvers: the command line wins over the config.
    pub fn resolvers(&self) -> &[String] {
        if self.global.resolvers.is_empty() {
            &self.config.settings.resolvers
        } else {
            &self.global.resolvers
        }
    }

    /// A visibility checker on the chosen resolvers.
    pub fn checker(&self) -> Result<Checker, Failure> {
        Checker::new(self.resolvers()).map_err(|e| Failure::Usage(e.to_string()))
    }

    /// `--ca-timeout`: how long one request to the CA may take.
    pub fn ca_timeout(&self) -> Duration {
        Duration::from_secs(self.global.ca_timeout)
    }

    /// Propagation timeout.
    pub fn propagation_timeout(&self) -> Duration {
        Duration::from_secs(
            self.global
                .propagation_timeout
                .unwrap_or(self.config.settings.propagation_timeout),
        )
    }

    /// The CA bundle for an account: the command line (or env) wins over the account's own.
    pub fn ca_bundle_for(&self, account: &str) -> Option<PathBuf> {
        self.global.ca_bundle.clone().or_else(|| {
            self.config
                .accounts
                .get(account)
                .and_then(|a| a.ca_bundle.clone())
        })
    }

    /// The config as in effect for this run (command-line resolvers and CA bundle folded
    /// into the settings), shared with async tasks.
    pub fn shared_config(&self) -> Arc<Config> {
        let mut config = self.config.clone();
        config.settings.resolvers = self.resolvers().to_vec();
        if let Some(bundle) = &self.global.ca_bundle {
            config.settings.ca_bundle = Some(bundle.clone());
        }
        Arc::new(config)
    }
}

/// Run a headless command.
pub async fn run(env: Env, command: Command) -> Outcome {
    let mut env = env;
    match command {
        Command::Account(cmd) => account::run(&mut env, cmd).await,
        Command::Cert(cmd) => {
            profile::check(&env, &cmd).await?;
            cert::run(&mut env, cmd)
        }
        Command::Domain(cmd) => domain::run(&mut env, cmd).await,
        Command::Issue { name } => issue::issue_one(&env, &name).await,
        Command::Renew(args) => issue::renew(&env, &args).await,
        Command::List { json } => list::run(&env, json),
        Command::Export { name, out, layout } => export::run(&env, &name, out, layout),
        Command::Timer(cmd) => timer::run(&env, &cmd),
        Command::Revoke { name, reason, yes } => revoke::run(&env, &name, reason, yes).await,
        Command::Check(args) => check::run(&env, args).await,
        Command::AcmeDns(cmd) => acmedns::run(&mut env, cmd).await,
        Command::Sandbox(args) => sandbox::run(&env, &args).await,
    }
}
