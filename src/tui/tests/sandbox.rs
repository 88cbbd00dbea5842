//! The sandbox menu: only inside a sandbox; move, switch (a job), the answer updates it.

use crossterm::event::KeyCode;

use super::{code, key, loaded, reply, started};
use crate::jobs::{Event, Job};
use crate::sandbox::Fault;
use crate::tui::state::{Popup, SandboxFaults};
use crate::tui::update::update;

#[test]
fn the_menu_switches_faults_through_jobs_and_shows_their_state() {
    let mut state = loaded();
    update(&mut state, key('F'));
    assert_eq!(state.popup, None, "no menu outside a sandbox");
    assert!(state
        .notice
        .as_ref()
        .is_some_and(|(n, _)| n.contains("certpilot sandbox")));

    state.sandbox = Some(SandboxFaults {
        root: "/tmp/sb".into(),
        on: vec![false; Fault::ALL.len()],
    });
    update(&mut state, key('F'));
    assert_eq!(state.popup, Some(Popup::Sandbox { cursor: 0 }));
    update(&mut state, key('j'));
    update(&mut state, code(KeyCode::Down));
    update(&mut state, key('k'));
    assert_eq!(state.popup, Some(Popup::Sandbox { cursor: 1 }));
    let (id, job) = started(&update(&mut state, code(KeyCode::Enter)));
    assert_eq!(
        job,
        Job::SwitchFault {
            root: "/tmp/sb".into(),
            index: 1,
            on: true
        }
    );
    update(&mut state, reply(id, Event::FaultSwitched(Ok((1, true)))));
    assert!(state.sandbox.as_ref().unwrap().on[1]);
    let lines = crate::tui::screens::sandbox::lines(&state, 1);
    assert_eq!(lines[1], (Fault::Silent.label(), true, true));
    // Switching it again asks for off.
    let (_, job) = started(&update(&mut state, code(KeyCode::Enter)));
    assert!(matches!(
        job,
        Job::SwitchFault {
            index: 1,
            on: false,
            ..
        }
    ));
    update(&mut state, code(KeyCode::Esc));
    assert_eq!(state.popup, None);
}
