//! The acme-dns server screen: form, start, parent checks, registrations, stop; stale
//! answers; clicks.

use std::net::IpAddr;
use std::time::Duration;

use crossterm::event::{KeyCode, MouseButton, MouseEvent, MouseEventKind};

use super::*;
use crate::acmedns::CnameRecord;
use crate::dns::parent::{parent_records, Answer, RecordCheck, Verdict};
use crate::jobs::acmedns::Delegation;
use crate::jobs::server::ServerInfo;
use crate::tui::screens::server::{ServerPanel, Stage, CHECK_EVERY};
use crate::tui::state::Screen;

fn panel(state: &State) -> &ServerPanel {
    state.server.as_ref().expect("server panel")
}

fn info() -> ServerInfo {
    let address = IpAddr::from([127, 0, 210, 5]);
    ServerInfo {
        zone: "acme.example.test".into(),
        nameserver: "ns1.acme.example.test".into(),
        address,
        dns: vec!["127.0.0.1:5353".parse().unwrap()],
        url: "http://127.0.0.1:8053".into(),
        records: parent_records("acme.example.test", "ns1.acme.example.test", address).unwrap(),
    }
}

fn checks(verdict: &Verdict) -> Vec<RecordCheck> {
    info()
        .records
        .into_iter()
        .map(|record| RecordCheck {
            record,
            zone: "example.test".into(),
            answers: vec![Answer {
                server: "ns.example.test".into(),
                address: IpAddr::from([127, 0, 210, 1]),
                verdict: verdict.clone(),
            }],
        })
        .collect()
}

fn click(column: u16, row: u16) -> Msg {
    Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: crossterm::event::KeyModifiers::NONE,
    })
}

/// The form filled in and submitted: (state, server job).
fn starting() -> (State, JobId) {
    let mut state = loaded();
    assert_eq!(update(&mut state, key('S')), []);
    assert_eq!(state.screen(), Some(&Screen::Server));
    assert_eq!(panel(&state).form.focused_id(), "zone");
    typed(&mut state, "acme.example.test");
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "ns1.acme.example.test");
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "127.0.210.x");
    assert!(panel(&state).form.field("address").unwrap().error.is_some());
    assert_eq!(update(&mut state, code(KeyCode::Enter)), []);
    assert_eq!(
        panel(&state).error.as_deref(),
        Some("fix the marked fields first")
    );
    update(&mut state, code(KeyCode::Backspace));
    typed(&mut state, "5");
    assert!(!panel(&state).form.has_errors());
    let effects = update(&mut state, code(KeyCode::Enter));
    let (id, job) = started(&effects);
    let Job::RunAcmeDnsServer(request) = job else {
        panic!("{job:?}")
    };
    assert_eq!(request.address, "127.0.210.5");
    assert_eq!(request.dns_listen, "0.0.0.0:53");
    assert_eq!(panel(&state).stage, Stage::Starting(id));
    (state, id)
}

