//! The terminal dashboard: the only module that imports ratatui and crossterm.
//!
//! - [`action`]: the `Action` enum and the keymap table (keys, hints, help text).
//! - [`state`] + [`update`]: the pure model: `update(&mut State, Msg) -> Vec<Effect>`.
//! - [`views`]: pure render functions, one file per screen.
//! - [`theme`]: semantic style slots from `themes/*.toml`.
//! - `app`: the loop that wires terminal events, background loads and drawing together.

pub mod action;
mod app;
pub mod state;
pub mod theme;
pub mod update;
pub mod views;

use std::sync::Arc;

use crate::inventory::CertRow;

/// Reads the certificate inventory (file I/O only, no network). Runs on a blocking thread.
pub type Loader = Arc<dyn Fn() -> Result<Vec<CertRow>, String> + Send + Sync>;

/// Options from the command line.
#[derive(Debug, Clone, Default)]
pub struct TuiOptions {
    /// Theme name; `None` = "default".
    pub theme: Option<String>,
}

/// Run the dashboard until the user quits.
///
/// `load` is called at start and on `r` (refresh) on a blocking thread; its answer comes back
/// as a message, so the screen never waits for the disk. The theme is resolved before the
/// terminal is touched, so a bad theme name is a plain error message. The terminal is restored
/// on normal exit, on error and on panic.
///
/// # Errors
/// An unknown theme, or a terminal I/O error.
pub async fn run(
    opts: TuiOptions,
    load: Arc<dyn Fn() -> Result<Vec<CertRow>, String> + Send + Sync>,
) -> std::io::Result<()> {
    let name = opts.theme.as_deref().unwrap_or("default");
    let theme =
        theme::Theme::builtin(name, theme::no_color_from_env()).map_err(std::io::Error::other)?;
    app::run(theme, load).await
}
