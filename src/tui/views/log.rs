//! The log pane: recent tracing events, newest at the bottom.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::jobs::logs::Severity;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::views::widgets::panel;

/// Draw the pane.
pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let block = panel("log", false, theme);
    let rows = usize::from(area.height.saturating_sub(2));
    let total = state.log.lines.len();
    let end = total.saturating_sub(state.log.scroll);
    let start = end.saturating_sub(rows);
    let lines: Vec<Line> = if total == 0 {
        vec![Line::styled(
            "no events yet (the full log is in the state directory)",
            theme.muted,
        )]
    } else {
        state
            .log
            .lines
            .range(start..end)
            .map(|line| {
                let style = match line.severity {
                    Severity::Error => theme.error,
                    Severity::Warn => theme.warn,
                    Severity::Info => theme.ok,
                    Severity::Debug => theme.muted,
                };
                let target = line.target.rsplit("::").next().unwrap_or(&line.target);
                Line::from(vec![
                    Span::styled(format!("{} ", line.time), theme.muted),
                    Span::styled(format!("{} ", line.severity.label()), style),
                    Span::styled(format!("{target}: "), theme.muted),
                    Span::styled(line.text.clone(), theme.text),
                ])
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines).block(block).style(theme.text), area);
}
