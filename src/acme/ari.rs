//! ACME Renewal Information (RFC 9773): the CA's suggested renewal window per certificate.
//!
//! The window, the time certpilot picked inside it and the CA's Retry-After are kept in
//! `state/ari/<name>.json`, keyed by the certificate's serial: a `renew` run from cron every
//! few hours asks the CA again only after Retry-After, and keeps its chosen time while the
//! window stays the same (re-rolling the dice on every run would bunch renewals early).
//! A renewed certificate has a new serial, so its predecessor's state is simply ignored.

use std::path::{Path, PathBuf};
use std::time::Duration;

use instant_acme::{Account, CertificateIdentifier};
use rand_core::RngCore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::problem;
use crate::cert::store::{CertMeta, CertStore};
use crate::domain::renewal::{self, AriWindow};
use crate::fsutil::{self, Mode};

/// Retry-After is clamped to this range: a CA asking for a minute-by-minute poll, or a
/// missing header, must not make every run fetch, and a week-long value must not hide a
/// changed window (an incident revocation) for that long.
const RETRY_AFTER_MIN: Duration = Duration::from_secs(60);
const RETRY_AFTER_MAX: Duration = Duration::from_secs(86_400);

/// What certpilot remembers about one certificate's ARI window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AriState {
    /// Serial (lower-case hex, as in the metadata) of the certificate the window is for.
    pub serial: String,
    /// The account that asked (its CA knows the certificate).
    pub account: String,
    /// The ARI certificate identifier (`base64url(AKI).base64url(serial)`), sent as
    /// `replaces` with the renewal order.
    pub cert_id: String,
    /// Suggested window start.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// Suggested window end.
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    /// The renewal time picked inside the window.
    #[serde(with = "time::serde::rfc3339")]
    pub chosen: OffsetDateTime,
    /// Not to be asked again before this (the CA's Retry-After).
    #[serde(with = "time::serde::rfc3339")]
    pub retry_after: OffsetDateTime,
    /// The CA's explanation of the window, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation_url: Option<String>,
}

impl AriState {
    /// The window for the pure policy, if this state belongs to `meta`'s certificate.
    ///
    /// Only the serial decides: the window is the CA's advice about that certificate,
    /// whichever account asked for it (see [`cached`]).
    #[must_use]
    pub fn window_for(&self, meta: &CertMeta) -> Option<AriWindow> {
        (self.serial == meta.serial).then_some(AriWindow {
            start: self.start,
            end: self.end,
            chosen: self.chosen,
        })
    }
}

/// Why no window could be had.
#[derive(Debug, thiserror::Error)]
pub enum AriError {
    /// The CA's directory has no `renewalInfo`.
    #[error("the CA does not offer ACME renewal information (ARI)")]
    Unsupported,
    /// The certificate has no Authority Key Identifier, or its PEM is unreadable.
    #[error("cannot identify the certificate for ARI: {0}")]
    CertId(String),
    /// The request failed.
    #[error("the ARI request failed: {0}")]
    Fetch(String),
    /// The state file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Where the state of certificate `name` lives.
#[must_use]
pub fn state_path(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join("ari").join(format!("{name}.json"))
}

/// The stored state; `None` when absent or unreadable (it is only a cache of the CA's
/// answer, so an unreadable file costs one request, never a run).
#[must_use]
pub fn load(state_dir: &Path, name: &str) -> Option<AriState> {
    let path = state_path(state_dir, name);
    let text = std::fs::read_to_string(&path).ok()?;
    match serde_json::from_str(&text) {
        Ok(state) => Some(state),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable ARI state");
            None
        }
    }
}

/// The stored state of `meta`'s certificate, as seen by the account the next request goes
/// through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cached {
    /// Asked for by `account` and Retry-After has not passed: use it, ask nobody.
    Fresh(AriState),
    /// The certificate's window, but due to be asked again (Retry-After passed, or another
    /// account asked): still the best fallback when asking fails, and what a screen shows.
    Stale(AriState),
    /// Nothing stored for this certificate (absent, unreadable, or an earlier serial's).
    None,
}

impl Cached {
    /// The stored window, fresh or stale.
    #[must_use]
    pub fn state(self) -> Option<AriState> {
        match self {
            Cached::Fresh(state) | Cached::Stale(state) => Some(state),
            Cached::None => None,
        }
    }
}

