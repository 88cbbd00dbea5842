//! A small client for the PowerDNS Authoritative HTTP API v1: list zones, read one zone's
//! record sets, PATCH record sets.
//!
//! https by default with verification always on (system roots plus the CA bundle); plain
//! http only to a loopback host, where PowerDNS's own webserver usually listens.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Method, StatusCode, Uri};
use http_body_util::Full;
use serde::{Deserialize, Serialize};

use super::PowerDnsError;
use crate::acmedns::client::{build_request, fetch, http_client, is_loopback_host, Http};

/// Limit for one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer read (a whole zone with its record sets).
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Longest API error text shown.
const MAX_SHOWN_BODY: usize = 300;

/// A PowerDNS API key. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wrap a key read from the keyring.
    #[must_use]
    pub fn new(key: &str) -> Self {
        Self(key.trim().to_owned())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// One zone of the zone list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ZoneInfo {
    /// The id used in URLs.
    pub id: String,
    /// The zone name, absolute (`example.com.`).
    pub name: String,
}

/// One record of a record set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The record data in zone-file form (TXT: quoted).
    pub content: String,
    /// Whether it is disabled.
    #[serde(default)]
    pub disabled: bool,
}

/// A record set as read, or a change as sent (`changetype` set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RrSet {
    /// Owner name, absolute.
    pub name: String,
    /// Record type.
    #[serde(rename = "type")]
    pub rtype: String,
    /// TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// `REPLACE` or `DELETE` in a PATCH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changetype: Option<String>,
    /// The records.
    #[serde(default)]
    pub records: Vec<Entry>,
}

#[derive(Deserialize)]
struct ZoneDetail {
    #[serde(default)]
    rrsets: Vec<RrSet>,
}

/// A client for one PowerDNS server id (cheap to clone).
#[derive(Clone)]
pub struct PowerDnsClient {
    http: Http,
    /// `<api>/api/v1/servers/<id>`.
    base: String,
    key: ApiKey,
}

