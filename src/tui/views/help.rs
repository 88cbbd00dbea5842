//! The help overlay: every key of the keymap, drawn over the current screen.
//!
//! ```text
//!        ┌ Keys ──────────────────────────────────────┐
//!        │       j/↓  Select the next certificate     │
//!        │         …                                  │
//!        └──────────────────────── ?/Esc to close ────┘
//! ```

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::tui::action::{first_key_label, Action, KEYMAP};
use crate::tui::theme::Theme;

/// Draw the overlay centred in `area`.
pub fn render(frame: &mut Frame, area: Rect, theme: &Theme) {
    let key_width = KEYMAP
        .iter()
        .map(|b| b.keys_label().chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = KEYMAP
        .iter()
        .map(|binding| {
            Line::from(vec![
                Span::styled(
                    format!(" {:>key_width$}  ", binding.keys_label()),
                    theme.title,
                ),
                Span::styled(binding.help, theme.text),
            ])
        })
        .collect();
    let close = format!(
        " {}/{} to close ",
        first_key_label(Action::ToggleHelp),
        first_key_label(Action::Back)
    );
    let content_width = lines.iter().map(Line::width).max().unwrap_or(0) + 2;
    let width = u16::try_from(content_width + 2)
        .unwrap_or(u16::MAX)
        .min(area.width);
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .style(theme.text)
        .title(Line::styled(" Keys ", theme.title))
        .title_bottom(Line::styled(close, theme.muted).right_aligned());
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
