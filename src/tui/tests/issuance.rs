use std::time::Duration;

use crossterm::event::KeyCode;
use time::macros::datetime;

use super::*;
use crate::acme::Step;
use crate::jobs::issue::{IssueFailure, Issued};
use crate::solver::ChallengeRecord;
use crate::tui::screens::issuance::End;
use crate::tui::state::{Confirmed, Popup, Screen};

fn record() -> ChallengeRecord {
    ChallengeRecord {
        identifier: "new.example.test".into(),
        fqdn: "_acme-challenge.new.example.test.".into(),
        value: "tXtVaLuE".into(),
    }
}

fn progress(id: JobId, step: Step, ms: u64) -> Msg {
    reply(
        id,
        Event::IssueProgress {
            step,
            elapsed: Duration::from_millis(ms),
        },
    )
}

fn issuing(state: &mut State, cert: &str) -> JobId {
    select(state, cert);
    let (id, job) = started(&update(state, key('i')));
    assert_eq!(job, Job::Issue { cert: cert.into() });
    assert!(matches!(state.screen(), Some(Screen::Issuance { cert: c }) if c == cert));
    id
}

#[test]
fn steps_fill_the_checklist_and_success_reloads() {
    let mut state = loaded();
    let id = issuing(&mut state, "new");
    update(&mut state, progress(id, Step::AccountReady, 100));
    update(
        &mut state,
        progress(
            id,
            Step::OrderCreated {
                url: "u".into(),
                pending: 1,
            },
            400,
        ),
    );
    update(
        &mut state,
        progress(
            id,
            Step::RecordsPublished {
                records: vec![record()],
            },
            1_400,
        ),
    );
    let issuance = &state.issuances["new"];
    assert_eq!(issuance.records, [record()]);
    let spent: Vec<_> = issuance.durations();
    assert_eq!(
        spent,
        [
            (0, Duration::from_millis(100)),
            (1, Duration::from_millis(300)),
            (2, Duration::from_secs(1))
        ]
    );
    // The UI's own rounds start after a while unless the engine reports rounds itself.
    assert_eq!(
        update(&mut state, Msg::Tick(Duration::from_millis(1_500))),
        []
    );
    let effects = update(&mut state, Msg::Tick(Duration::from_millis(3_100)));
    let (watch_id, job) = started(&effects);
    assert!(matches!(job, Job::CheckPropagation { ref key, .. } if key == "issue:new"));
    assert_eq!(
        state.issuances["new"].watch.as_ref().unwrap().job,
        Some(watch_id)
    );
    update(&mut state, progress(id, Step::RecordsVisible, 3_000));
    assert_eq!(
        state.issuances["new"].watch.as_ref().unwrap().next,
        None,
        "stops refreshing"
    );
    finish_successfully(&mut state, id);
}

/// Copy the records, then the success answer: the dashboard reloads, nothing is running.
fn finish_successfully(state: &mut State, id: JobId) {
    assert_eq!(
        update(state, key('y')),
        [Effect::Copy(record().zone_line())]
    );
    let issued = Issued {
        serial: "4f1c".into(),
        not_after: datetime!(2030-01-01 00:00 UTC),
        elapsed: Duration::from_secs(4),
        deploy: String::new(),
        deploy_failed: false,
    };
    let effects = update(state, reply(id, Event::IssueFinished(Ok(issued.clone()))));
    assert_eq!(started(&effects).1, Job::LoadInventory);
    assert_eq!(state.issuances["new"].end, Some(End::Issued(issued)));
    assert!(state.work_in_progress().is_empty());
    update(state, code(KeyCode::Esc));
    assert!(state.stack.is_empty());
}

