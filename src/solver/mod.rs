//! Publishing DNS-01 challenge records.
//!
//! A [`Solver`] adds one TXT value at an owner name and removes it again. Apex and wildcard
//! share `_acme-challenge.<apex>`, so a solver must *add* values, never replace the record set.
//! acme-dns drops in as another implementation of the same trait.

mod exec;
pub mod manual;
pub mod trial;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use exec::ExecSolver;
pub use manual::ManualSolver;

/// One TXT value to publish.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChallengeRecord {
    /// The name being validated (`example.com` or `*.example.com`).
    pub identifier: String,
    /// Owner name, absolute with trailing dot: `_acme-challenge.example.com.`
    pub fqdn: String,
    /// The TXT value (base64url SHA-256 of the key authorization).
    pub value: String,
}

impl ChallengeRecord {
    /// The record as a zone-file line.
    #[must_use]
    pub fn zone_line(&self) -> String {
        format!("{} 60 IN TXT \"{}\"", self.fqdn, self.value)
    }
}

/// Why a solver failed.
#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    /// The hook exited non-zero.
    #[error("{command} {action} {fqdn} exited with {status}{output}")]
    HookFailed {
        /// The program.
        command: String,
        /// `present` or `cleanup`.
        action: &'static str,
        /// The owner name.
        fqdn: String,
        /// Exit status.
        status: String,
        /// Last lines of its stderr/stdout, prefixed for display.
        output: String,
    },
    /// The hook did not finish in time (it was killed).
    #[error("{command} {action} {fqdn} did not finish within {}s and was killed", .timeout.as_secs())]
    HookTimeout {
        /// The program.
        command: String,
        /// `present` or `cleanup`.
        action: &'static str,
        /// The owner name.
        fqdn: String,
        /// The limit.
        timeout: Duration,
    },
    /// The hook could not be started.
    #[error("cannot run {command}: {source}")]
    Spawn {
        /// The program.
        command: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The manual solver needs an operator and there is none.
    #[error("waiting for you: create these TXT records (keep existing values), then run the same command again (with or without a terminal); the order and its values are kept:\n{records}")]
    NoTerminal {
        /// The records, one zone-file line each.
        records: String,
    },
    /// The operator declined.
    #[error("cancelled by the operator")]
    Cancelled,
    /// A DNS provider (RFC 2136 server, PowerDNS API) refused or failed; `detail` has the hint.
    #[error("{solver}: {detail}")]
    Provider {
        /// The solver, as [`Solver::describe`] says it.
        solver: String,
        /// What went wrong and what to change.
        detail: String,
    },
}

/// A boxed future, so solvers can be trait objects.
pub type SolverFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SolverError>> + Send + 'a>>;

/// A DNS provider's step (`present` or `cleanup`) as a solver future: its error, with its
/// hint, becomes [`SolverError::Provider`] naming `solver`.
pub fn provider_step<'a, T, E: std::fmt::Display>(
    solver: String,
    step: impl Future<Output = Result<T, E>> + Send + 'a,
) -> SolverFuture<'a> {
    Box::pin(async move {
        step.await.map(|_| ()).map_err(|e| SolverError::Provider {
            solver,
            detail: e.to_string(),
        })
    })
}

/// Publishes and removes challenge records.
pub trait Solver: Send + Sync {
    /// A short name for messages (`exec /usr/local/bin/hook`).
    fn describe(&self) -> String;
    /// Publish every record (called once per order with all records of this solver).
    fn present<'a>(&'a self, records: &'a [ChallengeRecord]) -> SolverFuture<'a>;
    /// Remove every record; called after validation, also when issuance failed.
    fn cleanup<'a>(&'a self, records: &'a [ChallengeRecord]) -> SolverFuture<'a>;
}
