//! The manual solver without a terminal: a rerun carries on with the kept order once the
//! operator's records are visible, judged by one look in the run's `--propagation` mode.

use std::sync::Arc;
use std::time::Duration;

use super::run::IssueContext;
use crate::dns::expect;
use crate::solver::manual::Probe;
use crate::solver::ChallengeRecord;

/// A [`Probe`] that checks the records once (no waiting) the way `ctx` would wait for them.
#[must_use]
pub fn visible_now(ctx: &IssueContext) -> Probe {
    let (waiter, config) = (ctx.checker.clone(), Arc::clone(&ctx.config));
    Arc::new(move |records: Vec<ChallengeRecord>| {
        let (waiter, config) = (waiter.clone(), Arc::clone(&config));
        Box::pin(async move {
            let expectations = expect::for_records(
                &config,
                records
                    .iter()
                    .map(|r| (r.identifier.as_str(), r.value.as_str())),
            );
            let seen = waiter.wait(&expectations, Duration::ZERO, &|_| {}).await;
            tracing::info!(
                visible = seen.is_ok(),
                "manual records checked without a terminal"
            );
            seen.is_ok()
        })
    })
}
