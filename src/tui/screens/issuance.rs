//! Issuance progress: the engine's steps with elapsed times, the records, the outcome.

use std::time::Duration;

use crate::acme::Step;
use crate::domain::renewal::CertStatus;
use crate::inventory::CertRow;
use crate::jobs::issue::{IssueFailure, Issued};
use crate::jobs::propagation::Target;
use crate::jobs::{Job, JobId};
use crate::solver::ChallengeRecord;
use crate::tui::action::Action;
use crate::tui::screens::{dashboard, detail, jobs};
use crate::tui::state::{Confirmed, Popup, Screen, State};
use crate::tui::update::{Effect, Nav};
use crate::tui::watch::Watch;

/// Time between rounds of the live matrix while the engine waits for the records.
pub const WATCH_EVERY: Duration = Duration::from_secs(3);

/// The engine's steps in order, as the checklist names them.
pub const STEPS: [&str; 8] = [
    "Account ready",
    "Order created",
    "TXT records published",
    "Records visible to the resolvers",
    "Challenges answered",
    "Validated by the CA",
    "Certificate issued",
    "Stored (key in the keyring)",
];

/// The checklist index of a step; `None` for reports that are not steps (propagation
/// rounds).
#[must_use]
pub fn step_index(step: &Step) -> Option<usize> {
    Some(match step {
        Step::AccountReady => 0,
        Step::OrderCreated { .. } => 1,
        Step::RecordsPublished { .. } => 2,
        Step::Propagation(_) | Step::CacheWait { .. } | Step::Warning(_) => return None,
        Step::RecordsVisible => 3,
        Step::ChallengesAnswered => 4,
        Step::Validated => 5,
        Step::Finalized => 6,
        Step::Stored { .. } => 7,
    })
}

/// How an issuance ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Stored.
    Issued(Issued),
    /// Failed or cancelled.
    Failed(IssueFailure),
}

/// One issuance of this session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    /// Certificate name.
    pub cert: String,
    /// Its names.
    pub names: Vec<String>,
    /// The job (`JobId(0)` while queued: no answer carries it).
    pub job: JobId,
    /// Waiting for a free slot (`settings.parallel` issuances run at once).
    pub queued: bool,
    /// UI clock when it was asked for, then when it started.
    pub started: Duration,
    /// UI clock when the current step started (the live step timer counts from here).
    pub step_started: Duration,
    /// UI clock when it ended.
    pub ended: Option<Duration>,
    /// Steps reached with the engine's elapsed time at each.
    pub steps: Vec<(Step, Duration)>,
    /// Records published (from the step).
    pub records: Vec<ChallengeRecord>,
    /// How it ended, once it has.
    pub end: Option<End>,
    /// A cancel was asked for.
    pub cancelling: bool,
    /// The live propagation matrix of the published records.
    pub watch: Option<Watch>,
    /// Names whose previous answer resolvers may still cache (the countdown before the CA
    /// is asked); emptied once the challenges are answered.
    pub cache_waits: Vec<crate::dns::horizon::CacheWait>,
    /// Warnings the engine sent (large TTLs).
    pub warnings: Vec<String>,
}

impl Issuance {
    /// Whether it still runs.
    #[must_use]
    pub fn running(&self) -> bool {
        self.end.is_none()
    }

    /// Time spent on each reached step (from the previous one), by checklist index.
    #[must_use]
    pub fn durations(&self) -> Vec<(usize, Duration)> {
        let mut previous = Duration::ZERO;
        self.steps
            .iter()
            .filter_map(|(step, at)| {
                let index = step_index(step)?;
                let spent = at.saturating_sub(previous);
                previous = *at;
                Some((index, spent))
            })
            .collect()
    }
}

/// Ask first when the certificate is not due, else start at once.
pub fn ask_or_start(state: &mut State, row: &CertRow) -> Vec<Effect> {
    if state
        .issuances
        .get(&row.name)
        .is_some_and(Issuance::running)
    {
        state.stack.push(Screen::Issuance {
            cert: row.name.clone(),
        });
        return Vec::new();
    }
    if row.status == CertStatus::Valid {
        let days = row.days_left.unwrap_or_default();
        state.popup = Some(Popup::Confirm {
            question: format!("Renew {} now?", row.name),
            detail: format!("It is valid for {days} more days and not due for renewal."),
            yes: Confirmed::Issue {
                cert: row.name.clone(),
            },
            alternative: None,
        });
        return Vec::new();
    }
    start(state, &row.name)
}

