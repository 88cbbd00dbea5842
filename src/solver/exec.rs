//! The `exec` solver: lego's exec-provider contract, so existing hook scripts work unchanged.
//!
//! `COMMAND present <fqdn.> <value>` and `COMMAND cleanup <fqdn.> <value>`; exit 0 = done.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::{ChallengeRecord, Solver, SolverError, SolverFuture};

/// Runs a program per record.
#[derive(Debug, Clone)]
pub struct ExecSolver {
    command: PathBuf,
    timeout: Duration,
}

impl ExecSolver {
    /// A solver running `command`, each run bounded by `timeout`.
    pub fn new(command: PathBuf, timeout: Duration) -> Self {
        Self { command, timeout }
    }

    async fn run(&self, action: &'static str, record: &ChallengeRecord) -> Result<(), SolverError> {
        let command = self.command.display().to_string();
        let child = Command::new(&self.command)
            .arg(action)
            .arg(&record.fqdn)
            .arg(&record.value)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| SolverError::Spawn {
                command: command.clone(),
                source,
            })?;
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(result) => result.map_err(|source| SolverError::Spawn {
                command: command.clone(),
                source,
            })?,
            Err(_) => {
                return Err(SolverError::HookTimeout {
                    command,
                    action,
                    fqdn: record.fqdn.clone(),
                    timeout: self.timeout,
                })
            }
        };
        tracing::debug!(%command, action, fqdn = %record.fqdn, status = %output.status, "hook finished");
        if output.status.success() {
            return Ok(());
        }
        Err(SolverError::HookFailed {
            command,
            action,
            fqdn: record.fqdn.clone(),
            status: output.status.to_string(),
            output: tail(&output.stderr, &output.stdout),
        })
    }

    async fn run_all(
        &self,
        action: &'static str,
        records: &[ChallengeRecord],
    ) -> Result<(), SolverError> {
        // Records of one owner run one after another: many hook scripts read-modify-write a
        // record set, and two concurrent runs on the same name would lose a value.
        let mut owners: Vec<Vec<&ChallengeRecord>> = Vec::new();
        for record in records {
            match owners.iter_mut().find(|group| group[0].fqdn == record.fqdn) {
                Some(group) => group.push(record),
                None => owners.push(vec![record]),
            }
        }
        let runs = owners.into_iter().map(|group| async move {
            for record in group {
                self.run(action, record).await?;
            }
            Ok::<(), SolverError>(())
        });
        let results = futures::future::join_all(runs).await;
        results.into_iter().collect()
    }
}

impl Solver for ExecSolver {
    fn describe(&self) -> String {
        format!("exec {}", self.command.display())
    }

    fn present<'a>(&'a self, records: &'a [ChallengeRecord]) -> SolverFuture<'a> {
        Box::pin(self.run_all("present", records))
    }

    fn cleanup<'a>(&'a self, records: &'a [ChallengeRecord]) -> SolverFuture<'a> {
        Box::pin(self.run_all("cleanup", records))
    }
}

/// The last few lines the hook printed, for the error message.
fn tail(stderr: &[u8], stdout: &[u8]) -> String {
    let text = if stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        String::from_utf8_lossy(stderr)
    } else {
        String::from_utf8_lossy(stdout)
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(5);
    lines[start..]
        .iter()
        .map(|l| format!("\n  | {l}"))
        .collect()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &std::path::Path, body: &str) -> PathBuf {
        let path = dir.join("hook.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn record(fqdn: &str, value: &str) -> ChallengeRecord {
        ChallengeRecord {
            identifier: "example.com".into(),
            fqdn: fqdn.into(),
            value: value.into(),
        }
    }

    #[tokio::test]
    async fn hook_gets_lego_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let hook = script(
            dir.path(),
            &format!("echo \"$1 $2 $3\" >> {}", log.display()),
        );
        let solver = ExecSolver::new(hook, Duration::from_secs(10));
        let recs = [
            record("_acme-challenge.example.com.", "v1"),
            record("_acme-challenge.example.com.", "v2"),
        ];
        solver.present(&recs).await.unwrap();
        solver.cleanup(&recs[..1]).await.unwrap();
        let got = std::fs::read_to_string(log).unwrap();
        assert_eq!(
            got,
            "present _acme-challenge.example.com. v1\npresent _acme-challenge.example.com. v2\ncleanup _acme-challenge.example.com. v1\n"
        );
    }

    #[tokio::test]
    async fn failing_hook_reports_status_and_output() {
        let dir = tempfile::tempdir().unwrap();
        let hook = script(dir.path(), "echo 'zone not found' >&2; exit 3");
        let solver = ExecSolver::new(hook, Duration::from_secs(10));
        let err = solver
            .present(&[record("_acme-challenge.x.com.", "v")])
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("present _acme-challenge.x.com."), "{msg}");
        assert!(msg.contains("exit status: 3"), "{msg}");
        assert!(msg.contains("zone not found"), "{msg}");
    }

    #[tokio::test]
    async fn hanging_hook_is_killed_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let hook = script(dir.path(), "exec sleep 30");
        let solver = ExecSolver::new(hook, Duration::from_millis(300));
        let started = std::time::Instant::now();
        let err = solver
            .present(&[record("_acme-challenge.x.com.", "v")])
            .await
            .unwrap_err();
        assert!(matches!(err, SolverError::HookTimeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
