//! What the sandbox does with its world: enrol a working directory (account, domains,
//! certificates: apex + wildcard + www through the knot hook, one through acme-dns, one with
//! the manual solver), run the headless check, and leave no keyring entry behind.
//!
//! Every step runs certpilot's own commands as a child process with the sandbox's
//! `--dir`, CA bundle and keyring service, so the sandbox exercises exactly what users run.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::faults::{self, Fault};
use super::world::{Layout, ZONE};
use super::SandboxError;
use crate::secrets::{Keystore, SecretRef, StoreKind};

/// Runs certpilot commands inside the sandbox.
#[derive(Debug, Clone)]
pub struct Runner {
    exe: PathBuf,
    /// The world's layout.
    pub layout: Layout,
    /// The keyring service every entry is namespaced under.
    pub service: String,
    /// `--keystore`, when given.
    pub keystore: Option<String>,
    stop: Arc<Mutex<Steps>>,
}

/// The step running now, so that a signal can end it; once stopped, no step starts.
#[derive(Debug, Default)]
struct Steps {
    stopped: bool,
    /// The running child and whether it leads its own process group.
    running: Option<(u32, bool)>,
}

impl Runner {
    /// A runner for `layout`.
    ///
    /// # Errors
    /// certpilot's own path is unknown.
    pub fn new(
        layout: Layout,
        service: String,
        keystore: Option<String>,
    ) -> Result<Self, SandboxError> {
        let exe = std::env::current_exe()
            .map_err(|e| SandboxError::Start(format!("certpilot itself: {e}")))?;
        Ok(Self {
            exe,
            layout,
            service,
            keystore,
            stop: Arc::default(),
        })
    }

    /// End the running step (with its hooks) and refuse new ones. Blocking work on other
    /// threads then returns at once, so nothing writes into the directory being removed.
    pub fn stop(&self) {
        let mut steps = self.steps();
        steps.stopped = true;
        if let Some((pid, group)) = steps.running.take() {
            kill(pid, group);
        }
    }

    /// Note a child the caller started itself (the dashboard, which must stay in the
    /// terminal's process group); `None` once it ended. Refused after [`Runner::stop`].
    ///
    /// # Errors
    /// The sandbox is stopping.
    pub fn track(&self, pid: Option<u32>) -> Result<(), SandboxError> {
        let mut steps = self.steps();
        if steps.stopped && pid.is_some() {
            if let Some(pid) = pid {
                kill(pid, false);
            }
            return Err(SandboxError::Start("the sandbox is stopping".into()));
        }
        steps.running = pid.map(|p| (p, false));
        Ok(())
    }

    fn steps(&self) -> std::sync::MutexGuard<'_, Steps> {
        self.stop
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `certpilot --dir <work> ARGS` with the sandbox's environment.
    #[must_use]
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("--dir").arg(self.layout.work());
        if let Some(store) = &self.keystore {
            cmd.args(["--keystore", store]);
        }
        cmd.args(args)
            .env("CERTPILOT_CA_BUNDLE", self.layout.ca_bundle())
            .env(crate::secrets::SERVICE_ENV, &self.service)
            .env("CERTPILOT_SANDBOX", &self.layout.root);
        cmd
    }

    /// Run `args`; an error carries what it printed.
    ///
    /// # Errors
    /// The command failed.
    pub fn run(&self, args: &[&str]) -> Result<Output, SandboxError> {
        use std::os::unix::process::CommandExt as _;
        let started =
            |e: std::io::Error| SandboxError::Start(format!("certpilot {}: {e}", args.join(" ")));
        let child = {
            let mut steps = self.steps();
            if steps.stopped {
                return Err(SandboxError::Start("the sandbox is stopping".into()));
            }
            // Its own process group: stopping it also stops the hooks it started.
            let child = self
                .command(args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .process_group(0)
                .spawn()
                .map_err(started)?;
            steps.running = Some((child.id(), true));
            child
        };
        let out = child.wait_with_output().map_err(started);
        self.steps().running = None;
        let out = out?;
        if out.status.success() {
            return Ok(out);
        }
        Err(SandboxError::Step {
            step: format!("certpilot {}", args.join(" ")),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        })
    }
}

fn kill(pid: u32, group: bool) {
    use rustix::process::{kill_process, kill_process_group, Pid, Signal};
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return;
    };
    // Already gone is fine: the step ended on its own.
    let _ = if group {
        kill_process_group(pid, Signal::KILL)
    } else {
        kill_process(pid, Signal::TERM)
    };
}

/// Settings that make certpilot see the sandbox: its resolver, its servers' port.
fn config_text(layout: &Layout) -> String {
    format!(
        "[settings]\nresolvers = [\"{}\"]\nauthoritative_port = {}\npropagation_timeout = 120\ndead_server_timeout = 30\nhook_timeout = 60\n",
        layout.resolver(),
        layout.port
    )
}

