//! The command palette, sort keys, position, the accounts view and the domains pane's
//! actions.

use crossterm::event::KeyCode;

use super::{code, inventory, key, loaded, names, reply, row, select, started, typed};
use crate::domain::renewal::CertStatus;
use crate::jobs::accounts::AccountRow;
use crate::jobs::inventory::DomainRow;
use crate::jobs::{Event, Job};
use crate::sandbox::Fault;
use crate::tui::action::Action;
use crate::tui::screens::palette;
use crate::tui::screens::sort::SortKey;
use crate::tui::state::{Confirmed, Pane, Popup, SandboxFaults, Screen, State};
use crate::tui::update::{update, Msg};

fn palette_entries(state: &State) -> Vec<Action> {
    palette::entries(state)
}

#[test]
fn the_palette_lists_every_action_once_with_its_key_and_filters_by_typing() {
    let mut state = loaded();
    update(&mut state, key(':'));
    assert!(state.palette.is_some());
    let all = palette_entries(&state);
    let expected: Vec<Action> = Action::ALL
        .iter()
        .copied()
        .filter(|a| !matches!(a, Action::Palette | Action::Sandbox))
        .collect();
    assert_eq!(
        all, expected,
        "every action but the palette; no fault menu outside"
    );
    // Typed keys go to the query, not to the actions they are bound to.
    typed(&mut state, "acc");
    assert!(state.stack.is_empty());
    assert_eq!(
        palette_entries(&state),
        [Action::Accounts, Action::AddAccount]
    );
    // Words match anywhere: the key, the name or the sentence.
    typed(&mut state, " reg");
    assert_eq!(
        palette_entries(&state),
        [Action::Accounts, Action::AddAccount]
    );
    typed(&mut state, "zzz");
    assert!(palette_entries(&state).is_empty());
    assert_eq!(update(&mut state, code(KeyCode::Enter)), []);
    assert!(state.palette.is_none(), "Enter on nothing just closes");
    update(&mut state, key(':'));
    update(&mut state, code(KeyCode::Esc));
    assert!(state.palette.is_none());
    assert!(state.stack.is_empty(), "Esc closes only the palette");
}

#[test]
fn enter_runs_the_selected_action_on_the_screen_underneath() {
    let mut state = loaded();
    update(&mut state, key(':'));
    typed(&mut state, "account");
    update(&mut state, code(KeyCode::Down));
    let effects = update(&mut state, code(KeyCode::Enter));
    assert!(effects.is_empty());
    assert!(matches!(state.stack.as_slice(), [Screen::Account(_)]));
    // Refresh from the palette reloads the dashboard.
    update(&mut state, code(KeyCode::Esc));
    update(&mut state, key(':'));
    typed(&mut state, "reload");
    let (_, job) = started(&update(&mut state, code(KeyCode::Enter)));
    assert_eq!(job, Job::LoadInventory);
}

#[test]
fn the_fault_menu_is_in_the_palette_inside_a_sandbox() {
    let mut state = loaded();
    state.sandbox = Some(SandboxFaults {
        root: "/tmp/sb".into(),
        on: vec![false; Fault::ALL.len()],
    });
    update(&mut state, key(':'));
    typed(&mut state, "fault");
    assert_eq!(palette_entries(&state), [Action::Sandbox]);
    update(&mut state, code(KeyCode::Enter));
    assert_eq!(state.popup, Some(Popup::Sandbox { cursor: 0 }));
}

#[test]
fn ctrl_c_quits_from_the_palette() {
    let mut state = loaded();
    update(&mut state, key(':'));
    let ctrl_c = Msg::Key(crossterm::event::KeyEvent::new(
        KeyCode::Char('c'),
        crossterm::event::KeyModifiers::CONTROL,
    ));
    assert_eq!(
        update(&mut state, ctrl_c),
        [crate::tui::update::Effect::Quit]
    );
}

