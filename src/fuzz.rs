//! Fuzz entry points: one per parser that reads what a user or another tool wrote.
//!
//! Each function takes arbitrary bytes, runs one parser and panics when an invariant that
//! must hold for *any* input is broken. The same functions are driven by `cargo fuzz`
//! (`fuzz/fuzz_targets/`, libFuzzer) and by the test suite (`tests/fuzz_parsers.rs`, which
//! replays the kept corpus in `fuzz/corpus/<target>/` and runs proptest mutations of it), so
//! what one engine finds the other keeps checking.

use std::path::Path;

use crate::acmedns::import;
use crate::config::{self as config_file, certs_json};
use crate::domain::names;

/// One fuzz target: it panics when an invariant breaks.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("config", config),
    ("certs_json", certs_json),
    ("acmedns_import", acmedns_import),
    ("domain_names", domain_names),
];

/// `certpilot.toml`: an accepted config survives save → load unchanged; a rejected one is
/// reported with the file name and a line inside the text.
///
/// # Panics
///
/// When the property above does not hold: the fuzzer and the corpus replay report that.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("certpilot.toml");
    match config_file::parse(path, &text) {
        Ok(config) => {
            let saved = toml::to_string_pretty(&config).expect("an accepted config serialises");
            let again = config_file::parse(path, &saved)
                .unwrap_or_else(|e| panic!("saved config does not load again: {e}\n{saved}"));
            assert_eq!(config, again, "config changed across save and load");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains("certpilot.toml"),
                "no file named: {message}"
            );
            if let config_file::ConfigError::Parse { line, .. } = e {
                let lines = text.lines().count().max(1);
                assert!(
                    line <= lines + 1,
                    "line {line} is past the text's {lines} lines"
                );
            }
        }
    }
}

/// dnscontrol's `certs.json`: accepted entries have valid folder names, 1 to 100 names, all
/// of them already normal; a rejection says something.
///
/// # Panics
///
/// When the property above does not hold: the fuzzer and the corpus replay report that.
pub fn certs_json(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match certs_json::parse(&text) {
        Ok(certs) => {
            for cert in certs {
                names::validate_cert_name(&cert.name)
                    .unwrap_or_else(|e| panic!("accepted a bad certificate name: {e}"));
                assert!(
                    (1..=100).contains(&cert.names.len()),
                    "accepted {} names for {}",
                    cert.names.len(),
                    cert.name
                );
                for name in &cert.names {
                    assert_normal(name);
                }
            }
        }
        Err(e) => assert!(!e.to_string().is_empty(), "empty error"),
    }
}

/// acme-dns credential files: never an error that quotes a password from the file, and
/// accepted accounts carry normal domains and https servers.
///
/// # Panics
///
/// When the property above does not hold: the fuzzer and the corpus replay report that.
pub fn acmedns_import(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("acmedns.json");
    match import::parse(path, &text, Some("https://acme-dns.example.org"), false) {
        Ok(file) => {
            for account in &file.accounts {
                assert_normal(&account.domain);
                assert!(
                    account.registration.server.starts_with("https://"),
                    "accepted server {}",
                    account.registration.server
                );
            }
        }
        Err(e) => {
            let message = e.to_string();
            for password in passwords_in(&text) {
                assert!(
                    !message.contains(&password),
                    "the error quotes a password: {message}"
                );
            }
        }
    }
}

/// Domain names: normalising is idempotent and its result obeys the DNS length rules.
pub fn domain_names(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(name) = names::normalize(&text) {
        assert_normal(&name);
    }
}

/// A normalised name normalises to itself, is lower-case ASCII and within DNS limits.
fn assert_normal(name: &str) {
    assert_eq!(
        names::normalize(name).as_deref(),
        Ok(name),
        "normalising {name:?} again changed it"
    );
    assert!(
        name.is_ascii() && !name.bytes().any(|b| b.is_ascii_uppercase()),
        "not lower-case ASCII: {name:?}"
    );
    assert!(name.len() <= 253, "longer than 253 octets: {name:?}");
    for label in name.split('.') {
        assert!(
            (1..=63).contains(&label.len()),
            "label {label:?} of {name:?}"
        );
    }
}

/// Every non-trivial string value of a `password` key, at any depth, unless the same text
/// also stands elsewhere in the file (in a key or another value, which messages may quote).
fn passwords_in(text: &str) -> Vec<String> {
    fn walk(value: &serde_json::Value, secret: &mut Vec<String>, public: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    public.push(key.clone());
                    match value {
                        serde_json::Value::String(s) if key.eq_ignore_ascii_case("password") => {
                            secret.push(s.clone());
                        }
                        other => walk(other, secret, public),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, secret, public)),
            serde_json::Value::String(s) => public.push(s.clone()),
            _ => {}
        }
    }
    let (mut secret, mut public) = (Vec::new(), Vec::new());
    if let Ok(value) = serde_json::from_str(text) {
        walk(&value, &mut secret, &mut public);
    }
    // Short values occur in any message by chance ("a", "1").
    secret.retain(|s| s.len() >= 8 && !public.iter().any(|p| p.contains(s.as_str())));
    secret
}
