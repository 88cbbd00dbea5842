//! ACME accounts, one copy for both front ends: a CA's directory, registering (or registering
//! again under the same name), removing.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::OffsetDateTime;

use super::{blocking, Error};
use crate::acme::account::{self, AccountMeta, Eab};
use crate::acme::http;
use crate::config::AccountConfig;
use crate::domain::names;
use crate::secrets::SecretRef;
use crate::session::Session;

/// What a CA's directory says, for the terms step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryInfo {
    /// The directory URL (presets resolved).
    pub url: String,
    /// Terms of service URL.
    pub terms: Option<String>,
    /// The CA's website.
    pub website: Option<String>,
    /// Whether the CA requires external account binding.
    pub eab_required: bool,
}

/// A registration the operator confirmed (terms agreed).
#[derive(Clone, PartialEq, Eq)]
pub struct AccountRequest {
    /// Account name.
    pub name: String,
    /// Directory URL or preset.
    pub url: String,
    /// Contact email.
    pub email: Option<String>,
    /// EAB key id and HMAC key, when the CA needs them.
    pub eab: Option<(String, String)>,
    /// The terms the operator agreed to.
    pub terms: Option<String>,
    /// Register again under an existing name (new key; its certificates keep it).
    pub replace: bool,
    /// Extra CA certificates (PEM) trusted for the directory's TLS; unset: the command
    /// line's `--ca-bundle`, else (registering again) the account's own.
    pub ca_bundle: Option<PathBuf>,
}

impl fmt::Debug for AccountRequest {
    // The HMAC key is a secret: never in logs or test output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountRequest")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("email", &self.email)
            .field("eab_kid", &self.eab.as_ref().map(|(kid, _)| kid))
            .field("ca_bundle", &self.ca_bundle)
            .finish_non_exhaustive()
    }
}

/// A registered account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// Account name.
    pub name: String,
    /// The account URL the CA assigned.
    pub account_url: String,
    /// Where its key is (store and service).
    pub key_store: String,
}

/// A registration and what it changed besides the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The account.
    pub registered: Registered,
    /// Certificates that named no account and now name the previous only one explicitly.
    pub pinned: Vec<String>,
}

/// The CA bundle trusted for a directory: the one given for it (`explicit`), else the command
/// line's, else `account`'s own.
fn bundle(
    session: &Session,
    explicit: Option<&Path>,
    account: Option<&str>,
) -> Result<Option<PathBuf>, Error> {
    Ok(match (explicit, account) {
        (Some(path), _) => Some(path.to_path_buf()),
        (None, Some(name)) => session.ca_bundle_for(&session.config()?, name),
        (None, None) => session.global_ca_bundle().map(Path::to_path_buf),
    })
}

/// Fetch a directory's metadata, trusting `ca_bundle` if given, else the command line's, else
/// the one of `account` (when it exists).
///
/// # Errors
/// A bad preset or URL, TLS or HTTP errors, a document that is not a directory.
pub async fn directory(
    session: &Session,
    ca_bundle: Option<&Path>,
    account: Option<&str>,
    directory: &str,
) -> Result<DirectoryInfo, Error> {
    let url = account::directory_url(directory)?;
    let client = http::client(bundle(session, ca_bundle, account)?.as_deref())?;
    let meta = account::directory_meta(&client, &url).await?;
    Ok(DirectoryInfo {
        url,
        terms: meta.terms_of_service,
        website: meta.website,
        eab_required: meta.external_account_required,
    })
}

/// Check the parts that need no network: name, email, EAB key.
///
/// # Errors
/// [`Error::Invalid`] naming the field, or the EAB key's error.
pub fn validate(name: &str, email: &str, eab_hmac: Option<&str>) -> Result<(), Error> {
    names::validate_cert_name(name).map_err(|e| Error::Invalid(format!("account name: {e}")))?;
    if !email.is_empty() && (!email.contains('@') || email.contains(char::is_whitespace)) {
        return Err(Error::Invalid(format!(
            "email {email:?} is not an email address"
        )));
    }
    if let Some(hmac) = eab_hmac {
        account::decode_hmac(hmac)?;
    }
    Ok(())
}

/// Everything that can be refused before the CA is asked: the fields, and whether the name
/// exists as `replace` expects.
///
/// # Errors
/// [`Error::Invalid`] with what to do, or the config's error.
pub fn check(session: &Session, request: &AccountRequest) -> Result<(), Error> {
    let hmac = request.eab.as_ref().map(|(_, hmac)| hmac.as_str());
    validate(&request.name, request.email.as_deref().unwrap_or(""), hmac)?;
    let name = &request.name;
    match (
        session.load_config()?.accounts.contains_key(name),
        request.replace,
    ) {
        (true, false) => Err(Error::Invalid(format!(
            "account {name:?} already exists; to register it again (new key, same name, its \
             certificates keep it), add --replace; to drop it: `certpilot account remove {name}`"
        ))),
        (false, true) => Err(Error::Invalid(format!(
            "account {name:?} does not exist, so there is nothing to replace; drop --replace"
        ))),
        _ => Ok(()),
    }
}

