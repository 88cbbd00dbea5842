//! The cache horizon: until when a CA's recursive resolver may still hold an answer for a
//! challenge name that lacks the value about to be validated.
//!
//! A resolver keeps an answer for its TTL from the moment it fetched it. That moment is
//! unknown in general, but certpilot knows when it last triggered a fetch itself: every time
//! it answers a challenge, the CA looks the name up. So each answer is written to a small
//! ledger (`state/lookups/<owner>.json`: when, and the TTL the CA was served), and before
//! the next challenge at the same name is answered, certpilot waits until that cached
//! answer has expired. A name certpilot never had validated costs no wait.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::fsutil;

/// When a run was killed after answering a challenge, the CA fetched the name at most this
/// long after the answer (CAs validate within seconds; Let's Encrypt within a minute).
const UNSETTLED_BOUND: Duration = Duration::from_secs(120);

/// Resolvers count TTLs in whole seconds: an answer fetched at 10.9 s with TTL 8 may still be
/// served at 18.99 s.
const CLOCK_SLACK: Duration = Duration::from_secs(1);

/// A TXT TTL above this is worth a warning: every retry of a failed validation waits as long.
pub const LARGE_TTL: u32 = 300;

/// The last fetch of a challenge name that certpilot caused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lookup {
    /// When the CA fetched it at the latest: the end of that validation (`settled`), or the
    /// moment the challenge was answered (the run did not see the end).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The longest time a resolver may keep what it was served (TTL, or the negative TTL
    /// when the validation may have met a missing record).
    pub ttl: u32,
    /// Whether `at` is the end of the validation.
    pub settled: bool,
}

impl Lookup {
    /// Until when a resolver honouring TTLs may hold the answer it got then.
    #[must_use]
    pub fn cached_until(&self, now: OffsetDateTime) -> OffsetDateTime {
        let fetched = if self.settled {
            self.at
        } else {
            now.min(self.at + UNSETTLED_BOUND)
        };
        fetched + Duration::from_secs(u64::from(self.ttl)) + CLOCK_SLACK
    }
}

/// One name whose previous answer may still be cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheWait {
    /// The challenge name (`_acme-challenge.example.com`).
    pub owner: String,
    /// The TTL it was served with.
    pub ttl: u32,
    /// Until when a resolver may hold it (capped by the setting).
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// Whether the cap cut the wait short (the CA may still see the old answer).
    pub capped: bool,
}

impl CacheWait {
    /// Seconds left at `now`.
    #[must_use]
    pub fn remaining(&self, now: OffsetDateTime) -> Duration {
        Duration::try_from(self.until - now).unwrap_or(Duration::ZERO)
    }

    /// Why certpilot waits, for screens and logs.
    #[must_use]
    pub fn reason(&self, now: OffsetDateTime) -> String {
        let capped = if self.capped {
            " (capped by settings.max_cache_wait: the CA may still see the old answer)"
        } else {
            ""
        };
        format!(
            "{}: certpilot's last validation there was served with TTL {} s; a resolver may hold that answer {} s more{capped}",
            self.owner,
            self.ttl,
            self.remaining(now).as_secs()
        )
    }
}

/// The ledger of the fetches certpilot caused, one small file per challenge name.
#[derive(Debug, Clone)]
pub struct Ledger {
    dir: PathBuf,
}

/// Why the ledger could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot record the lookup of {owner} in {}: {source}", .path.display())]
pub struct LedgerError {
    owner: String,
    path: PathBuf,
    source: std::io::Error,
}

fn file_name(owner: &str) -> String {
    let owner = owner.trim_end_matches('.').to_ascii_lowercase();
    let safe: String = owner
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '%',
        })
        .collect();
    format!("{safe}.json")
}

impl Ledger {
    /// The ledger under `state_dir`.
    #[must_use]
    pub fn new(state_dir: &Path) -> Self {
        Self {
            dir: state_dir.join("lookups"),
        }
    }

