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
use crate::tui::views::widgets::fit;

/// Pairs shown on one line to keep the overlay short.
const PAIRS: [(Action, Action, &str); 5] = [
    (
        Action::MoveDown,
        Action::MoveUp,
        "Next / previous row or field",
    ),
    (Action::MoveFirst, Action::MoveLast, "First / last row"),
    (Action::PageDown, Action::PageUp, "Page down / up"),
    (
        Action::MoveLeft,
        Action::MoveRight,
        "Previous / next column (matrix)",
    ),
    (Action::Sort, Action::ReverseSort, "Sort by the next key / reverse"),
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

/// Draw the overlay centred in `area`: one column of entries, or two side by side (each
/// sentence cut with "…" to its half) when one column would not fit the height.
pub fn render(frame: &mut Frame, area: Rect, keymap: &Keymap, theme: &Theme) {
    let entries = entries(keymap);
    let key_width = entries
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let text_width = entries
        .iter()
        .map(|(_, t)| t.chars().count())
        .max()
        .unwrap_or(0);
    let one_column = entries.len() + 2 <= usize::from(area.height);
    let per_column = if one_column {
        entries.len()
    } else {
        entries.len().div_ceil(2)
    };
    // Inside the borders: " keys  text" per column, columns one space apart.
    let column_room = if one_column {
        usize::from(area.width.saturating_sub(2))
    } else {
        usize::from(area.width.saturating_sub(3)) / 2
    };
    let text_room = column_room
        .saturating_sub(key_width + 3)
        .min(text_width);
    let cell = |(keys, text): &(String, String)| -> Vec<Span<'static>> {
        vec![
            Span::styled(format!(" {keys:>key_width$}  "), theme.title),
            Span::styled(format!("{:<text_room$}", fit(text, text_room)), theme.text),
        ]
    };
    let lines: Vec<Line> = (0..per_column)
        .map(|row| {
            let mut spans = cell(&entries[row]);
            if let Some(right) = entries.get(row + per_column).filter(|_| !one_column) {
                spans.push(Span::raw(" "));
                spans.extend(cell(right));
            }
            Line::from(spans)
        })
        .collect();
    let close = format!(
        " {}/{} close · {} runs any · keys.toml rebinds ",
        keymap.label(Action::Help),
        keymap.label(Action::Back),
        keymap.label(Action::Palette)
    );
    let content_width = lines.iter().map(Line::width).max().unwrap_or(0) + 1;
    let width = u16::try_from(content_width.max(close.chars().count()) + 2)
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
