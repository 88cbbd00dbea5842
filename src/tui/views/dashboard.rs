//! The dashboard: certificates, most urgent first, and the solver domains.
//!
//! ```text
//! ┌ certificates · / web ─────────────────────────────────────────────────────────────┐
//! │  NAME       # FIRST NAME     NOT AFTER   DAYS            RENEWS     STATUS        │
//! │▶ old        1 old.example    2025-05-28    -3 ░░░░░░░░░░ now        expired       │
//! │  web        2 www.example    2025-08-30    90 ██████████ 2025-07-31 valid         │
//! └ old · due now: expired ───────────────────────────────────────────────────────────┘
//! ┌ domains ──────────────────────────────────────────────────────────────────────────┐
//! │  DOMAIN        SOLVER    TARGET            DELEGATION                             │
//! └───────────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! RENEWS only shows from [`RENEWS_MIN_WIDTH`] columns; the selected certificate's renewal
//! sentence is always in the pane's bottom border, so 80 columns still say when and why.

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, HighlightSpacing, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use crate::inventory::CertRow;
use crate::jobs::inventory::DomainRow;
use crate::tui::action::Action;
use crate::tui::layout;
use crate::tui::state::{urgency, LoadStatus, Pane, State};
use crate::tui::theme::Theme;
use crate::tui::views::widgets::{
    ago, bar, fit, panel, status_style, status_words, urgency_style, ymd, BAR_WIDTH,
};

/// The command the empty state suggests besides the `a` key.
pub const ADD_HINT: &str = "certpilot cert add NAME --name example.com";

/// The narrowest certificates pane that gets the RENEWS column: below it the name columns
/// would shrink to a few characters (the bottom border still gives the date and why).
pub const RENEWS_MIN_WIDTH: u16 = 100;

/// Whether a certificates pane `pane_width` columns wide shows the RENEWS column.
#[must_use]
pub fn shows_renews(pane_width: u16) -> bool {
    pane_width >= RENEWS_MIN_WIDTH
}

/// Column constraints: name, names count, first name, not after, days, bar, [renews,] status.
fn widths(renews: bool) -> Vec<Constraint> {
    let mut widths = vec![
        Constraint::Fill(2),
        Constraint::Length(3),
        Constraint::Fill(3),
        Constraint::Length(10),
        Constraint::Length(5),
        Constraint::Length(BAR_WIDTH),
    ];
    if renews {
        widths.push(Constraint::Length(10));
    }
    widths.push(Constraint::Length(13));
    widths
}

/// The widths of the name and first-name columns in a pane `pane_width` wide, resolved the
/// way the table will (borders and the highlight column off), to cut long names with "…".
fn name_widths(pane_width: u16, widths: &[Constraint]) -> (usize, usize) {
    let columns = column_widths(pane_width, widths);
    (columns[0], columns[2])
}

/// Every column's width in a table pane `pane_width` wide (borders and the highlight column
/// off), resolved the way the table will.
fn column_widths(pane_width: u16, widths: &[Constraint]) -> Vec<usize> {
    let row_width = pane_width.saturating_sub(2 + 2);
    Layout::horizontal(widths)
        .spacing(COLUMN_SPACING)
        .split(Rect::new(0, 0, row_width, 1))
        .iter()
        .map(|c| usize::from(c.width))
        .collect()
}

/// The bottom-border line of the certificates pane: the selected certificate's next renewal
/// and why, cut to fit a pane `pane_width` wide (corners and padding take four columns).
fn renewal_footer(row: &CertRow, pane_width: u16) -> Option<String> {
    if row.renewal.is_empty() {
        return None;
    }
    let text = format!("{} · {}", row.name, row.renewal);
    Some(format!(
        " {} ",
        fit(&text, usize::from(pane_width.saturating_sub(4)))
    ))
}

/// Leads the name of a certificate marked for a bulk renewal.
const MARK: &str = "● ";

/// Marks the selected row; its column is always reserved so rows do not shift.
const HIGHLIGHT_SYMBOL: &str = "▶ ";
const COLUMN_SPACING: u16 = 1;

/// Draw both panes into `area`.
pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let panes = layout::dashboard(area, state.dashboard.domains.len());
    render_certificates(frame, panes.certs, state, theme);
    render_domains(frame, panes.domains, state, theme);
}

fn certificates_title(state: &State) -> String {
    let d = &state.dashboard;
    let position = if d.visible.is_empty() {
        "0".to_owned()
    } else {
        format!("{}/{}", d.selected + 1, d.visible.len())
    };
    let mut count = if d.visible.len() == d.rows.len() {
        position
    } else {
        format!("{position} of {}", d.rows.len())
    };
    if !d.marked.is_empty() {
        count.push_str(&format!(", {} marked", d.marked.len()));
    }
    let arrow = if d.reverse { "↑" } else { "↓" };
    let sort = format!("sort: {} {arrow}", d.sort.label());
    if d.filtering || !d.filter.value().is_empty() {
        let cursor = if d.filtering { "▏" } else { "" };
        format!(
            "certificates {count} · {sort} · / {}{cursor}",
            d.filter.value()
        )
    } else {
        format!("certificates {count} · {sort}")
    }
}

