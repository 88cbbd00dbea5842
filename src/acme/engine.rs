//! The issuance engine: one order from account to stored certificate, reported as steps.
//!
//! The CLI and the TUI both drive this; they differ only in how they show [`Progress`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use instant_acme::Account;
use time::OffsetDateTime;

use super::keys;
use super::order;
use crate::cert::inspect;
use crate::cert::store::{CertMeta, CertStore, StoreError};
use crate::config::{CertConfig, Config, DomainConfig};
use crate::dns::{expect, PropagationReport, WaitError, Waiter};
use crate::domain::names;
use crate::secrets::{Keystore, SecretError, SecretRef};
use crate::solver::{self, ChallengeRecord, Solver, SolverError};

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
}

impl IssueError {
    /// Whether the operator's input is at fault (exit 2) rather than the run (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(self, IssueError::Config(_))
    }
}

/// The solvers for every name, grouped so each solver sees all of its records at once.
fn solver_suffixes<'a>(
    config: &'a Config,
    names: &[String],
) -> Result<BTreeMap<&'a str, &'a DomainConfig>, IssueError> {
    let mut by_domain = BTreeMap::new();
    for name in names {
        let base = names::base_domain(name);
        let (suffix, domain_cfg) = config.solver_for(base).ok_or_else(|| {
            IssueError::Config(format!(
                "no solver is configured for {name}: run `certpilot domain set {base} --solver exec --command HOOK` (or --solver manual)"
            ))
        })?;
        by_domain.insert(suffix, domain_cfg);
    }
    Ok(by_domain)
}

fn solvers_for(
    ctx: &IssueContext,
    names: &[String],
) -> Result<BTreeMap<String, Arc<dyn Solver>>, IssueError> {
    let config = &ctx.config;
    let mut solvers = BTreeMap::new();
    for (suffix, domain_cfg) in solver_suffixes(config, names)? {
        let deps = solver::SolverDeps {
            config,
            domain: suffix,
            hook_timeout: Duration::from_secs(config.settings.hook_timeout),
            keystore: &ctx.keystore,
        };
        let built = solver::from_config(domain_cfg, &deps).map_err(IssueError::Config)?;
        solvers.insert(suffix.to_owned(), built);
    }
    Ok(solvers)
}

/// Check, before anything is sent to the CA, that `name` is configured and every one of its
/// names has a solver.
pub fn preflight(config: &Config, name: &str) -> Result<(), IssueError> {
    let cert = config
        .certificates
        .get(name)
        .ok_or_else(|| IssueError::Config(format!("certificate {name:?} is not configured")))?;
    solver_suffixes(config, &cert.names).map(|_| ())
}

/// Issue (or renew) the certificate `name` with `account`, reporting each step.
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
    let solvers = solvers_for(ctx, &cert.names)?;
    // acme-dns names: refuse to order while a CNAME is missing or points elsewhere (a failed
    // validation counts against the CA's rate limits; a refusal here costs nothing).
    crate::acmedns::verify_delegation(&ctx.config, &cert.names, &ctx.config.settings.resolvers)
        .await
        .map_err(|e| {
            if e.is_usage() {
                IssueError::Config(e.to_string())
            } else {
                IssueError::Delegation(e.to_string())
            }
        })?;
    step(Step::AccountReady);

    let mut order = order::create(account, &cert.names).await?;
    let order_url = order.url().to_owned();
    let records = order::collect_records(&mut order).await?;
    step(Step::OrderCreated {
        url: order_url.clone(),
        pending: records.len(),
    });

    let grouped = group_by_solver(&ctx.config, &solvers, &records);
    let result = async {
        publish(&grouped).await?;
        step(Step::RecordsPublished {
            records: records.clone(),
        });
        wait_visible(ctx, &records, &step).await?;
        step(Step::RecordsVisible);
        order::answer_challenges(&mut order).await?;
        step(Step::ChallengesAnswered);
        order::wait_valid(&mut order, ctx.ca_timeout).await?;
        step(Step::Validated);
        Ok::<(), IssueError>(())
    }
    .await;
    if let Err(e) = result {
        cleanup(&grouped).await;
        return Err(e);
    }
    // Validation is over: the records can go while the CA signs.
    let (finalized, ()) = tokio::join!(
        finalize(ctx, &mut order, cert, account_name, name, order_url),
        cleanup(&grouped)
    );
    let (meta, chain) = finalized?;
    step(Step::Finalized);
    store(ctx, &meta, &chain).await?;
    step(Step::Stored {
        serial: meta.serial.clone(),
        not_after: meta.not_after,
    });
    Ok(IssueOutcome {
        meta,
        elapsed: started.elapsed(),
    })
}

type Grouped = Vec<(Arc<dyn Solver>, Vec<ChallengeRecord>)>;

