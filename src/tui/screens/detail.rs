//! Certificate detail: opened from the dashboard, loaded by a job.

use crate::jobs::inventory::CertDetail;
use crate::jobs::{Job, JobId};
use crate::tui::action::Action;
use crate::tui::screens::{editor, issuance};
use crate::tui::state::{Screen, State};
use crate::tui::update::{Effect, Nav};

/// The detail screen.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailScreen {
    /// Certificate name.
    pub name: String,
    /// The load whose answer is awaited.
    pub request: JobId,
    /// The detail once loaded, or why it could not be.
    pub data: Option<Result<Box<CertDetail>, String>>,
    /// Lines scrolled down.
    pub scroll: u16,
}

/// Open the detail of `name` and start loading it.
pub fn open(state: &mut State, name: &str) -> Vec<Effect> {
    let (request, effect) = state.start(Job::LoadDetail {
        name: name.to_owned(),
    });
    state.stack.push(Screen::Detail(DetailScreen {
        name: name.to_owned(),
        request,
        data: None,
        scroll: 0,
    }));
    vec![effect]
}

/// An action on the detail screen.
pub fn on_action(
    screen: &mut DetailScreen,
    state: &mut State,
    action: Action,
) -> (Nav, Vec<Effect>) {
    match action {
        Action::Back => return (Nav::Close, Vec::new()),
        Action::MoveDown => screen.scroll = screen.scroll.saturating_add(1),
        Action::MoveUp => screen.scroll = screen.scroll.saturating_sub(1),
        Action::PageDown => screen.scroll = screen.scroll.saturating_add(10),
        Action::PageUp => screen.scroll = screen.scroll.saturating_sub(10),
        Action::MoveFirst => screen.scroll = 0,
        Action::Refresh => {
            let (request, effect) = state.start(Job::LoadDetail {
                name: screen.name.clone(),
            });
            screen.request = request;
            return (Nav::Stay, vec![effect]);
        }
        Action::Edit => {
            let row = state
                .dashboard
                .rows
                .iter()
                .find(|r| r.name == screen.name)
                .cloned();
            if let Some(row) = row {
                let (editor, effects) = editor::CertEditor::open(Some(&row), state);
                return (Nav::Push(Box::new(Screen::Editor(editor))), effects);
            }
        }
        Action::Issue => {
            let row = state
                .dashboard
                .rows
                .iter()
                .find(|r| r.name == screen.name)
                .cloned();
            if let Some(row) = row {
                return (Nav::Stay, issuance::ask_or_start(state, &row));
            }
        }
        Action::Copy => {
            if let Some(Ok(detail)) = &screen.data {
                if let Some(issued) = &detail.issued {
                    state.notify("SHA-256 fingerprint copied");
                    return (Nav::Stay, vec![Effect::Copy(issued.sha256.clone())]);
                }
            }
        }
        _ => {}
    }
    (Nav::Stay, Vec::new())
}

/// The load answered.
pub fn loaded(screen: &mut DetailScreen, result: Result<Box<CertDetail>, String>) {
    screen.data = Some(result);
}

/// Load the detail of `name` again when it is open (after an issuance of it ended).
pub fn reload(state: &mut State, name: &str) -> Vec<Effect> {
    let open = state
        .stack
        .iter()
        .position(|s| matches!(s, Screen::Detail(d) if d.name == name));
    let Some(index) = open else {
        return Vec::new();
    };
    let (request, effect) = state.start(Job::LoadDetail {
        name: name.to_owned(),
    });
    if let Some(Screen::Detail(screen)) = state.stack.get_mut(index) {
        screen.request = request;
    }
    vec![effect]
}
