use std::net::IpAddr;
use std::time::Duration;

use crossterm::event::KeyCode;

use super::*;
use crate::dns::probe::{HopRule, ProbeResult, Status};
use crate::dns::report::{HopReport, NameReport};
use crate::dns::zone::{NameServer, ServerAddress, Zone};
use crate::dns::{Expectation, ProbeEvent, PropagationReport};
use crate::jobs::propagation::Target;
use crate::tui::state::Screen;
use crate::tui::watch::{Cell, Watch};

const OWNER: &str = "_acme-challenge.new.example.test";

fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 31, last])
}

pub fn zone() -> Zone {
    Zone {
        apex: "example.test".into(),
        servers: ["ns1", "ns2"]
            .iter()
            .enumerate()
            .map(|(i, host)| NameServer {
                host: format!("{host}.example.test"),
                addresses: vec![ServerAddress {
                    ip: ip(2 + u8::try_from(i).unwrap()),
                    glue: true,
                }],
                problem: None,
                listing: crate::dns::delegation::Listing::default(),
            })
            .collect(),
    }
}

pub fn result(last: u8, status: Status) -> ProbeResult {
    ProbeResult {
        server: format!("ns{}.example.test", last - 1),
        address: ip(last),
        status,
        values: if status == Status::Match {
            vec!["tok".into()]
        } else {
            Vec::new()
        },
        cname: None,
        ttl: Some(60),
        serial: Some(7),
        primary: None,
        negative_ttl: None,
        rtt_us: Some(2100),
        tcp: false,
        beside_cname: false,
        detail: None,
    }
}

pub fn report(statuses: [Status; 2]) -> PropagationReport {
    let expected = Expectation::new(OWNER, Vec::new(), None);
    let hop = HopReport {
        name: OWNER.into(),
        zone: zone(),
        rule: HopRule::Txt { values: Vec::new() },
        leads_to: None,
        results: vec![result(2, statuses[0]), result(3, statuses[1])],
    };
    let mut name = NameReport::new(&expected);
    name.hops.push(hop);
    PropagationReport::new(vec![name], Vec::new(), 4, 12)
}

fn watch(state: &State) -> &Watch {
    match state.screen() {
        Some(Screen::Propagation(p)) => &p.watch,
        other => panic!("not the matrix: {other:?}"),
    }
}

fn discovered() -> Event {
    Event::Probe(ProbeEvent::ZoneDiscovered {
        owner: OWNER.into(),
        hop: 0,
        name: OWNER.into(),
        zone: zone(),
        rule: HopRule::Txt { values: Vec::new() },
    })
}

#[test]
fn cells_start_pending_fill_in_live_and_refresh_counts_down() {
    let mut state = loaded();
    select(&mut state, "new");
    let (id, job) = started(&update(&mut state, key('c')));
    assert_eq!(
        job,
        Job::CheckPropagation {
            key: "screen".into(),
            target: Target::Names(vec!["new.example.test".into()])
        }
    );
    assert_eq!(watch(&state).matrix.owners, [OWNER]);
    update(&mut state, reply(id, discovered()));
    assert_eq!(watch(&state).matrix.rows().len(), 2);
    assert!(watch(&state)
        .matrix
        .cells
        .values()
        .all(|c| *c == Cell::Pending));
    let answered = ProbeEvent::NameserverAnswered {
        owner: OWNER.into(),
        hop: 0,
        result: result(2, Status::Match),
    };
    update(&mut state, reply(id, Event::Probe(answered)));
    let cells: Vec<_> = watch(&state).matrix.cells.values().cloned().collect();
    assert!(matches!(&cells[0], Cell::Answered(r) if r.status == Status::Match));
    assert_eq!(cells[1], Cell::Pending);
    update(&mut state, Msg::Tick(Duration::from_secs(1)));
    update(
        &mut state,
        reply(
            id,
            Event::PropagationChecked(Ok(Box::new(report([Status::Match, Status::Missing])))),
        ),
    );
    let w = watch(&state);
    assert_eq!(w.job, None);
    assert_eq!(w.countdown(state.clock), Some(10));
    assert!(w
        .matrix
        .report
        .as_ref()
        .unwrap()
        .verdict()
        .starts_with("NOT propagated (1/2"));
    assert!(state.dashboard.checks.contains_key("example.test"));
    next_rounds(&mut state, id);
}

