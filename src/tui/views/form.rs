//! Drawing a [`Form`]: one line per field (label, value), an inline error or note under it.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::form::{Field, Form, Input};
use crate::tui::theme::Theme;
use crate::tui::views::editor::set_cursor;

/// The label column's width: the longest label, at most `max` characters.
#[must_use]
pub fn label_width(form: &Form, max: usize) -> usize {
    form.fields
        .iter()
        .map(|f| f.label.chars().count())
        .max()
        .unwrap_or(0)
        .min(max)
}

/// The lines of `form` and, when a text field has the focus, where the cursor goes
/// (line index, column). `active` is false while the form waits for a job.
#[must_use]
pub fn lines(
    form: &Form,
    label_width: usize,
    active: bool,
    theme: &Theme,
) -> (Vec<Line<'static>>, Option<(usize, usize)>) {
    let mut out = Vec::new();
    let mut cursor = None;
    for (i, field) in form.fields.iter().enumerate() {
        let focused = active && i == form.focus;
        let marker = if focused { "▶" } else { " " };
        let mut spans = vec![
            Span::styled(marker.to_owned(), theme.title),
            Span::styled(
                format!(" {:<label_width$} ", field.label),
                if focused { theme.title } else { theme.muted },
            ),
        ];
        if focused {
            if let Input::Text(input) = &field.input {
                cursor = Some((out.len(), label_width + 3 + input.cursor()));
            }
        }
        spans.extend(value_spans(field, focused, theme));
        out.push(Line::from(spans));
        let indent = " ".repeat(label_width + 3);
        if let Some(error) = &field.error {
            out.push(Line::from(vec![
                Span::raw(indent.clone()),
                Span::styled(format!("✗ {error}"), theme.error),
            ]));
        } else if let Some(note) = &field.note {
            out.push(Line::from(vec![
                Span::raw(indent),
                Span::styled(note.clone(), theme.muted),
            ]));
        }
    }
    (out, cursor)
}

/// The value of a field: text (masked for secrets), `‹ choice ›` or a checkbox.
fn value_spans(field: &Field, focused: bool, theme: &Theme) -> Vec<Span<'static>> {
    let value_style = if focused { theme.selection } else { theme.text };
    let mut spans = Vec::new();
    match &field.input {
        Input::Text(input) => {
            let shown = if field.masked {
                "•".repeat(input.value().chars().count())
            } else {
                input.value().to_owned()
            };
            spans.push(Span::styled(format!("{shown} "), value_style));
        }
        Input::Choice { options, selected } => {
            let option = options.get(*selected).cloned().unwrap_or_default();
            let (left, right) = if options.len() > 1 {
                ("‹ ", " ›")
            } else {
                ("", "")
            };
            spans.push(Span::styled(format!("{left}{option}{right}"), value_style));
            if focused && options.len() > 1 {
                spans.push(Span::styled(
                    format!("  {}/{} ←/→", selected + 1, options.len()),
                    theme.muted,
                ));
            }
        }
        Input::Check(checked) => {
            let mark = if *checked { "[x]" } else { "[ ]" };
            spans.push(Span::styled(mark.to_owned(), value_style));
            if focused {
                spans.push(Span::styled("  Space to tick", theme.muted));
            }
        }
    }
    spans
}

/// Draw a form's lines wrapped in `area` (inside `block`, when given, whose inner area is
/// `inner`) and put the terminal cursor where [`lines`] says.
pub fn draw(
    frame: &mut Frame,
    (area, inner): (Rect, Rect),
    block: Option<Block<'static>>,
    lines: Vec<Line<'static>>,
    cursor: Option<(usize, usize)>,
    theme: &Theme,
) {
    let mut paragraph = Paragraph::new(lines)
        .style(theme.text)
        .wrap(Wrap { trim: false });
    if let Some(block) = block {
        paragraph = paragraph.block(block);
    }
    frame.render_widget(paragraph, area);
    set_cursor(frame, inner, cursor);
}

/// The line under a form: what a running job does (with the spinner `frame`), else the
/// last error, else a hint about the screen.
#[must_use]
pub fn status_line(
    working: Option<(&str, &str)>,
    error: Option<&str>,
    hint: &'static str,
    theme: &Theme,
) -> Line<'static> {
    match (working, error) {
        (Some((spinner, what)), _) => Line::styled(format!(" {spinner} {what}"), theme.pending),
        (None, Some(error)) => Line::styled(format!(" ✗ {error}"), theme.error),
        (None, None) => Line::styled(hint, theme.muted),
    }
}
