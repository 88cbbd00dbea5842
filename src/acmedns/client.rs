//! The acme-dns REST client: `POST /register`, `POST /update`, `GET /health`.
//!
//! HTTPS by default with verification always on (system roots plus an optional CA bundle);
//! plain http only to loopback, or anywhere after an explicit opt-in. The password travels in
//! the `X-Api-Key` header, which is marked sensitive and never appears in an error or a log:
//! errors show the URL, the status and the server's body, which holds no secret.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, USER_AGENT};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;

use super::AcmeDnsError;
use crate::transport::error_chain;

/// How long one request may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response body read; acme-dns answers with a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;
/// Longest server error body shown to the user.
const MAX_SHOWN_BODY: usize = 300;

/// An acme-dns server URL that passed the transport policy: `https://`, or `http://` to a
/// loopback host, or `http://` anywhere when the user explicitly allowed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    base: String,
    plain_http: bool,
}

impl ServerUrl {
    /// Check `text` against the policy; the base keeps any path prefix, without trailing `/`
    /// (the server answers `//register` with a redirect).
    ///
    /// # Errors
    /// [`AcmeDnsError::BadServerUrl`] for anything but an absolute http(s) URL without
    /// credentials, query or fragment; [`AcmeDnsError::InsecureHttp`] for plain http to a host
    /// that is not loopback without `allow_insecure_http`.
    pub fn parse(text: &str, allow_insecure_http: bool) -> Result<Self, AcmeDnsError> {
        let bad = |reason: &str| AcmeDnsError::BadServerUrl {
            url: text.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = text.trim();
        if trimmed.contains('#') {
            return Err(bad("a fragment (#...) is not allowed"));
        }
        let uri: Uri = trimmed.parse().map_err(|_| bad("not a URL"))?;
        let plain_http = match uri.scheme_str() {
            Some("https") => false,
            Some("http") => true,
            Some(_) => return Err(bad("use an https:// (or http://) URL")),
            None => return Err(bad("not an absolute URL: start it with https://")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("credentials in the URL are not allowed"));
        }
        if uri.query().is_some() {
            return Err(bad("a query (?...) is not allowed"));
        }
        if plain_http && !allow_insecure_http && !is_loopback_host(authority.host()) {
            return Err(AcmeDnsError::InsecureHttp {
                url: trimmed.to_owned(),
            });
        }
        let path = uri.path().trim_end_matches('/');
        let scheme = if plain_http { "http" } else { "https" };
        Ok(Self {
            base: format!(
                "{scheme}://{}{path}",
                authority.as_str().to_ascii_lowercase()
            ),
            plain_http,
        })
    }

    /// The base URL, without trailing `/`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// Whether requests go out unencrypted.
    #[must_use]
    pub fn is_plain_http(&self) -> bool {
        self.plain_http
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

/// `localhost`, `127.0.0.0/8` and `::1` (URL hosts keep IPv6 brackets).
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An acme-dns password (the API key). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// Wrap a password read from the keyring or a credentials file.
    #[must_use]
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself, for the keyring and the `X-Api-Key` header only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// The answer to `POST /register`.
#[derive(Debug, Clone, Deserialize)]
pub struct Registration {
    /// API user (UUID).
    pub username: String,
    /// API key.
    pub password: Password,
    /// `<subdomain>.<zone>`: the CNAME target.
    pub fulldomain: String,
    /// The account's label in the zone (UUID).
    pub subdomain: String,
    /// Networks allowed to update, as the server normalised them.
    #[serde(default)]
    pub allowfrom: Vec<String>,
}

/// What `POST /update` needs.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// API user.
    pub username: String,
    /// API key.
    pub password: Password,
    /// The subdomain whose TXT slots are updated.
    pub subdomain: String,
}

pub(crate) type Http = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client for one acme-dns server (cheap to clone).
#[derive(Clone)]
pub struct AcmeDnsClient {
    http: Http,
    server: ServerUrl,
}

impl fmt::Debug for AcmeDnsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcmeDnsClient")
            .field("server", &self.server.base)
            .finish_non_exhaustive()
    }
}

impl AcmeDnsClient {
    /// A client for `server`, trusting the system roots plus every certificate of `ca_bundle`.
    ///
    /// # Errors
    /// [`AcmeDnsError::Tls`] when the bundle cannot be read or there is no trust root for an
    /// https server.
    pub fn new(server: ServerUrl, ca_bundle: Option<&Path>) -> Result<Self, AcmeDnsError> {
        Ok(Self {
            http: http_client(ca_bundle, server.plain_http)?,
            server,
        })
    }