fn render_certificates(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let d = &state.dashboard;
    let block = panel(
        &certificates_title(state),
        d.pane == Pane::Certificates,
        theme,
    );
    if d.visible.is_empty() {
        let inner = block.inner(area);
        frame.render_widget(block, area);
        render_placeholder(frame, inner, state, theme);
        return;
    }
    let renews = shows_renews(area.width);
    let widths = widths(renews);
    let fit_widths = name_widths(area.width, &widths);
    let mut header = vec![
        Line::from("NAME"),
        Line::from("#").right_aligned(),
        Line::from("FIRST NAME"),
        Line::from("NOT AFTER"),
        Line::from("DAYS").right_aligned(),
        Line::default(),
    ];
    if renews {
        header.push(Line::from("RENEWS"));
    }
    header.push(Line::from("STATUS"));
    let header = Row::new(header).style(theme.muted.add_modifier(Modifier::BOLD));
    let block = match d
        .selected_row()
        .and_then(|row| renewal_footer(row, area.width))
    {
        Some(footer) => block.title_bottom(Line::styled(footer, theme.text)),
        None => block,
    };
    // Only the rows on screen are built: a frame costs the same with 10 or 10,000 rows.
    let height = usize::from(layout::table_body(area).height);
    let rows = d
        .visible
        .iter()
        .skip(d.offset)
        .take(height)
        .map(|&i| table_row(&d.rows[i], fit_widths, renews, state, theme));
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .style(theme.text)
        .column_spacing(COLUMN_SPACING)
        .row_highlight_style(theme.selection)
        .highlight_symbol(Line::from(HIGHLIGHT_SYMBOL))
        .highlight_spacing(HighlightSpacing::Always);
    let selected = Some(d.selected.saturating_sub(d.offset));
    let mut table_state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, area, &mut table_state);
}

fn table_row(
    row: &CertRow,
    (name_width, first_width): (usize, usize),
    renews: bool,
    state: &State,
    theme: &Theme,
) -> Row<'static> {
    let urgency_style = urgency_style(urgency(row), theme);
    let first = row.names.first().map_or("", String::as_str);
    let days = match row.days_left {
        Some(days) => Span::styled(days.to_string(), urgency_style),
        None => Span::styled("—", theme.muted),
    };
    let issuance = state.issuances.get(&row.name).filter(|i| i.running());
    let status = if issuance.is_some_and(|i| i.queued) {
        Span::styled("· queued", theme.pending)
    } else if issuance.is_some() {
        Span::styled(format!("{} issuing", state.spinner_frame()), theme.pending)
    } else {
        Span::styled(status_words(row.status), status_style(row.status, theme))
    };
    // A marked row leads with a bullet, kept inside the name column so nothing shifts.
    let name = if state.dashboard.marked.contains(&row.name) {
        Line::from(vec![
            Span::styled(MARK, theme.warn),
            Span::raw(fit(
                &row.name,
                name_width.saturating_sub(MARK.chars().count()),
            )),
        ])
    } else {
        Line::from(fit(&row.name, name_width))
    };
    let mut cells = vec![
        Cell::from(name),
        Cell::from(Line::from(row.names.len().to_string()).right_aligned()),
        Cell::from(Span::styled(fit(first, first_width), theme.record)),
        Cell::from(row.not_after.map_or_else(|| "—".to_owned(), ymd)),
        Cell::from(Line::from(days).right_aligned()),
        Cell::from(bar(row.days_left, urgency_style, theme)),
    ];
    if renews {
        cells.push(Cell::from(match row.renew_at {
            Some(at) => Span::raw(ymd(at)),
            None => Span::styled("now", theme.error),
        }));
    }
    cells.push(Cell::from(status));
    Row::new(cells)
}

/// What the pane shows without rows: loading, the first load's error, no match, or how to
/// add one.
fn render_placeholder(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let d = &state.dashboard;
    let key = |action| state.keymap.label(action);
    let lines: Vec<Line> = match &d.load {
        LoadStatus::Loading if !d.loaded_once => vec![Line::styled(
            format!("{} Loading certificates…", state.spinner_frame()),
            theme.pending,
        )],
        LoadStatus::Failed(message) if !d.loaded_once => vec![
            Line::styled("Could not read the certificates", theme.error),
            Line::styled(message.clone(), theme.text),
            Line::default(),
            Line::styled(
                format!("Press {} to try again.", key(Action::Refresh)),
                theme.muted,
            ),
        ],
        _ if !d.rows.is_empty() => vec![Line::styled(
            format!("No certificate matches {:?}.", d.filter.value()),
            theme.muted,
        )],
        _ => vec![
            Line::styled("No certificates yet.", theme.title),
            Line::default(),
            Line::styled(
                format!(
                    "Press {} to add one ({} registers an ACME account first), or run:",
                    key(Action::Add),
                    key(Action::AddAccount)
                ),
                theme.text,
            ),
            Line::styled(ADD_HINT, theme.record),
        ],
    };
    let height = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let centered = area.centered_vertically(Constraint::Length(height));
    let text = Text::from(lines).alignment(Alignment::Center);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), centered);
}

