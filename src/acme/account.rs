//! ACME accounts: directory presets, terms of service, registration, restoring from the keyring.
//!
//! The account's private key (inside instant-acme's `AccountCredentials`) is stored in the
//! keyring; `accounts/<name>.json` keeps only public facts.

use std::path::Path;

use base64::Engine as _;
use instant_acme::{Account, AccountCredentials, ExternalAccountKey, NewAccount};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::http::{self, AcmeHttp, HttpError};
use super::problem;
use crate::fsutil::{self, Mode};
use crate::secrets::{Keystore, SecretError, SecretRef};

/// Known CAs, by the names users type.
pub const PRESETS: [(&str, &str); 5] = [
    (
        "letsencrypt",
        "https://acme-v02.api.letsencrypt.org/directory",
    ),
    (
        "letsencrypt-staging",
        "https://acme-staging-v02.api.letsencrypt.org/directory",
    ),
    ("zerossl", "https://acme.zerossl.com/v2/DV90"),
    ("google", "https://dv.acme-v02.api.pki.goog/directory"),
    (
        "google-staging",
        "https://dv.acme-v02.test-api.pki.goog/directory",
    ),
];

/// Account errors.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Neither a preset nor an https URL.
    #[error("directory {0:?} is neither a preset ({presets}) nor an https:// URL", presets = PRESETS.map(|p| p.0).join(", "))]
    BadDirectory(String),
    /// The EAB HMAC key is not base64.
    #[error("--eab-hmac-key is not base64url: {0}")]
    BadEabKey(String),
    /// HTTP-level failure.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The directory document is not JSON.
    #[error("{url} is not an ACME directory: {detail}")]
    BadDirectoryDocument {
        /// The directory URL.
        url: String,
        /// serde's message.
        detail: String,
    },
    /// The CA answered with an error, or with something that is not a usable ACME answer.
    #[error("{0}")]
    Acme(String),
    /// Stored credentials are corrupt.
    #[error("stored credentials of account {name:?} are unreadable: {detail}")]
    BadCredentials {
        /// Account name.
        name: String,
        /// serde's message.
        detail: String,
    },
    /// The keyring failed while storing new credentials.
    #[error("the CA accepted the new account key but the keyring failed: {0}")]
    Keyring(String),
    /// The metadata file could not be written.
    #[error("{path}: {detail}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
}

/// Resolve a preset name or pass an https URL through.
///
/// # Errors
///
/// When `preset_or_url` is neither a known preset nor an `https://` URL.
pub fn directory_url(preset_or_url: &str) -> Result<String, AccountError> {
    if let Some((_, url)) = PRESETS.iter().find(|(name, _)| *name == preset_or_url) {
        return Ok((*url).to_owned());
    }
    if preset_or_url.starts_with("https://") && preset_or_url.len() > "https://".len() {
        return Ok(preset_or_url.to_owned());
    }
    Err(AccountError::BadDirectory(preset_or_url.to_owned()))
}

/// What the directory's `meta` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryMeta {
    /// Terms of service URL.
    pub terms_of_service: Option<String>,
    /// The CA's website.
    pub website: Option<String>,
    /// Whether EAB is required.
    #[serde(default)]
    pub external_account_required: bool,
    /// Certificate profiles the CA offers (name → description; the ACME profiles
    /// extension), in name order.
    #[serde(default)]
    pub profiles: std::collections::BTreeMap<String, String>,
    /// The issuer domain names CAA records use for this CA (RFC 8555 §7.1.1).
    #[serde(default)]
    pub caa_identities: Vec<String>,
}

/// The parts of a CA's directory certpilot reads itself (instant-acme keeps its copy
/// private): `meta` and the ARI `renewalInfo` URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryDoc {
    /// The directory's `meta`.
    #[serde(default)]
    pub meta: DirectoryMeta,
    /// ARI's `renewalInfo` (RFC 9773), when the CA offers it.
    #[serde(default)]
    pub renewal_info: Option<String>,
}