#[test]
fn sort_keys_cycle_reverse_and_keep_the_selection() {
    let mut state = loaded();
    assert_eq!(names(&state), ["old", "new", "mail", "web"]);
    select(&mut state, "mail");
    let cases = [
        ('s', SortKey::DaysLeft, false, ["old", "mail", "web", "new"]),
        ('s', SortKey::Name, false, ["mail", "new", "old", "web"]),
        ('o', SortKey::Name, true, ["web", "old", "new", "mail"]),
        ('s', SortKey::Status, true, ["web", "mail", "new", "old"]),
        ('o', SortKey::Status, false, ["old", "new", "mail", "web"]),
        ('s', SortKey::Urgency, false, ["old", "new", "mail", "web"]),
    ];
    for (k, sort, reverse, order) in cases {
        update(&mut state, key(k));
        assert_eq!(
            (state.dashboard.sort, state.dashboard.reverse),
            (sort, reverse)
        );
        assert_eq!(names(&state), order, "{sort:?} reversed {reverse}");
        assert_eq!(state.dashboard.selected_row().unwrap().name, "mail");
    }
    // A reload keeps the order chosen.
    update(&mut state, key('s'));
    update(&mut state, key('s'));
    let (id, _) = started(&update(&mut state, key('r')));
    let mut more = inventory();
    more.rows.push(row("aaa", Some(10), CertStatus::Valid));
    update(&mut state, reply(id, Event::InventoryLoaded(Ok(more))));
    assert_eq!(names(&state), ["aaa", "mail", "new", "old", "web"]);
}

#[test]
fn the_position_follows_the_selection() {
    let mut state = loaded();
    let title = |state: &State| {
        let d = &state.dashboard;
        format!("{}/{}", d.selected + 1, d.visible.len())
    };
    assert_eq!(title(&state), "1/4");
    update(&mut state, key('j'));
    update(&mut state, key('j'));
    assert_eq!(title(&state), "3/4");
    update(&mut state, key('G'));
    assert_eq!(title(&state), "4/4");
}

fn domain(name: &str, solver: &str) -> DomainRow {
    DomainRow {
        domain: name.into(),
        solver: solver.into(),
        target: None,
        delegation: None,
        config: None,
    }
}

fn with_domains() -> State {
    let mut state = State::new();
    let (id, _) = started(&update(&mut state, Msg::Action(Action::Refresh)));
    let mut inv = inventory();
    inv.domains = vec![
        domain("example.test", "manual"),
        DomainRow {
            config: Some(crate::config::DomainConfig::Rfc2136 {
                server: Some("ns1.example.net:53".into()),
                tsig_name: "certpilot".into(),
                tsig_algorithm: "hmac-sha512".into(),
                zone: None,
            }),
            ..domain("example.net", "rfc2136")
        },
        domain("example.org", "acme-dns"),
    ];
    update(&mut state, reply(id, Event::InventoryLoaded(Ok(inv))));
    update(&mut state, code(KeyCode::Tab));
    assert_eq!(state.dashboard.pane, Pane::Domains);
    state
}

#[test]
fn domains_pane_edits_the_solver_prefilled() {
    let mut state = with_domains();
    update(&mut state, key('j'));
    update(&mut state, key('e'));
    let Some(Screen::Provider(wizard)) = state.stack.last() else {
        panic!("{:?}", state.stack);
    };
    assert_eq!(wizard.form.text("domain"), "example.net");
    assert_eq!(wizard.form.text("server"), "ns1.example.net:53");
    assert_eq!(wizard.form.text("tsig_name"), "certpilot");
    assert_eq!(wizard.form.choice("algorithm"), 2);
    update(&mut state, code(KeyCode::Esc));
    // An acme-dns domain not registered yet: the acme-dns wizard on that domain.
    update(&mut state, key('j'));
    update(&mut state, code(KeyCode::Enter));
    let Some(Screen::AcmeDns(wizard)) = state.stack.last() else {
        panic!("{:?}", state.stack);
    };
    assert_eq!(wizard.form.text("domain"), "example.org");
}

