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
    (
        Action::Sort,
        Action::ReverseSort,
        "Sort by the next key / reverse",
    ),
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
            .iter()
            .copied()
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

/// Draw the overlay centred in `area`. When the terminal is too short for every entry, the
/// last line says how many are left out and that the palette lists them all.
pub fn render(frame: &mut Frame, area: Rect, keymap: &Keymap, theme: &Theme) {
    let mut entries = entries(keymap);
    let room = usize::from(area.height.saturating_sub(2));
    if entries.len() > room {
        // Help and quit stay; the last of the others make way.
        let keep = [Action::Help.help(), Action::Quit.help()];
        let mut left_out = 0;
        while entries.len() + 1 > room {
            let Some(at) = entries
                .iter()
                .rposition(|(_, t)| !keep.contains(&t.as_str()))
            else {
                break;
            };
            entries.remove(at);
            left_out += 1;
        }
        entries.push((
            keymap.label(Action::Palette),
            format!("{left_out} more: the command palette lists every action"),
        ));
    }
    let key_width = entries
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let text_room = usize::from(area.width.saturating_sub(2)).saturating_sub(key_width + 4);
    let lines: Vec<Line> = entries
        .into_iter()
        .map(|(keys, text)| {
            Line::from(vec![
                Span::styled(format!(" {keys:>key_width$}  "), theme.title),
                Span::styled(fit(&text, text_room), theme.text),
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
