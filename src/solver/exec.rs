//! The `exec` solver: lego's exec-provider contract, so existing hook scripts work unchanged.
//!
//! `COMMAND present <fqdn.> <value>` and `COMMAND cleanup <fqdn.> <value>`; exit 0 = done.
//! With `batch`, `COMMAND present-batch` and `COMMAND cleanup-batch` run once per order with
//! every record on standard input, one `<fqdn.> <value>` line each: a back end that takes
//! one transaction (or one lock) per call publishes 100 records in one instead of 100.
//!
//! Hook processes of the single-record contract run concurrently (one owner's records one
//! after another), at most `settings.hook_processes` at once in the whole process.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::Semaphore;

use super::{ChallengeRecord, Solver, SolverError, SolverFuture};
use crate::slots::Slots;

/// Runs a program per record, or once per order in batch mode.
#[derive(Debug, Clone)]
pub struct ExecSolver {
    command: PathBuf,
    timeout: Duration,
    batch: bool,
    max_processes: usize,
}

/// The process-wide bound on running hooks: every solver with the same bound shares one
/// semaphore (one process has one `settings.hook_processes`).
fn process_slots(max: usize) -> Arc<Semaphore> {
    static SLOTS: Slots<usize> = Slots::new();
    SLOTS.get(max, max)
}

impl ExecSolver {
    /// A solver running `command`, each run bounded by `timeout`.
    #[must_use]
    pub fn new(command: PathBuf, timeout: Duration) -> Self {
        Self {
            command,
            timeout,
            batch: false,
            max_processes: crate::config::DEFAULT_HOOK_PROCESSES,
        }
    }

    /// Use the batch contract (`present-batch` / `cleanup-batch`, records on stdin).
    #[must_use]
    pub fn batch(mut self, batch: bool) -> Self {
        self.batch = batch;
        self
    }

    /// At most `max` hook processes at once (process-wide).
    #[must_use]
    pub fn max_processes(mut self, max: usize) -> Self {
        self.max_processes = max.max(1);
        self
    }

    /// Run the hook with `args`, `stdin` written to it, within the timeout; `what` names the
    /// record(s) in errors.
    async fn exec(
        &self,
        action: &'static str,
        args: &[&str],
        stdin: Option<String>,
        what: &str,
    ) -> Result<(), SolverError> {
        let command = self.command.display().to_string();
        let spawn_err = |source| SolverError::Spawn {
            command: command.clone(),
            source,
        };
        let _slot = process_slots(self.max_processes).acquire_owned().await.ok();
        let mut child = Command::new(&self.command)
            .arg(action)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_err)?;
        let pipe = child.stdin.take();
        let feed = async move {
            if let (Some(mut pipe), Some(text)) = (pipe, stdin) {
                // A hook that exits without reading is judged by its exit status alone.
                let _ = pipe.write_all(text.as_bytes()).await;
            }
        };
        let run = async { tokio::join!(feed, child.wait_with_output()).1 };
        let output = match tokio::time::timeout(self.timeout, run).await {
            Ok(result) => result.map_err(spawn_err)?,
            Err(_) => {
                return Err(SolverError::HookTimeout {
                    command,
                    action,
                    fqdn: what.to_owned(),
                    timeout: self.timeout,
                })
            }
        };
        tracing::debug!(%command, action, what, status = %output.status, "hook finished");
        if output.status.success() {
            return Ok(());
        }
        Err(SolverError::HookFailed {
            command,
            action,
            fqdn: what.to_owned(),
            status: output.status.to_string(),
            output: tail(&output.stderr, &output.stdout),
        })
    }

    async fn run(&self, action: &'static str, record: &ChallengeRecord) -> Result<(), SolverError> {
        let args = [record.fqdn.as_str(), record.value.as_str()];
        self.exec(action, &args, None, &record.fqdn).await
    }

    /// One batch run for all `records` (none: nothing to do).
    async fn run_batch(
        &self,
        action: &'static str,
        records: &[ChallengeRecord],
    ) -> Result<(), SolverError> {
        if records.is_empty() {
            return Ok(());
        }
        let lines: String = records
            .iter()
            .flat_map(|r| [r.fqdn.as_str(), " ", r.value.as_str(), "\n"])
            .collect();
        let what = format!("({} records on stdin)", records.len());
        self.exec(action, &[], Some(lines), &what).await
    }

    async fn run_all(
        &self,
        action: &'static str,
        records: &[ChallengeRecord],
    ) -> Result<(), SolverError> {
        if self.batch {
            let action = if action == "present" {
                "present-batch"
            } else {
                "cleanup-batch"
            };
            return self.run_batch(action, records).await;
        }
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
        let batch = if self.batch { " (batch)" } else { "" };
        format!("exec {}{batch}", self.command.display())
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
    lines[start..].iter().flat_map(|l| ["\n  | ", l]).collect()
}

