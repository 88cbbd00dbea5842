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
}

use crate::cert::store::{CertStore, StoreError};
use crate::config::{CertConfig, Config};
use crate::domain::renewal::{self, Stored, Wanted};
use crate::paths::Paths;

/// The renewal threshold of a certificate: its own, else the global setting.
pub fn renew_days(config: &Config, cert: &CertConfig) -> u32 {
    cert.renew_days.unwrap_or(config.settings.renew_days)
}

/// One row per configured certificate, from the metadata files (no x509 parsing, no network:
/// this is what `list` and the dashboard's first frame pay for).
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
            let key_type = cert.key_type.to_string();
            let wanted = Wanted {
                names: &cert.names,
                key_type: &key_type,
                renew_days: renew_days(config, cert),
            };
            let meta = meta.as_ref();
            let stored_view = meta.map(|m| Stored {
                names: &m.names,
                key_type: &m.key_type,
                not_before: m.not_before,
                not_after: m.not_after,
            });
            Ok(CertRow {
                name: name.clone(),
                names: cert.names.clone(),
                not_after: meta.map(|m| m.not_after),
                days_left: meta.map(|m| renewal::days_left(m.not_after, now)),
                status: renewal::status(&wanted, stored_view.as_ref(), now),
                issuer: meta.map(|m| m.issuer.clone()),
                serial: meta.map(|m| m.serial.clone()),
                key_type,
                account: config.account_for(cert).map(str::to_owned),
            })
        })
        .collect()
}

/// A plain-text table for `certpilot list`.
pub fn table(rows: &[CertRow]) -> String {
    let mut out = format!(
        "{:<20} {:<36} {:<10} {:>5}  {}\n",
        "NAME", "NAMES", "NOT AFTER", "DAYS", "STATUS"
    );
    for row in rows {
        let names = match row.names.len() {
            0 => String::new(),
            1 => row.names[0].clone(),
            n => format!("{} (+{})", row.names[0], n - 1),
        };
        let not_after = row
            .not_after
            .map(|t| t.date().to_string())
            .unwrap_or_else(|| "-".into());
        let days = row.days_left.map_or_else(|| "-".into(), |d| d.to_string());
        out.push_str(&format!(
            "{:<20} {:<36} {:<10} {:>5}  {}\n",
            row.name, names, not_after, days, row.status
        ));
    }
    out
}