    /// The server this client talks to.
    #[must_use]
    pub fn server(&self) -> &ServerUrl {
        &self.server
    }

    /// `POST /register`, with `allow_from` CIDRs when given.
    ///
    /// # Errors
    /// Transport failures, a non-201 answer (with the server's body), or an answer that is not
    /// a registration.
    pub async fn register(&self, allow_from: &[String]) -> Result<Registration, AcmeDnsError> {
        let body = if allow_from.is_empty() {
            "{}".to_owned()
        } else {
            serde_json::json!({ "allowfrom": allow_from }).to_string()
        };
        let url = self.server.endpoint("/register");
        let (status, bytes) = self.send(&url, body, None).await?;
        if status != StatusCode::CREATED {
            return Err(status_error(url, status, &bytes));
        }
        let reg: Registration =
            serde_json::from_slice(&bytes).map_err(|e| AcmeDnsError::BadResponse {
                url: url.clone(),
                detail: format!("not a registration: {e}"),
            })?;
        if reg.username.is_empty()
            || reg.subdomain.is_empty()
            || reg.fulldomain.is_empty()
            || reg.password.expose().is_empty()
        {
            return Err(AcmeDnsError::BadResponse {
                url,
                detail: "the registration has an empty field".into(),
            });
        }
        Ok(reg)
    }

    /// `POST /update`: put `txt` into the account's older TXT slot.
    ///
    /// # Errors
    /// Transport failures and any answer but 200 (`forbidden`, `bad_txt`, ... as sent).
    pub async fn update(&self, creds: &Credentials, txt: &str) -> Result<(), AcmeDnsError> {
        let url = self.server.endpoint("/update");
        let body = serde_json::json!({ "subdomain": creds.subdomain, "txt": txt }).to_string();
        let (status, bytes) = self.send(&url, body, Some(creds)).await?;
        if status == StatusCode::OK {
            Ok(())
        } else {
            Err(status_error(url, status, &bytes))
        }
    }

    /// `GET /health`: 200 when the server is up.
    ///
    /// # Errors
    /// Transport failures and any answer but 200.
    pub async fn health(&self) -> Result<(), AcmeDnsError> {
        let url = self.server.endpoint("/health");
        let req = build_request(Method::GET, &url, Full::default())?;
        let (status, bytes) = self.execute(&url, req).await?;
        if status == StatusCode::OK {
            Ok(())
        } else {
            Err(status_error(url, status, &bytes))
        }
    }

    async fn send(
        &self,
        url: &str,
        body: String,
        creds: Option<&Credentials>,
    ) -> Result<(StatusCode, Bytes), AcmeDnsError> {
        let mut req = build_request(Method::POST, url, Full::new(Bytes::from(body)))?;
        let headers = req.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(creds) = creds {
            let bad = |what: &str| {
                AcmeDnsError::BadCredentials(format!("the {what} is not a valid HTTP header value"))
            };
            let user = HeaderValue::from_str(&creds.username).map_err(|_| bad("username"))?;
            let mut key =
                HeaderValue::from_str(creds.password.expose()).map_err(|_| bad("password"))?;
            key.set_sensitive(true);
            headers.insert("X-Api-User", user);
            headers.insert("X-Api-Key", key);
        }
        self.execute(url, req).await
    }

    async fn execute(
        &self,
        url: &str,
        req: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, Bytes), AcmeDnsError> {
        fetch(&self.http, req, MAX_BODY, REQUEST_TIMEOUT)
            .await
            .map_err(|detail| AcmeDnsError::Request {
                url: url.to_owned(),
                detail,
            })
    }
}