impl fmt::Debug for PowerDnsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PowerDnsClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Check `api_url` against the transport policy; the API root without trailing `/`, and
/// whether it is plain http.
///
/// # Errors
/// [`PowerDnsError::BadUrl`] for anything but http(s) without credentials, query or fragment,
/// and for plain http to a host that is not loopback.
pub fn api_root(api_url: &str) -> Result<(String, bool), PowerDnsError> {
    let bad = |reason: &str| PowerDnsError::BadUrl {
        url: api_url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: Uri = api_url.trim().parse().map_err(|_| bad("not a URL"))?;
    let plain_http = match uri.scheme_str() {
        Some("https") => false,
        Some("http") => true,
        _ => return Err(bad("use an https:// (or http:// to loopback) URL")),
    };
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    if authority.as_str().contains('@') || uri.query().is_some() || api_url.contains('#') {
        return Err(bad("credentials, a query or a fragment are not allowed"));
    }
    if plain_http && !is_loopback_host(authority.host()) {
        return Err(bad(
            "plain http would send the API key unencrypted: use https://, or reach the API on loopback",
        ));
    }
    let path = uri.path().trim_end_matches('/');
    let path = path.strip_suffix("/api/v1").unwrap_or(path);
    let scheme = if plain_http { "http" } else { "https" };
    Ok((
        format!("{scheme}://{}{path}", authority.as_str()),
        plain_http,
    ))
}

impl PowerDnsClient {
    /// A client for `server_id` at `api_url`.
    ///
    /// # Errors
    /// A bad URL or TLS setup.
    pub fn new(
        api_url: &str,
        server_id: &str,
        key: ApiKey,
        ca_bundle: Option<&Path>,
    ) -> Result<Self, PowerDnsError> {
        let (root, plain_http) = api_root(api_url)?;
        let http =
            http_client(ca_bundle, plain_http).map_err(|e| PowerDnsError::Tls(e.to_string()))?;
        Ok(Self {
            http,
            base: format!("{root}/api/v1/servers/{server_id}"),
            key,
        })
    }

    /// `GET /zones`.
    ///
    /// # Errors
    /// Transport, status and decoding failures.
    pub async fn zones(&self) -> Result<Vec<ZoneInfo>, PowerDnsError> {
        let url = format!("{}/zones", self.base);
        let body = self.call(Method::GET, &url, None, StatusCode::OK).await?;
        decode(&url, &body)
    }

    /// The record sets of zone `id` (`GET /zones/<id>`).
    ///
    /// # Errors
    /// Transport, status and decoding failures.
    pub async fn rrsets(&self, id: &str) -> Result<Vec<RrSet>, PowerDnsError> {
        let url = format!("{}/zones/{id}", self.base);
        let body = self.call(Method::GET, &url, None, StatusCode::OK).await?;
        decode::<ZoneDetail>(&url, &body).map(|z| z.rrsets)
    }

    /// `PATCH /zones/<id>` with `changes` (one request, applied by the server at once).
    ///
    /// # Errors
    /// Transport failures and any answer but 204.
    pub async fn patch(&self, id: &str, changes: &[RrSet]) -> Result<(), PowerDnsError> {
        let url = format!("{}/zones/{id}", self.base);
        let body = serde_json::json!({ "rrsets": changes }).to_string();
        self.call(Method::PATCH, &url, Some(body), StatusCode::NO_CONTENT)
            .await
            .map(|_| ())
    }

    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<String>,
        want: StatusCode,
    ) -> Result<Bytes, PowerDnsError> {
        let payload = body.map_or_else(Full::default, |b| Full::new(Bytes::from(b)));
        let mut req = build_request(method, url, payload).map_err(|e| PowerDnsError::BadUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let mut key = HeaderValue::from_str(&self.key.0).map_err(|_| PowerDnsError::BadUrl {
            url: url.to_owned(),
            reason: "the API key is not a valid HTTP header value".into(),
        })?;
        key.set_sensitive(true);
        req.headers_mut().insert("X-API-Key", key);
        req.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let (status, bytes) = fetch(&self.http, req, MAX_BODY, REQUEST_TIMEOUT)
            .await
            .map_err(|detail| PowerDnsError::Request {
                url: url.to_owned(),
                detail,
            })?;
        match status {
            s if s == want => Ok(bytes),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(PowerDnsError::Unauthorized {
                url: url.to_owned(),
                status: status.as_u16(),
            }),
            _ => Err(PowerDnsError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
                body: error_text(&bytes),
            }),
        }
    }
}

fn decode<T: for<'de> Deserialize<'de>>(url: &str, body: &[u8]) -> Result<T, PowerDnsError> {
    serde_json::from_slice(body).map_err(|e| PowerDnsError::BadResponse {
        url: url.to_owned(),
        detail: e.to_string(),
    })
}

/// The API's `{"error": "..."}` text, or the printable start of the body.
fn error_text(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ApiError {
        error: String,
    }
    let text = serde_json::from_slice::<ApiError>(body)
        .map_or_else(|_| String::from_utf8_lossy(body).into_owned(), |e| e.error);
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_SHOWN_BODY)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_policy() {
        let cases = [
            ("http://127.0.0.1:8081", Ok("http://127.0.0.1:8081")),
            ("http://127.0.0.1:8081/api/v1/", Ok("http://127.0.0.1:8081")),
            ("https://pdns.example.com/", Ok("https://pdns.example.com")),
            ("http://localhost:8081", Ok("http://localhost:8081")),
            ("http://pdns.example.com:8081", Err("plain http")),
            ("ftp://x", Err("https://")),
            ("https://u:p@pdns.example.com", Err("credentials")),
        ];
        for (url, want) in cases {
            match (api_root(url), want) {
                (Ok((root, _)), Ok(want)) => assert_eq!(root, want),
                (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{url}: {e}"),
                (got, want) => panic!("{url}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn error_text_prefers_the_api_error() {
        assert_eq!(
            error_text(br#"{"error": "RRset x. IN TXT: bad"}"#),
            "RRset x. IN TXT: bad"
        );
        assert_eq!(error_text(b"Unauthorized\n"), "Unauthorized");
        assert!(!format!("{:?}", ApiKey::new("sekrit")).contains("sekrit"));
    }
}
