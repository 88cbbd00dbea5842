//! Loud cleanup failures: a challenge record a solver could not remove is named on the
//! terminal after the issuance, shown by `list`, and removed by the next `renew`.

use super::Env;
use crate::acme::{leftovers, IssueContext};
use crate::cert::store::CertStore;
use crate::lock::CertLock;
use crate::solver::ChallengeRecord;

fn lines(records: &[ChallengeRecord]) -> String {
    records
        .iter()
        .map(|r| format!("    {}", r.zone_line()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// After an issuance of `name`: a warning on stderr (and in the log) naming every record
/// its solver could not remove. Returns whether there were any.
pub(super) fn warn(env: &Env, name: &str) -> bool {
    let records = leftovers::left_behind(&env.paths.state, &store(env), name);
    if records.is_empty() {
        return false;
    }
    tracing::warn!(
        cert = name,
        records = records.len(),
        "challenge records left in DNS"
    );
    eprintln!(
        "warning: {name}: removing {} challenge record(s) failed or took longer than \
         hook_timeout ({} s); still in DNS:\n{}\n  the solver's error is in {}; the next \
         `certpilot renew` tries again (or delete them by hand)",
        records.len(),
        env.config.settings.hook_timeout,
        lines(&records),
        env.paths.log_file().display()
    );
    true
}

/// Certificates among `names` with records a later run may remove now.
pub(super) fn retryable(env: &Env, names: impl Iterator<Item = String>) -> Vec<String> {
    let store = store(env);
    names
        .filter(|name| !leftovers::left_behind(&env.paths.state, &store, name).is_empty())
        .collect()
}

fn store(env: &Env) -> CertStore {
    CertStore::new(&env.paths.certificates)
}

/// Remove the leftover records of `names` (each under its certificate's lock); one line per
/// certificate.
pub(super) async fn retry(env: &Env, ctx: &IssueContext, names: &[String]) {
    for name in names {
        let Ok(_lock) = CertLock::try_acquire(&env.paths.state, name) else {
            outln!("{name}: leftover record cleanup skipped (another run holds the certificate)");
            continue;
        };
        let left = leftovers::retry_cleanup(ctx, name).await;
        if left.is_empty() {
            outln!("{name}: leftover challenge record(s) removed");
        } else {
            warn(env, name);
        }
    }
}

/// `list`'s notes: one per certificate with records left in DNS.
pub(super) fn notes(env: &Env) -> Vec<String> {
    let store = store(env);
    env.config
        .certificates
        .keys()
        .filter_map(|name| {
            let records = leftovers::left_behind(&env.paths.state, &store, name);
            (!records.is_empty()).then(|| {
                format!(
                    "{name}: {} challenge record(s) left in DNS by a failed cleanup (the next \
                     `certpilot renew` removes them):\n{}",
                    records.len(),
                    lines(&records)
                )
            })
        })
        .collect()
}
