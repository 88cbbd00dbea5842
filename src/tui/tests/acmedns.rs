use std::time::Duration;

use crossterm::event::KeyCode;

use super::*;
use crate::acmedns::CnameRecord;
use crate::jobs::acmedns::{Delegation, RegisterRequest};
use crate::jobs::propagation::Target;
use crate::tui::screens::acmedns::{AcmeDnsWizard, Stage};
use crate::tui::state::{Pane, Screen};

fn wizard(state: &State) -> &AcmeDnsWizard {
    match state.screen() {
        Some(Screen::AcmeDns(w)) => w,
        other => panic!("not the acme-dns wizard: {other:?}"),
    }
}

fn delegation() -> Delegation {
    Delegation {
        server: "http://127.0.0.1:8053".into(),
        record: CnameRecord::new("example.test", "d420c923.auth.test"),
        mapped: true,
    }
}

/// The wizard filled in for `*.Example.test` on a loopback http server.
fn register_form() -> State {
    let mut state = loaded();
    state.dashboard.pane = Pane::Domains;
    update(&mut state, key('a'));
    assert_eq!(wizard(&state).form.focused_id(), "domain");
    assert!(wizard(&state).form.field("domain").unwrap().error.is_some());
    typed(&mut state, "*.Example.test");
    assert_eq!(wizard(&state).form.field("domain").unwrap().error, None);
    update(&mut state, code(KeyCode::Tab));
    for _ in 0.."https://".len() {
        update(&mut state, code(KeyCode::Backspace));
    }
    typed(&mut state, "http://auth.test");
    assert!(wizard(&state)
        .form
        .field("server")
        .unwrap()
        .error
        .as_deref()
        .unwrap()
        .contains("plain http"));
    assert_eq!(update(&mut state, code(KeyCode::Enter)), []);
    assert_eq!(
        wizard(&state).error.as_deref(),
        Some("fix the marked fields first")
    );
    for _ in 0.."auth.test".len() {
        update(&mut state, code(KeyCode::Backspace));
    }
    typed(&mut state, "127.0.0.1:8053");
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "10.0.0.0/8, 192.0.2.0/24");
    state
}

#[test]
fn register_flow_shows_the_cname_copies_it_and_checks_live() {
    let mut state = register_form();
    let (id, job) = started(&update(&mut state, code(KeyCode::Enter)));
    assert_eq!(
        job,
        Job::AcmeDnsRegister(RegisterRequest {
            domain: "*.Example.test".into(),
            server: "http://127.0.0.1:8053".into(),
            allow_from: vec!["10.0.0.0/8".into(), "192.0.2.0/24".into()],
            allow_insecure_http: false,
            use_for_issuance: true,
        })
    );
    let effects = update(
        &mut state,
        reply(id, Event::AcmeDnsSaved(Ok(vec![delegation()]))),
    );
    assert_eq!(started(&effects).1, Job::LoadInventory);
    assert!(matches!(wizard(&state).stage, Stage::Done { .. }));
    let copied = update(&mut state, key('y'));
    assert_eq!(
        copied,
        [Effect::Copy(
            "_acme-challenge.example.test. IN CNAME d420c923.auth.test.".into()
        )]
    );
    update(&mut state, code(KeyCode::Tab));
    assert_eq!(
        update(&mut state, key('y')),
        [Effect::Copy("_acme-challenge".into())]
    );
    update(&mut state, code(KeyCode::Tab));
    assert_eq!(
        update(&mut state, key('y')),
        [Effect::Copy("d420c923.auth.test".into())]
    );
    // The live check starts at the next tick, for the CNAME.
    let (check, job) = started(&update(&mut state, Msg::Tick(Duration::from_secs(1))));
    assert_eq!(
        job,
        Job::CheckPropagation {
            key: "acme-dns".into(),
            target: Target::Delegation {
                domain: "example.test".into(),
                target: "d420c923.auth.test".into()
            },
        }
    );
    assert_eq!(
        update(&mut state, code(KeyCode::Esc)),
        [Effect::Cancel { id: check }]
    );
    assert!(state.stack.is_empty());
}

