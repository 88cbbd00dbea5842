use crossterm::event::KeyCode;
use time::macros::datetime;

use super::*;
use crate::jobs::inventory::{CertDetail, Issued};
use crate::tui::state::Screen;

pub fn detail(name: &str) -> CertDetail {
    CertDetail {
        name: name.to_owned(),
        names: vec![format!("{name}.example.test")],
        key_type: "ecdsa-p256".into(),
        account: Some("pebble".into()),
        status: CertStatus::Valid,
        days_left: Some(60),
        renewal_due: false,
        renewal: "renew from 2025-07-01 (30 days before expiry)".into(),
        ari: None,
        ari_explanation: None,
        profile: None,
        issued: Some(Issued {
            sans: vec![format!("{name}.example.test")],
            issuer: "Pebble Intermediate CA 5a1b2c".into(),
            serial: "4f1c2b3a".into(),
            sha256: "AB:CD:EF".into(),
            not_before: datetime!(2025-06-01 00:00 UTC),
            not_after: datetime!(2025-08-30 00:00 UTC),
            key_type: "ecdsa-p256".into(),
            key_entry: format!("cert-key:{name}:k1"),
            chain: vec![(
                String::new(),
                "Pebble Intermediate CA 5a1b2c".into(),
                datetime!(2025-08-30 00:00 UTC),
            )],
            history: vec![(
                datetime!(2025-06-01 00:00 UTC),
                "pebble".into(),
                "https://127.0.0.1:14000/my-order/1".into(),
            )],
        }),
        key_store: "keyutils keyring, service \"certpilot\"".into(),
        chain_path: format!("/w/certificates/{name}/{name}.crt").into(),
        leftovers: Vec::new(),
    }
}

fn shown(state: &State) -> Option<&crate::tui::screens::detail::DetailScreen> {
    match state.screen() {
        Some(Screen::Detail(d)) => Some(d),
        _ => None,
    }
}

#[test]
fn enter_opens_and_loads_and_esc_returns() {
    let mut state = loaded();
    select(&mut state, "web");
    let (id, job) = started(&update(&mut state, code(KeyCode::Enter)));
    assert_eq!(job, Job::LoadDetail { name: "web".into() });
    assert_eq!(shown(&state).unwrap().data, None);
    update(
        &mut state,
        reply(id, Event::DetailLoaded(Ok(Box::new(detail("web"))))),
    );
    let screen = shown(&state).unwrap();
    assert_eq!(screen.data, Some(Ok(Box::new(detail("web")))));
    update(&mut state, key('j'));
    assert_eq!(shown(&state).unwrap().scroll, 1);
    let copied = update(&mut state, key('y'));
    assert_eq!(copied, [Effect::Copy("AB:CD:EF".into())]);
    update(&mut state, code(KeyCode::Esc));
    assert!(state.stack.is_empty());
}

#[test]
fn answers_for_a_closed_or_other_detail_are_dropped() {
    let mut state = loaded();
    select(&mut state, "web");
    let (web, _) = started(&update(&mut state, code(KeyCode::Enter)));
    update(&mut state, code(KeyCode::Esc));
    select(&mut state, "mail");
    let (mail, _) = started(&update(&mut state, code(KeyCode::Enter)));
    // The web load was superseded by the mail load (same slot).
    assert!(!state.running.contains_key(&web));
    update(
        &mut state,
        reply(web, Event::DetailLoaded(Ok(Box::new(detail("web"))))),
    );
    assert_eq!(shown(&state).unwrap().data, None);
    update(
        &mut state,
        reply(mail, Event::DetailLoaded(Err(failure("gone")))),
    );
    assert_eq!(shown(&state).unwrap().data, Some(Err("gone".into())));
}

#[test]
fn refresh_reloads_and_issue_and_edit_open_over_it() {
    let mut state = loaded();
    select(&mut state, "new");
    let (first, _) = started(&update(&mut state, code(KeyCode::Enter)));
    let (second, _) = started(&update(&mut state, key('r')));
    assert_ne!(first, second);
    assert_eq!(shown(&state).unwrap().request, second);
    update(&mut state, key('e'));
    assert!(matches!(state.screen(), Some(Screen::Editor(_))));
    update(&mut state, code(KeyCode::Esc));
    assert!(shown(&state).is_some());
    let (_, job) = started(&update(&mut state, key('i')));
    assert_eq!(job, Job::Issue { cert: "new".into() });
    assert!(matches!(state.screen(), Some(Screen::Issuance { .. })));
    assert_eq!(state.stack.len(), 2, "issuance opens above the detail");
}
