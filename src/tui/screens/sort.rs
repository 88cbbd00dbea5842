//! The dashboard's sort keys (`s` cycles them, `o` reverses the order). Pure.

use std::cmp::Ordering;

use crate::domain::renewal::CertStatus;
use crate::inventory::CertRow;
use crate::tui::screens::urgency::by_urgency;

/// What the certificates are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Expired, missing, then fewest days left (the default).
    #[default]
    Urgency,
    /// Fewest days left first; certificates never issued last.
    DaysLeft,
    /// By certificate name.
    Name,
    /// By status (expired, missing, names changed, expiring, valid), then days left.
    Status,
}

impl SortKey {
    /// Every key, in the order `s` cycles through them.
    pub const ALL: [SortKey; 4] = [
        SortKey::Urgency,
        SortKey::DaysLeft,
        SortKey::Name,
        SortKey::Status,
    ];

    /// The key after this one.
    #[must_use]
    pub fn next(self) -> Self {
        let at = Self::ALL.iter().position(|k| *k == self).unwrap_or(0);
        Self::ALL[(at + 1) % Self::ALL.len()]
    }

    /// How the header names it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Urgency => "urgency",
            SortKey::DaysLeft => "days left",
            SortKey::Name => "name",
            SortKey::Status => "status",
        }
    }

    /// Compare two rows by this key; ties by name, so the order is stable and total.
    #[must_use]
    pub fn compare(self, a: &CertRow, b: &CertRow) -> Ordering {
        let days = |row: &CertRow| row.days_left.unwrap_or(i64::MAX);
        match self {
            SortKey::Urgency => by_urgency(a, b),
            SortKey::DaysLeft => days(a).cmp(&days(b)).then_with(|| a.name.cmp(&b.name)),
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::Status => status_rank(a.status)
                .cmp(&status_rank(b.status))
                .then_with(|| days(a).cmp(&days(b)))
                .then_with(|| a.name.cmp(&b.name)),
        }
    }
}

/// Worst first.
fn status_rank(status: CertStatus) -> u8 {
    match status {
        CertStatus::Expired => 0,
        CertStatus::Missing => 1,
        CertStatus::NamesChanged => 2,
        CertStatus::Expiring => 3,
        CertStatus::Valid => 4,
    }
}

/// Order `rows` by `key`, reversed when asked.
pub fn order(rows: &mut [CertRow], key: SortKey, reverse: bool) {
    rows.sort_by(|a, b| {
        let ordering = key.compare(a, b);
        if reverse {
            ordering.reverse()
        } else {
            ordering
        }
    });
}
