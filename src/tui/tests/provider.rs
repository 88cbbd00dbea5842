use std::path::PathBuf;

use crossterm::event::KeyCode;

use super::*;
use crate::config::DomainConfig;
use crate::jobs::provider::ProviderRequest;
use crate::tui::screens::provider::{ProviderWizard, Stage};
use crate::tui::state::{Pane, Screen};

fn wizard(state: &State) -> &ProviderWizard {
    match state.screen() {
        Some(Screen::Provider(w)) => w,
        other => panic!("not the provider wizard: {other:?}"),
    }
}

/// Focus the field `id` with Tab.
fn focus(state: &mut State, id: &str) {
    for _ in 0..10 {
        if wizard(state).form.focused_id() == id {
            return;
        }
        update(state, code(KeyCode::Tab));
    }
    panic!("no field {id}");
}

/// The wizard opened with `e` on the selected domain, rfc2136 filled in.
fn rfc2136_form() -> State {
    let mut state = loaded();
    state.dashboard.pane = Pane::Domains;
    update(&mut state, key('e'));
    let w = wizard(&state);
    assert_eq!(w.form.text("domain"), "example.test");
    assert!(!w.is_powerdns());
    assert!(w.form.field("tsig_name").unwrap().error.is_some());
    assert!(w.form.field("secret_file").unwrap().error.is_some());
    assert_eq!(update(&mut state, code(KeyCode::Enter)), []);
    assert_eq!(
        wizard(&state).error.as_deref(),
        Some("fix the marked fields first")
    );
    assert_eq!(wizard(&state).form.focused_id(), "tsig_name");
    typed(&mut state, "certpilot-key");
    focus(&mut state, "algorithm");
    update(&mut state, code(KeyCode::Right));
    focus(&mut state, "secret_file");
    typed(&mut state, "/root/tsig.key");
    state
}

#[test]
fn enter_tests_the_credentials_and_a_failure_keeps_the_form() {
    let mut state = rfc2136_form();
    let (id, job) = started(&update(&mut state, code(KeyCode::Enter)));
    assert_eq!(
        job,
        Job::SaveProvider(ProviderRequest {
            domain: "example.test".into(),
            config: DomainConfig::Rfc2136 {
                server: None,
                tsig_name: "certpilot-key".into(),
                tsig_algorithm: "hmac-sha384".into(),
                zone: None,
            },
            secret_file: PathBuf::from("/root/tsig.key"),
        })
    );
    assert_eq!(wizard(&state).stage, Stage::Testing(id));
    // Typing while the test runs does nothing; a stale answer is dropped.
    assert_eq!(update(&mut state, key('x')), []);
    update(
        &mut state,
        reply(JobId(id.0 + 100), Event::ProviderSaved(Ok("stale".into()))),
    );
    assert_eq!(wizard(&state).stage, Stage::Testing(id));

    let refused = "update of zone example.test at 127.0.0.1:53 failed: NOTAUTH/BADSIG. The server knows the key";
    update(
        &mut state,
        reply(id, Event::ProviderSaved(Err(super::failure(refused)))),
    );
    let w = wizard(&state);
    assert_eq!(w.stage, Stage::Editing);
    assert_eq!(w.error.as_deref(), Some(refused));
    assert_eq!(
        w.form.text("tsig_name"),
        "certpilot-key",
        "the form is kept"
    );

    let (again, _) = started(&update(&mut state, code(KeyCode::Enter)));
    let effects = update(
        &mut state,
        reply(again, Event::ProviderSaved(Ok("credentials work".into()))),
    );
    let (_, reload) = started(&effects);
    assert_eq!(reload, Job::LoadInventory);
    assert_eq!(wizard(&state).stage, Stage::Done("credentials work".into()));
    update(&mut state, code(KeyCode::Enter));
    assert!(state.screen().is_none(), "Enter closes the finished wizard");
}

#[test]
fn powerdns_shows_its_own_fields_and_checks_the_url() {
    let mut state = rfc2136_form();
    focus(&mut state, "kind");
    update(&mut state, code(KeyCode::Right));
    let w = wizard(&state);
    assert!(w.is_powerdns());
    assert!(w.form.field("tsig_name").is_none());
    assert_eq!(w.form.text("api_url"), "http://127.0.0.1:8081");
    assert!(w.form.field("key_file").unwrap().error.is_some());
    focus(&mut state, "api_url");
    for _ in 0.."127.0.0.1:8081".len() {
        update(&mut state, code(KeyCode::Backspace));
    }
    typed(&mut state, "pdns.example.test");
    let error = wizard(&state).form.field("api_url").unwrap().error.clone();
    assert!(error.unwrap().contains("plain http"));
    for _ in 0.."http://pdns.example.test".len() {
        update(&mut state, code(KeyCode::Backspace));
    }
    typed(&mut state, "https://pdns.example.test");
    focus(&mut state, "key_file");
    typed(&mut state, "/root/pdns.key");
    let (_, job) = started(&update(&mut state, code(KeyCode::Enter)));
    assert_eq!(
        job,
        Job::SaveProvider(ProviderRequest {
            domain: "example.test".into(),
            config: DomainConfig::PowerDns {
                api_url: "https://pdns.example.test".into(),
                server_id: "localhost".into(),
            },
            secret_file: PathBuf::from("/root/pdns.key"),
        })
    );
    // Esc leaves; the answer then goes to the dashboard.
    update(&mut state, code(KeyCode::Esc));
    assert!(state.screen().is_none());
}
