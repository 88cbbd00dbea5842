//! `certpilot issue NAME` and `certpilot renew`.

use std::collections::HashMap;
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use instant_acme::Account;
use time::OffsetDateTime;

use super::{progress, schedule, Env, Failure, Outcome};
use crate::acme::{self, IssueContext, IssueError};
use crate::cli::RenewArgs;
use crate::deploy::{self, DeployReport};
use crate::domain::renewal;
use crate::lock::CertLock;
use crate::ops;
use crate::solver::manual;

impl From<IssueError> for Failure {
    fn from(e: IssueError) -> Self {
        if e.is_usage() {
            Failure::Usage(e.to_string())
        } else if e.is_waiting() {
            Failure::Waiting(e.to_string())
        } else {
            Failure::Failed(e.to_string())
        }
    }
}

pub(super) fn context(env: &Env) -> Result<IssueContext, Failure> {
    Ok(ops::issue::context(
        &env.session,
        env.shared_config(),
        env.keystore()?,
    )?)
}

/// The account a certificate uses, checked before anything is sent.
pub(super) fn account_name(env: &Env, cert: &str) -> Result<String, Failure> {
    Ok(ops::issue::account_name(&env.config, cert)?)
}

/// The account `name`, restored from the keyring (an interrupted key rollover is finished).
pub(super) async fn load_account(env: &Env, name: &str) -> Result<Account, Failure> {
    Ok(ops::issue::load_account(&env.session, &env.effective(), name).await?)
}

/// The progress printer for a run with `ctx`'s propagation mode.
pub(super) fn printer(env: &Env, ctx: &IssueContext) -> progress::Printer {
    progress::Printer::new(ctx.checker.mode(), env.propagation_timeout())
}

pub(super) async fn issue_one(env: &Env, name: &str) -> Outcome {
    let ops::issue::Prepared {
        context: ctx,
        account,
        account_name,
        lock: _lock,
    } = ops::issue::prepare(&env.session, name).await?;
    let printer = printer(env, &ctx);
    let report = |p| printer.report(p);
    let issuing = acme::issue(&ctx, &account, &account_name, name, &report);
    let outcome = manual::probing(acme::waiting::visible_now(&ctx), issuing).await;
    printer.done(name);
    let outcome = outcome?;
    // Still under the lock: an export must not race another run's renewal.
    let deployed =
        deploy::deploy(&ctx.state_dir, &ctx.config, &ctx.store, &ctx.keystore, name).await;
    super::leftovers::warn(env, name);
    let days = renewal::days_left(outcome.meta.not_after, OffsetDateTime::now_utc());
    outln!(
        "{name}: issued in {:.1}s, expires {} ({days} days){}",
        outcome.elapsed.as_secs_f64(),
        outcome.meta.not_after.date(),
        deployed.summary_suffix()
    );
    match deployed.failure() {
        Some(failure) => Err(Failure::Failed(format!(
            "{name}: {failure}; the new certificate and key are stored"
        ))),
        None => Ok(()),
    }
}

/// One renewal's outcome: certificate name, why it was due, what happened.
type RenewResult = (String, String, Result<acme::IssueOutcome, IssueError>);

