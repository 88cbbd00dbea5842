//! The pure heart of the UI: `update(&mut State, Msg) -> Vec<Effect>`.
//!
//! No I/O and no awaits here; the app loop runs the returned effects. Keys go, in order, to
//! a popup, the help overlay, the filter or the focused text field, and then through the
//! keymap to global actions and the current screen's handler. Job answers whose id is not
//! awaited any more are dropped here, in one place.

use std::time::Duration;

use crossterm::event::{KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use crate::jobs::logs::LogLine;
use crate::jobs::{Event, Job, JobId, Slot, Tagged};
use crate::tui::action::Action;
use crate::tui::screens::{
    account, accounts, acmedns, dashboard, detail, editor, issuance, jobs, palette, propagation,
    provider, server,
};
use crate::tui::state::{Confirmed, Popup, Screen, State};

/// Something that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A key was pressed.
    Key(KeyEvent),
    /// The mouse was used.
    Mouse(MouseEvent),
    /// The terminal has a new size (columns, rows).
    Resize(u16, u16),
    /// An action, already resolved (start-up and tests).
    Action(Action),
    /// A job answered.
    Job(Tagged),
    /// A tracing event for the log pane.
    Log(LogLine),
    /// Time since the UI started; sent only while something animates or counts.
    Tick(Duration),
}

/// Work for the app loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run a job.
    Start {
        /// Its id; answers carry it.
        id: JobId,
        /// The work.
        job: Job,
    },
    /// Stop a job (cleanly when it can).
    Cancel {
        /// The job.
        id: JobId,
    },
    /// Answer a job's question (the manual solver: are the records created?).
    Answer {
        /// The job.
        id: JobId,
        /// Yes or no.
        yes: bool,
    },
    /// Put text on the clipboard (OSC 52).
    Copy(String),
    /// Restore the terminal and leave.
    Quit,
}

/// What a screen handler wants done with its screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Nav {
    /// Keep it.
    Stay,
    /// Close it.
    Close,
    /// Open another screen over it.
    Push(Box<Screen>),
}

/// Apply one message and say what must happen next.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(state, &key),
        Msg::Action(action) => on_action(state, action),
        Msg::Mouse(mouse) => on_mouse(state, mouse),
        Msg::Resize(width, height) => {
            state.size = (width, height);
            dashboard::move_selection(state, 0);
            Vec::new()
        }
        Msg::Job(tagged) => on_job(state, tagged),
        Msg::Log(line) => {
            state.push_log(line);
            Vec::new()
        }
        Msg::Tick(now) => {
            state.clock = now;
            if state.busy() {
                state.spinner = state.spinner.wrapping_add(1);
            }
            if state
                .notice
                .as_ref()
                .is_some_and(|(_, until)| *until <= now)
            {
                state.notice = None;
            }
            crate::tui::routing::tick_watches(state)
        }
    }
}

fn on_key(state: &mut State, key: &KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    if state.popup.is_some() {
        return on_popup_key(state, key);
    }
    let action = state.keymap.action_for(key);
    if state.palette.is_some() {
        // The palette takes typed keys; Ctrl-C still quits.
        if action == Some(Action::Quit) && key.modifiers.contains(KeyModifiers::CONTROL) {
            state.palette = None;
            return quit(state);
        }
        return palette::on_key(state, key);
    }
    if state.help {
        return match action {
            Some(Action::Help | Action::Back) => {
                state.help = false;
                Vec::new()
            }
            Some(Action::Quit) => quit(state),
            _ => Vec::new(),
        };
    }
    // Text fields take printable keys first (so `q` types a q); Ctrl-C still quits.
    if typed(state, key) {
        return Vec::new();
    }
    action.map_or_else(Vec::new, |action| on_action(state, action))
}

/// Give the key to the filter or to the focused field of the current screen.
fn typed(state: &mut State, key: &KeyEvent) -> bool {
    if matches!(state.stack.last(), Some(Screen::Server)) {
        return server::on_key(state, key);
    }
    match state.stack.last_mut() {
        None => dashboard::on_filter_key(state, key),
        Some(Screen::Editor(editor)) => editor::on_key(editor, key),
        Some(Screen::Account(wizard)) => account::on_key(wizard, key),
        Some(Screen::AcmeDns(wizard)) => acmedns::on_key(wizard, key),
        Some(Screen::Provider(wizard)) => provider::on_key(wizard, key),
        Some(_) => false,
    }
}

