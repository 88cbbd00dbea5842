//! The certificate editor.
//!
//! ```text
//! ┌ new certificate ───────────────────────────────────────────────┐
//! │▶ Name                 web                                      │
//! │  DNS names            www.example.com, example.com             │
//! │                       2 name(s)                                │
//! │  Key type             ‹ ecdsa-p256 ›                           │
//! │  Account              letsencrypt                              │
//! │  Solver example.com   ‹ exec (a hook program) ›                │
//! │    Hook               /usr/local/bin/dns-hook                  │
//! └────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::tui::screens::editor::CertEditor;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::form;
use crate::tui::views::widgets::panel;

/// Longest label column.
const MAX_LABEL: usize = 26;

/// Draw the editor.
pub fn render(frame: &mut Frame, area: Rect, editor: &CertEditor, state: &State, theme: &Theme) {
    let title = match &editor.original {
        Some(name) => format!("edit certificate · {name}"),
        None => "new certificate".to_owned(),
    };
    let block = panel(&title, true, theme);
    let inner = block.inner(area);
    let width = form::label_width(&editor.form, MAX_LABEL);
    let saving = editor.request.is_some();
    let (mut lines, cursor) = form::lines(&editor.form, width, !saving, theme);
    lines.push(Line::default());
    if saving {
        lines.push(Line::styled(
            format!("{} saving…", state.spinner_frame()),
            theme.pending,
        ));
    } else if let Some(error) = &editor.error {
        lines.push(Line::styled(format!(" ✗ {error}"), theme.error));
    } else {
        lines.push(Line::from(vec![Span::styled(
            " Names are checked as you type; separate them with commas or spaces.",
            theme.muted,
        )]));
    }
    form::draw(frame, (area, inner), Some(block), lines, cursor, theme);
}

/// Put the terminal cursor at a text field's cursor, when it is inside `inner`.
pub fn set_cursor(frame: &mut Frame, inner: Rect, cursor: Option<(usize, usize)>) {
    if let Some((line, column)) = cursor {
        let x = inner
            .x
            .saturating_add(u16::try_from(column).unwrap_or(u16::MAX));
        let y = inner
            .y
            .saturating_add(u16::try_from(line).unwrap_or(u16::MAX));
        if x < inner.right() && y < inner.bottom() {
            frame.set_cursor_position(Position::new(x, y));
        }
    }
}
