//! The HTTP API (`/register`, `/update`, `/health`) with the reference server's status codes,
//! bodies and routing quirks (Go's httprouter: 405 with `Allow`, 404 text, and a redirect to
//! the clean path for a trailing or doubled slash or other letter case).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use tower_http::timeout::TimeoutLayer;

use super::auth::{self, Authenticator};
use super::body;
use super::store::Store;

/// Requests bigger than this are refused (413); real bodies are under 200 bytes.
const BODY_LIMIT: usize = 64 * 1024;

/// What the handlers share.
pub(crate) struct Api {
    /// The account database.
    pub store: Arc<Store>,
    /// Login checks.
    pub auth: Arc<Authenticator>,
    /// Zone suffix of `fulldomain` (lowercase, no trailing dot).
    pub zone: String,
    /// Header trusted for the client address, if configured.
    pub forwarded_header: Option<HeaderName>,
    /// bcrypt cost of new accounts.
    pub bcrypt_cost: u32,
    /// Whether `/register` exists.
    pub registration: bool,
    /// The `corsorigins` setting.
    pub cors_origins: Vec<String>,
    /// Longest time for one request, body included (then 408).
    pub request_timeout: std::time::Duration,
}

type Shared = State<Arc<Api>>;

/// The router; serve it with `into_make_service_with_connect_info::<SocketAddr>()`.
pub(crate) fn router(api: Arc<Api>) -> Router {
    let mut router = Router::new()
        .route("/update", post(update).fallback(method_not_allowed))
        // httprouter serves HEAD only where a HEAD route exists: 405 here, not GET's answer.
        .route(
            "/health",
            get(health)
                .head(method_not_allowed)
                .fallback(method_not_allowed),
        );
    if api.registration {
        router = router.route("/register", post(register).fallback(method_not_allowed));
    }
    let cors = super::cors::layer(&api.cors_origins);
    let deadline = TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, api.request_timeout);
    router
        .fallback(not_found_or_redirect)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(deadline)
        .layer(cors)
        .layer(axum::middleware::from_fn(super::cors::preflight_status))
        .with_state(api)
}

/// The registration reply; field order is the wire order.
#[derive(Serialize)]
struct Registered<'a> {
    username: &'a str,
    password: &'a str,
    fulldomain: String,
    subdomain: &'a str,
    allowfrom: &'a [String],
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The reference server's error body (note the space after the colon).
fn json_error(status: StatusCode, code: &str) -> Response {
    json(status, format!("{{\"error\": \"{code}\"}}"))
}

fn forbidden() -> Response {
    json_error(StatusCode::UNAUTHORIZED, "forbidden")
}

fn go_text(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        text,
    )
        .into_response()
}

async fn register(State(api): Shared, request_body: Bytes) -> Response {
    let fields = if request_body.is_empty() {
        body::Fields::default()
    } else {
        match body::register_body(&request_body) {
            Some(fields) => fields,
            None => return json_error(StatusCode::BAD_REQUEST, "malformed_json_payload"),
        }
    };
    let mut allowfrom = Vec::new();
    for entry in fields.allowfrom.unwrap_or_default() {
        match body::parse_cidr(&entry) {
            Some((cleaned, _)) => allowfrom.push(cleaned),
            None => return json_error(StatusCode::BAD_REQUEST, "invalid_allowfrom_cidr"),
        }
    }
    let new = match auth::register(&api.store, api.bcrypt_cost, allowfrom).await {
        Ok(new) => new,
        Err(error) => {
            tracing::error!(%error, "registration failed");
            return json_error(StatusCode::INTERNAL_SERVER_ERROR, "db_error");
        }
    };
    let account = &new.account;
    tracing::info!(username = %account.username, subdomain = %account.subdomain, "registered");
    let reply = Registered {
        username: &account.username,
        password: &new.password,
        fulldomain: format!("{}.{}", account.subdomain, api.zone),
        subdomain: &account.subdomain,
        allowfrom: &account.allowfrom,
    };
    match serde_json::to_string(&reply) {
        Ok(text) => json(StatusCode::CREATED, text),
        Err(_) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "db_error"),
    }
}

