//! `certpilot account add|list|rollover` (`remove` is in `account_remove`).

use std::io::{BufRead, IsTerminal, Write};

use serde::Serialize;
use time::OffsetDateTime;

use super::{Env, Failure, Outcome};
use crate::acme::account::{self, AccountError, AccountMeta, Eab};
use crate::acme::engine::blocking;
use crate::acme::http;
use crate::cli::AccountCommand;
use crate::config::AccountConfig;
use crate::domain::names;
use crate::secrets::SecretRef;

impl From<AccountError> for Failure {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::BadDirectory(_) | AccountError::BadEabKey(_) => {
                Failure::Usage(e.to_string())
            }
            _ => Failure::Failed(e.to_string()),
        }
    }
}

pub(super) async fn run(env: &mut Env, cmd: AccountCommand) -> Outcome {
    match cmd {
        AccountCommand::Add {
            name,
            directory,
            email,
            agree_tos,
            eab_kid,
            eab_hmac_key,
            replace,
        } => {
            let eab = eab_kid
                .zip(eab_hmac_key)
                .map(|(kid, hmac_b64)| Eab { kid, hmac_b64 });
            let request = AddRequest {
                name: &name,
                directory: &directory,
                email: email.as_deref(),
                agree_tos,
                replace,
            };
            add(env, &request, eab).await
        }
        AccountCommand::Remove { name, reassign } => {
            super::account_remove::remove(env, &name, reassign.as_deref()).await
        }
        AccountCommand::List { json } => list(env, json),
        AccountCommand::Rollover { name } => rollover(env, &name).await,
    }
}

/// Replace the account key at the CA; see [`account::rollover`] for the crash window.
async fn rollover(env: &Env, name: &str) -> Outcome {
    if !env.config.accounts.contains_key(name) {
        return Err(Failure::Usage(format!(
            "account {name:?} is not configured"
        )));
    }
    let keystore = env.keystore()?;
    let mut acme_account = super::issue::load_account(env, name).await?;
    let state = env.paths.state.clone();
    account::rollover(&mut acme_account, &keystore, name, || async move {
        crate::acme::journal::pause_point(&state, "rollover-pending").await;
    })
    .await?;
    outln!(
        "account {name}: new key in place (thumbprint {}); the old key no longer works",
        acme_account.key_thumbprint()
    );
    Ok(())
}

/// What `account add` was asked for.
struct AddRequest<'a> {
    name: &'a str,
    directory: &'a str,
    email: Option<&'a str>,
    agree_tos: bool,
    /// Register again under an existing name.
    replace: bool,
}

