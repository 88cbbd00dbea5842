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
///
/// # Errors
///
/// When the window ends before it starts, or starts after `not_after`.
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
    use time::Duration;

    #[test]
    fn windows_are_judged_against_their_order_and_the_expiry() {
        let expiry = datetime!(2026-03-10 0:00 UTC);
        // (what, start, end in days from expiry, verdict)
        let cases = [
            ("normal", -9, -7, Ok(())),
            ("zero length", -9, -9, Ok(())),
            ("long past", -2000, -1999, Ok(())),
            ("runs past expiry", -1, 2, Ok(())),
            ("inverted", -7, -9, Err(WindowFault::Inverted)),
            (
                "inverted after expiry",
                700,
                698,
                Err(WindowFault::Inverted),
            ),
            ("starts at expiry", 0, 2, Err(WindowFault::AfterExpiry)),
            ("after expiry", 700, 701, Err(WindowFault::AfterExpiry)),
        ];
        for (what, start, end, want) in cases {
            let (start, end) = (expiry + Duration::days(start), expiry + Duration::days(end));
            assert_eq!(check_window(start, end, expiry), want, "{what}");
        }
    }
}