/// Write the working directory: config, hook, account, domains and certificates.
///
/// # Errors
/// A step failed (its output is in the error).
pub fn enrol(runner: &Runner) -> Result<(), SandboxError> {
    let layout = &runner.layout;
    let work = layout.work();
    crate::fsutil::create_private_dir(&work).map_err(|e| SandboxError::io(&work, &e))?;
    let config = work.join("certpilot.toml");
    crate::fsutil::write_atomic(
        &config,
        config_text(layout).as_bytes(),
        crate::fsutil::Mode::Private,
    )
    .map_err(|e| SandboxError::io(&config, &e))?;
    let hook = layout.root.join("hooks/knot-hook.sh");
    write_executable(&hook, &faults::hook_script(layout))?;
    let hook_arg = hook.display().to_string();
    let api = layout.api_url();
    let apex = ZONE;
    let wildcard = format!("*.{ZONE}");
    let www = format!("www.{ZONE}");
    let api_name = format!("api.{ZONE}");
    let manual = format!("manual.{ZONE}");
    register_account(runner, false)?;
    runner.run(&[
        "domain",
        "set",
        apex,
        "--solver",
        "exec",
        "--command",
        &hook_arg,
    ])?;
    runner.run(&[
        "cert", "add", "web", "--name", apex, "--name", &wildcard, "--name", &www,
    ])?;
    runner.run(&["acme-dns", "register", &api_name, "--server", &api])?;
    faults::switch(layout, Fault::BrokenCname, false)?;
    runner.run(&[
        "domain", "set", &api_name, "--solver", "acme-dns", "--server", &api,
    ])?;
    runner.run(&["cert", "add", "api", "--name", &api_name])?;
    runner.run(&["domain", "set", &manual, "--solver", "manual"])?;
    runner.run(&["cert", "add", "manual", "--name", &manual])?;
    Ok(())
}

/// Register the sandbox's account on Pebble; `replace` registers it again under the same
/// name (Pebble keeps accounts in memory and forgets them when it restarts).
///
/// # Errors
/// The registration failed (its output is in the error).
pub fn register_account(runner: &Runner, replace: bool) -> Result<(), SandboxError> {
    let directory = runner.layout.directory();
    let mut args = vec![
        "account",
        "add",
        "sandbox",
        "--directory",
        &directory,
        "--agree-tos",
    ];
    if replace {
        args.push("--replace");
    }
    runner.run(&args).map(|_| ())
}

fn write_executable(path: &std::path::Path, text: &str) -> Result<(), SandboxError> {
    use std::os::unix::fs::PermissionsExt;
    crate::fsutil::write_atomic(path, text.as_bytes(), crate::fsutil::Mode::Private)
        .map_err(|e| SandboxError::io(path, &e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| SandboxError::io(path, &e))
}

/// One line of the headless report.
#[derive(Debug, Clone)]
pub struct Checked {
    /// What was done.
    pub what: String,
    /// How long it took.
    pub took: Duration,
}

/// Seconds `ns2` lags in the check's fault scenario.
const CHECK_LAG: u64 = 3;

/// The headless flow: issue the certificates that need no operator, renew one, then renew it
/// again while ns2 lags (the wait must cover the lag). Every step must succeed.
///
/// # Errors
/// The first step that failed.
pub fn check(runner: &Runner) -> Result<Vec<Checked>, SandboxError> {
    let mut done = Vec::new();
    let mut step = |what: &str, args: &[&str]| -> Result<Output, SandboxError> {
        let started = Instant::now();
        let out = runner.run(args)?;
        done.push(Checked {
            what: what.to_owned(),
            took: started.elapsed(),
        });
        Ok(out)
    };
    step(
        "issue web (apex, wildcard, www through the knot hook)",
        &["issue", "web"],
    )?;
    step("issue api (through the acme-dns server)", &["issue", "api"])?;
    step("renew web", &["renew", "--only", "web", "--force"])?;
    faults::switch(&runner.layout, Fault::Lag(CHECK_LAG), true)?;
    let lagged = step(
        &format!("renew web while ns2 lags {CHECK_LAG} s"),
        &["renew", "--only", "web", "--force"],
    );
    faults::switch(&runner.layout, Fault::Lag(CHECK_LAG), false)?;
    let lagged = lagged?;
    let progress = String::from_utf8_lossy(&lagged.stderr);
    if !progress.contains("NOT propagated") {
        return Err(SandboxError::Step {
            step: "the lagging nameserver".into(),
            output: format!("the renewal never waited for ns2:\n{progress}"),
        });
    }
    Ok(done)
}

/// Delete every keyring entry the sandbox made (account, acme-dns password, certificate
/// keys, keys of an interrupted issuance). Returns how many were removed.
///
/// # Errors
/// The keyring cannot be opened.
pub fn forget_secrets(runner: &Runner) -> Result<usize, SandboxError> {
    let kind = match &runner.keystore {
        Some(text) => text
            .parse::<StoreKind>()
            .map_err(|e| SandboxError::Start(e.to_string()))?,
        None => StoreKind::default_for_os(),
    };
    let keystore =
        Keystore::open(kind, &runner.service).map_err(|e| SandboxError::Start(e.to_string()))?;
    let work = runner.layout.work();
    let mut secrets = vec![
        SecretRef::Account("sandbox".into()),
        SecretRef::Account("sandbox#rollover".into()),
        SecretRef::AcmeDns(format!("api.{ZONE}")),
    ];
    let store = crate::cert::store::CertStore::new(work.join("certificates"));
    for cert in ["web", "api", "manual"] {
        if let Ok(Some(meta)) = store.load_meta(cert) {
            secrets.push(SecretRef::CertKey {
                cert: cert.into(),
                key_id: meta.key_id,
            });
        }
        let journal = crate::acme::journal::JournalFile::new(&work.join("state"), cert);
        if let Ok(Some(journal)) = journal.load() {
            if let Some(key_id) = journal.new_key_id {
                secrets.push(SecretRef::CertKey {
                    cert: cert.into(),
                    key_id,
                });
            }
        }
    }
    let mut removed = 0;
    for secret in &secrets {
        if keystore.delete(secret).unwrap_or(false) {
            removed += 1;
        }
    }
    Ok(removed)
}
