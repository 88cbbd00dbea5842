//! The accounts view: one line per account, the selected one in full below.
//!
//! ```text
//! ┌ accounts 1/2 ───────────────────────────────────────────────────────────┐
//! │  NAME        CA                                   CERTIFICATES          │
//! │▶ pebble      https://localhost:14000/dir          3: www, mail, shop    │
//! │  staging     letsencrypt-staging                  —                     │
//! │                                                                         │
//! │ Directory  https://localhost:14000/dir                                  │
//! │ Contact    ops@example.test                                             │
//! │ CA bundle  /etc/certpilot/pebble.minica.pem                             │
//! │ Used by    www, mail, shop                                              │
//! └─────────────────────────────── e register again · d remove · a add ─────┘
//! ```

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::acme::account::PRESETS;
use crate::jobs::accounts::AccountRow;
use crate::tui::action::Action;
use crate::tui::layout;
use crate::tui::screens::accounts::AccountsScreen;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::widgets::{fit, label, panel};

const LABEL: usize = 10;

/// Draw the view.
pub fn render(frame: &mut Frame, area: Rect, view: &AccountsScreen, state: &State, theme: &Theme) {
    let rows = view.accounts();
    let title = if rows.is_empty() {
        "accounts".to_owned()
    } else {
        format!("accounts {}/{}", view.selected + 1, rows.len())
    };
    let key = |action| state.keymap.label(action);
    let footer = format!(
        " {} register again · {} remove · {} add ",
        key(Action::Edit),
        key(Action::Delete),
        key(Action::Add)
    );
    let block =
        panel(&title, true, theme).title_bottom(Line::styled(footer, theme.muted).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let placeholder = match &view.rows {
        None => Some(Line::styled(
            format!("{} reading accounts…", state.spinner_frame()),
            theme.pending,
        )),
        Some(Err(message)) => Some(Line::styled(
            format!("Could not read the accounts: {message}"),
            theme.error,
        )),
        Some(Ok(rows)) if rows.is_empty() => Some(Line::styled(
            format!("No account yet: {} registers one.", key(Action::Add)),
            theme.muted,
        )),
        Some(Ok(_)) => None,
    };
    if let Some(line) = placeholder {
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), inner);
        return;
    }
    let detail = view
        .selected_row()
        .map(|row| detail_lines(row, theme))
        .unwrap_or_default();
    let [list, details] = split(inner, detail.len());
    render_list(frame, list, view, theme);
    frame.render_widget(Paragraph::new(detail).wrap(Wrap { trim: false }), details);
}

/// The list's area and the selected account's, below it.
fn split(inner: Rect, detail_lines: usize) -> [Rect; 2] {
    let detail_height = u16::try_from(detail_lines + 1).unwrap_or(u16::MAX);
    Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(detail_height.min(inner.height / 2)),
    ])
    .areas(inner)
}

/// The account drawn on line `line` of `inner` (inside the border), where [`render`] drew
/// `view`; for mouse clicks.
#[must_use]
pub fn row_at(view: &AccountsScreen, inner: Rect, line: u16) -> Option<usize> {
    let theme = Theme::load("default", None, true).ok()?;
    let detail = view
        .selected_row()
        .map(|row| detail_lines(row, &theme))
        .unwrap_or_default();
    let [list, _] = split(inner, detail.len());
    // Line 0 is the header.
    let index = usize::from(line.checked_sub(1)?);
    let rows = usize::from(list.height.saturating_sub(1)).max(1);
    if index >= rows {
        return None;
    }
    let at = layout::scroll_into_view(view.selected, 0, rows) + index;
    (at < view.accounts().len()).then_some(at)
}

/// A directory URL as its preset name when it is one.
fn ca_name(directory: &str) -> &str {
    PRESETS
        .iter()
        .find(|(_, url)| *url == directory)
        .map_or(directory, |(name, _)| name)
}

fn render_list(frame: &mut Frame, area: Rect, view: &AccountsScreen, theme: &Theme) {
    let width = usize::from(area.width);
    let name_w = (width / 5).max(8);
    let users_w = (width / 4).max(10);
    let ca_w = width.saturating_sub(name_w + users_w + 4);
    let mut lines = vec![Line::styled(
        format!("  {:<name_w$} {:<ca_w$} CERTIFICATES", "NAME", "CA"),
        theme.muted.add_modifier(Modifier::BOLD),
    )];
    let rows = usize::from(area.height.saturating_sub(1)).max(1);
    let offset = layout::scroll_into_view(view.selected, 0, rows);
    for (index, row) in view.accounts().iter().enumerate().skip(offset).take(rows) {
        let users = if row.certificates.is_empty() {
            "—".to_owned()
        } else {
            format!(
                "{}: {}",
                row.certificates.len(),
                row.certificates.join(", ")
            )
        };
        let selected = index == view.selected;
        let marker = if selected { "▶ " } else { "  " };
        let style = if selected {
            theme.selection
        } else {
            theme.text
        };
        lines.push(Line::from(vec![
            Span::styled(marker, theme.title),
            Span::styled(format!("{:<name_w$}", fit(&row.name, name_w)), style),
            Span::raw(" "),
            Span::styled(
                format!("{:<ca_w$}", fit(ca_name(&row.directory), ca_w)),
                theme.record,
            ),
            Span::raw(" "),
            Span::styled(fit(&users, users_w), theme.muted),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn detail_lines(row: &AccountRow, theme: &Theme) -> Vec<Line<'static>> {
    let value = |text: Option<String>, fallback: &str| match text {
        Some(text) => Span::styled(text, theme.text),
        None => Span::styled(fallback.to_owned(), theme.muted),
    };
    let users = (!row.certificates.is_empty()).then(|| row.certificates.join(", "));
    let mut lines = vec![
        Line::default(),
        Line::from(vec![
            label("Directory", LABEL, theme),
            Span::styled(row.directory.clone(), theme.record),
        ]),
        Line::from(vec![
            label("Contact", LABEL, theme),
            value(row.email.clone(), "none"),
        ]),
        Line::from(vec![
            label("CA bundle", LABEL, theme),
            value(
                row.ca_bundle.as_ref().map(|p| p.display().to_string()),
                "system roots",
            ),
        ]),
        Line::from(vec![
            label("Used by", LABEL, theme),
            value(users, "no certificate (can be removed)"),
        ]),
    ];
    if let Some(kid) = &row.eab_kid {
        lines.push(Line::from(vec![
            label("EAB key", LABEL, theme),
            Span::styled(kid.clone(), theme.text),
        ]));
    }
    lines
}
