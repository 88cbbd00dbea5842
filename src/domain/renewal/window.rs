//! Which ARI windows are trusted. A CA's suggested window steers renewal only when it makes
//! sense for the certificate: RFC 9773 §4.2 says a window whose end is before its start
//! MUST be treated as if no answer were given, and a window that begins only after the
//! certificate has expired would let it lapse (renewal must come before expiry, whatever
//! the CA suggests). Either way the lifetime rule decides and the operator is warned.

use std::fmt;

use time::OffsetDateTime;

/// Why a CA's ARI window is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowFault {
    /// The window ends before it starts.
    Inverted,
    /// The window starts at or after the certificate's `notAfter`.
    AfterExpiry,
}

impl fmt::Display for WindowFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WindowFault::Inverted => "it ends before it starts (RFC 9773: treated as no answer)",
            WindowFault::AfterExpiry => "it starts after the certificate expires",
        })
    }
}

/// Whether the window `start`–`end` may steer the renewal of a certificate expiring at
/// `not_after`.
pub fn check_window(
    start: OffsetDateTime,
    end: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<(), WindowFault> {
    if end < start {
        Err(WindowFault::Inverted)
    } else if start >= not_after {
        Err(WindowFault::AfterExpiry)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn windows_are_judged_against_their_order_and_the_expiry() {
        let expiry = datetime!(2026-03-10 0:00 UTC);
        let cases = [
            (
                "normal",
                (
                    datetime!(2026-03-01 0:00 UTC),
                    datetime!(2026-03-03 0:00 UTC),
                ),
                Ok(()),
            ),
            (
                "zero length",
                (
                    datetime!(2026-03-01 0:00 UTC),
                    datetime!(2026-03-01 0:00 UTC),
                ),
                Ok(()),
            ),
            (
                "past",
                (
                    datetime!(2020-01-01 0:00 UTC),
                    datetime!(2020-01-02 0:00 UTC),
                ),
                Ok(()),
            ),
            (
                "runs past expiry",
                (
                    datetime!(2026-03-09 0:00 UTC),
                    datetime!(2026-03-12 0:00 UTC),
                ),
                Ok(()),
            ),
            (
                "inverted",
                (
                    datetime!(2026-03-03 0:00 UTC),
                    datetime!(2026-03-01 0:00 UTC),
                ),
                Err(WindowFault::Inverted),
            ),
            (
                "inverted after expiry",
                (
                    datetime!(2028-03-03 0:00 UTC),
                    datetime!(2028-03-01 0:00 UTC),
                ),
                Err(WindowFault::Inverted),
            ),
            (
                "starts at expiry",
                (expiry, datetime!(2026-03-12 0:00 UTC)),
                Err(WindowFault::AfterExpiry),
            ),
            (
                "after expiry",
                (
                    datetime!(2028-01-01 0:00 UTC),
                    datetime!(2028-01-02 0:00 UTC),
                ),
                Err(WindowFault::AfterExpiry),
            ),
        ];
        for (what, (start, end), want) in cases {
            assert_eq!(check_window(start, end, expiry), want, "{what}");
        }
    }
}
