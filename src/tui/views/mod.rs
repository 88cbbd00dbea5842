//! Pure render functions: `(frame, &State, &Theme)` in, cells out. One file per screen.

pub mod account;
pub mod accounts;
pub mod acmedns;
pub mod dashboard;
pub mod detail;
pub mod editor;
pub mod form;
pub mod help;
pub mod issuance;
pub mod jobs;
pub mod log;
pub mod matrix;
pub mod matrix_info;
pub mod palette;
pub mod popup;
pub mod propagation;
pub mod provider;
pub mod server;
pub mod statusbar;
pub mod widgets;

use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::tui::action::Action;
use crate::tui::layout;
use crate::tui::state::{Popup, Screen, State};
use crate::tui::theme::Theme;

/// The smallest terminal the UI draws in.
pub const MIN_WIDTH: u16 = 80;
/// The smallest terminal height the UI draws in.
pub const MIN_HEIGHT: u16 = 24;

/// Draw the whole screen for `state`.
pub fn render(frame: &mut Frame, state: &State, theme: &Theme) {
    let area = frame.area();
    // Paint the background first so themes with a `text.bg` colour fill the whole screen.
    frame.render_widget(Block::new().style(theme.text), area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        render_too_small(frame, area, state, theme);
        return;
    }
    let areas = layout::areas(area, state.log.open);
    match state.screen() {
        None => dashboard::render(frame, areas.body, state, theme),
        Some(Screen::Detail(screen)) => detail::render(frame, areas.body, screen, state, theme),
        Some(Screen::Editor(editor)) => editor::render(frame, areas.body, editor, state, theme),
        Some(Screen::Account(wizard)) => account::render(frame, areas.body, wizard, state, theme),
        Some(Screen::Issuance { cert }) => issuance::render(frame, areas.body, cert, state, theme),
        Some(Screen::AcmeDns(wizard)) => acmedns::render(frame, areas.body, wizard, state, theme),
        Some(Screen::Server) => server::render(frame, areas.body, state, theme),
        Some(Screen::Provider(wizard)) => {
            provider::render(frame, areas.body, wizard, state, theme);
        }
        Some(Screen::Propagation(screen)) => {
            propagation::render(frame, areas.body, screen, state, theme);
        }
        Some(Screen::Accounts(view)) => accounts::render(frame, areas.body, view, state, theme),
        Some(Screen::Jobs(screen)) => jobs::render(frame, areas.body, screen, state, theme),
    }
    if let Some(log_area) = areas.log {
        log::render(frame, log_area, state, theme);
    }
    statusbar::render(frame, areas.status, state, theme);
    if state.help {
        help::render(frame, area, &state.keymap, theme);
    }
    if let Some(open) = &state.palette {
        palette::render(frame, area, open, state, theme);
    }
    match &state.popup {
        Some(Popup::Sandbox { cursor }) => popup::sandbox(frame, area, state, *cursor, theme),
        Some(p) => popup::render(frame, area, p, theme),
        None => {}
    }
}

/// The only thing drawn below the minimum size.
fn render_too_small(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let lines = vec![
        Line::styled("Terminal too small", theme.error),
        Line::styled(
            format!(
                "{}×{}, need at least {MIN_WIDTH}×{MIN_HEIGHT}",
                area.width, area.height
            ),
            theme.text,
        ),
        Line::styled(
            format!(
                "Enlarge the window, or press {} to quit",
                state.keymap.label(Action::Quit)
            ),
            theme.muted,
        ),
    ];
    let height = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let centered = area.centered_vertically(Constraint::Length(height));
    frame.render_widget(Paragraph::new(lines).alignment(Alignment::Center), centered);
}
