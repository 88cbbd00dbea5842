//! CA problem documents (RFC 7807 / RFC 8555 §6.7), shown verbatim with a one-line hint.

use instant_acme::{Error, Problem};

const PREFIX: &str = "urn:ietf:params:acme:error:";

/// A hint for the problem types operators meet most.
#[must_use]
pub fn hint(problem_type: &str) -> Option<&'static str> {
    let short = problem_type.strip_prefix(PREFIX).unwrap_or(problem_type);
    Some(match short {
        "rateLimited" => "the CA's rate limit was reached: wait until the time it names (Retry-After), and test against a staging directory",
        "unauthorized" => "the CA did not find the expected TXT value: a server lacked it, or its resolver still held an older answer; `certpilot check NAME` shows every authoritative server and how long resolver caches may hold the previous answer, and the next run waits that out",
        "dns" => "the CA's DNS lookup failed: check that the domain's nameservers answer and DNSSEC is valid",
        "caa" => "a CAA record forbids this CA: add an `issue` property for it to the domain's CAA record set",
        "rejectedIdentifier" => "the CA will not issue for this name (its policy, a reserved or invalid name)",
        "incorrectResponse" => "the TXT value served does not match: an old value may still be cached or another record shadows it",
        "connection" => "the CA could not reach the domain's nameservers",
        "accountDoesNotExist" => "the CA no longer knows this account (reset or wiped): register it again under the same name, and its certificates keep it, with `certpilot account add NAME --directory URL --agree-tos --replace`",
        "externalAccountRequired" => "this CA needs external account binding: pass --eab-kid and --eab-hmac-key",
        "malformed" => "the CA rejected the request as malformed; if a name is involved, check its spelling",
        "serverInternal" => "the CA had an internal error: try again later",
        _ => return None,
    })
}

/// The problem document as text: type, detail, subproblems, then the hint.
pub fn render(problem: &Problem) -> String {
    let mut out = String::new();
    let kind = problem.r#type.as_deref().unwrap_or("(no type)");
    out.push_str(kind);
    if let Some(status) = problem.status {
        out.push_str(&format!(" (HTTP {status})"));
    }
    if let Some(detail) = &problem.detail {
        out.push_str(": ");
        out.push_str(detail);
    }
    for sub in &problem.subproblems {
        out.push_str("\n  - ");
        if let Some(id) = &sub.identifier {
            out.push_str(&format!("{}: ", id.authorized(false)));
        }
        out.push_str(sub.r#type.as_deref().unwrap_or(""));
        if let Some(detail) = &sub.detail {
            out.push_str(": ");
            out.push_str(detail);
        }
    }
    if let Some(h) = problem.r#type.as_deref().and_then(hint) {
        out.push_str("\n  hint: ");
        out.push_str(h);
    }
    out
}

/// Whether the CA rejected the request's nonce (the request was not processed).
#[must_use]
pub fn is_bad_nonce(err: &Error) -> bool {
    matches!(err, Error::Api(p) if p.r#type.as_deref() == Some("urn:ietf:params:acme:error:badNonce"))
}

/// Attempts per request when the CA keeps rejecting nonces (on top of instant-acme's own
/// retries: a CA behind a load balancer, or Pebble's `PEBBLE_WFE_NONCEREJECT`, rejects many).
pub const NONCE_ATTEMPTS: usize = 10;

/// Run `request` until the CA accepts its nonce, at most [`NONCE_ATTEMPTS`] times. Safe for
/// any request: one rejected for its nonce was not processed. Other errors return at once.
///
/// # Errors
/// The request's own error, or the last `badNonce`.
pub async fn retry_bad_nonce<T, F, Fut>(mut request: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match request().await {
            Err(e) if is_bad_nonce(&e) && attempt < NONCE_ATTEMPTS => {
                tracing::debug!(attempt, "badNonce, retrying");
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_type_detail_subproblems_and_hint() {
        let problem: Problem = serde_json::from_str(
            r#"{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"Error creating new order","status":400,
                "subproblems":[{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"blocked","identifier":{"type":"dns","value":"bad.example"}}]}"#,
        )
        .unwrap();
        let text = render(&problem);
        assert!(text.starts_with("urn:ietf:params:acme:error:rejectedIdentifier (HTTP 400): Error creating new order"), "{text}");
        assert!(
            text.contains("bad.example: urn:ietf:params:acme:error:rejectedIdentifier: blocked"),
            "{text}"
        );
        assert!(text.contains("hint: the CA will not issue"), "{text}");
    }

    fn problem(short: &str) -> Error {
        Error::Api(Problem {
            r#type: Some(format!("{PREFIX}{short}")),
            detail: None,
            status: Some(400),
            subproblems: Vec::new(),
        })
    }

    /// `failures` errors of kind `short` before success; returns (result, calls made).
    async fn run(short: &str, failures: usize) -> (Result<usize, Error>, usize) {
        let calls = std::cell::Cell::new(0);
        let result = retry_bad_nonce(|| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n <= failures {
                    Err(problem(short))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        (result, calls.get())
    }

    #[tokio::test]
    async fn bad_nonces_are_retried_up_to_the_limit_and_nothing_else_is() {
        let (result, calls) = run("badNonce", NONCE_ATTEMPTS - 1).await;
        assert_eq!(result.unwrap(), NONCE_ATTEMPTS);
        assert_eq!(calls, NONCE_ATTEMPTS);

        let (result, calls) = run("badNonce", NONCE_ATTEMPTS).await;
        assert!(is_bad_nonce(&result.unwrap_err()));
        assert_eq!(calls, NONCE_ATTEMPTS);

        let (result, calls) = run("malformed", 1).await;
        assert!(
            matches!(result, Err(Error::Api(p)) if p.r#type.as_deref() == Some("urn:ietf:params:acme:error:malformed"))
        );
        assert_eq!(calls, 1);
    }

    #[test]
    fn hints_cover_the_common_types() {
        for t in [
            "rateLimited",
            "unauthorized",
            "dns",
            "caa",
            "rejectedIdentifier",
        ] {
            assert!(hint(&format!("{PREFIX}{t}")).is_some(), "{t}");
        }
        assert!(hint("urn:example:other").is_none());
    }
}
