use std::path::PathBuf;

use crossterm::event::KeyCode;

use super::*;
use crate::config::{DomainConfig, KeyType};
use crate::jobs::certs::CertRequest;
use crate::tui::screens::editor::{check_names, solver_groups, CertEditor};
use crate::tui::state::Screen;

fn editor(state: &State) -> &CertEditor {
    match state.screen() {
        Some(Screen::Editor(e)) => e,
        other => panic!("not the editor: {other:?}"),
    }
}

#[test]
fn names_are_checked_as_typed() {
    let cases: [(&[&str], Option<&str>, Option<&str>); 5] = [
        (&[], Some("at least one DNS name"), None),
        (&["www.example.test"], None, Some("1 name(s)")),
        (&["WWW.Example.test."], None, Some("→ www.example.test")),
        (
            &["bad..name", "x_y.test"],
            Some("\"bad..name\": empty label; "),
            None,
        ),
        (&["a.test", "A.test"], Some("duplicate"), None),
    ];
    for (raw, error, note) in cases {
        let raw: Vec<String> = raw.iter().map(|s| (*s).to_owned()).collect();
        let (got_error, got_note) = check_names(&raw);
        match error {
            Some(e) => assert!(
                got_error.as_deref().unwrap_or("").contains(e),
                "{raw:?}: {got_error:?}"
            ),
            None => assert_eq!(got_error, None, "{raw:?}"),
        }
        if let Some(n) = note {
            assert!(
                got_note.as_deref().unwrap_or("").contains(n),
                "{raw:?}: {got_note:?}"
            );
        }
    }
}

#[test]
fn new_certificate_flow_with_a_solver_for_a_new_domain() {
    let mut state = loaded();
    update(&mut state, key('a'));
    assert!(
        editor(&state).form.field("name").unwrap().error.is_some(),
        "empty name is an error"
    );
    typed(&mut state, "web");
    assert!(editor(&state)
        .form
        .field("name")
        .unwrap()
        .error
        .as_deref()
        .unwrap()
        .contains("already exists"));
    typed(&mut state, "2");
    assert_eq!(editor(&state).form.field("name").unwrap().error, None);
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "www.example.test a.other.test, *.other.test");
    let form = &editor(&state).form;
    assert_eq!(form.field("names").unwrap().error, None);
    // example.test is covered; other.test needs a solver (two candidate domains).
    assert!(form.field("solver:other.test").is_some());
    assert!(
        form.field("domain:other.test").is_none(),
        "a.other.test and other.test share only other.test"
    );
    assert_eq!(form.text("command:other.test"), "/bin/hook");
    save_new(&mut state);
}

/// Pick ECDSA P-384, save, and take the answer.
fn save_new(state: &mut State) {
    update(state, code(KeyCode::Tab));
    update(state, code(KeyCode::Right));
    let (id, job) = started(&update(state, code(KeyCode::Enter)));
    assert_eq!(
        job,
        Job::SaveCertificate(CertRequest {
            original: None,
            name: "web2".into(),
            names: vec![
                "www.example.test".into(),
                "a.other.test".into(),
                "*.other.test".into()
            ],
            key_type: KeyType::EcdsaP384,
            account: Some("pebble".into()),
            solvers: vec![(
                "other.test".into(),
                DomainConfig::Exec {
                    command: PathBuf::from("/bin/hook"),
                    batch: false,
                }
            )],
            profile: None,
            ..CertRequest::default()
        })
    );
    // Typing while saving changes nothing.
    typed(state, "x");
    assert_eq!(
        editor(state).form.text("names"),
        "www.example.test a.other.test, *.other.test"
    );
    let effects = update(state, reply(id, Event::CertificateSaved(Ok("web2".into()))));
    assert_eq!(started(&effects).1, Job::LoadInventory);
    assert!(state.stack.is_empty());
    assert!(state.notice.as_ref().unwrap().0.contains("web2 saved"));
}

#[test]
fn errors_block_saving_and_failures_are_shown_inline() {
    let mut state = loaded();
    select(&mut state, "web");
    update(&mut state, key('e'));
    assert!(editor(&state).form.field("name").is_none(), "no renaming");
    assert_eq!(editor(&state).form.text("names"), "web.example.test");
    typed(&mut state, ", bad..");
    assert_eq!(update(&mut state, code(KeyCode::Enter)), []);
    assert_eq!(
        editor(&state).error.as_deref(),
        Some("fix the marked fields first")
    );
    assert_eq!(editor(&state).form.focused_id(), "names");
    for _ in 0..", bad..".len() {
        update(&mut state, code(KeyCode::Backspace));
    }
    let (id, job) = started(&update(&mut state, code(KeyCode::Enter)));
    let Job::SaveCertificate(request) = job else {
        panic!()
    };
    assert_eq!(request.original.as_deref(), Some("web"));
    assert!(request.solvers.is_empty());
    update(
        &mut state,
        reply(
            id,
            Event::CertificateSaved(Err(crate::ops::Error::Invalid(
                "certpilot.toml: permission denied".into(),
            )
            .into())),
        ),
    );
    assert_eq!(
        editor(&state).error.as_deref(),
        Some("certpilot.toml: permission denied")
    );
    update(&mut state, code(KeyCode::Esc));
    assert!(state.stack.is_empty());
}