async fn add(env: &mut Env, request: &AddRequest<'_>, eab: Option<Eab>) -> Outcome {
    let AddRequest {
        name,
        directory,
        email,
        agree_tos,
        replace,
    } = *request;
    names::validate_cert_name(name).map_err(|e| Failure::Usage(format!("account name: {e}")))?;
    match (env.config.accounts.contains_key(name), replace) {
        (true, false) => {
            return Err(Failure::Usage(format!(
                "account {name:?} already exists; to register it again (new key, same name, \
                 its certificates keep it), add --replace; to drop it: `certpilot account remove {name}`"
            )))
        }
        (false, true) => {
            return Err(Failure::Usage(format!(
                "account {name:?} does not exist, so there is nothing to replace; drop --replace"
            )))
        }
        _ => {}
    }
    if let Some(email) = email {
        if !email.contains('@') || email.contains(char::is_whitespace) {
            return Err(Failure::Usage(format!(
                "--email {email:?} is not an email address"
            )));
        }
    }
    if let Some(eab) = &eab {
        account::decode_hmac(&eab.hmac_b64)?;
    }
    let url = account::directory_url(directory)?;
    let keystore = env.keystore()?;
    // --replace keeps the account's own bundle unless another is given.
    let ca_bundle = env.ca_bundle_for(name);
    let http = http::client(ca_bundle.as_deref()).map_err(|e| Failure::Usage(e.to_string()))?;
    let meta = account::directory_meta(&http, &url).await?;
    match &meta.terms_of_service {
        Some(tos) => outln!("Terms of service of {url}:\n  {tos}"),
        None => outln!("{url} publishes no terms of service."),
    }
    if !agree_tos && !confirm("Do you agree to these terms? [y/N] ") {
        return Err(Failure::Usage(
            "you must agree to the CA's terms of service: read them, then pass --agree-tos".into(),
        ));
    }
    if meta.external_account_required && eab.is_none() {
        return Err(Failure::Usage(format!(
            "{url} requires external account binding: pass --eab-kid and --eab-hmac-key from your CA account"
        )));
    }
    let (_account, credentials, account_url) =
        account::register(&http, &url, email, eab.as_ref()).await?;
    let entry = SecretRef::Account(name.to_owned());
    let ks = keystore.clone();
    let pending = account::rollover_entry(name);
    // A leftover rollover entry would win over the new key on the next load.
    blocking(move || {
        ks.delete(&pending)
            .and_then(|_| ks.put(&entry, &credentials))
    })
    .await?;
    if let Some(eab) = eab {
        let ks = keystore.clone();
        let entry = SecretRef::EabHmac(name.to_owned());
        blocking(move || ks.put(&entry, &eab.hmac_b64)).await?;
    }
    AccountMeta {
        name: name.to_owned(),
        directory: url.clone(),
        email: email.map(str::to_owned),
        account_url: account_url.clone(),
        created_at: OffsetDateTime::now_utc(),
        terms_of_service: meta.terms_of_service,
        key_store: format!(
            "{} (service {:?})",
            keystore.kind().as_str(),
            keystore.service()
        ),
    }
    .save(&env.paths.accounts)?;
    let pinned = if replace {
        Vec::new()
    } else {
        env.config.pin_default_account()
    };
    env.config.accounts.insert(
        name.to_owned(),
        AccountConfig {
            caa_identities: env
                .config
                .accounts
                .get(name)
                .map(|a| a.caa_identities.clone())
                .unwrap_or_default(),
            directory: url,
            email: email.map(str::to_owned),
            ca_bundle,
            eab_kid: None,
        },
    );
    env.save_config()?;
    let verb = if replace {
        "registered again"
    } else {
        "registered"
    };
    outln!("account {name} {verb}: {account_url}");
    if !pinned.is_empty() {
        outln!(
            "certificate(s) {} now name their account explicitly (there are two accounts now)",
            pinned.join(", ")
        );
    }
    outln!(
        "its key is in the {} keyring (service {:?})",
        keystore.kind().as_str(),
        keystore.service()
    );
    Ok(())
}

fn confirm(prompt: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok()
        && matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[derive(Serialize)]
struct AccountRow<'a> {
    name: &'a str,
    directory: &'a str,
    email: Option<&'a str>,
    account_url: Option<String>,
    created_at: Option<String>,
}

fn list(env: &Env, json: bool) -> Outcome {
    let rows: Vec<AccountRow<'_>> = env
        .config
        .accounts
        .iter()
        .map(|(name, a)| {
            let meta = AccountMeta::load(&env.paths.accounts, name);
            AccountRow {
                name,
                directory: &a.directory,
                email: a.email.as_deref(),
                account_url: meta.as_ref().map(|m| m.account_url.clone()),
                created_at: meta.and_then(|m| {
                    m.created_at
                        .format(&time::format_description::well_known::Rfc3339)
                        .ok()
                }),
            }
        })
        .collect();
    if json {
        let text =
            serde_json::to_string_pretty(&rows).map_err(|e| Failure::Failed(e.to_string()))?;
        outln!("{text}");
        return Ok(());
    }
    if rows.is_empty() {
        outln!("no accounts; add one with: certpilot account add NAME --directory letsencrypt-staging --email you@example.com --agree-tos");
    }
    for r in rows {
        outln!("{}\t{}\t{}", r.name, r.directory, r.email.unwrap_or("-"));
    }
    Ok(())
}