/// Fetch the directory and return its `meta`.
///
/// # Errors
///
/// When the directory cannot be fetched or parsed (see [`directory`]).
pub async fn directory_meta(http: &AcmeHttp, url: &str) -> Result<DirectoryMeta, AccountError> {
    Ok(directory(http, url).await?.meta)
}

/// Fetch and parse the directory.
///
/// # Errors
///
/// When the request fails, the CA answers with an error status, or the body is not a
/// valid ACME directory.
pub async fn directory(
    http: &impl instant_acme::HttpClient,
    url: &str,
) -> Result<DirectoryDoc, AccountError> {
    let body = http::get(http, url).await?;
    serde_json::from_slice(&body).map_err(|e| AccountError::BadDirectoryDocument {
        url: url.to_owned(),
        detail: e.to_string(),
    })
}

/// EAB input from the command line.
pub struct Eab {
    /// Key identifier.
    pub kid: String,
    /// HMAC key, base64url as CAs hand it out.
    pub hmac_b64: String,
}

/// Decode an EAB HMAC key: base64url without padding is the norm; accept padded and standard.
///
/// # Errors
///
/// When `text` is not base64 in any of the accepted alphabets.
pub fn decode_hmac(text: &str) -> Result<Vec<u8>, AccountError> {
    let trimmed = text.trim().trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .map_err(|e| AccountError::BadEabKey(e.to_string()))
}

