//! The command palette (`:`): every action with its key, filtered by what is typed; Enter
//! runs the selected one on the screen underneath, Esc closes. Entries come from
//! [`Action::ALL`] and its own names and sentences, so the palette cannot drift from the
//! keymap.

use crossterm::event::{KeyCode, KeyEvent};

use crate::tui::action::Action;
use crate::tui::form::TextInput;
use crate::tui::state::State;
use crate::tui::update::Effect;

/// The palette's query and selection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Palette {
    /// What is typed.
    pub query: TextInput,
    /// Index into [`entries`] of the selected entry.
    pub selected: usize,
}

/// Whether the palette offers `action` here: not itself, and the fault menu only inside a
/// sandbox.
fn offered(state: &State, action: Action) -> bool {
    match action {
        Action::Palette => false,
        Action::Sandbox => state.sandbox.is_some(),
        _ => true,
    }
}

/// Whether `action` matches the lowercase words of `query` (each word somewhere in its
/// name, its hint, its sentence or its keys).
#[must_use]
pub fn matches(state: &State, action: Action, query: &str) -> bool {
    let haystack = format!(
        "{} {} {} {}",
        action.name().replace('_', " "),
        action.hint(),
        action.help(),
        state.keymap.keys_label(action)
    )
    .to_lowercase();
    query
        .to_lowercase()
        .split_whitespace()
        .all(|word| haystack.contains(word))
}

/// The actions shown for the current query, in help order.
#[must_use]
pub fn entries(state: &State) -> Vec<Action> {
    let query = state
        .palette
        .as_ref()
        .map_or("", |p| p.query.value())
        .to_owned();
    Action::ALL
        .iter()
        .copied()
        .filter(|a| offered(state, *a) && matches(state, *a, &query))
        .collect()
}

/// `:`: open the palette (closing the help).
pub fn open(state: &mut State) {
    state.help = false;
    state.palette = Some(Palette::default());
}

/// A key while the palette is open: it takes every key.
pub fn on_key(state: &mut State, key: &KeyEvent) -> Vec<Effect> {
    let count = entries(state).len();
    let Some(palette) = state.palette.as_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => state.palette = None,
        KeyCode::Down => palette.selected = (palette.selected + 1).min(count.saturating_sub(1)),
        KeyCode::Up => palette.selected = palette.selected.saturating_sub(1),
        KeyCode::Enter => {
            let chosen = entries(state).get(palette_selected(state)).copied();
            state.palette = None;
            return chosen.map_or_else(Vec::new, |action| {
                crate::tui::update::on_action(state, action)
            });
        }
        _ => {
            if palette.query.handle(key) {
                palette.selected = 0;
            }
        }
    }
    Vec::new()
}

fn palette_selected(state: &State) -> usize {
    state.palette.as_ref().map_or(0, |p| p.selected)
}
