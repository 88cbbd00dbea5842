//! Where each job answer goes: to the screen or issuance that waits for that job id.

use crate::jobs::{Event, JobId};
use crate::tui::screens::account::{self, Stage};
use crate::tui::screens::acmedns::{self, Stage as AcmeDnsStage};
use crate::tui::screens::{dashboard, detail, editor, issuance, provider, server};
use crate::tui::state::{Screen, State};
use crate::tui::update::{Effect, Nav};

/// Hand `event` of job `id` (known to be awaited) to its owner.
pub fn route(state: &mut State, id: JobId, event: Event) -> Vec<Effect> {
    match event {
        Event::InventoryLoaded(result) => {
            state.dashboard.loaded(result.map_err(|e| shown(&e)));
            dashboard::move_selection(state, 0);
            Vec::new()
        }
        Event::DetailLoaded(result) => {
            for screen in &mut state.stack {
                if let Screen::Detail(d) = screen {
                    if d.request == id {
                        detail::loaded(d, result.clone().map_err(|e| shown(&e)));
                    }
                }
            }
            Vec::new()
        }
        Event::ProfilesLoaded(offered) => {
            for screen in &mut state.stack {
                if let Screen::Editor(e) = screen {
                    if e.profiles_request == Some(id) {
                        e.profiles_loaded(offered.clone());
                    }
                }
            }
            Vec::new()
        }
        Event::DirectoryFetched(result) => {
            let result = result.map_err(|e| shown(&e));
            if let Some(wizard) = wizard_waiting_for(state, id) {
                account::fetched(wizard, result);
            }
            Vec::new()
        }
        Event::AccountRegistered(result) => registered(state, id, result.map_err(|e| shown(&e))),
        event @ (Event::AccountRemoved(_) | Event::AccountsLoaded(_) | Event::DomainRemoved(_)) => {
            managed(state, id, event)
        }
        Event::CertificateSaved(result) => saved(state, id, &result),
        Event::CertificateDeleted(result) => deleted(state, result),
        Event::FaultSwitched(result) => {
            crate::tui::screens::sandbox::switched(state, result.map_err(|e| shown(&e)));
            Vec::new()
        }
        Event::AcmeDnsSaved(result) => acme_dns_saved(state, id, result.map_err(|e| shown(&e))),
        Event::ServerStarted(info) => server::started(state, id, info),
        Event::ServerStopped(result) => server::stopped(state, id, result.map_err(|e| shown(&e))),
        Event::ParentChecked(result) => {
            server::checked(state, id, result.map_err(|e| shown(&e)));
            Vec::new()
        }
        Event::ServerRegistered(result) => {
            server::registered(state, id, result.map_err(|e| shown(&e)))
        }
        Event::ProviderSaved(result) => provider_saved(state, id, result),
        Event::RecordsToCreate(records) => {
            issuance::records_to_create(state, id, records);
            Vec::new()
        }
        other => route_watch_or_issue(state, id, other),
    }
}

