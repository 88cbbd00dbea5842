//! `certpilot issue NAME` and `certpilot renew`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use instant_acme::Account;
use time::OffsetDateTime;

use super::{Env, Failure, Outcome};
use crate::acme::engine::blocking;
use crate::acme::{self, account, http, IssueContext, IssueError, Progress, Step};
use crate::cert::store::CertStore;
use crate::cli::RenewArgs;
use crate::dns::{Mode, Waiter};
use crate::domain::renewal::{self, Decision, Stored, Wanted};
use crate::inventory;
use crate::lock::CertLock;
use crate::secrets::SecretRef;

impl From<IssueError> for Failure {
    fn from(e: IssueError) -> Self {
        if e.is_usage() {
            Failure::Usage(e.to_string())
        } else {
            Failure::Failed(e.to_string())
        }
    }
}

fn context(env: &Env) -> Result<IssueContext, Failure> {
    Ok(IssueContext {
        config: env.shared_config(),
        keystore: env.keystore()?,
        store: CertStore::new(&env.paths.certificates),
        checker: waiter(env)?,
        propagation_timeout: env.propagation_timeout(),
        ca_timeout: Duration::from_secs(180),
    })
}

/// The `--propagation` mode (authoritative unless told) on the chosen resolvers.
fn waiter(env: &Env) -> Result<Waiter, Failure> {
    let mode = match &env.global.propagation {
        Some(text) => text.parse::<Mode>(),
        None => Ok(Mode::default()),
    };
    mode.and_then(|mode| Waiter::new(mode, env.resolvers()))
        .map_err(|e| Failure::Usage(e.to_string()))
}

/// The account a certificate uses, checked before anything is sent.
fn account_name(env: &Env, cert: &str) -> Result<String, Failure> {
    let cfg = env.config.certificates.get(cert).ok_or_else(|| {
        Failure::Usage(format!(
            "certificate {cert:?} is not configured (see `certpilot list`)"
        ))
    })?;
    env.config.account_for(cfg).map(str::to_owned).ok_or_else(|| {
        Failure::Usage(if env.config.accounts.is_empty() {
            "no ACME account: add one with `certpilot account add`".to_owned()
        } else {
            format!("certificate {cert:?} names no account and several exist: pass --account to `cert add`")
        })
    })
}

async fn load_account(env: &Env, name: &str) -> Result<Account, Failure> {
    let keystore = env.keystore()?;
    let entry = SecretRef::Account(name.to_owned());
    let creds = blocking(move || keystore.get(&entry))
        .await?
        .ok_or_else(|| {
            Failure::Failed(format!(
                "account {name}: its credentials are not in the keyring ({}); register it again",
                SecretRef::Account(name.to_owned()).user()
            ))
        })?;
    let http = http::client(env.ca_bundle_for(name).as_deref())
        .map_err(|e| Failure::Usage(e.to_string()))?;
    Ok(account::restore(&http, name, &creds).await?)
}

fn print_progress(p: Progress) {
    let what = match &p.step {
        Step::AccountReady => "account ready".to_owned(),
        Step::OrderCreated { pending, .. } => {
            format!("order created, {pending} challenge(s) to answer")
        }
        Step::RecordsPublished { records } => format!("{} TXT record(s) published", records.len()),
        Step::Propagation(report) => report.verdict(),
        Step::RecordsVisible => "records visible".to_owned(),
        Step::ChallengesAnswered => "challenges answered".to_owned(),
        Step::Validated => "validated".to_owned(),
        Step::Finalized => "certificate issued".to_owned(),
        Step::Stored { serial, not_after } => {
            format!("stored (serial {serial}, expires {})", not_after.date())
        }
    };
    eprintln!("[{:>6.2}s] {}: {what}", p.elapsed.as_secs_f64(), p.cert);
    // The line, not the step: a propagation round's report can be large.
    tracing::info!(cert = %p.cert, step = %what, "progress");
}

