//! The command palette over the current screen: the query, then every matching action with
//! its keys; the selected one runs on Enter.
//!
//! ```text
//!        ┌ commands ─────────────────────────────────────────────┐
//!        │ : acc▏                                                │
//!        │        u  ACME accounts: list, remove, register again │
//!        │        A  Register an ACME account                    │
//!        └──────────────────────── 1/2 · Enter run · Esc close ──┘
//! ```

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::tui::layout;
use crate::tui::screens::palette::{entries, Palette};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::widgets::fit;

/// The palette's width at most.
const WIDTH: u16 = 72;

/// Draw the palette centred in `area`.
pub fn render(frame: &mut Frame, area: Rect, palette: &Palette, state: &State, theme: &Theme) {
    let actions = entries(state);
    let width = WIDTH.min(area.width);
    let wanted = u16::try_from(actions.len().max(1) + 3).unwrap_or(u16::MAX);
    let height = wanted
        .min(area.height.saturating_sub(2))
        .max(4.min(area.height));
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    let position = if actions.is_empty() {
        "0/0".to_owned()
    } else {
        format!("{}/{}", palette.selected + 1, actions.len())
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.title)
        .style(theme.text)
        .title(Line::styled(" commands ", theme.title))
        .title_bottom(
            Line::styled(format!(" {position} · Enter run · Esc close "), theme.muted)
                .right_aligned(),
        );
    let inner = block.inner(rect);
    let room = usize::from(inner.width);
    let mut lines = vec![Line::from(vec![
        Span::styled(" : ", theme.title),
        Span::styled(format!("{}▏", palette.query.value()), theme.text),
    ])];
    let keys: Vec<String> = actions
        .iter()
        .map(|a| state.keymap.keys_label(*a))
        .collect();
    let key_width = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
    let rows = usize::from(inner.height.saturating_sub(1)).max(1);
    let offset = layout::scroll_into_view(palette.selected, 0, rows);
    if actions.is_empty() {
        lines.push(Line::styled(" no action matches", theme.muted));
    }
    for (index, (action, keys)) in actions
        .iter()
        .zip(&keys)
        .enumerate()
        .skip(offset)
        .take(rows)
    {
        let text = fit(action.help(), room.saturating_sub(key_width + 4));
        let (marker, style) = if index == palette.selected {
            ("▶", theme.selection)
        } else {
            (" ", theme.text)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{marker}{keys:>key_width$}  "), theme.title),
            Span::styled(text, style),
        ]));
    }
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
