//! CORS for the API as the reference server configures it (Go's rs/cors with `corsorigins`,
//! methods GET and POST, the default allowed request headers): an allowed origin gets
//! `Access-Control-Allow-Origin` (`*` when every origin is allowed, else its own origin), a
//! preflight (`OPTIONS` with `Access-Control-Request-Method`) gets 204 and the preflight headers.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};

/// The layer for `origins` (the `corsorigins` setting; `*` anywhere means every origin, and
/// one `*` inside an entry matches any text there, as in rs/cors; case-insensitive).
pub(crate) fn layer(origins: &[String]) -> CorsLayer {
    let patterns: Vec<String> = origins.iter().map(|o| o.to_ascii_lowercase()).collect();
    // rs/cors: an empty list also means every origin.
    let allow_origin = if patterns.is_empty() || patterns.iter().any(|p| p == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin
                .to_str()
                .is_ok_and(|origin| patterns.iter().any(|p| matches(p, origin)))
        })
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods(AllowMethods::list([Method::GET, Method::POST]))
        .allow_headers(AllowHeaders::list([
            header::ACCEPT,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("x-requested-with"),
        ]))
}

/// Whether `origin` fits `pattern` (lowercase; at most one `*`).
fn matches(pattern: &str, origin: &str) -> bool {
    let origin = origin.to_ascii_lowercase();
    match pattern.split_once('*') {
        Some((prefix, suffix)) => {
            origin.len() >= prefix.len() + suffix.len()
                && origin.starts_with(prefix)
                && origin.ends_with(suffix)
        }
        None => origin == pattern,
    }
}

/// A preflight answers 204 No Content, as rs/cors does (the CORS layer answers 200).
pub(crate) async fn preflight_status(request: Request, next: Next) -> Response {
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = next.run(request).await;
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_patterns_match_like_rs_cors() {
        for (pattern, origin, expected) in [
            ("https://app.example", "https://app.example", true),
            ("https://app.example", "HTTPS://APP.EXAMPLE", true),
            ("https://app.example", "https://other.example", false),
            ("https://*.example", "https://a.b.example", true),
            ("https://*.example", "https://example", false),
            ("http://*", "https://x", false),
        ] {
            assert_eq!(matches(pattern, origin), expected, "{pattern} vs {origin}");
        }
    }
}