pub(super) async fn issue_one(env: &Env, name: &str) -> Outcome {
    let account_name = account_name(env, name)?;
    acme::engine::preflight(&env.config, name)?;
    let _lock = CertLock::try_acquire(&env.paths.state, name)
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let ctx = context(env)?;
    let account = load_account(env, &account_name).await?;
    let outcome = acme::issue(&ctx, &account, &account_name, name, &print_progress).await?;
    let days = renewal::days_left(outcome.meta.not_after, OffsetDateTime::now_utc());
    println!(
        "{name}: issued in {:.1}s, expires {} ({days} days)",
        outcome.elapsed.as_secs_f64(),
        outcome.meta.not_after.date()
    );
    Ok(())
}

/// What `renew` found: (certificate, reason) pairs that are due, and lines about the rest.
type Plan = (Vec<(String, String)>, Vec<String>);

/// The certificates `renew` should work on, with the reason for each.
fn due(env: &Env, args: &RenewArgs) -> Result<Plan, Failure> {
    let store = CertStore::new(&env.paths.certificates);
    let now = OffsetDateTime::now_utc();
    let mut work = Vec::new();
    let mut idle = Vec::new();
    for (name, cert) in &env.config.certificates {
        if args.only.as_ref().is_some_and(|only| only != name) {
            continue;
        }
        let stored = store
            .load(name)
            .map_err(|e| Failure::Failed(e.to_string()))?;
        let key_type = cert.key_type.to_string();
        let wanted = Wanted {
            names: &cert.names,
            key_type: &key_type,
            renew_days: args
                .days
                .unwrap_or_else(|| inventory::renew_days(&env.config, cert)),
        };
        let view = stored.as_ref().map(|s| Stored {
            names: &s.meta.names,
            key_type: &s.meta.key_type,
            not_before: s.meta.not_before,
            not_after: s.meta.not_after,
        });
        match renewal::decide(&wanted, view.as_ref(), now, args.force) {
            Decision::Renew(reason) => work.push((name.clone(), reason.to_string())),
            Decision::Keep { renew_at } => idle.push(format!(
                "{name}: not due (renewal from {})",
                renew_at.date()
            )),
        }
    }
    if let Some(only) = &args.only {
        if !env.config.certificates.contains_key(only) {
            return Err(Failure::Usage(format!(
                "certificate {only:?} is not configured"
            )));
        }
    }
    Ok((work, idle))
}

/// One renewal's outcome: certificate name, why it was due, what happened.
type RenewResult = (String, String, Result<acme::IssueOutcome, IssueError>);

pub(super) async fn renew(env: &Env, args: &RenewArgs) -> Outcome {
    let (work, idle) = due(env, args)?;
    for line in &idle {
        println!("{line}");
    }
    if work.is_empty() {
        println!("nothing to renew");
        return Ok(());
    }
    // Locks first: a certificate another run is working on is reported, not waited for.
    let mut results: Vec<RenewResult> = Vec::new();
    let mut accounts: HashMap<String, Account> = HashMap::new();
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
        if !accounts.contains_key(&account_name) {
            let account = load_account(env, &account_name).await?;
            accounts.insert(account_name.clone(), account);
        }
        jobs.push((name, reason, account_name, lock));
    }
    let ctx = Arc::new(context(env)?);
    let accounts = Arc::new(accounts);
    let parallel = env.config.settings.parallel.max(1);
    let done: Vec<RenewResult> = stream::iter(jobs)
        .map(|(name, reason, account_name, lock)| {
            let ctx = Arc::clone(&ctx);
            let accounts = Arc::clone(&accounts);
            async move {
                let account = &accounts[&account_name];
                let result =
                    acme::issue(&ctx, account, &account_name, &name, &print_progress).await;
                drop(lock);
                (name, reason, result)
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    results.extend(done);
    summarize(results)
}

fn summarize(mut results: Vec<RenewResult>) -> Outcome {
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut failed = 0;
    for (name, reason, result) in &results {
        match result {
            Ok(outcome) => println!(
                "{name}: renewed ({reason}); expires {}",
                outcome.meta.not_after.date()
            ),
            Err(e) => {
                failed += 1;
                println!(
                    "{name}: FAILED ({reason}): {}",
                    e.to_string().replace('\n', "\n    ")
                );
            }
        }
    }
    if failed > 0 {
        return Err(Failure::Failed(format!(
            "{failed} of {} renewal(s) failed",
            results.len()
        )));
    }
    Ok(())
}
