//! certpilot's binary: parse the command line, set up logging, run a command or the TUI.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use certpilot::cli::Cli;
use certpilot::commands::{self, Env, Failure};
use certpilot::fsutil;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = match Env::load(cli.global.clone()) {
        Ok(env) => env,
        Err(failure) => return report(&failure),
    };
    // The sandbox leaves the user's state alone: its own runs log into the sandbox.
    let sandbox = matches!(cli.command, Some(certpilot::cli::Command::Sandbox(_)));
    let _log_guard = if sandbox { None } else { init_logging(&env) };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return report(&Failure::Failed(format!(
                "cannot start the async runtime: {e}"
            )))
        }
    };
    let result = match cli.command {
        Some(command) => runtime.block_on(commands::run(env, command)),
        None => runtime.block_on(run_tui(env)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&failure),
    }
}

fn report(failure: &Failure) -> ExitCode {
    tracing::error!(message = failure.message(), "command failed");
    eprintln!("error: {}", failure.message());
    ExitCode::from(failure.exit_code())
}

/// Logs go to a file: the terminal belongs to the output (and to the TUI).
fn init_logging(env: &Env) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let dir = &env.paths.state;
    fsutil::create_private_dir(dir).ok()?;
    let appender = tracing_appender::rolling::never(dir, "certpilot.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("CERTPILOT_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,hickory_server=warn,hickory_proto=warn")
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

async fn run_tui(env: Env) -> Result<(), Failure> {
    let opts = certpilot::tui::TuiOptions {
        theme: env.global.theme.clone(),
        config_dir: Some(env.paths.config_dir.clone()),
        state_dir: Some(env.paths.state.clone()),
        sandbox: std::env::var_os("CERTPILOT_SANDBOX").map(std::path::PathBuf::from),
    };
    // Jobs read the config afresh; `Env` already refused a malformed one before the terminal
    // was touched.
    // The same session as the headless commands: one fold of the overrides.
    let ctx = Arc::clone(&env.session);
    certpilot::tui::run(opts, ctx)
        .await
        .map_err(|e| Failure::Failed(format!("terminal UI: {e}")))
}
