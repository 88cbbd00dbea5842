//! The issuance engine: one order from account to stored certificate, reported as steps.
//!
//! The CLI and the TUI both drive this; they differ only in how they show [`Progress`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use instant_acme::{Account, Order};
use time::OffsetDateTime;

use super::ari;
use super::authz::Concurrent;
use super::challenges;
use super::http;
use super::issuance::Run;
use super::journal::{Journal, JournalError, JournalFile, JournalStep};
use super::keys;
use super::order;
use super::recovery::{self, Start};
use super::renewal_info;
use crate::cert::store::{CertMeta, CertStore, StoreError};
use crate::config::{CertConfig, Config};
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
    pub fn is_usage(&self) -> bool {
        matches!(self, IssueError::Config(_))
    }

    /// Whether the run stopped to wait for the operator to create manual records (exit 3);
    /// the order is kept for the rerun.
    pub fn is_waiting(&self) -> bool {
        matches!(
            self,
            IssueError::Solver(crate::solver::SolverError::NoTerminal { .. })
        )
    }
}

/// Check, before anything is sent to the CA, that `name` is configured and every one of its
/// names has a solver.
pub fn preflight(config: &Config, name: &str) -> Result<(), IssueError> {
    let cert = config
        .certificates
        .get(name)
        .ok_or_else(|| IssueError::Config(format!("certificate {name:?} is not configured")))?;
    challenges::solver_suffixes(config, &cert.names).map(|_| ())
}

/// Issue (or renew) the certificate `name` with `account`, reporting each step.
///
/// Crash safety: every step that outlives the process is written to the certificate's
/// journal first (see [`super::journal`]); a run that finds a journal resumes or cleans up
/// after the interrupted one before doing anything else (see [`super::recovery`]).
pub async fn issue(
    ctx: &IssueContext,
    account: &Account,
    account_name: &str,
    name: &str,
    report: &(dyn Fn(Progress) + Send + Sync),
) -> Result<IssueOutcome, IssueError> {
    let started = Instant::now();
    let step = |step: Step| {
        report(Progress {
            cert: name.to_owned(),
            step,
            elapsed: started.elapsed(),
        });
    };
    let cert = ctx
        .config
        .certificates
        .get(name)
        .ok_or_else(|| IssueError::Config(format!("certificate {name:?} is not configured")))?;
    let solvers = challenges::solvers_for(ctx, &cert.names)?;
    verify_delegation(ctx, &cert.names).await?;
    super::caa_check::verify(&ctx.config, account_name, account.id(), &cert.names).await?;
    step(Step::AccountReady);

    let signer = super::jws::for_account(account);
    if let Some(signer) = signer.clone() {
        // Directory and nonces for the concurrent requests, while the order is created.
        tokio::spawn(async move { signer.warm_up().await });
    }
    let file = JournalFile::new(&ctx.state_dir, name);
    let (mut order, journal, key) =
        match recovery::recover(ctx, account, account_name, name, cert).await? {
            Start::Done(meta) => {
                step(Step::Stored {
                    serial: meta.serial.clone(),
                    not_after: meta.not_after,
                });
                let elapsed = started.elapsed();
                return Ok(IssueOutcome { meta, elapsed });
            }
            Start::Resume {
                order,
                journal,
                key,
            } => (*order, journal, key),
            Start::Fresh(journal) => {
                let (order, journal) = new_order(ctx, account, cert, &file, journal).await?;
                (order, journal, None)
            }
        };
    let fast = signer.map(|signer| Concurrent::new(signer, account.key_thumbprint().to_owned()));
    let mut run = Run::new(ctx, cert, (name, account_name), journal).concurrent(fast);
    // Certificates sharing a challenge name (an apex in two certificates) take turns from
    // publishing to cleanup: many hooks' cleanup removes the whole record set, which would
    // take the other order's value with it. Locked in name order, so turns cannot deadlock.
    let mut owners: Vec<String> = cert
        .names
        .iter()
        .map(|n| crate::domain::names::challenge_owner(n))
        .collect();
    owners.sort_unstable();
    owners.dedup();
    let turns: Vec<_> = owners
        .iter()
        .map(|o| crate::lock::turn(&format!("challenge:{o}")))
        .collect();
    let mut held = Vec::with_capacity(turns.len());
    for turn in &turns {
        held.push(turn.lock().await);
    }
    // `held` lives to the end: a failed run's cleanup happens under the turns too.
    let driven = run.drive(&mut order, &solvers, key, &step).await;
    match driven {
        Ok(meta) => Ok(IssueOutcome {
            meta,
            elapsed: started.elapsed(),
        }),
        // Waiting for the operator to create manual records: the order (and its values)
        // stays in the journal for the rerun.
        Err(e @ IssueError::Solver(crate::solver::SolverError::NoTerminal { .. })) => Err(e),
        Err(e) => {
            run.fail().await;
            Err(e)
        }
    }
}

