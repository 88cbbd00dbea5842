//! The ARI `renewalInfo` request (RFC 9773 §4.1), made here rather than through
//! instant-acme: its `Account::renewal_info` looks for `Retry-After` before the status, so a
//! CA's problem document ("no known issuer matches the provided Authority Key Identifier")
//! came out as "missing Retry-After header". Here an error status is an error carrying the
//! CA's problem verbatim, and a success without `Retry-After` gets a default wait.
//!
//! The request is an unauthenticated GET, so it needs no account, only the directory (read
//! once per client for its `renewalInfo` URL) and the CA's HTTPS client with its deadline.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use instant_acme::{CertificateIdentifier, RenewalInfo};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use super::account::{self, AccountError};
use super::ca_client::CaClient;
use super::http::{self, AcmeHttp};
use crate::domain::renewal::{self, WindowFault};

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
    /// The CA answered with a window certpilot does not trust (see
    /// [`renewal::check_window`]).
    #[error("the CA's ARI window {}..{} is ignored: {fault}{}",
        renewal::minute(*start), renewal::minute(*end),
        explanation_url.as_ref().map(|u| format!(" (the CA explains: {u})")).unwrap_or_default())]
    Ignored {
        /// Window start as sent.
        start: OffsetDateTime,
        /// Window end as sent.
        end: OffsetDateTime,
        /// What is wrong with it.
        fault: WindowFault,
        /// The CA's `explanationURL`, if any.
        explanation_url: Option<String>,
    },
    /// The state file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The wait when a CA's answer has no (readable) `Retry-After`: RFC 9773 §4.3 leaves the
/// value to the client; six hours keeps a cron run every few hours from asking each time.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);

/// Asks one CA (directory) for renewal windows.
pub struct AriClient {
    http: CaClient,
    directory: String,
    /// The directory's `renewalInfo` URL (`None`: the CA has no ARI), read on first use.
    renewal_info: OnceCell<Option<String>>,
}

impl AriClient {
    /// A client for the CA at `directory`; every request must finish within `timeout`.
    #[must_use]
    pub fn new(http: AcmeHttp, timeout: Duration, directory: &str) -> Self {
        Self {
            http: CaClient::new(http, timeout),
            directory: directory.to_owned(),
            renewal_info: OnceCell::new(),
        }
    }

    /// The CA's window for `id` and how long to wait before asking again.
    ///
    /// # Errors
    ///
    /// When the request fails, the CA answers with an error status, or the body is not a
    /// valid `renewalInfo` document.
    pub async fn fetch(
        &self,
        id: &CertificateIdentifier<'_>,
    ) -> Result<(RenewalInfo, Duration), AriError> {
        let base = self
            .renewal_info
            .get_or_try_init(|| async {
                account::directory(&self.http, &self.directory)
                    .await
                    .map(|doc| doc.renewal_info)
                    .map_err(|e| match e {
                        AccountError::Http(e) => AriError::Fetch(e.to_string()),
                        other => AriError::Fetch(other.to_string()),
                    })
            })
            .await?;
        let Some(base) = base else {
            return Err(AriError::Unsupported);
        };
        let url = format!("{}/{id}", base.trim_end_matches('/'));
        let (headers, body) = http::get_with_headers(&self.http, &url)
            .await
            .map_err(|e| AriError::Fetch(e.to_string()))?;
        let info: RenewalInfo = serde_json::from_slice(&body).map_err(|e| {
            AriError::Fetch(format!(
                "{url}: not a renewalInfo document ({e}): {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ))
        })?;
        let wait = headers
            .get(::http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, SystemTime::now()))
            .unwrap_or(DEFAULT_RETRY_AFTER);
        Ok((info, wait))
    }
}

/// `Retry-After` as a wait from `now`: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_rejects_noise() {
        let now = httpdate::parse_http_date("Sun, 06 Dec 2026 20:00:00 GMT").unwrap();
        assert_eq!(retry_after(" 3600 ", now), Some(Duration::from_secs(3600)));
        assert_eq!(
            retry_after("Sun, 06 Dec 2026 21:00:00 GMT", now),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            retry_after("Sun, 06 Dec 2026 19:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }
}
