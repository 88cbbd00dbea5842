//! Challenge records an issuance could not remove (a cleanup hook that failed or hung past
//! `hook_timeout`). Its journal keeps listing them, so they are shown (the warning after an
//! issuance, `list`) and removed by the next run, even when no certificate is due.

use std::path::Path;

use super::journal::JournalFile;
use super::recovery;
use super::run::IssueContext;
use crate::cert::store::CertStore;
use crate::fsutil::blocking_io;
use crate::solver::ChallengeRecord;

/// The records certificate `name`'s journal still lists although its issuance finished (the
/// metadata names the journal's key): what its cleanup left in DNS. Empty otherwise; the
/// journal of an issuance still under way (one waiting for manual records, one interrupted)
/// is the engine's to finish.
#[must_use]
pub fn left_behind(state_dir: &Path, store: &CertStore, name: &str) -> Vec<ChallengeRecord> {
    let Ok(Some(journal)) = JournalFile::new(state_dir, name).load() else {
        return Vec::new();
    };
    let current = store.load_meta(name).ok().flatten().map(|m| m.key_id);
    if !journal.completed(current.as_deref()) {
        return Vec::new();
    }
    journal
        .records
        .iter()
        .map(super::journal::JournalRecord::challenge)
        .collect()
}

/// Ask the solvers again to remove what [`left_behind`] lists; the journal goes once
/// everything is removed. Returns the records still left (empty: all removed).
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
    if journal.records.is_empty() || !journal.completed(current.as_deref()) {
        return Vec::new();
    }
    if recovery::abandon(ctx, &journal, current.as_deref()).await {
        let file = JournalFile::new(&ctx.state_dir, name);
        match blocking_io(move || file.remove()).await {
            Ok(()) => return Vec::new(),
            Err(e) => tracing::warn!(cert = name, error = %e, "could not remove the journal"),
        }
    }
    left_behind(&ctx.state_dir, &ctx.store, name)
}
