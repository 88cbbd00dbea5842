//! Renewal policy: whether a stored certificate still matches what is configured and how
//! long it has left. Pure: the caller passes `now`.

use std::collections::BTreeSet;
use std::fmt;

use time::{Duration, OffsetDateTime};

/// Seconds per day, for flooring a remaining duration into whole days.
const SECONDS_PER_DAY: i64 = 86_400;

/// A certificate's state as shown in `list` and on the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertStatus {
    /// Matches the configuration and is outside the renewal window.
    Valid,
    /// Inside the renewal window.
    Expiring,
    /// Past `notAfter`.
    Expired,
    /// Never issued (nothing stored).
    Missing,
    /// The configured names or key type differ from the stored certificate's.
    NamesChanged,
}

impl CertStatus {
    /// The machine-readable name, as serialised: `valid`, `expiring`, `expired`,
    /// `missing`, `names_changed`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CertStatus::Valid => "valid",
            CertStatus::Expiring => "expiring",
            CertStatus::Expired => "expired",
            CertStatus::Missing => "missing",
            CertStatus::NamesChanged => "names_changed",
        }
    }
}

impl fmt::Display for CertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is configured for one certificate.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// Normalised names.
    pub names: &'a [String],
    /// Key type name, as in the config (`ecdsa-p256`, `rsa-2048`, …).
    pub key_type: &'a str,
    /// Renew when this many whole days or fewer are left.
    pub renew_days: u32,
}

/// What is stored on disk for one certificate (from its metadata).
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    /// The certificate's names.
    pub names: &'a [String],
    /// Its key type name.
    pub key_type: &'a str,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

/// Why a certificate must be (re)issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Nothing stored yet.
    Missing,
    /// Past `notAfter`.
    Expired,
    /// Inside the renewal window.
    WithinDays {
        /// Whole days left (see [`days_left`]).
        days_left: i64,
        /// The configured window.
        threshold: u32,
    },
    /// The configured names differ from the stored ones (as sets).
    NamesChanged {
        /// Configured but not in the certificate, in configured order.
        added: Vec<String>,
        /// In the certificate but no longer configured, in stored order.
        removed: Vec<String>,
    },
    /// The configured key type differs from the stored one.
    KeyTypeChanged {
        /// Stored key type.
        from: String,
        /// Configured key type.
        to: String,
    },
    /// The operator asked for it.
    Forced,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Missing => f.write_str("no certificate yet"),
            Reason::Expired => f.write_str("expired"),
            Reason::WithinDays {
                days_left,
                threshold,
            } => match days_left {
                // Zero whole days means less than 24 hours, not "now".
                0 => write!(
                    f,
                    "expires in less than a day (renewing within {threshold})"
                ),
                1 => write!(f, "expires in 1 day (renewing within {threshold})"),
                n => write!(f, "expires in {n} days (renewing within {threshold})"),
            },
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

/// Whether to (re)issue now, and if not, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Issue now.
    Renew(Reason),
    /// Nothing to do.
    Keep {
        /// `not_after - renew_days` days: the latest moment at which [`decide`] turns to
        /// `Renew`. Because [`days_left`] rounds down it may turn up to a day earlier.
        renew_at: OffsetDateTime,
    },
}

/// Decide whether a certificate needs issuing.
///
/// Order of precedence: `force` → [`Reason::Forced`]; nothing stored → [`Reason::Missing`];
/// names differ as sets → [`Reason::NamesChanged`]; key type differs →
/// [`Reason::KeyTypeChanged`]; `now ≥ not_after` → [`Reason::Expired`];
/// `days_left ≤ renew_days` → [`Reason::WithinDays`]; otherwise [`Decision::Keep`].
#[must_use]
pub fn decide(
    wanted: &Wanted<'_>,
    stored: Option<&Stored<'_>>,
    now: OffsetDateTime,
    force: bool,
) -> Decision {
    if force {
        return Decision::Renew(Reason::Forced);
    }
    let Some(stored) = stored else {
        return Decision::Renew(Reason::Missing);
    };
    if let Some(reason) = drift(wanted, stored) {
        return Decision::Renew(reason);
    }
    if now >= stored.not_after {
        return Decision::Renew(Reason::Expired);
    }
    let left = days_left(stored.not_after, now);
    if left <= i64::from(wanted.renew_days) {
        return Decision::Renew(Reason::WithinDays {
            days_left: left,
            threshold: wanted.renew_days,
        });
    }
    Decision::Keep {
        renew_at: stored.not_after - Duration::days(i64::from(wanted.renew_days)),
    }
}