/// What is stored for `meta`'s certificate, judged for `account` (the configured account,
/// which the next ARI request and the renewal order use; `None` when none is configured)
/// at `now`. Blocking (one small read): async callers wrap it in
/// [`fsutil::blocking_io`].
///
/// Which account counts: a window is the CA's advice about one certificate, so it belongs to
/// the stored certificate's serial, not to an account: after the configured account changes
/// it is still that certificate's window, and it keeps steering the decision (the metadata's
/// account, the one that ordered it, does not matter either). Retry-After, though, was the
/// answer to whoever asked, at the CA that account talks to: a state another account asked
/// for is stale, so the configured account asks again (if its CA does not know the
/// certificate, the stale window stays the fallback). `renew` and [`refresh`] agree on
/// this because both ask here.
#[must_use]
pub fn cached(
    state_dir: &Path,
    meta: &CertMeta,
    account: Option<&str>,
    now: OffsetDateTime,
) -> Cached {
    match load(state_dir, &meta.name) {
        Some(state) if state.window_for(meta).is_none() => Cached::None,
        Some(state) if account == Some(state.account.as_str()) && now < state.retry_after => {
            Cached::Fresh(state)
        }
        Some(state) => Cached::Stale(state),
        None => Cached::None,
    }
}

/// Write the state atomically.
pub fn save(state_dir: &Path, name: &str, state: &AriState) -> Result<(), AriError> {
    let path = state_path(state_dir, name);
    let json = serde_json::to_vec_pretty(state).map_err(|e| AriError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    fsutil::write_atomic(&path, &json, Mode::Public).map_err(|source| AriError::Io { path, source })
}

/// The ARI identifier of the leaf (first certificate) of a PEM chain.
pub fn cert_id(chain_pem: &str) -> Result<CertificateIdentifier<'static>, AriError> {
    let leaf = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .next()
        .ok_or_else(|| AriError::CertId("no certificate in the PEM".into()))?
        .map_err(|e| AriError::CertId(e.to_string()))?;
    CertificateIdentifier::try_from(&leaf)
        .map(CertificateIdentifier::into_owned)
        .map_err(AriError::CertId)
}

/// The identifier to send as `replaces` when renewing `name` with `account`: only when
/// `account` ordered the stored certificate (a CA refuses to let another account replace
/// it) and asked for its window (so its CA offers ARI and knows the certificate). Reads
/// two files on the blocking pool.
pub async fn replaces(
    store: &CertStore,
    state_dir: &Path,
    name: &str,
    account: &str,
) -> Option<CertificateIdentifier<'static>> {
    let (store, state_dir, name) = (store.clone(), state_dir.to_owned(), name.to_owned());
    let (meta, state) = fsutil::blocking_io(move || {
        let meta = store.load_meta(&name).ok().flatten()?;
        let state = load(&state_dir, &name)?;
        Some((meta, state))
    })
    .await?;
    if meta.account != account || state.account != account || state.window_for(&meta).is_none() {
        return None;
    }
    let (aki, serial) = state.cert_id.split_once('.')?;
    Some(CertificateIdentifier {
        authority_key_identifier: aki.to_owned().into(),
        serial: serial.to_owned().into(),
    })
}

/// Whether [`refresh`] asked the CA or reused what it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Fetched now.
    Fetched,
    /// Retry-After has not passed: the stored state was used.
    Cached,
}

/// The window for a stored certificate: the stored state while it is [`Cached::Fresh`] for
/// `account_name`, else the CA's current answer (persisted). The chosen time is kept while the window is
/// unchanged; a new window gets a new uniformly random time in it.
pub async fn refresh(
    account: &Account,
    account_name: &str,
    state_dir: &Path,
    meta: &CertMeta,
    chain_pem: &str,
    now: OffsetDateTime,
) -> Result<(AriState, Freshness), AriError> {
    let (dir, stored, name) = (state_dir.to_owned(), meta.clone(), account_name.to_owned());
    let judged = fsutil::blocking_io(move || cached(&dir, &stored, Some(&name), now)).await;
    let previous = match judged {
        Cached::Fresh(state) => return Ok((state, Freshness::Cached)),
        Cached::Stale(state) => Some(state),
        Cached::None => None,
    };
    let id = cert_id(chain_pem)?;
    let (info, retry_after) = account.renewal_info(&id).await.map_err(|e| match e {
        instant_acme::Error::Unsupported(_) => AriError::Unsupported,
        other => AriError::Fetch(problem::describe(&other)),
    })?;
    let window = info.suggested_window;
    let chosen = match &previous {
        Some(p) if p.start == window.start && p.end == window.end => p.chosen,
        _ => renewal::choose_in_window(window.start, window.end, now, unit_random()),
    };
    let wait = retry_after.clamp(RETRY_AFTER_MIN, RETRY_AFTER_MAX);
    let state = AriState {
        serial: meta.serial.clone(),
        account: account_name.to_owned(),
        cert_id: id.to_string(),
        start: window.start,
        end: window.end,
        chosen,
        retry_after: now + wait,
        explanation_url: info.explanation_url,
    };
    let (dir, name, saved) = (state_dir.to_owned(), meta.name.clone(), state.clone());
    fsutil::blocking_io(move || save(&dir, &name, &saved)).await?;
    Ok((state, Freshness::Fetched))
}

