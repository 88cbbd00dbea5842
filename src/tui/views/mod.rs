//! Pure render functions: `(frame, &State, &Theme)` in, cells out. One file per screen.

pub mod dashboard;
pub mod help;

use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::tui::action::{first_key_label, Action};
use crate::tui::state::State;
use crate::tui::theme::Theme;

/// The smallest terminal the dashboard draws in.
pub const MIN_WIDTH: u16 = 80;
/// The smallest terminal height the dashboard draws in.
pub const MIN_HEIGHT: u16 = 24;

/// Draw the whole screen for `state`.
pub fn render(frame: &mut Frame, state: &State, theme: &Theme) {
    let area = frame.area();
    // Paint the background first so themes with a `text.bg` colour fill the whole screen.
    frame.render_widget(Block::new().style(theme.text), area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        render_too_small(frame, area, theme);
        return;
    }
    dashboard::render(frame, area, state, theme);
    if state.show_help {
        help::render(frame, area, theme);
    }
}

/// The only thing drawn below the minimum size.
fn render_too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
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
                first_key_label(Action::Quit)
            ),
            theme.muted,
        ),
    ];
    let height = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let centered = area.centered_vertically(Constraint::Length(height));
    frame.render_widget(Paragraph::new(lines).alignment(Alignment::Center), centered);
}
