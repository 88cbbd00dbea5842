//! ARI helpers shared by the renewal tests: the certificate identifier computed here (not by
//! certpilot), the stored window's Retry-After made to pass, RFC 3339 fields.

use std::path::Path;

use base64::Engine;
use time::OffsetDateTime;

/// The ARI identifier of a PEM chain's leaf: base64url(AKI keyIdentifier) "."
/// base64url(DER serial).
pub fn ari_id(chain_pem: &[u8]) -> String {
    let (_, pem) = x509_parser::pem::parse_x509_pem(chain_pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    let aki = cert
        .extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
        .expect("Pebble's certificates carry an AKI");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}",
        b64.encode(aki),
        b64.encode(cert.tbs_certificate.raw_serial())
    )
}

/// Let the stored window's Retry-After pass for certificate `name` in workdir `dir` (as
/// hours later), so the next run asks the CA again.
pub fn retry_after_passed(dir: &Path, name: &str) {
    let path = dir.join(format!("state/ari/{name}.json"));
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("a stored ARI state")).unwrap();
    state["retry_after"] = "2000-01-01T00:00:00Z".into();
    std::fs::write(&path, state.to_string()).unwrap();
}

/// An RFC 3339 string field.
pub fn rfc3339(v: &serde_json::Value) -> OffsetDateTime {
    OffsetDateTime::parse(
        v.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}