/// Start issuing `cert` (queued while `settings.parallel` issuances run) and show its
/// progress.
pub fn start(state: &mut State, cert: &str) -> Vec<Effect> {
    let effects = jobs::enqueue(state, cert);
    if !matches!(state.screen(), Some(Screen::Issuance { cert: c }) if c == cert) {
        state.stack.push(Screen::Issuance {
            cert: cert.to_owned(),
        });
    }
    effects
}

/// A new, queued issuance of `cert`.
#[must_use]
pub fn queued(state: &State, cert: &str) -> Issuance {
    let names = state
        .dashboard
        .rows
        .iter()
        .find(|r| r.name == cert)
        .map(|r| r.names.clone())
        .unwrap_or_default();
    Issuance {
        cert: cert.to_owned(),
        names,
        job: JobId(0),
        queued: true,
        started: state.clock,
        step_started: state.clock,
        ended: None,
        steps: Vec::new(),
        records: Vec::new(),
        end: None,
        cancelling: false,
        watch: None,
        cache_waits: Vec::new(),
        warnings: Vec::new(),
    }
}

/// Start the job of the queued issuance of `cert`.
pub fn begin(state: &mut State, cert: &str) -> Vec<Effect> {
    let (job, effect) = state.start(Job::Issue {
        cert: cert.to_owned(),
    });
    let clock = state.clock;
    let Some(issuance) = state.issuances.get_mut(cert) else {
        return Vec::new();
    };
    issuance.job = job;
    issuance.queued = false;
    issuance.started = clock;
    issuance.step_started = clock;
    tracing::info!(cert, job = job.0, "issuance started");
    vec![effect]
}

/// An action on the progress screen of `cert`.
pub fn on_action(cert: &str, state: &mut State, action: Action) -> (Nav, Vec<Effect>) {
    let Some(issuance) = state.issuances.get_mut(cert) else {
        return (Nav::Close, Vec::new());
    };
    match action {
        // Leaving never cancels: the issuance goes on in the background.
        Action::Back => {
            if issuance.running() {
                let jobs = state.keymap.label(Action::Jobs);
                tracing::info!(cert, "issuance left running in the background");
                state.notify(format!("{cert}: goes on in the background ({jobs}: jobs)"));
            }
            (Nav::Close, Vec::new())
        }
        Action::Copy if !issuance.records.is_empty() => {
            let lines: Vec<String> = issuance
                .records
                .iter()
                .map(ChallengeRecord::zone_line)
                .collect();
            state.notify("records copied");
            (Nav::Stay, vec![Effect::Copy(lines.join("\n"))])
        }
        Action::CancelJob if issuance.running() && !issuance.cancelling => {
            jobs::ask_cancel(state, cert);
            (Nav::Stay, Vec::new())
        }
        Action::Reissue if !issuance.running() => {
            ask_reissue(state, cert);
            (Nav::Stay, Vec::new())
        }
        _ => (Nav::Stay, Vec::new()),
    }
}

/// A finished issuance is ordered again only after a yes.
fn ask_reissue(state: &mut State, cert: &str) {
    let current = state.dashboard.rows.iter().find(|r| r.name == cert);
    let detail = match current.and_then(|r| r.days_left) {
        Some(days) => format!(
            "This orders a new certificate from the CA; the current one has {days} days left \
             and stays in use until the new one is stored."
        ),
        None => "This orders a new certificate from the CA.".to_owned(),
    };
    state.popup = Some(Popup::Confirm {
        question: format!("Issue {cert} again?"),
        detail,
        yes: Confirmed::Issue {
            cert: cert.to_owned(),
        },
        alternative: None,
    });
}

/// Cancel the running issuance of `cert` (its records are removed).
pub fn cancel(state: &mut State, cert: &str) -> Vec<Effect> {
    let clock = state.clock;
    let Some(issuance) = state.issuances.get_mut(cert).filter(|i| i.running()) else {
        return Vec::new();
    };
    tracing::info!(cert, "issuance cancel asked");
    if issuance.queued {
        // Never started: nothing to clean up.
        issuance.ended = Some(clock);
        issuance.end = Some(End::Failed(IssueFailure {
            message: "cancelled before it started".to_owned(),
            hint: None,
            cancelled: true,
        }));
        state.notify(format!("{cert}: cancelled"));
        return Vec::new();
    }
    issuance.cancelling = true;
    let id = issuance.job;
    if matches!(&state.popup, Some(Popup::Records { job, .. }) if *job == id) {
        state.popup = None;
    }
    state.notify("cancelling: removing the challenge records…");
    vec![Effect::Cancel { id }]
}

