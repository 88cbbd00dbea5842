//! `certpilot account add|list|rollover`.

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
        } => {
            let eab = eab_kid
                .zip(eab_hmac_key)
                .map(|(kid, hmac_b64)| Eab { kid, hmac_b64 });
            add(env, &name, &directory, email.as_deref(), agree_tos, eab).await
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
    println!(
        "account {name}: new key in place (thumbprint {}); the old key no longer works",
        acme_account.key_thumbprint()
    );
    Ok(())
}

async fn add(
    env: &mut Env,
    name: &str,
    directory: &str,
    email: Option<&str>,
    agree_tos: bool,
    eab: Option<Eab>,
) -> Outcome {
    names::validate_cert_name(name).map_err(|e| Failure::Usage(format!("account name: {e}")))?;
    if env.config.accounts.contains_key(name) {
        return Err(Failure::Usage(format!("account {name:?} already exists")));
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
    let ca_bundle = env.global.ca_bundle.clone();
    let http = http::client(ca_bundle.as_deref()).map_err(|e| Failure::Usage(e.to_string()))?;
    let meta = account::directory_meta(&http, &url).await?;
    match &meta.terms_of_service {
        Some(tos) => println!("Terms of service of {url}:\n  {tos}"),
        None => println!("{url} publishes no terms of service."),
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
    blocking(move || ks.put(&entry, &credentials)).await?;
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
    env.config.accounts.insert(
        name.to_owned(),
        AccountConfig {
            directory: url,
            email: email.map(str::to_owned),
            ca_bundle,
            eab_kid: None,
        },
    );
    env.save_config()?;
    println!("account {name} registered: {account_url}");
    println!(
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
        println!("{text}");
        return Ok(());
    }
    if rows.is_empty() {
        println!("no accounts; add one with: certpilot account add NAME --directory letsencrypt-staging --email you@example.com --agree-tos");
    }
    for r in rows {
        println!("{}\t{}\t{}", r.name, r.directory, r.email.unwrap_or("-"));
    }
    Ok(())
}
