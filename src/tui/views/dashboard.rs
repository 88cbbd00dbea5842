//! The dashboard: every certificate, most urgent first.
//!
//! ```text
//! ┌ certpilot · certificates ──────────────────────────────────────────┐
//! │  NAME       # FIRST NAME     NOT AFTER   DAYS            STATUS    │
//! │▶ old        1 old.example    2025-05-28    -3 ░░░░░░░░░░ expired   │
//! │  web        2 www.example    2025-08-30    90 ██████████ valid     │
//! └────────────────────────────────────────────────────────────────────┘
//!  j down  k up  r reload  ? help  q quit                2 certificates
//! ```

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Cell, HighlightSpacing, Paragraph, Row, Table, TableState};
use ratatui::Frame;
use time::{OffsetDateTime, UtcOffset};

use crate::domain::renewal::CertStatus;
use crate::inventory::CertRow;
use crate::tui::action::{first_key_label, Action, KEYMAP};
use crate::tui::state::{urgency, LoadStatus, State, Urgency};
use crate::tui::theme::Theme;

/// Cells in the days-left bar.
const BAR_WIDTH: u16 = 10;
/// Days left that fill the whole bar (a typical 90-day certificate when fresh).
const BAR_FULL_DAYS: i64 = 90;
/// The command the empty state suggests.
pub const ADD_HINT: &str = "certpilot cert add NAME --name example.com";

/// Draw the dashboard (table or empty state, then the status bar) into `area`.
pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let [body, status] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Line::styled(" certpilot · certificates ", theme.title));
    if state.rows.is_empty() {
        let inner = block.inner(body);
        frame.render_widget(block, body);
        render_placeholder(frame, inner, state, theme);
    } else {
        render_table(frame, body, block, state, theme);
    }
    render_status_bar(frame, status, state, theme);
}

/// Column constraints: name, names count, first name, not after, days, bar, status.
const WIDTHS: [Constraint; 7] = [
    Constraint::Fill(2),
    Constraint::Length(3),
    Constraint::Fill(3),
    Constraint::Length(10),
    Constraint::Length(5),
    Constraint::Length(BAR_WIDTH),
    Constraint::Length(13),
];
/// Marks the selected row; its column is always reserved so rows do not shift.
const HIGHLIGHT_SYMBOL: &str = "▶ ";
const COLUMN_SPACING: u16 = 1;

fn render_table(frame: &mut Frame, area: Rect, block: Block<'_>, state: &State, theme: &Theme) {
    // Resolve the flexible column widths the way the table will, to cut long names with "…".
    let inner = block.inner(area);
    let columns_area = Rect::new(0, 0, inner.width.saturating_sub(2), 1);
    let columns = Layout::horizontal(WIDTHS)
        .spacing(COLUMN_SPACING)
        .split(columns_area);
    let fit_widths = (usize::from(columns[0].width), usize::from(columns[2].width));

    let header = Row::new([
        Line::from("NAME"),
        Line::from("#").right_aligned(),
        Line::from("FIRST NAME"),
        Line::from("NOT AFTER"),
        Line::from("DAYS").right_aligned(),
        Line::default(),
        Line::from("STATUS"),
    ])
    .style(theme.muted.add_modifier(Modifier::BOLD));
    let rows = state
        .rows
        .iter()
        .map(|row| table_row(row, fit_widths, theme));
    let table = Table::new(rows, WIDTHS)
        .header(header)
        .block(block)
        .style(theme.text)
        .column_spacing(COLUMN_SPACING)
        .row_highlight_style(theme.selection)
        .highlight_symbol(Line::from(HIGHLIGHT_SYMBOL))
        .highlight_spacing(HighlightSpacing::Always);
    let mut table_state = TableState::default().with_selected(Some(state.selected));
    frame.render_stateful_widget(table, area, &mut table_state);
}

fn table_row(
    row: &CertRow,
    (name_width, first_width): (usize, usize),
    theme: &Theme,
) -> Row<'static> {
    let urgency_style = urgency_style(urgency(row), theme);
    let first = row.names.first().map_or("", String::as_str);
    let days = match row.days_left {
        Some(days) => Span::styled(days.to_string(), urgency_style),
        None => Span::styled("—", theme.muted),
    };
    Row::new([
        Cell::from(fit(&row.name, name_width)),
        Cell::from(Line::from(row.names.len().to_string()).right_aligned()),
        Cell::from(Span::styled(fit(first, first_width), theme.record)),
        Cell::from(row.not_after.map_or_else(|| "—".to_owned(), ymd)),
        Cell::from(Line::from(days).right_aligned()),
        Cell::from(bar(row.days_left, urgency_style, theme)),
        Cell::from(Span::styled(
            row.status.as_str(),
            status_style(row.status, theme),
        )),
    ])
}

