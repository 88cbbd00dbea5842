//! Background work: marks, the bulk renewal bounded by `settings.parallel` (2 in the
//! fixture), the jobs view, stale answers of superseded issuances, step timers.

use std::time::Duration;

use crossterm::event::KeyCode;
use time::macros::datetime;

use super::*;
use crate::acme::Step;
use crate::jobs::issue::Issued;
use crate::tui::screens::jobs::{self, Phase};
use crate::tui::state::{Confirmed, Popup, Screen};

fn issued() -> Issued {
    Issued {
        serial: "4f1c".into(),
        not_after: datetime!(2030-01-01 00:00 UTC),
        elapsed: Duration::from_secs(4),
        deploy: String::new(),
        deploy_failed: false,
    }
}

/// Every issuance job started by `effects`: (id, certificate).
fn issues(effects: &[Effect]) -> Vec<(JobId, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Start {
                id,
                job: Job::Issue { cert },
            } => Some((*id, cert.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn space_marks_and_unmarks_and_moves_down() {
    let mut state = loaded();
    assert_eq!(names(&state), ["old", "new", "mail", "web"]);
    update(&mut state, key(' '));
    update(&mut state, key(' '));
    assert_eq!(state.dashboard.selected, 2);
    let marked: Vec<&str> = state.dashboard.marked.iter().map(String::as_str).collect();
    assert_eq!(marked, ["new", "old"]);
    update(&mut state, key('k'));
    update(&mut state, key(' '));
    let marked: Vec<&str> = state.dashboard.marked.iter().map(String::as_str).collect();
    assert_eq!(marked, ["old"]);
    // A reload keeps marks of certificates that still exist.
    let effects = update(&mut state, key('r'));
    let (id, _) = started(&effects);
    let mut fewer = inventory();
    fewer.rows.retain(|r| r.name != "old");
    update(&mut state, reply(id, Event::InventoryLoaded(Ok(fewer))));
    assert!(state.dashboard.marked.is_empty());
}

#[test]
fn r_renews_the_marked_after_one_yes_at_most_parallel_at_once() {
    let mut state = loaded();
    select(&mut state, "new");
    for _ in 0..3 {
        update(&mut state, key(' '));
    }
    assert_eq!(update(&mut state, key('R')), []);
    let Some(Popup::Confirm {
        question,
        yes: Confirmed::Bulk { certs },
        ..
    }) = state.popup.clone()
    else {
        panic!("{:?}", state.popup);
    };
    assert_eq!(question, "Renew 3 marked certificates?");
    assert_eq!(certs, ["new", "mail", "web"]);
    // n keeps everything as it was.
    assert_eq!(update(&mut state, key('n')), []);
    assert_eq!(state.dashboard.marked.len(), 3);
    update(&mut state, key('R'));
    let effects = update(&mut state, key('y'));
    let first = issues(&effects);
    assert_eq!(first.len(), 2, "settings.parallel = 2: {effects:?}");
    assert!(state.dashboard.marked.is_empty());
    assert!(state.stack.is_empty(), "bulk work stays in the background");
    assert_eq!(jobs::counts(&state), (2, 1));
    assert_eq!(
        crate::tui::views::statusbar::running_indicator(&state).as_deref(),
        Some("⟳ 2 running · 1 queued")
    );
    // One ends: the queued one starts, and the dashboard reloads.
    let (done, _) = first[0].clone();
    let effects = update(&mut state, reply(done, Event::IssueFinished(Ok(issued()))));
    let next = issues(&effects);
    assert_eq!(next.len(), 1, "{effects:?}");
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Start {
            job: Job::LoadInventory,
            ..
        }
    )));
    assert_eq!(jobs::counts(&state), (2, 0));
    // The jobs view lists all three; Enter opens the selected one's screen.
    update(&mut state, key('J'));
    let listed: Vec<(&str, Phase)> = jobs::listed(&state)
        .iter()
        .map(|i| (i.cert.as_str(), jobs::phase(i)))
        .collect();
    assert_eq!(
        listed,
        [
            ("new", Phase::Done),
            ("mail", Phase::Running),
            ("web", Phase::Running),
        ]
    );
    update(&mut state, key('j'));
    update(&mut state, code(KeyCode::Enter));
    assert!(matches!(state.screen(), Some(Screen::Issuance { cert }) if cert == "mail"));
}

