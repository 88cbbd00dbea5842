//! "Test the credentials": publish a harmless TXT record with a domain's solver and remove it
//! again. Checks the server, the key and the update policy without asking a CA.

use super::{ChallengeRecord, Solver, SolverError};

/// The record a trial publishes for `domain`: `_certpilot-test.<domain>.` with a random value.
#[must_use]
pub fn trial_record(domain: &str) -> ChallengeRecord {
    let value = uuid::Uuid::new_v4().simple().to_string();
    ChallengeRecord {
        identifier: domain.to_owned(),
        fqdn: format!("_certpilot-test.{}.", domain.trim_end_matches('.')),
        value,
    }
}

/// Publish `record` with `solver`, then remove it; the removal is tried even when publishing
/// failed (a half-applied change must not stay).
///
/// # Errors
/// The first failure, publishing before removing.
pub async fn run_trial(solver: &dyn Solver, record: &ChallengeRecord) -> Result<(), SolverError> {
    let records = std::slice::from_ref(record);
    let presented = solver.present(records).await;
    let cleaned = solver.cleanup(records).await;
    presented.and(cleaned)
}
