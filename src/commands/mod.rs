//! The headless subcommands. Each calls the same library functions the TUI uses.

// First: its `out!`/`outln!` macros are used by every command module below.
#[macro_use]
pub mod output;
mod account;
mod account_remove;
mod acmedns;
mod caa;
mod cert;
mod check;
mod completions;
mod domain;
mod dry_run;
mod export;
mod issue;
mod leftovers;
mod list;
mod progress;
mod revoke;
mod sandbox;
mod schedule;
mod timer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{Command, GlobalArgs};
use crate::config::{self, Config, ConfigError};
use crate::dns::visibility::Checker;
use crate::ops;
use crate::paths::Paths;
use crate::secrets::{Keystore, SecretError};
use crate::session::{Overrides, Session};

/// How a command failed; decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage or bad input (exit 2).
    Usage(String),
    /// The operation failed (exit 1).
    Failed(String),
    /// Waiting for the operator to create manual DNS records; the order is kept and the same
    /// command continues it (exit 3).
    Waiting(String),
}

impl Failure {
    /// The process exit code.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Failed(_) => 1,
            Failure::Waiting(_) => 3,
        }
    }

    /// The message.
    #[must_use]
    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(m) | Failure::Failed(m) | Failure::Waiting(m) => m,
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

/// What every command works with: the [`Session`] (paths, overrides, keyring) and the config
/// file as loaded (what `cert add`, `domain set` … edit and save). Every override is read
/// through the session's one fold ([`Env::effective`]); `Env` folds nothing itself.
pub struct Env {
    /// State locations.
    pub paths: Paths,
    /// The configuration file as loaded (no overrides folded in: this is what is saved).
    pub config: Config,
    /// Command-line options (the theme, the timer's command line).
    pub global: GlobalArgs,
    /// The session both front ends share.
    pub session: Arc<Session>,
}

impl Env {
    /// Load the config (a malformed file stops everything before anything is written).
    ///
    /// # Errors
    ///
    /// When the data directory cannot be resolved or the config file is malformed.
    pub fn load(global: GlobalArgs) -> Result<Self, Failure> {
        let session = Session::open(Overrides::from(&global)).map_err(ops::Error::from)?;
        let config = session.load_config()?;
        Ok(Self {
            paths: session.paths.clone(),
            config,
            global,
            session: Arc::new(session),
        })
    }

    /// The keyring, opened on first use (listing needs none).
    ///
    /// # Errors
    ///
    /// When the keyring cannot be opened.
    pub fn keystore(&self) -> Result<Keystore, Failure> {
        Ok(self.session.keystore().map_err(ops::Error::from)?)
    }

    /// Save the config atomically.
    ///
    /// # Errors
    ///
    /// When the config cannot be serialized or written.
    pub fn save_config(&self) -> Outcome {
        config::save(&self.paths.config_file, &self.config).map_err(Failure::from)
    }

    /// The config as in effect for this run (the session's fold of the loaded config).
    #[must_use]
    pub fn effective(&self) -> Config {
        self.session.effective(self.config.clone())
    }

    /// Resolvers in effect.
    #[must_use]
    pub fn resolvers(&self) -> Vec<String> {
        self.effective().settings.resolvers
    }

    /// A visibility checker on the chosen resolvers.
    ///
    /// # Errors
    ///
    /// When a resolver address is malformed (a usage error).
    pub fn checker(&self) -> Result<Checker, Failure> {
        Checker::new(&self.resolvers()).map_err(|e| Failure::Usage(e.to_string()))
    }

    /// `--ca-timeout`: how long one request to the CA may take.
    #[must_use]
    pub fn ca_timeout(&self) -> Duration {
        self.session.ca_timeout()
    }

    /// Propagation timeout in effect.
    #[must_use]
    pub fn propagation_timeout(&self) -> Duration {
        Duration::from_secs(self.effective().settings.propagation_timeout)
    }

    /// The CA bundle for an account in effect.
    #[must_use]
    pub fn ca_bundle_for(&self, account: &str) -> Option<PathBuf> {
        self.session.ca_bundle_for(&self.effective(), account)
    }

    /// The effective config, shared with async tasks.
    #[must_use]
    pub fn shared_config(&self) -> Arc<Config> {
        Arc::new(self.effective())
    }
}

impl From<ops::Error> for Failure {
    fn from(e: ops::Error) -> Self {
        match e.kind() {
            ops::Kind::Usage => Failure::Usage(e.to_string()),
            ops::Kind::Failed => Failure::Failed(e.to_string()),
            ops::Kind::Waiting => Failure::Waiting(e.to_string()),
        }
    }
}

/// Run a headless command.
///
/// # Errors
///
/// With the command's [`Failure`], which `main` maps to an exit code.
pub async fn run(env: Env, command: Command) -> Outcome {
    let mut env = env;
    match command {
        Command::Account(cmd) => account::run(&mut env, cmd).await,
        Command::Cert(cmd) => cert::run(&mut env, cmd).await,
        Command::Domain(cmd) => domain::run(&mut env, cmd).await,
        Command::Issue {
            name,
            dry_run: false,
            ..
        } => issue::issue_one(&env, &name).await,
        Command::Issue {
            name,
            dry_run: true,
            dry_run_directory,
        } => dry_run::run(&env, &name, dry_run_directory.as_deref()).await,
        Command::Renew(args) => issue::renew(&env, &args).await,
        Command::List { json } => list::run(&env, json),
        Command::Export { name, out, layout } => export::run(&env, &name, out, layout),
        Command::Timer(cmd) => timer::run(&env, &cmd),
        Command::Revoke { name, reason, yes } => revoke::run(&env, &name, reason, yes).await,
        Command::Check(args) => check::run(&env, args).await,
        Command::AcmeDns(cmd) => acmedns::run(&mut env, cmd).await,
        Command::Caa { name, account } => caa::run(&env, &name, account.as_deref()).await,
        Command::Completions { shell } => completions::completions(shell),
        Command::Manpage { out } => completions::manpage(out.as_deref()),
        Command::Sandbox(args) => sandbox::run(&env, &args).await,
    }
}
