//! How urgent a certificate is: drives the dashboard's order and colours. Pure.

use std::cmp::Ordering;

use crate::domain::renewal::CertStatus;
use crate::inventory::CertRow;

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
