//! Resource limits of the server: the open-file limit raised at start, per-protocol
//! connection caps that refuse gracefully, and rate-limited warnings when a limit is hit (so a
//! flood leaves a trace in the log without flooding the log itself).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Descriptors kept free for the database, log files, UDP sockets and listeners.
const RESERVED_DESCRIPTORS: u64 = 128;

/// How often at most one kind of limit event is logged.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The largest soft limit asked for when the hard limit is "unlimited".
const UNLIMITED_TARGET: u64 = 1 << 20;

/// Raise the soft open-file limit to the hard limit (many runtimes do this; a default soft
/// limit of 1,024 is far below what a server with thousands of TCP clients needs). Returns
/// the soft limit in effect afterwards, `None` when it cannot be read.
#[cfg(unix)]
pub(crate) fn raise_open_files() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let target = limit.maximum.unwrap_or(UNLIMITED_TARGET);
    match limit.current {
        Some(current) if current >= target => return Some(current),
        None => return Some(u64::MAX),
        Some(_) => {}
    }
    let raised = Rlimit {
        current: Some(target),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => {
            tracing::info!(from = ?limit.current, to = target, "raised the open-file limit");
            Some(target)
        }
        Err(error) => {
            tracing::warn!(%error, soft = ?limit.current, "cannot raise the open-file limit");
            limit.current
        }
    }
}

/// Without rlimits there is nothing to raise.
#[cfg(not(unix))]
pub(crate) fn raise_open_files() -> Option<u64> {
    None
}

/// Scale the configured caps down so that together they fit in `open_files` (minus a reserve):
/// a cap above the descriptor limit would turn refusals into failed `accept` calls.
pub(crate) fn fit_caps(open_files: Option<u64>, caps: &mut [&mut usize]) {
    let Some(limit) = open_files else { return };
    let budget = limit
        .saturating_sub(RESERVED_DESCRIPTORS)
        .max(caps.len() as u64);
    let total: u64 = caps.iter().map(|c| **c as u64).sum();
    if total <= budget {
        return;
    }
    for cap in caps.iter_mut() {
        let scaled = (**cap as u64).saturating_mul(budget) / total.max(1);
        let scaled = usize::try_from(scaled.max(1)).unwrap_or(usize::MAX);
        tracing::warn!(
            configured = **cap,
            used = scaled,
            open_files = limit,
            "connection cap lowered to fit the open-file limit"
        );
        **cap = scaled;
    }
}

/// A cap on concurrent connections of one listener kind.
#[derive(Clone)]
pub(crate) struct ConnectionCap {
    slots: Arc<Semaphore>,
    max: usize,
    refused: Arc<LimitLog>,
}

impl ConnectionCap {
    /// Up to `max` connections of `protocol` (named in the log) at once.
    pub fn new(protocol: &'static str, max: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max.max(1))),
            max: max.max(1),
            refused: Arc::new(LimitLog::new(protocol, "connections refused at the cap")),
        }
    }

    /// A slot for one connection (held until dropped), or `None` at the cap (logged).
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        let permit = Arc::clone(&self.slots).try_acquire_owned().ok();
        if permit.is_none() {
            self.refused.hit(self.max);
        }
        permit
    }
}

/// Pause after a failed `accept` (out of descriptors): the pending connection stays in the
/// backlog, and trying again at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The next connection on `listener`; a failed accept is logged to `failed` and retried after
/// a pause. Cancel-safe (for `select!` with a stop signal).
async fn accept(
    listener: &tokio::net::TcpListener,
    failed: &LimitLog,
) -> (tokio::net::TcpStream, std::net::SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(error) => {
                failed.hit(error);
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Resolves when `stop` turns true or its sender is gone (then stop as well).
async fn stop_signal(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _stopped = stop.wait_for(|stop| *stop).await.map(|_| ());
}

/// A listener's connections until the stop signal.
pub(crate) struct Acceptor {
    listener: tokio::net::TcpListener,
    failed: LimitLog,
    stopped: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
}

impl Acceptor {
    /// Accept on `listener` (failures logged under `protocol`) until `stop` turns true.
    pub fn new(
        listener: tokio::net::TcpListener,
        protocol: &'static str,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        Self {
            listener,
            failed: LimitLog::new(protocol, "accept failed (open-file limit?)"),
            stopped: Box::pin(stop_signal(stop)),
        }
    }

    /// The next connection, or `None` once stopped.
    pub async fn next(&mut self) -> Option<(tokio::net::TcpStream, std::net::SocketAddr)> {
        tokio::select! {
            accepted = accept(&self.listener, &self.failed) => Some(accepted),
            () = &mut self.stopped => None,
        }
    }
}

/// Counts events of one kind and logs a warning at most every [`LOG_INTERVAL`].
pub(crate) struct LimitLog {
    protocol: &'static str,
    what: &'static str,
    count: AtomicU64,
    last: Mutex<Option<Instant>>,
}

impl LimitLog {
    /// Events of `what` on `protocol`, e.g. ("HTTP", "connections refused at the cap").
    pub fn new(protocol: &'static str, what: &'static str) -> Self {
        Self {
            protocol,
            what,
            count: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }

    /// Record one event; `limit` is the value that was hit (shown in the log).
    pub fn hit(&self, limit: impl std::fmt::Display) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < LOG_INTERVAL) {
            return;
        }
        *last = Some(Instant::now());
        let count = self.count.swap(0, Ordering::Relaxed);
        tracing::warn!(
            protocol = self.protocol,
            limit = %limit,
            count,
            "limit hit: {}", self.what
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_shrink_to_fit_the_descriptor_limit() {
        let (mut http, mut dns) = (4096, 4096);
        fit_caps(Some(1152), &mut [&mut http, &mut dns]);
        assert_eq!((http, dns), (512, 512));
        let (mut http, mut dns) = (100, 300);
        fit_caps(Some(20_000), &mut [&mut http, &mut dns]);
        assert_eq!((http, dns), (100, 300));
        fit_caps(None, &mut [&mut http]);
        assert_eq!(http, 100);
    }

    #[test]
    fn the_cap_refuses_beyond_max_and_frees_on_drop() {
        let cap = ConnectionCap::new("test", 2);
        let a = cap.admit().expect("first");
        let _b = cap.admit().expect("second");
        assert!(cap.admit().is_none());
        drop(a);
        assert!(cap.admit().is_some());
    }
}