/// The first value of a header as text ("" when absent or not text, like Go's `Get`).
fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

impl Api {
    /// The client addresses the allowfrom check uses: the TCP peer, or every parsable address
    /// in the configured forwarded-for header.
    fn clients(&self, peer: IpAddr, headers: &HeaderMap) -> Vec<IpAddr> {
        match &self.forwarded_header {
            Some(name) => body::forwarded_addresses(header_text(headers, name.as_str())),
            None => vec![peer],
        }
    }
}

async fn update(
    State(api): Shared,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request_body: Bytes,
) -> Response {
    let user = header_text(&headers, "x-api-user");
    let key = header_text(&headers, "x-api-key");
    let Some(account) = api.auth.check(user, key).await else {
        return forbidden();
    };
    if !body::allowed_from(&account.allowfrom, &api.clients(peer.ip(), &headers)) {
        tracing::info!(username = %account.username, %peer, "update refused: address not allowed");
        return forbidden();
    }
    let fields = body::update_body(&request_body);
    if fields.subdomain.as_deref() != Some(account.subdomain.as_str()) {
        tracing::info!(username = %account.username, "update refused: not this account's subdomain");
        return forbidden();
    }
    let txt = fields.txt.unwrap_or_default();
    if !body::valid_txt(&txt) {
        return json_error(StatusCode::BAD_REQUEST, "bad_txt");
    }
    match api.store.update_txt(&account.subdomain, &txt).await {
        Ok(()) => {
            tracing::debug!(subdomain = %account.subdomain, "TXT updated");
            json(StatusCode::OK, format!("{{\"txt\": \"{txt}\"}}"))
        }
        Err(error) => {
            tracing::error!(%error, "update failed");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "db_error")
        }
    }
}

async fn health() -> StatusCode {
    StatusCode::OK
}

// The error and redirect handlers take the body (unused) so that it is read before the
// answer: hyper closes a connection whose request body was left unread, and a client that
// follows the 307 on that pooled connection (python-requests does) then fails.

async fn method_not_allowed(_unread: Bytes) -> Response {
    go_text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n")
}

async fn not_found_or_redirect(
    State(api): Shared,
    method: Method,
    uri: Uri,
    _unread: Bytes,
) -> Response {
    let Some(route) = fixed_route(&api, &method, uri.path()) else {
        return go_text(StatusCode::NOT_FOUND, "404 page not found\n");
    };
    let location = match uri.query() {
        Some(query) => format!("{route}?{query}"),
        None => route.to_owned(),
    };
    let Ok(location) = HeaderValue::from_str(&location) else {
        return go_text(StatusCode::NOT_FOUND, "404 page not found\n");
    };
    // httprouter: 301 for GET, 307 (method and body kept) for everything else.
    if method == Method::GET {
        let body = format!("<a href=\"{route}\">Moved Permanently</a>.\n\n");
        let headers = [
            (header::LOCATION, location),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
        ];
        return (StatusCode::MOVED_PERMANENTLY, headers, body).into_response();
    }
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}

/// The route `path` means after cleaning (`//`, `.`, `..`, a trailing slash, letter case),
/// if that route exists for `method`.
fn fixed_route(api: &Api, method: &Method, path: &str) -> Option<&'static str> {
    let mut routes: Vec<&'static str> = Vec::new();
    if method == Method::POST {
        routes.push("/update");
        if api.registration {
            routes.push("/register");
        }
    } else if method == Method::GET {
        routes.push("/health");
    }
    let clean = clean_path(path)?;
    routes
        .into_iter()
        .find(|route| route.eq_ignore_ascii_case(&clean))
}

/// Go's `path.Clean` of a rooted path, without the trailing slash; `None` for the root.
fn clean_path(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_clean_like_httprouter() {
        for (path, clean) in [
            ("/register/", Some("/register")),
            ("//register", Some("/register")),
            ("/a/../register//", Some("/register")),
            ("/./Register", Some("/Register")),
            ("/", None),
            ("//", None),
        ] {
            assert_eq!(clean_path(path).as_deref(), clean, "{path}");
        }
    }
}
