use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::jobs::logs::{LogLine, Severity};
use crate::tui::state::{Popup, LOG_LINES};

#[test]
fn quit_is_immediate_when_idle_and_asks_while_work_runs() {
    let mut state = loaded();
    assert_eq!(update(&mut state, key('q')), [Effect::Quit]);
    let ctrl_c = Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(update(&mut state, ctrl_c.clone()), [Effect::Quit]);
    // A read-only job does not make quitting ask.
    update(&mut state, key('r'));
    assert_eq!(update(&mut state, key('q')), [Effect::Quit]);
    select(&mut state, "new");
    started(&update(&mut state, key('i')));
    assert_eq!(update(&mut state, key('q')), []);
    assert!(
        matches!(&state.popup, Some(Popup::Confirm { detail, .. }) if detail.contains("issuing new"))
    );
    assert_eq!(update(&mut state, code(KeyCode::Esc)), []);
    assert!(state.popup.is_none());
    update(&mut state, ctrl_c);
    assert_eq!(update(&mut state, key('y')), [Effect::Quit]);
}

#[test]
fn help_is_modal() {
    let mut state = loaded();
    update(&mut state, key('?'));
    assert!(state.help);
    assert_eq!(update(&mut state, key('j')), []);
    assert_eq!(update(&mut state, key('r')), []);
    assert_eq!(state.dashboard.selected, 0);
    update(&mut state, code(KeyCode::Esc));
    assert!(!state.help);
    update(&mut state, code(KeyCode::F(1)));
    update(&mut state, key('?'));
    assert!(!state.help);
    update(&mut state, key('?'));
    assert_eq!(update(&mut state, key('q')), [Effect::Quit]);
}

#[test]
fn log_pane_keeps_the_newest_lines() {
    let mut state = loaded();
    update(&mut state, key('l'));
    assert!(state.log.open);
    for n in 0..LOG_LINES + 5 {
        update(
            &mut state,
            Msg::Log(LogLine {
                time: "00:00:00".into(),
                severity: Severity::Info,
                target: "certpilot::jobs".into(),
                text: format!("line {n}"),
            }),
        );
    }
    assert_eq!(state.log.lines.len(), LOG_LINES);
    assert_eq!(state.log.lines[0].text, "line 5");
    update(&mut state, key('l'));
    assert!(!state.log.open);
}

#[test]
fn theme_switch_cycles_and_notifies() {
    let mut state = State::with(
        crate::tui::keymap::Keymap::default(),
        vec!["default".into(), "light".into()],
        0,
    );
    update(&mut state, key('t'));
    assert_eq!(state.theme_name(), "light");
    assert_eq!(state.notice.as_ref().unwrap().0, "theme: light");
    update(&mut state, key('t'));
    assert_eq!(state.theme_name(), "default");
}

#[test]
fn ticks_turn_the_spinner_only_while_busy_and_expire_notices() {
    let mut state = loaded();
    assert!(!state.needs_tick());
    update(&mut state, Msg::Tick(std::time::Duration::from_secs(1)));
    assert_eq!(state.spinner, 0);
    update(&mut state, key('r'));
    assert!(state.needs_tick());
    update(&mut state, Msg::Tick(std::time::Duration::from_secs(2)));
    assert_eq!(state.spinner, 1);
    state.notify("hello");
    update(&mut state, Msg::Tick(std::time::Duration::from_secs(20)));
    assert!(state.notice.is_none());
}

#[test]
fn panicking_jobs_become_failures_of_their_owner() {
    let mut state = State::new();
    let (id, _) = started(&update(&mut state, Msg::Action(Action::Refresh)));
    update(
        &mut state,
        reply(id, Event::Panicked("job 1 panicked".into())),
    );
    assert_eq!(
        state.dashboard.load,
        crate::tui::state::LoadStatus::Failed("background task failed: job 1 panicked".into())
    );
    assert!(!state.busy());
}

#[test]
fn error_popup_closes_with_enter() {
    let mut state = loaded();
    state.fail("Saving failed", "disk full");
    assert_eq!(update(&mut state, key('j')), []);
    assert!(state.popup.is_some());
    update(&mut state, code(KeyCode::Enter));
    assert!(state.popup.is_none());
}

#[test]
fn configured_keys_drive_update() {
    let keymap = crate::tui::keymap::Keymap::parse("keys.toml", "[keys]\nquit = \"Q\"\n").unwrap();
    let mut state = State::with(keymap, vec!["default".into()], 0);
    assert_eq!(update(&mut state, key('q')), []);
    assert_eq!(update(&mut state, key('Q')), [Effect::Quit]);
}
