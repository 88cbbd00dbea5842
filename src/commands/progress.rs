//! Progress lines of `issue`/`renew` on stderr (and in the log), plus a heartbeat while the
//! records are awaited in a mode that reports no rounds of its own (`recursive`, `wait=`):
//! what is awaited, how long so far, and the limit, so a long wait never looks like a hang.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::acme::{Progress, Step};
use crate::dns::Mode;

/// The longest pause between two heartbeat lines.
const MAX_BEAT: Duration = Duration::from_secs(15);

/// Prints progress; owns the heartbeat of each certificate awaiting its records.
pub(super) struct Printer {
    mode: Mode,
    limit: Duration,
    beats: Mutex<HashMap<String, JoinHandle<()>>>,
}

impl Printer {
    /// A printer for runs in `mode` whose records may take `limit` to appear.
    pub(super) fn new(mode: Mode, limit: Duration) -> Self {
        Self {
            mode,
            limit,
            beats: Mutex::new(HashMap::new()),
        }
    }

    /// Print one step; start or stop the certificate's heartbeat.
    pub(super) fn report(&self, p: Progress) {
        let what = describe(&p.step);
        eprintln!("[{:>6.2}s] {}: {what}", p.elapsed.as_secs_f64(), p.cert);
        // The line, not the step: a propagation round's report can be large.
        tracing::info!(cert = %p.cert, step = %what, "progress");
        let Ok(mut beats) = self.beats.lock() else {
            return;
        };
        if let Some(beat) = beats.remove(&p.cert) {
            beat.abort();
        }
        if let Step::RecordsPublished { records } = &p.step {
            if matches!(self.mode, Mode::Recursive | Mode::Wait(_)) {
                let beat = heartbeat(p.cert.clone(), records.len(), self.mode, self.limit);
                beats.insert(p.cert, beat);
            }
        }
    }
}

impl Printer {
    /// The issuance of `cert` ended (in any way): no more heartbeat.
    pub(super) fn done(&self, cert: &str) {
        if let Some(beat) = self.beats.lock().ok().and_then(|mut b| b.remove(cert)) {
            beat.abort();
        }
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        if let Ok(beats) = self.beats.get_mut() {
            for (_, beat) in beats.drain() {
                beat.abort();
            }
        }
    }
}

/// Every few seconds (a quarter of the limit, 1..=15 s): what is awaited, elapsed, limit.
fn heartbeat(cert: String, records: usize, mode: Mode, limit: Duration) -> JoinHandle<()> {
    let every = (limit / 4).clamp(Duration::from_secs(1), MAX_BEAT);
    let started = Instant::now();
    let (what, bound) = match mode {
        Mode::Wait(pause) => ("the fixed wait (--propagation wait=)".to_owned(), pause),
        _ => (
            format!("{records} TXT record(s) to be visible through the resolvers (recursive mode)"),
            limit,
        ),
    };
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let line = format!(
                "waiting for {what}: {} s of at most {} s",
                started.elapsed().as_secs(),
                bound.as_secs()
            );
            eprintln!("{:>9} {cert}: {line}", "");
            tracing::info!(cert = %cert, "{line}");
        }
    })
}

fn describe(step: &Step) -> String {
    match step {
        Step::AccountReady => "account ready".to_owned(),
        Step::OrderCreated { pending, .. } => {
            format!("order created, {pending} challenge(s) to answer")
        }
        Step::RecordsPublished { records } => format!("{} TXT record(s) published", records.len()),
        Step::Propagation(report) => report.verdict(),
        Step::RecordsVisible => "records visible".to_owned(),
        Step::CacheWait { waits } => cache_wait_line(waits),
        Step::Warning(text) => format!("warning: {text}"),
        Step::ChallengesAnswered => "challenges answered".to_owned(),
        Step::Validated => "validated".to_owned(),
        Step::Finalized => "certificate issued".to_owned(),
        Step::Stored { serial, not_after } => {
            format!("stored (serial {serial}, expires {})", not_after.date())
        }
    }
}

/// The cache-horizon countdown: the longest wait and why.
fn cache_wait_line(waits: &[crate::dns::horizon::CacheWait]) -> String {
    let now = time::OffsetDateTime::now_utc();
    let Some(longest) = waits.iter().max_by_key(|w| w.until) else {
        return "resolver caches: nothing to wait for".to_owned();
    };
    let left = longest.remaining(now).as_secs();
    let more = match waits.len() {
        1 => String::new(),
        n => format!(" (and {} more name(s))", n - 1),
    };
    format!(
        "waiting {left} s more for resolver caches before asking the CA: {}{more}",
        longest.reason(now)
    )
}
