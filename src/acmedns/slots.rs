//! An account's two TXT slots: send the values, then wait until they are served.
//!
//! "Served" means every address of every authoritative server of the acme-dns zone answers
//! with all values (the propagation checker, [`crate::dns::Prober`]). When the resolvers
//! refuse the questions zone discovery needs, the resolvers' own view is used instead.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::lookup::Lookup;
use super::{AcmeDnsClient, AcmeDnsError, Credentials};
use crate::dns::{Expectation, Prober};

/// Before sending a value again, wait this long after the last update, so a server with a
/// one-second clock orders the slots and the resend evicts the older one.
const RESEND_AFTER: Duration = Duration::from_millis(2100);
/// Longest pause between two polls.
const MAX_DELAY: Duration = Duration::from_secs(2);

/// What the DNS serves at an account's fulldomain now.
#[derive(Debug, Default)]
struct Served {
    /// Every source serves every value.
    complete: bool,
    /// Values some source does not serve.
    missing: Vec<String>,
    /// Values any source serves.
    seen: BTreeSet<String>,
    /// Why the last look failed, if it did.
    error: Option<String>,
}

/// Where the values are looked for.
pub(crate) enum TxtView {
    /// Every authoritative address, discovered from these resolvers.
    Authoritative(Prober, Vec<String>),
    /// The resolvers only.
    Resolvers(Box<Lookup>),
}

impl TxtView {
    /// The authoritative view from `resolvers` (the system's when empty).
    pub(crate) fn new(resolvers: &[String], port: u16) -> Result<Self, AcmeDnsError> {
        let prober = Prober::new(resolvers)
            .map_err(|e| AcmeDnsError::Dns(e.to_string()))?
            .on_port(port);
        Ok(Self::Authoritative(prober, resolvers.to_vec()))
    }

    async fn served(&mut self, fulldomain: &str, values: &[String]) -> Served {
        if let Self::Authoritative(prober, resolvers) = self {
            let expected = Expectation::new(fulldomain, values.to_vec(), None);
            let report = prober.check(&[expected]).await;
            if let Some(permanent) = report.permanent_error() {
                tracing::info!(
                    error = permanent,
                    "zone discovery refused; asking the resolvers"
                );
                match Lookup::new(resolvers) {
                    Ok(lookup) => *self = Self::Resolvers(Box::new(lookup)),
                    Err(e) => return failed(values, e.to_string()),
                }
            } else {
                let hops = report.names.iter().flat_map(|n| &n.hops);
                let results: Vec<_> = hops.flat_map(|h| &h.results).collect();
                let error = report.names.iter().find_map(|n| n.error.clone());
                return Served {
                    complete: report.propagated,
                    missing: values
                        .iter()
                        .filter(|v| {
                            results.is_empty() || results.iter().any(|r| !r.values.contains(v))
                        })
                        .cloned()
                        .collect(),
                    seen: results
                        .iter()
                        .flat_map(|r| r.values.iter().cloned())
                        .collect(),
                    error: error.or_else(|| (!report.propagated).then(|| report.verdict())),
                };
            }
        }
        let Self::Resolvers(lookup) = self else {
            return failed(values, "no DNS view".into());
        };
        match lookup.txt(fulldomain).await {
            Ok(seen) => Served {
                complete: values.iter().all(|v| seen.contains(v)),
                missing: values
                    .iter()
                    .filter(|v| !seen.contains(*v))
                    .cloned()
                    .collect(),
                seen,
                error: None,
            },
            Err(e) => failed(values, e),
        }
    }
}

fn failed(values: &[String], error: String) -> Served {
    Served {
        missing: values.to_vec(),
        error: Some(error),
        ..Served::default()
    }
}

/// Send `values` (at most two) to the account and wait until they are served. A value still
/// missing while the server serves others (evicted by an update in the same second) is sent
/// again, one per round, each in a later second than the last.
pub(crate) async fn publish(
    client: &AcmeDnsClient,
    creds: &Credentials,
    view: &mut TxtView,
    fulldomain: &str,
    values: &[String],
    timeout: Duration,
) -> Result<(), AcmeDnsError> {
    for value in values {
        client.update(creds, value).await?;
    }
    tracing::debug!(fulldomain, values = values.len(), "acme-dns updated");
    let started = Instant::now();
    let deadline = started + timeout;
    let mut last_update = started;
    let mut delay = Duration::from_millis(100);
    loop {
        let served = view.served(fulldomain, values).await;
        if served.complete {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(AcmeDnsError::NotServed {
                fulldomain: fulldomain.to_owned(),
                expected: values.to_vec(),
                seen: served.seen.into_iter().collect(),
                waited: started.elapsed(),
                last_error: served.error,
            });
        }
        let evicted = served.missing.first().filter(|_| !served.seen.is_empty());
        if let Some(value) = evicted.filter(|_| last_update.elapsed() >= RESEND_AFTER) {
            tracing::debug!(fulldomain, "a value is missing; sending it again");
            client.update(creds, value).await?;
            last_update = Instant::now();
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = (delay * 3 / 2).min(MAX_DELAY);
    }
}
