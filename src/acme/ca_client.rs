//! The HTTP client instant-acme talks to the CA through: [`super::http`]'s client plus a
//! deadline per request and the CA's `Retry-After` kept in its problem documents.
//!
//! Without a deadline a CA that accepts the connection and never answers holds a cron run
//! forever. The deadline covers the whole exchange, body included. `Retry-After` travels in
//! a header that instant-acme's `Problem` does not keep; the operator needs it most when
//! the CA says `rateLimited`, so it is appended to the problem's detail here, where the
//! header is still at hand.
//!
//! A CA also sees at most a configured number of requests in flight from this process
//! (`settings.ca_max_requests`, default [`crate::config::DEFAULT_CA_MAX_REQUESTS`]) and at
//! most a configured
//! rate (`settings.ca_max_rate`): [`super::ca_shared`] keeps both per CA host and port,
//! shared by every client and account, so concurrent authorizations and a parallel
//! `renew --all` together never exceed them. A request waits for its turn before it is sent
//! and keeps its slot until its body is read.
//!
//! The same shared state answers `newNonce` (HEAD) from the pool of nonces that came back
//! with earlier answers, and serves the directory from memory once fetched (see
//! [`super::ca_shared`]). A request marked [`KeepNonce`] gives the nonce of its answer to
//! that pool; instant-acme's requests are not marked, because instant-acme uses the nonces
//! of its own answers itself.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::ca_shared::{self, CaShared, Limits};
use super::http::AcmeHttp;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{Request, Response};
use http_body_util::Full;
use instant_acme::{BodyWrapper, BytesResponse, Error, HttpClient};
use time::OffsetDateTime;

/// The default `--ca-timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);

/// Marks a request whose answer's `Replay-Nonce` goes to the CA's shared pool (a request
/// extension).
#[derive(Clone, Copy, Debug)]
pub struct KeepNonce;

/// Marks a request sent under a slot its caller already holds (a request extension): only
/// the rates apply. A signer takes its slot before its nonce, so that requests waiting for
/// a slot do not hold nonces (64 waiting requests would otherwise ask `newNonce` 64 times).
#[derive(Clone, Copy, Debug)]
pub struct SlotHeld;

/// Marks a `newNonce` request whose turn at `newNonce`'s rate its caller already took (a
/// request extension), see [`CaShared::nonce_or_turn`].
#[derive(Clone, Copy, Debug)]
pub struct NonceTurnTaken;

/// [`AcmeHttp`] with a per-request deadline and the per-CA bounds of [`super::ca_shared`].
#[derive(Clone)]
pub struct CaClient {
    inner: AcmeHttp,
    timeout: Duration,
    limits: Limits,
}

impl CaClient {
    /// Wrap `inner`; every request (headers and body) must finish within `timeout`, with the
    /// default settings' per-CA limits.
    #[must_use]
    pub fn new(inner: AcmeHttp, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            limits: Limits::of(&crate::config::Settings::default()),
        }
    }

    /// The per-CA `limits` (from [`Limits::of`] the settings).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The shared state of the CA that serves `url`.
    #[must_use]
    pub fn shared(&self, url: &str) -> Arc<CaShared> {
        let authority = url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.authority().map(ToString::to_string))
            .unwrap_or_default();
        ca_shared::of(&authority, self.limits)
    }
}

/// The answer the CA's shared state already holds, if any: a pooled nonce for instant-acme's
/// `newNonce` request (saving that round trip and the CA's `newNonce` rate), or the cached
/// directory.
fn from_memory(
    shared: &CaShared,
    req: &Request<BodyWrapper<Bytes>>,
    url: &str,
) -> Option<Result<BytesResponse, Error>> {
    let unmarked = req.extensions().get::<KeepNonce>().is_none();
    if req.method() == http::Method::HEAD && unmarked {
        return shared.take_nonce().map(|nonce| pooled_nonce_answer(&nonce));
    }
    if req.method() == http::Method::GET {
        return shared.directory(url).map(cached_answer);
    }
    None
}

/// A `200 OK` to a `newNonce` request, made from a pooled nonce.
fn pooled_nonce_answer(nonce: &str) -> Result<BytesResponse, Error> {
    let rsp = Response::builder()
        .status(http::StatusCode::OK)
        .header("replay-nonce", nonce)
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Full::new(Bytes::new()))?;
    Ok(BytesResponse::from(rsp))
}

/// A directory answer from memory.
fn cached_answer(cached: ca_shared::CachedDirectory) -> Result<BytesResponse, Error> {
    let mut rsp = Response::builder().status(cached.status);
    if let Some(headers) = rsp.headers_mut() {
        *headers = cached.headers;
    }
    Ok(BytesResponse::from(rsp.body(Full::new(cached.body))?))
}

/// The CA did not answer in time.
#[derive(Debug, thiserror::Error)]
#[error("{method} {url}: no answer from the CA within {secs} s (--ca-timeout)")]
struct TimedOut {
    method: String,
    url: String,
    secs: u64,
}

