//! Certificate profiles (the ACME profiles extension): what each account's CA lists in its
//! directory's `meta.profiles`, read one way for `cert add --profile`, the certificate
//! editor's profile field and the editor's save.

use std::collections::BTreeMap;

use futures::future::join_all;

use super::{Error, Shared};
use crate::acme::account;
use crate::acme::ca_client::CaClient;
use crate::acme::http;
use crate::config::Config;
use crate::session::Session;

/// Per account: its CA's profiles (name, description, in name order) or why they could not
/// be read (the typed error, shared: the map travels to the TUI inside a job event).
pub type Offered = BTreeMap<String, Result<Vec<(String, String)>, Shared>>;

/// The profiles the CA of account `name` offers (name → description).
///
/// # Errors
/// [`Error::Invalid`] for an unknown account; [`Error::Trust`] for a bad CA bundle;
/// [`Error::Profiles`] when the CA's directory could not be read.
pub async fn offered(
    session: &Session,
    effective: &Config,
    name: &str,
) -> Result<BTreeMap<String, String>, Error> {
    let Some(account) = effective.accounts.get(name) else {
        return Err(Error::Invalid(format!(
            "account {name:?} is not configured (see `certpilot account list`)"
        )));
    };
    let http = http::client(session.ca_bundle_for(effective, name).as_deref())?;
    let client = CaClient::new(http, session.ca_timeout());
    let directory = account::directory(&client, &account.directory)
        .await
        .map_err(|source| Error::Profiles {
            account: name.to_owned(),
            source,
        })?;
    Ok(directory.meta.profiles.into_iter().collect())
}

/// Read every configured account's CA directory at once (one request each, the CA timeout
/// each).
pub async fn load_all(session: &Session) -> Offered {
    let config = match session.config() {
        Ok(config) => config,
        Err(e) => return Offered::from([(String::new(), Err(Error::from(e).into()))]),
    };
    let reads = config.accounts.keys().map(|name| {
        let config = &config;
        async move {
            let listed = offered(session, config, name)
                .await
                .map(|profiles| profiles.into_iter().collect())
                .map_err(Shared::from);
            (name.clone(), listed)
        }
    });
    join_all(reads).await.into_iter().collect()
}

/// Refuse a certificate profile that account `account`'s CA does not offer (`None`: the
/// only configured account), so that a typo is an operator error listing what the CA
/// offers, not a failed order at the next renewal. An unknown account passes: the
/// definition's own checks report it.
///
/// # Errors
/// [`Error::Invalid`] for a profile the CA does not offer or an ambiguous account; the
/// errors of [`offered`].
pub async fn check(
    session: &Session,
    effective: &Config,
    account: Option<&str>,
    profile: &str,
) -> Result<(), Error> {
    let account = match account {
        Some(name) => Some(name),
        None if effective.accounts.len() == 1 => {
            effective.accounts.keys().next().map(String::as_str)
        }
        None => None,
    };
    let Some(account) = account else {
        return Err(Error::Invalid(format!(
            "profile {profile}: choose an account (the profile must be one its CA offers)"
        )));
    };
    let Some(config) = effective.accounts.get(account) else {
        return Ok(());
    };
    let offered = offered(session, effective, account).await?;
    if offered.contains_key(profile) {
        return Ok(());
    }
    if offered.is_empty() {
        return Err(Error::Invalid(format!(
            "profile {profile}: the CA of account {account} ({}) offers no profiles; leave the profile out",
            config.directory
        )));
    }
    let list: Vec<String> = offered
        .iter()
        .map(|(name, description)| format!("  {name}: {description}"))
        .collect();
    Err(Error::Invalid(format!(
        "profile {profile}: the CA of account {account} offers no such profile; it offers:\n{}",
        list.join("\n")
    )))
}
