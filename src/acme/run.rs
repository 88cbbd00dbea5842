//! What one issuance run is given ([`IssueContext`]), reports ([`Step`], [`Progress`]),
//! returns ([`IssueOutcome`]) and fails with ([`IssueError`]): the vocabulary the engine and
//! its parts share, below all of them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::journal::JournalError;
use super::keys;
use crate::cert::store::{CertMeta, CertStore, StoreError};
use crate::config::Config;
use crate::dns::{PropagationReport, WaitError, Waiter};
use crate::secrets::{Keystore, SecretError};
use crate::solver::{ChallengeRecord, SolverError};

/// Everything an issuance needs besides the account.
#[derive(Clone)]
pub struct IssueContext {
    /// The configuration (solver mapping, settings).
    pub config: Arc<Config>,
    /// Where the key goes.
    pub keystore: Keystore,
    /// Where the certificate goes.
    pub store: CertStore,
    /// Decides when the records are visible, in the `--propagation` mode.
    pub checker: Waiter,
    /// How long to wait for records to become visible.
    pub propagation_timeout: Duration,
    /// How long the CA may take to validate and issue.
    pub ca_timeout: Duration,
    /// The state directory: issuance journals live in its `journal/` (see [`journal`]).
    pub state_dir: PathBuf,
    /// `--ca-bundle`, which wins over the account's own (for the ARI request after
    /// issuance).
    pub ca_bundle: Option<PathBuf>,
}

/// The engine's steps, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The account is loaded.
    AccountReady,
    /// The CA created the order.
    OrderCreated {
        /// Order URL.
        url: String,
        /// Authorizations still pending (valid ones are reused).
        pending: usize,
    },
    /// Every TXT value was handed to its solver.
    RecordsPublished {
        /// What was published.
        records: Vec<ChallengeRecord>,
    },
    /// One propagation round (authoritative mode): what every address of every
    /// authoritative server serves; repeated until every one serves every value.
    Propagation(Box<PropagationReport>),
    /// Every value is visible (in the `--propagation` mode's sense).
    RecordsVisible,
    /// Resolver caches may still hold the answer certpilot's previous validation at these
    /// names was served: waiting until they expire (sent at the start and every few seconds).
    CacheWait {
        /// Each name, its TTL and until when.
        waits: Vec<crate::dns::horizon::CacheWait>,
    },
    /// A warning worth the operator's attention that does not stop the issuance.
    Warning(String),
    /// The CA was told to validate.
    ChallengesAnswered,
    /// The CA validated every authorization.
    Validated,
    /// The certificate was issued.
    Finalized,
    /// Certificate and key are stored.
    Stored {
        /// Serial, hex.
        serial: String,
        /// Expiry.
        not_after: OffsetDateTime,
    },
}

/// One progress report.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Certificate name.
    pub cert: String,
    /// The step reached.
    pub step: Step,
    /// Time since the issuance started.
    pub elapsed: Duration,
}

/// The result of a successful issuance.
#[derive(Debug, Clone)]
pub struct IssueOutcome {
    /// What was stored.
    pub meta: CertMeta,
    /// Wall time.
    pub elapsed: Duration,
}

/// Why an issuance failed. Configuration mistakes are separated from run-time failures
/// so the CLI can exit 2 for the former and 1 for the latter.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// A configuration problem, found before anything was sent to the CA.
    #[error("{0}")]
    Config(String),
    /// The keyring failed.
    #[error(transparent)]
    Secrets(#[from] SecretError),
    /// A solver failed.
    #[error("publishing the challenge records failed: {0}")]
    Solver(#[from] SolverError),
    /// Records did not become visible (or their propagation could not be checked).
    #[error(transparent)]
    Visibility(#[from] WaitError),
    /// The CA answered with an error.
    #[error("{during}: {detail}")]
    Acme {
        /// What we were doing.
        during: &'static str,
        /// The problem document, rendered.
        detail: String,
    },
    /// Authorizations failed validation.
    #[error("the CA could not validate:\n{}", .0.join("\n"))]
    Invalid(Vec<String>),
    /// Key or CSR generation failed.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// The issued certificate could not be read.
    #[error("the CA sent a certificate certpilot cannot read: {0}")]
    BadCertificate(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An acme-dns CNAME is missing or wrong; nothing was sent to the CA.
    #[error("{0}")]
    Delegation(String),
    /// Another run holds the certificate's lock.
    #[error("{0}")]
    Busy(String),
    /// CAA records forbid the account's CA; nothing was sent to the CA.
    #[error("{0}")]
    Caa(String),
    /// The issuance journal could not be read or written (nothing was left unrecorded).
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl IssueError {
    /// Whether the operator's input is at fault (exit 2) rather than the run (exit 1).
    #[must_use]
    pub fn is_usage(&self) -> bool {
        matches!(self, IssueError::Config(_))
    }

    /// Whether the run stopped to wait for the operator to create manual records (exit 3);
    /// the order is kept for the rerun.
    #[must_use]
    pub fn is_waiting(&self) -> bool {
        matches!(
            self,
            IssueError::Solver(crate::solver::SolverError::NoTerminal { .. })
        )
    }
}
