//! What one process shares per CA (by host and port), whatever account or order asks:
//!
//! - the bound on requests in flight (`settings.ca_max_requests`);
//! - the request rate (`settings.ca_max_rate`, a token bucket with half a second's worth of
//!   burst), because a bound on requests in flight is not a bound on their rate: 16 in flight
//!   at a 10 ms round trip would be 1,600 requests/s, far over what CAs allow (Let's Encrypt:
//!   250/s per address, burst 125);
//! - `newNonce` at most [`NEW_NONCE_RATE`]/s (burst [`NEW_NONCE_BURST`]), Let's Encrypt's
//!   own limit for that endpoint;
//! - one pool of nonces. A nonce is good for any request to its CA, so the nonces that come
//!   back with concurrent requests serve every order of the process, and instant-acme's own
//!   `newNonce` requests are answered from the pool when it has one: ten orders in parallel
//!   then cost a handful of `newNonce` round trips, not one per order and request;
//! - the directory, fetched once per [`DIRECTORY_TTL`] instead of by every account restore,
//!   signer and CAA check.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http::{HeaderMap, StatusCode};
use tokio::sync::Semaphore;

/// `newNonce` requests per second to one CA, at most.
pub const NEW_NONCE_RATE: u32 = 20;
/// `newNonce` requests sent at once before [`NEW_NONCE_RATE`] applies.
pub const NEW_NONCE_BURST: u32 = 10;
/// How long a fetched directory is used before it is fetched again.
pub const DIRECTORY_TTL: Duration = Duration::from_secs(600);
/// Nonces older than this are dropped: a CA forgets the nonces it issued after a while, and
/// a stale one costs a `badNonce` round trip.
const NONCE_MAX_AGE: Duration = Duration::from_secs(60);
/// Nonces kept at most: more than a full round of requests in flight.
const POOL_MAX: usize = 64;

/// The bounds one process keeps to with each CA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Requests in flight at once.
    pub in_flight: usize,
    /// Requests per second.
    pub rate: u32,
}

impl Limits {
    /// The limits `settings` asks for.
    #[must_use]
    pub fn of(settings: &crate::config::Settings) -> Self {
        Self {
            in_flight: settings.ca_max_requests.max(1),
            rate: settings.ca_max_rate.max(1),
        }
    }
}

/// The state shared by every request to one CA.
pub struct CaShared {
    limits: Limits,
    slots: Arc<Semaphore>,
    rate: DefaultDirectRateLimiter,
    new_nonce_rate: DefaultDirectRateLimiter,
    nonces: Mutex<VecDeque<(Instant, String)>>,
    /// Woken when a nonce is kept, for a request waiting for one.
    kept: tokio::sync::Notify,
    directories: Mutex<HashMap<String, CachedDirectory>>,
    warming: tokio::sync::Mutex<()>,
}

