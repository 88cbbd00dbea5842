//! Renewal policy: whether a stored certificate still matches what is configured, and when
//! it is due. Pure: the caller passes `now`, the ARI window (if the CA gave one) and, for
//! [`choose_in_window`], the random number.
//!
//! The rule, in order: forced → missing → names or key type changed → revoked → expired →
//! the schedule. The schedule is the CA's ARI window when there is one (RFC 9773), else a
//! fraction of the lifetime (a third left; half for lifetimes under 10 days, where a third
//! would leave too little room for a failed run or two). A user-given `renew_days` always
//! applies as well: whichever of it and the ARI time comes first wins.

use std::collections::BTreeSet;
use std::fmt;

use time::{Duration, OffsetDateTime};

mod text;
mod window;

pub use text::minute;
pub use window::{check_window, WindowFault};

/// Seconds per day, for flooring a remaining duration into whole days.
const SECONDS_PER_DAY: i64 = 86_400;

/// Lifetimes shorter than this renew at half their lifetime instead of a third.
const SHORT_LIFETIME: Duration = Duration::days(10);

/// A certificate's state as shown in `list` and on the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertStatus {
    /// Matches the configuration and is not due yet.
    Valid,
    /// Due for renewal (schedule reached, or revoked).
    Expiring,
    /// Past `notAfter`.
    Expired,
    /// Never issued (nothing stored).
    Missing,
    /// The configured names or key type differ from the stored certificate's.
    NamesChanged,
}

impl CertStatus {
    /// Whether a certificate shown with this status is due: what the TUI's bulk renew
    /// picks when nothing is marked. The same as [`Decision::is_due`] of the decision the
    /// status came from (a forced renewal aside), so `renew --all` picks the same ones.
    #[must_use]
    pub fn is_due(self) -> bool {
        self != CertStatus::Valid
    }

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
    /// Renew when this many whole days or fewer are left; `None`: the lifetime fraction.
    pub renew_days: Option<u32>,
}

/// The CA's suggested renewal window (ARI) and the time certpilot picked inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AriWindow {
    /// Window start.
    pub start: OffsetDateTime,
    /// Window end.
    pub end: OffsetDateTime,
    /// The chosen renewal time (see [`choose_in_window`]).
    pub chosen: OffsetDateTime,
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
    /// The CA revoked it (`certpilot revoke`).
    pub revoked: bool,
    /// The CA's ARI window for it, when the CA offers ARI and it was fetched.
    pub ari: Option<AriWindow>,
}

/// Which fraction of the lifetime is left when a certificate without ARI renews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fraction {
    /// A third (lifetimes of 10 days or more).
    Third,
    /// Half (shorter lifetimes).
    Half,
}

/// What set a certificate's renewal time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The user's `renew_days`.
    Days(u32),
    /// The lifetime rule.
    Lifetime(Fraction),
    /// The CA's ARI window.
    Ari {
        /// Window start.
        start: OffsetDateTime,
        /// Window end.
        end: OffsetDateTime,
    },
}

/// Why a certificate must be (re)issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Nothing stored yet.
    Missing,
    /// Past `notAfter`.
    Expired,
    /// Within the user's `renew_days`.
    WithinDays {
        /// Whole days left (see [`days_left`]).
        days_left: i64,
        /// The configured window.
        threshold: u32,
    },
    /// The lifetime rule's time has come.
    LifetimeLeft {
        /// Whole days left.
        days_left: i64,
        /// The fraction that was reached.
        fraction: Fraction,
    },
    /// The time chosen in the CA's ARI window has come.
    AriWindow {
        /// Window start.
        start: OffsetDateTime,
        /// Window end.
        end: OffsetDateTime,
    },
    /// The CA revoked the certificate.
    Revoked,
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

/// Whether to (re)issue now, and if not, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Issue now.
    Renew(Reason),
    /// Nothing to do before `renew_at`.
    Keep {
        /// When [`decide`] turns to `Renew` (for `renew_days`, up to a day earlier: whole
        /// days are compared).
        renew_at: OffsetDateTime,
        /// What set that time.
        basis: Basis,
    },
}

impl Decision {
    /// When renewal is due: `None` means now.
    #[must_use]
    pub fn renew_at(&self) -> Option<OffsetDateTime> {
        match self {
            Decision::Renew(_) => None,
            Decision::Keep { renew_at, .. } => Some(*renew_at),
        }
    }
}

/// The next renewal of a certificate and why: [`decide`] without `force`. This is what
/// `list` and the dashboard show (`Display` gives the sentence).
#[must_use]
pub fn next_renewal(
    wanted: &Wanted<'_>,
    stored: Option<&Stored<'_>>,
    now: OffsetDateTime,
) -> Decision {
    decide(wanted, stored, now, false)
}

