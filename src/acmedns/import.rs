//! Reading the credential files other acme-dns clients leave behind.
//!
//! - goacmedns storage (lego's acme-dns provider, acme-dns-client): an object keyed by domain,
//!   each value `{fulldomain, subdomain, username, password, server_url}`.
//! - certbot-dns-acmedns (`acmedns.json`): keyed by domain, each value the `/register` answer
//!   (`username, password, fulldomain, subdomain, allowfrom`); no server URL, so the user
//!   supplies it.
//!
//! The files hold passwords, so no error here quotes a value from the file: messages name the
//! file, the entry and the field.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::client::{Password, ServerUrl};
use super::AcmeDnsError;
use crate::config::AcmeDnsRegistration;
use crate::domain::names;

/// Which tool wrote a credentials file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// goacmedns storage: entries carry `server_url`.
    Goacmedns,
    /// certbot-dns-acmedns: the `/register` answers, without a server.
    Certbot,
}

impl fmt::Display for ImportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Goacmedns => "goacmedns storage (lego, acme-dns-client)",
            Self::Certbot => "certbot-dns-acmedns acmedns.json",
        })
    }
}

/// One account from the file, ready for the config and the keyring.
#[derive(Debug, Clone)]
pub struct ImportedAccount {
    /// Domain, normalised, without `*.`.
    pub domain: String,
    /// The public parts.
    pub registration: AcmeDnsRegistration,
    /// The API key.
    pub password: Password,
}

/// The parsed file.
#[derive(Debug, Clone)]
pub struct ImportedFile {
    /// Where it came from.
    pub path: PathBuf,
    /// Which tool wrote it.
    pub format: ImportFormat,
    /// Its accounts, by domain.
    pub accounts: Vec<ImportedAccount>,
    /// `server_url` values that `--server` replaced.
    pub replaced_servers: Vec<String>,
}

