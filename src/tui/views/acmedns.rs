//! The acme-dns wizard.
//!
//! ```text
//! ┌ acme-dns ──────────────────────────────────────────────────────────┐
//! │ ✓ example.com registered on https://auth.example.net               │
//! │ Create this CNAME once; it stays for every renewal:                │
//! │ ▶ zone file line   _acme-challenge.example.com. IN CNAME d4….      │
//! │   name in the zone _acme-challenge        (most web UIs add the zone)
//! │   CNAME target     d420c923.auth.example.net                       │
//! │ Live check on every authoritative address                          │
//! │   [matrix]                                                         │
//! └────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::acmedns::CnameRecord;
use crate::tui::action::Action;
use crate::tui::screens::acmedns::{AcmeDnsWizard, Stage, FORMS};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::widgets::panel;
use crate::tui::views::{form, matrix};

const LABEL: usize = 17;

/// Draw the wizard.
pub fn render(frame: &mut Frame, area: Rect, wizard: &AcmeDnsWizard, state: &State, theme: &Theme) {
    let block = panel("acme-dns", true, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if let Stage::Done { .. } = wizard.stage {
        render_done(frame, inner, wizard, state, theme);
        return;
    }
    let editing = wizard.stage == Stage::Edit;
    let (mut lines, cursor) = form::lines(&wizard.form, LABEL, editing, theme);
    lines.push(Line::default());
    let spinner = state.spinner_frame();
    let working = matches!(wizard.stage, Stage::Working(_))
        .then_some((spinner, "talking to the acme-dns server…"));
    lines.push(form::status_line(
        working,
        wizard.error.as_deref(),
        " acme-dns updates one TXT record for you; you create one CNAME to it, once.",
        theme,
    ));
    form::draw(frame, (inner, inner), None, lines, cursor, theme);
}

fn done_lines(wizard: &AcmeDnsWizard, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let Stage::Done {
        delegations,
        shown,
        form,
    } = &wizard.stage
    else {
        return Vec::new();
    };
    let Some(delegation) = delegations.get(*shown) else {
        return Vec::new();
    };
    let record = &delegation.record;
    let mapped = if delegation.mapped {
        ", used for its certificates"
    } else {
        ""
    };
    let mut lines = vec![Line::styled(
        format!(" ✓ {} on {}{mapped}", record.domain, delegation.server),
        theme.ok,
    )];
    if delegations.len() > 1 {
        lines.push(Line::styled(
            format!(
                " {} of {} registrations (↑/↓ shows the others)",
                shown + 1,
                delegations.len()
            ),
            theme.muted,
        ));
    }
    lines.push(Line::styled(
        " Create this CNAME once; it stays for every renewal:",
        theme.text,
    ));
    lines.extend(form_lines(record, &wizard.zone(), *form, theme));
    let copy = state.keymap.label(Action::Copy);
    let next = state.keymap.label(Action::SwitchPane);
    lines.push(Line::styled(
        format!(" {copy} copies the highlighted form (OSC 52, works over SSH) · {next} picks another · a CNAME, not a TXT record"),
        theme.muted,
    ));
    lines
}

/// The three copy-ready forms of the record, the chosen one highlighted.
fn form_lines(
    record: &CnameRecord,
    zone: &str,
    chosen: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let relative = record
        .relative_owner(zone)
        .unwrap_or_else(|| record.owner.clone());
    let values = [record.zone_line(), relative, record.target.clone()];
    FORMS
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (label, value))| {
            let selected = i == chosen;
            let marker = if selected { "▶" } else { " " };
            let (label_style, value_style) = if selected {
                (theme.title, theme.selection)
            } else {
                (theme.muted, theme.record)
            };
            let mut spans = vec![
                Span::styled(format!(" {marker} {label:<LABEL$} "), label_style),
                Span::styled(value, value_style),
            ];
            if i == 1 {
                spans.push(Span::styled(
                    format!("  (in the zone {zone}; most web UIs add the zone)"),
                    theme.muted,
                ));
            }
            Line::from(spans)
        })
        .collect()
}

fn render_done(
    frame: &mut Frame,
    area: Rect,
    wizard: &AcmeDnsWizard,
    state: &State,
    theme: &Theme,
) {
    let lines = done_lines(wizard, state, theme);
    let height = u16::try_from(lines.len() + 1).unwrap_or(u16::MAX);
    let [top, title, rest] = Layout::vertical([
        Constraint::Length(height),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.text)
            .wrap(Wrap { trim: false }),
        top,
    );
    frame.render_widget(
        Line::styled(" Live check on every authoritative address", theme.title),
        title,
    );
    if let Some(watch) = &wizard.watch {
        matrix::render(frame, rest, watch, state, theme);
    }
}
