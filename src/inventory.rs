//! What `certpilot list` and the dashboard show: one row per configured certificate.

use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::renewal::CertStatus;

/// One certificate as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CertRow {
    /// Certificate name (config key, folder name).
    pub name: String,
    /// Configured names.
    pub names: Vec<String>,
    /// `notAfter` of the stored certificate.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    /// Whole days until `not_after` (negative when expired).
    pub days_left: Option<i64>,
    /// Status for display and scripting.
    pub status: CertStatus,
    /// Issuer common name (or full DN when it has no CN).
    pub issuer: Option<String>,
    /// Serial number, lower-case hex.
    pub serial: Option<String>,
    /// Configured key type.
    pub key_type: String,
    /// Account name.
    pub account: Option<String>,
    /// When renewal is due (`null`: now; see `renewal`).
    #[serde(with = "time::serde::rfc3339::option")]
    pub renew_at: Option<OffsetDateTime>,
    /// The next renewal in words: `renew from 2027-01-10 (1/3 of lifetime left)`,
    /// `renew at … (ARI window …)`, `due now: names changed: +www.example.com`.
    pub renewal: String,
    /// The configured certificate profile (`null`: the CA's default).
    pub profile: Option<String>,
    /// The CA's `explanationURL` for the stored certificate's ARI window, if it gave one.
    pub ari_explanation_url: Option<String>,
}

use crate::acme::ari;
use crate::cert::store::{CertMeta, CertStore, StoreError};
use crate::config::{CertConfig, Config};
use crate::domain::renewal::{self, Decision, Stored, Wanted};
use crate::paths::Paths;

/// The user's renewal threshold of a certificate: its own, else the global setting;
/// `None` leaves it to the CA's ARI window or the lifetime rule.
#[must_use]
pub fn renew_days(config: &Config, cert: &CertConfig) -> Option<u32> {
    cert.renew_days.or(config.settings.renew_days)
}

/// The policy's view of a stored certificate, with the ARI window last fetched for it.
#[must_use]
pub fn stored_view<'a>(meta: &'a CertMeta, ari: Option<&ari::AriState>) -> Stored<'a> {
    Stored {
        names: &meta.names,
        key_type: &meta.key_type,
        not_before: meta.not_before,
        not_after: meta.not_after,
        revoked: meta.revoked.is_some(),
        ari: ari.and_then(|state| state.window_for(meta)),
    }
}

/// The next renewal of one configured certificate from what is on disk (metadata and the
/// stored ARI window; no network): what `list` and the dashboard show. `renew` decides the
/// same way after refreshing the ARI window.
#[must_use]
pub fn next_renewal(
    paths: &Paths,
    config: &Config,
    cert: &CertConfig,
    meta: Option<&CertMeta>,
    now: OffsetDateTime,
) -> Decision {
    let state =
        meta.and_then(|m| ari::cached(&paths.state, m, config.account_for(cert), now).state());
    next_renewal_with(config, cert, meta, state.as_ref(), now)
}

/// [`next_renewal`] with the ARI state already read (by [`ari::cached`]).
#[must_use]
pub fn next_renewal_with(
    config: &Config,
    cert: &CertConfig,
    meta: Option<&CertMeta>,
    ari: Option<&ari::AriState>,
    now: OffsetDateTime,
) -> Decision {
    let key_type = cert.key_type.to_string();
    let wanted = Wanted {
        names: &cert.names,
        key_type: &key_type,
        renew_days: renew_days(config, cert),
    };
    let view = meta.map(|m| stored_view(m, ari));
    renewal::next_renewal(&wanted, view.as_ref(), now)
}

/// One row per configured certificate, from the metadata files (no x509 parsing, no network:
/// this is what `list` and the dashboard's first frame pay for).
///
/// # Errors
///
/// When a certificate's metadata exists but cannot be read or parsed.
pub fn load(
    paths: &Paths,
    config: &Config,
    now: OffsetDateTime,
) -> Result<Vec<CertRow>, StoreError> {
    let store = CertStore::new(&paths.certificates);
    config
        .certificates
        .iter()
        .map(|(name, cert)| {
            let meta = store.load_meta(name)?;
            let meta = meta.as_ref();
            let account = config.account_for(cert);
            let state = meta.and_then(|m| ari::cached(&paths.state, m, account, now).state());
            let decision = next_renewal_with(config, cert, meta, state.as_ref(), now);
            let ari_explanation_url = meta
                .zip(state)
                .filter(|(m, s)| s.window_for(m).is_some())
                .and_then(|(_, s)| s.explanation_url);
            Ok(CertRow {
                name: name.clone(),
                names: cert.names.clone(),
                not_after: meta.map(|m| m.not_after),
                days_left: meta.map(|m| renewal::days_left(m.not_after, now)),
                status: decision.status(),
                issuer: meta.map(|m| m.issuer.clone()),
                serial: meta.map(|m| m.serial.clone()),
                key_type: cert.key_type.to_string(),
                account: config.account_for(cert).map(str::to_owned),
                renew_at: decision.renew_at(),
                renewal: decision.to_string(),
                profile: cert.profile.clone(),
                ari_explanation_url,
            })
        })
        .collect()
}

/// A plain-text table for `certpilot list`.
#[must_use]
pub fn table(rows: &[CertRow]) -> String {
    let mut out = format!(
        "{:<20} {:<36} {:<10} {:>5}  {:<13} {}\n",
        "NAME", "NAMES", "NOT AFTER", "DAYS", "STATUS", "NEXT RENEWAL"
    );
    for row in rows {
        let names = match row.names.len() {
            0 => String::new(),
            1 => row.names[0].clone(),
            n => format!("{} (+{})", row.names[0], n - 1),
        };
        let not_after = row
            .not_after
            .map_or_else(|| "-".into(), |t| t.date().to_string());
        let days = row.days_left.map_or_else(|| "-".into(), |d| d.to_string());
        out.push_str(&format!(
            "{:<20} {:<36} {:<10} {:>5}  {:<13} {}\n",
            row.name,
            names,
            not_after,
            days,
            row.status.as_str(),
            row.renewal
        ));
    }
    out
}
