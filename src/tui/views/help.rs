//! The help overlay: every binding of the keymap, drawn over the current screen.
//!
//! ```text
//!        ┌ Keys ──────────────────────────────────────┐
//!        │      j/↓ k/↑  Next / previous row or field │
//!        │         …                                  │
//!        └──────────────────────────── ?/Esc close ───┘
//! ```

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::tui::action::Action;
use crate::tui::keymap::Keymap;
use crate::tui::theme::Theme;

/// Pairs shown on one line to keep the overlay short.
const PAIRS: [(Action, Action, &str); 3] = [
    (
        Action::MoveDown,
        Action::MoveUp,
        "Next / previous row or field",
    ),
    (Action::MoveFirst, Action::MoveLast, "First / last row"),
    (Action::PageDown, Action::PageUp, "Page down / up"),
];

/// The overlay's entries: (keys, description).
#[must_use]
pub fn entries(keymap: &Keymap) -> Vec<(String, String)> {
    let paired: Vec<Action> = PAIRS.iter().flat_map(|(a, b, _)| [*a, *b]).collect();
    let mut out: Vec<(String, String)> = PAIRS
        .iter()
        .map(|(a, b, text)| {
            (
                format!("{} {}", keymap.keys_label(*a), keymap.keys_label(*b)),
                (*text).to_owned(),
            )
        })
        .collect();
    out.extend(
        Action::ALL
            .into_iter()
            .filter(|a| !paired.contains(a))
            .map(|a| (keymap.keys_label(a), a.help().to_owned())),
    );
    out.push((
        "Space ←/→".to_owned(),
        "Tick a box / change a choice".to_owned(),
    ));
    out.push((
        "mouse".to_owned(),
        "Click selects (again: opens), wheel scrolls".to_owned(),
    ));
    out
}

/// Draw the overlay centred in `area`.
pub fn render(frame: &mut Frame, area: Rect, keymap: &Keymap, theme: &Theme) {
    let entries = entries(keymap);
    let key_width = entries
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = entries
        .into_iter()
        .map(|(keys, text)| {
            Line::from(vec![
                Span::styled(format!(" {keys:>key_width$}  "), theme.title),
                Span::styled(text, theme.text),
            ])
        })
        .collect();
    let close = format!(
        " {}/{} close · keys.toml rebinds ",
        keymap.label(Action::Help),
        keymap.label(Action::Back)
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