/// Read and parse `path`; `server` is required for certbot files and overrides the URL of
/// goacmedns entries. Every server URL passes the transport policy.
///
/// # Errors
/// [`AcmeDnsError::Import`] naming the file, entry and field at fault;
/// [`AcmeDnsError::ServerRequired`] for a certbot file without `server`.
pub fn read(
    path: &Path,
    server: Option<&str>,
    allow_insecure_http: bool,
) -> Result<ImportedFile, AcmeDnsError> {
    let text = std::fs::read_to_string(path).map_err(|e| AcmeDnsError::Import {
        file: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    parse(path, &text, server, allow_insecure_http)
}

/// [`read`] on text already in memory (`path` is for messages).
///
/// # Errors
/// As [`read`].
pub fn parse(
    path: &Path,
    text: &str,
    server: Option<&str>,
    allow_insecure_http: bool,
) -> Result<ImportedFile, AcmeDnsError> {
    let fail = |detail: String| AcmeDnsError::Import {
        file: path.to_path_buf(),
        detail,
    };
    // serde_json's syntax errors give a position, never the text around it.
    let value: Value = serde_json::from_str(text).map_err(|e| fail(format!("not JSON: {e}")))?;
    let Value::Object(entries) = value else {
        return Err(fail(
            "expected a JSON object keyed by domain (goacmedns storage or certbot's acmedns.json)"
                .into(),
        ));
    };
    if entries.is_empty() {
        return Err(fail("no accounts in the file".into()));
    }
    let format = if entries.values().any(|v| v.get("server_url").is_some()) {
        ImportFormat::Goacmedns
    } else {
        ImportFormat::Certbot
    };
    let server = match server {
        Some(text) => Some(ServerUrl::parse(text, allow_insecure_http)?),
        None => None,
    };
    let mut accounts: BTreeMap<String, ImportedAccount> = BTreeMap::new();
    let mut replaced_servers = Vec::new();
    for (key, entry) in &entries {
        let entry_fail = |detail: String| fail(format!("entry {key:?}: {detail}"));
        let domain = names::normalize(key).map_err(|e| entry_fail(e.to_string()))?;
        let domain = names::base_domain(&domain).to_owned();
        let fields = entry
            .as_object()
            .ok_or_else(|| entry_fail("expected an object".into()))?;
        let server_url = entry_server(path, key, fields, server.as_ref(), allow_insecure_http)?;
        if let (Some(given), Some(Value::String(old))) = (&server, fields.get("server_url")) {
            if given.as_str() != old.trim_end_matches('/') {
                replaced_servers.push(old.clone());
            }
        }
        let account =
            entry_account(key, fields, &domain, server_url.as_str()).map_err(entry_fail)?;
        merge(&mut accounts, account).map_err(&fail)?;
    }
    Ok(ImportedFile {
        path: path.to_path_buf(),
        format,
        accounts: accounts.into_values().collect(),
        replaced_servers,
    })
}

/// The server for one entry: `--server`, else its own `server_url`.
fn entry_server(
    path: &Path,
    key: &str,
    fields: &Map<String, Value>,
    given: Option<&ServerUrl>,
    allow_insecure_http: bool,
) -> Result<ServerUrl, AcmeDnsError> {
    if let Some(url) = given {
        return Ok(url.clone());
    }
    match fields.get("server_url") {
        Some(Value::String(url)) => ServerUrl::parse(url, allow_insecure_http),
        Some(_) => Err(AcmeDnsError::Import {
            file: path.to_path_buf(),
            detail: format!("entry {key:?}: field server_url is not a string"),
        }),
        None => Err(AcmeDnsError::ServerRequired {
            file: path.to_path_buf(),
        }),
    }
}

/// Check one entry's fields; messages never quote a value.
fn entry_account(
    key: &str,
    fields: &Map<String, Value>,
    domain: &str,
    server: &str,
) -> Result<ImportedAccount, String> {
    let text = |name: &str| -> Result<String, String> {
        match fields.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Some(Value::String(_)) => Err(format!("field {name} is empty")),
            Some(_) => Err(format!("field {name} is not a string")),
            None => Err(format!("field {name} is missing")),
        }
    };
    let username = text("username")?;
    let password = text("password")?;
    let subdomain = text("subdomain")?.to_ascii_lowercase();
    let fulldomain = names::normalize(&text("fulldomain")?)
        .map_err(|_| "field fulldomain is not a DNS name".to_owned())?;
    if !fulldomain.starts_with(&format!("{subdomain}.")) {
        return Err(
            "field fulldomain is not <subdomain>.<zone> (subdomain and fulldomain disagree)".into(),
        );
    }
    let allowfrom = match fields.get("allowfrom") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| "field allowfrom holds something that is not a string".to_owned())?,
        Some(_) => return Err("field allowfrom is not an array".into()),
    };
    tracing::debug!(entry = key, domain, "parsed acme-dns credentials");
    Ok(ImportedAccount {
        domain: domain.to_owned(),
        registration: AcmeDnsRegistration {
            server: server.to_owned(),
            username,
            subdomain,
            fulldomain,
            allowfrom,
        },
        password: Password::new(password),
    })
}

