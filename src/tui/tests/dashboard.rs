use crossterm::event::{KeyCode, MouseButton, MouseEvent, MouseEventKind};

use super::*;
use crate::tui::state::{LoadStatus, Pane, Screen};

#[test]
fn load_sorts_by_urgency_and_keeps_the_selection() {
    let mut state = loaded();
    assert_eq!(names(&state), ["old", "new", "mail", "web"]);
    assert_eq!(state.dashboard.load, LoadStatus::Loaded);
    select(&mut state, "web");
    let (id, _) = started(&update(&mut state, key('r')));
    let mut more = inventory();
    more.rows.push(row("urgent", Some(1), CertStatus::Expiring));
    update(&mut state, reply(id, Event::InventoryLoaded(Ok(more))));
    assert_eq!(state.dashboard.selected_row().unwrap().name, "web");
}

#[test]
fn stale_and_abandoned_loads_are_ignored() {
    let mut state = loaded();
    let (abandoned, _) = started(&update(&mut state, key('r')));
    let (awaited, _) = started(&update(&mut state, key('r')));
    let mut old_rows = inventory();
    old_rows.rows = vec![row("stale", Some(1), CertStatus::Expiring)];
    update(
        &mut state,
        reply(abandoned, Event::InventoryLoaded(Ok(old_rows))),
    );
    assert_eq!(names(&state), ["old", "new", "mail", "web"]);
    assert_eq!(state.dashboard.load, LoadStatus::Loading);
    update(
        &mut state,
        reply(JobId(999), Event::InventoryLoaded(Err(failure("who?")))),
    );
    assert_eq!(state.dashboard.load, LoadStatus::Loading);
    update(
        &mut state,
        reply(
            awaited,
            Event::InventoryLoaded(Err(failure("disk on fire"))),
        ),
    );
    assert_eq!(
        state.dashboard.load,
        LoadStatus::Failed("disk on fire".into())
    );
    assert_eq!(
        state.dashboard.rows.len(),
        4,
        "rows kept after a failed reload"
    );
    assert!(!state.busy());
}

#[test]
fn movement_is_clamped_and_pages() {
    let mut state = loaded();
    let steps = [
        (key('j'), 1),
        (code(KeyCode::Down), 2),
        (key('j'), 3),
        (key('j'), 3),
        (key('k'), 2),
        (key('G'), 3),
        (key('g'), 0),
        (code(KeyCode::PageDown), 3),
        (code(KeyCode::PageUp), 0),
    ];
    for (msg, expected) in steps {
        assert_eq!(update(&mut state, msg.clone()), []);
        assert_eq!(state.dashboard.selected, expected, "after {msg:?}");
    }
    let mut empty = State::new();
    update(&mut empty, key('j'));
    update(&mut empty, key('G'));
    assert_eq!(empty.dashboard.selected, 0);
}

#[test]
fn scrolling_follows_the_selection_with_many_rows() {
    let mut state = State::new();
    let (id, _) = started(&update(&mut state, Msg::Action(Action::Refresh)));
    let mut many = inventory();
    many.rows = (0..1000)
        .map(|i| row(&format!("c{i:04}"), Some(i), CertStatus::Valid))
        .collect();
    update(&mut state, reply(id, Event::InventoryLoaded(Ok(many))));
    update(&mut state, key('G'));
    let page = crate::tui::screens::dashboard::page(&state);
    assert_eq!(state.dashboard.selected, 999);
    assert_eq!(state.dashboard.offset, 1000 - page);
    update(&mut state, key('g'));
    assert_eq!(state.dashboard.offset, 0);
    update(&mut state, Msg::Resize(120, 40));
    update(&mut state, key('G'));
    assert!(crate::tui::screens::dashboard::page(&state) > page);
}

#[test]
fn filter_narrows_and_clears() {
    let mut state = loaded();
    assert_eq!(update(&mut state, key('/')), []);
    assert!(state.dashboard.filtering);
    typed(&mut state, "ma");
    assert_eq!(names(&state), ["mail"]);
    // While filtering, letters are text, not actions.
    typed(&mut state, "q");
    assert_eq!(names(&state), Vec::<&str>::new());
    update(&mut state, code(KeyCode::Backspace));
    update(&mut state, code(KeyCode::Enter));
    assert!(!state.dashboard.filtering);
    assert_eq!(state.dashboard.filter.value(), "ma");
    assert_eq!(update(&mut state, key('j')), []);
    assert_eq!(state.dashboard.selected_row().unwrap().name, "mail");
    update(&mut state, code(KeyCode::Esc));
    assert_eq!(names(&state).len(), 4);
    // Names match too.
    update(&mut state, key('/'));
    typed(&mut state, "old.example");
    assert_eq!(names(&state), ["old"]);
    update(&mut state, code(KeyCode::Esc));
    assert!(state.dashboard.filter.value().is_empty());
}

#[test]
fn tab_switches_panes_and_keys_follow_the_pane() {
    let mut state = loaded();
    update(&mut state, code(KeyCode::Tab));
    assert_eq!(state.dashboard.pane, Pane::Domains);
    update(&mut state, key('j'));
    assert_eq!(state.dashboard.domain_selected, 0);
    assert_eq!(state.dashboard.selected, 0);
    // Enter on a domain edits its solver, it does not open a certificate.
    assert_eq!(update(&mut state, code(KeyCode::Enter)), []);
    assert!(matches!(state.stack.as_slice(), [Screen::Provider(_)]));
    update(&mut state, code(KeyCode::Esc));
    assert!(state.stack.is_empty());
    update(&mut state, code(KeyCode::Tab));
    assert_eq!(state.dashboard.pane, Pane::Certificates);
}

#[test]
fn mouse_click_selects_then_opens_and_wheel_scrolls() {
    let mut state = loaded();
    let click = |row| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 10,
            row,
            modifiers: crossterm::event::KeyModifiers::NONE,
        })
    };
    // Row 0 of the table is at y = 2 (border, header).
    assert_eq!(update(&mut state, click(4)), []);
    assert_eq!(state.dashboard.selected, 2);
    let (_, job) = started(&update(&mut state, click(4)));
    assert_eq!(
        job,
        Job::LoadDetail {
            name: "mail".into()
        }
    );
    assert!(matches!(state.screen(), Some(Screen::Detail(_))));
    update(&mut state, code(KeyCode::Esc));
    // Below the last row: nothing.
    update(&mut state, click(12));
    assert_eq!(state.dashboard.selected, 2);
    let wheel = Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollUp,
        column: 0,
        row: 0,
        modifiers: crossterm::event::KeyModifiers::NONE,
    });
    update(&mut state, wheel);
    assert_eq!(state.dashboard.selected, 0);
}

#[test]
fn delete_asks_then_removes_or_purges() {
    let mut state = loaded();
    select(&mut state, "web");
    assert_eq!(update(&mut state, key('d')), []);
    assert!(state.popup.is_some());
    // Other keys do nothing while asking.
    assert_eq!(update(&mut state, key('j')), []);
    update(&mut state, key('n'));
    assert!(state.popup.is_none());
    update(&mut state, key('d'));
    let (id, job) = started(&update(&mut state, key('p')));
    assert_eq!(
        job,
        Job::DeleteCertificate {
            name: "web".into(),
            purge: true
        }
    );
    let (reload, job) = started(&update(
        &mut state,
        reply(id, Event::CertificateDeleted(Ok("web".into()))),
    ));
    assert_eq!(job, Job::LoadInventory);
    assert!(state.notice.as_ref().unwrap().0.contains("web deleted"));
    assert!(state.running.contains_key(&reload));
}
