//! The dashboard's domains pane, and propagation checks started from the dashboard.

use crate::jobs::propagation::Target;
use crate::tui::action::Action;
use crate::tui::screens::{acmedns, propagation};
use crate::tui::state::{Pane, Screen, State};
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

/// Actions in the domains pane: `a` registers an acme-dns account, Enter shows an acme-dns
/// domain's CNAME and its live check.
pub fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let server = state
        .dashboard
        .domains
        .iter()
        .find(|d| d.solver == "acme-dns")
        .and_then(|d| d.target.clone());
    match action {
        Action::Add => {
            let wizard = acmedns::AcmeDnsWizard::new(server.as_deref());
            state.stack.push(Screen::AcmeDns(wizard));
        }
        Action::Edit => {
            let domain = state.dashboard.selected_domain().map(|d| d.domain.clone());
            let wizard = crate::tui::screens::provider::ProviderWizard::new(domain.as_deref());
            state.stack.push(Screen::Provider(wizard));
        }
        Action::Open => {
            let Some(row) = state.dashboard.selected_domain() else {
                return Vec::new();
            };
            if let (Some(fulldomain), Some(server)) = (&row.delegation, &row.target) {
                let delegation = crate::jobs::acmedns::Delegation {
                    server: server.clone(),
                    record: crate::acmedns::CnameRecord::new(&row.domain, fulldomain),
                    mapped: true,
                };
                state
                    .stack
                    .push(Screen::AcmeDns(acmedns::AcmeDnsWizard::existing(
                        delegation,
                    )));
            }
        }
        _ => {}
    }
    Vec::new()
}
