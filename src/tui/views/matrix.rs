//! A live propagation matrix: one row per authoritative address of every hop, one column per
//! challenge name; below it the selected cell in full, the verdict, the hints, the countdown.
//!
//! ```text
//!  SERVER                    ADDRESS        example.com            www.example.com
//!  example.com
//!    ns1.example.com         192.0.2.1      ✓ match "Xy…" ttl 60   ⠙ pending
//!  ↳ auth.example.net (CNAME target)
//!    ns.auth.example.net     192.0.2.9      ✗ missing              ✗ missing
//!  ns1.example.com 192.0.2.1 · www.example.com: match · TXT "Xy…" · TTL 60 · serial 7 · 2.1 ms
//!  NOT propagated (3/4 address(es) ready): waiting on …
//!  next check in 7s · r checks now
//! ```

use std::fmt::Write as _;

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::dns::probe::{ProbeResult, Status};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::matrix_info::split;
use crate::tui::views::widgets::fit;
use crate::tui::watch::{Cell, RowKey, Watch};

/// Draw `watch` into `area` (no border).
pub fn render(frame: &mut Frame, area: Rect, watch: &Watch, state: &State, theme: &Theme) {
    let (table_area, info_area, info) = split(area, watch, state, theme);
    render_table(frame, table_area, watch, state, theme);
    frame.render_widget(Paragraph::new(info).wrap(Wrap { trim: false }), info_area);
}

/// The matrix row (index into `matrix.rows()`) drawn on line `line` of `area`, where
/// [`render`] drew `watch`; for mouse clicks. Mirrors the layout of [`render`].
#[must_use]
pub fn row_at(watch: &Watch, state: &State, area: Rect, line: u16) -> Option<usize> {
    let theme = Theme::load("default", None, true).ok()?;
    let (table, _, _) = split(area, watch, state, &theme);
    // Line 0 is the header; then a zone label whenever the group changes, then the rows.
    let mut lines: Vec<Option<usize>> = vec![None];
    let mut group: Option<(usize, String)> = None;
    let mut selected_line = 0;
    for (index, key) in watch.matrix.rows().into_iter().enumerate() {
        if group.as_ref() != Some(&(key.hop, key.zone.clone())) {
            group = Some((key.hop, key.zone.clone()));
            lines.push(None);
        }
        if index == watch.cursor.0 {
            selected_line = lines.len();
        }
        lines.push(Some(index));
    }
    let visible = usize::from(table.height).max(2);
    let skip = (selected_line + 1).saturating_sub(visible);
    let line = usize::from(line);
    if line == 0 || line >= usize::from(table.height) {
        return None;
    }
    lines.get(line + skip).copied().flatten()
}

pub(super) fn short(owner: &str) -> &str {
    owner.strip_prefix("_acme-challenge.").unwrap_or(owner)
}

/// The narrowest name column (with its space); more names than fit scroll sideways a page
/// at a time, following the cursor.
const MIN_CELL: usize = 10;

/// The matrix's columns on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Columns {
    /// Width of the server column.
    server: usize,
    /// Width of the address column.
    address: usize,
    /// Width of each name column.
    cell: usize,
    /// The first name column shown.
    first: usize,
    /// How many name columns are shown.
    count: usize,
}

/// Column widths: server, address, then the names that fit sharing the rest.
fn columns(watch: &Watch, total: usize) -> Columns {
    let rows = watch.matrix.rows();
    let server = rows
        .iter()
        .map(|r| {
            let label = watch
                .matrix
                .labels
                .get(&r.server)
                .map_or(0, |l| l.len() + 3);
            r.server.chars().count() + 2 + label
        })
        .max()
        .unwrap_or(8);
    let address = rows
        .iter()
        .map(|r| r.address.map_or(1, |a| a.to_string().len()))
        .max()
        .unwrap_or(7)
        .max(7);
    let server = server.clamp(8, 36).min(total / 3);
    let owners = watch.matrix.owners.len().max(1);
    let room = total.saturating_sub(server + address + 2);
    let fit = (room / MIN_CELL).clamp(1, owners);
    let cell = (room / fit).saturating_sub(1).max(6);
    let first = (watch.cursor.1 / fit) * fit;
    Columns {
        server,
        address,
        cell,
        first,
        count: fit.min(owners - first.min(owners)),
    }
}

/// `text` cut or padded to exactly `width` characters.
fn pad(text: &str, width: usize) -> String {
    format!("{:<width$}", fit(text, width))
}