#[test]
fn import_mode_swaps_the_fields_and_failures_stay_inline() {
    let mut state = loaded();
    state.dashboard.pane = Pane::Domains;
    update(&mut state, key('a'));
    update(&mut state, code(KeyCode::BackTab));
    assert_eq!(wizard(&state).form.focused_id(), "mode");
    update(&mut state, code(KeyCode::Right));
    let form = &wizard(&state).form;
    assert!(form.field("file").is_some() && form.field("domain").is_none());
    assert_eq!(
        form.field("server").unwrap().error,
        None,
        "the server is optional when importing"
    );
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "/tmp/acme-dns.json");
    let (id, job) = started(&update(&mut state, code(KeyCode::Enter)));
    assert!(
        matches!(job, Job::AcmeDnsImport(ref r) if r.path.to_str() == Some("/tmp/acme-dns.json") && r.server.is_none())
    );
    update(
        &mut state,
        reply(
            id,
            Event::AcmeDnsSaved(Err(crate::ops::Error::Invalid(
                "/tmp/acme-dns.json: not JSON".into(),
            )
            .into())),
        ),
    );
    assert_eq!(wizard(&state).stage, Stage::Edit);
    assert!(wizard(&state)
        .error
        .as_deref()
        .unwrap()
        .contains("not JSON"));
}

#[test]
fn enter_on_an_acme_dns_domain_shows_its_record() {
    let mut state = State::new();
    let (id, _) = started(&update(&mut state, Msg::Action(Action::Refresh)));
    let mut inv = inventory();
    inv.domains[0].solver = "acme-dns".into();
    inv.domains[0].target = Some("http://127.0.0.1:8053".into());
    inv.domains[0].delegation = Some("d420c923.auth.test".into());
    update(&mut state, reply(id, Event::InventoryLoaded(Ok(inv))));
    update(&mut state, code(KeyCode::Tab));
    update(&mut state, code(KeyCode::Enter));
    assert_eq!(
        wizard(&state).copy_text().as_deref(),
        Some("_acme-challenge.example.test. IN CNAME d420c923.auth.test.")
    );
    assert!(wizard(&state).watch.is_some());
}

#[test]
fn a_delegation_is_done_when_every_first_hop_address_serves_the_cname() {
    use crate::dns::probe::{HopRule, Status};
    use crate::dns::ProbeEvent;
    use crate::tui::tests::propagation::{report, result, zone};
    let mut state = loaded();
    state.dashboard.pane = Pane::Domains;
    update(&mut state, key('a'));
    let Some(Screen::AcmeDns(open)) = state.stack.last_mut() else {
        unreachable!()
    };
    *open = AcmeDnsWizard::existing(delegation());
    let (id, _) = started(&update(&mut state, Msg::Tick(Duration::from_secs(1))));
    let owner = "_acme-challenge.example.test";
    for hop in [0, 1] {
        let event = ProbeEvent::ZoneDiscovered {
            owner: owner.into(),
            hop,
            name: owner.into(),
            zone: zone(),
            rule: HopRule::Txt { values: Vec::new() },
        };
        update(&mut state, reply(id, Event::Probe(event)));
    }
    for last in [2, 3] {
        let answered = ProbeEvent::NameserverAnswered {
            owner: owner.into(),
            hop: 0,
            result: result(last, Status::Match),
        };
        update(&mut state, reply(id, Event::Probe(answered)));
    }
    // The acme-dns side has no TXT yet: not "propagated" for the checker, but delegated.
    let mut not_yet = report([Status::Missing, Status::Missing]);
    not_yet.names.clear();
    update(
        &mut state,
        reply(id, Event::PropagationChecked(Ok(Box::new(not_yet)))),
    );
    let watch = wizard(&state).watch.as_ref().unwrap();
    assert_eq!(watch.matrix.first_hop(), (2, 2));
    assert!(watch.matrix.propagated());
    assert_eq!(watch.next, None, "no more rounds once delegated");
    assert_eq!(wizard(&state).zone(), "example.test");
}