fn group_by_solver(
    config: &Config,
    solvers: &BTreeMap<String, Arc<dyn Solver>>,
    records: &[ChallengeRecord],
) -> Grouped {
    let mut grouped: BTreeMap<&str, Vec<ChallengeRecord>> = BTreeMap::new();
    for record in records {
        let base = names::base_domain(&record.identifier);
        if let Some((suffix, _)) = config.solver_for(base) {
            grouped.entry(suffix).or_default().push(record.clone());
        }
    }
    grouped
        .into_iter()
        .filter_map(|(suffix, recs)| solvers.get(suffix).map(|s| (Arc::clone(s), recs)))
        .collect()
}

async fn publish(grouped: &Grouped) -> Result<(), IssueError> {
    let runs = grouped.iter().map(|(solver, recs)| solver.present(recs));
    for result in futures::future::join_all(runs).await {
        result?;
    }
    Ok(())
}

/// Best effort: a failed cleanup is logged, it must not hide the issuance's own result.
async fn cleanup(grouped: &Grouped) {
    let runs = grouped.iter().map(|(solver, recs)| async move {
        if let Err(e) = solver.cleanup(recs).await {
            tracing::warn!(solver = %solver.describe(), error = %e, "cleanup failed");
        }
    });
    futures::future::join_all(runs).await;
}

/// Every owner name, all of its values at once (apex and wildcard share one owner), in the
/// `--propagation` mode; each authoritative round is reported as a step.
async fn wait_visible(
    ctx: &IssueContext,
    records: &[ChallengeRecord],
    step: &(dyn Fn(Step) + Send + Sync),
) -> Result<(), IssueError> {
    let expectations = expect::for_records(
        &ctx.config,
        records
            .iter()
            .map(|r| (r.identifier.as_str(), r.value.as_str())),
    );
    let progress = |report| step(Step::Propagation(report));
    ctx.checker
        .wait(&expectations, ctx.propagation_timeout, &progress)
        .await?;
    Ok(())
}

async fn finalize(
    ctx: &IssueContext,
    order: &mut instant_acme::Order,
    cert: &CertConfig,
    account_name: &str,
    name: &str,
    order_url: String,
) -> Result<(CertMeta, (String, String)), IssueError> {
    let key_type = cert.key_type;
    let names_owned = cert.names.clone();
    let (key_pem, csr) = tokio::task::spawn_blocking(move || {
        let key = keys::generate(key_type)?;
        let csr = keys::csr_der(&names_owned, &key)?;
        Ok::<_, keys::KeyError>((key.serialize_pem(), csr))
    })
    .await
    .map_err(|e| IssueError::BadCertificate(e.to_string()))??;
    let chain = order::finalize(order, &csr, ctx.ca_timeout).await?;
    let info = inspect::inspect_chain_pem(&chain)
        .map_err(|e| IssueError::BadCertificate(e.to_string()))?;
    // An unreadable previous metadata file only costs the history, never the issuance.
    let previous = ctx.store.load_meta(name).ok().flatten();
    let meta = CertMeta {
        name: name.to_owned(),
        names: cert.names.clone(),
        account: account_name.to_owned(),
        key_type: cert.key_type.to_string(),
        key_id: keys::new_key_id(),
        issued_at: OffsetDateTime::now_utc(),
        not_before: info.not_before,
        not_after: info.not_after,
        order_url,
        serial: info.serial,
        issuer: info.issuer,
        history: previous
            .map(|p| p.history_for_successor())
            .unwrap_or_default(),
    };
    Ok((meta, (chain, key_pem)))
}

/// Key into the keyring first, then the files, then drop the previous key: at every point
/// the metadata on disk names a key that exists.
async fn store(
    ctx: &IssueContext,
    meta: &CertMeta,
    (chain, key_pem): &(String, String),
) -> Result<(), IssueError> {
    let previous = ctx
        .store
        .load(&meta.name)
        .ok()
        .flatten()
        .map(|s| s.meta.key_id);
    let keystore = ctx.keystore.clone();
    let new_ref = SecretRef::CertKey {
        cert: meta.name.clone(),
        key_id: meta.key_id.clone(),
    };
    let key_pem = key_pem.clone();
    blocking(move || keystore.put(&new_ref, &key_pem)).await?;
    ctx.store.save(meta, chain)?;
    if let Some(old) = previous.filter(|old| *old != meta.key_id) {
        let keystore = ctx.keystore.clone();
        let old_ref = SecretRef::CertKey {
            cert: meta.name.clone(),
            key_id: old,
        };
        if let Err(e) = blocking(move || keystore.delete(&old_ref).map(|_| ())).await {
            tracing::warn!(cert = %meta.name, error = %e, "could not delete the previous key");
        }
    }
    Ok(())
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
