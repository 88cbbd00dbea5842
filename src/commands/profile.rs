//! `cert add --profile`: the profile must be one the CA offers (its directory's
//! `meta.profiles`), checked before the definition is saved, so a typo is an operator error
//! (exit 2) listing what the CA offers, not a failed order at the next renewal.

use super::{Env, Failure, Outcome};
use crate::acme::account;
use crate::acme::ca_client::CaClient;
use crate::acme::http;
use crate::cli::CertCommand;

/// Refuse `cert add --profile NAME` when the account's CA does not offer `NAME`.
pub(super) async fn check(env: &Env, cmd: &CertCommand) -> Outcome {
    let CertCommand::Add {
        profile: Some(profile),
        account,
        ..
    } = cmd
    else {
        return Ok(());
    };
    let account = match account {
        Some(name) => Some(name.as_str()),
        None if env.config.accounts.len() == 1 => {
            env.config.accounts.keys().next().map(String::as_str)
        }
        None => None,
    };
    let Some(account) = account else {
        return Err(Failure::Usage(
            "--profile: pass --account (the profile must be one its CA offers)".into(),
        ));
    };
    // An unknown account is reported by `cert add` itself.
    let Some(config) = env.config.accounts.get(account) else {
        return Ok(());
    };
    let http = http::client(env.ca_bundle_for(account).as_deref())
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let client = CaClient::new(http, env.ca_timeout());
    let directory = account::directory(&client, &config.directory)
        .await
        .map_err(|e| Failure::Failed(format!("--profile: reading the CA's profiles: {e}")))?;
    let offered = &directory.meta.profiles;
    if offered.contains_key(profile) {
        return Ok(());
    }
    if offered.is_empty() {
        return Err(Failure::Usage(format!(
            "--profile {profile}: the CA of account {account} ({}) offers no profiles; leave --profile out",
            config.directory
        )));
    }
    let list: Vec<String> = offered
        .iter()
        .map(|(name, description)| format!("  {name}: {description}"))
        .collect();
    Err(Failure::Usage(format!(
        "--profile {profile}: the CA of account {account} offers no such profile; it offers:\n{}",
        list.join("\n")
    )))
}