#[cfg(test)]
#[cfg(unix)]
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
    async fn batch_hook_gets_every_record_on_stdin_once_per_call() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let hook = script(
            dir.path(),
            &format!("{{ echo \"call $# $1\"; cat; }} >> {}", log.display()),
        );
        let solver = ExecSolver::new(hook, Duration::from_secs(10)).batch(true);
        let recs = [
            record("_acme-challenge.example.com.", "v1"),
            record("_acme-challenge.example.com.", "v2"),
            record("_acme-challenge.b.example.com.", "v3"),
        ];
        solver.present(&recs).await.unwrap();
        solver.cleanup(&recs[2..]).await.unwrap();
        solver.cleanup(&[]).await.unwrap();
        let got = std::fs::read_to_string(log).unwrap();
        assert_eq!(
            got,
            "call 1 present-batch\n\
             _acme-challenge.example.com. v1\n\
             _acme-challenge.example.com. v2\n\
             _acme-challenge.b.example.com. v3\n\
             call 1 cleanup-batch\n\
             _acme-challenge.b.example.com. v3\n"
        );
    }

    #[tokio::test]
    async fn failing_batch_hook_reports_status_output_and_record_count() {
        let dir = tempfile::tempdir().unwrap();
        let hook = script(dir.path(), "cat >/dev/null; echo 'knotc: busy' >&2; exit 4");
        let solver = ExecSolver::new(hook, Duration::from_secs(10)).batch(true);
        let recs = [
            record("_acme-challenge.x.com.", "a"),
            record("_acme-challenge.y.com.", "b"),
        ];
        let msg = solver.present(&recs).await.unwrap_err().to_string();
        assert!(msg.contains("present-batch (2 records on stdin)"), "{msg}");
        assert!(msg.contains("exit status: 4"), "{msg}");
        assert!(msg.contains("knotc: busy"), "{msg}");
    }

    #[tokio::test]
    async fn hook_processes_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let running = dir.path().join("running");
        std::fs::create_dir(&running).unwrap();
        let peaks = dir.path().join("peaks");
        // Each run registers itself, notes how many runs it sees, stays a while, leaves.
        let hook = script(
            dir.path(),
            &format!(
                "touch {r}/$$; ls {r} | wc -l >> {p}; sleep 1; rm {r}/$$",
                r = running.display(),
                p = peaks.display()
            ),
        );
        // A bound no other test uses: the semaphore is shared per bound, process-wide.
        let solver = ExecSolver::new(hook, Duration::from_secs(30)).max_processes(3);
        let recs: Vec<_> = (0..7)
            .map(|i| record(&format!("_acme-challenge.h{i}.example.com."), "v"))
            .collect();
        solver.present(&recs).await.unwrap();
        let seen: Vec<usize> = std::fs::read_to_string(peaks)
            .unwrap()
            .lines()
            .map(|l| l.trim().parse().unwrap())
            .collect();
        assert_eq!(seen.len(), 7);
        let peak = seen.iter().copied().max().unwrap();
        // Seven distinct owners could all run at once; the bound holds them to three.
        assert!(peak <= 3, "{seen:?}");
        assert!(peak >= 2, "runs never overlapped: {seen:?}");
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