/// Register a new account. Returns the account, its credentials as JSON (secret: goes to
/// the keyring) and the account URL.
///
/// # Errors
///
/// When the CA cannot be reached or refuses the registration (its problem document is
/// kept), or the credentials cannot be serialized.
pub async fn register(
    http: &AcmeHttp,
    directory: &str,
    email: Option<&str>,
    eab: Option<&Eab>,
) -> Result<(Account, String, String), AccountError> {
    let contact = email.map(|e| format!("mailto:{e}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let eab_key = match eab {
        Some(eab) => Some(ExternalAccountKey::new(
            eab.kid.clone(),
            &decode_hmac(&eab.hmac_b64)?,
        )),
        None => None,
    };
    let new = NewAccount {
        contact: &contacts,
        terms_of_service_agreed: true,
        only_return_existing: false,
    };
    // A nonce rejected three times in a row (instant-acme's own retries) is still only a
    // nonce problem: the registration was not processed, so asking again is safe.
    let (new, eab_key) = (&new, eab_key.as_ref());
    let (account, credentials) = problem::retry_bad_nonce(move || {
        Account::builder_with_http(Box::new(http.clone())).create(
            new,
            directory.to_owned(),
            eab_key,
        )
    })
    .await
    .map_err(|e| ca_error(&e))?;
    let json = serde_json::to_string(&credentials).map_err(|e| AccountError::BadCredentials {
        name: String::new(),
        detail: e.to_string(),
    })?;
    let id = account.id().to_owned();
    Ok((account, json, id))
}

/// Restore an account from its credentials JSON (from the keyring); every request to the
/// CA must finish within the default `--ca-timeout`.
///
/// # Errors
///
/// When the credentials JSON is malformed or the CA cannot be reached in time.
pub async fn restore(
    http: &AcmeHttp,
    name: &str,
    credentials_json: &str,
) -> Result<Account, AccountError> {
    restore_with_timeout(
        http,
        super::ca_client::DEFAULT_TIMEOUT,
        name,
        credentials_json,
    )
    .await
}

/// [`restore`] with an explicit per-request deadline (`--ca-timeout`).
///
/// # Errors
///
/// When the credentials JSON is malformed or the CA cannot be reached within `timeout`.
pub async fn restore_with_timeout(
    http: &AcmeHttp,
    timeout: std::time::Duration,
    name: &str,
    credentials_json: &str,
) -> Result<Account, AccountError> {
    let limits = super::ca_shared::Limits::of(&crate::config::Settings::default());
    restore_with_limits(http, timeout, limits, name, credentials_json).await
}

/// [`restore_with_timeout`] with the per-CA `limits` (`settings.ca_max_requests`,
/// `settings.ca_max_rate`); the account's orders fetch authorizations and answer
/// challenges concurrently up to them (see [`super::jws`]).
///
/// # Errors
///
/// When the credentials JSON is malformed or the CA cannot be reached within `timeout`.
pub async fn restore_with_limits(
    http: &AcmeHttp,
    timeout: std::time::Duration,
    limits: super::ca_shared::Limits,
    name: &str,
    credentials_json: &str,
) -> Result<Account, AccountError> {
    let credentials: AccountCredentials =
        serde_json::from_str(credentials_json).map_err(|e| AccountError::BadCredentials {
            name: name.to_owned(),
            detail: e.to_string(),
        })?;
    let client = super::ca_client::CaClient::new(http.clone(), timeout).with_limits(limits);
    super::jws::register(credentials_json, &client);
    Account::builder_with_http(Box::new(client))
        .from_credentials(credentials)
        .await
        .map_err(|e| ca_error(&e))
}

/// The keyring entry that holds new credentials while a key rollover is being recorded.
/// `#` cannot appear in an account name, so it never names a real account.
#[must_use]
pub fn rollover_entry(name: &str) -> SecretRef {
    SecretRef::Account(format!("{name}#rollover"))
}

/// The credentials JSON of account `name` from the keyring, finishing an interrupted key
/// rollover first. `None` when the account has no credentials. Blocking.
///
/// A rollover entry exists only after the CA accepted the new key (see [`rollover`]), so when
/// one is found it is the only key the CA still accepts: it replaces the main entry.
///
/// # Errors
/// The keyring failed.
pub fn stored_credentials(keystore: &Keystore, name: &str) -> Result<Option<String>, SecretError> {
    let pending = rollover_entry(name);
    let main = SecretRef::Account(name.to_owned());
    if let Some(new) = keystore.get(&pending)? {
        tracing::warn!(
            account = name,
            "finishing an interrupted key rollover: the new key replaces the old one"
        );
        keystore.put(&main, &new)?;
        keystore.delete(&pending)?;
        return Ok(Some(new));
    }
    keystore.get(&main)
}

/// Replace the account key of `name` (RFC 8555 §7.3.5) and store the new credentials.
///
/// Order, and what a kill at each point leaves:
/// 1. The CA accepts the new key (instant-acme's `update_key` generates it internally, so it
///    cannot be stored beforehand). **Window:** a kill after the CA answered and before step 2
///    finished loses the new key; the CA accepts only that key, so the account is lost (its
///    certificates stay valid; register a new account). The window is one keyring write.
/// 2. The new credentials go to the rollover entry ([`rollover_entry`]). From here on every
///    load ([`stored_credentials`]) promotes them.
/// 3. They replace the main entry; 4. the rollover entry is deleted.
///
/// `pause` is called between 2 and 3 (a test hook; see `journal::pause_point`).
///
/// # Errors
/// The CA refused the key change (the old key stays valid and stored), or the keyring failed.
pub async fn rollover<F, Fut>(
    account: &mut Account,
    keystore: &Keystore,
    name: &str,
    pause: F,
) -> Result<(), AccountError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    // A rejected nonce means the CA did not process the request: the old key is still the
    // account's, and asking again (with another fresh key) is safe.
    // Each attempt works on a copy (cheap: an `Arc`); only an accepted one replaces `account`.
    let current: &Account = account;
    let (updated, credentials) = problem::retry_bad_nonce(move || {
        let mut copy = current.clone();
        async move { copy.update_key().await.map(|c| (copy, c)) }
    })
    .await
    .map_err(|e| ca_error(&e))?;
    *account = updated;
    let json = serde_json::to_string(&credentials).map_err(|e| AccountError::BadCredentials {
        name: name.to_owned(),
        detail: e.to_string(),
    })?;
    let (ks, entry, value) = (keystore.clone(), rollover_entry(name), json.clone());
    if let Err(e) = crate::secrets::blocking(move || ks.put(&entry, &value)).await {
        // Still in memory: the main entry is the last place it can go.
        let (ks, entry, value) = (keystore.clone(), SecretRef::Account(name.to_owned()), json);
        return match crate::secrets::blocking(move || ks.put(&entry, &value)).await {
            Ok(()) => Ok(()),
            Err(_) => Err(AccountError::Keyring(format!(
                "{e}; the CA accepts only the new key, which is lost: register a new account"
            ))),
        };
    }
    pause().await;
    let (ks, owned) = (keystore.clone(), name.to_owned());
    crate::secrets::blocking(move || {
        ks.put(&SecretRef::Account(owned.clone()), &json)?;
        ks.delete(&rollover_entry(&owned)).map(|_| ())
    })
    .await
    .map_err(|e| {
        AccountError::Keyring(format!(
            "{e}; the new key is kept in the rollover entry and the next run uses it"
        ))
    })
}