#[test]
fn r_without_marks_renews_what_is_due_and_nothing_due_says_so() {
    let mut state = loaded();
    update(&mut state, key('R'));
    assert!(matches!(
        &state.popup,
        Some(Popup::Confirm { yes: Confirmed::Bulk { certs }, .. }) if certs == &["old", "new", "mail"]
    ));
    update(&mut state, code(KeyCode::Esc));
    let mut state2 = State::new();
    let (id, _) = started(&update(&mut state2, Msg::Action(Action::Refresh)));
    let mut valid = inventory();
    valid.rows.retain(|r| r.name == "web");
    update(&mut state2, reply(id, Event::InventoryLoaded(Ok(valid))));
    assert_eq!(update(&mut state2, key('R')), []);
    assert!(state2.popup.is_none());
    assert!(state2.notice.as_ref().unwrap().0.contains("nothing is due"));
}

#[test]
fn answers_of_several_issuances_do_not_mix_and_cancelled_queued_ones_never_start() {
    let mut state = loaded();
    select(&mut state, "old");
    for _ in 0..3 {
        update(&mut state, key(' '));
    }
    update(&mut state, key('R'));
    let started = issues(&update(&mut state, key('y')));
    let [(old, _), (new, _)] = started.as_slice() else {
        panic!("{started:?}");
    };
    update(
        &mut state,
        reply(
            *new,
            Event::IssueProgress {
                step: Step::AccountReady,
                elapsed: Duration::from_millis(10),
            },
        ),
    );
    assert!(state.issuances["old"].steps.is_empty());
    assert_eq!(state.issuances["new"].steps.len(), 1);
    // Cancel the queued one from the jobs view (third row): it never starts.
    update(&mut state, key('J'));
    update(&mut state, key('G'));
    update(&mut state, key('x'));
    assert_eq!(update(&mut state, key('y')), []);
    assert_eq!(jobs::phase(&state.issuances["mail"]), Phase::Cancelled);
    let effects = update(&mut state, reply(*old, Event::IssueFinished(Ok(issued()))));
    assert!(issues(&effects).is_empty(), "{effects:?}");
    // A late answer of the finished job is stale.
    update(
        &mut state,
        reply(
            *old,
            Event::IssueProgress {
                step: Step::Validated,
                elapsed: Duration::from_secs(9),
            },
        ),
    );
    assert!(state.issuances["old"].steps.is_empty());
}

#[test]
fn a_step_timer_starts_when_the_step_starts() {
    let mut state = loaded();
    update(&mut state, Msg::Tick(Duration::from_secs(10)));
    select(&mut state, "new");
    let (id, _) = started(&update(&mut state, key('i')));
    update(&mut state, Msg::Tick(Duration::from_secs(11)));
    update(
        &mut state,
        reply(
            id,
            Event::IssueProgress {
                step: Step::AccountReady,
                elapsed: Duration::from_millis(900),
            },
        ),
    );
    update(&mut state, Msg::Tick(Duration::from_millis(12_200)));
    let issuance = &state.issuances["new"];
    assert_eq!(
        state.clock.saturating_sub(issuance.step_started),
        Duration::from_millis(1_200)
    );
}

#[test]
fn the_selection_follows_a_saved_certificate() {
    let mut state = loaded();
    select(&mut state, "old");
    state.dashboard.follow = Some("web".into());
    let (id, _) = started(&update(&mut state, key('r')));
    update(
        &mut state,
        reply(id, Event::InventoryLoaded(Ok(inventory()))),
    );
    assert_eq!(state.dashboard.selected_row().unwrap().name, "web");
}

#[test]
fn a_finished_issuance_reloads_its_open_detail() {
    let mut state = loaded();
    select(&mut state, "new");
    update(&mut state, code(KeyCode::Enter));
    let (id, _) = started(&update(&mut state, key('i')));
    update(&mut state, code(KeyCode::Esc));
    assert!(matches!(state.screen(), Some(Screen::Detail(_))));
    let effects = update(&mut state, reply(id, Event::IssueFinished(Ok(issued()))));
    assert!(effects.iter().any(
        |e| matches!(e, Effect::Start { job: Job::LoadDetail { name }, .. } if name == "new")
    ));
}

#[test]
fn a_click_on_the_running_indicator_opens_the_jobs_view() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let mut state = loaded();
    let click = Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 70,
        row: 23,
        modifiers: KeyModifiers::NONE,
    });
    update(&mut state, click.clone());
    assert!(state.stack.is_empty(), "nothing runs: no indicator");
    select(&mut state, "new");
    update(&mut state, key('i'));
    update(&mut state, code(KeyCode::Esc));
    // The notice hides the indicator until it expires.
    update(&mut state, Msg::Tick(Duration::from_secs(30)));
    update(&mut state, click);
    assert!(matches!(state.screen(), Some(Screen::Jobs(_))));
}
