//! ACME Renewal Information (RFC 9773): the CA's suggested renewal window per certificate.
//!
//! The window, the time certpilot picked inside it and the CA's Retry-After are kept in
//! `state/ari/<name>.json`, keyed by the certificate's serial: a `renew` run from cron every
//! few hours asks the CA again only after Retry-After, and keeps its chosen time while the
//! window stays the same (re-rolling the dice on every run would bunch renewals early).
//! A renewed certificate has a new serial, so its predecessor's state is simply ignored.

use std::path::{Path, PathBuf};
use std::time::Duration;

use instant_acme::CertificateIdentifier;
use rand_core::RngCore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::renewal_info::AriClient;
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
        let trusted = renewal::check_window(self.start, self.end, meta.not_after).is_ok();
        (self.serial == meta.serial && trusted).then_some(AriWindow {
            start: self.start,
            end: self.end,
            chosen: self.chosen,
        })
    }
}

pub use super::renewal_info::AriError;

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
///
/// # Errors
///
/// When the state cannot be serialized or the file cannot be written.
pub fn save(state_dir: &Path, name: &str, state: &AriState) -> Result<(), AriError> {
    let path = state_path(state_dir, name);
    let json = serde_json::to_vec_pretty(state).map_err(|e| AriError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    fsutil::write_atomic(&path, &json, Mode::Public).map_err(|source| AriError::Io { path, source })
}

/// The ARI identifier of the leaf (first certificate) of a PEM chain.
///
/// # Errors
///
/// When the PEM holds no certificate or the leaf lacks what an ARI identifier needs
/// (authority key identifier, serial).
pub fn cert_id(chain_pem: &str) -> Result<CertificateIdentifier<'static>, AriError> {
    let leaf = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .next()
        .ok_or_else(|| AriError::CertId("no certificate in the PEM".into()))?
        .map_err(|e| AriError::CertId(e.to_string()))?;
    CertificateIdentifier::try_from(&leaf)
        .map(CertificateIdentifier::into_owned)
        .map_err(AriError::CertId)
}

/// The identifier to send as `replaces` when renewing `name` with `account`, computed from
/// the stored certificate itself (so a forced renewal right after issuance sends it too);
/// only when `account` ordered that certificate (a CA refuses to let another account
/// replace it). A CA without ARI never sees it (see [`super::order::create`]). Reads the
/// store on the blocking pool.
pub async fn replaces(
    store: &CertStore,
    name: &str,
    account: &str,
) -> Option<CertificateIdentifier<'static>> {
    let (store, name) = (store.clone(), name.to_owned());
    let stored = fsutil::blocking_io(move || store.load(&name).ok().flatten()).await?;
    if stored.meta.account != account {
        return None;
    }
    match cert_id(&stored.chain_pem) {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::warn!(cert = %stored.meta.name, error = %e, "no `replaces` for the renewal order");
            None
        }
    }
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
///
/// # Errors
///
/// When the certificate's identifier cannot be built, the CA's `renewalInfo` cannot be
/// fetched or is unusable, or the state cannot be saved.
pub async fn refresh(
    client: &AriClient,
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
    let (info, retry_after) = client.fetch(&id).await?;
    let window = info.suggested_window;
    if let Err(fault) = renewal::check_window(window.start, window.end, meta.not_after) {
        // Treated as no answer: a window stored earlier must not steer `list` or `renew`.
        let (dir, name) = (state_dir.to_owned(), meta.name.clone());
        fsutil::blocking_io(move || forget(&dir, &name)).await?;
        return Err(AriError::Ignored {
            start: window.start,
            end: window.end,
            fault,
            explanation_url: info.explanation_url,
        });
    }
    // A window running past expiry is cut there: renewal comes before expiry.
    let end = window.end.min(meta.not_after);
    let chosen = match &previous {
        Some(p) if p.start == window.start && p.end == window.end => p.chosen,
        _ => renewal::choose_in_window(window.start, end, now, unit_random()),
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

/// Remove the stored state of `name` (absent is fine).
fn forget(state_dir: &Path, name: &str) -> Result<(), AriError> {
    let path = state_path(state_dir, name);
    match std::fs::remove_file(&path) {
        Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
            Err(AriError::Io { path, source })
        }
        _ => Ok(()),
    }
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

    /// A leaf with serial 0x0a and an Authority Key Identifier, signed by a throwaway CA.
    fn issued_chain() -> String {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["example.com".to_owned()]).unwrap();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x0a]));
        params.use_authority_key_identifier_extension = true;
        params.signed_by(&key, &issuer).unwrap().pem()
    }

    #[tokio::test]
    async fn replaces_comes_from_the_stored_certificate_for_the_account_that_ordered_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = CertStore::new(dir.path().join("certificates"));
        assert!(
            replaces(&store, "web", "a").await.is_none(),
            "nothing stored"
        );
        let chain = issued_chain();
        let meta = CertMeta {
            account: "a".into(),
            ..meta()
        };
        store.save(&meta, &chain).unwrap();
        // No ARI state was ever fetched: the identifier comes from the certificate.
        let id = replaces(&store, "web", "a").await.unwrap();
        assert_eq!(id.to_string(), cert_id(&chain).unwrap().to_string());
        assert!(
            id.to_string().ends_with(".Cg"),
            "{id}: base64url of serial 0x0a"
        );
        assert!(
            replaces(&store, "web", "b").await.is_none(),
            "b did not order it"
        );
    }

    #[test]
    fn untrusted_windows_are_not_offered_to_the_policy() {
        let expiring = CertMeta {
            not_after: datetime!(2026-02-20 0:00 UTC),
            ..meta()
        };
        assert!(
            state().window_for(&expiring).is_none(),
            "starts after expiry"
        );
        let inverted = AriState {
            start: state().end,
            end: state().start,
            ..state()
        };
        assert!(inverted.window_for(&meta()).is_none());
        assert!(state().window_for(&meta()).is_some());
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