/// `text` cut to `width` characters, ending in "…" when something was cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `YYYY-MM-DD` in UTC.
fn ymd(at: OffsetDateTime) -> String {
    let date = at.to_offset(UtcOffset::UTC).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A small bar: full at [`BAR_FULL_DAYS`] or more, empty when expired or unknown.
fn bar(days_left: Option<i64>, filled_style: Style, theme: &Theme) -> Line<'static> {
    let width = i64::from(BAR_WIDTH);
    let filled = days_left.map_or(0, |days| {
        // Round up so that any time left shows at least one cell.
        (days.clamp(0, BAR_FULL_DAYS) * width + BAR_FULL_DAYS - 1) / BAR_FULL_DAYS
    });
    let filled = usize::try_from(filled).unwrap_or(0);
    let empty = usize::from(BAR_WIDTH).saturating_sub(filled);
    Line::from(vec![
        Span::styled("█".repeat(filled), filled_style),
        Span::styled("░".repeat(empty), theme.muted),
    ])
}

/// The theme slot for an urgency.
#[must_use]
pub fn urgency_style(urgency: Urgency, theme: &Theme) -> Style {
    match urgency {
        Urgency::Ok => theme.ok,
        Urgency::Warn => theme.warn,
        Urgency::Error => theme.error,
        Urgency::Unknown => theme.muted,
    }
}

fn status_style(status: CertStatus, theme: &Theme) -> Style {
    match status {
        CertStatus::Valid => theme.ok,
        CertStatus::Expiring | CertStatus::NamesChanged => theme.warn,
        CertStatus::Expired => theme.error,
        CertStatus::Missing => theme.pending,
    }
}

/// What the body shows without rows: loading, the first load's error, or how to add one.
fn render_placeholder(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let reload = first_key_label(Action::Reload);
    let lines: Vec<Line> = match &state.load {
        LoadStatus::Loading { .. } if !state.loaded_once => {
            vec![Line::styled(
                format!("{} Loading certificates…", state.spinner_frame()),
                theme.pending,
            )]
        }
        LoadStatus::Failed(message) if !state.loaded_once => vec![
            Line::styled("Could not read the certificates", theme.error),
            Line::styled(message.clone(), theme.text),
            Line::default(),
            Line::styled(format!("Press {reload} to try again."), theme.muted),
        ],
        _ => vec![
            Line::styled("No certificates yet.", theme.title),
            Line::default(),
            Line::styled("Add one with:", theme.text),
            Line::default(),
            Line::styled(ADD_HINT, theme.record),
            Line::default(),
            Line::styled(format!("then press {reload} to reload."), theme.muted),
        ],
    };
    let height = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let centered = area.centered_vertically(Constraint::Length(height));
    let text = Text::from(lines).alignment(Alignment::Center);
    frame.render_widget(
        Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }),
        centered,
    );
}

/// Key hints on the left (from the keymap), load progress on the right.
fn render_status_bar(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut hints = vec![Span::raw(" ")];
    for binding in KEYMAP {
        if let (Some(hint), Some(key)) = (binding.hint, binding.keys.first()) {
            hints.push(Span::styled(key.label(), theme.title));
            hints.push(Span::styled(format!(" {hint}  "), theme.muted));
        }
    }
    let hints = Line::from(hints);
    let (text, style) = match &state.load {
        LoadStatus::Idle => (String::new(), theme.muted),
        LoadStatus::Loading { .. } => {
            (format!("{} loading…", state.spinner_frame()), theme.pending)
        }
        LoadStatus::Loaded => {
            let count = state.rows.len();
            let noun = if count == 1 {
                "certificate"
            } else {
                "certificates"
            };
            (format!("{count} {noun}"), theme.muted)
        }
        LoadStatus::Failed(message) => (format!("error: {message}"), theme.error),
    };
    // The hints always fit; the progress text (maybe a long error) gets what is left.
    let hints_width = u16::try_from(hints.width())
        .unwrap_or(u16::MAX)
        .min(area.width);
    let [left, right] =
        Layout::horizontal([Constraint::Length(hints_width), Constraint::Fill(1)]).areas(area);
    let room = usize::from(right.width.saturating_sub(1));
    frame.render_widget(hints, left);
    frame.render_widget(
        Line::styled(format!("{} ", fit(&text, room)), style).right_aligned(),
        right,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        let cases = [
            ("abc", 3, "abc"),
            ("abcd", 3, "ab…"),
            ("", 0, ""),
            ("ab", 0, "…"),
        ];
        for (text, width, expected) in cases {
            assert_eq!(fit(text, width), expected);
        }
    }

    #[test]
    fn bar_fills_by_days_left() {
        let theme = Theme::builtin("default", false).unwrap();
        let cases = [
            (None, 0),
            (Some(-5), 0),
            (Some(0), 0),
            (Some(1), 1),
            (Some(45), 5),
            (Some(90), 10),
            (Some(400), 10),
        ];
        for (days, filled) in cases {
            let line = bar(days, theme.ok, &theme);
            assert_eq!(line.spans[0].content.chars().count(), filled, "{days:?}");
            assert_eq!(line.width(), usize::from(BAR_WIDTH));
        }
    }
}
