//! Running one deploy hook: `/bin/sh -c` in its own process group, bounded by a timeout
//! that kills the whole group, its output to the log.

use std::fmt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

/// How a deploy hook ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    /// Exit 0.
    Succeeded,
    /// A non-zero exit (127: the shell did not find the command).
    Exited(i32),
    /// Killed by a signal it did not get from certpilot.
    Signalled(i32),
    /// Still running at the timeout; its process group was killed.
    TimedOut(Duration),
    /// The shell could not be started.
    NotStarted(String),
}

impl fmt::Display for HookOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HookOutcome::Succeeded => f.write_str("exit 0"),
            HookOutcome::Exited(127) => f.write_str("exit 127: command not found"),
            HookOutcome::Exited(126) => f.write_str("exit 126: not executable"),
            HookOutcome::Exited(code) => write!(f, "exit {code}"),
            HookOutcome::Signalled(sig) => write!(f, "killed by signal {sig}"),
            HookOutcome::TimedOut(t) => write!(f, "timed out after {} s, killed", t.as_secs()),
            HookOutcome::NotStarted(e) => write!(f, "could not start: {e}"),
        }
    }
}

/// Run `command` through `/bin/sh -c` in its own process group, its output to the log.
pub async fn run_hook(
    command: &str,
    env: &[(&'static str, String)],
    timeout: Duration,
    cert: &str,
) -> HookOutcome {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(command)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own group, so the timeout kills what the hook started too, not only the shell.
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return HookOutcome::NotStarted(e.to_string()),
    };
    let readers = [
        child
            .stdout
            .take()
            .map(|out| log_lines(out, cert.to_owned(), "stdout")),
        child
            .stderr
            .take()
            .map(|err| log_lines(err, cert.to_owned(), "stderr")),
    ];
    let outcome = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => outcome_of(status),
        Ok(Err(e)) => HookOutcome::NotStarted(e.to_string()),
        Err(_) => {
            kill_group(&child);
            let _ = child.kill().await;
            HookOutcome::TimedOut(timeout)
        }
    };
    // A daemon the hook started may keep the pipes open: the log gets what came so far.
    for mut reader in readers.into_iter().flatten() {
        if tokio::time::timeout(Duration::from_secs(1), &mut reader)
            .await
            .is_err()
        {
            reader.abort();
            tracing::debug!(cert, "deploy hook output still open; no longer logged");
        }
    }
    outcome
}

fn log_lines(
    stream: impl AsyncRead + Unpin + Send + 'static,
    cert: String,
    which: &'static str,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::info!(cert = %cert, stream = which, "deploy hook: {line}");
        }
    })
}

fn outcome_of(status: ExitStatus) -> HookOutcome {
    if let Some(code) = status.code() {
        return if code == 0 {
            HookOutcome::Succeeded
        } else {
            HookOutcome::Exited(code)
        };
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return HookOutcome::Signalled(sig);
        }
    }
    HookOutcome::NotStarted(status.to_string())
}

#[cfg(unix)]
fn kill_group(child: &tokio::process::Child) {
    use rustix::process::{kill_process_group, Pid, Signal};
    let Some(pid) = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw)
    else {
        return;
    };
    if let Err(e) = kill_process_group(pid, Signal::KILL) {
        tracing::warn!(error = %e, "deploy hook: could not kill its process group");
    }
}

#[cfg(not(unix))]
fn kill_group(_child: &tokio::process::Child) {}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hook_runs_through_the_shell_with_its_environment() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let command = format!(
            "echo \"$CERTPILOT_CERT_NAME\" > '{}' && exit 4",
            out.display()
        );
        let env = [("CERTPILOT_CERT_NAME", "web".to_owned())];
        let outcome = run_hook(&command, &env, Duration::from_secs(10), "web").await;
        assert_eq!(outcome, HookOutcome::Exited(4));
        assert_eq!(std::fs::read_to_string(out).unwrap(), "web\n");
        let missing = run_hook("/nonexistent/hook", &[], Duration::from_secs(10), "web").await;
        assert_eq!(missing, HookOutcome::Exited(127));
    }

    #[tokio::test]
    async fn a_hanging_hook_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let command = format!("sleep 60 & echo $! > '{}'; wait", pid_file.display());
        let started = std::time::Instant::now();
        let outcome = run_hook(&command, &[], Duration::from_millis(500), "web").await;
        assert_eq!(outcome, HookOutcome::TimedOut(Duration::from_millis(500)));
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let stat = format!("/proc/{}/stat", pid.trim());
        // Killed: gone, or a zombie until something reaps it.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let state = std::fs::read_to_string(&stat).ok();
            let dead = state.as_deref().is_none_or(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            });
            if dead {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "sleeper {pid} survived"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