/// Run `action` on the current screen (keys, the palette, the mouse wheel).
pub fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Quit => return quit(state),
        Action::Palette => {
            palette::open(state);
            return Vec::new();
        }
        Action::Accounts if !matches!(state.screen(), Some(Screen::Accounts(_))) => {
            return accounts::open(state);
        }
        Action::Help => {
            state.help = true;
            return Vec::new();
        }
        Action::ToggleLog => {
            state.log.open = !state.log.open;
            state.log.scroll = 0;
            dashboard::move_selection(state, 0);
            return Vec::new();
        }
        Action::NextTheme => {
            state.theme = (state.theme + 1) % state.themes.len().max(1);
            let name = state.theme_name().to_owned();
            state.notify(format!("theme: {name}"));
            return Vec::new();
        }
        Action::Jobs if !matches!(state.screen(), Some(Screen::Jobs(_))) => {
            jobs::open(state);
            return Vec::new();
        }
        _ => {}
    }
    let Some(index) = state.stack.len().checked_sub(1) else {
        return dashboard::on_action(state, action);
    };
    // Take the screen out so its handler can change the rest of the state; anything the
    // handler opens goes above it.
    let mut screen = state.stack.remove(index);
    let (nav, effects) = match &mut screen {
        Screen::Detail(detail) => detail::on_action(detail, state, action),
        Screen::Account(wizard) => account::on_action(wizard, state, action),
        Screen::Editor(editor) => editor::on_action(editor, state, action),
        Screen::Issuance { cert } => {
            let cert = cert.clone();
            issuance::on_action(&cert, state, action)
        }
        Screen::Propagation(screen) => propagation::on_action(screen, state, action),
        Screen::AcmeDns(wizard) => acmedns::on_action(wizard, state, action),
        Screen::Server => server::on_action(state, action),
        Screen::Provider(wizard) => provider::on_action(wizard, state, action),
        Screen::Accounts(view) => accounts::on_action(view, state, action),
        Screen::Jobs(screen) => jobs::on_action(screen, state, action),
    };
    let refresh = action == Action::Refresh && effects.is_empty() && nav == Nav::Stay;
    place(state, index, screen, nav);
    if refresh {
        // `r` refreshes everywhere: screens without their own reload re-read the dashboard.
        state.notify("reloading certificates…");
        return dashboard::reload(state);
    }
    effects
}

/// Put a handled screen back according to `nav`.
fn place(state: &mut State, index: usize, screen: Screen, nav: Nav) {
    let index = index.min(state.stack.len());
    match nav {
        Nav::Stay => state.stack.insert(index, screen),
        Nav::Close => {}
        Nav::Push(next) => {
            state.stack.insert(index, screen);
            state.stack.push(*next);
        }
    }
}

/// `q`: leave at once, or ask when something is being changed.
fn quit(state: &mut State) -> Vec<Effect> {
    let work = state.work_in_progress();
    if work.is_empty() {
        return vec![Effect::Quit];
    }
    state.help = false;
    state.popup = Some(Popup::Confirm {
        question: "Quit while work is running?".to_owned(),
        detail: format!(
            "Running: {}. Issuances are cancelled and their records removed.",
            work.join(", ")
        ),
        yes: Confirmed::Quit,
        alternative: None,
    });
    Vec::new()
}

fn on_popup_key(state: &mut State, key: &KeyEvent) -> Vec<Effect> {
    use crossterm::event::KeyCode;
    let Some(popup) = state.popup.clone() else {
        return Vec::new();
    };
    match popup {
        Popup::Error { .. } => {
            if matches!(
                key.code,
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char(' ' | 'q')
            ) {
                state.popup = None;
            }
            Vec::new()
        }
        Popup::Confirm {
            yes, alternative, ..
        } => {
            let chosen = match key.code {
                KeyCode::Char('y' | 'Y') => Some(yes),
                KeyCode::Char(c) => alternative.filter(|(k, _, _)| *k == c).map(|(_, _, a)| a),
                _ => None,
            };
            if let Some(confirmed) = chosen {
                state.popup = None;
                return confirmed_action(state, confirmed);
            }
            if matches!(key.code, KeyCode::Esc | KeyCode::Char('n' | 'N')) {
                state.popup = None;
            }
            Vec::new()
        }
        Popup::Sandbox { cursor } => crate::tui::screens::sandbox::on_key(state, cursor, key),
        Popup::Records { cert, job, lines } => match key.code {
            KeyCode::Enter => {
                state.popup = None;
                state.notify(format!("{cert}: waiting for the records to be visible…"));
                vec![Effect::Answer { id: job, yes: true }]
            }
            KeyCode::Esc => {
                state.popup = None;
                issuance::cancel(state, &cert)
            }
            KeyCode::Char('y') => {
                state.notify("records copied");
                vec![Effect::Copy(lines.join("\n"))]
            }
            _ => Vec::new(),
        },
    }
}