/// A wildcard and its apex share one account: the same account twice is fine, two different
/// ones for the same domain are not.
fn merge(
    accounts: &mut BTreeMap<String, ImportedAccount>,
    account: ImportedAccount,
) -> Result<(), String> {
    match accounts.get(&account.domain) {
        None => {
            accounts.insert(account.domain.clone(), account);
            Ok(())
        }
        Some(existing)
            if existing.registration == account.registration
                && existing.password == account.password =>
        {
            Ok(())
        }
        Some(_) => Err(format!(
            "two different accounts for {} (a wildcard and its apex share one account)",
            account.domain
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOACMEDNS: &str = include_str!("../../tests/fixtures/acmedns/goacmedns-storage.json");
    const CERTBOT: &str = include_str!("../../tests/fixtures/acmedns/certbot-acmedns.json");

    fn parse_str(text: &str, server: Option<&str>) -> Result<ImportedFile, AcmeDnsError> {
        parse(Path::new("/tmp/creds.json"), text, server, false)
    }

    #[test]
    fn goacmedns_storage() {
        let file = parse_str(GOACMEDNS, None).unwrap();
        assert_eq!(file.format, ImportFormat::Goacmedns);
        let domains: Vec<_> = file.accounts.iter().map(|a| a.domain.as_str()).collect();
        assert_eq!(domains, ["example.test", "www.example.test"]);
        let reg = &file.accounts[0].registration;
        assert_eq!(reg.server, "http://127.0.0.1:8444");
        assert_eq!(reg.username, "0b6f2d4e-8a9c-4e1f-b3d5-7c9e1a2b4d6f");
        assert_eq!(reg.subdomain, "4c1d8e7a-1f52-4b7e-9a3c-2b8f0d6e5a11");
        assert_eq!(
            reg.fulldomain,
            "4c1d8e7a-1f52-4b7e-9a3c-2b8f0d6e5a11.auth.example.test"
        );
        assert_eq!(
            file.accounts[0].password.expose(),
            "ZxY9wV8uT7sR6qP5oN4mL3kJ2iH1gF0eDcBa-_Qw"
        );
        assert!(file.replaced_servers.is_empty());
    }

    #[test]
    fn certbot_file_needs_a_server() {
        let e = parse_str(CERTBOT, None).unwrap_err();
        assert!(e.is_usage());
        assert!(e.to_string().contains("--server"), "{e}");
        let file = parse_str(CERTBOT, Some("https://auth.example.test/")).unwrap();
        assert_eq!(file.format, ImportFormat::Certbot);
        let reg = &file.accounts[0].registration;
        assert_eq!(reg.server, "https://auth.example.test");
        assert_eq!(reg.allowfrom, ["192.0.2.0/24"]);
        assert_eq!(
            file.accounts[0].password.expose(),
            "Pq8Rs7Tu6Vw5Xy4Za3Bc2De1Fg0Hi9Jk8Lm7No6P"
        );
    }

    #[test]
    fn server_flag_overrides_goacmedns_urls_and_policy_applies() {
        let file = parse_str(GOACMEDNS, Some("https://auth.example.test")).unwrap();
        assert!(file
            .accounts
            .iter()
            .all(|a| a.registration.server == "https://auth.example.test"));
        assert_eq!(file.replaced_servers.len(), 2);
        let remote = GOACMEDNS.replace("127.0.0.1:8444", "auth.example.test");
        let e = parse_str(&remote, None).unwrap_err();
        assert!(e.to_string().contains("--allow-insecure-http"), "{e}");
        assert!(parse(Path::new("x"), &remote, None, true).is_ok());
    }

    #[test]
    fn wildcard_key_shares_the_apex_account() {
        let entry =
            r#"{"username":"u","password":"p","fulldomain":"s.auth.example","subdomain":"s"}"#;
        let text = format!(r#"{{"example.test":{entry},"*.example.test":{entry}}}"#);
        let file = parse_str(&text, Some("https://a.example")).unwrap();
        assert_eq!(file.accounts.len(), 1);
        let other = entry.replace("\"u\"", "\"v\"");
        let text = format!(r#"{{"example.test":{entry},"*.example.test":{other}}}"#);
        let e = parse_str(&text, Some("https://a.example")).unwrap_err();
        assert!(
            e.to_string()
                .contains("two different accounts for example.test"),
            "{e}"
        );
    }

    #[test]
    fn malformed_files_have_clear_errors_without_values() {
        let secret = "Pq8Rs7Tu6Vw5Xy4Za3Bc2De1Fg0Hi9Jk8Lm7No6P";
        let cases = [
            (String::new(), "not JSON"),
            (
                format!("{{\"example.test\": {{\"password\": \"{secret}\""),
                "not JSON",
            ),
            ("[]".to_owned(), "expected a JSON object keyed by domain"),
            ("{}".to_owned(), "no accounts"),
            (
                r#"{"example.test": "x"}"#.to_owned(),
                "entry \"example.test\": expected an object",
            ),
            (
                CERTBOT.replace("\"username\"", "\"user\""),
                "field username is missing",
            ),
            (
                CERTBOT.replace(&format!("\"{secret}\""), "42"),
                "field password is not a string",
            ),
            (
                CERTBOT.replace(&format!("\"{secret}\""), "\"\""),
                "field password is empty",
            ),
            (
                CERTBOT.replace("[\"192.0.2.0/24\"]", "\"192.0.2.0/24\""),
                "allowfrom is not an array",
            ),
            (
                CERTBOT.replace(".auth.example.test", ".auth..example.test"),
                "fulldomain is not a DNS name",
            ),
            (
                CERTBOT.replace("\"subdomain\": \"7a", "\"subdomain\": \"8a"),
                "subdomain and fulldomain disagree",
            ),
            (
                CERTBOT.replace("example.test\":", "exa mple.test\":"),
                "entry \"exa mple.test\"",
            ),
        ];
        for (text, want) in cases {
            let e = parse_str(&text, Some("https://a.example"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "want {want:?} in {e}");
            assert!(e.contains("/tmp/creds.json"), "{e}");
            assert!(!e.contains(secret), "secret in {e}");
        }
    }
}