#[test]
fn domains_pane_removes_a_mapping_after_a_confirmation() {
    let mut state = with_domains();
    assert_eq!(update(&mut state, key('d')), []);
    let Some(Popup::Confirm { yes, .. }) = &state.popup else {
        panic!("{:?}", state.popup);
    };
    assert_eq!(
        *yes,
        Confirmed::RemoveDomain {
            domain: "example.test".into()
        }
    );
    // No: nothing happens.
    assert_eq!(update(&mut state, key('n')), []);
    update(&mut state, key('d'));
    let (id, job) = started(&update(&mut state, key('y')));
    assert_eq!(
        job,
        Job::RemoveDomain {
            domain: "example.test".into()
        }
    );
    let (_, reload) = started(&update(
        &mut state,
        reply(id, Event::DomainRemoved(Ok("example.test".into()))),
    ));
    assert_eq!(reload, Job::LoadInventory);
    // The re-check key runs the propagation check of the selected domain.
    let (_, job) = started(&update(&mut state, key('c')));
    assert!(matches!(job, Job::CheckPropagation { .. }), "{job:?}");
}

fn account(name: &str, users: &[&str]) -> AccountRow {
    AccountRow {
        name: name.into(),
        directory: "https://localhost:14000/dir".into(),
        email: Some("ops@example.test".into()),
        ca_bundle: Some("/etc/pebble.pem".into()),
        eab_kid: None,
        certificates: users.iter().map(|u| (*u).to_owned()).collect(),
    }
}

