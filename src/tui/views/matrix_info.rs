//! The lines under the propagation matrix: the selected cell in full, failures, the verdict,
//! hints and the status with the cursor's position. When they do not fit in half the area,
//! hints go first, then failures (a line says how many and that `y` copies everything);
//! the verdict and the status always stay.

use std::fmt::Write as _;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};

use crate::tui::action::Action;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::matrix::{rtt_text, short};
use crate::tui::views::widgets::wrapped_height;
use crate::tui::watch::{Cell, Watch};

/// How important an information line is when room is short: the selected cell, the verdict
/// and the status always stay; failures go before hints do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Keep {
    Always,
    Failure,
    Hint,
}

/// The table's area, the information's area and the information lines that fit in it: at
/// most half of `area`, but never without the result line and the status line.
#[must_use]
pub fn split(
    area: Rect,
    watch: &Watch,
    state: &State,
    theme: &Theme,
) -> (Rect, Rect, Vec<Line<'static>>) {
    let mut info = info_lines(watch, state, theme);
    let width = usize::from(area.width.max(1));
    let height =
        |lines: &[(Keep, Line)]| -> usize { lines.iter().map(|(_, l)| lines_of(l, width)).sum() };
    let budget = usize::from(area.height / 2);
    let mut dropped = 0;
    for level in [Keep::Hint, Keep::Failure] {
        while height(&info) + usize::from(dropped > 0) > budget {
            let Some(at) = info.iter().rposition(|(keep, _)| *keep == level) else {
                break;
            };
            info.remove(at);
            dropped += 1;
        }
    }
    // Still too long: the selected cell and the verdict get two lines each at most.
    if height(&info) + usize::from(dropped > 0) > budget {
        for (keep, line) in &mut info {
            if *keep == Keep::Always {
                *line = shorten(line, width * 2);
            }
        }
    }
    let mut lines: Vec<Line<'static>> = info.into_iter().map(|(_, line)| line).collect();
    if dropped > 0 {
        let copy = state.keymap.label(Action::Copy);
        let more = format!(" … {dropped} more line(s): {copy} copies the whole report");
        let at = lines.len().saturating_sub(1);
        lines.insert(at, Line::styled(more, theme.muted));
    }
    let wanted: usize = lines.iter().map(|l| lines_of(l, width)).sum();
    let wanted = u16::try_from(wanted).unwrap_or(u16::MAX);
    // The table keeps its header and one row; the rest may go to the result.
    let [table, info_area] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(wanted.min(area.height.saturating_sub(2))),
    ])
    .areas(area);
    (table, info_area, lines)
}

/// How many lines `line` takes, word-wrapped to `width`.
fn lines_of(line: &Line, width: usize) -> usize {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    wrapped_height(&text, width)
}

/// `line` cut to `max` characters (its styles kept), ending in "…" when something was cut.
fn shorten(line: &Line<'static>, max: usize) -> Line<'static> {
    if line.width() <= max {
        return line.clone();
    }
    let mut left = max.saturating_sub(1);
    let mut spans = Vec::new();
    for span in &line.spans {
        let text: String = span.content.chars().take(left).collect();
        left -= text.chars().count();
        spans.push(Span::styled(text, span.style));
        if left == 0 {
            break;
        }
    }
    let style = spans.last().map(|s| s.style).unwrap_or_default();
    spans.push(Span::styled("…", style));
    Line::from(spans).style(line.style)
}

fn info_lines(watch: &Watch, state: &State, theme: &Theme) -> Vec<(Keep, Line<'static>)> {
    let mut lines = Vec::new();
    if let Some(line) = selected_detail(watch, theme) {
        lines.push((Keep::Always, line));
    }
    for failure in &watch.matrix.failures {
        lines.push((
            Keep::Failure,
            Line::styled(format!(" ✗ {failure}"), theme.error),
        ));
    }
    if let Some(error) = &watch.matrix.error {
        lines.push((
            Keep::Always,
            Line::styled(format!(" ✗ {error}"), theme.error),
        ));
    }
    if let Some(report) = &watch.matrix.report {
        let done = watch.matrix.propagated();
        let (mark, style) = if done {
            ("✓", theme.ok)
        } else {
            ("…", theme.warn)
        };
        let verdict = if watch.matrix.delegation {
            let (ready, all) = watch.matrix.first_hop();
            format!("the CNAME is on {ready} of {all} authoritative address(es)")
        } else {
            report.verdict()
        };
        lines.push((
            Keep::Always,
            Line::styled(format!(" {mark} {verdict}"), style),
        ));
        for hint in report.all_hints() {
            let line = Line::from(vec![
                Span::styled("   hint: ", theme.title),
                Span::styled(hint.to_string(), theme.text),
            ]);
            lines.push((Keep::Hint, line));
        }
    }
    let refresh = state.keymap.label(Action::Refresh);
    let status = match (watch.job, watch.countdown(state.clock)) {
        _ if watch.fed => {
            " from the issuance's own rounds (it waits until every address serves the records)"
                .to_owned()
        }
        (Some(_), _) => format!(" {} checking every address…", state.spinner_frame()),
        (None, Some(secs)) => format!(" next check in {secs}s · {refresh} checks now"),
        (None, None) if watch.matrix.propagated() => format!(" done · {refresh} checks again"),
        (None, None) => format!(" stopped · {refresh} checks again"),
    };
    let position = position(watch);
    lines.push((Keep::Always, Line::styled(status + &position, theme.muted)));
    lines
}

/// " · row 3/12 · names 11–20 of 100": where the cursor is, once the matrix is bigger than
/// one row or one column.
fn position(watch: &Watch) -> String {
    let rows = watch.matrix.rows().len();
    let names = watch.matrix.owners.len();
    let mut out = String::new();
    if rows > 1 {
        let _ = write!(out, " · row {}/{rows}", watch.cursor.0 + 1);
    }
    if names > 1 {
        let _ = write!(out, " · name {}/{names}", watch.cursor.1 + 1);
    }
    out
}

fn selected_detail(watch: &Watch, theme: &Theme) -> Option<Line<'static>> {
    let rows = watch.matrix.rows();
    let key = rows.get(watch.cursor.0)?;
    let owner = watch.matrix.owners.get(watch.cursor.1)?;
    let cell = watch.matrix.cells.get(&((*key).clone(), watch.cursor.1))?;
    let address = key
        .address
        .map_or_else(|| "—".to_owned(), |a| a.to_string());
    let head = format!(" {} {address} · {}: ", key.server, short(owner));
    let body = match cell {
        Cell::Pending => "pending".to_owned(),
        Cell::NoAddress(problem) => problem.clone(),
        Cell::Answered(r) => {
            let mut parts = vec![r.status.to_string()];
            if !r.values.is_empty() {
                let values: Vec<String> = r.values.iter().map(|v| format!("\"{v}\"")).collect();
                parts.push(format!("TXT {}", values.join(" ")));
            }
            if let Some(target) = &r.cname {
                parts.push(format!("CNAME {target}"));
            }
            parts.extend(r.ttl.map(|t| format!("TTL {t}")));
            parts.extend(r.serial.map(|s| format!("serial {s}")));
            parts.extend(r.rtt_us.map(|rtt| {
                format!(
                    "{} over {}",
                    rtt_text(rtt),
                    if r.tcp { "TCP" } else { "UDP" }
                )
            }));
            parts.extend(r.detail.clone());
            parts.join(" · ")
        }
    };
    Some(Line::from(vec![
        Span::styled(head, theme.muted),
        Span::styled(body, theme.record),
    ]))
}
