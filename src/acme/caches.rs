//! The cache horizon in an issuance: before a challenge is answered, wait until no resolver
//! can still hold the answer certpilot's previous validation at the same name was served;
//! after answering, write down what this validation's answer was served with.
//!
//! See [`crate::dns::horizon`] for the rule and the ledger.

use std::time::Duration;

use futures::StreamExt;
use time::OffsetDateTime;

use super::run::{IssueContext, Step};
use crate::dns::expect::plain;
use crate::dns::horizon::{Ledger, LARGE_TTL};
use crate::dns::PropagationReport;
use crate::domain::names;
use crate::fsutil::blocking_io;
use crate::solver::ChallengeRecord;

/// Countdown steps are sent this often while waiting (screens tick on their own).
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Ledger files written at once (each on the blocking pool).
const LEDGER_WRITERS: usize = 8;

/// The names the CA will ask (`_acme-challenge.<name>`), each once.
#[must_use]
pub fn owners(records: &[ChallengeRecord]) -> Vec<String> {
    let mut owners: Vec<String> = records
        .iter()
        .map(|r| plain(&names::challenge_owner(&r.identifier)))
        .collect();
    owners.sort_unstable();
    owners.dedup();
    owners
}

/// Wait until the previous answers at `owners` may have left every cache (capped by
/// `settings.max_cache_wait`), reporting the wait as a step.
pub async fn wait_out_caches(
    ctx: &IssueContext,
    owners: &[String],
    step: &(dyn Fn(Step) + Send + Sync),
) {
    let ledger = Ledger::new(&ctx.state_dir);
    let cap = Duration::from_secs(ctx.config.settings.max_cache_wait);
    let (list, ledger) = (owners.to_vec(), ledger.clone());
    let waits = blocking_io(move || ledger.horizon(&list, OffsetDateTime::now_utc(), cap)).await;
    let Some(until) = waits.iter().map(|w| w.until).max() else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    for wait in &waits {
        tracing::info!(owner = %wait.owner, ttl = wait.ttl, capped = wait.capped,
            "waiting for resolver caches: {}", wait.reason(now));
    }
    loop {
        step(Step::CacheWait {
            waits: waits.clone(),
        });
        let left = Duration::try_from(until - OffsetDateTime::now_utc()).unwrap_or_default();
        if left.is_zero() {
            return;
        }
        // A known moment, not a guess: the TTL runs out then.
        tokio::time::sleep(left.min(REPORT_EVERY)).await;
    }
}

/// What the CA is served at each name in this validation: the records' TTL, and the
/// negative TTL of their zone.
#[derive(Debug, Clone, Default)]
pub struct Served {
    ttls: Vec<(String, u32, u32)>,
}

impl Served {
    /// Read from the last propagation round (authoritative mode): per owner, the largest TTL
    /// at the end of its CNAME path and the zone's negative TTL. Large TTLs are warned of.
    #[must_use]
    pub fn from_report(
        report: Option<&PropagationReport>,
        owners: &[String],
        step: &(dyn Fn(Step) + Send + Sync),
    ) -> Self {
        let Some(report) = report else {
            return Self::default();
        };
        let mut ttls = Vec::new();
        for name in report
            .names
            .iter()
            .filter(|n| owners.contains(&n.expected.owner))
        {
            let Some(last) = name.hops.last() else {
                continue;
            };
            let ttl = last.results.iter().filter_map(|r| r.ttl).max();
            let negative = last.results.iter().filter_map(|r| r.negative_ttl).max();
            let Some(ttl) = ttl.or(negative) else {
                continue;
            };
            if ttl > LARGE_TTL {
                step(Step::Warning(format!(
                    "{} is served with TTL {ttl} s: after a failed validation the next try waits that long for resolver caches; a TTL of 60 s or less is usual for challenge records",
                    last.name
                )));
            }
            ttls.push((name.expected.owner.clone(), ttl, negative.unwrap_or(0)));
        }
        Self { ttls }
    }

    /// After the CA's verdict: a failed validation may have cached "no such record", which
    /// lives for the negative TTL.
    #[must_use]
    pub fn settle(mut self, valid: bool) -> Self {
        if !valid {
            for (_, ttl, negative) in &mut self.ttls {
                *ttl = (*ttl).max(*negative);
            }
        }
        self
    }

    /// Write the ledger: the CA fetches (or fetched, `settled`) these names now.
    ///
    /// One file per name, each written atomically with its fsyncs: one after another, 100
    /// names cost 0.5–0.7 s on a busy disk, on the way to answering the challenges. A few
    /// at a time share the file system's journal commits (about 0.1 s for 100).
    pub async fn record(&self, ctx: &IssueContext, settled: bool) {
        let ledger = Ledger::new(&ctx.state_dir);
        // Owned futures, collected (no borrowing closures): the issuance must stay `Send`.
        let writes: Vec<_> = self
            .ttls
            .iter()
            .map(|(owner, ttl, _)| {
                let (ledger, owner, ttl) = (ledger.clone(), owner.clone(), *ttl);
                blocking_io(move || {
                    if let Err(e) = ledger.record(&owner, ttl, settled) {
                        // Costs a later run's wait, never this issuance.
                        tracing::warn!(error = %e, "cache horizon not recorded");
                    }
                })
            })
            .collect();
        futures::stream::iter(writes)
            .buffer_unordered(LEDGER_WRITERS)
            .collect::<Vec<()>>()
            .await;
    }
}
