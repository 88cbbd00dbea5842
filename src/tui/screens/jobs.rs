//! Background work: issuances queued, running and finished, at most `settings.parallel` at
//! once; the jobs view that lists them; marking certificates and renewing them in bulk.
//!
//! Leaving an issuance screen never stops its issuance. Each one is keyed by its certificate
//! and its job id, so answers of several issuances never mix and a superseded job's answers
//! are dropped in `update`.

use crate::tui::action::Action;
use crate::tui::screens::dashboard;
use crate::tui::screens::issuance::{self, End, Issuance, STEPS};
use crate::tui::state::{Confirmed, Popup, Screen, State};
use crate::tui::update::{Effect, Nav};

/// `settings.parallel` before the configuration was read.
pub const DEFAULT_PARALLEL: usize = 4;

/// The jobs view's selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobsScreen {
    /// Index into [`listed`].
    pub selected: usize,
}

/// Where an issuance stands, as the jobs view and the status bar name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a free slot.
    Queued,
    /// Talking to the CA.
    Running,
    /// Records published, waiting for them to be visible (or for resolver caches).
    WaitingOnDns,
    /// A cancel was asked for; the records are being removed.
    Cancelling,
    /// Stored.
    Done,
    /// Failed.
    Failed,
    /// Cancelled.
    Cancelled,
}

impl Phase {
    /// The word shown.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Running => "running",
            Phase::WaitingOnDns => "waiting on DNS",
            Phase::Cancelling => "cancelling",
            Phase::Done => "done",
            Phase::Failed => "failed",
            Phase::Cancelled => "cancelled",
        }
    }

    /// Whether the work still goes on.
    #[must_use]
    pub fn active(self) -> bool {
        matches!(
            self,
            Phase::Queued | Phase::Running | Phase::WaitingOnDns | Phase::Cancelling
        )
    }
}

/// The phase of `issuance`.
#[must_use]
pub fn phase(issuance: &Issuance) -> Phase {
    match &issuance.end {
        Some(End::Issued(_)) => Phase::Done,
        Some(End::Failed(f)) if f.cancelled => Phase::Cancelled,
        Some(End::Failed(_)) => Phase::Failed,
        None if issuance.queued => Phase::Queued,
        None if issuance.cancelling => Phase::Cancelling,
        None if waiting_on_dns(issuance) => Phase::WaitingOnDns,
        None => Phase::Running,
    }
}

fn waiting_on_dns(issuance: &Issuance) -> bool {
    let published = issuance.durations().last().map(|(i, _)| *i) == Some(2);
    published || !issuance.cache_waits.is_empty()
}

/// The step an issuance is at (running), ended on (failed) or reached last (done).
#[must_use]
pub fn step(issuance: &Issuance) -> &'static str {
    let reached = issuance.durations().last().map(|(i, _)| *i);
    let index = match (&issuance.end, reached) {
        (Some(End::Issued(_)), _) => STEPS.len() - 1,
        (_, Some(i)) => (i + 1).min(STEPS.len() - 1),
        (_, None) if issuance.queued => return "waiting for a free slot",
        (_, None) => 0,
    };
    STEPS[index]
}

/// Issuances of this session in the order they were asked for.
#[must_use]
pub fn listed(state: &State) -> Vec<&Issuance> {
    let mut all: Vec<&Issuance> = state.issuances.values().collect();
    all.sort_by(|a, b| {
        let order = |i: &Issuance| (i.queued, i.job, i.started);
        order(a).cmp(&order(b)).then_with(|| a.cert.cmp(&b.cert))
    });
    all
}

/// How many issuances run at once (`settings.parallel`).
#[must_use]
pub fn limit(state: &State) -> usize {
    match state.dashboard.parallel {
        0 => DEFAULT_PARALLEL,
        n => n,
    }
}

/// (running, queued) issuances.
#[must_use]
pub fn counts(state: &State) -> (usize, usize) {
    let active = state.issuances.values().filter(|i| i.running());
    active.fold((0, 0), |(running, queued), i| {
        if i.queued {
            (running, queued + 1)
        } else {
            (running + 1, queued)
        }
    })
}

/// Ask for an issuance of `cert`: queued, then started as soon as a slot is free. One that
/// already runs (or waits) is left alone.
pub fn enqueue(state: &mut State, cert: &str) -> Vec<Effect> {
    if state.issuances.get(cert).is_some_and(Issuance::running) {
        return Vec::new();
    }
    let issuance = issuance::queued(state, cert);
    state.issuances.insert(cert.to_owned(), issuance);
    tracing::info!(cert, "issuance queued");
    pump(state)
}

/// Start queued issuances, oldest first, while fewer than [`limit`] run.
pub fn pump(state: &mut State) -> Vec<Effect> {
    let mut effects = Vec::new();
    loop {
        let (running, _) = counts(state);
        if running >= limit(state) {
            break;
        }
        let next = listed(state)
            .into_iter()
            .find(|i| i.queued && i.running())
            .map(|i| i.cert.clone());
        let Some(cert) = next else {
            break;
        };
        effects.extend(issuance::begin(state, &cert));
    }
    effects
}

