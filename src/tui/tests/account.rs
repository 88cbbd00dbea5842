use crossterm::event::KeyCode;

use super::*;
use crate::jobs::account::{DirectoryInfo, Registered};
use crate::tui::screens::account::{AccountWizard, Stage, CAS};
use crate::tui::state::Screen;

/// The account wizard with its name field cleared and `name` typed in.
fn wizard_named(name: &str) -> State {
    let mut state = loaded();
    update(&mut state, key('A'));
    update(
        &mut state,
        Msg::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('u'),
            crossterm::event::KeyModifiers::CONTROL,
        )),
    );
    typed(&mut state, name);
    state
}

fn wizard(state: &State) -> &AccountWizard {
    match state.screen() {
        Some(Screen::Account(w)) => w,
        other => panic!("not the wizard: {other:?}"),
    }
}

fn info(eab: bool) -> DirectoryInfo {
    DirectoryInfo {
        url: "https://ca.example/dir".into(),
        terms: Some("https://ca.example/terms.pdf".into()),
        website: None,
        eab_required: eab,
    }
}

/// Open the wizard, name the account, choose "another CA" with `url`.
fn filled(url: &str) -> State {
    let mut state = loaded();
    update(&mut state, key('A'));
    assert_eq!(wizard(&state).form.focused_id(), "name");
    update(
        &mut state,
        Msg::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('u'),
            crossterm::event::KeyModifiers::CONTROL,
        )),
    );
    typed(&mut state, "acme");
    update(&mut state, code(KeyCode::Tab));
    for _ in 1..CAS.len() {
        update(&mut state, code(KeyCode::Right));
    }
    assert_eq!(
        wizard(&state).form.field("url").map(|f| f.label.as_str()),
        Some("Directory URL")
    );
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, url);
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "ops@example.test");
    state
}

#[test]
fn presets_come_first_with_staging_recommended() {
    let mut state = loaded();
    update(&mut state, key('A'));
    let w = wizard(&state);
    assert_eq!(w.directory(), "letsencrypt-staging");
    assert!(w.form.field("url").is_none());
    assert!(CAS[0].0.contains("staging"));
}

#[test]
fn terms_are_shown_before_registering_and_agreement_is_required() {
    let mut state = filled("ca.example/dir");
    assert_eq!(wizard(&state).directory(), "https://ca.example/dir");
    let (fetch, job) = started(&update(&mut state, code(KeyCode::Enter)));
    assert_eq!(
        job,
        Job::FetchDirectory {
            directory: "https://ca.example/dir".into(),
            ca_bundle: None,
        }
    );
    assert!(matches!(wizard(&state).stage, Stage::Fetching(_)));
    // Keys do not change the form while fetching.
    typed(&mut state, "zz");
    assert_eq!(wizard(&state).form.text("email"), "ops@example.test");
    update(
        &mut state,
        reply(fetch, Event::DirectoryFetched(Ok(info(false)))),
    );
    assert_eq!(wizard(&state).stage, Stage::Review(info(false)));
    assert_eq!(wizard(&state).form.focused_id(), "agree");
    assert!(wizard(&state).form.field("eab_kid").is_none());
    // Enter without agreeing: nothing is sent.
    assert_eq!(update(&mut state, code(KeyCode::Enter)), []);
    assert!(wizard(&state)
        .error
        .as_deref()
        .unwrap()
        .contains("tick the box"));
    update(&mut state, key(' '));
    let (register, job) = started(&update(&mut state, code(KeyCode::Enter)));
    let Job::RegisterAccount(request) = job else {
        panic!("{job:?}")
    };
    assert_eq!(request.name, "acme");
    assert_eq!(request.url, "https://ca.example/dir");
    assert_eq!(request.email.as_deref(), Some("ops@example.test"));
    assert_eq!(
        request.terms.as_deref(),
        Some("https://ca.example/terms.pdf")
    );
    let done = Registered {
        name: "acme".into(),
        account_url: "https://ca.example/acct/1".into(),
        key_store: "keyutils keyring".into(),
    };
    let effects = update(
        &mut state,
        reply(register, Event::AccountRegistered(Ok(done.clone()))),
    );
    assert_eq!(started(&effects).1, Job::LoadInventory);
    assert_eq!(wizard(&state).stage, Stage::Done(done));
    update(&mut state, code(KeyCode::Enter));
    assert!(state.stack.is_empty());
}

#[test]
fn eab_fields_appear_when_required_and_are_checked() {
    let mut state = filled("https://ca.example/dir");
    let (fetch, _) = started(&update(&mut state, code(KeyCode::Enter)));
    update(
        &mut state,
        reply(fetch, Event::DirectoryFetched(Ok(info(true)))),
    );
    assert_eq!(wizard(&state).form.focused_id(), "eab_kid");
    assert!(wizard(&state).form.field("eab_hmac").unwrap().masked);
    typed(&mut state, "kid-1");
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "not base64 !");
    update(&mut state, code(KeyCode::Tab));
    update(&mut state, key(' '));
    assert_eq!(update(&mut state, code(KeyCode::Enter)), []);
    assert!(wizard(&state).error.as_deref().unwrap().contains("base64"));
    update(&mut state, code(KeyCode::BackTab));
    for _ in 0.."not base64 !".len() {
        update(&mut state, code(KeyCode::Backspace));
    }
    typed(&mut state, "c2VjcmV0");
    let (_, job) = started(&update(&mut state, code(KeyCode::Enter)));
    let Job::RegisterAccount(request) = job else {
        panic!()
    };
    assert_eq!(request.eab, Some(("kid-1".into(), "c2VjcmV0".into())));
}