/// Started: (state, server job, parent check job, registration job).
fn running() -> (State, JobId, JobId, JobId) {
    let (mut state, server) = starting();
    let effects = update(&mut state, reply(server, Event::ServerStarted(info())));
    let jobs: Vec<(JobId, Job)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Start { id, job } => Some((*id, job.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(jobs.len(), 2, "{effects:?}");
    assert_eq!(
        jobs[0].1,
        Job::CheckParentRecords {
            records: info().records
        }
    );
    assert!(
        matches!(&jobs[1].1, Job::RegisterOnServer { url, .. } if url == "http://127.0.0.1:8053")
    );
    (state, server, jobs[0].0, jobs[1].0)
}

#[test]
fn parent_records_are_checked_until_served() {
    let (mut state, _, check, _) = running();
    assert!(matches!(panel(&state).stage, Stage::Running { .. }));
    update(
        &mut state,
        reply(check, Event::ParentChecked(Ok(checks(&Verdict::Missing)))),
    );
    assert!(!panel(&state).check(0).unwrap().ok());
    assert_eq!(panel(&state).next_check, Some(state.clock + CHECK_EVERY));
    assert!(state.needs_tick());
    // Not due yet, then due: one new round.
    assert_eq!(update(&mut state, Msg::Tick(Duration::from_secs(1))), []);
    let effects = update(&mut state, Msg::Tick(CHECK_EVERY + Duration::from_secs(1)));
    let (again, _) = started(&effects);
    // The first round's late answer is stale.
    update(
        &mut state,
        reply(check, Event::ParentChecked(Ok(checks(&Verdict::Served)))),
    );
    assert!(!panel(&state).check(0).unwrap().ok());
    update(
        &mut state,
        reply(again, Event::ParentChecked(Ok(checks(&Verdict::Served)))),
    );
    assert!(panel(&state).check(0).unwrap().ok() && panel(&state).check(1).unwrap().ok());
    assert_eq!(panel(&state).next_check, None, "served: no more rounds");
    // y copies the selected record as a zone-file line.
    let effects = update(&mut state, key('y'));
    assert_eq!(
        effects,
        [Effect::Copy(
            "acme.example.test. IN NS ns1.acme.example.test.".into()
        )]
    );
}

#[test]
fn registrations_get_a_live_check_and_clicks_select_rows() {
    let (mut state, _, _, register) = running();
    let delegation = |domain: &str| Delegation {
        server: "http://127.0.0.1:8053".into(),
        record: CnameRecord::new(domain, &format!("{domain}-uuid.acme.example.test")),
        mapped: true,
    };
    let effects = update(
        &mut state,
        reply(
            register,
            Event::ServerRegistered(Ok(vec![delegation("a.test"), delegation("b.test")])),
        ),
    );
    assert_eq!(
        started(&effects).1,
        Job::LoadInventory,
        "the dashboard shows the mapping"
    );
    assert_eq!(panel(&state).rows(), 4);
    // Row 3 of the body (status, heading, two records, heading): the first CNAME.
    update(&mut state, click(10, 1 + 5));
    assert_eq!(panel(&state).selected, 2);
    let watch = panel(&state)
        .watch
        .as_ref()
        .expect("live check of the CNAME");
    assert!(watch.due(state.clock));
    let effects = update(&mut state, Msg::Tick(Duration::from_millis(100)));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Start {
            job: Job::CheckPropagation { .. },
            ..
        }
    )));
    update(&mut state, key('j'));
    assert_eq!(panel(&state).selected, 3);
    assert_eq!(
        update(&mut state, key('y')),
        [Effect::Copy(
            "_acme-challenge.b.test. IN CNAME b.test-uuid.acme.example.test.".into()
        )]
    );
    update(&mut state, click(10, 1 + 2));
    assert_eq!(panel(&state).selected, 0, "a click on the NS record");
    assert!(panel(&state).watch.is_none());
}

#[test]
fn leaving_keeps_the_server_and_d_stops_it() {
    let (mut state, server, check, _) = running();
    update(&mut state, code(KeyCode::Esc));
    assert_eq!(state.screen(), None);
    assert!(state.running.contains_key(&server), "still running");
    assert_eq!(update(&mut state, key('S')), []);
    assert!(
        matches!(panel(&state).stage, Stage::Running { .. }),
        "as it was left"
    );
    let effects = update(&mut state, key('d'));
    assert_eq!(effects[0], Effect::Cancel { id: server });
    assert!(effects.contains(&Effect::Cancel { id: check }));
    assert_eq!(panel(&state).stage, Stage::Stopping(server));
    update(&mut state, reply(server, Event::ServerStopped(Ok(()))));
    assert_eq!(panel(&state).stage, Stage::Edit);
    assert!(!state.busy());
}

#[test]
fn a_server_that_cannot_start_shows_why_and_quitting_asks_while_it_runs() {
    let (mut state, server) = starting();
    let message = "cannot listen on DNS/UDP 0.0.0.0:53: permission denied".to_owned();
    update(
        &mut state,
        reply(server, Event::ServerStopped(Err(failure(&message)))),
    );
    assert_eq!(panel(&state).stage, Stage::Edit);
    assert_eq!(panel(&state).error.as_ref(), Some(&message));
    assert!(
        matches!(&state.popup, Some(crate::tui::state::Popup::Error { message: m, .. }) if *m == message)
    );
    // A stale start after the failure changes nothing.
    assert_eq!(
        update(&mut state, reply(server, Event::ServerStarted(info()))),
        []
    );
    assert_eq!(panel(&state).stage, Stage::Edit);
    let (mut state, _, _, _) = running();
    assert_eq!(update(&mut state, key('q')), []);
    assert!(
        state.popup.is_some(),
        "quitting stops the server: asks first"
    );
}

#[test]
fn clicks_focus_form_fields_on_every_form_screen() {
    let mut state = loaded();
    update(&mut state, key('S'));
    // Line 0: config file, line 1: its note, line 2: zone, line 3: nameserver.
    update(&mut state, click(5, 1 + 3));
    assert_eq!(panel(&state).form.focused_id(), "nameserver");
    update(&mut state, click(5, 1));
    assert_eq!(panel(&state).form.focused_id(), "config_file");
    update(&mut state, code(KeyCode::Esc));
    update(&mut state, key('a'));
    let Some(Screen::Editor(editor)) = state.screen() else {
        panic!("editor")
    };
    let second = editor.form.field_at(1).unwrap_or(0);
    update(&mut state, click(5, 1 + 1));
    let Some(Screen::Editor(editor)) = state.screen() else {
        panic!("editor")
    };
    assert_eq!(editor.form.focus, second);
}
