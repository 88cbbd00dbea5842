//! The sandbox menu (`F` inside `certpilot sandbox`): the faults of the sandbox's servers,
//! each switched on or off with Enter; the matrix and the hints then show them live.

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent};

use crate::jobs::Job;
use crate::sandbox::{faults, Fault, Layout};
use crate::tui::state::{Popup, SandboxFaults, State};
use crate::tui::update::Effect;

/// Which faults are on in the sandbox at `root` (read once, when the dashboard starts);
/// `None` when `root` is not a sandbox.
#[must_use]
pub fn faults_of(root: &Path) -> Option<SandboxFaults> {
    let layout = Layout::load(root).ok()?;
    let active = faults::active(&layout);
    let on = Fault::ALL
        .iter()
        .map(|f| {
            active
                .iter()
                .any(|a| std::mem::discriminant(a) == std::mem::discriminant(f))
        })
        .collect();
    Some(SandboxFaults {
        root: root.to_owned(),
        on,
    })
}

/// Open the menu (outside a sandbox: say where it is).
pub fn open(state: &mut State) {
    if state.sandbox.is_some() {
        state.popup = Some(Popup::Sandbox { cursor: 0 });
    } else {
        state.notify("the fault menu is there in `certpilot sandbox`");
    }
}

/// A key in the menu: move, switch the selected fault, close.
pub fn on_key(state: &mut State, cursor: usize, key: &KeyEvent) -> Vec<Effect> {
    let last = Fault::ALL.len() - 1;
    let moved = match key.code {
        KeyCode::Down | KeyCode::Char('j') => Some((cursor + 1).min(last)),
        KeyCode::Up | KeyCode::Char('k') => Some(cursor.saturating_sub(1)),
        _ => None,
    };
    if let Some(cursor) = moved {
        state.popup = Some(Popup::Sandbox { cursor });
        return Vec::new();
    }
    match key.code {
        KeyCode::Enter | KeyCode::Char(' ') => {
            let Some(sandbox) = &state.sandbox else {
                return Vec::new();
            };
            let on = !sandbox.on.get(cursor).copied().unwrap_or(false);
            let job = Job::SwitchFault {
                root: sandbox.root.clone(),
                index: cursor,
                on,
            };
            let (_, effect) = state.start(job);
            vec![effect]
        }
        KeyCode::Esc | KeyCode::Char('q' | 'F') => {
            state.popup = None;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// A fault was switched (or could not be).
pub fn switched(state: &mut State, result: Result<(usize, bool), String>) {
    match result {
        Ok((index, on)) => {
            if let Some(slot) = state.sandbox.as_mut().and_then(|s| s.on.get_mut(index)) {
                *slot = on;
            }
            let label = Fault::ALL.get(index).map(|f| f.label()).unwrap_or_default();
            state.notify(format!(
                "sandbox: {label}: {}",
                if on { "on" } else { "off" }
            ));
        }
        Err(message) => state.fail("sandbox fault", message),
    }
}

/// The menu's lines: one per fault with its state, the selected one marked.
#[must_use]
pub fn lines(state: &State, cursor: usize) -> Vec<(String, bool, bool)> {
    let on = state
        .sandbox
        .as_ref()
        .map(|s| s.on.clone())
        .unwrap_or_default();
    Fault::ALL
        .iter()
        .enumerate()
        .map(|(i, f)| (f.label(), on.get(i).copied().unwrap_or(false), i == cursor))
        .collect()
}