/// The status to display; same precedence as [`decide`] without `force`, and a key type
/// change counts as [`CertStatus::NamesChanged`] (the certificate no longer matches).
#[must_use]
pub fn status(wanted: &Wanted<'_>, stored: Option<&Stored<'_>>, now: OffsetDateTime) -> CertStatus {
    match decide(wanted, stored, now, false) {
        Decision::Renew(Reason::Missing) => CertStatus::Missing,
        Decision::Renew(Reason::NamesChanged { .. } | Reason::KeyTypeChanged { .. }) => {
            CertStatus::NamesChanged
        }
        Decision::Renew(Reason::Expired) => CertStatus::Expired,
        Decision::Renew(Reason::WithinDays { .. }) => CertStatus::Expiring,
        // `Forced` cannot occur with force = false.
        Decision::Renew(Reason::Forced) | Decision::Keep { .. } => CertStatus::Valid,
    }
}

/// Whole days from `now` until `not_after`, rounded down: 23 hours left is 0, one second
/// past expiry is −1.
#[must_use]
pub fn days_left(not_after: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (not_after - now)
        .whole_seconds()
        .div_euclid(SECONDS_PER_DAY)
}

/// Names (as sets) or key type differing between configuration and certificate.
fn drift(wanted: &Wanted<'_>, stored: &Stored<'_>) -> Option<Reason> {
    let want: BTreeSet<&str> = wanted.names.iter().map(String::as_str).collect();
    let have: BTreeSet<&str> = stored.names.iter().map(String::as_str).collect();
    if want != have {
        let mut added: Vec<String> = Vec::new();
        for name in wanted.names {
            if !have.contains(name.as_str()) && !added.contains(name) {
                added.push(name.clone());
            }
        }
        let mut removed: Vec<String> = Vec::new();
        for name in stored.names {
            if !want.contains(name.as_str()) && !removed.contains(name) {
                removed.push(name.clone());
            }
        }
        return Some(Reason::NamesChanged { added, removed });
    }
    if wanted.key_type != stored.key_type {
        return Some(Reason::KeyTypeChanged {
            from: stored.key_type.to_string(),
            to: wanted.key_type.to_string(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOT_BEFORE: OffsetDateTime = datetime!(2025-01-01 00:00 UTC);
    const NOT_AFTER: OffsetDateTime = datetime!(2025-04-01 00:00 UTC);

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(ToString::to_string).collect()
    }

    struct Case {
        what: &'static str,
        wanted_names: &'static [&'static str],
        wanted_key: &'static str,
        renew_days: u32,
        stored: Option<(&'static [&'static str], &'static str)>,
        now: OffsetDateTime,
        force: bool,
        decision: Decision,
        status: CertStatus,
    }

    const NAMES: &[&str] = &["example.com", "www.example.com"];
    const P256: &str = "ecdsa-p256";

    fn case(
        what: &'static str,
        now: OffsetDateTime,
        decision: Decision,
        status: CertStatus,
    ) -> Case {
        Case {
            what,
            wanted_names: NAMES,
            wanted_key: P256,
            renew_days: 30,
            stored: Some((NAMES, P256)),
            now,
            force: false,
            decision,
            status,
        }
    }

    #[allow(clippy::too_many_lines)] // one data table, clearer whole than split
    fn cases() -> Vec<Case> {
        let renew_at = NOT_AFTER - Duration::days(30);
        let early = datetime!(2025-02-01 00:00 UTC);
        vec![
            case(
                "well before the window",
                early,
                Decision::Keep { renew_at },
                CertStatus::Valid,
            ),
            Case {
                force: true,
                ..case(
                    "forced beats everything",
                    early,
                    Decision::Renew(Reason::Forced),
                    CertStatus::Valid,
                )
            },
            Case {
                force: true,
                stored: None,
                ..case(
                    "forced without stored",
                    early,
                    Decision::Renew(Reason::Forced),
                    CertStatus::Missing,
                )
            },
            Case {
                stored: None,
                ..case(
                    "nothing stored",
                    early,
                    Decision::Renew(Reason::Missing),
                    CertStatus::Missing,
                )
            },
            Case {
                wanted_names: &["www.example.com", "example.com"],
                ..case(
                    "same names, other order",
                    early,
                    Decision::Keep { renew_at },
                    CertStatus::Valid,
                )
            },
            Case {
                wanted_names: &["example.com", "new.example.com"],
                stored: Some((NAMES, "rsa-2048")),
                ..case(
                    "names beat key type and expiry",
                    NOT_AFTER + Duration::days(1),
                    Decision::Renew(Reason::NamesChanged {
                        added: strings(&["new.example.com"]),
                        removed: strings(&["www.example.com"]),
                    }),
                    CertStatus::NamesChanged,
                )
            },
            Case {
                wanted_names: &["example.com"],
                ..case(
                    "name removed",
                    early,
                    Decision::Renew(Reason::NamesChanged {
                        added: vec![],
                        removed: strings(&["www.example.com"]),
                    }),
                    CertStatus::NamesChanged,
                )
            },
            Case {
                wanted_key: "ecdsa-p384",
                ..case(
                    "key type beats expiry",
                    NOT_AFTER,
                    Decision::Renew(Reason::KeyTypeChanged {
                        from: P256.into(),
                        to: "ecdsa-p384".into(),
                    }),
                    CertStatus::NamesChanged,
                )
            },
            case(
                "exactly at not_after",
                NOT_AFTER,
                Decision::Renew(Reason::Expired),
                CertStatus::Expired,
            ),
            case(
                "one second after expiry",
                NOT_AFTER + Duration::seconds(1),
                Decision::Renew(Reason::Expired),
                CertStatus::Expired,
            ),
            case(
                "one second before expiry",
                NOT_AFTER - Duration::seconds(1),
                Decision::Renew(Reason::WithinDays {
                    days_left: 0,
                    threshold: 30,
                }),
                CertStatus::Expiring,
            ),
            case(
                "exactly renew_days left",
                renew_at,
                Decision::Renew(Reason::WithinDays {
                    days_left: 30,
                    threshold: 30,
                }),
                CertStatus::Expiring,
            ),
            case(
                "renew_days left plus 23 hours rounds down into the window",
                renew_at - Duration::hours(23),
                Decision::Renew(Reason::WithinDays {
                    days_left: 30,
                    threshold: 30,
                }),
                CertStatus::Expiring,
            ),
            case(
                "exactly renew_days + 1 left",
                renew_at - Duration::days(1),
                Decision::Keep { renew_at },
                CertStatus::Valid,
            ),
            Case {
                renew_days: 0,
                ..case(
                    "zero window keeps until expiry",
                    NOT_AFTER - Duration::days(1),
                    Decision::Keep {
                        renew_at: NOT_AFTER,
                    },
                    CertStatus::Valid,
                )
            },
            Case {
                renew_days: 0,
                ..case(
                    "zero window, last day",
                    NOT_AFTER - Duration::hours(1),
                    Decision::Renew(Reason::WithinDays {
                        days_left: 0,
                        threshold: 0,
                    }),
                    CertStatus::Expiring,
                )
            },
        ]
    }

    #[test]
    fn decide_and_status_table() {
        for c in cases() {
            let wanted_names = strings(c.wanted_names);
            let wanted = Wanted {
                names: &wanted_names,
                key_type: c.wanted_key,
                renew_days: c.renew_days,
            };
            let stored_names = c.stored.map(|(names, _)| strings(names));
            let stored = c
                .stored
                .zip(stored_names.as_deref())
                .map(|((_, key), names)| Stored {
                    names,
                    key_type: key,
                    not_before: NOT_BEFORE,
                    not_after: NOT_AFTER,
                });
            assert_eq!(
                decide(&wanted, stored.as_ref(), c.now, c.force),
                c.decision,
                "{}",
                c.what
            );
            assert_eq!(
                status(&wanted, stored.as_ref(), c.now),
                c.status,
                "{}",
                c.what
            );
        }
    }

    #[test]
    fn days_left_rounds_down() {
        let cases = [
            (Duration::days(30), 30),
            (Duration::days(30) - Duration::seconds(1), 29),
            (Duration::hours(23), 0),
            (Duration::ZERO, 0),
            (-Duration::seconds(1), -1),
            (-Duration::days(1), -1),
            (-Duration::days(1) - Duration::seconds(1), -2),
        ];
        for (remaining, want) in cases {
            assert_eq!(
                days_left(NOT_AFTER, NOT_AFTER - remaining),
                want,
                "remaining {remaining}"
            );
        }
    }

    #[test]
    fn reason_display() {
        let cases = [
            (Reason::Missing, "no certificate yet"),
            (Reason::Expired, "expired"),
            (Reason::Forced, "forced"),
            (
                Reason::WithinDays {
                    days_left: 12,
                    threshold: 30,
                },
                "expires in 12 days (renewing within 30)",
            ),
            (
                Reason::WithinDays {
                    days_left: 1,
                    threshold: 30,
                },
                "expires in 1 day (renewing within 30)",
            ),
            (
                Reason::WithinDays {
                    days_left: 0,
                    threshold: 30,
                },
                "expires in less than a day (renewing within 30)",
            ),
            (
                Reason::NamesChanged {
                    added: strings(&["www.example.com"]),
                    removed: strings(&["old.example.com"]),
                },
                "names changed: +www.example.com -old.example.com",
            ),
            (
                Reason::NamesChanged {
                    added: strings(&["a.example", "b.example"]),
                    removed: vec![],
                },
                "names changed: +a.example +b.example",
            ),
            (
                Reason::KeyTypeChanged {
                    from: "rsa-2048".into(),
                    to: "ecdsa-p256".into(),
                },
                "key type changed: rsa-2048 → ecdsa-p256",
            ),
        ];
        for (reason, want) in cases {
            assert_eq!(reason.to_string(), want);
        }
    }

    #[test]
    fn status_strings() {
        let cases = [
            (CertStatus::Valid, "valid"),
            (CertStatus::Expiring, "expiring"),
            (CertStatus::Expired, "expired"),
            (CertStatus::Missing, "missing"),
            (CertStatus::NamesChanged, "names_changed"),
        ];
        for (status, want) in cases {
            assert_eq!(status.as_str(), want);
            assert_eq!(status.to_string(), want);
            let json = serde_json::to_string(&status).expect("serialises");
            assert_eq!(json, format!("\"{want}\""));
        }
    }

    #[test]
    fn keep_never_outlives_renew_at() {
        // Walk an hour at a time through the last days before renew_at: whenever the
        // decision is Keep, renewing must still lie ahead.
        let names = strings(NAMES);
        let wanted = Wanted {
            names: &names,
            key_type: P256,
            renew_days: 30,
        };
        let stored = Stored {
            names: &names,
            key_type: P256,
            not_before: NOT_BEFORE,
            not_after: NOT_AFTER,
        };
        let mut now = NOT_AFTER - Duration::days(33);
        while now < NOT_AFTER {
            if let Decision::Keep { renew_at } = decide(&wanted, Some(&stored), now, false) {
                assert!(now < renew_at, "kept at {now} past renew_at {renew_at}");
            }
            now += Duration::hours(1);
        }
    }
}