fn render_table(frame: &mut Frame, area: Rect, watch: &Watch, state: &State, theme: &Theme) {
    let matrix = &watch.matrix;
    let columns = columns(watch, usize::from(area.width));
    let mut header = format!(
        "{} {} ",
        pad("SERVER", columns.server),
        pad("ADDRESS", columns.address)
    );
    let shown = columns.first..columns.first + columns.count;
    for (col, owner) in matrix.owners.iter().enumerate() {
        if !shown.contains(&col) {
            continue;
        }
        // Arrows say that more names are off to the side.
        let more_left = col == columns.first && col > 0;
        let more_right = col + 1 == shown.end && shown.end < matrix.owners.len();
        let label = match (more_left, more_right) {
            (true, true) => format!("‹{}›", short(owner)),
            (true, false) => format!("‹{}", short(owner)),
            (false, true) => format!("{}›", short(owner)),
            (false, false) => short(owner).to_owned(),
        };
        header.push_str(&pad(&label, columns.cell));
        header.push(' ');
    }
    let mut lines = vec![Line::styled(
        header,
        theme.muted.add_modifier(Modifier::BOLD),
    )];
    let mut group: Option<(usize, String)> = None;
    let mut selected_line = 0;
    for (index, key) in matrix.rows().into_iter().enumerate() {
        if group.as_ref() != Some(&(key.hop, key.zone.clone())) {
            group = Some((key.hop, key.zone.clone()));
            let label = if key.hop == 0 {
                format!("zone {}", key.zone)
            } else {
                format!("↳ zone {} (CNAME target, hop {})", key.zone, key.hop)
            };
            lines.push(Line::styled(label, theme.title));
        }
        if index == watch.cursor.0 {
            selected_line = lines.len();
        }
        lines.push(server_line(key, index, watch, columns, state, theme));
    }
    if lines.len() == 1 {
        let text = if watch.job.is_some() {
            format!(
                "{} finding the authoritative servers…",
                state.spinner_frame()
            )
        } else {
            "no authoritative server found".to_owned()
        };
        lines.push(Line::styled(text, theme.pending));
    }
    // Keep the selected row on screen (the header stays).
    let visible = usize::from(area.height).max(2);
    let skip = (selected_line + 1).saturating_sub(visible);
    let header = lines.remove(0);
    let body: Vec<Line> = std::iter::once(header)
        .chain(lines.into_iter().skip(skip))
        .collect();
    frame.render_widget(Paragraph::new(body).style(theme.text), area);
}

fn server_line(
    key: &RowKey,
    index: usize,
    watch: &Watch,
    columns: Columns,
    state: &State,
    theme: &Theme,
) -> Line<'static> {
    let (server_w, address_w, cell_w) = (columns.server, columns.address, columns.cell);
    let address = key
        .address
        .map_or_else(|| "—".to_owned(), |a| a.to_string());
    let selected_row = index == watch.cursor.0;
    let name_style = if selected_row {
        theme.selection
    } else {
        theme.text
    };
    let server = match watch.matrix.labels.get(&key.server) {
        Some(label) => format!("  {} ({label})", key.server),
        None => format!("  {}", key.server),
    };
    let mut spans = vec![
        Span::styled(pad(&server, server_w), name_style),
        Span::raw(" "),
        Span::styled(pad(&address, address_w), theme.muted),
        Span::raw(" "),
    ];
    for col in columns.first..columns.first + columns.count {
        let (text, mut style) = match watch.matrix.cells.get(&(key.clone(), col)) {
            None => ("—".to_owned(), theme.muted),
            Some(Cell::Pending) => (format!("{} pending", state.spinner_frame()), theme.pending),
            Some(Cell::NoAddress(_)) => ("✗ no address".to_owned(), theme.error),
            Some(Cell::Answered(result)) => (cell_text(result), status_style(result.status, theme)),
        };
        if selected_row && col == watch.cursor.1 {
            style = style.add_modifier(Modifier::REVERSED);
        }
        spans.push(Span::styled(pad(&text, cell_w), style));
        spans.push(Span::raw(" "));
    }
    Line::from(spans)
}

/// Status, values, TTL, serial and RTT, most important first (cut to the column).
#[must_use]
pub fn cell_text(result: &ProbeResult) -> String {
    let mark = if result.status == Status::Match {
        "✓"
    } else {
        "✗"
    };
    let mut text = format!("{mark} {}", result.status);
    if let Some(target) = &result.cname {
        let _ = write!(text, " →{target}");
    }
    if let Some(first) = result.values.first() {
        let _ = write!(text, " \"{}\"", fit(first, 8));
        if result.values.len() > 1 {
            let _ = write!(text, "+{}", result.values.len() - 1);
        }
    }
    if let Some(ttl) = result.ttl {
        let _ = write!(text, " ttl {ttl}");
    }
    if let Some(serial) = result.serial {
        let _ = write!(text, " #{serial}");
    }
    if let Some(rtt) = result.rtt_us {
        let _ = write!(text, " {}", rtt_text(rtt));
    }
    text
}

pub(super) fn rtt_text(rtt_us: u64) -> String {
    let tenths = rtt_us / 100;
    format!("{}.{}ms", tenths / 10, tenths % 10)
}

/// The theme slot for an address's status.
#[must_use]
pub fn status_style(status: Status, theme: &Theme) -> Style {
    match status {
        Status::Match => theme.ok,
        Status::Missing | Status::Nxdomain => theme.warn,
        _ => theme.error,
    }
}
