//! Propagation checks for the UI: one round of the checker, every answer streamed as an
//! event while the round runs, the report at the end.

use tokio::sync::mpsc;

use super::{Context, Event};
use crate::dns::expect::{self, plain};
use crate::dns::{Expectation, Prober, PropagationReport};
use crate::domain::names;

/// Answers that may wait for the UI before the checker waits in turn.
const QUEUE: usize = 256;

/// What to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The challenge names of these DNS names: whatever any server serves, all must serve
    /// (through the configured acme-dns CNAME, when there is one).
    Names(Vec<String>),
    /// Published challenge records: (identifier, TXT value).
    Records(Vec<(String, String)>),
    /// The acme-dns delegation of a domain: `_acme-challenge.<domain>` CNAME `target`.
    Delegation {
        /// The domain.
        domain: String,
        /// The CNAME target (the registration's fulldomain).
        target: String,
    },
}

impl Target {
    /// The owner names checked, in order (the matrix's columns).
    #[must_use]
    pub fn owners(&self) -> Vec<String> {
        let mut owners: Vec<String> = Vec::new();
        let all: Vec<String> = match self {
            Target::Names(list) => list.iter().map(|n| names::challenge_owner(n)).collect(),
            Target::Records(records) => records
                .iter()
                .map(|(identifier, _)| names::challenge_owner(identifier))
                .collect(),
            Target::Delegation { domain, .. } => vec![names::challenge_owner(domain)],
        };
        for owner in all.iter().map(|o| plain(o)) {
            if !owners.contains(&owner) {
                owners.push(owner);
            }
        }
        owners
    }

    fn expectations(&self, config: &crate::config::Config) -> Vec<Expectation> {
        match self {
            Target::Names(list) => expect::for_names(config, list, &[]),
            Target::Records(records) => expect::for_records(
                config,
                records.iter().map(|(i, v)| (i.as_str(), v.as_str())),
            ),
            Target::Delegation { domain, target } => vec![Expectation::new(
                &names::challenge_owner(domain),
                Vec::new(),
                Some(target),
            )],
        }
    }
}

/// Check `target` once, sending [`Event::Probe`] for every discovery and answer.
///
/// # Errors
/// The config cannot be read, or no resolver is usable.
pub async fn check(
    ctx: &Context,
    target: &Target,
    reply: impl Fn(Event),
) -> Result<PropagationReport, crate::ops::Error> {
    let config = ctx.config()?;
    let expectations = target.expectations(&config);
    let prober =
        Prober::new(&config.settings.resolvers)?.on_port(config.settings.authoritative_port);
    let (tx, mut rx) = mpsc::channel(QUEUE);
    let round = async move {
        let report = prober.check_streaming(&expectations, &tx).await;
        // Dropping the sender ends the forwarding below.
        drop(tx);
        report
    };
    let forward = async {
        while let Some(event) = rx.recv().await {
            reply(Event::Probe(event));
        }
    };
    let (report, ()) = tokio::join!(round, forward);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_unique_challenge_names() {
        let names = Target::Names(vec![
            "example.com".into(),
            "*.example.com".into(),
            "www.example.com".into(),
        ]);
        assert_eq!(
            names.owners(),
            [
                "_acme-challenge.example.com",
                "_acme-challenge.www.example.com"
            ]
        );
        let records = Target::Records(vec![
            ("*.example.com".into(), "a".into()),
            ("example.com".into(), "b".into()),
        ]);
        assert_eq!(records.owners(), ["_acme-challenge.example.com"]);
        let delegation = Target::Delegation {
            domain: "example.com".into(),
            target: "x.auth.example.net".into(),
        };
        assert_eq!(delegation.owners(), ["_acme-challenge.example.com"]);
    }
}
