//! A tracing layer that forwards events to the UI's log pane through a bounded channel.
//!
//! It never blocks and never prints: when the UI falls behind, events are dropped (and
//! counted) rather than slowing the code that logs. The log file keeps everything.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// How many events may wait for the UI before new ones are dropped.
pub const CAPACITY: usize = 256;

/// Severity, as the log pane colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// `ERROR`
    Error,
    /// `WARN`
    Warn,
    /// `INFO`
    Info,
    /// `DEBUG` and `TRACE`
    Debug,
}

impl Severity {
    /// Five-letter label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Warn => "WARN ",
            Severity::Info => "INFO ",
            Severity::Debug => "DEBUG",
        }
    }
}

/// One event for the log pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// UTC time of day, `HH:MM:SS`.
    pub time: String,
    /// Severity.
    pub severity: Severity,
    /// The module that logged it.
    pub target: String,
    /// The message followed by its fields as `key=value`.
    pub text: String,
}

/// The layer; cheap to clone.
#[derive(Debug, Clone)]
pub struct UiLayer {
    tx: mpsc::Sender<LogLine>,
    dropped: Arc<AtomicU64>,
}

impl UiLayer {
    /// A layer and the receiving end for the UI.
    #[must_use]
    pub fn new() -> (Self, mpsc::Receiver<LogLine>) {
        let (tx, rx) = mpsc::channel(CAPACITY);
        let layer = Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        (layer, rx)
    }

    /// Events dropped because the channel was full.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl<S: Subscriber> Layer<S> for UiLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut visitor = Fields::default();
        event.record(&mut visitor);
        let severity = match *meta.level() {
            Level::ERROR => Severity::Error,
            Level::WARN => Severity::Warn,
            Level::INFO => Severity::Info,
            _ => Severity::Debug,
        };
        let now = OffsetDateTime::now_utc();
        let line = LogLine {
            time: format!("{:02}:{:02}:{:02}", now.hour(), now.minute(), now.second()),
            severity,
            target: meta.target().to_owned(),
            text: visitor.finish(),
        };
        if self.tx.try_send(line).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Fields {
    fn finish(self) -> String {
        match (self.message.is_empty(), self.rest.is_empty()) {
            (_, true) => self.message,
            (true, false) => self.rest,
            (false, false) => format!("{} {}", self.message, self.rest),
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.push(field, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.push(field, &format!("{value:?}"));
        }
    }
}

impl Fields {
    fn push(&mut self, field: &Field, value: &str) {
        if !self.rest.is_empty() {
            self.rest.push(' ');
        }
        let _ = write!(self.rest, "{}={value}", field.name());
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[test]
    fn forwards_events_and_drops_when_full() {
        let (layer, mut rx) = UiLayer::new();
        let subscriber = tracing_subscriber::registry().with(layer.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(cert = "web", "issued");
            tracing::warn!("slow");
            for n in 0..CAPACITY {
                tracing::debug!(n, "flood");
            }
        });
        let first = rx.try_recv().unwrap();
        assert_eq!(first.severity, Severity::Info);
        assert_eq!(first.text, "issued cert=web");
        assert_eq!(first.time.len(), 8);
        assert_eq!(rx.try_recv().unwrap().text, "slow");
        assert_eq!(layer.dropped(), 2);
    }
}