/// The manual solver waits for the operator: show the records and ask.
pub fn records_to_create(state: &mut State, id: JobId, records: Vec<ChallengeRecord>) {
    let Some(issuance) = state.issuances.values_mut().find(|i| i.job == id) else {
        return;
    };
    let lines = records.iter().map(ChallengeRecord::zone_line).collect();
    issuance.records = records;
    state.popup = Some(Popup::Records {
        cert: issuance.cert.clone(),
        job: id,
        lines,
    });
}

/// A step was reached. Published records start the live matrix; in the authoritative
/// `--propagation` mode the engine's own rounds fill it (so no second set of queries is
/// sent), otherwise the UI's own rounds do, from [`WATCH_EVERY`] on. Once the records are
/// visible it stops refreshing.
pub fn progressed(issuance: &mut Issuance, step: Step, elapsed: Duration, clock: Duration) {
    match &step {
        Step::Propagation(report) => {
            if let Some(watch) = &mut issuance.watch {
                watch.stop();
                watch.fed = true;
                watch.matrix.restart();
                watch.matrix.finish(Ok(report.clone()));
            }
            // Not a checklist step; it is not kept.
            return;
        }
        Step::CacheWait { waits } => {
            issuance.cache_waits.clone_from(waits);
            return;
        }
        Step::Warning(text) => {
            issuance.warnings.push(text.clone());
            return;
        }
        Step::RecordsPublished { records } => {
            issuance.records.clone_from(records);
            let target = Target::Records(
                records
                    .iter()
                    .map(|r| (r.identifier.clone(), r.value.clone()))
                    .collect(),
            );
            let mut watch = Watch::new(&format!("issue:{}", issuance.cert), target, WATCH_EVERY);
            watch.next = Some(clock + WATCH_EVERY);
            issuance.watch = Some(watch);
        }
        Step::OrderCreated { .. } | Step::AccountReady => {}
        _ => {
            if let Some(watch) = &mut issuance.watch {
                watch.stop();
            }
            if matches!(step, Step::ChallengesAnswered) {
                issuance.cache_waits.clear();
            }
        }
    }
    issuance.steps.push((step, elapsed));
    // The next step's timer starts now, not when the issuance started.
    issuance.step_started = clock;
}

/// The issuance ended: queued ones may start, the dashboard (and an open detail of the
/// certificate) reload, and the selection follows the certificate when its screen is open.
pub fn finished(
    state: &mut State,
    cert: &str,
    result: Result<Issued, IssueFailure>,
) -> Vec<Effect> {
    let clock = state.clock;
    let Some(issuance) = state.issuances.get_mut(cert) else {
        return Vec::new();
    };
    let notice = match &result {
        Ok(issued) => {
            tracing::info!(cert, serial = %issued.serial, "issued");
            format!("{cert}: issued, serial {}", issued.serial)
        }
        Err(failure) if failure.cancelled => {
            tracing::info!(cert, reason = %failure.message, "issuance cancelled");
            format!("{cert}: cancelled")
        }
        Err(failure) => {
            tracing::warn!(cert, reason = %failure.message, "issuance failed");
            format!("{cert}: issuance failed")
        }
    };
    if let Some(watch) = &mut issuance.watch {
        watch.stop();
    }
    issuance.ended = Some(clock);
    issuance.end = Some(match result {
        Ok(issued) => End::Issued(issued),
        Err(failure) => End::Failed(failure),
    });
    let job = issuance.job;
    if matches!(&state.popup, Some(Popup::Records { job: asking, .. }) if *asking == job) {
        state.popup = None;
    }
    state.notify(notice);
    if state
        .stack
        .iter()
        .any(|s| matches!(s, Screen::Issuance { cert: c } if c == cert))
    {
        state.dashboard.follow = Some(cert.to_owned());
    }
    let mut effects = jobs::pump(state);
    effects.extend(detail::reload(state, cert));
    effects.extend(dashboard::reload(state));
    effects
}
