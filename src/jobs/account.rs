//! Account jobs: a CA's directory (terms of service, EAB) and registration, the same steps as
//! `certpilot account add`.

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;

use super::context::blocking;
use super::Context;
use crate::acme::account::{self, AccountMeta, Eab};
use crate::acme::http;
use crate::config::AccountConfig;
use crate::domain::names;
use crate::secrets::SecretRef;

/// What a CA's directory says, for the wizard's terms step.
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

/// Fetch a directory's metadata.
///
/// # Errors
/// A bad preset or URL, TLS or HTTP errors, a document that is not a directory.
pub async fn fetch_directory(
    ctx: &Context,
    directory: &str,
    ca_bundle: Option<&std::path::Path>,
) -> Result<DirectoryInfo, String> {
    let url = account::directory_url(directory).map_err(|e| e.to_string())?;
    let client = http::client(ca_bundle.or(ctx.global_ca_bundle())).map_err(|e| e.to_string())?;
    let meta = account::directory_meta(&client, &url)
        .await
        .map_err(|e| e.to_string())?;
    Ok(DirectoryInfo {
        url,
        terms: meta.terms_of_service,
        website: meta.website,
        eab_required: meta.external_account_required,
    })
}

/// A registration the operator confirmed (terms agreed).
#[derive(Clone, PartialEq, Eq)]
pub struct AccountRequest {
    /// Account name.
    pub name: String,
    /// Directory URL.
    pub url: String,
    /// Contact email.
    pub email: Option<String>,
    /// EAB key id and HMAC key, when the CA needs them.
    pub eab: Option<(String, String)>,
    /// The terms the operator agreed to.
    pub terms: Option<String>,
    /// Register again under an existing name (new key; its certificates keep it), as
    /// `account add --replace`.
    pub replace: bool,
    /// Extra CA certificates (PEM) trusted for the directory's TLS; unset: the global
    /// `--ca-bundle`.
    pub ca_bundle: Option<std::path::PathBuf>,
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

/// Check the parts that need no network: name, email, EAB key.
///
/// # Errors
/// A message naming the field.
pub fn validate(name: &str, email: &str, eab_hmac: Option<&str>) -> Result<(), String> {
    names::validate_cert_name(name).map_err(|e| format!("account name: {e}"))?;
    if !email.is_empty() && (!email.contains('@') || email.contains(char::is_whitespace)) {
        return Err(format!("{email:?} is not an email address"));
    }
    if let Some(hmac) = eab_hmac {
        account::decode_hmac(hmac).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Register the account, store its key in the keyring, write its metadata and the config.
///
/// # Errors
/// Validation, keyring, CA or file errors, as messages.
pub async fn register(ctx: &Arc<Context>, request: AccountRequest) -> Result<Registered, String> {
    let hmac = request.eab.as_ref().map(|(_, hmac)| hmac.as_str());
    validate(&request.name, request.email.as_deref().unwrap_or(""), hmac)?;
    match (
        ctx.config()?.accounts.contains_key(&request.name),
        request.replace,
    ) {
        (true, false) => return Err(format!("account {:?} already exists", request.name)),
        (false, true) => {
            return Err(format!(
                "account {:?} does not exist, so there is nothing to register again",
                request.name
            ))
        }
        _ => {}
    }
    let opener = Arc::clone(ctx);
    let keystore = blocking(move || opener.keystore()).await?;
    let client = http::client(request.ca_bundle.as_deref().or(ctx.global_ca_bundle()))
        .map_err(|e| e.to_string())?;
    let eab = request
        .eab
        .clone()
        .map(|(kid, hmac_b64)| Eab { kid, hmac_b64 });
    let (_account, credentials, account_url) = account::register(
        &client,
        &request.url,
        request.email.as_deref(),
        eab.as_ref(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let name = request.name.clone();
    let eab_secret = eab.map(|eab| eab.hmac_b64);
    let ks = keystore.clone();
    blocking(move || {
        // A leftover rollover entry would win over the new key on the next load.
        ks.delete(&account::rollover_entry(&name))
            .map_err(|e| e.to_string())?;
        ks.put(&SecretRef::Account(name.clone()), &credentials)
            .map_err(|e| e.to_string())?;
        if let Some(hmac) = eab_secret {
            ks.put(&SecretRef::EabHmac(name), &hmac)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
    .await?;
    let store_label = format!(
        "{} keyring, service {:?}",
        keystore.kind().as_str(),
        keystore.service()
    );
    let writer = Arc::clone(ctx);
    let (url, store) = (account_url.clone(), store_label.clone());
    let name = request.name.clone();
    blocking(move || save(&writer, &request, &url, &store)).await?;
    Ok(Registered {
        name,
        account_url,
        key_store: store_label,
    })
}

fn save(
    ctx: &Context,
    request: &AccountRequest,
    account_url: &str,
    key_store: &str,
) -> Result<(), String> {
    AccountMeta {
        name: request.name.clone(),
        directory: request.url.clone(),
        email: request.email.clone(),
        account_url: account_url.to_owned(),
        created_at: OffsetDateTime::now_utc(),
        terms_of_service: request.terms.clone(),
        key_store: key_store.to_owned(),
    }
    .save(&ctx.paths.accounts)
    .map_err(|e| e.to_string())?;
    let mut config = ctx.config()?;
    // Certificates that named no account keep the one they used (see `account add`).
    if !request.replace {
        config.pin_default_account();
    }
    let caa_identities = config
        .accounts
        .get(&request.name)
        .map(|a| a.caa_identities.clone())
        .unwrap_or_default();
    config.accounts.insert(
        request.name.clone(),
        AccountConfig {
            caa_identities,
            directory: request.url.clone(),
            email: request.email.clone(),
            ca_bundle: request
                .ca_bundle
                .clone()
                .or_else(|| ctx.global_ca_bundle().map(std::path::Path::to_path_buf)),
            eab_kid: request.eab.as_ref().map(|(kid, _)| kid.clone()),
        },
    );
    crate::config::save(&ctx.paths.config_file, &config).map_err(|e| e.to_string())
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
            let err = validate(name, email, hmac).unwrap_err();
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
