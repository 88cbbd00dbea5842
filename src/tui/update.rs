//! The pure heart of the dashboard: `update(&mut State, Msg) -> Vec<Effect>`.
//!
//! No I/O and no awaits here; the app loop runs the returned effects.

use crossterm::event::KeyEvent;

use crate::inventory::CertRow;
use crate::tui::action::{action_for, Action};
use crate::tui::state::{by_urgency, LoadStatus, State};

/// Something that happened: a key, an action, a finished job or a tick.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A key was pressed; the keymap decides what it means.
    Key(KeyEvent),
    /// An action, already resolved (used at start-up and by tests).
    Action(Action),
    /// A load finished. Stale answers (an older `request`) are dropped.
    Loaded {
        /// The id the load was started with.
        request: u64,
        /// The rows, or why they could not be read.
        result: Result<Vec<CertRow>, String>,
    },
    /// Animation tick, sent only while something is loading.
    Tick,
}

/// Work for the app loop to do on the state's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Read the inventory in the background and answer with [`Msg::Loaded`] carrying `request`.
    Load {
        /// Tag for the answer; superseded loads may be aborted.
        request: u64,
    },
    /// Restore the terminal and leave.
    Quit,
}

/// Apply one message to the state and say what must happen next.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(event) => action_for(&event).map_or_else(Vec::new, |action| act(state, action)),
        Msg::Action(action) => act(state, action),
        Msg::Loaded { request, result } => {
            loaded(state, request, result);
            Vec::new()
        }
        Msg::Tick => {
            if state.is_loading() {
                state.spinner = state.spinner.wrapping_add(1);
            }
            Vec::new()
        }
    }
}

fn act(state: &mut State, action: Action) -> Vec<Effect> {
    // The help overlay is modal: only closing it or quitting gets through.
    if state.show_help {
        return match action {
            Action::ToggleHelp | Action::Back => {
                state.show_help = false;
                Vec::new()
            }
            Action::Quit => vec![Effect::Quit],
            _ => Vec::new(),
        };
    }
    let last = state.rows.len().saturating_sub(1);
    match action {
        Action::MoveDown => state.selected = (state.selected + 1).min(last),
        Action::MoveUp => state.selected = state.selected.saturating_sub(1),
        Action::MoveFirst => state.selected = 0,
        Action::MoveLast => state.selected = last,
        Action::ToggleHelp => state.show_help = true,
        Action::Reload => {
            state.last_request += 1;
            state.load = LoadStatus::Loading {
                request: state.last_request,
            };
            return vec![Effect::Load {
                request: state.last_request,
            }];
        }
        Action::Back | Action::Quit => return vec![Effect::Quit],
    }
    Vec::new()
}

