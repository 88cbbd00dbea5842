//! The `manual` solver: shows the records and waits for the operator to confirm.

use std::io::{BufRead, IsTerminal, Write};

use super::{ChallengeRecord, Solver, SolverError, SolverFuture};

/// Asks a human. Without a terminal it fails with the records in the message, so a cron job
/// says exactly what was needed instead of hanging.
#[derive(Debug, Default, Clone)]
pub struct ManualSolver;

impl ManualSolver {
    /// The solver.
    pub fn new() -> Self {
        Self
    }
}

fn zone_lines(records: &[ChallengeRecord]) -> String {
    records
        .iter()
        .map(ChallengeRecord::zone_line)
        .collect::<Vec<_>>()
        .join("\n")
}

async fn ask(prompt: String, records: String) -> Result<(), SolverError> {
    if !std::io::stdin().is_terminal() {
        return Err(SolverError::NoTerminal { records });
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
        let lines = zone_lines(records);
        let prompt = format!(
            "Create these TXT records (keep existing values; apex and wildcard share a name):\n{lines}\nPress Enter when they are published (n to cancel): "
        );
        Box::pin(ask(prompt, lines))
    }

    fn cleanup<'a>(&'a self, records: &'a [ChallengeRecord]) -> SolverFuture<'a> {
        // Removing is optional for the operator; print and carry on rather than block. Without
        // a terminal nothing was created (present failed), so there is nothing to say.
        let lines = zone_lines(records);
        Box::pin(async move {
            if std::io::stdin().is_terminal() {
                eprintln!("You may now delete these TXT records:\n{lines}");
            }
            Ok(())
        })
    }
}
