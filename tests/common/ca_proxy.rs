#![allow(dead_code)] // included by several test binaries, each using a part
//! An HTTPS reverse proxy in front of Pebble that adds what Debian's Pebble 2.4.0 lacks (an
//! ARI `renewalInfo` endpoint whose window the test sets) and the faults a real CA shows
//! (rateLimited with Retry-After, slow answers, a closed port).
//!
//! Everything else is forwarded to Pebble unchanged, with the client's `Host` header, so
//! Pebble builds every URL (directory, Location, Link, JWS `url` checks) for the proxy's
//! address; URLs that still name Pebble are rewritten. The proxy serves Pebble's own TLS
//! certificate, so certpilot trusts it through the same `--ca-bundle`.
//!
//! `newOrder` requests are decoded (the JWS payload is base64url JSON) to record their
//! `replaces` field. Pebble 2.4.0 ignores the field (Go's JSON decoding skips unknown
//! fields) and so does not echo it; the proxy adds it to the new order, as RFC 9773 §5
//! requires of a CA that accepts it. The signed request itself is never altered.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use axum::Router;
use base64::Engine;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The window `renewalInfo` answers with.
#[derive(Clone, Debug)]
pub struct Window {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    /// Retry-After, seconds.
    pub retry_after: u64,
}

/// What the test controls and what the proxy saw.
#[derive(Default, Debug)]
struct Control {
    /// `None`: the directory has no `renewalInfo` (a CA without ARI).
    window: Option<Window>,
    ari: bool,
    /// Answer this many newOrder requests with rateLimited.
    rate_limited: usize,
    rate_limit_retry_after: u64,
    /// Hold every answer this long.
    delay: Duration,
    /// Path of Pebble's newOrder URL (learnt from its directory).
    new_order_path: Option<String>,
    renewal_info_requests: Vec<String>,
    new_orders: usize,
    replaces: Vec<Option<String>>,
    /// Canned answers: (path suffix, status, content type, body, uses left).
    canned: Vec<(String, u16, String, String, usize)>,
}

struct Shared {
    control: Mutex<Control>,
    /// Requests being handled now (a delayed one counts from its arrival), the most seen
    /// at once, and all requests.
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    requests: AtomicUsize,
    /// Every request since the last reset: when it arrived, its method and path.
    seen: Mutex<Vec<(std::time::Instant, Method, String)>>,
    upstream: String,
    own: String,
    client: reqwest::Client,
}

/// The running proxy; stops on Drop.
pub struct CaProxy {
    shared: Arc<Shared>,
    rt: Option<tokio::runtime::Runtime>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    acceptor: tokio_rustls::TlsAcceptor,
    addr: SocketAddr,
    /// The directory URL to register accounts with.
    pub directory: String,
}

