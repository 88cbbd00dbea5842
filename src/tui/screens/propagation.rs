//! The propagation matrix screen: one watch, refreshed until everything is in place.

use std::fmt::Write as _;
use std::time::Duration;

use crate::jobs::propagation::Target;
use crate::tui::action::Action;
use crate::tui::state::{Screen, State};
use crate::tui::update::{Effect, Nav};
use crate::tui::watch::{Cell, Watch};

/// Time between rounds on this screen.
pub const EVERY: Duration = Duration::from_secs(10);

/// The screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropagationScreen {
    /// What is checked, for the title.
    pub title: String,
    /// The watch.
    pub watch: Watch,
}

/// Open the matrix for `target` and start the first round.
pub fn open(state: &mut State, title: &str, target: Target) -> Vec<Effect> {
    let mut watch = Watch::new("screen", target, EVERY);
    let effect = watch.start(state);
    state.stack.push(Screen::Propagation(PropagationScreen {
        title: title.to_owned(),
        watch,
    }));
    vec![effect]
}

/// An action on the matrix.
pub fn on_action(
    screen: &mut PropagationScreen,
    state: &mut State,
    action: Action,
) -> (Nav, Vec<Effect>) {
    let watch = &mut screen.watch;
    match action {
        Action::Back => {
            // Nobody looks any more: stop the round.
            let effects = watch.job.take().map(|id| {
                state.running.remove(&id);
                Effect::Cancel { id }
            });
            return (Nav::Close, effects.into_iter().collect());
        }
        Action::MoveDown => watch.move_cursor(1, 0),
        Action::MoveUp => watch.move_cursor(-1, 0),
        Action::PageDown => watch.move_cursor(10, 0),
        Action::PageUp => watch.move_cursor(-10, 0),
        Action::MoveFirst => watch.cursor = (0, watch.cursor.1),
        Action::MoveLast => watch.move_cursor(isize::MAX / 2, 0),
        Action::MoveLeft => watch.move_cursor(0, -1),
        Action::MoveRight => watch.move_cursor(0, 1),
        Action::SwitchPane => {
            let columns = watch.matrix.owners.len().max(1);
            watch.cursor.1 = (watch.cursor.1 + 1) % columns;
        }
        Action::Refresh | Action::Check => return (Nav::Stay, vec![watch.start(state)]),
        Action::Copy => {
            state.notify("matrix copied as text");
            return (Nav::Stay, vec![Effect::Copy(as_text(watch))]);
        }
        _ => {}
    }
    (Nav::Stay, Vec::new())
}

/// The matrix as plain text (for a ticket or a chat).
#[must_use]
pub fn as_text(watch: &Watch) -> String {
    let mut out = String::new();
    for row in watch.matrix.rows() {
        let address = row
            .address
            .map_or_else(|| "-".to_owned(), |a| a.to_string());
        let _ = write!(out, "{} {} {}", row.zone, row.server, address);
        for col in 0..watch.matrix.owners.len() {
            let text = match watch.matrix.cells.get(&(row.clone(), col)) {
                Some(Cell::Answered(result)) => result.status.as_str().to_owned(),
                Some(Cell::Pending) => "pending".to_owned(),
                Some(Cell::NoAddress(_)) => "no-address".to_owned(),
                None => "-".to_owned(),
            };
            let _ = write!(out, " {}={text}", watch.matrix.owners[col]);
        }
        out.push('\n');
    }
    if let Some(report) = &watch.matrix.report {
        out.push_str(&report.verdict());
        out.push('\n');
    }
    out
}
