//! The dashboard's domains pane, and propagation checks started from the dashboard.

use crate::jobs::inventory::DomainRow;
use crate::jobs::propagation::Target;
use crate::tui::action::Action;
use crate::tui::screens::provider::ProviderWizard;
use crate::tui::screens::{acmedns, propagation};
use crate::tui::state::{Confirmed, Pane, Popup, Screen, State};
use crate::tui::update::Effect;

/// A propagation round over `owners` ended: remember it for the domains that cover them.
pub fn checked(state: &mut State, owners: &[String], propagated: bool) {
    let clock = state.clock;
    let d = &mut state.dashboard;
    for owner in owners {
        let name = owner.strip_prefix("_acme-challenge.").unwrap_or(owner);
        let covering = d
            .domains
            .iter()
            .filter(|row| {
                name == row.domain
                    || name
                        .strip_suffix(row.domain.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            })
            .max_by_key(|row| row.domain.len());
        if let Some(row) = covering {
            d.checks.insert(row.domain.clone(), (clock, propagated));
        }
    }
}

/// `c`: the matrix of the selected certificate's names, or of the selected domain.
pub fn check(state: &mut State) -> Vec<Effect> {
    let d = &state.dashboard;
    match d.pane {
        Pane::Certificates => {
            let Some(row) = d.selected_row() else {
                return Vec::new();
            };
            let (title, names) = (format!("certificate {}", row.name), row.names.clone());
            propagation::open(state, &title, Target::Names(names))
        }
        Pane::Domains => {
            let Some(row) = d.selected_domain() else {
                return Vec::new();
            };
            let target = match &row.delegation {
                Some(fulldomain) => Target::Delegation {
                    domain: row.domain.clone(),
                    target: fulldomain.clone(),
                },
                None => Target::Names(vec![row.domain.clone()]),
            };
            let title = format!("domain {}", row.domain);
            propagation::open(state, &title, target)
        }
    }
}

/// Actions in the domains pane: `a` registers an acme-dns account; Enter/`e` edit the
/// selected domain's solver (an acme-dns domain shows its CNAME and live check, others open
/// the provider wizard prefilled); `d` removes the mapping after a confirmation; `c`
/// re-checks it (see [`check`]).
pub fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let server = state
        .dashboard
        .domains
        .iter()
        .find(|d| d.solver == "acme-dns")
        .and_then(|d| d.target.clone());
    if action == Action::Add {
        let wizard = acmedns::AcmeDnsWizard::new(server.as_deref());
        state.stack.push(Screen::AcmeDns(wizard));
        return Vec::new();
    }
    let Some(row) = state.dashboard.selected_domain().cloned() else {
        return Vec::new();
    };
    match action {
        Action::Open | Action::Edit => state.stack.push(edit_screen(&row, server.as_deref())),
        Action::Delete => {
            state.popup = Some(Popup::Confirm {
                question: format!("Remove the solver of {}?", row.domain),
                detail: format!(
                    "{} ({}) is removed from certpilot.toml, as `certpilot domain remove {}`; \
                     certificates under it then need another solver. Credentials stay in the \
                     keyring.",
                    row.domain, row.solver, row.domain
                ),
                yes: Confirmed::RemoveDomain {
                    domain: row.domain.clone(),
                },
                alternative: None,
            });
        }
        _ => {}
    }
    Vec::new()
}

/// The screen that edits `row`'s solver.
fn edit_screen(row: &DomainRow, server: Option<&str>) -> Screen {
    if row.solver != "acme-dns" {
        return Screen::Provider(ProviderWizard::editing(row));
    }
    if let (Some(fulldomain), Some(target)) = (&row.delegation, &row.target) {
        let delegation = crate::jobs::acmedns::Delegation {
            server: target.clone(),
            record: crate::acmedns::CnameRecord::new(&row.domain, fulldomain),
            mapped: true,
        };
        Screen::AcmeDns(acmedns::AcmeDnsWizard::existing(delegation))
    } else {
        let mut wizard = acmedns::AcmeDnsWizard::new(row.target.as_deref().or(server));
        wizard.form.set_text("domain", &row.domain);
        Screen::AcmeDns(wizard)
    }
}
