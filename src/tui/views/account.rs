//! The account wizard.
//!
//! ```text
//! ┌ new ACME account ──────────────────────────────────────────────┐
//! │▶ Account name   default                                        │
//! │  CA             ‹ Let's Encrypt staging (try this first) ›     │
//! │  Email          ops@example.com                                │
//! │ ─ terms ─────────────────────────────────────────────────────  │
//! │  Terms of service: https://…/terms.pdf                         │
//! │  I agree …      [ ]                                            │
//! └────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::tui::screens::account::{AccountWizard, Stage};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::form;
use crate::tui::views::widgets::panel;

const LABEL: usize = 14;

/// Draw the wizard.
pub fn render(frame: &mut Frame, area: Rect, wizard: &AccountWizard, state: &State, theme: &Theme) {
    let block = panel("new ACME account", true, theme);
    let inner = block.inner(area);
    let active = !wizard.waiting() && !matches!(wizard.stage, Stage::Done(_));
    // The fields before the terms, then the terms, then the review fields.
    let split = wizard
        .form
        .fields
        .iter()
        .position(|f| f.id.starts_with("eab") || f.id == "agree")
        .unwrap_or(wizard.form.fields.len());
    let mut first = wizard.form.clone();
    first.fields.truncate(split);
    let (mut lines, mut cursor) =
        form::lines(&first, LABEL, active && wizard.form.focus < split, theme);
    lines.push(Line::default());
    lines.extend(stage_lines(wizard, state, theme));
    let mut rest = wizard.form.clone();
    rest.fields.drain(..split);
    rest.focus = wizard.form.focus.saturating_sub(split);
    if !rest.fields.is_empty() {
        let offset = lines.len();
        let (more, more_cursor) =
            form::lines(&rest, LABEL, active && wizard.form.focus >= split, theme);
        lines.extend(more);
        if let Some((line, column)) = more_cursor {
            cursor = Some((offset + line, column));
        }
    }
    lines.push(Line::default());
    if let Some(error) = &wizard.error {
        lines.push(Line::styled(format!(" ✗ {error}"), theme.error));
    }
    form::draw(frame, (area, inner), Some(block), lines, cursor, theme);
}

fn stage_lines(wizard: &AccountWizard, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let spin = state.spinner_frame();
    match &wizard.stage {
        Stage::Edit => vec![Line::styled(
            " Enter fetches the CA's terms of service; nothing is registered yet.",
            theme.muted,
        )],
        Stage::Fetching(_) => vec![Line::styled(
            format!(" {spin} fetching the CA's directory…"),
            theme.pending,
        )],
        Stage::Review(info) | Stage::Registering(_, info) => {
            let terms = info
                .terms
                .clone()
                .unwrap_or_else(|| "(this CA publishes no terms of service)".into());
            let mut lines = vec![
                Line::from(vec![
                    Span::styled(" Directory        ", theme.muted),
                    Span::styled(info.url.clone(), theme.record),
                ]),
                Line::from(vec![
                    Span::styled(" Terms of service ", theme.muted),
                    Span::styled(terms, theme.record),
                ]),
            ];
            if info.eab_required {
                lines.push(Line::styled(
                    " This CA requires external account binding: copy the key id and HMAC key from your account on its website.",
                    theme.warn,
                ));
            }
            if matches!(wizard.stage, Stage::Registering(..)) {
                lines.push(Line::styled(format!(" {spin} registering…"), theme.pending));
            } else {
                lines.push(Line::styled(
                    " Read the terms, tick the box, then Enter registers the account.",
                    theme.muted,
                ));
            }
            lines
        }
        Stage::Done(done) => vec![
            Line::styled(format!(" ✓ account {} registered", done.name), theme.ok),
            Line::from(vec![
                Span::styled(" Account URL ", theme.muted),
                Span::styled(done.account_url.clone(), theme.record),
            ]),
            Line::from(vec![
                Span::styled(" Key         ", theme.muted),
                Span::styled(format!("in the {}", done.key_store), theme.text),
            ]),
            Line::styled(" Enter or Esc returns to the dashboard.", theme.muted),
        ],
    }
}
