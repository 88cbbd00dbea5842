//! Mouse clicks on the screens over the dashboard (the dashboard has its own, in
//! `screens::dashboard`): a click selects the row or field under it, with the same geometry
//! the views draw with.

use ratatui::layout::{Position, Rect};

use crate::tui::layout;
use crate::tui::screens::acmedns::Stage as AcmeDnsStage;
use crate::tui::screens::server::Stage as ServerStage;
use crate::tui::state::{Screen, State};
use crate::tui::views::matrix;

/// A left click at `at`.
pub fn click(state: &mut State, at: Position) {
    let area = Rect::new(0, 0, state.size.0, state.size.1);
    let inner = layout::inner(layout::areas(area, state.log.open).body);
    if !inner.contains(at) {
        return;
    }
    let line = at.y - inner.y;
    let index = usize::from(line);
    if matches!(state.stack.last(), Some(Screen::Server)) {
        click_server(state, index);
        return;
    }
    let snapshot = state.clone();
    match state.stack.last_mut() {
        Some(Screen::Propagation(screen)) => {
            if let Some(row) = matrix::row_at(&screen.watch, &snapshot, inner, line) {
                screen.watch.cursor.0 = row;
            }
        }
        Some(Screen::Accounts(view)) => {
            if let Some(row) = crate::tui::views::accounts::row_at(view, inner, line) {
                view.selected = row;
            }
        }
        Some(Screen::Editor(editor)) if editor.request.is_none() => focus(&mut editor.form, index),
        Some(Screen::Account(wizard)) => focus(&mut wizard.form, index),
        Some(Screen::AcmeDns(wizard)) => match &mut wizard.stage {
            AcmeDnsStage::Edit => focus(&mut wizard.form, index),
            AcmeDnsStage::Done {
                delegations, form, ..
            } => {
                // Status line, maybe the "1 of n" line, the heading, then the forms.
                let first = 2 + usize::from(delegations.len() > 1);
                if let Some(chosen) = index.checked_sub(first).filter(|i| *i < 3) {
                    *form = chosen;
                }
            }
            AcmeDnsStage::Working(_) => {}
        },
        _ => {}
    }
}

fn focus(form: &mut crate::tui::form::Form, line: usize) {
    if let Some(field) = form.field_at(line) {
        form.focus = field;
    }
}

/// The server screen: a field of the form, or a record row while it runs (status line and
/// heading first, then the parent records, a heading, then the CNAMEs).
fn click_server(state: &mut State, line: usize) {
    let Some(panel) = &mut state.server else {
        return;
    };
    match &panel.stage {
        ServerStage::Edit => focus(&mut panel.form, line),
        ServerStage::Running { info, .. } => {
            let parents = info.records.len();
            let row = match line.checked_sub(2) {
                Some(i) if i < parents => Some(i),
                Some(i) if i > parents && i - parents - 1 < panel.delegations.len() => Some(i - 1),
                _ => None,
            };
            if let Some(row) = row {
                panel.select(row);
            }
        }
        _ => {}
    }
}
