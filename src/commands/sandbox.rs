//! `certpilot sandbox`: start the world, enrol a working directory, then either open the
//! dashboard on it or run the headless check; stop everything and forget its secrets at
//! the end, whatever the way out.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use super::{Env, Failure, Outcome};
use crate::cli::SandboxArgs;
use crate::sandbox::{self, flow, Fault, Runner, SandboxError, World};

// By value: it is passed to `map_err`.
#[allow(clippy::needless_pass_by_value)]
fn failed(e: SandboxError) -> Failure {
    Failure::Failed(format!("sandbox: {e}"))
}

/// Run blocking sandbox work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SandboxError> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Failure::Failed(format!("sandbox: {e}")))?
        .map_err(failed)
}

pub(super) async fn run(env: &Env, args: &SandboxArgs) -> Outcome {
    let started = Instant::now();
    let root = tempfile::Builder::new()
        .prefix("certpilot-sandbox-")
        .tempdir()
        .map_err(|e| Failure::Failed(format!("sandbox: a temporary directory: {e}")))?;
    let path = root.path().to_owned();
    let nonce_reject = args.nonce_reject;
    eprintln!(
        "sandbox: starting Pebble, knot, unbound and the acme-dns server in {}",
        path.display()
    );
    let world = blocking(move || World::start(&path, sandbox::network(), nonce_reject)).await?;
    let service = format!("certpilot-sandbox-{}", std::process::id());
    let runner =
        Runner::new(world.layout.clone(), service, env.global.keystore.clone()).map_err(failed)?;
    let world = Arc::new(Mutex::new(world));
    // Ctrl-C, SIGTERM or SIGHUP at any point still stops every server and forgets the secrets.
    let work = session(&runner, args, started);
    tokio::pin!(work);
    let result = tokio::select! {
        result = &mut work => result,
        never = restart_requests(&world, &runner) => match never {},
        why = interrupted() => {
            // The running step ends and no other starts; wait for it to return so that
            // nothing writes into the directory while it is removed.
            runner.stop();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(30), work).await;
            Err(Failure::Failed(format!("sandbox: stopped by {why}")))
        }
    };
    // Whatever happened: secrets first (they need the working directory), then the servers.
    let forget = runner.clone();
    let removed = blocking(move || flow::forget_secrets(&forget)).await;
    // Waits for a Pebble restart in progress, so nothing outlives the sandbox.
    let processes = {
        let mut world = world.lock().unwrap_or_else(PoisonError::into_inner);
        let n = world.pids().len();
        world.stop();
        n
    };
    drop(root);
    match &removed {
        Ok(n) => eprintln!("sandbox: stopped {processes} server(s), removed {n} keyring entr(ies) and the sandbox directory"),
        Err(e) => eprintln!("sandbox: stopped {processes} server(s); keyring entries not removed: {}", e.message()),
    }
    result.and(removed.map(|_| ()))
}

/// Serve the dashboard's requests (SIGUSR1, see `faults::NonceReject`) to restart Pebble
/// with another nonce rejection; each is answered in `faults/restart.done`.
async fn restart_requests(world: &Arc<Mutex<World>>, runner: &Runner) -> std::convert::Infallible {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
        return std::future::pending().await;
    };
    loop {
        if usr1.recv().await.is_none() {
            return std::future::pending().await;
        }
        let (owned, restarting) = (Arc::clone(world), runner.clone());
        let outcome = blocking(move || restart_pebble(&owned, &restarting)).await;
        let report = match &outcome {
            Ok(()) => "ok".to_owned(),
            Err(e) => e.message().to_owned(),
        };
        tracing::info!(outcome = %report, "sandbox: Pebble restarted on request");
        let path = sandbox::faults::restart_report(&runner.layout);
        if let Err(e) =
            crate::fsutil::write_atomic(&path, report.as_bytes(), crate::fsutil::Mode::Private)
        {
            tracing::warn!(path = %path.display(), error = %e, "sandbox: restart report not written");
        }
    }
}

/// Restart Pebble with the nonce rejection asked for, then register the account again
/// (Pebble forgot it) under the same name, so the certificates naming it keep working.
fn restart_pebble(world: &Mutex<World>, runner: &Runner) -> Result<(), SandboxError> {
    let pct = sandbox::faults::wanted_nonce_reject(&runner.layout);
    world
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .restart_pebble(pct)?;
    flow::register_account(runner, true)
}

/// The first of Ctrl-C, SIGTERM and SIGHUP.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        // Without signal handlers only Ctrl-C is watched.
        let _ = tokio::signal::ctrl_c().await;
        return "Ctrl-C";
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
    }
}

async fn session(runner: &Runner, args: &SandboxArgs, started: Instant) -> Outcome {
    let enrolling = runner.clone();
    blocking(move || flow::enrol(&enrolling)).await?;
    let mut faults = Vec::new();
    if let Some(secs) = args.lag {
        faults.push(Fault::Lag(secs));
    }
    if args.silent {
        faults.push(Fault::Silent);
    }
    if args.stale {
        faults.push(Fault::Stale);
    }
    if args.broken_cname {
        faults.push(Fault::BrokenCname);
    }
    for fault in faults {
        sandbox::faults::switch(&runner.layout, fault, true).map_err(failed)?;
        eprintln!("sandbox: fault on: {}", fault.label());
    }
    eprintln!(
        "sandbox: ready in {:.1}s: account `sandbox` on Pebble ({}), certificates web, api, manual",
        started.elapsed().as_secs_f64(),
        runner.layout.directory()
    );
    if args.check {
        return check(runner).await;
    }
    dashboard(runner).await
}

async fn check(runner: &Runner) -> Outcome {
    let checking = runner.clone();
    let started = Instant::now();
    let steps = blocking(move || flow::check(&checking)).await?;
    for step in &steps {
        outln!("ok  {:>6.1}s  {}", step.took.as_secs_f64(), step.what);
    }
    outln!(
        "sandbox check: {} steps passed in {:.1}s",
        steps.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The dashboard as a child process on the sandbox's working directory; it ends when the
/// dashboard does (a signal to the sandbox drops this future, and `kill_on_drop` stops it).
async fn dashboard(runner: &Runner) -> Outcome {
    let mut child = tokio::process::Command::from(runner.command(&[]))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Failure::Failed(format!("sandbox: the dashboard: {e}")))?;
    runner.track(child.id()).map_err(failed)?;
    let status = child.wait().await;
    let _ = runner.track(None);
    let status = status.map_err(|e| Failure::Failed(e.to_string()))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "sandbox: the dashboard ended with {status}; everything is stopped"
        )))
    }
}