const DOMAIN_WIDTHS: [Constraint; 5] = [
    Constraint::Fill(2),
    Constraint::Length(8),
    Constraint::Fill(3),
    Constraint::Fill(3),
    Constraint::Length(12),
];

fn render_domains(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let d = &state.dashboard;
    let position = if d.domains.is_empty() {
        "0".to_owned()
    } else {
        format!("{}/{}", d.domain_selected + 1, d.domains.len())
    };
    let block = panel(
        &format!("domains {position}"),
        d.pane == Pane::Domains,
        theme,
    );
    if d.domains.is_empty() {
        let text = Line::styled(
            "No solver domains yet: the editor asks for one when you add a certificate.",
            theme.muted,
        );
        frame.render_widget(
            Paragraph::new(text).block(block).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let header = Row::new([
        "DOMAIN",
        "SOLVER",
        "HOOK / SERVER",
        "DELEGATION",
        "LAST CHECK",
    ])
    .style(theme.muted.add_modifier(Modifier::BOLD));
    let height = usize::from(layout::table_body(area).height);
    let widths = column_widths(area.width, &DOMAIN_WIDTHS);
    let rows = d
        .domains
        .iter()
        .skip(d.domain_offset)
        .take(height)
        .map(|row| domain_row(row, &widths, state, theme));
    let table = Table::new(rows, DOMAIN_WIDTHS)
        .header(header)
        .block(block)
        .style(theme.text)
        .column_spacing(COLUMN_SPACING)
        .row_highlight_style(theme.selection)
        .highlight_symbol(Line::from(HIGHLIGHT_SYMBOL))
        .highlight_spacing(HighlightSpacing::Always);
    let selected =
        (d.pane == Pane::Domains).then(|| d.domain_selected.saturating_sub(d.domain_offset));
    let mut table_state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, area, &mut table_state);
}

fn domain_row(row: &DomainRow, widths: &[usize], state: &State, theme: &Theme) -> Row<'static> {
    let width = |i: usize| widths.get(i).copied().unwrap_or(usize::MAX);
    let check = match state.dashboard.checks.get(&row.domain) {
        Some((at, ok)) => {
            let when = ago(state.clock.saturating_sub(*at));
            let (mark, style) = if *ok {
                ("✓", theme.ok)
            } else {
                ("✗", theme.warn)
            };
            Span::styled(fit(&format!("{mark} {when}"), width(4)), style)
        }
        None => Span::styled("never", theme.muted),
    };
    let delegation = match (row.solver.as_str(), &row.delegation) {
        ("acme-dns", Some(target)) => {
            Span::styled(fit(&format!("→ {target}"), width(3)), theme.record)
        }
        ("acme-dns", None) => Span::styled(fit("not registered", width(3)), theme.warn),
        _ => Span::styled("—", theme.muted),
    };
    let target = row.target.clone().unwrap_or_else(|| "—".to_owned());
    Row::new([
        Cell::from(Span::styled(fit(&row.domain, width(0)), theme.record)),
        Cell::from(fit(&row.solver, width(1))),
        Cell::from(Span::styled(fit(&target, width(2)), theme.muted)),
        Cell::from(delegation),
        Cell::from(check),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::renewal::CertStatus;

    #[test]
    fn renews_shows_only_where_the_names_stay_readable() {
        // (pane width, RENEWS shown, minimum name width, minimum first-name width)
        let cases = [
            (80, false, 11, 17),
            (99, false, 18, 28),
            (100, true, 15, 22),
            (120, true, 23, 34),
        ];
        for (width, renews, name, first) in cases {
            assert_eq!(shows_renews(width), renews, "{width}");
            let (got_name, got_first) = name_widths(width, &widths(renews));
            assert!(
                got_name >= name && got_first >= first,
                "{width}: {got_name}/{got_first}"
            );
        }
    }

    #[test]
    fn the_footer_names_the_certificate_and_fits_the_border() {
        let mut row = CertRow {
            name: "mail".into(),
            names: vec!["mail.example.com".into()],
            not_after: None,
            days_left: Some(5),
            status: CertStatus::Expiring,
            issuer: None,
            serial: None,
            key_type: "ecdsa-p256".into(),
            account: None,
            renew_at: None,
            renewal: String::new(),
            profile: None,
            ari_explanation_url: None,
        };
        assert_eq!(renewal_footer(&row, 80), None);
        row.renewal = "due now: expires in 5 days (1/3 of lifetime left)".into();
        assert_eq!(
            renewal_footer(&row, 80).as_deref(),
            Some(" mail · due now: expires in 5 days (1/3 of lifetime left) ")
        );
        let cut = renewal_footer(&row, 30).unwrap();
        assert_eq!(cut, " mail · due now: expires i… ");
        assert_eq!(cut.chars().count(), 30 - 2);
    }
}
