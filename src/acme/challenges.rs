//! Which solver publishes which challenge record; publishing and cleaning up.
//!
//! Records are grouped by the configured domain (the "suffix") whose solver serves them, so
//! each solver sees all of its records at once. The journal remembers that suffix with every
//! record, so a later run can clean up with the same solver even when the certificate's names
//! changed in between.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::journal::JournalRecord;
use super::run::{IssueContext, IssueError};
use crate::config::{Config, DomainConfig};
use crate::domain::names;
use crate::solver::{ChallengeRecord, Solver};

/// Solvers by the configured domain they serve.
pub type Solvers = BTreeMap<String, Arc<dyn Solver>>;

/// Records grouped by solver: (configured domain, its solver, its records).
pub type Grouped = Vec<(String, Arc<dyn Solver>, Vec<ChallengeRecord>)>;

/// The configured domain of every name, each once.
///
/// # Errors
/// [`IssueError::Config`] naming the first name without a solver.
pub fn solver_suffixes<'a>(
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

fn build(
    ctx: &IssueContext,
    suffix: &str,
    cfg: &DomainConfig,
) -> Result<Arc<dyn Solver>, IssueError> {
    let config = &ctx.config;
    let deps = crate::providers::SolverDeps {
        config,
        domain: suffix,
        hook_timeout: Duration::from_secs(config.settings.hook_timeout),
        keystore: &ctx.keystore,
    };
    crate::providers::from_config(cfg, &deps).map_err(IssueError::Config)
}

/// A solver for every configured domain that `names` fall under.
///
/// # Errors
/// A name has no solver, or a solver cannot be built from its configuration.
pub fn solvers_for(ctx: &IssueContext, names: &[String]) -> Result<Solvers, IssueError> {
    let mut solvers = BTreeMap::new();
    for (suffix, domain_cfg) in solver_suffixes(&ctx.config, names)? {
        solvers.insert(suffix.to_owned(), build(ctx, suffix, domain_cfg)?);
    }
    Ok(solvers)
}

/// The records with each owner moved to the end of its CNAME chain, where a CA reads the TXT
/// (for solvers that write records; see [`Config::follows_cname`]).
pub async fn place(ctx: &IssueContext, mut records: Vec<ChallengeRecord>) -> Vec<ChallengeRecord> {
    let mut owners: Vec<String> = records
        .iter()
        .filter(|r| ctx.config.follows_cname(names::base_domain(&r.identifier)))
        .map(|r| r.fqdn.clone())
        .collect();
    owners.sort_unstable();
    owners.dedup();
    let chains = owners.iter().map(|owner| ctx.checker.cname_chain(owner));
    let chains = futures::future::join_all(chains).await;
    for (owner, chain) in owners.iter().zip(chains) {
        let Some(target) = chain.last().filter(|_| chain.len() > 1) else {
            continue;
        };
        tracing::info!(%owner, chain = %chain.join(" -> "), "writing the challenge record at the end of the CNAME chain");
        for record in records.iter_mut().filter(|r| r.fqdn == *owner) {
            record.fqdn = format!("{target}.");
        }
    }
    records
}

/// The configured domain whose solver writes `record`: the CNAME target's own domain when the
/// record was moved there and that domain writes records, else the validated name's.
fn writer<'a>(config: &'a Config, record: &ChallengeRecord) -> Option<&'a str> {
    let base = names::base_domain(&record.identifier);
    let target = record.fqdn.trim_end_matches('.');
    if target != names::challenge_owner(base) {
        let domain = target.strip_prefix("_acme-challenge.").unwrap_or(target);
        if config.follows_cname(domain) {
            return config.solver_for(domain).map(|(suffix, _)| suffix);
        }
    }
    config.solver_for(base).map(|(suffix, _)| suffix)
}

/// `records` grouped by the solver that writes each; solvers of CNAME targets' domains are
/// built as needed.
///
/// # Errors
/// A target's solver cannot be built from its configuration.
pub fn group_by_solver(
    ctx: &IssueContext,
    solvers: &Solvers,
    records: &[ChallengeRecord],
) -> Result<Grouped, IssueError> {
    let mut grouped: BTreeMap<&str, Vec<ChallengeRecord>> = BTreeMap::new();
    for record in records {
        if let Some(suffix) = writer(&ctx.config, record) {
            grouped.entry(suffix).or_default().push(record.clone());
        }
    }
    grouped
        .into_iter()
        .map(|(suffix, recs)| {
            let solver = if let Some(solver) = solvers.get(suffix) {
                Arc::clone(solver)
            } else {
                let cfg = ctx.config.domains.get(suffix).ok_or_else(|| {
                    IssueError::Config(format!("no solver is configured for {suffix}"))
                })?;
                build(ctx, suffix, cfg)?
            };
            Ok((suffix.to_owned(), solver, recs))
        })
        .collect()
}

/// The journal's records grouped by the solver that published them, rebuilt from the current
/// configuration (the recorded domain first, else whatever serves the name now). A record
/// no solver can be built for is logged and left out: certpilot cannot remove it.
#[must_use]
pub fn journal_groups(ctx: &IssueContext, records: &[JournalRecord]) -> Grouped {
    let mut by_suffix: BTreeMap<String, Vec<ChallengeRecord>> = BTreeMap::new();
    for r in records {
        let suffix = if ctx.config.domains.contains_key(&r.solver) {
            Some(r.solver.clone())
        } else {
            ctx.config
                .solver_for(names::base_domain(&r.identifier))
                .map(|(s, _)| s.to_owned())
        };
        if let Some(s) = suffix {
            by_suffix.entry(s).or_default().push(r.challenge());
        } else {
            tracing::warn!(fqdn = %r.fqdn, value = %r.value,
                "no solver is configured for a stale challenge record any more: remove it by hand");
        }
    }
    by_suffix
        .into_iter()
        .filter_map(|(suffix, recs)| {
            let cfg = ctx.config.domains.get(&suffix)?;
            match build(ctx, &suffix, cfg) {
                Ok(solver) => Some((suffix, solver, recs)),
                Err(e) => {
                    tracing::warn!(domain = %suffix, error = %e, "cannot build the solver to remove stale records");
                    None
                }
            }
        })
        .collect()
}

/// Hand every group to its solver, all at once.
///
/// # Errors
/// The first solver failure.
pub async fn publish(grouped: &Grouped) -> Result<(), IssueError> {
    let runs = grouped.iter().map(|(_, solver, recs)| solver.present(recs));
    for result in futures::future::join_all(runs).await {
        result?;
    }
    Ok(())
}

/// Remove every group's records. Best effort: a failed cleanup is logged (it must not hide
/// the issuance's own result); the answer says whether every solver succeeded.
pub async fn cleanup(grouped: &Grouped) -> bool {
    let runs = grouped.iter().map(|(_, solver, recs)| async move {
        match solver.cleanup(recs).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(solver = %solver.describe(), error = %e, "cleanup failed");
                false
            }
        }
    });
    futures::future::join_all(runs)
        .await
        .into_iter()
        .all(|ok| ok)
}
