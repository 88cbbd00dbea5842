//! The issuance engine: one order from account to stored certificate, reported as steps.
//!
//! The CLI and the TUI both drive this; they differ only in how they show [`Progress`].

use std::time::Instant;

use instant_acme::{Account, Order};

pub use super::run::{IssueContext, IssueError, IssueOutcome, Progress, Step};

use super::authz::Concurrent;
use super::challenges;
use super::issuance::Run;
use super::journal::{Journal, JournalFile, JournalStep};
use super::order;
use super::recovery::{self, Start};
use crate::config::{CertConfig, Config};

/// Check, before anything is sent to the CA, that `name` is configured and every one of its
/// names has a solver.
///
/// # Errors
///
/// When `name` is not configured or one of its names has no solver.
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
///
/// # Errors
///
/// When any step fails: preflight, recovery of an earlier run, ordering, DNS records or
/// propagation, validation, finalization, or storing the certificate; the error names the step.
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