#[test]
fn esc_leaves_it_running_x_cancels_after_a_yes_and_late_steps_still_count() {
    let mut state = loaded();
    let id = issuing(&mut state, "new");
    update(
        &mut state,
        progress(
            id,
            Step::OrderCreated {
                url: "u".into(),
                pending: 1,
            },
            400,
        ),
    );
    // Esc leaves at once and cancels nothing: the job goes on in the background.
    assert_eq!(update(&mut state, code(KeyCode::Esc)), []);
    assert!(state.stack.is_empty());
    assert!(state.running.contains_key(&id), "the job still answers");
    assert!(state.notice.as_ref().unwrap().0.contains("background"));
    update(
        &mut state,
        progress(
            id,
            Step::RecordsPublished {
                records: vec![record()],
            },
            900,
        ),
    );
    assert_eq!(
        state.issuances["new"].records,
        [record()],
        "answers still land"
    );
    // Back through the jobs view; x asks first, n keeps it running.
    update(&mut state, key('J'));
    assert!(matches!(state.screen(), Some(Screen::Jobs(_))));
    update(&mut state, code(KeyCode::Enter));
    assert!(matches!(state.screen(), Some(Screen::Issuance { cert }) if cert == "new"));
    assert_eq!(update(&mut state, key('x')), []);
    assert!(matches!(
        state.popup,
        Some(Popup::Confirm { yes: Confirmed::CancelIssue { ref cert }, .. }) if cert == "new"
    ));
    assert_eq!(update(&mut state, key('n')), []);
    assert!(!state.issuances["new"].cancelling);
    update(&mut state, key('x'));
    assert_eq!(update(&mut state, key('y')), [Effect::Cancel { id }]);
    assert!(state.issuances["new"].cancelling);
    let cancelled = IssueFailure {
        message: "cancelled; 1 challenge record(s) removed".into(),
        hint: None,
        cancelled: true,
    };
    update(
        &mut state,
        reply(id, Event::IssueFinished(Err(cancelled.clone()))),
    );
    assert_eq!(state.issuances["new"].end, Some(End::Failed(cancelled)));
    // On a finished screen r and i order nothing (r refreshes the dashboard, as everywhere);
    // I asks first, then starts a new job.
    let (_, reload) = started(&update(&mut state, key('r')));
    assert_eq!(reload, Job::LoadInventory);
    assert_eq!(update(&mut state, key('i')), []);
    assert_eq!(update(&mut state, key('I')), []);
    assert!(matches!(state.popup, Some(Popup::Confirm { .. })));
    assert_eq!(update(&mut state, key('n')), []);
    update(&mut state, key('I'));
    let (again, _) = started(&update(&mut state, key('y')));
    assert_ne!(again, id);
    update(&mut state, progress(id, Step::Validated, 5_000));
    assert!(
        state.issuances["new"].steps.is_empty(),
        "stale step ignored"
    );
    // One screen per issuance: the first Esc leaves it (back to the jobs view).
    update(&mut state, code(KeyCode::Esc));
    assert!(
        matches!(state.screen(), Some(Screen::Jobs(_))),
        "{:?}",
        state.stack
    );
    update(&mut state, code(KeyCode::Esc));
    assert!(state.stack.is_empty());
}

#[test]
fn failure_shows_the_problem_and_a_valid_certificate_asks_first() {
    let mut state = loaded();
    let id = issuing(&mut state, "old");
    let failure = IssueFailure {
        message: "the CA could not validate:\nold.example.test: urn:ietf:params:acme:error:unauthorized: no TXT\n  hint: check".into(),
        hint: None,
        cancelled: false,
    };
    update(&mut state, reply(id, Event::IssueFinished(Err(failure))));
    assert!(state.notice.as_ref().unwrap().0.contains("failed"));
    update(&mut state, code(KeyCode::Esc));
    select(&mut state, "web");
    assert_eq!(update(&mut state, key('i')), []);
    assert!(
        matches!(&state.popup, Some(Popup::Confirm { question, .. }) if question.contains("Renew web"))
    );
    let (_, job) = started(&update(&mut state, key('y')));
    assert_eq!(job, Job::Issue { cert: "web".into() });
    // While it runs, `i` again only shows it.
    update(&mut state, code(KeyCode::Esc));
    update(&mut state, code(KeyCode::Esc));
    assert_eq!(update(&mut state, key('i')), []);
    assert!(matches!(state.screen(), Some(Screen::Issuance { cert }) if cert == "web"));
}

