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
///
/// # Errors
///
/// When the CA bundle cannot be read or holds no usable certificate.
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
///
/// # Errors
///
/// When the request fails or the answer has an error status (see [`get_with_headers`]).
pub async fn get(http: &impl HttpClient, url: &str) -> Result<Bytes, HttpError> {
    get_with_headers(http, url).await.map(|(_, body)| body)
}

/// GET a URL and return the response headers and body; an error status is an error that
/// carries the CA's problem document, rendered (see [`problem_detail`]).
///
/// # Errors
///
/// When the request fails, the body cannot be read, or the status is an error (the CA's
/// problem document is rendered into the error).
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
        .map_err(|e| fail(describe_ca_failure(&e)))?;
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

/// Nothing listens at the address: the CA is down, or the URL names the wrong host or port.
const REFUSED: &str = "nothing accepts connections at the CA's address: check that the CA is \
     up and that the directory URL's host and port are right (`certpilot account list`)";
/// The CA's certificate chains to no trusted root.
const UNKNOWN_ISSUER: &str = "the CA's TLS certificate comes from an issuer this system does \
     not trust: for a private or test CA pass its root certificate with --ca-bundle FILE (or \
     CERTPILOT_CA_BUNDLE); verification is never switched off";
/// Any other certificate problem (expired, wrong name).
const BAD_CERTIFICATE: &str = "the CA's TLS certificate was refused: check the directory URL's \
     host name and the machine's clock";
/// No answer in time.
const TIMED_OUT: &str = "the CA did not answer in time: check the network path to it, or \
     raise --ca-timeout";

/// What the operator can do about a request to the CA that got no answer, judged from the
/// error's causes; `None` when the causes say nothing actionable.
pub fn transport_hint(err: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(hint) = tls_hint(e) {
            return Some(hint);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return Some(REFUSED),
                std::io::ErrorKind::TimedOut => return Some(TIMED_OUT),
                _ => {}
            }
            // An io::Error wrapping another error (hyper-rustls wraps an io::Error holding the
            // rustls::Error) does not list it as its source: descend into it instead.
            if let Some(inner) = io.get_ref() {
                next = Some(inner as &(dyn std::error::Error + 'static));
                continue;
            }
        }
        next = e.source();
    }
    None
}

fn tls_hint(err: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    match err.downcast_ref::<rustls::Error>()? {
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
            Some(UNKNOWN_ISSUER)
        }
        rustls::Error::InvalidCertificate(_) => Some(BAD_CERTIFICATE),
        _ => None,
    }
}

/// [`error_chain`] plus the [`transport_hint`], for requests to an ACME CA.
pub fn describe_ca_failure(err: &(dyn std::error::Error + 'static)) -> String {
    let text = error_chain(err);
    match transport_hint(err) {
        Some(hint) => format!("{text}\n  hint: {hint}"),
        None => text,
    }
}

pub use crate::transport::error_chain;

/// Any instant-acme error as text, problem documents rendered in full.
#[must_use]
pub fn describe(err: &instant_acme::Error) -> String {
    match err {
        instant_acme::Error::Api(problem) => super::problem::render(problem),
        other => describe_ca_failure(other),
    }
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
