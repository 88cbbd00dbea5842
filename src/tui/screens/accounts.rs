//! The accounts view (`u`, or from the palette): every ACME account with its CA, contact, CA
//! bundle and the certificates using it. `d` removes one after a confirmation (through the
//! same library call as `certpilot account remove`, which refuses while certificates use
//! it); `e`/Enter registers it again (the account wizard prefilled, as `account add NAME
//! --replace`); `a` adds one.

use crate::jobs::accounts::AccountRow;
use crate::jobs::{Job, JobId};
use crate::tui::action::Action;
use crate::tui::screens::account::AccountWizard;
use crate::tui::state::{Confirmed, Popup, Screen, State};
use crate::tui::update::{Effect, Nav};

/// The view's rows and selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsScreen {
    /// The load awaited.
    pub request: Option<JobId>,
    /// The accounts, once read (or why not).
    pub rows: Option<Result<Vec<AccountRow>, String>>,
    /// Index of the selected account.
    pub selected: usize,
}

impl AccountsScreen {
    /// The accounts read so far (none while loading or after a failure).
    #[must_use]
    pub fn accounts(&self) -> &[AccountRow] {
        match &self.rows {
            Some(Ok(rows)) => rows,
            _ => &[],
        }
    }

    /// The selected account.
    #[must_use]
    pub fn selected_row(&self) -> Option<&AccountRow> {
        self.accounts().get(self.selected)
    }
}

/// Open the view and read the accounts.
pub fn open(state: &mut State) -> Vec<Effect> {
    let (id, effect) = state.start(Job::LoadAccounts);
    state.stack.push(Screen::Accounts(AccountsScreen {
        request: Some(id),
        rows: None,
        selected: 0,
    }));
    vec![effect]
}

/// Read the accounts again for every open accounts view (after a change or `r`).
pub fn reload(state: &mut State) -> Vec<Effect> {
    if !state.stack.iter().any(|s| matches!(s, Screen::Accounts(_))) {
        return Vec::new();
    }
    let (id, effect) = state.start(Job::LoadAccounts);
    for screen in &mut state.stack {
        if let Screen::Accounts(view) = screen {
            view.request = Some(id);
        }
    }
    vec![effect]
}

/// The accounts were read.
pub fn loaded(state: &mut State, id: JobId, result: &Result<Vec<AccountRow>, String>) {
    for screen in &mut state.stack {
        if let Screen::Accounts(view) = screen {
            if view.request == Some(id) {
                view.request = None;
                let count = result.as_ref().map_or(0, Vec::len);
                view.selected = view.selected.min(count.saturating_sub(1));
                view.rows = Some(result.clone());
            }
        }
    }
}

/// An action in the view.
pub fn on_action(
    view: &mut AccountsScreen,
    state: &mut State,
    action: Action,
) -> (Nav, Vec<Effect>) {
    let last = view.accounts().len().saturating_sub(1);
    let page = crate::tui::screens::dashboard::page(state);
    match action {
        Action::Back => return (Nav::Close, Vec::new()),
        Action::MoveDown => view.selected = (view.selected + 1).min(last),
        Action::MoveUp => view.selected = view.selected.saturating_sub(1),
        Action::PageDown => view.selected = (view.selected + page).min(last),
        Action::PageUp => view.selected = view.selected.saturating_sub(page),
        Action::MoveFirst => view.selected = 0,
        Action::MoveLast => view.selected = last,
        Action::Refresh => {
            let (id, effect) = state.start(Job::LoadAccounts);
            view.request = Some(id);
            return (Nav::Stay, vec![effect]);
        }
        Action::Add | Action::AddAccount => {
            return (
                Nav::Push(Box::new(Screen::Account(AccountWizard::new()))),
                Vec::new(),
            );
        }
        Action::Open | Action::Edit => {
            if let Some(row) = view.selected_row() {
                let wizard = AccountWizard::replacing(row);
                return (Nav::Push(Box::new(Screen::Account(wizard))), Vec::new());
            }
        }
        Action::Delete => {
            if let Some(row) = view.selected_row() {
                state.popup = Some(remove_question(row));
            }
        }
        _ => {}
    }
    (Nav::Stay, Vec::new())
}

/// The confirmation before removing `row` (the removal itself refuses while certificates
/// use it, naming them).
fn remove_question(row: &AccountRow) -> Popup {
    let users = if row.certificates.is_empty() {
        "No certificate uses it.".to_owned()
    } else {
        format!(
            "Used by {}: the removal is refused until they move to another account \
             (`certpilot account remove {} --reassign OTHER`).",
            row.certificates.join(", "),
            row.name
        )
    };
    Popup::Confirm {
        question: format!("Remove account {}?", row.name),
        detail: format!("Its key is deleted from the keyring (the CA is not told). {users}"),
        yes: Confirmed::RemoveAccount {
            name: row.name.clone(),
        },
        alternative: None,
    }
}
