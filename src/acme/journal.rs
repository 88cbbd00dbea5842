//! The issuance journal: `state/journal/<name>.json`, one per certificate being issued.
//!
//! The engine writes it (atomically) *before* each step whose effect outlives the process:
//! the order URL once the CA created the order, the challenge records before they are handed
//! to the solvers, the new key's id before the key goes into the keyring. A process killed
//! at any point therefore leaves a journal that names everything it may have left behind,
//! and the next run for the same certificate either resumes the order or cleans up (see
//! `recovery`). The journal holds nothing secret: TXT values are public, key ids are names.
//!
//! Test hook: with `CERTPILOT_TEST_ENV=1` and `CERTPILOT_TEST_PAUSE_AT=<step>`, the engine
//! writes `state/paused-at-<step>` when it reaches `<step>` and then waits forever, so a
//! test can kill it with SIGKILL at a known point (see [`pause_point`]).

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::fsutil::{self, Mode};
use crate::solver::ChallengeRecord;

/// How far an issuance got. Ordered: a later step implies the earlier ones happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JournalStep {
    /// Nothing sent to the CA yet.
    Started,
    /// The CA created the order (its URL is recorded).
    OrderCreated,
    /// The records are being (or were) handed to the solvers.
    Publishing,
    /// The CA was told to validate.
    ChallengesAnswered,
    /// The new key's id is recorded; the key is being (or was) put into the keyring.
    KeyPending,
    /// The certificate was downloaded; the files are being replaced.
    Downloaded,
}

/// One challenge record the journal remembers, with the domain whose solver published it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRecord {
    /// The name validated (`*.example.com`).
    pub identifier: String,
    /// Owner name with trailing dot.
    pub fqdn: String,
    /// The TXT value.
    pub value: String,
    /// The configured domain whose solver published it (`example.com`).
    pub solver: String,
}

impl JournalRecord {
    /// The record as the solvers take it.
    #[must_use]
    pub fn challenge(&self) -> ChallengeRecord {
        ChallengeRecord {
            identifier: self.identifier.clone(),
            fqdn: self.fqdn.clone(),
            value: self.value.clone(),
        }
    }
}

/// What one issuance has done so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// Certificate name.
    pub cert: String,
    /// The account the order belongs to.
    pub account: String,
    /// The names ordered (a resumed order must still match the configuration).
    pub names: Vec<String>,
    /// The step reached.
    pub step: JournalStep,
    /// The order URL, once the CA created it.
    #[serde(default)]
    pub order_url: Option<String>,
    /// Records handed to solvers (possibly only partly published when the process died).
    #[serde(default)]
    pub records: Vec<JournalRecord>,
    /// Keyring id of the key being put in place (`cert-key:<cert>:<id>`).
    #[serde(default)]
    pub new_key_id: Option<String>,
    /// Keyring id of the key the stored certificate had when this issuance began.
    #[serde(default)]
    pub old_key_id: Option<String>,
    /// When the journal was last written.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Journal {
    /// A fresh journal for an issuance that has not contacted the CA yet.
    #[must_use]
    pub fn start(cert: &str, account: &str, names: &[String], old_key_id: Option<String>) -> Self {
        Self {
            cert: cert.to_owned(),
            account: account.to_owned(),
            names: names.to_vec(),
            step: JournalStep::Started,
            order_url: None,
            records: Vec::new(),
            new_key_id: None,
            old_key_id,
            updated_at: OffsetDateTime::now_utc(),
        }
    }

    /// Remember `records` (published by `solver`) in addition to those already listed.
    pub fn add_records<'a>(
        &mut self,
        records: impl IntoIterator<Item = (&'a str, &'a ChallengeRecord)>,
    ) {
        for (solver, r) in records {
            let entry = JournalRecord {
                identifier: r.identifier.clone(),
                fqdn: r.fqdn.clone(),
                value: r.value.clone(),
                solver: solver.to_owned(),
            };
            if !self.records.contains(&entry) {
                self.records.push(entry);
            }
        }
    }

    /// The key ids this journal names that must leave the keyring once `current` (the key
    /// the metadata on disk names) is known, when the issuance is not going to continue.
    #[must_use]
    pub fn keys_to_delete(&self, current: Option<&str>) -> Vec<String> {
        let mut ids = Vec::new();
        for id in [&self.new_key_id, &self.old_key_id].into_iter().flatten() {
            if Some(id.as_str()) != current && !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        // The old key stays while the metadata still names it (a crash before the save).
        ids.retain(|id| self.old_key_id.as_deref() != Some(id) || self.completed(current));
        ids
    }

    /// Whether the files already name the new key (the crash came after the metadata save).
    #[must_use]
    pub fn completed(&self, current: Option<&str>) -> bool {
        self.new_key_id.is_some() && self.new_key_id.as_deref() == current
    }
}

/// Why the journal could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// File system error.
    #[error("issuance journal {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Not a journal certpilot wrote.
    #[error("issuance journal {path} is unreadable ({detail}); remove it after checking the keyring for a stray cert-key entry")]
    Bad {
        /// The file.
        path: PathBuf,
        /// serde's message.
        detail: String,
    },
}

/// The journal file of one certificate.
#[derive(Debug, Clone)]
pub struct JournalFile {
    path: PathBuf,
}

impl JournalFile {
    /// `state_dir/journal/<cert>.json`.
    #[must_use]
    pub fn new(state_dir: &Path, cert: &str) -> Self {
        Self {
            path: state_dir.join("journal").join(format!("{cert}.json")),
        }
    }

