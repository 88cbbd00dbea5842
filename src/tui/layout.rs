//! Where things go on screen. Shared by the views (to draw) and by `update` (to page and to
//! map mouse clicks to rows), so both always agree.

use ratatui::layout::{Constraint, Layout, Rect};

/// Height of the log pane, borders included.
pub const LOG_HEIGHT: u16 = 8;

/// The screen's main regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// The current screen.
    pub body: Rect,
    /// The log pane, when open.
    pub log: Option<Rect>,
    /// The status bar (one line).
    pub status: Rect,
}

/// Split the terminal into body, log pane and status bar.
#[must_use]
pub fn areas(area: Rect, log_open: bool) -> Areas {
    let [rest, status] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    if !log_open {
        return Areas {
            body: rest,
            log: None,
            status,
        };
    }
    let [body, log] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(LOG_HEIGHT)]).areas(rest);
    Areas {
        body,
        log: Some(log),
        status,
    }
}

/// The dashboard's two panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardAreas {
    /// Certificates.
    pub certs: Rect,
    /// Solver domains.
    pub domains: Rect,
}

/// Certificates on top; domains below, as tall as their rows need, at most a third.
#[must_use]
pub fn dashboard(body: Rect, domain_rows: usize) -> DashboardAreas {
    let want = u16::try_from(domain_rows.max(1) + 3).unwrap_or(u16::MAX);
    let height = want.min(body.height / 3).max(4.min(body.height));
    let [certs, domains] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(height)]).areas(body);
    DashboardAreas { certs, domains }
}

/// The data rows of a bordered table with a one-line header.
#[must_use]
pub fn table_body(pane: Rect) -> Rect {
    Rect {
        x: pane.x.saturating_add(1),
        y: pane.y.saturating_add(2),
        width: pane.width.saturating_sub(2),
        height: pane.height.saturating_sub(3),
    }
}

/// The lines inside a bordered block.
#[must_use]
pub fn inner(pane: Rect) -> Rect {
    Rect {
        x: pane.x.saturating_add(1),
        y: pane.y.saturating_add(1),
        width: pane.width.saturating_sub(2),
        height: pane.height.saturating_sub(2),
    }
}

/// The first row index to show so that `selected` is visible in `rows` lines.
#[must_use]
pub fn scroll_into_view(selected: usize, offset: usize, rows: usize) -> usize {
    let rows = rows.max(1);
    if selected < offset {
        selected
    } else if selected >= offset + rows {
        selected + 1 - rows
    } else {
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_keeps_the_selection_visible() {
        let cases = [
            (0, 0, 10, 0),
            (9, 0, 10, 0),
            (10, 0, 10, 1),
            (3, 5, 10, 3),
            (50, 5, 10, 41),
            (2, 0, 0, 2),
        ];
        for (selected, offset, rows, want) in cases {
            assert_eq!(scroll_into_view(selected, offset, rows), want);
        }
    }

    #[test]
    fn log_pane_and_status_bar_take_their_lines() {
        let a = areas(Rect::new(0, 0, 80, 24), true);
        assert_eq!(a.status, Rect::new(0, 23, 80, 1));
        assert_eq!(a.log, Some(Rect::new(0, 15, 80, LOG_HEIGHT)));
        assert_eq!(a.body.height, 15);
        let d = dashboard(Rect::new(0, 0, 80, 23), 2);
        assert_eq!((d.certs.height, d.domains.height), (18, 5));
        let d = dashboard(Rect::new(0, 0, 80, 23), 40);
        assert_eq!(d.domains.height, 7);
        assert_eq!(table_body(d.certs).height, 13);
    }
}
