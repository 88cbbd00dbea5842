//! The HTTPS client certpilot talks to ACME CAs with.
//!
//! TLS verification is always on. The trust roots are the system's plus, when given, every
//! certificate of an explicit CA bundle (`--ca-bundle`), so a test CA such as Pebble's or a
//! private CA is trusted deliberately, never by switching verification off.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use instant_acme::{BodyWrapper, HttpClient};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// The concrete client type (cheap to clone).
pub type AcmeHttp = Client<HttpsConnector<HttpConnector>, BodyWrapper<Bytes>>;

/// Why an HTTPS client or request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The CA bundle could not be read or holds no certificate.
    #[error("CA bundle {path}: {detail}")]
    Bundle {
        /// The bundle file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// No trust root at all (no system store and no bundle).
    #[error("no trusted root certificates: install ca-certificates or pass --ca-bundle")]
    NoRoots,
    /// A request failed.
    #[error("{url}: {detail}")]
    Request {
        /// The URL asked for.
        url: String,
        /// What went wrong.
        detail: String,
    },
}

/// Build the client: system roots plus the optional bundle.
pub fn client(ca_bundle: Option<&Path>) -> Result<AcmeHttp, HttpError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_bundle {
        let added = add_bundle(&mut roots, path)?;
        tracing::debug!(bundle = %path.display(), added, "trusting extra CA certificates");
    }
    if roots.is_empty() {
        return Err(HttpError::NoRoots);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Bundle {
            path: PathBuf::new(),
            detail: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Nagle plus the server's delayed ACK costs ~40 ms on every JWS POST (hyper writes
    // headers and body separately): with 200 POSTs per 100-name order that is 8 seconds.
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

fn add_bundle(roots: &mut rustls::RootCertStore, path: &Path) -> Result<usize, HttpError> {
    let err = |detail: String| HttpError::Bundle {
        path: path.to_path_buf(),
        detail,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE block found".into()));
    }
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(err("no usable CA certificate in the bundle".into()));
    }
    Ok(added)
}

/// GET a URL and return the body (used for the directory's terms of service).
pub async fn get(http: &impl HttpClient, url: &str) -> Result<Bytes, HttpError> {
    get_with_headers(http, url).await.map(|(_, body)| body)
}

/// GET a URL and return the response headers and body; an error status is an error that
/// carries the CA's problem document, rendered (see [`problem_detail`]).
pub async fn get_with_headers(
    http: &impl HttpClient,
    url: &str,
) -> Result<(http::HeaderMap, Bytes), HttpError> {
    let fail = |detail: String| HttpError::Request {
        url: url.to_owned(),
        detail,
    };
    let req = Request::builder()
        .method(Method::GET)
        .uri(url)
        .header(
            http::header::USER_AGENT,
            concat!("certpilot/", env!("CARGO_PKG_VERSION")),
        )
        .body(BodyWrapper::default())
        .map_err(|e| fail(e.to_string()))?;
    let mut rsp = HttpClient::request(http, req)
        .await
        .map_err(|e| fail(error_chain(&e)))?;
    let status = rsp.parts.status;
    let body = rsp
        .body
        .into_bytes()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}{}", problem_detail(&body))));
    }
    Ok((rsp.parts.headers, body))
}

/// `": <problem>"` rendered as everywhere else (type, detail, subproblems, hint) when an
/// error body is an RFC 7807 problem document (what the CA says is wrong), else nothing:
/// an HTML error page is noise.
fn problem_detail(body: &[u8]) -> String {
    match serde_json::from_slice::<instant_acme::Problem>(body) {
        Ok(problem) if problem.r#type.is_some() || problem.detail.is_some() => {
            format!(": {}", super::problem::render(&problem))
        }
        _ => String::new(),
    }
}

/// Render an error with its sources: hyper's top-level messages ("client error (Connect)")
/// hide the useful part (connection refused, certificate unknown).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::problem_detail;

    #[test]
    fn problem_bodies_are_rendered_with_their_hint_and_other_bodies_dropped() {
        let text = problem_detail(
            br#"{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many","status":429}"#,
        );
        assert!(
            text.starts_with(": urn:ietf:params:acme:error:rateLimited (HTTP 429): too many"),
            "{text}"
        );
        assert!(text.contains("hint: the CA's rate limit"), "{text}");
        assert_eq!(
            problem_detail(br#"{"detail":"no type"}"#),
            ": (no type): no type"
        );
        for noise in [&b"<html>nginx</html>"[..], b"{}", b"{\"status\":500}", b""] {
            assert_eq!(
                problem_detail(noise),
                "",
                "{}",
                String::from_utf8_lossy(noise)
            );
        }
    }
}
