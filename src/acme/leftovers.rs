//! Challenge records an issuance could not remove (a cleanup hook that failed or hung past
//! `hook_timeout`). Its journal keeps listing them, so they are shown (the warning after an
//! issuance, `list`) and removed by the next run, even when no certificate is due.

use std::path::Path;

use super::engine::IssueContext;
use super::journal::{JournalFile, JournalStep};
use super::recovery;
use crate::cert::store::CertStore;
use crate::fsutil::blocking_io;
use crate::solver::ChallengeRecord;

/// The records certificate `name`'s journal still lists; empty without a journal (or with
/// one that cannot be read: the issuance engine reports that).
#[must_use]
pub fn left_behind(state_dir: &Path, name: &str) -> Vec<ChallengeRecord> {
    match JournalFile::new(state_dir, name).load() {
        Ok(Some(journal)) => journal.records.iter().map(|r| r.challenge()).collect(),
        _ => Vec::new(),
    }
}

/// Whether certificate `name` has leftover records that [`retry_cleanup`] may remove now:
/// its issuance finished (the metadata names its key) or never got its certificate. An
/// issuance past the download but not stored is the engine's to finish.
#[must_use]
pub fn retryable(state_dir: &Path, store: &CertStore, name: &str) -> bool {
    let Ok(Some(journal)) = JournalFile::new(state_dir, name).load() else {
        return false;
    };
    let current = store.load_meta(name).ok().flatten().map(|m| m.key_id);
    !journal.records.is_empty()
        && (journal.completed(current.as_deref()) || journal.step < JournalStep::Downloaded)
}

/// Ask the solvers again to remove what certificate `name`'s journal lists (see
/// [`retryable`]); the journal goes once everything is removed. Returns the records still
/// left (empty: all removed).
pub async fn retry_cleanup(ctx: &IssueContext, name: &str) -> Vec<ChallengeRecord> {
    let (state, store, owned) = (ctx.state_dir.clone(), ctx.store.clone(), name.to_owned());
    let loaded = blocking_io(move || {
        let current = store.load_meta(&owned).ok().flatten().map(|m| m.key_id);
        (JournalFile::new(&state, &owned).load(), current)
    })
    .await;
    let (Ok(Some(journal)), current) = loaded else {
        return Vec::new();
    };
    if recovery::abandon(ctx, &journal, current.as_deref()).await {
        let file = JournalFile::new(&ctx.state_dir, name);
        match blocking_io(move || file.remove()).await {
            Ok(()) => return Vec::new(),
            Err(e) => tracing::warn!(cert = name, error = %e, "could not remove the journal"),
        }
    }
    left_behind(&ctx.state_dir, name)
}
