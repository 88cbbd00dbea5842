//! Error and confirmation popups.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::state::Popup;
use crate::tui::theme::Theme;
use crate::tui::views::widgets::{fit, wrapped_height};

/// The usual popup width; prose wraps inside it.
const WIDTH: u16 = 70;
/// Columns a body line needs besides its text: two borders, a space before, one after.
const FRAME: u16 = 4;

/// How wide `popup` is in a terminal `area_width` wide: [`WIDTH`], except that the manual
/// solver's records widen it so each zone-file line stays on one line (copied by hand, a
/// wrapped line is easy to get wrong), never wider than the terminal.
#[must_use]
pub fn width(popup: &Popup, area_width: u16) -> u16 {
    let want = match popup {
        Popup::Records { lines, .. } => lines
            .iter()
            .map(|l| u16::try_from(l.chars().count()).unwrap_or(u16::MAX))
            .max()
            .unwrap_or(0)
            .saturating_add(FRAME)
            .max(WIDTH),
        _ => WIDTH,
    };
    want.min(area_width).max(20.min(area_width))
}

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
        Popup::Sandbox { .. } => (
            "sandbox faults".to_owned(),
            theme.warn,
            String::new(),
            " Esc close ".to_owned(),
        ),
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
    let width = width(popup, area.width);
    // Text wraps at words inside a space of padding on either side of the borders.
    let inner_width = usize::from(width.saturating_sub(FRAME)).max(1);
    let wrapped = wrapped_height(&body, inner_width);
    let height = u16::try_from(wrapped + 4)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    let room = usize::from(width.saturating_sub(4));
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(title_style)
        .style(theme.text)
        .padding(Padding::horizontal(1))
        .title(Line::styled(
            format!(" {} ", fit(&title, room)),
            title_style,
        ))
        .title_bottom(Line::styled(fit(&footer, room + 2), theme.muted).right_aligned());
    let lines: Vec<Line> = std::iter::once(Line::default())
        .chain(body.lines().map(|l| Line::styled(l.to_owned(), theme.text)))
        .collect();
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

/// The sandbox's fault menu: one line per fault, on or off, the selected one highlighted.
pub fn sandbox(
    frame: &mut Frame,
    area: Rect,
    state: &crate::tui::state::State,
    cursor: usize,
    theme: &Theme,
) {
    let rows = crate::tui::screens::sandbox::lines(state, cursor);
    let width = WIDTH.min(area.width);
    let height = u16::try_from(rows.len() + 4)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.warn)
        .style(theme.text)
        .title(Line::styled(" sandbox faults ", theme.warn))
        .title_bottom(
            Line::styled(" j/k move · Enter switch · Esc close ", theme.muted).right_aligned(),
        );
    let mut lines = vec![Line::default()];
    lines.extend(rows.into_iter().map(|(label, on, selected)| {
        let mark = if on { "[on] " } else { "[off]" };
        let style = match (selected, on) {
            (true, _) => theme.selection,
            (false, true) => theme.warn,
            (false, false) => theme.text,
        };
        Line::styled(format!(" {mark} {label}"), style)
    }));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobId;

    fn records(lines: &[&str]) -> Popup {
        Popup::Records {
            cert: "web".into(),
            job: JobId(1),
            lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        }
    }

    #[test]
    fn records_widen_the_popup_up_to_the_terminal() {
        let long = "_acme-challenge.api.staging.example.net. 60 IN TXT \"Zx8Cv7Bn6Mq5Wl4Ek3Rj2Th1Yg0Uf9Id8Os7Pa6Sd5F\"";
        let short = "_acme-challenge.a.test. 60 IN TXT \"x\"";
        let error = Popup::Error {
            title: "Saving failed".into(),
            message: long.into(),
        };
        let cases = [
            (records(&[short, long]), 120, 100),
            (records(&[long]), 80, 80),
            (records(&[short]), 120, WIDTH),
            (records(&[]), 120, WIDTH),
            (error.clone(), 120, WIDTH),
            (error, 40, 40),
        ];
        for (popup, area, want) in cases {
            assert_eq!(width(&popup, area), want, "{popup:?} in {area}");
        }
        assert_eq!(long.chars().count() + usize::from(FRAME), 100);
    }
}
