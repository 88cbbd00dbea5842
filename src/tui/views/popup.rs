//! Error and confirmation popups.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::state::Popup;
use crate::tui::theme::Theme;

/// Draw `popup` centred in `area`.
pub fn render(frame: &mut Frame, area: Rect, popup: &Popup, theme: &Theme) {
    let (title, title_style, body, footer) = match popup {
        Popup::Error { title, message } => (
            title.clone(),
            theme.error,
            message.clone(),
            " Enter/Esc close ".to_owned(),
        ),
        Popup::Confirm {
            question,
            detail,
            alternative,
            ..
        } => {
            let extra = alternative
                .as_ref()
                .map(|(key, label, _)| format!(" · {key} {label}"))
                .unwrap_or_default();
            (
                question.clone(),
                theme.warn,
                detail.clone(),
                format!(" y yes{extra} · n/Esc no "),
            )
        }
        Popup::Records { cert, lines, .. } => (
            format!("{cert}: create these TXT records"),
            theme.warn,
            format!(
                "Create these records (keep existing values; an apex and its wildcard share a name):\n\n{}\n\nThen press Enter: certpilot waits until they are visible, then asks the CA.",
                lines.join("\n")
            ),
            " Enter created · y copy · Esc cancel the order ".to_owned(),
        ),
    };
    let width = area.width.clamp(20, 70);
    let inner_width = usize::from(width.saturating_sub(4)).max(1);
    let wrapped: usize = body
        .lines()
        .map(|l| l.chars().count().div_ceil(inner_width).max(1))
        .sum();
    let height = u16::try_from(wrapped + 4)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(title_style)
        .style(theme.text)
        .title(Line::styled(format!(" {title} "), title_style))
        .title_bottom(Line::styled(footer, theme.muted).right_aligned());
    let lines: Vec<Line> = std::iter::once(Line::default())
        .chain(
            body.lines()
                .map(|l| Line::styled(format!(" {l}"), theme.text)),
        )
        .collect();
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}