/// Answers of the management views: accounts read or removed, a domain's solver removed.
fn managed(state: &mut State, id: JobId, event: Event) -> Vec<Effect> {
    match event {
        Event::AccountRemoved(Ok(name)) => {
            tracing::info!(account = %name, "account removed");
            state.notify(format!("account {name} removed"));
            let mut effects = dashboard::reload(state);
            effects.extend(crate::tui::screens::accounts::reload(state));
            effects
        }
        Event::AccountsLoaded(result) => {
            crate::tui::screens::accounts::loaded(state, id, &result.map_err(|e| shown(&e)));
            Vec::new()
        }
        Event::DomainRemoved(Ok(domain)) => {
            state.dashboard.checks.remove(&domain);
            state.notify(format!("{domain}: solver removed"));
            dashboard::reload(state)
        }
        Event::DomainRemoved(Err(error)) => {
            state.fail("Removing the solver failed", shown(&error));
            Vec::new()
        }
        Event::AccountRemoved(Err(error)) => {
            tracing::warn!(reason = %error, "removing the account failed");
            state.fail("Removing the account failed", error.to_string());
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// Issuance steps and propagation rounds.
fn route_watch_or_issue(state: &mut State, id: JobId, event: Event) -> Vec<Effect> {
    match event {
        Event::IssueProgress { step, elapsed } => {
            if let crate::acme::Step::Propagation(report) = &step {
                // The issuance's own rounds count as checks of the domains they cover.
                let owners: Vec<String> = report
                    .names
                    .iter()
                    .map(|n| n.expected.owner.clone())
                    .collect();
                crate::tui::screens::domains::checked(state, &owners, report.propagated);
            }
            let clock = state.clock;
            if let Some(issuance) = state.issuances.values_mut().find(|i| i.job == id) {
                issuance::progressed(issuance, step, elapsed, clock);
            }
        }
        Event::IssueFinished(result) => {
            let cert = state
                .issuances
                .values()
                .find(|i| i.job == id)
                .map(|i| i.cert.clone());
            return cert.map_or_else(Vec::new, |cert| issuance::finished(state, &cert, result));
        }
        Event::Probe(probe) => {
            if let Some(watch) = state.watch_for(id) {
                watch.matrix.apply(probe);
            }
        }
        Event::PropagationChecked(result) => {
            let clock = state.clock;
            let propagated = result.as_ref().is_ok_and(|r| r.propagated);
            if let Some(watch) = state.watch_for(id) {
                watch.finished(result.map_err(|e| shown(&e)), clock);
                let owners = watch.matrix.owners.clone();
                crate::tui::screens::domains::checked(state, &owners, propagated);
            }
        }
        Event::Panicked(message) => state.fail("A background job failed", message),
        _ => {}
    }
    Vec::new()
}

fn deleted(state: &mut State, result: Result<String, crate::ops::Shared>) -> Vec<Effect> {
    match result {
        Ok(name) => {
            tracing::info!(cert = %name, "certificate deleted");
            state.notify(format!("{name} deleted"));
            dashboard::reload(state)
        }
        Err(error) => {
            tracing::warn!(reason = %error, "deleting failed");
            state.fail("Deleting failed", error.to_string());
            Vec::new()
        }
    }
}

fn provider_saved(
    state: &mut State,
    id: JobId,
    result: Result<String, crate::ops::Shared>,
) -> Vec<Effect> {
    let result = result.map_err(|e| shown(&e));
    let index = state
        .stack
        .iter()
        .position(|s| matches!(s, Screen::Provider(w) if w.stage == provider::Stage::Testing(id)));
    let Some(index) = index else {
        return match result {
            Ok(_) => dashboard::reload(state),
            Err(message) => {
                state.fail("DNS provider test failed", message);
                Vec::new()
            }
        };
    };
    let Screen::Provider(mut wizard) = state.stack.remove(index) else {
        return Vec::new();
    };
    let effects = provider::saved(&mut wizard, state, result);
    let index = index.min(state.stack.len());
    state.stack.insert(index, Screen::Provider(wizard));
    effects
}

fn acme_dns_saved(
    state: &mut State,
    id: JobId,
    result: Result<Vec<crate::jobs::acmedns::Delegation>, String>,
) -> Vec<Effect> {
    let index = state
        .stack
        .iter()
        .position(|s| matches!(s, Screen::AcmeDns(w) if w.stage == AcmeDnsStage::Working(id)));
    let Some(index) = index else {
        return match result {
            Ok(_) => dashboard::reload(state),
            Err(message) => {
                state.fail("acme-dns failed", message);
                Vec::new()
            }
        };
    };
    let Screen::AcmeDns(mut wizard) = state.stack.remove(index) else {
        return Vec::new();
    };
    let effects = acmedns::saved(&mut wizard, state, result);
    let index = index.min(state.stack.len());
    state.stack.insert(index, Screen::AcmeDns(wizard));
    effects
}

/// The text the TUI shows for an operation's typed error (its Display, which names the
/// file, server or field that failed).
fn shown(error: &crate::ops::Shared) -> String {
    error.to_string()
}

fn wizard_waiting_for(state: &mut State, id: JobId) -> Option<&mut account::AccountWizard> {
    state.stack.iter_mut().find_map(|screen| match screen {
        Screen::Account(w)
            if matches!(w.stage, Stage::Fetching(j) | Stage::Registering(j, _) if j == id) =>
        {
            Some(w)
        }
        _ => None,
    })
}

fn registered(
    state: &mut State,
    id: JobId,
    result: Result<crate::jobs::account::Registered, String>,
) -> Vec<Effect> {
    let ok = result.as_ref().ok().map(|r| r.name.clone());
    match &result {
        Ok(r) => tracing::info!(account = %r.name, "account registered"),
        Err(message) => tracing::warn!(reason = %message, "registering the account failed"),
    }
    match wizard_waiting_for(state, id) {
        Some(wizard) => account::registered(wizard, result),
        None => {
            if let Err(message) = &result {
                state.fail("Registering the account failed", message.clone());
            }
        }
    }
    match ok {
        Some(name) => {
            state.notify(format!("account {name} registered"));
            let mut effects = dashboard::reload(state);
            effects.extend(crate::tui::screens::accounts::reload(state));
            effects
        }
        None => Vec::new(),
    }
}

fn saved(state: &mut State, id: JobId, result: &Result<String, crate::ops::Shared>) -> Vec<Effect> {
    let index = state
        .stack
        .iter()
        .position(|s| matches!(s, Screen::Editor(e) if e.request == Some(id)));
    let nav = if let Some(Screen::Editor(editor)) = index.map(|i| &mut state.stack[i]) {
        editor::saved(editor, result)
    } else {
        if let Err(error) = result {
            state.fail("Saving failed", error.to_string());
        }
        Nav::Stay
    };
    if let (Nav::Close, Some(i)) = (nav, index) {
        state.stack.remove(i);
    }
    if let Err(message) = result {
        tracing::warn!(reason = %message, "saving the certificate failed");
    }
    match result {
        Ok(name) => {
            tracing::info!(cert = %name, "certificate saved");
            state.dashboard.follow = Some(name.clone());
            let issue = state.keymap.label(crate::tui::action::Action::Issue);
            state.notify(format!("{name} saved; press {issue} to issue it"));
            dashboard::reload(state)
        }
        Err(_) => Vec::new(),
    }
}

/// Start the rounds that are due.
pub fn tick_watches(state: &mut State) -> Vec<Effect> {
    let clock = state.clock;
    let mut effects = Vec::new();
    for index in 0..state.stack.len() {
        let job = match &state.stack[index] {
            Screen::Propagation(p) if p.watch.due(clock) => p.watch.round(),
            Screen::AcmeDns(w) if w.watch.as_ref().is_some_and(|w| w.due(clock)) => {
                match &w.watch {
                    Some(watch) => watch.round(),
                    None => continue,
                }
            }
            _ => continue,
        };
        let (id, effect) = state.start(job);
        match &mut state.stack[index] {
            Screen::Propagation(p) => p.watch.started(id),
            Screen::AcmeDns(w) => {
                if let Some(watch) = &mut w.watch {
                    watch.started(id);
                }
            }
            _ => {}
        }
        effects.push(effect);
    }
    effects.extend(server::tick(state));
    let due: Vec<String> = state
        .issuances
        .iter()
        .filter(|(_, i)| i.watch.as_ref().is_some_and(|w| w.due(clock)))
        .map(|(cert, _)| cert.clone())
        .collect();
    for cert in due {
        let Some(job) = state.issuances[&cert]
            .watch
            .as_ref()
            .map(crate::tui::watch::Watch::round)
        else {
            continue;
        };
        let (id, effect) = state.start(job);
        if let Some(watch) = state
            .issuances
            .get_mut(&cert)
            .and_then(|i| i.watch.as_mut())
        {
            watch.started(id);
        }
        effects.push(effect);
    }
    effects
}
