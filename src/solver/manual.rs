//! The `manual` solver: shows the records and waits for the operator to confirm.
//!
//! On the command line it asks on the terminal. The TUI owns the terminal, so it runs the
//! engine inside [`confirming`] with a [`Confirm`] callback instead: the solver hands the
//! records to it and waits for its answer. The callback travels as a task-local rather than
//! through the engine's arguments because the CLI and the TUI share one engine, and only the
//! job that runs it knows who answers.

use std::future::Future;
use std::io::{BufRead, IsTerminal, Write};
use std::pin::Pin;
use std::sync::Arc;

use super::{ChallengeRecord, Solver, SolverError, SolverFuture};

/// Shows the records to the operator and resolves to `true` once they are created, `false`
/// to cancel.
pub type Confirm =
    Arc<dyn Fn(Vec<ChallengeRecord>) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// Without a terminal: whether the records are visible already (the operator created them
/// after an earlier run stopped to wait for them).
pub type Probe =
    Arc<dyn Fn(Vec<ChallengeRecord>) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

tokio::task_local! {
    static CONFIRM: Confirm;
    static PROBE: Probe;
}

/// Run `work` so that manual solvers built inside it, with neither a callback nor a terminal,
/// carry on when `probe` finds their records visible instead of stopping to wait.
pub async fn probing<F: Future>(probe: Probe, work: F) -> F::Output {
    PROBE.scope(probe, work).await
}

/// Run `work` (the issuance engine) so that manual solvers built inside it ask `confirm`
/// instead of the terminal.
pub async fn confirming<F: Future>(confirm: Confirm, work: F) -> F::Output {
    CONFIRM.scope(confirm, work).await
}

/// Asks a human: through a [`Confirm`] callback, else on the terminal. Without either it
/// carries on if a [`Probe`] finds the records visible, else it fails with the records in the
/// message ([`SolverError::NoTerminal`]), so a cron job says exactly what is needed instead of
/// hanging; the engine then keeps the order for the rerun.
#[derive(Clone, Default)]
pub struct ManualSolver {
    confirm: Option<Confirm>,
    probe: Option<Probe>,
}

impl std::fmt::Debug for ManualSolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManualSolver")
            .field("confirm", &self.confirm.is_some())
            .finish_non_exhaustive()
    }
}

impl ManualSolver {
    /// The solver: it asks the callback of the surrounding [`confirming`], if any, else the
    /// terminal.
    pub fn new() -> Self {
        Self {
            confirm: CONFIRM.try_with(Arc::clone).ok(),
            probe: PROBE.try_with(Arc::clone).ok(),
        }
    }

    /// A solver that asks `confirm`.
    pub fn with_confirm(confirm: Confirm) -> Self {
        Self {
            confirm: Some(confirm),
            probe: None,
        }
    }
}

fn zone_lines(records: &[ChallengeRecord]) -> String {
    records
        .iter()
        .map(ChallengeRecord::zone_line)
        .collect::<Vec<_>>()
        .join("\n")
}

async fn ask(
    prompt: String,
    records: &[ChallengeRecord],
    probe: Option<Probe>,
) -> Result<(), SolverError> {
    if !std::io::stdin().is_terminal() {
        if let Some(probe) = probe {
            if probe(records.to_vec()).await {
                return Ok(());
            }
        }
        return Err(SolverError::NoTerminal {
            records: zone_lines(records),
        });
    }
    let answer = tokio::task::spawn_blocking(move || {
        let mut err = std::io::stderr();
        let _ = write!(err, "{prompt}");
        let _ = err.flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await;
    match answer {
        Ok(Ok(line)) if !line.trim().eq_ignore_ascii_case("n") => Ok(()),
        _ => Err(SolverError::Cancelled),
    }
}

impl Solver for ManualSolver {
    fn describe(&self) -> String {
        "manual".into()
    }

    fn present<'a>(&'a self, records: &'a [ChallengeRecord]) -> SolverFuture<'a> {
        if let Some(confirm) = &self.confirm {
            let answer = confirm(records.to_vec());
            return Box::pin(async move {
                if answer.await {
                    Ok(())
                } else {
                    Err(SolverError::Cancelled)
                }
            });
        }
        let lines = zone_lines(records);
        let prompt = format!(
            "Create these TXT records (keep existing values; apex and wildcard share a name):\n{lines}\nPress Enter when they are published (n to cancel): "
        );
        Box::pin(ask(prompt, records, self.probe.clone()))
    }

    fn cleanup<'a>(&'a self, records: &'a [ChallengeRecord]) -> SolverFuture<'a> {
        // Removing is optional for the operator; print and carry on rather than block. Without
        // a terminal nothing was created (present failed), so there is nothing to say.
        // With a callback the screen still shows the records; nothing may be printed.
        let lines = zone_lines(records);
        let print = self.confirm.is_none();
        Box::pin(async move {
            if print && std::io::stdin().is_terminal() {
                eprintln!("You may now delete these TXT records:\n{lines}");
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: &str) -> ChallengeRecord {
        ChallengeRecord {
            identifier: "example.test".into(),
            fqdn: "_acme-challenge.example.test.".into(),
            value: value.into(),
        }
    }

    fn answering(yes: bool, seen: Arc<std::sync::Mutex<Vec<String>>>) -> Confirm {
        Arc::new(move |records: Vec<ChallengeRecord>| {
            seen.lock()
                .unwrap()
                .extend(records.iter().map(|r| r.value.clone()));
            Box::pin(async move { yes })
        })
    }

    #[tokio::test]
    async fn a_scoped_callback_answers_instead_of_the_terminal() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let records = [record("v1"), record("v2")];
        let built = confirming(answering(true, Arc::clone(&seen)), async {
            ManualSolver::new()
        })
        .await;
        built.present(&records).await.unwrap();
        built.cleanup(&records).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), ["v1", "v2"]);
        let declined = ManualSolver::with_confirm(answering(false, Arc::clone(&seen)));
        let err = declined.present(&records).await.unwrap_err();
        assert!(matches!(err, SolverError::Cancelled), "{err}");
        assert!(
            ManualSolver::new().confirm.is_none(),
            "outside the scope: the terminal"
        );
    }
}
