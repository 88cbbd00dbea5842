//! `certpilot account add|list|rollover` (`remove` is in `account_remove`).

use std::io::{BufRead, IsTerminal, Write};

use serde::Serialize;

use super::{Env, Failure, Outcome};
use crate::acme::account::{self, AccountError, AccountMeta};
use crate::cli::AccountCommand;
use crate::ops::{self, account::AccountRequest};

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
            let request = AccountRequest {
                name,
                url: directory,
                email,
                eab: eab_kid.zip(eab_hmac_key),
                terms: None,
                replace,
                ca_bundle: None,
            };
            add(env, request, agree_tos).await
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

/// `account add`: the same operation as the TUI's account wizard, after the terms are shown
/// and agreed.
async fn add(env: &Env, request: AccountRequest, agree_tos: bool) -> Outcome {
    // Refused before the network: bad fields, a name that exists (or not, with --replace).
    ops::account::check(&env.session, &request)?;
    // The keyring before the CA and the terms: an unreachable store is said first.
    env.keystore()?;
    let bundle = request.ca_bundle.as_deref();
    let info =
        ops::account::directory(&env.session, bundle, Some(&request.name), &request.url).await?;
    match &info.terms {
        Some(tos) => outln!("Terms of service of {}:\n  {tos}", info.url),
        None => outln!("{} publishes no terms of service.", info.url),
    }
    if !agree_tos && !confirm("Do you agree to these terms? [y/N] ") {
        return Err(Failure::Usage(
            "you must agree to the CA's terms of service: read them, then pass --agree-tos".into(),
        ));
    }
    ops::account::check_eab(&info, &request)?;
    let replace = request.replace;
    let name = request.name.clone();
    let request = AccountRequest {
        terms: info.terms,
        ..request
    };
    let done = ops::account::register(&env.session, request).await?;
    let verb = if replace {
        "registered again"
    } else {
        "registered"
    };
    outln!("account {name} {verb}: {}", done.registered.account_url);
    if !done.pinned.is_empty() {
        outln!(
            "certificate(s) {} now name their account explicitly (there are two accounts now)",
            done.pinned.join(", ")
        );
    }
    outln!("its key is in the {}", done.registered.key_store);
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