/// Decide whether a certificate needs issuing.
///
/// Order of precedence: `force` → [`Reason::Forced`]; nothing stored → [`Reason::Missing`];
/// names differ as sets → [`Reason::NamesChanged`]; key type differs →
/// [`Reason::KeyTypeChanged`]; revoked → [`Reason::Revoked`]; `now ≥ not_after` →
/// [`Reason::Expired`]; then the schedule (see the module documentation).
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
    if stored.revoked {
        return Decision::Renew(Reason::Revoked);
    }
    if now >= stored.not_after {
        return Decision::Renew(Reason::Expired);
    }
    let left = days_left(stored.not_after, now);
    if let Some(threshold) = wanted.renew_days {
        if left <= i64::from(threshold) {
            return Decision::Renew(Reason::WithinDays {
                days_left: left,
                threshold,
            });
        }
    }
    let by_days = wanted.renew_days.map(|days| Decision::Keep {
        renew_at: stored.not_after - Duration::days(i64::from(days)),
        basis: Basis::Days(days),
    });
    // An untrusted window (see [`check_window`]) counts as none: the lifetime rule decides.
    let ari = stored
        .ari
        .filter(|w| check_window(w.start, w.end, stored.not_after).is_ok());
    if let Some(ari) = ari {
        if now >= ari.chosen {
            return Decision::Renew(Reason::AriWindow {
                start: ari.start,
                end: ari.end,
            });
        }
        let by_ari = Decision::Keep {
            renew_at: ari.chosen,
            basis: Basis::Ari {
                start: ari.start,
                end: ari.end,
            },
        };
        return match by_days {
            Some(days) if days.renew_at() < by_ari.renew_at() => days,
            _ => by_ari,
        };
    }
    if let Some(days) = by_days {
        return days;
    }
    let (renew_at, fraction) = lifetime_renew_at(stored.not_before, stored.not_after);
    if now >= renew_at {
        return Decision::Renew(Reason::LifetimeLeft {
            days_left: left,
            fraction,
        });
    }
    Decision::Keep {
        renew_at,
        basis: Basis::Lifetime(fraction),
    }
}

