//! A live propagation matrix and the watch that refreshes it: rows are the authoritative
//! server addresses of every hop (CNAME targets included), columns the challenge names.
//! Cells start `pending` when a zone's servers are known and fill in as answers arrive.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::dns::probe::ProbeResult;
use crate::dns::{ProbeEvent, PropagationReport};
use crate::jobs::propagation::Target;
use crate::jobs::{Job, JobId};
use crate::tui::state::State;
use crate::tui::update::Effect;

/// One row: an address of a server of a hop's zone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowKey {
    /// 0: the challenge name itself; 1…: CNAME targets.
    pub hop: usize,
    /// The zone apex.
    pub zone: String,
    /// The server's host name.
    pub server: String,
    /// The address (`None`: the server has no address).
    pub address: Option<IpAddr>,
}

/// One cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Asked, no answer yet.
    Pending,
    /// Answered (or failed).
    Answered(Box<ProbeResult>),
    /// The server has no usable address.
    NoAddress(String),
}

/// The matrix of one round (kept while the next round fills in).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Matrix {
    /// Columns: owner names.
    pub owners: Vec<String>,
    /// Cells by (row, column index).
    pub cells: BTreeMap<(RowKey, usize), Cell>,
    /// The zone of each (column, hop), to place answers.
    zones: BTreeMap<(usize, usize), String>,
    /// Names that could not be checked, with why.
    pub failures: Vec<String>,
    /// The last finished round's report.
    pub report: Option<Box<PropagationReport>>,
    /// Why the last round could not run.
    pub error: Option<String>,
    /// Rounds finished.
    pub rounds: u32,
    /// Only the first hop counts (an acme-dns delegation: the CNAME itself).
    pub delegation: bool,
    /// Servers listed by only one side of a delegation (`parent only`, `child only`).
    pub labels: BTreeMap<String, &'static str>,
}

impl Matrix {
    /// An empty matrix with these columns.
    #[must_use]
    pub fn new(owners: Vec<String>) -> Self {
        Self {
            owners,
            ..Self::default()
        }
    }

    /// Every row, sorted by hop, zone, server, address.
    #[must_use]
    pub fn rows(&self) -> Vec<&RowKey> {
        let mut rows: Vec<&RowKey> = self.cells.keys().map(|(row, _)| row).collect();
        rows.dedup();
        rows
    }

    /// A new round starts: every known cell is pending again.
    pub fn restart(&mut self) {
        for cell in self.cells.values_mut() {
            *cell = Cell::Pending;
        }
        self.failures.clear();
        self.error = None;
    }

    fn column(&mut self, owner: &str) -> usize {
        let owner = owner.trim_end_matches('.').to_ascii_lowercase();
        if let Some(i) = self.owners.iter().position(|o| *o == owner) {
            return i;
        }
        self.owners.push(owner);
        self.owners.len() - 1
    }

    /// Take one event of the running round.
    pub fn apply(&mut self, event: ProbeEvent) {
        match event {
            ProbeEvent::ZoneDiscovered {
                owner, hop, zone, ..
            } => {
                let col = self.column(&owner);
                self.zones.insert((col, hop), zone.apex.clone());
                for server in &zone.servers {
                    if let Some(label) = server.listing.label() {
                        self.labels.insert(server.host.clone(), label);
                    }
                    if server.addresses.is_empty() {
                        let key = row_key(hop, &zone.apex, &server.host, None);
                        let problem = server
                            .problem
                            .clone()
                            .unwrap_or_else(|| "no address".into());
                        self.cells.insert((key, col), Cell::NoAddress(problem));
                    }
                    for address in &server.addresses {
                        let key = row_key(hop, &zone.apex, &server.host, Some(address.ip));
                        self.cells.insert((key, col), Cell::Pending);
                    }
                }
            }
            ProbeEvent::NameserverAnswered { owner, hop, result } => {
                let col = self.column(&owner);
                self.place(col, hop, result);
            }
            ProbeEvent::DiscoveryFailed { owner, hop, error } => {
                let what = if hop == 0 {
                    owner
                } else {
                    format!("{owner} (hop {hop})")
                };
                self.failures.push(format!("{what}: {error}"));
            }
            ProbeEvent::NameChecked(report) => {
                let col = self.column(&report.expected.owner);
                for (hop, checked) in report.hops.iter().enumerate() {
                    self.zones.insert((col, hop), checked.zone.apex.clone());
                    for result in &checked.results {
                        self.place(col, hop, result.clone());
                    }
                }
            }
        }
    }

    fn place(&mut self, col: usize, hop: usize, result: ProbeResult) {
        let zone = self.zones.get(&(col, hop)).cloned().unwrap_or_default();
        let key = row_key(hop, &zone, &result.server, Some(result.address));
        self.cells
            .insert((key, col), Cell::Answered(Box::new(result)));
    }