/// After a round that was not propagated: the countdown, the next round, a stale answer,
/// and no more rounds once propagated.
fn next_rounds(state: &mut State, id: JobId) {
    // Nothing before the countdown ends; a new round after it.
    assert_eq!(update(state, Msg::Tick(Duration::from_secs(5))), []);
    assert_eq!(watch(state).countdown(state.clock), Some(6));
    let (next, _) = started(&update(state, Msg::Tick(Duration::from_secs(11))));
    assert!(
        watch(state)
            .matrix
            .cells
            .values()
            .all(|c| *c == Cell::Pending),
        "a new round starts pending"
    );
    // An answer of the old round is stale.
    update(
        state,
        reply(
            id,
            Event::PropagationChecked(Ok(Box::new(report([Status::Match; 2])))),
        ),
    );
    assert_eq!(watch(state).job, Some(next));
    update(
        state,
        reply(
            next,
            Event::PropagationChecked(Ok(Box::new(report([Status::Match; 2])))),
        ),
    );
    assert!(watch(state).matrix.propagated());
    assert_eq!(watch(state).next, None, "no refresh once propagated");
    assert!(state.dashboard.checks["example.test"].1);
}

#[test]
fn navigation_refresh_copy_and_back_cancels_the_round() {
    let mut state = loaded();
    update(&mut state, code(KeyCode::Tab));
    let (id, job) = started(&update(&mut state, key('c')));
    assert_eq!(
        job,
        Job::CheckPropagation {
            key: "screen".into(),
            target: Target::Names(vec!["example.test".into()])
        }
    );
    update(
        &mut state,
        reply(
            id,
            Event::Probe(ProbeEvent::NameChecked(Box::new(
                report([Status::Match, Status::Missing]).names[0].clone(),
            ))),
        ),
    );
    update(&mut state, key('j'));
    assert_eq!(watch(&state).cursor, (1, 0));
    update(&mut state, key('j'));
    assert_eq!(watch(&state).cursor, (1, 0));
    let copied = update(&mut state, key('y'));
    assert!(
        matches!(&copied[..], [Effect::Copy(text)] if text.contains("ns2.example.test 127.0.31.3 _acme-challenge.example.test=- _acme-challenge.new.example.test=missing")),
        "{copied:?}"
    );
    let (again, _) = started(&update(&mut state, key('r')));
    assert!(!state.running.contains_key(&id), "superseded");
    assert_eq!(
        update(&mut state, code(KeyCode::Esc)),
        [Effect::Cancel { id: again }]
    );
    assert!(state.stack.is_empty());
    assert!(!state.busy());
}

#[test]
fn discovery_failures_and_errors_are_kept() {
    let mut state = loaded();
    let (id, _) = started(&update(&mut state, key('c')));
    let failed = ProbeEvent::DiscoveryFailed {
        owner: "_acme-challenge.old.example.test".into(),
        hop: 0,
        error: "NOTIMP".into(),
    };
    update(&mut state, reply(id, Event::Probe(failed)));
    update(
        &mut state,
        reply(
            id,
            Event::PropagationChecked(Err(failure("no DNS resolver"))),
        ),
    );
    let w = watch(&state);
    assert_eq!(
        w.matrix.failures,
        ["_acme-challenge.old.example.test: NOTIMP"]
    );
    assert_eq!(w.matrix.error.as_deref(), Some("no DNS resolver"));
    assert_eq!(w.countdown(state.clock), Some(10));
}

#[test]
fn a_click_selects_the_matrix_row_under_it() {
    let mut state = loaded();
    select(&mut state, "new");
    let (id, _) = started(&update(&mut state, key('c')));
    update(&mut state, reply(id, discovered()));
    assert_eq!(watch(&state).cursor.0, 0);
    let click = |row| {
        Msg::Mouse(crossterm::event::MouseEvent {
            kind: crossterm::event::MouseEventKind::Down(crossterm::event::MouseButton::Left),
            column: 4,
            row,
            modifiers: crossterm::event::KeyModifiers::NONE,
        })
    };
    // Border, header, zone label, ns1, ns2.
    update(&mut state, click(4));
    assert_eq!(watch(&state).cursor.0, 1, "ns2's row");
    update(&mut state, click(2));
    assert_eq!(watch(&state).cursor.0, 1, "the zone label selects nothing");
    update(&mut state, click(3));
    assert_eq!(watch(&state).cursor.0, 0);
}
