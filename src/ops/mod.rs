//! The application layer: the operations both front ends call. `commands/` parses, calls an
//! operation, prints and maps its [`Error`] to an exit code; `jobs/` runs the same operation
//! and turns its result into an event. A workflow written here once cannot drift between the
//! CLI and the TUI.
//!
//! - [`account`]: a CA's directory, registering (or re-registering) and removing accounts.
//! - [`acmedns`]: registering and importing acme-dns accounts.
//! - [`certificates`]: adding, editing and removing certificate definitions (with `purge`
//!   also their files and keys).
//! - [`domains`]: setting (with its secret, optionally after a credentials trial) and
//!   removing a domain's solver mapping, and the trial of its credentials.
//! - [`issue`]: everything before the engine runs (config checks, lock, account, context).
//! - [`profiles`]: the certificate profiles each account's CA offers.

pub mod account;
pub mod acmedns;
pub mod certificates;
pub mod domains;
pub mod issue;
pub mod profiles;

use crate::acme::account::AccountError;
use crate::acme::removal::RemoveError;
use crate::acme::IssueError;
use crate::acmedns::AcmeDnsError;
use crate::config::ConfigError;
use crate::secrets::SecretError;
use crate::session::SessionError;

/// How an operation failed: each variant keeps the file, server, CA problem or field that
/// failed (its Display is what both front ends show).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operator's input is wrong (a field, a name, a conflict with what exists).
    #[error("{0}")]
    Invalid(String),
    /// The session could not start (keystore name, home directory, keyring).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The configuration could not be read or written.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The keyring refused.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The CA or its directory (the CA's problem document verbatim).
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The trust store for a CA could not be built (a bad `--ca-bundle`, no roots).
    #[error(transparent)]
    Trust(#[from] crate::acme::http::HttpError),
    /// Removing an account was refused or failed.
    #[error(transparent)]
    Remove(#[from] RemoveError),
    /// An acme-dns server, credentials file or delegation.
    #[error(transparent)]
    AcmeDns(#[from] AcmeDnsError),
    /// The issuance engine.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// An account's key is not in the keyring (what to run is in the message).
    #[error("{0}")]
    MissingKey(String),
    /// A solver failed (its hook, the provider's answer).
    #[error(transparent)]
    Solver(#[from] crate::solver::SolverError),
    /// A certificate's stored files.
    #[error(transparent)]
    Store(#[from] crate::cert::store::StoreError),
    /// An issuance journal.
    #[error(transparent)]
    Journal(#[from] crate::acme::journal::JournalError),
    /// A certificate is locked by another run.
    #[error("{0}")]
    Locked(String),
    /// A CA's directory could not be read for its certificate profiles.
    #[error("reading the CA's profiles of account {account}: {source}")]
    Profiles {
        /// The account whose CA was asked.
        account: String,
        /// Why the directory could not be read.
        source: AccountError,
    },
    /// A certificate's stored chain could not be read as X.509.
    #[error("{name}: {source}")]
    Inspect {
        /// The certificate whose chain is unreadable.
        name: String,
        /// What is wrong with it.
        source: crate::cert::inspect::InspectError,
    },
    /// The sandbox (its layout file, a fault marker, a program it needs).
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
    /// No usable DNS resolver for a propagation check (a bad `--resolver`, none configured).
    #[error(transparent)]
    Resolver(#[from] crate::dns::propagation::ProberError),
    /// The records delegating the acme-dns server's zone could not be checked.
    #[error(transparent)]
    Parent(#[from] crate::dns::parent::ParentError),
    /// The embedded acme-dns server could not start or stopped with an error.
    #[error(transparent)]
    Server(#[from] crate::server::ServerError),
    /// Registering one domain on an acme-dns server failed.
    #[error("{domain}: {source}")]
    Registering {
        /// The domain.
        domain: String,
        /// Why.
        source: Box<Error>,
    },
    /// A background task died.
    #[error("background task failed: {0}")]
    Task(String),
}

/// What kind of failure, for the CLI's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad usage or bad input (exit 2).
    Usage,
    /// The operation failed (exit 1).
    Failed,
    /// Waiting for the operator (manual records; exit 3).
    Waiting,
}

impl Error {
    /// Whose fault, and whether the run waits.
    #[must_use]
    pub fn kind(&self) -> Kind {
        let usage = match self {
            Error::Invalid(_) | Error::Trust(_) | Error::Resolver(_) => true,
            Error::Session(e) => !matches!(e, SessionError::Secret(_)),
            Error::Config(e) => !matches!(e, ConfigError::Io { .. }),
            Error::Account(e) => {
                matches!(
                    e,
                    AccountError::BadDirectory(_) | AccountError::BadEabKey(_)
                )
            }
            Error::Remove(e) => e.is_usage(),
            Error::AcmeDns(e) => e.is_usage(),
            Error::Issue(e) if e.is_waiting() => return Kind::Waiting,
            Error::Issue(e) => e.is_usage(),
            Error::Sandbox(e) => matches!(e, crate::sandbox::SandboxError::Missing(_)),
            Error::Parent(e) => matches!(e, crate::dns::parent::ParentError::Resolver(_)),
            Error::Server(e) => matches!(e, crate::server::ServerError::Config(_)),
            Error::Registering { source, .. } => return source.kind(),
            Error::Secret(_)
            | Error::MissingKey(_)
            | Error::Solver(_)
            | Error::Store(_)
            | Error::Journal(_)
            | Error::Locked(_)
            | Error::Profiles { .. }
            | Error::Inspect { .. }
            | Error::Task(_) => false,
        };
        if usage {
            Kind::Usage
        } else {
            Kind::Failed
        }
    }
}

/// A blocking task that died (panicked or was cancelled) before it answered.
#[derive(Debug)]
pub struct TaskDied(String);

impl From<TaskDied> for Error {
    fn from(e: TaskDied) -> Self {
        Error::Task(e.0)
    }
}

impl From<TaskDied> for String {
    fn from(e: TaskDied) -> Self {
        format!("background task failed: {}", e.0)
    }
}

/// Run a blocking closure on tokio's blocking pool, keeping the caller's tracing dispatcher
/// (so its events reach the TUI's log pane too). A panic becomes the error `E` says.
pub(crate) async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<TaskDied> + Send + 'static,
{
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    tokio::task::spawn_blocking(move || tracing::dispatcher::with_default(&dispatch, f))
        .await
        .unwrap_or_else(|e| Err(E::from(TaskDied(e.to_string()))))
}

/// An operation's failure as it travels to the TUI inside a job event: the typed [`Error`]
/// itself, shared, because events are cloned (and compared in tests, by what they show).
/// The TUI renders it: its Display, its [`Error::kind`].
#[derive(Debug, Clone)]
pub struct Shared(std::sync::Arc<Error>);

impl Shared {
    /// The typed error.
    #[must_use]
    pub fn error(&self) -> &Error {
        &self.0
    }
}

impl From<Error> for Shared {
    fn from(e: Error) -> Self {
        Shared(std::sync::Arc::new(e))
    }
}

impl std::fmt::Display for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Shared {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

impl PartialEq for Shared {
    fn eq(&self, other: &Self) -> bool {
        self.0.kind() == other.0.kind() && self.0.to_string() == other.0.to_string()
    }
}

/// Kind and text compare as an equivalence (screens holding a shared error stay `Eq`).
impl Eq for Shared {}
