//! Small pieces the screens share: cutting text, dates, the days bar, status styles.

use std::time::Duration;

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use time::{OffsetDateTime, UtcOffset};

use crate::domain::renewal::CertStatus;
use crate::tui::state::Urgency;
use crate::tui::theme::Theme;

/// Cells in the days-left bar.
pub const BAR_WIDTH: u16 = 10;
/// Days left that fill the whole bar (a typical 90-day certificate when fresh).
pub const BAR_FULL_DAYS: i64 = 90;

/// `text` cut to `width` characters, ending in "…" when something was cut.
#[must_use]
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `YYYY-MM-DD` in UTC.
#[must_use]
pub fn ymd(at: OffsetDateTime) -> String {
    let date = at.to_offset(UtcOffset::UTC).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// `YYYY-MM-DD HH:MM UTC`.
#[must_use]
pub fn ymd_hm(at: OffsetDateTime) -> String {
    let utc = at.to_offset(UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", ymd(utc), utc.hour(), utc.minute())
}

/// Seconds with one decimal: `3.1s`.
#[must_use]
pub fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// A small bar: full at [`BAR_FULL_DAYS`] or more, empty when expired or unknown.
#[must_use]
pub fn bar(days_left: Option<i64>, filled_style: Style, theme: &Theme) -> Line<'static> {
    let width = i64::from(BAR_WIDTH);
    let filled = days_left.map_or(0, |days| {
        // Round up so that any time left shows at least one cell.
        (days.clamp(0, BAR_FULL_DAYS) * width + BAR_FULL_DAYS - 1) / BAR_FULL_DAYS
    });
    let filled = usize::try_from(filled).unwrap_or(0);
    let empty = usize::from(BAR_WIDTH).saturating_sub(filled);
    Line::from(vec![
        Span::styled("█".repeat(filled), filled_style),
        Span::styled("░".repeat(empty), theme.muted),
    ])
}

/// The theme slot for an urgency.
#[must_use]
pub fn urgency_style(urgency: Urgency, theme: &Theme) -> Style {
    match urgency {
        Urgency::Ok => theme.ok,
        Urgency::Warn => theme.warn,
        Urgency::Error => theme.error,
        Urgency::Unknown => theme.muted,
    }
}

/// The theme slot for a certificate status.
#[must_use]
pub fn status_style(status: CertStatus, theme: &Theme) -> Style {
    match status {
        CertStatus::Valid => theme.ok,
        CertStatus::Expiring | CertStatus::NamesChanged => theme.warn,
        CertStatus::Expired => theme.error,
        CertStatus::Missing => theme.pending,
    }
}

/// A certificate status in words ("names changed", not `names_changed`).
#[must_use]
pub fn status_words(status: CertStatus) -> &'static str {
    match status {
        CertStatus::NamesChanged => "names changed",
        other => other.as_str(),
    }
}

/// How many lines `text` takes when word-wrapped to `width` columns the way a wrapping
/// `Paragraph` does (words longer than a line are split), so a box can be made tall enough.
#[must_use]
pub fn wrapped_height(text: &str, width: usize) -> usize {
    let width = width.max(1);
    text.lines()
        .map(|line| {
            let (mut lines, mut used) = (1, 0);
            for word in line.split(' ') {
                let len = word.chars().count();
                let need = if used == 0 { len } else { used + 1 + len };
                if need <= width {
                    used = need;
                } else if len <= width {
                    lines += 1;
                    used = len;
                } else {
                    // A long word fills lines of its own.
                    let rest = if used == 0 { len } else { len + used + 1 };
                    lines += rest.div_ceil(width) - 1;
                    used = rest % width;
                }
            }
            lines
        })
        .sum::<usize>()
        .max(1)
}

/// A relative time: "12 s ago", "3 min ago", "2 h ago", "4 d ago".
#[must_use]
pub fn ago(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    match secs {
        0..60 => format!("{secs} s ago"),
        60..3_600 => format!("{} min ago", secs / 60),
        3_600..86_400 => format!("{} h ago", secs / 3_600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// A bordered block with a title; the border is brighter when `focused`.
#[must_use]
pub fn panel(title: &str, focused: bool, theme: &Theme) -> Block<'static> {
    let border = if focused { theme.title } else { theme.border };
    Block::new()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Line::styled(format!(" {title} "), theme.title))
}

/// `label` padded to `width`, muted, for label/value lines.
#[must_use]
pub fn label(text: &str, width: usize, theme: &Theme) -> Span<'static> {
    Span::styled(format!(" {text:<width$} "), theme.muted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        let cases = [
            ("abc", 3, "abc"),
            ("abcd", 3, "ab…"),
            ("", 0, ""),
            ("ab", 0, "…"),
        ];
        for (text, width, expected) in cases {
            assert_eq!(fit(text, width), expected);
        }
    }

    #[test]
    fn wrapping_counts_whole_words() {
        let cases = [
            ("", 10, 1),
            ("short", 10, 1),
            ("two words", 5, 2),
            ("aaaa bbbb cccc", 9, 2),
            ("a\nb", 10, 2),
            ("abcdefghijkl", 5, 3),
            ("x abcdefghij", 5, 3),
        ];
        for (text, width, lines) in cases {
            assert_eq!(wrapped_height(text, width), lines, "{text:?} in {width}");
        }
    }

    #[test]
    fn relative_times_and_status_words() {
        assert_eq!(ago(Duration::from_secs(5)), "5 s ago");
        assert_eq!(ago(Duration::from_secs(150)), "2 min ago");
        assert_eq!(ago(Duration::from_secs(7_300)), "2 h ago");
        assert_eq!(ago(Duration::from_secs(200_000)), "2 d ago");
        assert_eq!(status_words(CertStatus::NamesChanged), "names changed");
        assert_eq!(status_words(CertStatus::Valid), "valid");
    }

    #[test]
    fn bar_fills_by_days_left() {
        let theme = Theme::builtin("default", false).unwrap();
        let cases = [
            (None, 0),
            (Some(-5), 0),
            (Some(0), 0),
            (Some(1), 1),
            (Some(45), 5),
            (Some(90), 10),
            (Some(400), 10),
        ];
        for (days, filled) in cases {
            let line = bar(days, theme.ok, &theme);
            assert_eq!(line.spans[0].content.chars().count(), filled, "{days:?}");
            assert_eq!(line.width(), usize::from(BAR_WIDTH));
        }
    }

    #[test]
    fn times_read_well() {
        let at = time::macros::datetime!(2025-06-05 08:30 UTC);
        assert_eq!(ymd(at), "2025-06-05");
        assert_eq!(ymd_hm(at), "2025-06-05 08:30 UTC");
        assert_eq!(seconds(Duration::from_millis(3140)), "3.1s");
    }
}
