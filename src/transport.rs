//! What every HTTP client of certpilot (ACME, acme-dns, PowerDNS) shares: how a failed
//! request is told.

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