#[test]
fn exec_needs_a_hook_and_manual_does_not() {
    let mut state = State::new();
    let (id, _) = started(&update(&mut state, Msg::Action(Action::Refresh)));
    let mut inv = inventory();
    inv.domains.clear();
    update(&mut state, reply(id, Event::InventoryLoaded(Ok(inv))));
    update(&mut state, key('a'));
    typed(&mut state, "svc");
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "svc.deep.example.test");
    let form = &editor(&state).form;
    assert!(form.field("command:example.test").unwrap().error.is_some());
    let Some(crate::tui::form::Input::Choice { options, .. }) =
        form.field("domain:example.test").map(|f| &f.input)
    else {
        panic!("domain choice")
    };
    assert_eq!(
        options,
        &["example.test", "deep.example.test", "svc.deep.example.test"]
    );
    let Some(Screen::Editor(editor_state)) = state.stack.last_mut() else {
        unreachable!()
    };
    editor_state.form.focus_on("solver:example.test");
    update(&mut state, code(KeyCode::Right));
    let form = &editor(&state).form;
    assert!(
        form.field("command:example.test").is_none(),
        "manual needs no hook"
    );
    let request = editor(&state).request().unwrap();
    assert_eq!(
        request.solvers,
        [("example.test".to_owned(), DomainConfig::Manual)]
    );
    assert_eq!(
        solver_groups(&[], &["a.b.c".into()]),
        [("b.c".to_owned(), vec!["b.c".to_owned(), "a.b.c".to_owned()])]
    );
}

#[test]
fn the_profile_choice_lists_the_cas_profiles_and_is_saved() {
    use crate::tui::screens::profiles::Offered;
    let mut state = loaded();
    let (id, job) = started(&update(&mut state, key('a')));
    assert_eq!(job, Job::LoadProfiles, "opening reads the CAs' profiles");
    typed(&mut state, "web2");
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "www.example.test");
    let note = |state: &State| editor(state).form.field("profile").unwrap().note.clone();
    assert!(note(&state).unwrap().starts_with("reading"));
    let listed = vec![
        ("default".to_owned(), "90 days".to_owned()),
        ("shortlived".to_owned(), "6 days, renew often".to_owned()),
    ];
    let offered = Offered::from([("pebble".to_owned(), Ok(listed))]);
    update(&mut state, reply(id, Event::ProfilesLoaded(offered)));
    assert_eq!(note(&state).as_deref(), Some("the CA picks; it offers 2"));
    // names → key type → account → profile
    for _ in 0..3 {
        update(&mut state, code(KeyCode::Tab));
    }
    assert_eq!(editor(&state).form.focused_id(), "profile");
    update(&mut state, code(KeyCode::Right));
    update(&mut state, code(KeyCode::Right));
    assert_eq!(note(&state).as_deref(), Some("6 days, renew often"));
    let (_, job) = started(&update(&mut state, code(KeyCode::Enter)));
    match job {
        Job::SaveCertificate(request) => {
            assert_eq!(request.profile.as_deref(), Some("shortlived"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn editing_keeps_the_configured_profile_when_the_ca_cannot_be_read() {
    let mut state = loaded();
    let row = state
        .dashboard
        .rows
        .iter_mut()
        .find(|r| r.name == "web")
        .unwrap();
    row.profile = Some("shortlived".into());
    select(&mut state, "web");
    let (id, _) = started(&update(&mut state, key('e')));
    let failed = Event::ProfilesLoaded([("pebble".to_owned(), Err(failure("refused")))].into());
    update(&mut state, reply(id, failed));
    let field = editor(&state).form.field("profile").unwrap().clone();
    assert!(field.note.unwrap().contains("refused"));
    let (_, job) = started(&update(&mut state, code(KeyCode::Enter)));
    match job {
        Job::SaveCertificate(request) => {
            assert_eq!(request.profile.as_deref(), Some("shortlived"));
        }
        other => panic!("{other:?}"),
    }
}