/// Ask before cancelling the issuance of `cert`.
pub fn ask_cancel(state: &mut State, cert: &str) {
    state.popup = Some(Popup::Confirm {
        question: format!("Cancel the issuance of {cert}?"),
        detail: "The order is abandoned and its challenge records are removed.".to_owned(),
        yes: Confirmed::CancelIssue {
            cert: cert.to_owned(),
        },
        alternative: None,
    });
}

/// Open the jobs view (once).
pub fn open(state: &mut State) {
    if !matches!(state.screen(), Some(Screen::Jobs(_))) {
        state.stack.push(Screen::Jobs(JobsScreen::default()));
    }
}

/// Whether `mouse` is a left click on the status bar's running indicator (its right half,
/// while issuances run or wait).
#[must_use]
pub fn clicked_indicator(state: &State, mouse: &crossterm::event::MouseEvent) -> bool {
    use crossterm::event::{MouseButton, MouseEventKind};
    let (running, queued) = counts(state);
    let (width, height) = state.size;
    mouse.kind == MouseEventKind::Down(MouseButton::Left)
        && running + queued > 0
        && mouse.row + 1 == height
        && mouse.column >= width / 2
        && state.notice.is_none()
}

/// An action in the jobs view.
pub fn on_action(screen: &mut JobsScreen, state: &mut State, action: Action) -> (Nav, Vec<Effect>) {
    let listed: Vec<(String, bool)> = listed(state)
        .iter()
        .map(|i| (i.cert.clone(), i.running() && !i.cancelling))
        .collect();
    let last = listed.len().saturating_sub(1);
    match action {
        Action::Back | Action::Jobs => return (Nav::Close, Vec::new()),
        Action::MoveDown => screen.selected = (screen.selected + 1).min(last),
        Action::MoveUp => screen.selected = screen.selected.saturating_sub(1),
        Action::MoveFirst => screen.selected = 0,
        Action::MoveLast => screen.selected = last,
        Action::Open => {
            if let Some((cert, _)) = listed.get(screen.selected) {
                let next = Screen::Issuance { cert: cert.clone() };
                return (Nav::Push(Box::new(next)), Vec::new());
            }
        }
        Action::CancelJob => {
            if let Some((cert, true)) = listed.get(screen.selected) {
                ask_cancel(state, cert);
            }
        }
        _ => {}
    }
    screen.selected = screen.selected.min(last);
    (Nav::Stay, Vec::new())
}

/// `Space` on the dashboard: mark or unmark the selected certificate and go to the next.
pub fn toggle_mark(state: &mut State) {
    let Some(name) = state.dashboard.selected_row().map(|r| r.name.clone()) else {
        return;
    };
    if !state.dashboard.marked.remove(&name) {
        state.dashboard.marked.insert(name);
    }
    dashboard::move_selection(state, 1);
}

/// The certificates `R` works on: the marked ones, or every due one when none is marked
/// (dashboard order).
#[must_use]
pub fn bulk_targets(state: &State) -> Vec<String> {
    let d = &state.dashboard;
    let marked = !d.marked.is_empty();
    d.rows
        .iter()
        .filter(|r| {
            if marked {
                d.marked.contains(&r.name)
            } else {
                r.status.is_due()
            }
        })
        .map(|r| r.name.clone())
        .collect()
}

/// `R`: ask once before renewing [`bulk_targets`].
pub fn ask_bulk(state: &mut State) {
    let certs = bulk_targets(state);
    if certs.is_empty() {
        let mark = state.keymap.label(Action::Mark);
        state.notify(format!(
            "nothing is due; {mark} marks certificates to renew"
        ));
        return;
    }
    let what = if state.dashboard.marked.is_empty() {
        "due"
    } else {
        "marked"
    };
    let noun = if certs.len() == 1 {
        "certificate"
    } else {
        "certificates"
    };
    state.popup = Some(Popup::Confirm {
        question: format!("Renew {} {what} {noun}?", certs.len()),
        detail: format!(
            "{}. They run in the background, {} at a time; {} lists them.",
            certs.join(", "),
            limit(state),
            state.keymap.label(Action::Jobs)
        ),
        yes: Confirmed::Bulk { certs },
        alternative: None,
    });
}

/// The bulk renewal was confirmed: queue every certificate, clear the marks.
pub fn start_bulk(state: &mut State, certs: &[String]) -> Vec<Effect> {
    tracing::info!(count = certs.len(), certs = %certs.join(", "), "bulk renewal confirmed");
    state.dashboard.marked.clear();
    let effects = certs.iter().flat_map(|cert| enqueue(state, cert)).collect();
    let jobs = state.keymap.label(Action::Jobs);
    state.notify(format!("{} queued; {jobs} shows the jobs", certs.len()));
    effects
}
