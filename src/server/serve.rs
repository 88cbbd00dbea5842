//! `certpilot acme-dns serve`: the server as a foreground process, from its config file until
//! SIGINT or SIGTERM.

use std::path::Path;

use super::{start_with_keystore, ServerConfig, ServerError, TlsError, TlsMode};

/// `certpilot acme-dns serve --config FILE`: load the config, install a stderr logger at its
/// `log_level` (unless the program already installed one; `CERTPILOT_LOG` overrides), start,
/// and run until SIGINT or SIGTERM, then shut down gracefully.
///
/// # Errors
/// Everything [`start`] reports, a signal handler that cannot be installed, and failures
/// while shutting down.
pub async fn serve(
    config_path: &Path,
    open_keystore: impl FnOnce() -> Result<crate::secrets::Keystore, String>,
) -> Result<(), ServerError> {
    let config = ServerConfig::load(config_path)?;
    install_logger(&config.log_level);
    // `tls.mode = "acme"` needs the keyring; a PostgreSQL password may be in it. A server
    // with neither must not require a keyring.
    let keystore = if config.tls.mode == TlsMode::Acme {
        Some(open_keystore().map_err(TlsError::Keystore)?)
    } else if super::database_password_entry(&config).is_some() {
        open_keystore()
            .inspect_err(
                |error| tracing::info!(%error, "no keyring: connecting without a password"),
            )
            .ok()
    } else {
        None
    };
    let server = start_with_keystore(config, keystore).await?;
    let signal = wait_for_signal().await;
    tracing::info!("shutting down");
    let stopped = server.shutdown().await;
    signal?;
    stopped
}

fn install_logger(level: &str) {
    // hickory logs every query at info; keep it quiet unless asked for by name.
    let directives = format!("hickory_server=warn,hickory_proto=warn,{level}");
    let filter = tracing_subscriber::EnvFilter::try_from_env("CERTPILOT_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&directives))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    if installed.is_err() {
        tracing::debug!("a logger is already installed; log_level from the config not applied");
    }
}

async fn wait_for_signal() -> Result<(), ServerError> {
    let signal_error = |e: std::io::Error| ServerError::Runtime {
        part: "signals",
        message: e.to_string(),
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(signal_error)?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.map_err(signal_error),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(signal_error)
    }
}
