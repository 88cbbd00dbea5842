//! The DNS provider wizard.
//!
//! ```text
//! ┌ DNS provider ──────────────────────────────────────────────────┐
//! │▶ Domain               example.com                              │
//! │  Provider             ‹ rfc2136 (TSIG dynamic update) ›        │
//! │    Server             ns1.example.com                          │
//! │    TSIG key name      certpilot-key                            │
//! │    ...                                                         │
//! │ Enter tests the credentials (adds and removes a TXT record)... │
//! └────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::Frame;

use crate::tui::screens::provider::{ProviderWizard, Stage};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::form;
use crate::tui::views::widgets::panel;

/// Longest label column.
const MAX_LABEL: usize = 26;

/// Draw the wizard.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    wizard: &ProviderWizard,
    state: &State,
    theme: &Theme,
) {
    let block = panel("DNS provider", true, theme);
    let inner = block.inner(area);
    let width = form::label_width(&wizard.form, MAX_LABEL);
    let editing = wizard.stage == Stage::Editing;
    let (mut lines, cursor) = form::lines(&wizard.form, width, editing, theme);
    lines.push(Line::default());
    match (&wizard.stage, &wizard.error) {
        (Stage::Testing(_), _) => lines.push(Line::styled(
            format!(
                "{} testing the credentials: adding and removing _certpilot-test.{}…",
                state.spinner_frame(),
                wizard.form.text("domain").trim()
            ),
            theme.pending,
        )),
        (Stage::Done(words), _) => {
            lines.push(Line::styled(format!(" ✓ {words}"), theme.ok));
            lines.push(Line::styled(" Enter or Esc closes.", theme.muted));
        }
        (Stage::Editing, Some(error)) => {
            for (i, part) in error.lines().enumerate() {
                let mark = if i == 0 { " ✗ " } else { "   " };
                lines.push(Line::styled(format!("{mark}{part}"), theme.error));
            }
            lines.push(Line::styled(" Nothing was saved.", theme.muted));
        }
        (Stage::Editing, None) => lines.push(Line::styled(
            " Enter tests the credentials (adds and removes a harmless TXT record) and saves \
             the mapping only if that works. The secret file is read into the keyring.",
            theme.muted,
        )),
    }
    form::draw(frame, (area, inner), Some(block), lines, cursor, theme);
}