/// Send `req` and read at most `max_body` bytes of the answer, all within `timeout`.
///
/// # Errors
/// What failed, in words (the caller adds the URL).
pub(crate) async fn fetch(
    http: &Http,
    req: Request<Full<Bytes>>,
    max_body: usize,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), String> {
    let exchange = async {
        let rsp = http.request(req).await.map_err(|e| error_chain(&e))?;
        let status = rsp.status();
        let body = Limited::new(rsp.into_body(), max_body)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?;
        Ok((status, body.to_bytes()))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer within {}s", timeout.as_secs()))?
}

/// An HTTP client trusting the system roots plus every certificate of `ca_bundle`; plain
/// http is wired in only when `plain_http` (the URL passed the transport policy).
///
/// # Errors
/// [`AcmeDnsError::Tls`] when the bundle cannot be read or there is no trust root for https.
pub(crate) fn http_client(
    ca_bundle: Option<&Path>,
    plain_http: bool,
) -> Result<Http, AcmeDnsError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = ca_bundle {
        add_bundle(&mut roots, path)?;
    }
    if roots.is_empty() && !plain_http {
        return Err(AcmeDnsError::Tls(
            "no trusted root certificates: install ca-certificates or pass --ca-bundle".into(),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AcmeDnsError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls);
    // Plain http is wired in only when the policy let this URL through.
    let connector = if plain_http {
        builder.https_or_http().enable_http1().build()
    } else {
        builder.https_only().enable_http1().build()
    };
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// A request with certpilot's user agent.
pub(crate) fn build_request(
    method: Method,
    url: &str,
    body: Full<Bytes>,
) -> Result<Request<Full<Bytes>>, AcmeDnsError> {
    Request::builder()
        .method(method)
        .uri(url)
        .header(USER_AGENT, concat!("certpilot/", env!("CARGO_PKG_VERSION")))
        .body(body)
        .map_err(|e| AcmeDnsError::BadServerUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })
}

/// A non-success answer, with the server's body (printable part, shortened).
fn status_error(url: String, status: StatusCode, body: &[u8]) -> AcmeDnsError {
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_SHOWN_BODY)
        .collect();
    AcmeDnsError::Status {
        url,
        status: status.as_u16(),
        body: text.trim().to_owned(),
    }
}

fn add_bundle(roots: &mut rustls::RootCertStore, path: &Path) -> Result<(), AcmeDnsError> {
    let err = |detail: String| AcmeDnsError::Tls(format!("CA bundle {}: {detail}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(err("no usable CA certificate in the bundle".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_policy() {
        let cases: [(&str, bool, Result<&str, &str>); 16] = [
            (
                "https://auth.example.org",
                false,
                Ok("https://auth.example.org"),
            ),
            (
                "https://auth.example.org/",
                false,
                Ok("https://auth.example.org"),
            ),
            (
                "https://Auth.Example.org:8443/acme-dns/",
                false,
                Ok("https://auth.example.org:8443/acme-dns"),
            ),
            ("http://127.0.0.1:8444", false, Ok("http://127.0.0.1:8444")),
            ("http://127.8.9.1", false, Ok("http://127.8.9.1")),
            ("http://[::1]:8444/", false, Ok("http://[::1]:8444")),
            ("http://localhost:8444", false, Ok("http://localhost:8444")),
            ("http://auth.example.org", false, Err("plain http")),
            ("http://192.0.2.1:80", false, Err("plain http")),
            ("http://[2001:db8::1]", false, Err("plain http")),
            (
                "http://auth.example.org",
                true,
                Ok("http://auth.example.org"),
            ),
            ("ftp://auth.example.org", false, Err("use an https://")),
            ("auth.example.org", false, Err("not an absolute URL")),
            (
                "https://user:pw@auth.example.org",
                false,
                Err("credentials"),
            ),
            ("https://auth.example.org/?x=1", false, Err("query")),
            ("https://auth.example.org/#x", false, Err("fragment")),
        ];
        for (text, allow, want) in cases {
            match (ServerUrl::parse(text, allow), want) {
                (Ok(url), Ok(base)) => assert_eq!(url.as_str(), base, "{text}"),
                (Err(e), Err(part)) => assert!(e.to_string().contains(part), "{text}: {e}"),
                (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn insecure_http_error_names_the_flag() {
        let e = ServerUrl::parse("http://auth.example.org", false).unwrap_err();
        assert!(e.to_string().contains("--allow-insecure-http"), "{e}");
        assert!(e.is_usage());
    }

    #[test]
    fn password_debug_is_redacted() {
        let creds = Credentials {
            username: "u".into(),
            password: Password::new("s3cret-value".into()),
            subdomain: "s".into(),
        };
        assert!(!format!("{creds:?}").contains("s3cret"));
    }

    #[test]
    fn status_error_shows_the_body_but_no_control_characters() {
        let e = status_error(
            "https://a/update".into(),
            StatusCode::UNAUTHORIZED,
            b"{\"error\": \"forbidden\"}\n\x1b[31m",
        );
        assert_eq!(
            e.to_string(),
            "https://a/update: HTTP 401: {\"error\": \"forbidden\"}  [31m"
        );
    }
}