/// Public facts about an account, kept in `accounts/<name>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountMeta {
    /// Account name.
    pub name: String,
    /// Directory URL.
    pub directory: String,
    /// Contact email.
    pub email: Option<String>,
    /// The account URL the CA assigned.
    pub account_url: String,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Terms of service agreed to.
    pub terms_of_service: Option<String>,
    /// Where its key lives (keyring store and service).
    pub key_store: String,
}

impl AccountMeta {
    /// Write `accounts/<name>.json` atomically.
    ///
    /// # Errors
    ///
    /// When the metadata cannot be serialized or the file cannot be written.
    pub fn save(&self, accounts_dir: &Path) -> Result<(), AccountError> {
        let path = accounts_dir.join(format!("{}.json", self.name));
        let json = serde_json::to_vec_pretty(self).map_err(|e| AccountError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        fsutil::write_atomic(&path, &json, Mode::Private).map_err(|e| AccountError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
    }

    /// Read `accounts/<name>.json`, `None` when absent.
    #[must_use]
    pub fn load(accounts_dir: &Path, name: &str) -> Option<Self> {
        let text = std::fs::read_to_string(accounts_dir.join(format!("{name}.json"))).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// A CA failure in words: a problem document is a refusal; anything else (HTML, a
/// directory without `newAccount`, a dropped connection) means the answer was unusable.
fn ca_error(e: &instant_acme::Error) -> AccountError {
    let detail = super::http::describe(e);
    AccountError::Acme(if matches!(e, instant_acme::Error::Api(_)) {
        format!("the CA refused: {detail}")
    } else if http::transport_hint(e).is_some() {
        format!("the CA could not be reached: {detail}")
    } else {
        format!("the CA's answer could not be used (is the directory URL an ACME CA?): {detail}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_urls() {
        assert_eq!(
            directory_url("letsencrypt-staging").unwrap(),
            "https://acme-staging-v02.api.letsencrypt.org/directory"
        );
        assert_eq!(
            directory_url("https://127.0.0.1:14000/dir").unwrap(),
            "https://127.0.0.1:14000/dir"
        );
        let err = directory_url("http://insecure.example/dir")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("letsencrypt-staging") && err.contains("https://"),
            "{err}"
        );
    }

    #[test]
    fn hmac_keys_decode_in_common_spellings() {
        let want = vec![0xfb, 0xff, 0x01];
        assert_eq!(decode_hmac("-_8B").unwrap(), want);
        assert_eq!(decode_hmac("+/8B").unwrap(), want);
        assert!(decode_hmac("not base64 !").is_err());
    }
}