fn loaded(state: &mut State, request: u64, result: Result<Vec<CertRow>, String>) {
    if request != state.last_request {
        return;
    }
    match result {
        Ok(mut rows) => {
            rows.sort_by(by_urgency);
            // Keep the same certificate selected across reloads when it still exists.
            let keep = state.selected_row().map(|row| row.name.clone());
            state.selected = keep
                .and_then(|name| rows.iter().position(|row| row.name == name))
                .unwrap_or(state.selected)
                .min(rows.len().saturating_sub(1));
            state.rows = rows;
            state.load = LoadStatus::Loaded;
            state.loaded_once = true;
        }
        Err(message) => state.load = LoadStatus::Failed(message),
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};

    use super::*;
    use crate::domain::renewal::CertStatus;

    fn row(name: &str, days: Option<i64>, status: CertStatus) -> CertRow {
        CertRow {
            name: name.to_owned(),
            names: vec![format!("{name}.example")],
            not_after: None,
            days_left: days,
            status,
            issuer: None,
            serial: None,
            key_type: "ecdsa-p256".to_owned(),
            account: None,
        }
    }

    fn rows() -> Vec<CertRow> {
        vec![
            row("web", Some(60), CertStatus::Valid),
            row("mail", Some(3), CertStatus::Expiring),
            row("old", Some(-1), CertStatus::Expired),
        ]
    }

    fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn code(code: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    /// A state after the first load answered with `rows()`.
    fn loaded_state() -> State {
        let mut state = State::new();
        assert_eq!(
            update(&mut state, Msg::Action(Action::Reload)),
            [Effect::Load { request: 1 }]
        );
        update(
            &mut state,
            Msg::Loaded {
                request: 1,
                result: Ok(rows()),
            },
        );
        state
    }

    fn names(state: &State) -> Vec<&str> {
        state.rows.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn load_sorts_by_urgency() {
        let state = loaded_state();
        assert_eq!(names(&state), ["old", "mail", "web"]);
        assert_eq!(state.load, LoadStatus::Loaded);
        assert!(state.loaded_once);
    }

    #[test]
    fn movement_is_clamped() {
        let mut state = loaded_state();
        let steps = [
            (key('j'), 1),
            (code(KeyCode::Down), 2),
            (key('j'), 2),
            (key('k'), 1),
            (code(KeyCode::Up), 0),
            (key('k'), 0),
            (key('G'), 2),
            (key('g'), 0),
        ];
        for (msg, expected) in steps {
            assert_eq!(update(&mut state, msg.clone()), []);
            assert_eq!(state.selected, expected, "after {msg:?}");
        }
    }

    #[test]
    fn movement_without_rows_stays_at_zero() {
        let mut state = State::new();
        update(&mut state, key('j'));
        update(&mut state, key('G'));
        assert_eq!(state.selected, 0);
    }

    #[test]
    fn quit_keys() {
        for msg in [key('q'), code(KeyCode::Esc)] {
            let mut state = loaded_state();
            assert_eq!(update(&mut state, msg), [Effect::Quit]);
        }
        let mut state = loaded_state();
        let ctrl_c = Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(update(&mut state, ctrl_c), [Effect::Quit]);
    }

    #[test]
    fn help_is_modal_and_closes_with_esc_or_question_mark() {
        let mut state = loaded_state();
        update(&mut state, key('?'));
        assert!(state.show_help);
        assert_eq!(update(&mut state, key('j')), []);
        assert_eq!(update(&mut state, key('r')), []);
        assert_eq!(state.selected, 0);
        assert_eq!(update(&mut state, code(KeyCode::Esc)), []);
        assert!(!state.show_help);
        update(&mut state, key('?'));
        update(&mut state, key('?'));
        assert!(!state.show_help);
        update(&mut state, key('?'));
        assert_eq!(update(&mut state, key('q')), [Effect::Quit]);
    }

    #[test]
    fn reload_issues_new_request_and_ignores_stale_answers() {
        let mut state = loaded_state();
        assert_eq!(update(&mut state, key('r')), [Effect::Load { request: 2 }]);
        assert_eq!(update(&mut state, key('r')), [Effect::Load { request: 3 }]);
        assert!(state.is_loading());
        let old_rows = vec![row("stale", Some(1), CertStatus::Expiring)];
        update(
            &mut state,
            Msg::Loaded {
                request: 2,
                result: Ok(old_rows),
            },
        );
        assert_eq!(names(&state), ["old", "mail", "web"]);
        assert_eq!(state.load, LoadStatus::Loading { request: 3 });
        update(
            &mut state,
            Msg::Loaded {
                request: 3,
                result: Ok(vec![]),
            },
        );
        assert!(state.rows.is_empty());
        assert_eq!(state.load, LoadStatus::Loaded);
    }

    #[test]
    fn stale_error_is_ignored_and_current_error_keeps_rows() {
        let mut state = loaded_state();
        update(&mut state, key('r'));
        update(
            &mut state,
            Msg::Loaded {
                request: 1,
                result: Err("old".into()),
            },
        );
        assert!(state.is_loading());
        update(
            &mut state,
            Msg::Loaded {
                request: 2,
                result: Err("disk on fire".into()),
            },
        );
        assert_eq!(state.load, LoadStatus::Failed("disk on fire".into()));
        assert_eq!(state.rows.len(), 3);
    }

    #[test]
    fn reload_keeps_selected_certificate() {
        let mut state = loaded_state();
        update(&mut state, key('G'));
        assert_eq!(state.selected_row().map(|r| r.name.as_str()), Some("web"));
        update(&mut state, key('r'));
        let mut more = rows();
        more.push(row("new", Some(1), CertStatus::Expiring));
        update(
            &mut state,
            Msg::Loaded {
                request: 2,
                result: Ok(more),
            },
        );
        assert_eq!(state.selected_row().map(|r| r.name.as_str()), Some("web"));
        update(&mut state, key('r'));
        update(
            &mut state,
            Msg::Loaded {
                request: 3,
                result: Ok(vec![row("x", None, CertStatus::Missing)]),
            },
        );
        assert_eq!(state.selected, 0);
    }

    #[test]
    fn tick_only_spins_while_loading() {
        let mut state = loaded_state();
        update(&mut state, Msg::Tick);
        assert_eq!(state.spinner, 0);
        update(&mut state, key('r'));
        update(&mut state, Msg::Tick);
        assert_eq!(state.spinner, 1);
    }

    #[test]
    fn unbound_keys_do_nothing() {
        let mut state = loaded_state();
        let before = state.clone();
        assert_eq!(update(&mut state, key('x')), []);
        assert_eq!(state, before);
    }
}