/// A new order, recorded in the journal before anything else happens: from here on the
/// order outlives a crash.
async fn new_order(
    ctx: &IssueContext,
    account: &Account,
    cert: &CertConfig,
    file: &JournalFile,
    mut journal: Journal,
) -> Result<(Order, Journal), IssueError> {
    let replaces = super::ari::replaces(&ctx.store, &journal.cert, &journal.account).await;
    let profile = cert.profile.as_deref();
    let order = order::create(account, &cert.names, replaces.as_ref(), profile).await?;
    journal.order_url = Some(order.url().to_owned());
    journal.step = JournalStep::OrderCreated;
    let file = file.clone();
    let (journal, saved) = crate::fsutil::blocking_io(move || {
        let saved = file.save(&mut journal);
        (journal, saved)
    })
    .await;
    saved?;
    Ok((order, journal))
}

/// Ask for a just-issued certificate's window at once, so `list` and the dashboard show it
/// before the next `renew`. Best effort: a CA without ARI, or one that fails to answer,
/// leaves the lifetime rule until then (logged, never failing the issuance).
pub(super) async fn fetch_window(ctx: &IssueContext, account_name: &str, meta: &CertMeta) {
    let Some(account) = ctx.config.accounts.get(account_name) else {
        return;
    };
    let bundle = ctx.ca_bundle.clone().or_else(|| account.ca_bundle.clone());
    let http = match http::client(bundle.as_deref()) {
        Ok(http) => http,
        Err(e) => {
            tracing::warn!(cert = %meta.name, error = %e, "no ARI request after issuance");
            return;
        }
    };
    let client = renewal_info::AriClient::new(http, ctx.ca_timeout, &account.directory);
    let (store, name) = (ctx.store.clone(), meta.name.clone());
    let Some(stored) = crate::fsutil::blocking_io(move || store.load(&name).ok().flatten()).await
    else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    let (state_dir, chain) = (&ctx.state_dir, &stored.chain_pem);
    match ari::refresh(&client, account_name, state_dir, &stored.meta, chain, now).await {
        Ok((state, _)) => tracing::info!(cert = %meta.name, start = %state.start,
            end = %state.end, chosen = %state.chosen, "ARI window of the new certificate"),
        Err(ari::AriError::Unsupported) => {}
        Err(e) => tracing::warn!(cert = %meta.name, error = %e, "ARI after issuance"),
    }
}

/// acme-dns names: refuse to order while a CNAME is missing or points elsewhere (a failed
/// validation counts against the CA's rate limits; a refusal here costs nothing).
async fn verify_delegation(ctx: &IssueContext, names: &[String]) -> Result<(), IssueError> {
    crate::acmedns::verify_delegation(&ctx.config, names, &ctx.config.settings.resolvers)
        .await
        .map_err(|e| {
            if e.is_usage() {
                IssueError::Config(e.to_string())
            } else {
                IssueError::Delegation(e.to_string())
            }
        })
        .map(|_| ())
}

/// Run a blocking keyring call off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SecretError> + Send + 'static,
) -> Result<T, SecretError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(SecretError::Backend {
            store: crate::secrets::StoreKind::default_for_os(),
            entry: String::new(),
            detail: format!("keyring task failed: {e}"),
        })
    })
}