#[test]
fn the_accounts_view_lists_removes_and_registers_again() {
    let mut state = loaded();
    let (id, job) = started(&update(&mut state, key('u')));
    assert_eq!(job, Job::LoadAccounts);
    let rows = vec![account("pebble", &["web", "mail"]), account("spare", &[])];
    update(&mut state, reply(id, Event::AccountsLoaded(Ok(rows))));
    let view = |state: &State| match state.stack.last() {
        Some(Screen::Accounts(view)) => view.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(view(&state).accounts().len(), 2);
    update(&mut state, key('j'));
    assert_eq!(view(&state).selected_row().unwrap().name, "spare");
    // Remove asks first, then runs the library's removal.
    update(&mut state, key('d'));
    let (removal, job) = started(&update(&mut state, key('y')));
    assert_eq!(
        job,
        Job::RemoveAccount {
            name: "spare".into()
        }
    );
    let effects = update(
        &mut state,
        reply(removal, Event::AccountRemoved(Ok("spare".into()))),
    );
    let jobs: Vec<Job> = effects
        .iter()
        .filter_map(|e| match e {
            crate::tui::update::Effect::Start { job, .. } => Some(job.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(jobs, [Job::LoadInventory, Job::LoadAccounts]);
    // A refused removal shows the library's reason.
    update(&mut state, key('k'));
    update(&mut state, key('d'));
    let Some(Popup::Confirm { detail, .. }) = &state.popup else {
        panic!("{:?}", state.popup);
    };
    assert!(detail.contains("web, mail"), "{detail}");
    let (refused, _) = started(&update(&mut state, key('y')));
    update(
        &mut state,
        reply(
            refused,
            Event::AccountRemoved(Err(
                crate::ops::Error::Invalid("in use by web".into()).into()
            )),
        ),
    );
    assert!(
        matches!(&state.popup, Some(Popup::Error { message, .. }) if message == "in use by web")
    );
    update(&mut state, code(KeyCode::Esc));
    // Register again: the wizard prefilled, "register it again" ticked.
    update(&mut state, key('e'));
    let Some(Screen::Account(wizard)) = state.stack.last() else {
        panic!("{:?}", state.stack);
    };
    assert_eq!(wizard.form.text("name"), "pebble");
    assert_eq!(wizard.form.text("url"), "https://localhost:14000/dir");
    assert_eq!(wizard.form.text("ca_bundle"), "/etc/pebble.pem");
    assert!(wizard.form.checked("replace"));
    let (_, job) = started(&update(&mut state, code(KeyCode::Enter)));
    assert_eq!(
        job,
        Job::FetchDirectory {
            directory: "https://localhost:14000/dir".into(),
            ca_bundle: Some("/etc/pebble.pem".into()),
        }
    );
}

#[test]
fn r_refreshes_on_screens_without_their_own_reload() {
    let mut state = loaded();
    let mut wizard = crate::tui::screens::account::AccountWizard::new();
    wizard.stage = crate::tui::screens::account::Stage::Done(crate::jobs::account::Registered {
        name: "pebble".into(),
        account_url: "https://ca.example/acct/1".into(),
        key_store: "file".into(),
    });
    state.stack.push(Screen::Account(wizard));
    let (_, job) = started(&update(&mut state, key('r')));
    assert_eq!(job, Job::LoadInventory);
    assert!(matches!(state.stack.as_slice(), [Screen::Account(_)]));
    // The accounts view reloads its own rows.
    update(&mut state, code(KeyCode::Esc));
    let (_, job) = started(&update(&mut state, key('u')));
    assert_eq!(job, Job::LoadAccounts);
    let (_, job) = started(&update(&mut state, key('r')));
    assert_eq!(job, Job::LoadAccounts);
}

#[test]
fn the_server_form_opens_with_the_settings_of_the_last_start() {
    let mut state = loaded();
    state.server_form = Some(crate::jobs::server::ServerRequest {
        config_file: None,
        zone: "acme.example.com".into(),
        nameserver: "ns1.acme.example.com".into(),
        address: "192.0.2.53".into(),
        dns_listen: "127.0.0.1:5353".into(),
        http_listen: "127.0.0.1:8053".into(),
    });
    update(&mut state, key('S'));
    let panel = state.server.as_ref().expect("panel");
    assert_eq!(panel.form.text("zone"), "acme.example.com");
    assert_eq!(panel.form.text("dns_listen"), "127.0.0.1:5353");
    assert_eq!(panel.request(), state.server_form.clone().unwrap());
}

#[test]
fn last_check_times_keep_ticking() {
    let mut state = with_domains();
    assert!(!state.needs_tick());
    let (id, _) = started(&update(&mut state, key('c')));
    update(&mut state, Msg::Tick(std::time::Duration::from_secs(3)));
    let report = super::propagation::report([
        crate::dns::probe::Status::Match,
        crate::dns::probe::Status::Match,
    ]);
    // The report's owner is under example.test, the selected domain.
    update(
        &mut state,
        reply(id, Event::PropagationChecked(Ok(Box::new(report)))),
    );
    assert_eq!(
        state.dashboard.checks.get("example.test"),
        Some(&(std::time::Duration::from_secs(3), true))
    );
    update(&mut state, code(KeyCode::Esc));
    // "2 min ago" must count on without any other activity.
    assert!(state.needs_tick());
}

#[test]
fn a_click_selects_an_account() {
    let mut state = loaded();
    let (id, _) = started(&update(&mut state, key('u')));
    let rows = vec![
        account("one", &[]),
        account("two", &[]),
        account("three", &[]),
    ];
    update(&mut state, reply(id, Event::AccountsLoaded(Ok(rows))));
    let click = |row| {
        Msg::Mouse(crossterm::event::MouseEvent {
            kind: crossterm::event::MouseEventKind::Down(crossterm::event::MouseButton::Left),
            column: 10,
            row,
            modifiers: crossterm::event::KeyModifiers::NONE,
        })
    };
    // The border, the header, then the rows: y = 4 is the third account.
    update(&mut state, click(4));
    let Some(Screen::Accounts(view)) = state.stack.last() else {
        panic!("{:?}", state.stack);
    };
    assert_eq!(view.selected, 2);
    // The header selects nothing.
    update(&mut state, click(1));
    let Some(Screen::Accounts(view)) = state.stack.last() else {
        panic!("{:?}", state.stack);
    };
    assert_eq!(view.selected, 2);
}