#[test]
fn engine_propagation_rounds_fill_the_matrix_without_extra_queries() {
    use crate::dns::probe::Status;
    let mut state = loaded();
    let id = issuing(&mut state, "new");
    update(
        &mut state,
        progress(
            id,
            Step::RecordsPublished {
                records: vec![record()],
            },
            900,
        ),
    );
    let report = super::propagation::report([Status::Match, Status::Missing]);
    update(
        &mut state,
        progress(id, Step::Propagation(Box::new(report)), 1_900),
    );
    let issuance = &state.issuances["new"];
    let watch = issuance.watch.as_ref().unwrap();
    assert_eq!(watch.next, None, "the engine's rounds replace the UI's");
    assert_eq!(watch.matrix.rows().len(), 2);
    assert!(!watch.matrix.propagated());
    assert_eq!(
        issuance.durations().len(),
        1,
        "a round is not a checklist step"
    );
    assert_eq!(update(&mut state, Msg::Tick(Duration::from_secs(10))), []);
    // The round counts as a check of the domain in the domains pane (LAST CHECK).
    assert_eq!(
        state.dashboard.checks.get("example.test"),
        Some(&(Duration::ZERO, false))
    );
}

#[test]
fn manual_records_are_asked_for_in_a_popup() {
    let mut state = loaded();
    let id = issuing(&mut state, "new");
    update(
        &mut state,
        reply(id, Event::RecordsToCreate(vec![record()])),
    );
    let line = "_acme-challenge.new.example.test. 60 IN TXT \"tXtVaLuE\"".to_owned();
    assert_eq!(
        state.popup,
        Some(Popup::Records {
            cert: "new".into(),
            job: id,
            lines: vec![line.clone()],
        })
    );
    // Keys go to the popup: y copies, other keys do nothing, Enter answers yes.
    assert_eq!(update(&mut state, key('y')), [Effect::Copy(line)]);
    assert_eq!(update(&mut state, key('q')), []);
    assert!(state.popup.is_some());
    assert_eq!(
        update(&mut state, code(KeyCode::Enter)),
        [Effect::Answer { id, yes: true }]
    );
    assert_eq!(state.popup, None);
    assert!(state.issuances["new"].running());
    // Asked again (e.g. another solver's records), Esc cancels the order.
    update(
        &mut state,
        reply(id, Event::RecordsToCreate(vec![record()])),
    );
    assert_eq!(
        update(&mut state, code(KeyCode::Esc)),
        [Effect::Cancel { id }]
    );
    assert_eq!(state.popup, None);
    assert!(state.issuances["new"].cancelling);
    // A question from a job nobody waits for is dropped.
    update(
        &mut state,
        reply(JobId(999), Event::RecordsToCreate(vec![record()])),
    );
    assert_eq!(state.popup, None);
    let failure = IssueFailure {
        message: "cancelled; the order was abandoned".into(),
        hint: None,
        cancelled: true,
    };
    update(&mut state, reply(id, Event::IssueFinished(Err(failure))));
    assert!(!state.issuances["new"].running());
}

#[test]
fn the_popup_closes_when_the_issuance_ends_first() {
    let mut state = loaded();
    let id = issuing(&mut state, "new");
    update(
        &mut state,
        reply(id, Event::RecordsToCreate(vec![record()])),
    );
    let failure = IssueFailure {
        message: "order expired".into(),
        hint: None,
        cancelled: false,
    };
    update(&mut state, reply(id, Event::IssueFinished(Err(failure))));
    assert_eq!(state.popup, None);
}