/// When the lifetime rule renews: with a third of the lifetime left, or half for
/// lifetimes under 10 days.
#[must_use]
pub fn lifetime_renew_at(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> (OffsetDateTime, Fraction) {
    let lifetime = not_after - not_before;
    if lifetime < SHORT_LIFETIME {
        (not_after - lifetime / 2, Fraction::Half)
    } else {
        (not_after - lifetime / 3, Fraction::Third)
    }
}

/// The renewal time inside an ARI window: `unit` (uniform in `[0, 1)`) of the way from
/// the start to the end (RFC 9773 §4.2: spread the CA's load), or `now` when the window
/// has already begun.
#[must_use]
pub fn choose_in_window(
    start: OffsetDateTime,
    end: OffsetDateTime,
    now: OffsetDateTime,
    unit: f64,
) -> OffsetDateTime {
    if start <= now || end <= start {
        return now.max(start.min(end));
    }
    let span = (end - start).as_seconds_f64();
    start + Duration::seconds_f64(span * unit.clamp(0.0, 1.0))
}

/// The status to display; same precedence as [`decide`] without `force`, and a key type
/// change counts as [`CertStatus::NamesChanged`] (the certificate no longer matches).
#[must_use]
pub fn status(wanted: &Wanted<'_>, stored: Option<&Stored<'_>>, now: OffsetDateTime) -> CertStatus {
    decide(wanted, stored, now, false).status()
}

impl Decision {
    /// Whether the certificate is renewed now: what `renew --all` works on.
    #[must_use]
    pub fn is_due(&self) -> bool {
        matches!(self, Decision::Renew(_))
    }

    /// The status this decision shows as (see [`status`]).
    #[must_use]
    pub fn status(&self) -> CertStatus {
        match self {
            Decision::Renew(Reason::Missing) => CertStatus::Missing,
            Decision::Renew(Reason::NamesChanged { .. } | Reason::KeyTypeChanged { .. }) => {
                CertStatus::NamesChanged
            }
            Decision::Renew(Reason::Expired) => CertStatus::Expired,
            Decision::Renew(
                Reason::WithinDays { .. }
                | Reason::LifetimeLeft { .. }
                | Reason::AriWindow { .. }
                | Reason::Revoked,
            ) => CertStatus::Expiring,
            // `Forced` is the operator's doing, not the certificate's state.
            Decision::Renew(Reason::Forced) | Decision::Keep { .. } => CertStatus::Valid,
        }
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
    /// 90 days after `NOT_BEFORE`.
    const NOT_AFTER: OffsetDateTime = datetime!(2025-04-01 00:00 UTC);

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(ToString::to_string).collect()
    }

    struct Case {
        what: &'static str,
        wanted_names: &'static [&'static str],
        wanted_key: &'static str,
        renew_days: Option<u32>,
        stored: Option<(&'static [&'static str], &'static str)>,
        validity: (OffsetDateTime, OffsetDateTime),
        revoked: bool,
        ari: Option<AriWindow>,
        now: OffsetDateTime,
        force: bool,
        decision: Decision,
        status: CertStatus,
    }

    const NAMES: &[&str] = &["example.com", "www.example.com"];
    const P256: &str = "ecdsa-p256";

    /// A 90-day certificate with a 30-day override.
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
            renew_days: Some(30),
            stored: Some((NAMES, P256)),
            validity: (NOT_BEFORE, NOT_AFTER),
            revoked: false,
            ari: None,
            now,
            force: false,
            decision,
            status,
        }
    }

    /// No override: the lifetime rule (or ARI) decides.
    fn lifetime(
        what: &'static str,
        days: i64,
        now: OffsetDateTime,
        decision: Decision,
        status: CertStatus,
    ) -> Case {
        Case {
            renew_days: None,
            validity: (NOT_BEFORE, NOT_BEFORE + Duration::days(days)),
            ..case(what, now, decision, status)
        }
    }

    fn keep(renew_at: OffsetDateTime, basis: Basis) -> Decision {
        Decision::Keep { renew_at, basis }
    }

    fn days_case(days_left: i64) -> Decision {
        Decision::Renew(Reason::WithinDays {
            days_left,
            threshold: 30,
        })
    }

    #[allow(clippy::too_many_lines)] // one data table, clearer whole than split
    fn override_cases() -> Vec<Case> {
        let renew_at = NOT_AFTER - Duration::days(30);
        let early = datetime!(2025-02-01 00:00 UTC);
        let by_days = keep(renew_at, Basis::Days(30));
        vec![
            case(
                "well before the window",
                early,
                by_days.clone(),
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
                    by_days.clone(),
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
            Case {
                revoked: true,
                ..case(
                    "revoked is due at once",
                    early,
                    Decision::Renew(Reason::Revoked),
                    CertStatus::Expiring,
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
                days_case(0),
                CertStatus::Expiring,
            ),
            case(
                "exactly renew_days left",
                renew_at,
                days_case(30),
                CertStatus::Expiring,
            ),
            case(
                "renew_days left plus 23 hours rounds down into the window",
                renew_at - Duration::hours(23),
                days_case(30),
                CertStatus::Expiring,
            ),
            case(
                "exactly renew_days + 1 left",
                renew_at - Duration::days(1),
                by_days,
                CertStatus::Valid,
            ),
            Case {
                renew_days: Some(0),
                ..case(
                    "zero window keeps until expiry",
                    NOT_AFTER - Duration::days(1),
                    keep(NOT_AFTER, Basis::Days(0)),
                    CertStatus::Valid,
                )
            },
            Case {
                renew_days: Some(0),
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

    fn lifetime_cases() -> Vec<Case> {
        let at_90 = NOT_BEFORE + Duration::days(60);
        let at_45 = NOT_BEFORE + Duration::days(30);
        let at_6 = NOT_BEFORE + Duration::days(3);
        let third = Basis::Lifetime(Fraction::Third);
        let half = Basis::Lifetime(Fraction::Half);
        let due = |days_left, fraction| {
            Decision::Renew(Reason::LifetimeLeft {
                days_left,
                fraction,
            })
        };
        vec![
            lifetime(
                "90 days: kept until 30 left",
                90,
                at_90 - Duration::seconds(1),
                keep(at_90, third),
                CertStatus::Valid,
            ),
            lifetime(
                "90 days: due with 30 left",
                90,
                at_90,
                due(30, Fraction::Third),
                CertStatus::Expiring,
            ),
            lifetime(
                "45 days: kept until 15 left",
                45,
                NOT_BEFORE + Duration::days(29),
                keep(at_45, third),
                CertStatus::Valid,
            ),
            lifetime(
                "45 days: due with 15 left",
                45,
                at_45,
                due(15, Fraction::Third),
                CertStatus::Expiring,
            ),
            lifetime(
                "6 days: half, kept until 3 left",
                6,
                at_6 - Duration::minutes(1),
                keep(at_6, half),
                CertStatus::Valid,
            ),
            lifetime(
                "6 days: half, due with 3 left",
                6,
                at_6,
                due(3, Fraction::Half),
                CertStatus::Expiring,
            ),
            lifetime(
                "10 days is not short: a third",
                10,
                NOT_BEFORE,
                keep(
                    NOT_BEFORE + Duration::days(10) - Duration::days(10) / 3,
                    third,
                ),
                CertStatus::Valid,
            ),
            lifetime(
                "expired beats the schedule",
                6,
                NOT_BEFORE + Duration::days(6),
                Decision::Renew(Reason::Expired),
                CertStatus::Expired,
            ),
            Case {
                renew_days: Some(10),
                ..lifetime(
                    "override: 90 days renews at 10 left, not 30",
                    90,
                    at_90,
                    keep(NOT_BEFORE + Duration::days(80), Basis::Days(10)),
                    CertStatus::Valid,
                )
            },
            Case {
                renew_days: Some(40),
                ..lifetime(
                    "override: 45 days renews at 40 left",
                    45,
                    NOT_BEFORE + Duration::days(5),
                    Decision::Renew(Reason::WithinDays {
                        days_left: 40,
                        threshold: 40,
                    }),
                    CertStatus::Expiring,
                )
            },
        ]
    }

    fn ari_cases() -> Vec<Case> {
        let start = NOT_BEFORE + Duration::days(59);
        let end = NOT_BEFORE + Duration::days(61);
        let window = AriWindow {
            start,
            end,
            chosen: start + Duration::hours(7),
        };
        let ari = Basis::Ari { start, end };
        let in_window = Decision::Renew(Reason::AriWindow { start, end });
        vec![
            Case {
                ari: Some(window),
                ..lifetime(
                    "ARI: kept before the chosen time",
                    90,
                    window.chosen - Duration::seconds(1),
                    keep(window.chosen, ari),
                    CertStatus::Valid,
                )
            },
            Case {
                ari: Some(window),
                ..lifetime(
                    "ARI: due at the chosen time",
                    90,
                    window.chosen,
                    in_window.clone(),
                    CertStatus::Expiring,
                )
            },
            Case {
                ari: Some(AriWindow {
                    chosen: end + Duration::days(5),
                    ..window
                }),
                ..lifetime(
                    "ARI beats the lifetime rule",
                    90,
                    NOT_BEFORE + Duration::days(62),
                    keep(end + Duration::days(5), ari),
                    CertStatus::Valid,
                )
            },
            Case {
                ari: Some(window),
                renew_days: Some(35),
                ..lifetime(
                    "override earlier than ARI wins",
                    90,
                    NOT_BEFORE + Duration::days(54),
                    keep(NOT_BEFORE + Duration::days(55), Basis::Days(35)),
                    CertStatus::Valid,
                )
            },
            Case {
                ari: Some(window),
                renew_days: Some(10),
                ..lifetime(
                    "ARI earlier than override wins",
                    90,
                    NOT_BEFORE,
                    keep(window.chosen, ari),
                    CertStatus::Valid,
                )
            },
            Case {
                ari: Some(window),
                wanted_names: &["example.com"],
                ..lifetime(
                    "names changed beats ARI",
                    90,
                    NOT_BEFORE,
                    Decision::Renew(Reason::NamesChanged {
                        added: vec![],
                        removed: strings(&["www.example.com"]),
                    }),
                    CertStatus::NamesChanged,
                )
            },
        ]
    }

    #[test]
    fn decide_and_status_table() {
        let cases = override_cases()
            .into_iter()
            .chain(lifetime_cases())
            .chain(ari_cases());
        for c in cases {
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
                    not_before: c.validity.0,
                    not_after: c.validity.1,
                    revoked: c.revoked,
                    ari: c.ari,
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
            if !c.force {
                assert_eq!(
                    next_renewal(&wanted, stored.as_ref(), c.now),
                    c.decision,
                    "{}",
                    c.what
                );
            }
        }
    }

    #[test]
    fn choose_in_window_spreads_and_never_lies_in_the_past() {
        let start = datetime!(2025-03-01 00:00 UTC);
        let end = datetime!(2025-03-03 00:00 UTC);
        let before = start - Duration::days(1);
        let cases = [
            ("start of a future window", before, 0.0, start),
            ("middle", before, 0.5, datetime!(2025-03-02 00:00 UTC)),
            ("out-of-range unit is clamped", before, 7.0, end),
            (
                "window already begun: now",
                start + Duration::hours(1),
                0.9,
                start + Duration::hours(1),
            ),
            (
                "window over: now",
                end + Duration::days(1),
                0.1,
                end + Duration::days(1),
            ),
        ];
        for (what, now, unit, want) in cases {
            assert_eq!(choose_in_window(start, end, now, unit), want, "{what}");
        }
        assert_eq!(
            choose_in_window(end, start, before, 0.5),
            start,
            "inverted window: the earlier bound"
        );
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
    fn reason_and_decision_display() {
        let start = datetime!(2027-01-08 00:00 UTC);
        let end = datetime!(2027-01-10 12:30 UTC);
        let cases = [
            (Reason::Missing.to_string(), "no certificate yet"),
            (Reason::Expired.to_string(), "expired"),
            (Reason::Forced.to_string(), "forced"),
            (Reason::Revoked.to_string(), "revoked"),
            (Reason::WithinDays { days_left: 12, threshold: 30 }.to_string(), "expires in 12 days (renewing within 30)"),
            (Reason::WithinDays { days_left: 1, threshold: 30 }.to_string(), "expires in 1 day (renewing within 30)"),
            (Reason::WithinDays { days_left: 0, threshold: 30 }.to_string(), "expires in less than a day (renewing within 30)"),
            (Reason::LifetimeLeft { days_left: 3, fraction: Fraction::Half }.to_string(), "expires in 3 days (1/2 of lifetime left)"),
            (
                Reason::AriWindow { start, end }.to_string(),
                "in the CA's renewal window (ARI window 2027-01-08 00:00 UTC..2027-01-10 12:30 UTC)",
            ),
            (
                Reason::NamesChanged { added: strings(&["www.example.com"]), removed: strings(&["old.example.com"]) }.to_string(),
                "names changed: +www.example.com -old.example.com",
            ),
            (
                Reason::NamesChanged { added: strings(&["a.example", "b.example"]), removed: vec![] }.to_string(),
                "names changed: +a.example +b.example",
            ),
            (
                Reason::KeyTypeChanged { from: "rsa-2048".into(), to: "ecdsa-p256".into() }.to_string(),
                "key type changed: rsa-2048 → ecdsa-p256",
            ),
            (
                Decision::Renew(Reason::NamesChanged { added: vec![], removed: strings(&["x.example"]) }).to_string(),
                "due now: names changed: -x.example",
            ),
            (
                keep(datetime!(2027-01-10 05:00 UTC), Basis::Lifetime(Fraction::Third)).to_string(),
                "renew from 2027-01-10 (1/3 of lifetime left)",
            ),
            (keep(datetime!(2027-01-10 05:00 UTC), Basis::Days(1)).to_string(), "renew from 2027-01-10 (1 day before expiry)"),
            (
                keep(datetime!(2027-01-09 14:05 UTC), Basis::Ari { start, end }).to_string(),
                "renew at 2027-01-09 14:05 UTC (ARI window 2027-01-08 00:00 UTC..2027-01-10 12:30 UTC)",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    /// `renew --all` ([`Decision::is_due`]) and the TUI's bulk renew
    /// ([`CertStatus::is_due`]) pick the same certificates.
    #[test]
    fn due_is_one_judgement_for_renew_and_the_dashboard() {
        let names = strings(NAMES);
        let start = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        for renew_days in [Some(30), None] {
            let wanted = Wanted {
                names: &names,
                key_type: P256,
                renew_days,
            };
            for revoked in [false, true] {
                for hour in (0..24 * 100).step_by(7) {
                    let now = start + Duration::hours(hour);
                    let stored = Stored {
                        names: &names,
                        key_type: P256,
                        not_before: start,
                        not_after: start + Duration::days(90),
                        revoked,
                        ari: None,
                    };
                    for view in [None, Some(&stored)] {
                        let d = decide(&wanted, view, now, false);
                        assert_eq!(d.is_due(), d.status().is_due(), "{d:?}");
                    }
                }
            }
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
        // Walk an hour at a time through the last days before each rule's renewal time:
        // whenever the decision is Keep, renewing must still lie ahead.
        let names = strings(NAMES);
        for renew_days in [Some(30), None] {
            let wanted = Wanted {
                names: &names,
                key_type: P256,
                renew_days,
            };
            let stored = Stored {
                names: &names,
                key_type: P256,
                not_before: NOT_BEFORE,
                not_after: NOT_AFTER,
                revoked: false,
                ari: None,
            };
            let mut now = NOT_AFTER - Duration::days(33);
            while now < NOT_AFTER {
                if let Decision::Keep { renew_at, .. } = decide(&wanted, Some(&stored), now, false)
                {
                    assert!(now < renew_at, "kept at {now} past renew_at {renew_at}");
                }
                now += Duration::hours(1);
            }
        }
    }
}
