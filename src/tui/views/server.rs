//! The acme-dns server screen.
//!
//! ```text
//! ┌ acme-dns server ───────────────────────────────────────────────────┐
//! │ ● running · zone acme.example.com · DNS 0.0.0.0:53 · API http://…  │
//! │ Create once in the parent zone:                                    │
//! │ ▶ acme.example.com. IN NS ns1.acme.example.com.  ✓ served by 2/2 … │
//! │   ns1.acme.example.com. IN A 203.0.113.5         ✗ 0/2 · missing … │
//! │ One CNAME per domain, in the domain's own zone:                    │
//! │   _acme-challenge.example.org. IN CNAME 4f…acme.example.com.       │
//! │ Live check of the selected CNAME                                   │
//! │   [matrix]                                                         │
//! └────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::action::Action;
use crate::tui::screens::server::{ServerPanel, Stage};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::widgets::panel;
use crate::tui::views::{form, matrix};

const LABEL: usize = 18;

/// Draw the screen.
pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let block = panel("acme-dns server", true, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(server) = &state.server else {
        return;
    };
    if let Stage::Running { .. } = server.stage {
        render_running(frame, inner, server, state, theme);
        return;
    }
    let editing = server.stage == Stage::Edit;
    let (mut lines, cursor) = form::lines(&server.form, LABEL, editing, theme);
    lines.push(Line::default());
    let spinner = state.spinner_frame();
    let working = match server.stage {
        Stage::Starting(_) => Some((spinner, "starting the server…")),
        Stage::Stopping(_) => Some((spinner, "stopping the server…")),
        _ => None,
    };
    lines.push(form::status_line(
        working,
        server.error.as_deref(),
        " The server answers DNS for the challenge zone and the acme-dns API; you delegate \
         the zone to it once.",
        theme,
    ));
    form::draw(frame, (inner, inner), None, lines, cursor, theme);
}

/// The rows: status, parent records with their checks, CNAMEs.
fn running_lines(server: &ServerPanel, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let Some(info) = server.info() else {
        return Vec::new();
    };
    let dns: Vec<String> = info.dns.iter().map(ToString::to_string).collect();
    let mut lines = vec![Line::styled(
        format!(
            " ● running · {} · DNS {} · API {}",
            info.zone,
            dns.join(", "),
            info.url
        ),
        theme.ok,
    )];
    lines.push(Line::styled(" Create once in the parent zone:", theme.text));
    for (i, record) in info.records.iter().enumerate() {
        let (mark, style, status) = match (server.check(i), &server.checks) {
            (Some(check), _) => {
                let (served, all) = check.counts();
                let (mark, style) = if check.ok() {
                    ("✓", theme.ok)
                } else {
                    ("✗", theme.error)
                };
                (mark, style, format!("{served}/{all}"))
            }
            (None, Some(Err(e))) => ("✗", theme.error, e.clone()),
            (None, _) => (state.spinner_frame(), theme.pending, "checking…".to_owned()),
        };
        lines.push(row(
            server.selected == i,
            record.zone_line(),
            mark,
            style,
            &status,
            theme,
        ));
    }
    lines.push(Line::styled(
        " One CNAME per acme-dns domain, in that domain's own zone:",
        theme.text,
    ));
    if server.delegations.is_empty() {
        let text = if server.register_job.is_some() {
            format!(" {} registering…", state.spinner_frame())
        } else {
            " none yet: add domains in the form (stop, edit, start) or with a on the domains pane"
                .to_owned()
        };
        lines.push(Line::styled(text, theme.muted));
    }
    let parents = info.records.len();
    for (i, delegation) in server.delegations.iter().enumerate() {
        let selected = server.selected == parents + i;
        let (mark, style, status) = match server.watch.as_ref().filter(|_| selected) {
            Some(watch) if watch.matrix.propagated() => ("✓", theme.ok, "served".to_owned()),
            Some(watch) if watch.matrix.report.is_some() => {
                let (ready, all) = watch.matrix.first_hop();
                ("✗", theme.error, format!("{ready}/{all} serve it"))
            }
            Some(_) => (state.spinner_frame(), theme.pending, "checking…".to_owned()),
            None => ("·", theme.muted, "select to check".to_owned()),
        };
        let line = delegation.record.zone_line();
        lines.push(row(selected, line, mark, style, &status, theme));
    }
    let copy = state.keymap.label(Action::Copy);
    lines.push(Line::styled(
        format!(" {copy} copies the selected record (OSC 52) · ↑/↓ selects"),
        theme.muted,
    ));
    lines
}

/// The selected parent record's check in full (rows only show counts, to stay one line).
fn summary_line(server: &ServerPanel, theme: &Theme) -> Option<Line<'static>> {
    let check = server.check(server.selected)?;
    let style = if check.ok() { theme.ok } else { theme.error };
    Some(Line::styled(format!(" {}", check.summary()), style))
}

fn row(
    selected: bool,
    record: String,
    mark: &str,
    style: ratatui::style::Style,
    status: &str,
    theme: &Theme,
) -> Line<'static> {
    let (marker, record_style) = if selected {
        ("▶", theme.selection)
    } else {
        (" ", theme.record)
    };
    Line::from(vec![
        Span::styled(format!(" {marker} "), theme.title),
        Span::styled(record, record_style),
        Span::styled(format!("  {mark} {status}"), style),
    ])
}

fn render_running(
    frame: &mut Frame,
    area: Rect,
    server: &ServerPanel,
    state: &State,
    theme: &Theme,
) {
    // Rows stay one line each (clicks map lines to rows); only the summary wraps.
    let lines = running_lines(server, state, theme);
    let height = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let summary = summary_line(server, theme);
    let width = usize::from(area.width.max(1));
    let summary_height = summary
        .as_ref()
        .map_or(0, |l| l.width().div_ceil(width).max(1));
    let [top, below, title, rest] = Layout::vertical([
        Constraint::Length(height),
        Constraint::Length(u16::try_from(summary_height).unwrap_or(1)),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(lines).style(theme.text), top);
    if let Some(summary) = summary {
        frame.render_widget(Paragraph::new(summary).wrap(Wrap { trim: false }), below);
    }
    if let Some(watch) = &server.watch {
        frame.render_widget(
            Line::styled(" Live check of the selected CNAME", theme.title),
            title,
        );
        matrix::render(frame, rest, watch, state, theme);
    }
}