// TODO(issue 12): split (STYLE.md: functions ≤ 60 lines); the operations layer takes this over.
#[allow(clippy::too_many_lines)]
pub(super) async fn renew(env: &Env, args: &RenewArgs) -> Outcome {
    let schedule::Plan { work, idle, notes } = schedule::plan(env, args).await?;
    let mut loaded = schedule::Accounts::new();
    for line in notes.iter().chain(&idle) {
        outln!("{line}");
    }
    // Deploys that failed after an earlier renewal, for certificates not renewed now.
    let retries: Vec<String> = deploy::pending(&env.paths.state)
        .into_iter()
        .filter(|name| env.config.certificates.contains_key(name))
        .filter(|name| !work.iter().any(|(due, _)| due == name))
        .filter(|name| args.only.as_ref().is_none_or(|only| only == name))
        .collect();
    // Records a failed cleanup left in DNS, for certificates not renewed now.
    let cleanups = super::leftovers::retryable(
        env,
        env.config
            .certificates
            .keys()
            .filter(|name| !work.iter().any(|(due, _)| due == *name))
            .filter(|name| args.only.as_ref().is_none_or(|only| only == *name))
            .cloned(),
    );
    if work.is_empty() && retries.is_empty() && cleanups.is_empty() {
        outln!("nothing to renew");
        return Ok(());
    }
    // Options are checked before any lock: a usage error must leave no file behind.
    let ctx = Arc::new(context(env)?);
    super::leftovers::retry(env, &ctx, &cleanups).await;
    let retry_failed = retry_deploys(env, &ctx, &retries).await;
    if work.is_empty() {
        return match retry_failed {
            0 => Ok(()),
            n => Err(Failure::Failed(format!("{n} deploy retry(ies) failed"))),
        };
    }
    // Locks first: a certificate another run is working on is reported, not waited for.
    let mut results: Vec<RenewResult> = Vec::new();
    let mut jobs = Vec::new();
    for (name, reason) in work {
        let lock = match CertLock::try_acquire(&env.paths.state, &name) {
            Ok(lock) => lock,
            Err(e) => {
                results.push((name, reason, Err(IssueError::Busy(e.to_string()))));
                continue;
            }
        };
        let account_name = account_name(env, &name)?;
        acme::engine::preflight(&env.config, &name)?;
        if !loaded.contains_key(&account_name) {
            let account = load_account(env, &account_name).await.map_err(|e| match e {
                Failure::Usage(m) | Failure::Failed(m) | Failure::Waiting(m) => m,
            });
            loaded.insert(account_name.clone(), account);
        }
        // An account that cannot be loaded (CA down, keyring locked) fails its certificates,
        // not the run: the others still renew.
        if let Some(Err(e)) = loaded.get(&account_name) {
            let detail = e.clone();
            results.push((
                name,
                reason,
                Err(IssueError::Acme {
                    during: "loading the account",
                    detail,
                }),
            ));
            continue;
        }
        jobs.push((name, reason, account_name, lock));
    }
    let accounts: HashMap<String, Account> = loaded
        .into_iter()
        .filter_map(|(name, account)| account.ok().map(|a| (name, a)))
        .collect();
    let accounts = Arc::new(accounts);
    let parallel = env.config.settings.parallel.max(1);
    let printer = Arc::new(printer(env, &ctx));
    let done: Vec<(RenewResult, DeployReport)> = stream::iter(jobs)
        .map(|(name, reason, account_name, lock)| {
            let ctx = Arc::clone(&ctx);
            let accounts = Arc::clone(&accounts);
            let printer = Arc::clone(&printer);
            async move {
                let account = &accounts[&account_name];
                let report = |p| printer.report(p);
                let issuing = acme::issue(&ctx, account, &account_name, &name, &report);
                let result = manual::probing(acme::waiting::visible_now(&ctx), issuing).await;
                printer.done(&name);
                // Under the lock: an export must not race another run's renewal.
                let deployed = match &result {
                    Ok(_) => {
                        let (config, store, keys) = (&ctx.config, &ctx.store, &ctx.keystore);
                        deploy::deploy(&ctx.state_dir, config, store, keys, &name).await
                    }
                    Err(_) => DeployReport::default(),
                };
                drop(lock);
                ((name, reason, result), deployed)
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    let mut deploys = HashMap::new();
    for (result, deployed) in done {
        super::leftovers::warn(env, &result.0);
        deploys.insert(result.0.clone(), deployed);
        results.push(result);
    }
    summarize(results, &deploys)?;
    match retry_failed {
        0 => Ok(()),
        n => Err(Failure::Failed(format!("{n} deploy retry(ies) failed"))),
    }
}

/// Run the failed deploys of `names` again, each under its certificate's lock; prints one
/// line per certificate and returns how many failed again.
async fn retry_deploys(env: &Env, ctx: &IssueContext, names: &[String]) -> usize {
    let mut failed = 0;
    for name in names {
        let Ok(_lock) = CertLock::try_acquire(&env.paths.state, name) else {
            outln!("{name}: deploy retry skipped (another run holds the certificate)");
            continue;
        };
        let (config, store, keys) = (&ctx.config, &ctx.store, &ctx.keystore);
        let report = deploy::deploy(&ctx.state_dir, config, store, keys, name).await;
        match report.failure() {
            Some(why) => {
                failed += 1;
                tracing::error!(cert = %name, error = %why, "deploy retry failed");
                outln!("{name}: deploy retry FAILED: {why}");
            }
            None => outln!("{name}: deploy retried{}", report.summary_suffix()),
        }
    }
    failed
}

fn summarize(mut results: Vec<RenewResult>, deploys: &HashMap<String, DeployReport>) -> Outcome {
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut failed = 0;
    let mut deploy_failed = 0;
    for (name, reason, result) in &results {
        match result {
            Ok(outcome) => {
                let deployed = deploys.get(name);
                deploy_failed += usize::from(deployed.is_some_and(|d| d.failure().is_some()));
                outln!(
                    "{name}: renewed ({reason}); expires {}{}",
                    outcome.meta.not_after.date(),
                    deployed
                        .map(DeployReport::summary_suffix)
                        .unwrap_or_default()
                );
            }
            Err(e) => {
                failed += 1;
                // The log keeps the reason too: cron mails and journald may drop stdout.
                tracing::error!(cert = %name, due = %reason, error = %e, "renewal failed");
                outln!(
                    "{name}: FAILED ({reason}): {}",
                    e.to_string().replace('\n', "\n    ")
                );
            }
        }
    }
    let waiting = results
        .iter()
        .filter(|(_, _, r)| r.as_ref().is_err_and(IssueError::is_waiting))
        .count();
    if failed > 0 && waiting == failed && deploy_failed == 0 {
        return Err(Failure::Waiting(format!(
            "{waiting} renewal(s) wait for manual DNS records; run `certpilot renew` again once they exist"
        )));
    }
    if failed > 0 {
        return Err(Failure::Failed(format!(
            "{failed} of {} renewal(s) failed",
            results.len()
        )));
    }
    if deploy_failed > 0 {
        return Err(Failure::Failed(format!(
            "{deploy_failed} deploy(s) failed; the renewed certificates and keys are stored"
        )));
    }
    Ok(())
}