/// The CA requires external account binding and the request has none.
///
/// # Errors
/// [`Error::Invalid`] naming what to pass.
pub fn check_eab(info: &DirectoryInfo, request: &AccountRequest) -> Result<(), Error> {
    if info.eab_required && request.eab.is_none() {
        return Err(Error::Invalid(format!(
            "{} requires external account binding: pass --eab-kid and --eab-hmac-key from \
             your CA account",
            info.url
        )));
    }
    Ok(())
}

/// Register the account, store its key (and EAB HMAC) in the keyring, write its metadata and
/// its config entry (directory, email, CA bundle, EAB key id).
///
/// # Errors
/// Validation, keyring, CA or file errors.
pub async fn register(
    session: &Arc<Session>,
    request: AccountRequest,
) -> Result<Registration, Error> {
    check(session, &request)?;
    let url = account::directory_url(&request.url)?;
    let opener = Arc::clone(session);
    let keystore = blocking::<_, Error>(move || Ok(opener.keystore()?)).await?;
    // --replace keeps the account's own bundle unless another is given.
    let ca_bundle = bundle(session, request.ca_bundle.as_deref(), Some(&request.name))?;
    let client = http::client(ca_bundle.as_deref())?;
    let eab = request
        .eab
        .clone()
        .map(|(kid, hmac_b64)| Eab { kid, hmac_b64 });
    let (_account, credentials, account_url) =
        account::register(&client, &url, request.email.as_deref(), eab.as_ref()).await?;
    let name = request.name.clone();
    let eab_secret = eab.map(|eab| eab.hmac_b64);
    let ks = keystore.clone();
    blocking::<_, Error>(move || {
        // A leftover rollover entry would win over the new key on the next load.
        ks.delete(&account::rollover_entry(&name))?;
        ks.put(&SecretRef::Account(name.clone()), &credentials)?;
        if let Some(hmac) = eab_secret {
            ks.put(&SecretRef::EabHmac(name), &hmac)?;
        }
        Ok(())
    })
    .await?;
    let key_store = format!(
        "{} keyring, service {:?}",
        keystore.kind().as_str(),
        keystore.service()
    );
    let writer = Arc::clone(session);
    let entry = Entry {
        url,
        account_url: account_url.clone(),
        key_store: key_store.clone(),
        ca_bundle,
    };
    let name = request.name.clone();
    let pinned = blocking::<_, Error>(move || save(&writer, &request, entry)).await?;
    Ok(Registration {
        registered: Registered {
            name,
            account_url,
            key_store,
        },
        pinned,
    })
}

/// What the CA and the keyring said, to be written down.
struct Entry {
    url: String,
    account_url: String,
    key_store: String,
    ca_bundle: Option<PathBuf>,
}

/// Write the metadata file and the config entry; returns the certificates pinned to the
/// previous only account.
fn save(session: &Session, request: &AccountRequest, entry: Entry) -> Result<Vec<String>, Error> {
    AccountMeta {
        name: request.name.clone(),
        directory: entry.url.clone(),
        email: request.email.clone(),
        account_url: entry.account_url,
        created_at: OffsetDateTime::now_utc(),
        terms_of_service: request.terms.clone(),
        key_store: entry.key_store,
    }
    .save(&session.paths.accounts)?;
    let mut config = session.load_config()?;
    // Certificates that named no account keep the one they used.
    let pinned = if request.replace {
        Vec::new()
    } else {
        config.pin_default_account()
    };
    let caa_identities = config
        .accounts
        .get(&request.name)
        .map(|a| a.caa_identities.clone())
        .unwrap_or_default();
    config.accounts.insert(
        request.name.clone(),
        AccountConfig {
            caa_identities,
            directory: entry.url,
            email: request.email.clone(),
            ca_bundle: entry.ca_bundle,
            eab_kid: request.eab.as_ref().map(|(kid, _)| kid.clone()),
        },
    );
    crate::config::save(&session.paths.config_file, &config)?;
    tracing::info!(account = %request.name, "account registered");
    Ok(pinned)
}

/// Remove account `name` (moving its certificates to `reassign`); returns the certificates
/// moved. Blocking.
///
/// # Errors
/// See [`crate::acme::removal::RemoveError`].
pub fn remove(session: &Session, name: &str, reassign: Option<&str>) -> Result<Vec<String>, Error> {
    let keystore = session.keystore()?;
    Ok(crate::acme::removal::remove_account(
        &session.paths,
        &keystore,
        name,
        reassign,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        assert!(validate("pebble", "ops@example.test", None).is_ok());
        assert!(validate("pebble", "", None).is_ok());
        let cases = [
            ("", "", None, "account name"),
            ("a b", "", None, "account name"),
            ("ok", "nope", None, "not an email"),
            ("ok", "a@b c", None, "not an email"),
            ("ok", "", Some("not base64 !"), "base64"),
        ];
        for (name, email, hmac, needle) in cases {
            let err = validate(name, email, hmac).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn debug_hides_the_hmac_key() {
        let request = AccountRequest {
            name: "a".into(),
            url: "https://ca.example/dir".into(),
            email: None,
            eab: Some(("kid-1".into(), "c2VjcmV0LWhtYWM".into())),
            terms: None,
            replace: false,
            ca_bundle: None,
        };
        let text = format!("{request:?}");
        assert!(
            text.contains("kid-1") && !text.contains("c2VjcmV0"),
            "{text}"
        );
    }
}