/// Uniform in `[0, 1)` from the OS RNG (53 bits: an f64's mantissa).
fn unit_random() -> f64 {
    #[allow(clippy::cast_precision_loss)] // exact: both values are below 2^53
    let unit = (rand_core::OsRng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    unit
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn meta() -> CertMeta {
        CertMeta {
            serial: "0a".into(),
            ..crate::cert::store::tests::meta("web")
        }
    }

    fn state() -> AriState {
        AriState {
            serial: "0a".into(),
            account: "a".into(),
            cert_id: "aki.c2VyaWFs".into(),
            start: datetime!(2026-03-01 0:00 UTC),
            end: datetime!(2026-03-03 0:00 UTC),
            chosen: datetime!(2026-03-02 5:00 UTC),
            retry_after: datetime!(2026-02-01 6:00 UTC),
            explanation_url: None,
        }
    }

    #[test]
    fn state_round_trips_and_belongs_to_its_serial_and_account() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path(), "web").is_none());
        save(dir.path(), "web", &state()).unwrap();
        let back = load(dir.path(), "web").unwrap();
        assert_eq!(back, state());
        assert_eq!(back.window_for(&meta()).unwrap().chosen, state().chosen);
        let renewed = CertMeta {
            serial: "0b".into(),
            ..meta()
        };
        assert!(
            back.window_for(&renewed).is_none(),
            "a new serial ignores it"
        );
    }

    #[test]
    fn an_account_change_keeps_the_window_but_asks_again() {
        let dir = tempfile::tempdir().unwrap();
        let before = datetime!(2026-02-01 5:00 UTC);
        let after = datetime!(2026-02-01 7:00 UTC);
        assert_eq!(cached(dir.path(), &meta(), Some("a"), before), Cached::None);
        save(dir.path(), "web", &state()).unwrap();
        assert_eq!(
            cached(dir.path(), &meta(), Some("a"), before),
            Cached::Fresh(state())
        );
        assert_eq!(
            cached(dir.path(), &meta(), Some("a"), after),
            Cached::Stale(state()),
            "Retry-After passed"
        );
        // The configured account changed from "a" to "b": b's CA has not answered yet,
        // but the window is still the stored certificate's (the fallback, and shown).
        assert_eq!(
            cached(dir.path(), &meta(), Some("b"), before),
            Cached::Stale(state())
        );
        assert_eq!(
            cached(dir.path(), &meta(), None, before),
            Cached::Stale(state())
        );
        // Once "b" asked, its answer is fresh for "b" although "a" ordered the certificate.
        let asked_by_b = AriState {
            account: "b".into(),
            ..state()
        };
        save(dir.path(), "web", &asked_by_b).unwrap();
        assert_eq!(
            cached(dir.path(), &meta(), Some("b"), before),
            Cached::Fresh(asked_by_b.clone())
        );
        assert!(asked_by_b.window_for(&meta()).is_some());
        let renewed = CertMeta {
            serial: "0b".into(),
            ..meta()
        };
        assert_eq!(
            cached(dir.path(), &renewed, Some("b"), before),
            Cached::None
        );
    }

    #[tokio::test]
    async fn replaces_only_for_the_account_that_ordered_and_asked() {
        let dir = tempfile::tempdir().unwrap();
        let store = CertStore::new(dir.path().join("certificates"));
        let meta = CertMeta {
            account: "a".into(),
            ..meta()
        };
        store.save_meta(&meta).unwrap();
        let state_dir = dir.path().join("state");
        assert!(replaces(&store, &state_dir, "web", "a").await.is_none());
        save(&state_dir, "web", &state()).unwrap();
        let id = replaces(&store, &state_dir, "web", "a").await.unwrap();
        assert_eq!(id.to_string(), "aki.c2VyaWFs");
        assert!(
            replaces(&store, &state_dir, "web", "b").await.is_none(),
            "b did not order it"
        );
        let asked_by_b = AriState {
            account: "b".into(),
            ..state()
        };
        save(&state_dir, "web", &asked_by_b).unwrap();
        assert!(replaces(&store, &state_dir, "web", "a").await.is_none());
        assert!(replaces(&store, &state_dir, "web", "b").await.is_none());
    }

    #[test]
    fn corrupt_state_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ari")).unwrap();
        std::fs::write(state_path(dir.path(), "web"), "{not json").unwrap();
        assert!(load(dir.path(), "web").is_none());
    }

    #[test]
    fn cert_id_needs_a_certificate_with_an_aki() {
        let err = cert_id("no pem here").unwrap_err().to_string();
        assert!(err.contains("no certificate"), "{err}");
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["example.com".to_owned()]).unwrap();
        let self_signed = params.self_signed(&key).unwrap();
        let err = cert_id(&self_signed.pem()).unwrap_err().to_string();
        assert!(err.contains("Authority Key Identifier"), "{err}");
    }

    #[test]
    fn unit_random_is_in_range() {
        for _ in 0..1000 {
            let u = unit_random();
            assert!((0.0..1.0).contains(&u), "{u}");
        }
    }
}
