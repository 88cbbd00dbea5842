//! `certpilot account remove NAME [--reassign OTHER]`.
//!
//! Order, so that a crash leaves nothing dangling: the configuration first (certificates
//! moved, the account gone: from then on nothing uses the key), then the key and the public
//! facts. A crash in between leaves an unused keyring entry, never a certificate whose
//! account has no key.

use super::{Env, Failure, Outcome};
use crate::acme::account;
use crate::acme::engine::blocking;
use crate::secrets::SecretRef;

pub(super) async fn remove(env: &mut Env, name: &str, reassign: Option<&str>) -> Outcome {
    if !env.config.accounts.contains_key(name) {
        return Err(Failure::Usage(format!(
            "account {name:?} is not configured (see `certpilot account list`)"
        )));
    }
    let users = env.config.certificates_using(name);
    let moved = match reassign {
        Some(other) if other == name => {
            return Err(Failure::Usage(format!(
                "--reassign {other}: that is the account being removed"
            )))
        }
        Some(other) if !env.config.accounts.contains_key(other) => {
            return Err(Failure::Usage(format!(
                "--reassign {other}: no such account (see `certpilot account list`)"
            )))
        }
        Some(other) => env.config.reassign_account(name, other),
        None if users.is_empty() => Vec::new(),
        None => {
            return Err(Failure::Usage(format!(
                "account {name:?} is used by certificate(s) {}; move them with \
                 `certpilot account remove {name} --reassign OTHER` (or `cert add … --account OTHER --replace`)",
                users.join(", ")
            )))
        }
    };
    env.config.accounts.remove(name);
    env.save_config()?;
    let keystore = env.keystore()?;
    let owned = name.to_owned();
    blocking(move || {
        keystore.delete(&SecretRef::Account(owned.clone()))?;
        keystore.delete(&account::rollover_entry(&owned))?;
        keystore.delete(&SecretRef::EabHmac(owned)).map(|_| ())
    })
    .await?;
    let meta = env.paths.accounts.join(format!("{name}.json"));
    match std::fs::remove_file(&meta) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            tracing::warn!(path = %meta.display(), error = %e, "could not delete account facts");
        }
        _ => {}
    }
    outln!("account {name} removed (its key is deleted; the CA was not told)");
    if let Some(other) = reassign.filter(|_| !moved.is_empty()) {
        outln!(
            "certificate(s) {} now use account {other}",
            moved.join(", ")
        );
    }
    Ok(())
}
