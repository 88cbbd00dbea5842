//! Certificate detail.
//!
//! ```text
//! ┌ web ───────────────────────────────────────────────────────────────┐
//! │ Status     valid · 89 days left                                    │
//! │ Renewal    renew at 2025-07-30 09:12 UTC (ARI window …)            │
//! │ ARI        window 2025-07-29 00:00 UTC → 2025-07-31 00:00 UTC      │
//! │ Names      www.example.com, example.com                            │
//! │ …          issuer, serial, fingerprint, validity, key, chain       │
//! └────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::domain::renewal::AriWindow;
use crate::jobs::inventory::{CertDetail, Issued};
use crate::tui::action::Action;
use crate::tui::screens::detail::DetailScreen;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::widgets::{label, panel, status_style, status_words, ymd, ymd_hm};

const LABEL: usize = 10;

/// Draw the detail screen.
pub fn render(frame: &mut Frame, area: Rect, screen: &DetailScreen, state: &State, theme: &Theme) {
    let block = panel(&format!("certificate · {}", screen.name), true, theme);
    let lines = match &screen.data {
        None => vec![Line::styled(
            format!("{} reading {}…", state.spinner_frame(), screen.name),
            theme.pending,
        )],
        Some(Err(message)) => vec![
            Line::styled("Could not read the certificate", theme.error),
            Line::styled(message.clone(), theme.text),
        ],
        Some(Ok(detail)) => {
            // Inside the borders, after the label column.
            let width = usize::from(area.width.saturating_sub(2)).saturating_sub(LABEL);
            lines(detail, &state.keymap.label(Action::Issue), width, theme)
        }
    };
    let paragraph = Paragraph::new(lines)
        .block(block)
        .style(theme.text)
        .wrap(Wrap { trim: false })
        .scroll((screen.scroll, 0));
    frame.render_widget(paragraph, area);
}

fn row(name: &str, value: Vec<Span<'static>>, theme: &Theme) -> Line<'static> {
    let mut spans = vec![label(name, LABEL, theme)];
    spans.extend(value);
    Line::from(spans)
}

fn plain(name: &str, value: impl Into<String>, theme: &Theme) -> Line<'static> {
    row(name, vec![Span::styled(value.into(), theme.text)], theme)
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer word stays whole).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match out.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => out.push(word.to_owned()),
        }
    }
    out
}

/// A row whose value continues under itself, not under the label, when it is too long.
fn wrapped(
    name: &str,
    text: &str,
    style: Style,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    wrap_words(text, width.max(20))
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            row(
                if i == 0 { name } else { "" },
                vec![Span::styled(part, style)],
                theme,
            )
        })
        .collect()
}

fn lines(detail: &CertDetail, issue_key: &str, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let days = match detail.days_left {
        Some(1) => " · 1 day left".to_owned(),
        Some(d) => format!(" · {d} days left"),
        None => String::new(),
    };
    let renewal_style = if detail.renewal_due {
        theme.warn
    } else {
        theme.ok
    };
    let mut out = vec![row(
        "Status",
        vec![
            Span::styled(
                status_words(detail.status),
                status_style(detail.status, theme),
            ),
            Span::styled(days, theme.text),
        ],
        theme,
    )];
    out.extend(wrapped(
        "Renewal",
        &detail.renewal,
        renewal_style,
        width,
        theme,
    ));
    if detail.issued.is_some() {
        out.extend(ari_lines(detail.ari.as_ref(), theme));
        if let Some(url) = &detail.ari_explanation {
            out.push(row(
                "",
                vec![Span::styled(format!("the CA explains: {url}"), theme.muted)],
                theme,
            ));
        }
    }
    out.extend([
        row(
            "Names",
            vec![Span::styled(detail.names.join(", "), theme.record)],
            theme,
        ),
        plain(
            "Account",
            detail.account.clone().unwrap_or_else(|| "(none)".into()),
            theme,
        ),
    ]);
    if let Some(profile) = &detail.profile {
        out.push(plain("Profile", profile.clone(), theme));
    }
    match &detail.issued {
        Some(issued) => out.extend(issued_lines(detail, issued, theme)),
        None => out.push(row(
            "Issued",
            vec![Span::styled(
                format!("not yet: press {issue_key} to issue it"),
                theme.pending,
            )],
            theme,
        )),
    }
    out.push(plain(
        "File",
        detail.chain_path.display().to_string(),
        theme,
    ));
    for (i, line) in detail.leftovers.iter().enumerate() {
        let label = if i == 0 { "Left in DNS" } else { "" };
        out.push(row(
            label,
            vec![Span::styled(
                format!("{line}  (a cleanup failed; the next renew removes it)"),
                theme.warn,
            )],
            theme,
        ));
    }
    out
}

