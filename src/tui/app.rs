//! The app loop: terminal input, job answers, log events and (only while something
//! animates) a tick go through `update`; its effects are run here; the screen is drawn only
//! when something changed, once per batch of messages.

use std::collections::VecDeque;
use std::io::{self, Write as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event, EventStream};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::mpsc;

use crate::jobs::logs::LogLine;
use crate::jobs::{self, Context, Runner};
use crate::tui::action::Action;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::update::{update, Effect, Msg};
use crate::tui::views;

/// How often the spinner and elapsed times move while something runs.
const TICK: Duration = Duration::from_millis(100);
/// Terminal events waiting for the loop; the reader waits when it is full.
const INPUT_QUEUE: usize = 64;
/// How long quitting waits for issuances to remove their records.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// What the loop starts with.
pub struct Setup {
    /// Initial state (keymap, theme names).
    pub state: State,
    /// Themes, in the order of `state.themes`.
    pub themes: Vec<Theme>,
    /// What jobs need.
    pub ctx: Arc<Context>,
    /// Tracing events for the log pane.
    pub logs: mpsc::Receiver<LogLine>,
}

/// Owns the terminal for the life of the UI and restores it on every way out, including
/// early returns and unwinding; the panic hook covers panics in any thread.
struct TerminalGuard {
    terminal: DefaultTerminal,
    restored: bool,
}

impl TerminalGuard {
    fn enter() -> io::Result<Self> {
        let terminal = ratatui::try_init()?;
        // ratatui's hook restores raw mode and the screen; mouse reporting must stop too.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = crossterm::execute!(io::stdout(), DisableMouseCapture);
            previous(info);
        }));
        crossterm::execute!(io::stdout(), EnableMouseCapture)?;
        Ok(Self {
            terminal,
            restored: false,
        })
    }

    fn restore(mut self) -> io::Result<()> {
        self.restored = true;
        let mouse = crossterm::execute!(io::stdout(), DisableMouseCapture);
        ratatui::try_restore().and(mouse)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if !self.restored {
            // Best effort: we are already leaving on an error path.
            let _ = crossterm::execute!(io::stdout(), DisableMouseCapture);
            let _ = ratatui::try_restore();
        }
    }
}

/// Enter the terminal, run the loop, and restore the terminal whatever happened.
pub async fn run(setup: Setup) -> io::Result<()> {
    let mut guard = TerminalGuard::enter()?;
    let result = event_loop(&mut guard.terminal, setup).await;
    let restored = guard.restore();
    result.and(restored)
}

/// Where the loop's messages come from.
struct Sources {
    input: mpsc::Receiver<io::Result<Event>>,
    answers: mpsc::UnboundedReceiver<jobs::Tagged>,
    logs: mpsc::Receiver<LogLine>,
    tick: tokio::time::Interval,
    stop: StopSignals,
    started: Instant,
}

/// What waiting produced.
enum Next {
    /// Messages to apply (possibly none).
    Messages(VecDeque<Msg>),
    /// Leave the loop with this result.
    Exit(io::Result<()>),
}

impl Sources {
    /// Wait for one message, then take everything else that is ready, so a burst of answers
    /// or keys costs one frame.
    async fn next(&mut self, state: &State, terminal: &mut DefaultTerminal) -> Next {
        let first = tokio::select! {
            event = self.input.recv() => match event {
                Some(Ok(event)) => translate(&event),
                Some(Err(e)) => return Next::Exit(Err(e)),
                // The terminal went away: nothing left to show.
                None => return Next::Exit(Ok(())),
            },
            Some(answer) = self.answers.recv() => {
                if matches!(answer.event, jobs::Event::Panicked(_)) {
                    if let Err(e) = reenter(terminal) {
                        return Next::Exit(Err(e));
                    }
                }
                Some(Msg::Job(answer))
            }
            Some(line) = self.logs.recv() => Some(Msg::Log(line)),
            _ = self.tick.tick(), if state.needs_tick() => Some(Msg::Tick(self.started.elapsed())),
            () = self.stop.recv() => return Next::Exit(Ok(())),
        };
        let mut pending: VecDeque<Msg> = first.into_iter().collect();
        while let Ok(answer) = self.answers.try_recv() {
            pending.push_back(Msg::Job(answer));
        }
        while let Ok(line) = self.logs.try_recv() {
            pending.push_back(Msg::Log(line));
        }
        while let Ok(Ok(event)) = self.input.try_recv() {
            pending.extend(translate(&event));
        }
        // Ticks only flow while something moves; a key or an answer after a quiet spell must
        // not be stamped with the last tick's time (a step's timer would start in the past).
        let stale = pending.iter().any(|m| {
            matches!(
                m,
                Msg::Key(_) | Msg::Mouse(_) | Msg::Job(_) | Msg::Action(_)
            )
        });
        if stale && !matches!(pending.front(), Some(Msg::Tick(_))) {
            pending.push_front(Msg::Tick(self.started.elapsed()));
        }
        Next::Messages(pending)
    }
}