fn confirmed_action(state: &mut State, confirmed: Confirmed) -> Vec<Effect> {
    match confirmed {
        Confirmed::Quit => vec![Effect::Quit],
        Confirmed::Issue { cert } => issuance::start(state, &cert),
        Confirmed::Delete { name, purge } => {
            let (_, effect) = state.start(Job::DeleteCertificate { name, purge });
            vec![effect]
        }
        Confirmed::RemoveAccount { name } => {
            let (_, effect) = state.start(Job::RemoveAccount { name });
            vec![effect]
        }
        Confirmed::RemoveDomain { domain } => {
            let (_, effect) = state.start(Job::RemoveDomain { domain });
            vec![effect]
        }
        Confirmed::CancelIssue { cert } => issuance::cancel(state, &cert),
        Confirmed::Bulk { certs } => jobs::start_bulk(state, &certs),
    }
}

fn on_mouse(state: &mut State, mouse: MouseEvent) -> Vec<Effect> {
    if state.popup.is_some() || state.help {
        return Vec::new();
    }
    let scroll = match mouse.kind {
        MouseEventKind::ScrollDown => Some(Action::MoveDown),
        MouseEventKind::ScrollUp => Some(Action::MoveUp),
        _ => None,
    };
    if jobs::clicked_indicator(state, &mouse) {
        jobs::open(state);
        return Vec::new();
    }
    match (state.stack.last(), scroll) {
        (None, _) => dashboard::on_mouse(state, mouse),
        (Some(_), Some(action)) => on_action(state, action),
        (Some(_), None) => {
            if mouse.kind == MouseEventKind::Down(crossterm::event::MouseButton::Left) {
                let at = ratatui::layout::Position::new(mouse.column, mouse.row);
                crate::tui::mouse::click(state, at);
            }
            Vec::new()
        }
    }
}

/// A job answered: drop it when stale, else hand it to whoever waits for it.
fn on_job(state: &mut State, tagged: Tagged) -> Vec<Effect> {
    let Tagged { id, event } = tagged;
    let Some(running) = state.running.get(&id).cloned() else {
        tracing::debug!(job = id.0, "stale answer dropped");
        return Vec::new();
    };
    if event.is_final() {
        state.running.remove(&id);
    }
    let event = match event {
        Event::Panicked(message) => failure_for_slot(&running.slot, message),
        other => other,
    };
    crate::tui::routing::route(state, id, event)
}

/// A panicked job's typed failure.
fn task(message: String) -> crate::ops::Shared {
    crate::ops::Error::Task(message).into()
}

/// Turn a panic into the failure the job's owner understands.
fn failure_for_slot(slot: &Slot, message: String) -> Event {
    match slot {
        Slot::Inventory => Event::InventoryLoaded(Err(task(message))),
        Slot::Detail => Event::DetailLoaded(Err(task(message))),
        Slot::Profiles => {
            Event::ProfilesLoaded(std::iter::once((String::new(), Err(task(message)))).collect())
        }
        Slot::Account => Event::AccountRegistered(Err(task(message))),
        Slot::Certs => Event::CertificateSaved(Err(task(message))),
        Slot::AcmeDns => Event::AcmeDnsSaved(Err(task(message))),
        Slot::AcmeDnsServer => Event::ServerStopped(Err(task(message))),
        Slot::ServerParent => Event::ParentChecked(Err(task(message))),
        Slot::ServerRegister => Event::ServerRegistered(Err(task(message))),
        Slot::Sandbox => Event::FaultSwitched(Err(task(message))),
        Slot::AccountRemove => Event::AccountRemoved(Err(task(message))),
        Slot::Provider => Event::ProviderSaved(Err(task(message))),
        Slot::Accounts => Event::AccountsLoaded(Err(task(message))),
        Slot::DomainRemove => Event::DomainRemoved(Err(task(message))),
        Slot::Propagation(_) => Event::PropagationChecked(Err(task(message))),
        Slot::Issue(_) => Event::IssueFinished(Err(crate::jobs::issue::IssueFailure {
            message,
            hint: None,
            cancelled: false,
        })),
    }
}
