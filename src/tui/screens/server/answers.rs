//! The server screen's answers from its jobs (started, stopped, parent zone checked, domains
//! registered) and its timer; each ignores an answer whose job id is no longer awaited.

use crate::dns::parent::RecordCheck;
use crate::jobs::acmedns::Delegation;
use crate::jobs::server::ServerInfo;
use crate::jobs::{Job, JobId};
use crate::tui::screens::dashboard;
use crate::tui::state::State;
use crate::tui::update::Effect;

use super::{check_now, forget_checks, Stage, CHECK_EVERY};

/// The server is listening: check the parent zone and register the domains.
pub fn started(state: &mut State, id: JobId, info: ServerInfo) -> Vec<Effect> {
    let Some(mut panel) = state.server.take() else {
        return Vec::new();
    };
    let mut effects = Vec::new();
    if panel.stage == Stage::Starting(id) {
        let url = info.url.clone();
        panel.stage = Stage::Running { job: id, info };
        panel.selected = 0;
        effects.push(check_now(&mut panel, state));
        let (register, effect) = state.start(Job::RegisterOnServer {
            url,
            domains: panel.domains(),
        });
        panel.register_job = Some(register);
        effects.push(effect);
    }
    state.server = Some(panel);
    effects
}

/// The server stopped, or could not start.
pub fn stopped(state: &mut State, id: JobId, result: Result<(), String>) -> Vec<Effect> {
    let Some(mut panel) = state.server.take() else {
        return Vec::new();
    };
    let mut effects = Vec::new();
    if panel.job() == Some(id) {
        effects = forget_checks(&mut panel, state);
        panel.stage = Stage::Edit;
        panel.checks = None;
        panel.delegations.clear();
        match result {
            Ok(()) => state.notify("acme-dns server stopped"),
            Err(message) => {
                panel.error = Some(message.clone());
                state.fail("acme-dns server", message);
            }
        }
    }
    state.server = Some(panel);
    effects
}

/// The parent zone's records were checked: check again later unless both are served.
pub fn checked(state: &mut State, id: JobId, result: Result<Vec<RecordCheck>, String>) {
    let clock = state.clock;
    let Some(panel) = state.server.as_mut().filter(|p| p.check_job == Some(id)) else {
        return;
    };
    let done = result.as_ref().is_ok_and(|c| c.iter().all(RecordCheck::ok));
    panel.check_job = None;
    panel.checks = Some(result);
    panel.next_check = (!done).then_some(clock + CHECK_EVERY);
}

/// The domains are registered on the server.
pub fn registered(
    state: &mut State,
    id: JobId,
    result: Result<Vec<Delegation>, String>,
) -> Vec<Effect> {
    let Some(panel) = state.server.as_mut().filter(|p| p.register_job == Some(id)) else {
        return Vec::new();
    };
    panel.register_job = None;
    match result {
        Ok(delegations) => {
            let any = !delegations.is_empty();
            panel.delegations = delegations;
            let selected = panel.selected;
            panel.select(selected);
            if any {
                return dashboard::reload(state);
            }
        }
        Err(message) => state.fail("Registering on the acme-dns server failed", message),
    }
    Vec::new()
}

/// Start the parent check when it is due (called on ticks).
pub fn tick(state: &mut State) -> Vec<Effect> {
    let clock = state.clock;
    let Some(mut panel) = state.server.take() else {
        return Vec::new();
    };
    let mut effects = Vec::new();
    let due = panel.check_job.is_none() && panel.next_check.is_some_and(|at| at <= clock);
    if due && panel.info().is_some() {
        effects.push(check_now(&mut panel, state));
    }
    if panel.watch.as_ref().is_some_and(|w| w.due(clock)) {
        if let Some(watch) = &mut panel.watch {
            effects.push(watch.start(state));
        }
    }
    state.server = Some(panel);
    effects
}
