//! Issuance progress.
//!
//! ```text
//! ┌ issuing · web ─────────────────────────────────────────────────────┐
//! │  ✓ Account ready                                   0.0s            │
//! │  ✓ Order created                                   0.4s            │
//! │  ⠙ TXT records published                           1.2s            │
//! │  ○ Records visible to the resolvers                                │
//! │ Records                                                            │
//! │  _acme-challenge.www.example.com. 60 IN TXT "…"                    │
//! │ ✗ the CA's problem document, verbatim, and a hint                  │
//! └────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::solver::ChallengeRecord;
use crate::tui::action::Action;
use crate::tui::screens::issuance::{End, Issuance, STEPS};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::matrix;
use crate::tui::views::widgets::{panel, seconds, ymd};

const STEP_WIDTH: usize = 36;

/// Draw the progress of `cert`.
pub fn render(frame: &mut Frame, area: Rect, cert: &str, state: &State, theme: &Theme) {
    let title = format!("issuing · {cert}");
    let block = panel(&title, true, theme);
    let Some(issuance) = state.issuances.get(cert) else {
        frame.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(" Names  ", theme.muted),
        Span::styled(issuance.names.join(", "), theme.record),
    ])];
    lines.extend(checklist(issuance, state, theme));
    // With the live matrix on screen, the records are in it (and `y` copies them).
    if !issuance.records.is_empty() && issuance.watch.is_none() {
        lines.push(Line::default());
        lines.push(Line::styled(" Records", theme.title));
        lines.extend(issuance.records.iter().map(|r| record_line(r, theme)));
    }
    if issuance.watch.is_none() {
        lines.push(Line::default());
    }
    lines.extend(outcome(issuance, state, theme));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if issuance.watch.is_none() {
        let text = Paragraph::new(lines)
            .style(theme.text)
            .wrap(Wrap { trim: false });
        frame.render_widget(text, inner);
        return;
    }
    render_with_matrix(frame, inner, lines, issuance, state, theme);
}

/// The checklist on top, the live matrix of the published records below.
fn render_with_matrix(
    frame: &mut Frame,
    inner: Rect,
    lines: Vec<Line<'static>>,
    issuance: &Issuance,
    state: &State,
    theme: &Theme,
) {
    let Some(watch) = &issuance.watch else {
        return;
    };
    let width = usize::from(inner.width.max(1));
    let wrapped: usize = lines.iter().map(|l| l.width().div_ceil(width).max(1)).sum();
    let height = u16::try_from(wrapped).unwrap_or(u16::MAX);
    // While it runs the matrix keeps at least 7 lines; afterwards the outcome comes first.
    let keep = if issuance.running() { 7 } else { 2 };
    let [top, title, rest] = Layout::vertical([
        Constraint::Length(height.min(inner.height.saturating_sub(keep))),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let text = Paragraph::new(lines)
        .style(theme.text)
        .wrap(Wrap { trim: false });
    frame.render_widget(text, top);
    let heading = " Propagation on every authoritative address (live)";
    frame.render_widget(Line::styled(heading, theme.title), title);
    matrix::render(frame, rest, watch, state, theme);
}

fn record_line(record: &ChallengeRecord, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::raw("  "),
        Span::styled(record.zone_line(), theme.record),
    ])
}

fn checklist(issuance: &Issuance, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let done = issuance.durations();
    let current = done.last().map_or(0, |(i, _)| i + 1);
    let failed = matches!(issuance.end, Some(End::Failed(_)));
    STEPS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (mark, style, time) = if let Some((_, spent)) = done.iter().find(|(j, _)| *j == i) {
                ("✓".to_owned(), theme.ok, seconds(*spent))
            } else if i == current && issuance.running() && !issuance.queued {
                // The step's own time: from when it started, not from the issuance's start.
                let live = state.clock.saturating_sub(issuance.step_started);
                (
                    state.spinner_frame().to_owned(),
                    theme.pending,
                    seconds(live),
                )
            } else if i == current && failed {
                ("✗".to_owned(), theme.error, String::new())
            } else {
                ("○".to_owned(), theme.muted, String::new())
            };
            Line::from(vec![
                Span::styled(format!("  {mark} "), style),
                Span::styled(
                    format!("{name:<STEP_WIDTH$}"),
                    if style == theme.muted {
                        theme.muted
                    } else {
                        theme.text
                    },
                ),
                Span::styled(format!("{time:>7}"), theme.muted),
            ])
        })
        .collect()
}

/// The cache-horizon countdown (ticking with the clock) and the engine's warnings.
fn notes(issuance: &Issuance, theme: &Theme) -> Vec<Line<'static>> {
    let now = time::OffsetDateTime::now_utc();
    let mut lines: Vec<Line<'static>> = issuance
        .warnings
        .iter()
        .map(|w| Line::styled(format!(" ! {w}"), theme.warn))
        .collect();
    if issuance.end.is_none() {
        if let Some(longest) = issuance.cache_waits.iter().max_by_key(|w| w.until) {
            lines.push(Line::styled(
                format!(
                    " ⧗ waiting {} s more for resolver caches before asking the CA: {}",
                    longest.remaining(now).as_secs(),
                    longest.reason(now)
                ),
                theme.pending,
            ));
        }
    }
    lines
}

fn outcome(issuance: &Issuance, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = notes(issuance, theme);
    lines.extend(ending(issuance, state, theme));
    lines
}

fn ending(issuance: &Issuance, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let back = state.keymap.label(Action::Back);
    match &issuance.end {
        None if issuance.cancelling => vec![Line::styled(
            " cancelling: waiting for the solver, then removing the records…",
            theme.warn,
        )],
        None if issuance.queued => vec![Line::styled(
            format!(
                " queued: {} issuances run at once (settings.parallel); {back} leaves it waiting.",
                crate::tui::screens::jobs::limit(state)
            ),
            theme.pending,
        )],
        None => vec![Line::styled(
            format!(
                " {back} leaves it running in the background · {} cancels (the records are removed)",
                state.keymap.label(Action::CancelJob)
            ),
            theme.muted,
        )],
        Some(End::Issued(issued)) => vec![
            Line::styled(
                format!(
                    " ✓ issued in {}: serial {}, expires {}{}",
                    seconds(issued.elapsed),
                    issued.serial,
                    ymd(issued.not_after),
                    issued.deploy
                ),
                if issued.deploy_failed {
                    theme.warn
                } else {
                    theme.ok
                },
            ),
            Line::styled(
                format!(
                    " {back} returns to the dashboard · {} issues again (asks first)",
                    state.keymap.label(Action::Reissue)
                ),
                theme.muted,
            ),
        ],
        Some(End::Failed(failure)) => {
            let style = if failure.cancelled {
                theme.warn
            } else {
                theme.error
            };
            let mark = if failure.cancelled { "■" } else { "✗" };
            let mut lines: Vec<Line> = failure
                .message
                .lines()
                .enumerate()
                .map(|(i, text)| {
                    let lead = if i == 0 {
                        format!(" {mark} ")
                    } else {
                        "   ".to_owned()
                    };
                    Line::styled(format!("{lead}{text}"), style)
                })
                .collect();
            if let Some(hint) = &failure.hint {
                lines.push(Line::from(vec![
                    Span::styled("   hint: ", theme.title),
                    Span::styled(hint.clone(), theme.text),
                ]));
            }
            let retry = state.keymap.label(Action::Reissue);
            lines.push(Line::styled(
                format!(" {retry} tries again · {back} returns to the dashboard"),
                theme.muted,
            ));
            lines
        }
    }
}