impl HttpClient for CaClient {
    fn request(
        &self,
        req: Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, Error>> + Send>> {
        let timed_out = TimedOut {
            method: req.method().to_string(),
            url: req.uri().to_string(),
            secs: self.timeout.as_secs(),
        };
        let shared = self.shared(&timed_out.url);
        let inner = self.inner.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let (method, url) = (timed_out.method.clone(), timed_out.url.clone());
            if let Some(answer) = from_memory(&shared, &req, &url) {
                return answer;
            }
            let keep_nonce = req.extensions().get::<KeepNonce>().is_some();
            let is_new_nonce = req.method() == http::Method::HEAD;
            let nonce_rate_due = is_new_nonce && req.extensions().get::<NonceTurnTaken>().is_none();
            let is_get = req.method() == http::Method::GET;
            let asked = std::time::Instant::now();
            let _slot = if req.extensions().get::<SlotHeld>().is_some() {
                shared.pace(nonce_rate_due).await;
                None
            } else {
                shared.admit(nonce_rate_due).await
            };
            let queued = asked.elapsed();
            let exchange = async {
                let mut rsp = HttpClient::request(&inner, req).await?;
                let body = rsp.body.into_bytes().await.map_err(Error::Other)?;
                Ok::<_, Error>((rsp.parts, body))
            };
            let (mut parts, body) = tokio::time::timeout(timeout, exchange)
                .await
                .map_err(|_| Error::Other(Box::new(timed_out)))??;
            // The timeline of an order (`CERTPILOT_LOG=certpilot::acme=debug`): each request,
            // how long it waited for its turn and how long the CA took.
            tracing::debug!(%method, %url, status = parts.status.as_u16(),
                queued_ms = queued.as_millis(), took_ms = asked.elapsed().saturating_sub(queued).as_millis(), "CA request");
            if keep_nonce {
                if let Some(nonce) = parts
                    .headers
                    .get("replay-nonce")
                    .and_then(|v| v.to_str().ok())
                {
                    shared.keep_nonce(nonce.to_owned());
                }
            }
            if is_get {
                shared.keep_if_directory(&url, parts.status, &parts.headers, &body);
            }
            let body = note_retry_after(&mut parts, body, OffsetDateTime::now_utc());
            Ok(BytesResponse::from(Response::from_parts(
                parts,
                Full::new(body),
            )))
        })
    }
}

/// Append `Retry-After` to the `detail` of an error response's problem document.
fn note_retry_after(parts: &mut http::response::Parts, body: Bytes, now: OffsetDateTime) -> Bytes {
    let is_problem = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    let Some(retry_after) = parts.headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) else {
        return body;
    };
    if !is_problem || parts.status.is_success() {
        return body;
    }
    let Ok(mut problem) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    let Some(obj) = problem.as_object_mut() else {
        return body;
    };
    let note = describe_retry_after(retry_after.trim(), now);
    let detail = match obj.get("detail").and_then(|d| d.as_str()) {
        Some(detail) if !detail.is_empty() => format!("{detail} ({note})"),
        _ => note,
    };
    obj.insert("detail".into(), serde_json::Value::String(detail));
    parts.headers.remove(CONTENT_LENGTH);
    serde_json::to_vec(&problem).map_or(body, Bytes::from)
}

/// `Retry-After: 3600 s, until 2027-01-10 14:05:00 UTC` (seconds), or the HTTP date as sent.
fn describe_retry_after(value: &str, now: OffsetDateTime) -> String {
    // A CA may send any number; one beyond the calendar is shown as sent, not added.
    let parsed = value.parse::<i64>().ok().and_then(|secs| {
        now.checked_add(time::Duration::seconds(secs))
            .map(|until| (secs, until))
    });
    match parsed {
        Some((secs, until)) => {
            let until = until.to_offset(time::UtcOffset::UTC);
            format!(
                "Retry-After: {secs} s, until {} {:02}:{:02}:{:02} UTC",
                until.date(),
                until.hour(),
                until.minute(),
                until.second()
            )
        }
        None => format!("Retry-After: {value}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn parts(status: u16, headers: &[(&str, &str)]) -> http::response::Parts {
        let mut builder = Response::builder().status(status);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    const PROBLEM: &str = "application/problem+json";

    #[test]
    fn a_retry_after_beyond_the_calendar_is_shown_as_sent() {
        let now = datetime!(2027-01-10 13:05 UTC);
        for secs in [i64::MAX, i64::MAX - 1, i64::MIN, 1_000_000_000_000_000] {
            let value = secs.to_string();
            assert_eq!(
                describe_retry_after(&value, now),
                format!("Retry-After: {value}"),
                "{secs}"
            );
        }
        assert_eq!(
            describe_retry_after("60", now),
            "Retry-After: 60 s, until 2027-01-10 13:06:00 UTC"
        );
    }

    #[test]
    fn retry_after_is_added_to_problem_details_only() {
        let now = datetime!(2027-01-10 13:05 UTC);
        let limited =
            r#"{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many orders"}"#;
        let cases = [
            (
                "seconds",
                parts(
                    429,
                    &[(CONTENT_TYPE.as_str(), PROBLEM), ("retry-after", "3600")],
                ),
                limited,
                Some("too many orders (Retry-After: 3600 s, until 2027-01-10 14:05:00 UTC)"),
            ),
            (
                "http date, no detail",
                parts(
                    503,
                    &[
                        (CONTENT_TYPE.as_str(), PROBLEM),
                        ("retry-after", "Fri, 31 Dec 2027 23:59:59 GMT"),
                    ],
                ),
                r#"{"type":"urn:ietf:params:acme:error:serverInternal"}"#,
                Some("Retry-After: Fri, 31 Dec 2027 23:59:59 GMT"),
            ),
            (
                "no header",
                parts(429, &[(CONTENT_TYPE.as_str(), PROBLEM)]),
                limited,
                None,
            ),
            (
                "not a problem",
                parts(
                    200,
                    &[
                        (CONTENT_TYPE.as_str(), "application/json"),
                        ("retry-after", "5"),
                    ],
                ),
                r#"{"status":"processing"}"#,
                None,
            ),
        ];
        for (what, mut p, body, want) in cases {
            let out = note_retry_after(&mut p, Bytes::from(body), now);
            match want {
                Some(detail) => {
                    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
                    assert_eq!(v["detail"], detail, "{what}");
                }
                None => assert_eq!(out, body.as_bytes(), "{what}"),
            }
        }
    }
}