async fn event_loop(terminal: &mut DefaultTerminal, setup: Setup) -> io::Result<()> {
    let Setup {
        mut state,
        themes,
        ctx,
        logs,
    } = setup;
    let (input_tx, input) = mpsc::channel(INPUT_QUEUE);
    let reader = tokio::spawn(read_input(input_tx));
    let (mut runner, answers) = Runner::new(ctx);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sources = Sources {
        input,
        answers,
        logs,
        tick,
        stop: StopSignals::new()?,
        started: Instant::now(),
    };
    let size = terminal.size()?;
    let mut pending = VecDeque::from([
        Msg::Resize(size.width, size.height),
        Msg::Action(Action::Refresh),
    ]);
    let result = loop {
        let (dirty, quit) = apply_all(&mut state, &mut pending, &mut runner)?;
        if quit {
            state.notify("quitting: stopping running work…");
        }
        if dirty || quit {
            let theme = &themes[state.theme.min(themes.len() - 1)];
            terminal.draw(|frame| views::render(frame, &state, theme))?;
        }
        if quit {
            break Ok(());
        }
        match sources.next(&state, terminal).await {
            Next::Messages(more) => pending = more,
            Next::Exit(result) => break result,
        }
    };
    reader.abort();
    runner.shutdown(SHUTDOWN_GRACE).await;
    result
}

/// Apply every pending message and run the effects; (redraw needed, quit asked).
fn apply_all(
    state: &mut State,
    pending: &mut VecDeque<Msg>,
    runner: &mut Runner,
) -> io::Result<(bool, bool)> {
    let (mut dirty, mut quit) = (false, false);
    while let Some(msg) = pending.pop_front() {
        // Log lines change nothing visible while the log pane is closed.
        dirty |= !matches!(msg, Msg::Log(_)) || state.log.open;
        for effect in update(state, msg) {
            quit |= apply(effect, runner)?;
        }
    }
    Ok((dirty, quit))
}

/// Run one effect; `true` for quit.
fn apply(effect: Effect, runner: &mut Runner) -> io::Result<bool> {
    match effect {
        Effect::Start { id, job } => runner.start(id, job),
        Effect::Cancel { id } => runner.cancel(id),
        Effect::Answer { id, yes } => runner.answer(id, yes),
        Effect::Copy(text) => copy(&text)?,
        Effect::Quit => return Ok(true),
    }
    Ok(false)
}

/// The messages a terminal event means.
fn translate(event: &Event) -> Option<Msg> {
    match *event {
        Event::Key(key) => Some(Msg::Key(key)),
        Event::Mouse(mouse) => Some(Msg::Mouse(mouse)),
        Event::Resize(width, height) => Some(Msg::Resize(width, height)),
        _ => None,
    }
}

/// Reads terminal events into the loop's bounded queue.
async fn read_input(tx: mpsc::Sender<io::Result<Event>>) {
    let mut events = EventStream::new();
    while let Some(event) = events.next().await {
        if tx.send(event).await.is_err() {
            break;
        }
    }
}

/// The OSC 52 sequence that asks the terminal to put `text` on the clipboard.
#[must_use]
pub fn osc52(text: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{encoded}\x07")
}

/// Copy through the terminal (works over SSH and in tmux with `set-clipboard on`).
fn copy(text: &str) -> io::Result<()> {
    let mut out = io::stdout();
    out.write_all(osc52(text).as_bytes())?;
    out.flush()
}

/// Take the screen back after the panic hook restored it for a panicking job.
fn reenter(terminal: &mut DefaultTerminal) -> io::Result<()> {
    crossterm::terminal::enable_raw_mode()?;
    crossterm::execute!(
        io::stdout(),
        crossterm::terminal::EnterAlternateScreen,
        EnableMouseCapture
    )?;
    terminal.clear()
}

/// SIGTERM, SIGHUP and SIGINT end the UI through the normal exit path, so the terminal is
/// restored even when the process is told to stop from outside.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_wraps_base64() {
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
    }
}