#[test]
fn failures_keep_the_wizard_open_and_bad_input_sends_nothing() {
    let mut state = filled("https://ca.example/dir");
    let (fetch, _) = started(&update(&mut state, code(KeyCode::Enter)));
    update(
        &mut state,
        reply(
            fetch,
            Event::DirectoryFetched(Err(
                crate::ops::Error::Invalid("connection refused".into()).into()
            )),
        ),
    );
    assert_eq!(wizard(&state).stage, Stage::Edit);
    assert_eq!(wizard(&state).error.as_deref(), Some("connection refused"));
    // A stale answer of the first fetch after a second one changes nothing.
    let (second, _) = started(&update(&mut state, code(KeyCode::Enter)));
    update(
        &mut state,
        reply(fetch, Event::DirectoryFetched(Ok(info(false)))),
    );
    assert!(matches!(wizard(&state).stage, Stage::Fetching(id) if id == second));
    update(
        &mut state,
        reply(second, Event::DirectoryFetched(Ok(info(false)))),
    );
    update(&mut state, key(' '));
    let (register, _) = started(&update(&mut state, code(KeyCode::Enter)));
    update(
        &mut state,
        reply(
            register,
            Event::AccountRegistered(Err(crate::ops::Error::Invalid(
                "the CA refused: badContact".into(),
            )
            .into())),
        ),
    );
    assert_eq!(wizard(&state).stage, Stage::Review(info(false)));
    assert!(wizard(&state)
        .error
        .as_deref()
        .unwrap()
        .contains("badContact"));

    let mut state = loaded();
    update(&mut state, key('A'));
    update(
        &mut state,
        Msg::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('u'),
            crossterm::event::KeyModifiers::CONTROL,
        )),
    );
    typed(&mut state, "pebble");
    assert_eq!(update(&mut state, code(KeyCode::Enter)), []);
    // An existing name is refused unless re-registration is ticked (see below).
    assert!(wizard(&state)
        .error
        .as_deref()
        .unwrap()
        .contains("\"pebble\" exists"));
    update(&mut state, code(KeyCode::Esc));
    assert!(state.stack.is_empty());
}

#[test]
fn an_existing_name_is_registered_again_only_when_ticked() {
    let mut state = wizard_named("pebble");
    // The name exists: nothing is fetched, the box to register again appears.
    assert_eq!(update(&mut state, code(KeyCode::Enter)), []);
    let w = wizard(&state);
    assert!(
        w.error.as_deref().unwrap().contains("register it again"),
        "{:?}",
        w.error
    );
    assert_eq!(w.form.focused_id(), "replace");
    assert_eq!(
        update(&mut state, code(KeyCode::Enter)),
        [],
        "not ticked yet"
    );
    update(&mut state, key(' '));
    let (fetch, _) = started(&update(&mut state, code(KeyCode::Enter)));
    update(
        &mut state,
        reply(fetch, Event::DirectoryFetched(Ok(info(false)))),
    );
    update(&mut state, key(' '));
    let (_, job) = started(&update(&mut state, code(KeyCode::Enter)));
    let Job::RegisterAccount(request) = job else {
        panic!("{job:?}")
    };
    assert_eq!(request.name, "pebble");
    assert!(request.replace);
}

#[test]
fn an_existing_account_is_removed_after_a_question() {
    use crate::tui::state::Popup;
    let mut state = wizard_named("pebble");
    assert_eq!(update(&mut state, code(KeyCode::Enter)), []);
    // "register it again", then "remove it instead": tick the second.
    update(&mut state, code(KeyCode::Down));
    assert_eq!(wizard(&state).form.focused_id(), "remove");
    update(&mut state, key(' '));
    assert_eq!(update(&mut state, code(KeyCode::Enter)), []);
    assert!(state.stack.is_empty(), "the wizard closes for the question");
    assert!(
        matches!(&state.popup, Some(Popup::Confirm { question, .. }) if question == "Remove account pebble?")
    );
    let (id, job) = started(&update(&mut state, key('y')));
    assert_eq!(
        job,
        Job::RemoveAccount {
            name: "pebble".into()
        }
    );
    let effects = update(
        &mut state,
        reply(id, Event::AccountRemoved(Ok("pebble".into()))),
    );
    assert!(state
        .notice
        .as_ref()
        .is_some_and(|(n, _)| n == "account pebble removed"));
    let (_, reload) = started(&effects);
    assert_eq!(reload, Job::LoadInventory);
}