    /// The last lookup of `owner` certpilot caused; `None` when there was none (or its file
    /// is unreadable: a wait certpilot cannot justify is not made).
    #[must_use]
    pub fn load(&self, owner: &str) -> Option<Lookup> {
        let text = std::fs::read_to_string(self.dir.join(file_name(owner))).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Record that `owner` was (or is being) fetched by the CA now, served with `ttl`.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record(&self, owner: &str, ttl: u32, settled: bool) -> Result<(), LedgerError> {
        let path = self.dir.join(file_name(owner));
        let lookup = Lookup {
            at: OffsetDateTime::now_utc(),
            ttl,
            settled,
        };
        let error = |source| LedgerError {
            owner: owner.to_owned(),
            path: path.clone(),
            source,
        };
        fsutil::create_private_dir(&self.dir).map_err(error)?;
        let text = serde_json::to_vec_pretty(&lookup).map_err(|e| error(e.into()))?;
        fsutil::write_atomic(&path, &text, fsutil::Mode::Private).map_err(error)
    }

    /// The names among `owners` whose previous answer may still be cached at `now`, each
    /// wait capped at `cap`.
    #[must_use]
    pub fn horizon(&self, owners: &[String], now: OffsetDateTime, cap: Duration) -> Vec<CacheWait> {
        let mut waits: Vec<CacheWait> = owners
            .iter()
            .filter_map(|owner| Some((owner, self.load(owner)?)))
            .filter_map(|(owner, lookup)| wait_for(owner, &lookup, now, cap))
            .collect();
        waits.dedup_by(|a, b| a.owner == b.owner);
        waits
    }
}

/// The wait `lookup` imposes at `now`, if any.
#[must_use]
pub fn wait_for(
    owner: &str,
    lookup: &Lookup,
    now: OffsetDateTime,
    cap: Duration,
) -> Option<CacheWait> {
    let until = lookup.cached_until(now);
    if until <= now {
        return None;
    }
    let limit = now + cap;
    Some(CacheWait {
        owner: owner.trim_end_matches('.').to_owned(),
        ttl: lookup.ttl,
        until: until.min(limit),
        capped: until > limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn waits_follow_the_last_fetch_and_its_ttl() {
        let now = datetime!(2026-12-06 12:00:00 UTC);
        let cap = Duration::from_secs(900);
        let at = |secs_ago: i64, ttl: u32, settled: bool| Lookup {
            at: now - time::Duration::seconds(secs_ago),
            ttl,
            settled,
        };
        // (lookup, seconds still to wait, capped)
        let cases = [
            (at(10, 300, true), Some(291), false),
            (at(301, 300, true), None, false),
            (at(400, 300, true), None, false),
            (at(1, 4, true), Some(4), false),
            // Killed after answering: the CA fetched between then and now (at most 120 s on).
            (at(5, 60, false), Some(61), false),
            (at(200, 60, false), None, false),
            (at(150, 60, false), Some(31), false),
            // A negative answer that may live an hour, capped at 15 minutes.
            (at(0, 3600, true), Some(900), true),
        ];
        for (lookup, want, capped) in cases {
            let wait = wait_for("_acme-challenge.example.test.", &lookup, now, cap);
            assert_eq!(
                wait.as_ref().map(|w| w.remaining(now).as_secs()),
                want,
                "{lookup:?}"
            );
            if let Some(wait) = wait {
                assert_eq!(wait.capped, capped, "{lookup:?}");
                assert_eq!(wait.owner, "_acme-challenge.example.test");
                assert!(wait.reason(now).contains(&format!("TTL {} s", lookup.ttl)));
            }
        }
    }

    #[test]
    fn the_ledger_round_trips_and_forgets_nothing_it_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path());
        let owner = "_acme-challenge.Example.TEST.".to_owned();
        assert_eq!(ledger.load(&owner), None);
        assert!(ledger
            .horizon(
                std::slice::from_ref(&owner),
                OffsetDateTime::now_utc(),
                Duration::from_secs(60)
            )
            .is_empty());
        ledger.record(&owner, 30, true).unwrap();
        let lookup = ledger.load("_acme-challenge.example.test").unwrap();
        assert_eq!((lookup.ttl, lookup.settled), (30, true));
        let waits = ledger.horizon(&[owner], OffsetDateTime::now_utc(), Duration::from_secs(60));
        assert_eq!(waits.len(), 1);
        assert!(waits[0].remaining(OffsetDateTime::now_utc()) <= Duration::from_secs(31));
        std::fs::write(dir.path().join("lookups/broken.json"), "{").unwrap();
        assert_eq!(ledger.load("broken"), None);
    }
}