/// The CA's window, under the decision it may have set (`renew_days` or changed names can
/// decide earlier, so it is shown on its own).
fn ari_lines(window: Option<&AriWindow>, theme: &Theme) -> Vec<Line<'static>> {
    let Some(window) = window else {
        return vec![row(
            "ARI",
            vec![Span::styled(
                "no window from the CA (not offered, or not asked yet)",
                theme.muted,
            )],
            theme,
        )];
    };
    vec![
        plain(
            "ARI",
            format!("window {} → {}", ymd_hm(window.start), ymd_hm(window.end)),
            theme,
        ),
        row(
            "",
            vec![Span::styled(
                format!("renewal time picked in it: {}", ymd_hm(window.chosen)),
                theme.muted,
            )],
            theme,
        ),
    ]
}

fn issued_lines(detail: &CertDetail, issued: &Issued, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![
        row(
            "SANs",
            vec![Span::styled(issued.sans.join(", "), theme.record)],
            theme,
        ),
        plain("Issuer", issued.issuer.clone(), theme),
        plain("Serial", issued.serial.clone(), theme),
    ];
    // 32 colon-separated pairs do not fit a line: 16 per line.
    let pairs: Vec<&str> = issued.sha256.split(':').collect();
    for (i, chunk) in pairs.chunks(16).enumerate() {
        let name = if i == 0 { "SHA-256" } else { "" };
        out.push(plain(name, chunk.join(":"), theme));
    }
    out.extend([
        plain(
            "Valid",
            format!(
                "{} → {}",
                ymd_hm(issued.not_before),
                ymd_hm(issued.not_after)
            ),
            theme,
        ),
        plain(
            "Key",
            format!("{} in the {}", issued.key_type, detail.key_store),
            theme,
        ),
        row(
            "",
            vec![Span::styled(
                format!("entry {}", issued.key_entry),
                theme.muted,
            )],
            theme,
        ),
    ]);
    out.extend(chain_and_history(issued, theme));
    out
}

fn chain_and_history(issued: &Issued, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (i, (subject, issuer, not_after)) in issued.chain.iter().enumerate() {
        let name = if i == 0 { "Chain" } else { "" };
        let subject = if subject.is_empty() {
            "(no subject)"
        } else {
            subject
        };
        out.push(row(
            name,
            vec![
                Span::styled(format!("{}. {subject}", i + 1), theme.text),
                Span::styled(format!("  until {}", ymd(*not_after)), theme.muted),
            ],
            theme,
        ));
        out.push(row(
            "",
            vec![Span::styled(format!("   issued by {issuer}"), theme.muted)],
            theme,
        ));
    }
    for (i, (at, account, order)) in issued.history.iter().enumerate() {
        let name = if i == 0 { "History" } else { "" };
        out.push(row(
            name,
            vec![Span::styled(
                format!("{} by {account}", ymd_hm(*at)),
                theme.text,
            )],
            theme,
        ));
        out.push(row(
            "",
            vec![Span::styled(format!("order {order}"), theme.muted)],
            theme,
        ));
    }
    out
}