impl CaProxy {
    /// A proxy for Pebble at `upstream_directory` (`https://127.0.0.1:PORT/dir`), serving
    /// the certificate and key next to Pebble's CA bundle; `ari` adds `renewalInfo`.
    pub fn start(upstream_directory: &str, ca_bundle: &Path, ari: bool) -> Self {
        let dir = ca_bundle.parent().expect("bundle directory");
        let acceptor = tls_acceptor(&dir.join("cert.pem"), &dir.join("key.pem"));
        let ca = std::fs::read(ca_bundle).expect("read CA bundle");
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("CA PEM"))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("proxy client");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let upstream = upstream_directory
            .strip_suffix("/dir")
            .expect("Pebble directory ends in /dir")
            .to_owned();
        let own = format!("https://{addr}");
        let shared = Arc::new(Shared {
            control: Mutex::new(Control {
                ari,
                ..Control::default()
            }),
            upstream,
            own: own.clone(),
            client,
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            seen: Mutex::default(),
        });
        let mut me = Self {
            shared,
            rt: Some(rt),
            tasks: Vec::new(),
            acceptor,
            addr,
            directory: format!("{own}/dir"),
        };
        me.serve(listener);
        me
    }

    fn serve(&mut self, listener: TcpListener) {
        let rt = self.rt.as_ref().unwrap();
        let (tx, rx) = mpsc::channel(16);
        let acceptor = self.acceptor.clone();
        // Handshakes run in their own tasks so one stalled client cannot hold the others.
        self.tasks.push(rt.spawn(async move {
            loop {
                let Ok((tcp, peer)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = tx.send((tls, peer)).await;
                    }
                });
            }
        }));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&self.shared));
        let addr = self.addr;
        self.tasks.push(rt.spawn(async move {
            let _ = axum::serve(TlsListener { rx, addr }, app).await;
        }));
    }

    /// Close the port (connections are refused) until [`CaProxy::resume`].
    pub fn pause(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(self.addr).is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "the proxy port stays open"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Listen again on the same port.
    pub fn resume(&mut self) {
        let addr = self.addr;
        let rt = self.rt.as_ref().unwrap();
        let listener = rt.block_on(async {
            // The aborted listener is dropped asynchronously: retry the bind briefly.
            for _ in 0..200 {
                if let Ok(l) = TcpListener::bind(addr).await {
                    return l;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("cannot bind {addr} again");
        });
        self.serve(listener);
    }

    fn control<T>(&self, f: impl FnOnce(&mut Control) -> T) -> T {
        f(&mut self.shared.control.lock().unwrap())
    }

    /// The window `renewalInfo` answers with (and turns ARI on).
    pub fn set_window(&self, start: OffsetDateTime, end: OffsetDateTime, retry_after: u64) {
        self.control(|c| {
            c.window = Some(Window {
                start,
                end,
                retry_after,
            });
        });
    }

    /// Answer the next `n` newOrder requests with rateLimited and `Retry-After`.
    pub fn rate_limit_new_orders(&self, n: usize, retry_after: u64) {
        self.control(|c| {
            c.rate_limited = n;
            c.rate_limit_retry_after = retry_after;
        });
    }

    /// Hold every answer this long.
    pub fn set_delay(&self, delay: Duration) {
        self.control(|c| c.delay = delay);
    }

    /// Answer the next `times` requests whose path ends with `path_suffix` (`/dir`,
    /// `/sign-me-up`, `/order-plz`, ...) with this status, content type and body instead of
    /// Pebble's: a CA that sends something broken. Unused answers are dropped by
    /// [`CaProxy::heal`].
    pub fn answer_with(
        &self,
        path_suffix: &str,
        (status, content_type, body): (u16, &str, &str),
        times: usize,
    ) {
        self.control(|c| {
            c.canned.push((
                path_suffix.to_owned(),
                status,
                content_type.to_owned(),
                body.to_owned(),
                times,
            ));
        });
    }

    /// Forget every canned answer: Pebble answers everything again.
    pub fn heal(&self) {
        self.control(|c| c.canned.clear());
    }

    /// The certificate identifiers `renewalInfo` was asked about, in order.
    pub fn renewal_info_requests(&self) -> Vec<String> {
        self.control(|c| c.renewal_info_requests.clone())
    }

    /// newOrder requests seen (including refused ones).
    pub fn new_orders(&self) -> usize {
        self.control(|c| c.new_orders)
    }

    /// The most requests the proxy was handling at one time (since the last reset).
    pub fn peak_in_flight(&self) -> usize {
        self.shared.peak.load(Ordering::SeqCst)
    }

    /// Requests handled (since the last reset).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Start counting [`CaProxy::peak_in_flight`] and [`CaProxy::requests`] afresh.
    pub fn reset_counts(&self) {
        self.shared.peak.store(0, Ordering::SeqCst);
        self.shared.requests.store(0, Ordering::SeqCst);
        self.shared.seen.lock().unwrap().clear();
    }

    /// Requests seen (since the last reset) with this method and path.
    pub fn count(&self, method: &str, path: &str) -> usize {
        let seen = self.shared.seen.lock().unwrap();
        seen.iter()
            .filter(|(_, m, p)| m.as_str() == method && p == path)
            .count()
    }

    /// HEAD requests seen (since the last reset): `newNonce` is the only one ACME has.
    pub fn new_nonces(&self) -> usize {
        let seen = self.shared.seen.lock().unwrap();
        seen.iter().filter(|(_, m, _)| m == Method::HEAD).count()
    }

    /// The most requests that arrived within any `window` (since the last reset).
    pub fn most_within(&self, window: Duration) -> usize {
        let seen = self.shared.seen.lock().unwrap();
        let mut at: Vec<std::time::Instant> = seen.iter().map(|(t, _, _)| *t).collect();
        at.sort_unstable();
        let mut most = 0;
        let mut first = 0;
        for last in 0..at.len() {
            while at[last].duration_since(at[first]) >= window {
                first += 1;
            }
            most = most.max(last - first + 1);
        }
        most
    }

    /// The `replaces` field of every newOrder request, in order.
    pub fn replaces(&self) -> Vec<Option<String>> {
        self.control(|c| c.replaces.clone())
    }
}

impl Drop for CaProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

struct TlsListener {
    rx: mpsc::Receiver<(
        tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
        SocketAddr,
    )>,
    addr: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept loop is gone (paused): never yield another connection.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

fn tls_acceptor(cert: &Path, key: &Path) -> tokio_rustls::TlsAcceptor {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

fn problem(
    status: StatusCode,
    kind: &str,
    detail: &str,
    retry_after: Option<u64>,
) -> Response<Body> {
    let body = serde_json::json!({
        "type": format!("urn:ietf:params:acme:error:{kind}"),
        "detail": detail,
        "status": status.as_u16(),
    });
    let mut rsp = Response::builder()
        .status(status)
        .header("content-type", "application/problem+json");
    if let Some(secs) = retry_after {
        rsp = rsp.header("retry-after", secs.to_string());
    }
    rsp.body(Body::from(body.to_string())).unwrap()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The JWS payload of a POST body, as JSON (`Null` when it is not one).
fn jws_payload(body: &[u8]) -> serde_json::Value {
    let jws: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let payload = jws["payload"].as_str().unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// The canned answer for `path`, if the test set one (each counts down its uses).
fn canned(shared: &Shared, path: &str) -> Option<Response<Body>> {
    let mut control = shared.control.lock().unwrap();
    let at = control
        .canned
        .iter()
        .position(|(suffix, ..)| path.ends_with(suffix.as_str()))?;
    let entry = &mut control.canned[at];
    let rsp = Response::builder()
        .status(entry.1)
        .header("content-type", entry.2.as_str())
        .header("replay-nonce", "canned-nonce-0123456789")
        .body(Body::from(entry.3.clone()))
        .unwrap();
    entry.4 -= 1;
    if entry.4 == 0 {
        control.canned.remove(at);
    }
    Some(rsp)
}

/// Counts a request in flight for as long as it lives.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn enter(shared: &Arc<Shared>, req: &Request<Body>) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.peak.fetch_max(now, Ordering::SeqCst);
        shared.requests.fetch_add(1, Ordering::SeqCst);
        shared.seen.lock().unwrap().push((
            std::time::Instant::now(),
            req.method().clone(),
            req.uri().path().to_owned(),
        ));
        Self(Arc::clone(shared))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request<Body>) -> Response<Body> {
    let _counted = InFlight::enter(&shared, &req);
    forward(Arc::clone(&shared), req).await
}

async fn forward(shared: Arc<Shared>, req: Request<Body>) -> Response<Body> {
    let delay = shared.control.lock().unwrap().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(rsp) = canned(&shared, req.uri().path()) {
        return rsp;
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    if parts.method == Method::GET {
        if let Some(id) = path.strip_prefix("/renewal-info/") {
            return renewal_info(&shared, id);
        }
    }
    let mut replaces = None;
    let is_new_order = parts.method == Method::POST
        && shared.control.lock().unwrap().new_order_path.as_deref() == Some(path.as_str());
    if is_new_order {
        replaces = jws_payload(&body)["replaces"].as_str().map(str::to_owned);
        let mut c = shared.control.lock().unwrap();
        c.new_orders += 1;
        c.replaces.push(replaces.clone());
        if c.rate_limited > 0 {
            c.rate_limited -= 1;
            let secs = c.rate_limit_retry_after;
            return problem(
                StatusCode::TOO_MANY_REQUESTS,
                "rateLimited",
                "too many new orders recently (test proxy)",
                Some(secs),
            );
        }
    }
    let url = format!(
        "{}{}",
        shared.upstream,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut headers = HeaderMap::new();
    for (k, v) in &parts.headers {
        if !matches!(
            k.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            headers.append(k, v.clone());
        }
    }
    let sent = shared
        .client
        .request(parts.method.clone(), &url)
        .headers(headers)
        .body(body.to_vec())
        .send()
        .await;
    let upstream = match sent {
        Ok(rsp) => rsp,
        Err(e) => {
            return problem(
                StatusCode::BAD_GATEWAY,
                "serverInternal",
                &e.to_string(),
                None,
            );
        }
    };
    let status = upstream.status();
    let mut out = Response::builder().status(status);
    for (k, v) in upstream.headers() {
        if matches!(
            k.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            continue;
        }
        let text = v.to_str().unwrap_or_default();
        let value = if matches!(k.as_str(), "location" | "link") {
            HeaderValue::from_str(&text.replace(&shared.upstream, &shared.own)).unwrap()
        } else {
            v.clone()
        };
        out = out.header(k, value);
    }
    let bytes = upstream.bytes().await.unwrap_or_default();
    let mut text = String::from_utf8_lossy(&bytes).replace(&shared.upstream, &shared.own);
    if parts.method == Method::GET && path == "/dir" {
        text = directory(&shared, &text);
    }
    if is_new_order && status.is_success() {
        if let Some(id) = replaces {
            let mut order: serde_json::Value = serde_json::from_str(&text).unwrap();
            order["replaces"] = serde_json::Value::String(id);
            text = order.to_string();
        }
    }
    out.body(Body::from(text)).unwrap()
}

/// Learn the newOrder path; add `renewalInfo` when ARI is on.
fn directory(shared: &Shared, text: &str) -> String {
    let mut dir: serde_json::Value = serde_json::from_str(text).unwrap();
    let new_order = dir["newOrder"].as_str().unwrap_or_default();
    let mut c = shared.control.lock().unwrap();
    c.new_order_path = new_order.strip_prefix(&shared.own).map(str::to_owned);
    if c.ari {
        dir["renewalInfo"] = serde_json::Value::String(format!("{}/renewal-info", shared.own));
    }
    dir.to_string()
}

fn renewal_info(shared: &Shared, id: &str) -> Response<Body> {
    let mut c = shared.control.lock().unwrap();
    c.renewal_info_requests.push(id.to_owned());
    let Some(window) = c.window.clone() else {
        return problem(StatusCode::NOT_FOUND, "malformed", "no window set", None);
    };
    let body = serde_json::json!({
        "suggestedWindow": { "start": rfc3339(window.start), "end": rfc3339(window.end) },
        "explanationURL": "https://example.test/why",
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("retry-after", window.retry_after.to_string())
        .body(Body::from(body.to_string()))
        .unwrap()
}
