//! Everything the dashboard shows, and nothing about how it is drawn.

use std::cmp::Ordering;

use crate::domain::renewal::CertStatus;
use crate::inventory::CertRow;

/// Frames of the "loading" spinner, advanced by [`crate::tui::update::Msg::Tick`].
pub const SPINNER: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Where the certificate list stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadStatus {
    /// Nothing asked for yet.
    Idle,
    /// A load with this request id is running.
    Loading {
        /// The id of the load whose answer will be accepted.
        request: u64,
    },
    /// The last load succeeded.
    Loaded,
    /// The last load failed; the previous rows (if any) are still shown.
    Failed(String),
}

/// The dashboard's state. Changed only by [`crate::tui::update::update`].
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Certificates, most urgent first.
    pub rows: Vec<CertRow>,
    /// Index of the selected row (0 when there are no rows).
    pub selected: usize,
    /// Progress of the inventory load.
    pub load: LoadStatus,
    /// Whether the help overlay is open.
    pub show_help: bool,
    /// Current spinner frame while loading.
    pub spinner: usize,
    /// Id of the most recently issued load request.
    pub last_request: u64,
    /// Whether any load has succeeded, so "no rows" really means "no certificates".
    pub loaded_once: bool,
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    /// An empty dashboard that has not loaded anything yet.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            rows: Vec::new(),
            selected: 0,
            load: LoadStatus::Idle,
            show_help: false,
            spinner: 0,
            last_request: 0,
            loaded_once: false,
        }
    }

    /// Whether a load is running (the only time the app needs a tick).
    #[must_use]
    pub const fn is_loading(&self) -> bool {
        matches!(self.load, LoadStatus::Loading { .. })
    }

    /// The selected certificate, if any.
    #[must_use]
    pub fn selected_row(&self) -> Option<&CertRow> {
        self.rows.get(self.selected)
    }

    /// The spinner frame to draw.
    #[must_use]
    pub fn spinner_frame(&self) -> &'static str {
        SPINNER[self.spinner % SPINNER.len()]
    }
}

/// How soon a certificate needs attention; drives colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// More than 30 days left.
    Ok,
    /// 30 days or fewer.
    Warn,
    /// 7 days or fewer, or expired.
    Error,
    /// No certificate to judge.
    Unknown,
}

/// Days left above which a certificate is fine.
pub const WARN_DAYS: i64 = 30;
/// Days left at or below which a certificate is an emergency.
pub const ERROR_DAYS: i64 = 7;

/// The urgency of a row, from its days left and status.
#[must_use]
pub fn urgency(row: &CertRow) -> Urgency {
    match row.days_left {
        _ if matches!(row.status, CertStatus::Expired) => Urgency::Error,
        Some(days) if days <= ERROR_DAYS => Urgency::Error,
        Some(days) if days <= WARN_DAYS => Urgency::Warn,
        Some(_) => Urgency::Ok,
        None => Urgency::Unknown,
    }
}

/// Rank for sorting: expired first, then missing, then everything else by days left.
fn status_rank(row: &CertRow) -> u8 {
    match row.status {
        CertStatus::Expired => 0,
        CertStatus::Missing => 1,
        _ => 2,
    }
}

/// Most urgent first: expired, missing, then fewest days left; ties by name.
#[must_use]
pub fn by_urgency(a: &CertRow, b: &CertRow) -> Ordering {
    let days = |row: &CertRow| row.days_left.unwrap_or(i64::MAX);
    status_rank(a)
        .cmp(&status_rank(b))
        .then_with(|| days(a).cmp(&days(b)))
        .then_with(|| a.name.cmp(&b.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn row(name: &str, days: Option<i64>, status: CertStatus) -> CertRow {
        CertRow {
            name: name.to_owned(),
            names: vec![format!("{name}.example")],
            not_after: None,
            days_left: days,
            status,
            issuer: None,
            serial: None,
            key_type: "ecdsa-p256".to_owned(),
            account: None,
        }
    }

    #[test]
    fn urgency_thresholds() {
        let cases = [
            (Some(31), CertStatus::Valid, Urgency::Ok),
            (Some(30), CertStatus::Expiring, Urgency::Warn),
            (Some(8), CertStatus::Expiring, Urgency::Warn),
            (Some(7), CertStatus::Expiring, Urgency::Error),
            (Some(0), CertStatus::Expiring, Urgency::Error),
            (Some(-2), CertStatus::Expired, Urgency::Error),
            (Some(80), CertStatus::Expired, Urgency::Error),
            (None, CertStatus::Missing, Urgency::Unknown),
        ];
        for (days, status, expected) in cases {
            assert_eq!(urgency(&row("a", days, status)), expected, "{days:?}");
        }
    }

    #[test]
    fn sorts_expired_then_missing_then_fewest_days() {
        let mut rows = [
            row("later", Some(80), CertStatus::Valid),
            row("missing", None, CertStatus::Missing),
            row("soon", Some(5), CertStatus::Expiring),
            row("gone", Some(-3), CertStatus::Expired),
            row("drift", Some(40), CertStatus::NamesChanged),
            row("also-soon", Some(5), CertStatus::Expiring),
        ];
        rows.sort_by(by_urgency);
        let names: Vec<_> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["gone", "missing", "also-soon", "soon", "drift", "later"]
        );
    }
}
