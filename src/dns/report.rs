//! The propagation report: per name, per hop of its CNAME path, per address of every
//! authoritative server. Serializable as is (`certpilot check --json`), and what the
//! issuance engine's progress and the TUI's matrix show.
//!
//! "Propagated" means: for every expected name, every address of every authoritative server
//! of every zone on its CNAME path serves what is expected (the CNAME on the way, all TXT
//! values at the end).

use serde::Serialize;

use super::expect::Expectation;
use super::hints::Hint;
use super::probe::{HopRule, ProbeResult, Status};
use super::zone::Zone;

/// Lagging addresses named in the one-line verdict before "and N more".
const VERDICT_SHOWN: usize = 6;

/// One step of a name's path: the name, its zone's servers and what each address serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HopReport {
    /// The name asked for at this hop (the owner, then each CNAME target).
    pub name: String,
    /// Its zone and servers.
    pub zone: Zone,
    /// What every address must serve.
    pub rule: HopRule,
    /// The CNAME target this hop leads to (checked as the next hop).
    pub leads_to: Option<String>,
    /// One result per address of every server, in server order.
    pub results: Vec<ProbeResult>,
}

impl HopReport {
    /// Whether every address serves what the hop requires (and there is at least one).
    #[must_use]
    pub fn complete(&self) -> bool {
        !self.results.is_empty() && self.results.iter().all(|r| r.status == Status::Match)
    }
}

/// Everything about one expected name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameReport {
    /// What was expected.
    pub expected: Expectation,
    /// The path, hop by hop.
    pub hops: Vec<HopReport>,
    /// Why the path could not be followed to its end (discovery failed, CNAME loop).
    pub error: Option<String>,
    /// Whether `error` will not go away by waiting (the resolvers reject the questions).
    pub permanent: bool,
    /// Likely mistakes.
    pub hints: Vec<Hint>,
}

impl NameReport {
    /// An empty report for `expected`.
    #[must_use]
    pub fn new(expected: &Expectation) -> Self {
        Self {
            expected: expected.clone(),
            hops: Vec::new(),
            error: None,
            permanent: false,
            hints: Vec::new(),
        }
    }

    /// Whether every hop is complete and the path ends in TXT values.
    #[must_use]
    pub fn propagated(&self) -> bool {
        self.error.is_none()
            && self.hops.iter().all(HopReport::complete)
            && self.hops.last().is_some_and(|h| h.leads_to.is_none())
    }

    /// The results holding the name back, with their hop's name.
    pub fn lagging(&self) -> impl Iterator<Item = (&str, &ProbeResult)> {
        self.hops.iter().flat_map(|h| {
            h.results
                .iter()
                .filter(|r| r.status != Status::Match)
                .map(move |r| (h.name.as_str(), r))
        })
    }
}

/// One check round over several names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PropagationReport {
    /// Whether every name is propagated.
    pub propagated: bool,
    /// One report per expected name, in the order asked.
    pub names: Vec<NameReport>,
    /// Hints over all names (serial disagreements, silent address families).
    pub hints: Vec<Hint>,
    /// DNS questions sent in this round (discovery included).
    pub queries: u64,
    /// Wall time of the round, in milliseconds.
    pub elapsed_ms: u64,
}

impl PropagationReport {
    /// Assemble a report; `propagated` is derived from the names.
    #[must_use]
    pub fn new(names: Vec<NameReport>, hints: Vec<Hint>, queries: u64, elapsed_ms: u64) -> Self {
        Self {
            propagated: !names.is_empty() && names.iter().all(NameReport::propagated),
            names,
            hints,
            queries,
            elapsed_ms,
        }
    }

    /// The first error that waiting cannot fix, if any.
    #[must_use]
    pub fn permanent_error(&self) -> Option<&str> {
        self.names
            .iter()
            .filter(|n| n.permanent)
            .find_map(|n| n.error.as_deref())
    }

    /// Addresses answering, and how many of them serve what is expected.
    #[must_use]
    pub fn counts(&self) -> (usize, usize) {
        let results = self
            .names
            .iter()
            .flat_map(|n| &n.hops)
            .flat_map(|h| &h.results);
        results.fold((0, 0), |(ok, all), r| {
            (ok + usize::from(r.status == Status::Match), all + 1)
        })
    }

    /// One line: propagated or not, and what holds it back.
    #[must_use]
    pub fn verdict(&self) -> String {
        let (ok, all) = self.counts();
        if self.propagated {
            return format!(
                "propagated: all {all} address(es) of every authoritative server serve the expected records"
            );
        }
        let mut reasons: Vec<String> = Vec::new();
        let mut shown = 0;
        let mut hidden = 0;
        for name in self.names.iter().filter(|n| !n.propagated()) {
            let owner = name.expected.owner.as_str();
            let mut waiting = Vec::new();
            for (at, r) in name.lagging() {
                if shown == VERDICT_SHOWN {
                    hidden += 1;
                    continue;
                }
                shown += 1;
                let hop = if at == owner {
                    String::new()
                } else {
                    format!(" at {at}")
                };
                waiting.push(format!("{} {} {}{hop}", r.server, r.address, r.status));
            }
            if !waiting.is_empty() {
                reasons.push(format!("{owner} waits on {}", waiting.join(", ")));
            }
            reasons.extend(name.error.clone());
        }
        if hidden > 0 {
            reasons.push(format!("{hidden} more address(es) not ready"));
        }
        if reasons.is_empty() {
            reasons.push("no authoritative address to ask".into());
        }
        format!(
            "NOT propagated ({ok}/{all} address(es) ready): {}",
            reasons.join("; ")
        )
    }

    /// Every hint, the names' first.
    pub fn all_hints(&self) -> impl Iterator<Item = &Hint> {
        self.names.iter().flat_map(|n| &n.hints).chain(&self.hints)
    }
}

/// What a check round reports while it runs, so a live view can fill its matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeEvent {
    /// A hop's zone and servers are known: one pending cell per address.
    ZoneDiscovered {
        /// The expected name (owner) this is about.
        owner: String,
        /// Hop index on the owner's CNAME path (0: the owner itself).
        hop: usize,
        /// The name asked for at this hop.
        name: String,
        /// Its zone and servers.
        zone: Zone,
        /// What every address must serve.
        rule: HopRule,
    },
    /// One address answered (or failed). The status is provisional for open rules.
    NameserverAnswered {
        /// The owner.
        owner: String,
        /// Hop index.
        hop: usize,
        /// The result.
        result: ProbeResult,
    },
    /// A hop's zone could not be discovered.
    DiscoveryFailed {
        /// The owner.
        owner: String,
        /// Hop index.
        hop: usize,
        /// The error.
        error: String,
    },
    /// A name is done: its final report (statuses settled, hints added).
    NameChecked(Box<NameReport>),
}