/// A directory answer as the CA sent it.
#[derive(Clone)]
pub struct CachedDirectory {
    pub fetched: Instant,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl std::fmt::Debug for CaShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaShared")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The shared state of the CA at `authority` (host:port). The first request to a CA sets its
/// limits: one process has one `settings`.
pub fn of(authority: &str, limits: Limits) -> Arc<CaShared> {
    static ALL: OnceLock<Mutex<HashMap<String, Arc<CaShared>>>> = OnceLock::new();
    let mut all = ALL
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    Arc::clone(
        all.entry(authority.to_owned())
            .or_insert_with(|| Arc::new(CaShared::new(limits))),
    )
}

fn per_second(rate: u32, burst: u32) -> DefaultDirectRateLimiter {
    let rate = NonZeroU32::new(rate.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
}

impl CaShared {
    fn new(limits: Limits) -> Self {
        Self {
            limits,
            slots: Arc::new(Semaphore::new(limits.in_flight.max(1))),
            rate: per_second(limits.rate, limits.rate / 2),
            new_nonce_rate: per_second(NEW_NONCE_RATE, NEW_NONCE_BURST),
            nonces: Mutex::default(),
            kept: tokio::sync::Notify::new(),
            directories: Mutex::default(),
            warming: tokio::sync::Mutex::new(()),
        }
    }

    /// The limits this CA is held to (those of the first client to reach it).
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Wait until a request may be sent (rate, and `newNonce`'s own rate for a `new_nonce`
    /// request), then hold a slot for it until the returned permit is dropped.
    pub async fn admit(&self, new_nonce: bool) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.pace(new_nonce).await;
        self.slot().await
    }

    /// Wait until the rates allow one more request (`newNonce`'s own rate too for a
    /// `new_nonce` request whose turn was not taken already, see [`Self::nonce_or_turn`]).
    pub async fn pace(&self, new_nonce: bool) {
        if new_nonce {
            self.new_nonce_rate.until_ready().await;
        }
        self.rate.until_ready().await;
    }

    /// Hold one of the CA's slots for requests in flight until the permit is dropped.
    pub async fn slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        // Never closed, so acquiring only waits.
        Arc::clone(&self.slots).acquire_owned().await.ok()
    }

    /// Keep a nonce for a later request; a full pool drops its oldest.
    pub fn keep_nonce(&self, nonce: String) {
        let mut pool = self.nonces.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() >= POOL_MAX {
            pool.pop_front();
        }
        pool.push_back((Instant::now(), nonce));
        drop(pool);
        self.kept.notify_one();
    }

    /// A nonce for a request that has its slot: from the pool, else whichever comes first,
    /// one coming back with another request's answer or `newNonce`'s turn (`None`: ask
    /// `newNonce` now, its rate already paid). On loopback, answers bring nonces back within
    /// milliseconds, where `newNonce` at 20/s would make the 11th request of a burst wait
    /// 50 ms, the 16th 300 ms.
    pub async fn nonce_or_turn(&self) -> Option<String> {
        loop {
            if let Some(nonce) = self.take_nonce() {
                return Some(nonce);
            }
            tokio::select! {
                biased;
                () = self.kept.notified() => {}
                () = self.new_nonce_rate.until_ready() => return None,
            }
        }
    }

    /// The newest nonce in the pool (the likeliest to be still good), if any.
    pub fn take_nonce(&self) -> Option<String> {
        let mut pool = self.nonces.lock().unwrap_or_else(PoisonError::into_inner);
        pool.retain(|(kept, _)| kept.elapsed() < NONCE_MAX_AGE);
        pool.pop_back().map(|(_, nonce)| nonce)
    }

    /// Nonces in the pool now.
    #[must_use]
    pub fn pooled(&self) -> usize {
        self.nonces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Held while the pool is being filled, so that orders starting together fill it once.
    pub async fn warming(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.warming.lock().await
    }

    /// The directory at `url`, if it was fetched less than [`DIRECTORY_TTL`] ago.
    #[must_use]
    pub fn directory(&self, url: &str) -> Option<CachedDirectory> {
        let dirs = self
            .directories
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        dirs.get(url)
            .filter(|c| c.fetched.elapsed() < DIRECTORY_TTL)
            .cloned()
    }

    /// Remember the answer to `GET url` if it is a directory (a JSON object naming
    /// `newNonce`); other GETs (`renewalInfo`) are never kept.
    pub fn keep_if_directory(
        &self,
        url: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
    ) {
        if status != StatusCode::OK {
            return;
        }
        let is_directory = serde_json::from_slice::<serde_json::Value>(body)
            .is_ok_and(|v| v.get("newNonce").is_some_and(serde_json::Value::is_string));
        if !is_directory {
            return;
        }
        let cached = CachedDirectory {
            fetched: Instant::now(),
            status,
            headers: headers.clone(),
            body: body.clone(),
        };
        self.directories
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(url.to_owned(), cached);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        in_flight: 2,
        rate: 1000,
    };

    #[test]
    fn the_newest_nonce_is_used_first_and_the_pool_is_bounded() {
        let ca = CaShared::new(LIMITS);
        for i in 0..POOL_MAX + 5 {
            ca.keep_nonce(format!("n{i}"));
        }
        assert_eq!(ca.pooled(), POOL_MAX);
        assert_eq!(ca.take_nonce().as_deref(), Some("n68"));
        assert_eq!(ca.take_nonce().as_deref(), Some("n67"));
    }

    #[test]
    fn only_directories_are_cached() {
        let ca = CaShared::new(LIMITS);
        let headers = HeaderMap::new();
        let dir = Bytes::from_static(br#"{"newNonce":"https://ca.test/nonce"}"#);
        let window = Bytes::from_static(br#"{"suggestedWindow":{}}"#);
        ca.keep_if_directory("https://ca.test/dir", StatusCode::OK, &headers, &dir);
        ca.keep_if_directory("https://ca.test/ari/x", StatusCode::OK, &headers, &window);
        ca.keep_if_directory(
            "https://ca.test/d2",
            StatusCode::SERVICE_UNAVAILABLE,
            &headers,
            &dir,
        );
        assert_eq!(
            ca.directory("https://ca.test/dir").map(|c| c.body),
            Some(dir)
        );
        assert!(ca.directory("https://ca.test/ari/x").is_none());
        assert!(ca.directory("https://ca.test/d2").is_none());
    }

    #[tokio::test]
    async fn a_returned_nonce_serves_a_request_waiting_for_newnonces_turn() {
        let ca = Arc::new(CaShared::new(LIMITS));
        // The burst is spent: the next turn is 50 ms away.
        for _ in 0..NEW_NONCE_BURST {
            ca.pace(true).await;
        }
        let waiting = tokio::spawn({
            let ca = Arc::clone(&ca);
            async move { ca.nonce_or_turn().await }
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        ca.keep_nonce("back".to_owned());
        assert_eq!(waiting.await.unwrap().as_deref(), Some("back"));
        // Nothing comes back: newNonce's turn comes.
        assert_eq!(ca.nonce_or_turn().await, None);
    }

    #[tokio::test]
    async fn new_nonce_requests_keep_to_their_own_rate() {
        let ca = CaShared::new(LIMITS);
        let started = Instant::now();
        // The burst goes at once; two more need a twentieth of a second each.
        for _ in 0..NEW_NONCE_BURST + 2 {
            drop(ca.admit(true).await);
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(90), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
}
