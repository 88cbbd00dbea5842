//! `update` tests: messages in, state and effects out, per screen. Job answers are fed back
//! by hand, which is also how stale answers are tested.

mod account;
mod acmedns;
mod dashboard;
mod detail;
mod editor;
mod global;
mod issuance;
mod jobs;
mod navigation;
pub mod propagation;
mod provider;
mod sandbox;
mod server;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::domain::renewal::CertStatus;
use crate::inventory::CertRow;
use crate::jobs::inventory::{DomainRow, Inventory};
use crate::jobs::{Event, Job, JobId, Tagged};
use crate::tui::action::Action;
use crate::tui::state::State;
use crate::tui::update::{update, Effect, Msg};

pub fn row(name: &str, days: Option<i64>, status: CertStatus) -> CertRow {
    CertRow {
        name: name.to_owned(),
        names: vec![format!("{name}.example.test")],
        not_after: None,
        days_left: days,
        status,
        issuer: None,
        serial: None,
        key_type: "ecdsa-p256".to_owned(),
        account: Some("pebble".to_owned()),
        renew_at: None,
        renewal: String::new(),
        profile: None,
        ari_explanation_url: None,
    }
}

pub fn inventory() -> Inventory {
    Inventory {
        rows: vec![
            row("web", Some(60), CertStatus::Valid),
            row("mail", Some(3), CertStatus::Expiring),
            row("old", Some(-1), CertStatus::Expired),
            row("new", None, CertStatus::Missing),
        ],
        domains: vec![DomainRow {
            domain: "example.test".into(),
            solver: "exec".into(),
            target: Some("/bin/hook".into()),
            delegation: None,
            config: None,
        }],
        accounts: vec!["pebble".into()],
        parallel: 2,
    }
}

pub fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub fn code(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn typed(state: &mut State, text: &str) {
    for c in text.chars() {
        assert_eq!(update(state, key(c)), [], "typing {c:?}");
    }
}

/// A job's typed failure that shows `text` verbatim.
pub fn failure(text: &str) -> crate::ops::Shared {
    crate::ops::Error::Invalid(text.to_owned()).into()
}

pub fn reply(id: JobId, event: Event) -> Msg {
    Msg::Job(Tagged { id, event })
}

/// The one job started by `effects`.
pub fn started(effects: &[Effect]) -> (JobId, Job) {
    let starts: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Start { id, job } => Some((*id, job.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 1, "{effects:?}");
    starts[0].clone()
}

/// A state after the first load answered with [`inventory`].
pub fn loaded() -> State {
    let mut state = State::new();
    let effects = update(&mut state, Msg::Action(Action::Refresh));
    let (id, job) = started(&effects);
    assert_eq!(job, Job::LoadInventory);
    update(
        &mut state,
        reply(id, Event::InventoryLoaded(Ok(inventory()))),
    );
    assert!(!state.busy());
    state
}

pub fn names(state: &State) -> Vec<&str> {
    state
        .dashboard
        .visible
        .iter()
        .map(|&i| state.dashboard.rows[i].name.as_str())
        .collect()
}

/// Select the certificate `name` on the dashboard.
pub fn select(state: &mut State, name: &str) {
    let at = state.dashboard.position(name).expect("row");
    state.dashboard.selected = at;
}
