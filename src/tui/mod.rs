//! The terminal UI: the only module that imports ratatui and crossterm.
//!
//! Data flow, key press to screen: an input task reads terminal events into a bounded
//! channel; the app loop turns keys into [`action::Action`]s through the [`keymap`]; the pure
//! [`update::update`] changes the [`state::State`] and returns effects; the app hands jobs to
//! [`crate::jobs::Runner`], whose tagged answers come back as messages (stale ones dropped in
//! `update`); the screen is drawn only when something changed, by pure [`views`].
//!
//! - [`action`], [`keymap`]: what can be asked for, and which keys ask (`keys.toml`).
//! - [`state`], [`screens`], [`update`], [`routing`]: the pure model, one file per screen.
//! - [`views`], [`layout`]: render functions, one file per screen; shared geometry.
//! - [`theme`]: semantic style slots from `themes/*.toml` and user overrides.
//! - [`form`]: text inputs and small forms; [`watch`]: live propagation matrices.
//! - [`mouse`]: clicks on the screens over the dashboard.
//! - `app`: the loop, the terminal guard, the clipboard.

pub mod action;
mod app;
pub mod form;
pub mod keymap;
pub mod layout;
pub mod mouse;
pub mod routing;
pub mod screens;
pub mod state;
pub mod theme;
pub mod update;
pub mod views;
pub mod watch;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use tracing::instrument::WithSubscriber as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::jobs::logs::UiLayer;
use crate::jobs::Context;

/// Options from the command line.
#[derive(Debug, Clone, Default)]
pub struct TuiOptions {
    /// Theme name; `None` = "default".
    pub theme: Option<String>,
    /// Where `keys.toml` and `themes/` are looked for.
    pub config_dir: Option<PathBuf>,
    /// Where the log file is written.
    pub state_dir: Option<PathBuf>,
    /// Inside `certpilot sandbox`: the sandbox directory (the fault menu works on it).
    pub sandbox: Option<PathBuf>,
}

/// Themes and keys, resolved before the terminal is touched so that mistakes in them are
/// plain error messages.
///
/// # Errors
/// An unknown or invalid theme, an invalid `keys.toml`.
pub fn prepare(opts: &TuiOptions) -> io::Result<(state::State, Vec<theme::Theme>)> {
    let dir = opts.config_dir.as_deref();
    let no_color = theme::no_color_from_env();
    let wanted = opts.theme.as_deref().unwrap_or("default");
    let first = theme::Theme::load(wanted, dir, no_color).map_err(io::Error::other)?;
    let mut names = Vec::new();
    let mut themes = Vec::new();
    for name in theme::available(dir) {
        if name == wanted {
            continue;
        }
        match theme::Theme::load(&name, dir, no_color) {
            Ok(theme) => {
                names.push(name);
                themes.push(theme);
            }
            Err(e) => tracing::warn!(error = %e, "theme left out of the switcher"),
        }
    }
    names.insert(0, wanted.to_owned());
    themes.insert(0, first);
    let keymap = match dir {
        Some(dir) => keymap::Keymap::load(dir).map_err(io::Error::other)?,
        None => keymap::Keymap::default(),
    };
    let mut state = state::State::with(keymap, names, 0);
    state.sandbox = opts
        .sandbox
        .as_deref()
        .and_then(screens::sandbox::faults_of);
    state.server_form = opts
        .state_dir
        .as_deref()
        .and_then(crate::jobs::server_form::load);
    Ok((state, themes))
}

/// Run the UI until the user quits. Jobs run against `ctx`. Tracing events go to the log
/// file (level from `CERTPILOT_LOG`) and to the log pane; nothing is printed. The terminal is
/// restored on normal exit, on error and on panic.
///
/// # Errors
/// A bad theme or `keys.toml`, or a terminal I/O error.
pub async fn run(opts: TuiOptions, ctx: Arc<Context>) -> io::Result<()> {
    let (state, themes) = prepare(&opts)?;
    let (layer, logs) = UiLayer::new();
    let filter =
        || EnvFilter::try_from_env("CERTPILOT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let file = opts.state_dir.as_ref().and_then(|dir| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::NEVER)
            .filename_prefix("certpilot.log")
            .build(dir)
            .ok()
    });
    let (writer, _guard) = match file {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (Some(writer), Some(guard))
        }
        None => (None, None),
    };
    let file_layer = writer.map(|writer| {
        tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(false)
            .with_filter(filter())
    });
    let subscriber = tracing_subscriber::registry()
        .with(file_layer)
        .with(layer.with_filter(filter()));
    let setup = app::Setup {
        state,
        themes,
        ctx,
        logs,
    };
    app::run(setup).with_subscriber(subscriber).await
}

#[cfg(test)]
mod tests;