    /// The round ended: its report settles every cell.
    pub fn finish(&mut self, result: Result<Box<PropagationReport>, String>) {
        self.rounds += 1;
        if let Ok(report) = &result {
            for name in &report.names {
                self.apply(ProbeEvent::NameChecked(Box::new(name.clone())));
            }
        }
        // Whatever is still pending never answered in this round.
        self.cells.retain(|_, cell| *cell != Cell::Pending);
        match result {
            Ok(report) => {
                self.report = Some(report);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Whether the last round found everything in place (for a delegation: the CNAME on
    /// every authoritative address of the first hop).
    #[must_use]
    pub fn propagated(&self) -> bool {
        if self.delegation {
            let (ready, all) = self.first_hop();
            return self.report.is_some() && all > 0 && ready == all;
        }
        self.report.as_ref().is_some_and(|r| r.propagated)
    }

    /// First-hop cells that match, and all first-hop cells.
    #[must_use]
    pub fn first_hop(&self) -> (usize, usize) {
        let cells = self.cells.iter().filter(|((row, _), _)| row.hop == 0);
        cells.fold((0, 0), |(ready, all), (_, cell)| {
            let ok =
                matches!(cell, Cell::Answered(r) if r.status == crate::dns::probe::Status::Match);
            (ready + usize::from(ok), all + 1)
        })
    }
}

fn row_key(hop: usize, zone: &str, server: &str, address: Option<IpAddr>) -> RowKey {
    RowKey {
        hop,
        zone: zone.to_owned(),
        server: server.to_owned(),
        address,
    }
}

/// A matrix kept fresh by rounds every `every`, until everything propagated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// Identifies the watch's jobs (one round per key runs at a time).
    pub key: String,
    /// What is checked.
    pub target: Target,
    /// The round running, if any.
    pub job: Option<JobId>,
    /// What is known.
    pub matrix: Matrix,
    /// When the next round starts (UI clock), if one is scheduled.
    pub next: Option<Duration>,
    /// Time between rounds.
    pub every: Duration,
    /// Selected row and column.
    pub cursor: (usize, usize),
    /// The rounds come from the running issuance, not from the watch.
    pub fed: bool,
}

impl Watch {
    /// A watch that has not run yet.
    #[must_use]
    pub fn new(key: &str, target: Target, every: Duration) -> Self {
        let mut matrix = Matrix::new(target.owners());
        matrix.delegation = matches!(target, Target::Delegation { .. });
        Self {
            key: key.to_owned(),
            target,
            job: None,
            matrix,
            next: None,
            every,
            cursor: (0, 0),
            fed: false,
        }
    }

    /// Start a round now (for a watch that is not inside `state`).
    pub fn start(&mut self, state: &mut State) -> Effect {
        let (id, effect) = state.start(self.round());
        self.started(id);
        effect
    }

    /// The job of a round.
    #[must_use]
    pub fn round(&self) -> Job {
        Job::CheckPropagation {
            key: self.key.clone(),
            target: self.target.clone(),
        }
    }

    /// A round was started as `id`.
    pub fn started(&mut self, id: JobId) {
        self.job = Some(id);
        self.next = None;
        self.matrix.restart();
    }

    /// A round ended: schedule the next unless everything is in place.
    pub fn finished(&mut self, result: Result<Box<PropagationReport>, String>, clock: Duration) {
        self.job = None;
        self.matrix.finish(result);
        self.next = (!self.matrix.propagated()).then_some(clock + self.every);
    }

    /// Stop refreshing (the running round, if any, still fills in).
    pub fn stop(&mut self) {
        self.next = None;
    }

    /// Whether a round should start now.
    #[must_use]
    pub fn due(&self, clock: Duration) -> bool {
        self.job.is_none() && self.next.is_some_and(|at| at <= clock)
    }

    /// Seconds until the next round, for the countdown.
    #[must_use]
    pub fn countdown(&self, clock: Duration) -> Option<u64> {
        self.next.map(|at| {
            let left = at.saturating_sub(clock);
            left.as_secs() + u64::from(left.subsec_nanos() > 0)
        })
    }

    /// Move the selected cell.
    pub fn move_cursor(&mut self, rows: isize, cols: isize) {
        let (row_count, col_count) = (self.matrix.rows().len(), self.matrix.owners.len());
        self.cursor.0 = self
            .cursor
            .0
            .saturating_add_signed(rows)
            .min(row_count.saturating_sub(1));
        self.cursor.1 = self
            .cursor
            .1
            .saturating_add_signed(cols)
            .min(col_count.saturating_sub(1));
    }
}
