//! The jobs view: every issuance of this session, live.
//!
//! ```text
//! ┌ jobs · 2 running · 1 queued ───────────────────────────────────────────┐
//! │  STATUS            CERTIFICATE   STEP                          ELAPSED │
//! │▶ ⠙ running         web           Challenges answered              4.1s │
//! │  ⧗ waiting on DNS  api           Records visible to the resol…   12.0s │
//! │  · queued          mail          waiting for a free slot             — │
//! │  ✓ done            old           Stored (key in the keyring)      8.1s │
//! └ new · failed: the CA's problem, first line ────────────────────────────┘
//! ```

use std::time::Duration;

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, HighlightSpacing, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use crate::tui::action::Action;
use crate::tui::screens::issuance::{End, Issuance};
use crate::tui::screens::jobs::{self, JobsScreen, Phase};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::widgets::{fit, panel, seconds};

const STATUS_WIDTH: u16 = 18;
const ELAPSED_WIDTH: u16 = 8;

/// The title: how many run and wait.
#[must_use]
pub fn title(state: &State) -> String {
    let (running, queued) = jobs::counts(state);
    let mut title = format!("jobs · {running} running");
    if queued > 0 {
        title.push_str(&format!(" · {queued} queued"));
    }
    title.push_str(&format!(" · at most {} at once", jobs::limit(state)));
    title
}

/// Draw the list into `area`.
pub fn render(frame: &mut Frame, area: Rect, screen: &JobsScreen, state: &State, theme: &Theme) {
    let listed = jobs::listed(state);
    let block = panel(&title(state), true, theme);
    if listed.is_empty() {
        let keys = &state.keymap;
        let text = vec![
            Line::default(),
            Line::styled("  Nothing has run yet.", theme.muted),
            Line::styled(
                format!(
                    "  {} issues the selected certificate; {} marks, {} renews the marked ones.",
                    keys.label(Action::Issue),
                    keys.label(Action::Mark),
                    keys.label(Action::RenewMarked)
                ),
                theme.muted,
            ),
        ];
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let selected = screen.selected.min(listed.len() - 1);
    let block = match listed.get(selected).and_then(|i| reason(i)) {
        Some(reason) => {
            let text = format!("{} · {reason}", listed[selected].cert);
            let room = usize::from(area.width.saturating_sub(4));
            block.title_bottom(Line::styled(format!(" {} ", fit(&text, room)), theme.error))
        }
        None => block,
    };
    let step_width = usize::from(
        area.width
            .saturating_sub(4 + STATUS_WIDTH + ELAPSED_WIDTH + 3),
    )
    .saturating_sub(16);
    let header = Row::new(vec![
        Line::from("STATUS"),
        Line::from("CERTIFICATE"),
        Line::from("STEP"),
        Line::from("ELAPSED").right_aligned(),
    ])
    .style(theme.muted.add_modifier(Modifier::BOLD));
    let rows = listed
        .iter()
        .map(|issuance| row(issuance, step_width, state, theme));
    let widths = [
        Constraint::Length(STATUS_WIDTH),
        Constraint::Fill(1),
        Constraint::Fill(2),
        Constraint::Length(ELAPSED_WIDTH),
    ];
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .style(theme.text)
        .column_spacing(1)
        .row_highlight_style(theme.selection)
        .highlight_symbol(Line::from("▶ "))
        .highlight_spacing(HighlightSpacing::Always);
    let mut table_state = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, area, &mut table_state);
}

fn row(issuance: &Issuance, step_width: usize, state: &State, theme: &Theme) -> Row<'static> {
    let phase = jobs::phase(issuance);
    let (mark, style) = look(phase, state, theme);
    let step = jobs::step(issuance);
    Row::new(vec![
        Cell::from(Span::styled(format!("{mark} {}", phase.label()), style)),
        Cell::from(issuance.cert.clone()),
        Cell::from(Span::styled(
            fit(step, step_width.max(8)),
            if phase.active() {
                theme.text
            } else {
                theme.muted
            },
        )),
        Cell::from(Line::styled(elapsed(issuance, state), theme.muted).right_aligned()),
    ])
}

fn look(phase: Phase, state: &State, theme: &Theme) -> (String, Style) {
    match phase {
        Phase::Queued => ("·".to_owned(), theme.muted),
        Phase::Running => (state.spinner_frame().to_owned(), theme.pending),
        Phase::WaitingOnDns => ("⧗".to_owned(), theme.pending),
        Phase::Cancelling | Phase::Cancelled => ("■".to_owned(), theme.warn),
        Phase::Done => ("✓".to_owned(), theme.ok),
        Phase::Failed => ("✗".to_owned(), theme.error),
    }
}

/// Time since it started (running) or that it took (ended); `—` while queued.
fn elapsed(issuance: &Issuance, state: &State) -> String {
    if issuance.queued {
        return "—".to_owned();
    }
    let end = match (&issuance.end, issuance.ended) {
        (Some(End::Issued(issued)), _) => return seconds(issued.elapsed),
        (_, Some(ended)) => ended,
        (None, None) => state.clock,
        (Some(_), None) => return "—".to_owned(),
    };
    seconds(end.saturating_sub(issuance.started).max(Duration::ZERO))
}

/// Why a failed issuance failed (first line).
fn reason(issuance: &Issuance) -> Option<String> {
    match &issuance.end {
        Some(End::Failed(failure)) if !failure.cancelled => Some(
            failure
                .message
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
        ),
        _ => None,
    }
}
