//! The app loop: terminal events, load results and (only while loading) a tick go through
//! `update`; its effects are run here; the screen is drawn only when something changed.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::tui::action::Action;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::update::{update, Effect, Msg};
use crate::tui::views;
use crate::tui::Loader;

/// How often the spinner moves while a load runs.
const TICK: Duration = Duration::from_millis(100);

/// A finished load, as sent back by its task.
struct LoadDone {
    request: u64,
    result: Result<Vec<crate::inventory::CertRow>, String>,
    /// The loader panicked: the panic hook has already restored the terminal.
    panicked: bool,
}

/// Owns the terminal for the life of the dashboard and restores it on every way out,
/// including early returns and unwinding; ratatui's panic hook covers the panic itself.
struct TerminalGuard {
    terminal: DefaultTerminal,
    restored: bool,
}

impl TerminalGuard {
    fn enter() -> io::Result<Self> {
        Ok(Self {
            terminal: ratatui::try_init()?,
            restored: false,
        })
    }

    fn restore(mut self) -> io::Result<()> {
        self.restored = true;
        ratatui::try_restore()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if !self.restored {
            // Best effort: we are already leaving on an error path.
            let _ = ratatui::try_restore();
        }
    }
}

/// Enter the terminal, run the loop, and restore the terminal whatever happened.
pub async fn run(theme: Theme, load: Loader) -> io::Result<()> {
    let mut guard = TerminalGuard::enter()?;
    let result = event_loop(&mut guard.terminal, &theme, &load).await;
    let restored = guard.restore();
    result.and(restored)
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    theme: &Theme,
    load: &Loader,
) -> io::Result<()> {
    let mut state = State::new();
    let mut events = EventStream::new();
    let (load_tx, mut load_rx) = mpsc::unbounded_channel::<LoadDone>();
    let mut jobs = Jobs {
        load: Arc::clone(load),
        tx: load_tx,
        current: None,
    };
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut stop = StopSignals::new()?;

    let mut dirty = true;
    let mut msg = Some(Msg::Action(Action::Reload));
    loop {
        if let Some(msg) = msg.take() {
            for effect in update(&mut state, msg) {
                match effect {
                    Effect::Load { request } => jobs.start_load(request),
                    Effect::Quit => return Ok(()),
                }
            }
            dirty = true;
        }
        if dirty {
            terminal.draw(|frame| views::render(frame, &state, theme))?;
            dirty = false;
        }
        msg = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => Some(Msg::Key(key)),
                Some(Ok(Event::Resize(..))) => {
                    dirty = true;
                    None
                }
                Some(Ok(_)) => None,
                Some(Err(err)) => return Err(err),
                // The terminal went away: nothing left to show.
                None => return Ok(()),
            },
            Some(done) = load_rx.recv() => {
                if done.panicked {
                    reenter(terminal)?;
                }
                Some(Msg::Loaded { request: done.request, result: done.result })
            }
            _ = tick.tick(), if state.is_loading() => Some(Msg::Tick),
            () = stop.recv() => return Ok(()),
        };
    }
}

/// Runs effects as tasks and tags their answers.
struct Jobs {
    load: Loader,
    tx: mpsc::UnboundedSender<LoadDone>,
    current: Option<JoinHandle<()>>,
}

impl Jobs {
    /// Start a load, dropping interest in a superseded one (its answer would be stale anyway).
    fn start_load(&mut self, request: u64) {
        if let Some(previous) = self.current.take() {
            previous.abort();
        }
        let load = Arc::clone(&self.load);
        let tx = self.tx.clone();
        self.current = Some(tokio::spawn(async move {
            let done = match tokio::task::spawn_blocking(move || load()).await {
                Ok(result) => LoadDone {
                    request,
                    result,
                    panicked: false,
                },
                Err(err) => LoadDone {
                    request,
                    result: Err(format!("reading the certificates failed: {err}")),
                    panicked: err.is_panic(),
                },
            };
            // The receiver is gone only when the dashboard is closing.
            let _ = tx.send(done);
        }));
    }
}

/// Take the screen back after the panic hook restored it for a panicking loader.
fn reenter(terminal: &mut DefaultTerminal) -> io::Result<()> {
    crossterm::terminal::enable_raw_mode()?;
    crossterm::execute!(io::stdout(), crossterm::terminal::EnterAlternateScreen)?;
    terminal.clear()
}

/// SIGTERM, SIGHUP and SIGINT end the dashboard through the normal exit path, so the terminal
/// is restored even when the process is told to stop from outside.
struct StopSignals {
    #[cfg(unix)]
    signals: Vec<tokio::signal::unix::Signal>,
}

impl StopSignals {
    #[cfg(unix)]
    fn new() -> io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        let kinds = [
            SignalKind::terminate(),
            SignalKind::hangup(),
            SignalKind::interrupt(),
        ];
        let signals = kinds.into_iter().map(signal).collect::<io::Result<_>>()?;
        Ok(Self { signals })
    }

    #[cfg(not(unix))]
    #[allow(clippy::unnecessary_wraps)]
    fn new() -> io::Result<Self> {
        Ok(Self {})
    }

    #[cfg(unix)]
    async fn recv(&mut self) {
        let waits = self.signals.iter_mut().map(|s| Box::pin(s.recv()));
        futures::future::select_all(waits).await;
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) {
        // Ctrl-C arrives as a key event in raw mode; nothing else to wait for.
        let _ = tokio::signal::ctrl_c().await;
    }
}