    /// Where it lives.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The journal of an interrupted issuance, `None` when the last one finished.
    ///
    /// # Errors
    /// The file exists but cannot be read or parsed.
    pub fn load(&self) -> Result<Option<Journal>, JournalError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(JournalError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| JournalError::Bad {
                path: self.path.clone(),
                detail: e.to_string(),
            })
    }

    /// Write `journal` atomically (stamping its time).
    ///
    /// # Errors
    /// The state directory is not writable.
    pub fn save(&self, journal: &mut Journal) -> Result<(), JournalError> {
        journal.updated_at = OffsetDateTime::now_utc();
        let json = serde_json::to_vec_pretty(journal).map_err(|e| JournalError::Bad {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        fsutil::write_atomic(&self.path, &json, Mode::Private).map_err(|source| JournalError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Remove the journal: the issuance finished or failed cleanly.
    ///
    /// # Errors
    /// The file exists and cannot be removed.
    pub fn remove(&self) -> Result<(), JournalError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(JournalError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

/// Environment variable that enables test hooks (must be `1`).
pub const TEST_ENV: &str = "CERTPILOT_TEST_ENV";
/// Environment variable naming the step [`pause_point`] stops at.
pub const PAUSE_ENV: &str = "CERTPILOT_TEST_PAUSE_AT";

/// Steps a test can stop the engine at, in the order the engine reaches them.
pub const PAUSE_STEPS: [&str; 7] = [
    "order-created",
    "records-published",
    "challenges-answered",
    "key-stored",
    "finalized",
    "chain-saved",
    "saved",
];

/// Test hook: when `CERTPILOT_TEST_ENV=1` and `CERTPILOT_TEST_PAUSE_AT=<step>`, write
/// `state_dir/paused-at-<step>` and never return (the test kills the process). Without
/// both variables this returns at once.
pub async fn pause_point(state_dir: &Path, step: &str) {
    if std::env::var(TEST_ENV).as_deref() != Ok("1")
        || std::env::var(PAUSE_ENV).as_deref() != Ok(step)
    {
        return;
    }
    let marker = state_dir.join(format!("paused-at-{step}"));
    let pid = std::process::id().to_string();
    if let Err(e) = fsutil::write_atomic(&marker, pid.as_bytes(), Mode::Private) {
        tracing::error!(error = %e, "could not write the test pause marker");
    }
    tracing::warn!(step, "test pause: waiting to be killed");
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal() -> Journal {
        Journal::start("web", "acme", &["example.com".into()], Some("old".into()))
    }

    #[test]
    fn round_trips_and_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = JournalFile::new(dir.path(), "web");
        assert!(file.load().unwrap().is_none());
        let mut j = journal();
        j.step = JournalStep::Publishing;
        j.order_url = Some("https://ca/order/1".into());
        let record = ChallengeRecord {
            identifier: "*.example.com".into(),
            fqdn: "_acme-challenge.example.com.".into(),
            value: "v".into(),
        };
        j.add_records([("example.com", &record), ("example.com", &record)]);
        assert_eq!(j.records.len(), 1, "a record is listed once");
        file.save(&mut j).unwrap();
        assert_eq!(file.load().unwrap().unwrap(), j);
        assert_eq!(j.records[0].challenge(), record);
        file.remove().unwrap();
        file.remove().unwrap();
        assert!(file.load().unwrap().is_none());
        assert!(file.path().ends_with("journal/web.json"));
    }

    #[test]
    fn corrupt_journal_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = JournalFile::new(dir.path(), "web");
        std::fs::create_dir_all(file.path().parent().unwrap()).unwrap();
        std::fs::write(file.path(), "{").unwrap();
        let err = file.load().unwrap_err().to_string();
        assert!(err.contains("journal/web.json"), "{err}");
    }

    /// (new key, metadata's key) → keys to delete when not continuing, and completion.
    #[test]
    fn keys_to_delete_never_touch_the_key_the_metadata_names() {
        type Case = (
            Option<&'static str>,
            Option<&'static str>,
            &'static [&'static str],
            bool,
        );
        let cases: [Case; 5] = [
            // Crash before the new key was named: nothing to delete.
            (None, Some("old"), &[], false),
            // New key put, metadata still names the old one: drop the new one only.
            (Some("new"), Some("old"), &["new"], false),
            // Metadata saved with the new key: the old one goes.
            (Some("new"), Some("new"), &["old"], true),
            // Metadata gone (first issuance crashed before saving): the new one goes.
            (Some("new"), None, &["new"], false),
            // Metadata names a third key (someone else issued since): keep the old alone.
            (Some("new"), Some("other"), &["new"], false),
        ];
        for (new, current, want, done) in cases {
            let mut j = journal();
            j.new_key_id = new.map(str::to_owned);
            assert_eq!(
                j.keys_to_delete(current),
                want,
                "new={new:?} current={current:?}"
            );
            assert_eq!(j.completed(current), done);
        }
    }

    #[test]
    fn steps_are_ordered_and_serialise_kebab_case() {
        assert!(JournalStep::Started < JournalStep::Downloaded);
        assert!(JournalStep::KeyPending > JournalStep::ChallengesAnswered);
        assert_eq!(
            serde_json::to_string(&JournalStep::ChallengesAnswered).unwrap(),
            "\"challenges-answered\""
        );
    }
}
