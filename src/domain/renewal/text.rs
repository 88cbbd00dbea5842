//! The sentences `list`, `renew` and the dashboard show for renewal decisions.

use std::fmt;

use time::OffsetDateTime;

use super::{Basis, Decision, Fraction, Reason};

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fraction::Third => "1/3",
            Fraction::Half => "1/2",
        })
    }
}

impl fmt::Display for Basis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Basis::Days(1) => f.write_str("1 day before expiry"),
            Basis::Days(n) => write!(f, "{n} days before expiry"),
            Basis::Lifetime(fraction) => write!(f, "{fraction} of lifetime left"),
            Basis::Ari { start, end } => {
                write!(f, "ARI window {}..{}", minute(*start), minute(*end))
            }
        }
    }
}

/// `2027-01-08 14:05 UTC`: precise enough for a renewal time, short enough for a table.
#[must_use]
pub fn minute(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute())
}

fn expires_in(f: &mut fmt::Formatter<'_>, days_left: i64) -> fmt::Result {
    match days_left {
        // Zero whole days means less than 24 hours, not "now".
        0 => f.write_str("expires in less than a day"),
        1 => f.write_str("expires in 1 day"),
        n => write!(f, "expires in {n} days"),
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Missing => f.write_str("no certificate yet"),
            Reason::Expired => f.write_str("expired"),
            Reason::WithinDays {
                days_left,
                threshold,
            } => {
                expires_in(f, *days_left)?;
                write!(f, " (renewing within {threshold})")
            }
            Reason::LifetimeLeft {
                days_left,
                fraction,
            } => {
                expires_in(f, *days_left)?;
                write!(f, " ({fraction} of lifetime left)")
            }
            Reason::AriWindow { start, end } => write!(
                f,
                "in the CA's renewal window (ARI window {}..{})",
                minute(*start),
                minute(*end)
            ),
            Reason::Revoked => f.write_str("revoked"),
            Reason::NamesChanged { added, removed } => {
                f.write_str("names changed:")?;
                for name in added {
                    write!(f, " +{name}")?;
                }
                for name in removed {
                    write!(f, " -{name}")?;
                }
                Ok(())
            }
            Reason::KeyTypeChanged { from, to } => write!(f, "key type changed: {from} → {to}"),
            Reason::Forced => f.write_str("forced"),
        }
    }
}

impl fmt::Display for Decision {
    /// `due now: names changed: +www.example.com`, `renew from 2027-01-10 (1/3 of lifetime
    /// left)`, `renew at 2027-01-09 14:05 UTC (ARI window …)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Renew(reason) => write!(f, "due now: {reason}"),
            Decision::Keep {
                renew_at,
                basis: basis @ Basis::Ari { .. },
            } => write!(f, "renew at {} ({basis})", minute(*renew_at)),
            Decision::Keep { renew_at, basis } => {
                write!(f, "renew from {} ({basis})", renew_at.date())
            }
        }
    }
}
