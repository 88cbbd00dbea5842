//! `certpilot revoke NAME [--reason R] [--yes]`.
//!
//! The certificate is revoked with the account that obtained it (RFC 8555 §7.6), and the
//! revocation is recorded in its metadata so that `list` and `renew` treat it as due.
//!
//! The private key is *not* deleted, not even for `--reason key-compromise` (certbot deletes
//! nothing either): certpilot never reuses a key across issuances, and the renewal that
//! replaces the certificate deletes the old key as soon as the new pair is stored. Deleting
//! it earlier would leave metadata naming a missing key and break `export` of the files a
//! server may still be using, without making a disclosed key any less disclosed.

use std::io::{BufRead, IsTerminal, Write};

use instant_acme::{RevocationReason, RevocationRequest};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;

use super::issue::load_account;
use super::{Env, Failure, Outcome};
use crate::acme::problem;
use crate::cert::store::{CertStore, Revocation, StoredCert};
use crate::cli::RevokeReasonArg;
use crate::lock::CertLock;

const ALREADY_REVOKED: &str = "urn:ietf:params:acme:error:alreadyRevoked";

/// The reason as typed and as sent (`unspecified` is sent as no reason, as RFC 5280 advises).
fn reason(arg: RevokeReasonArg) -> (&'static str, Option<RevocationReason>) {
    match arg {
        RevokeReasonArg::Unspecified => ("unspecified", None),
        RevokeReasonArg::KeyCompromise => ("key-compromise", Some(RevocationReason::KeyCompromise)),
        RevokeReasonArg::AffiliationChanged => (
            "affiliation-changed",
            Some(RevocationReason::AffiliationChanged),
        ),
        RevokeReasonArg::Superseded => ("superseded", Some(RevocationReason::Superseded)),
        RevokeReasonArg::CessationOfOperation => (
            "cessation-of-operation",
            Some(RevocationReason::CessationOfOperation),
        ),
    }
}

pub(super) async fn run(env: &Env, name: &str, reason_arg: RevokeReasonArg, yes: bool) -> Outcome {
    let store = CertStore::new(&env.paths.certificates);
    let stored = store
        .load(name)
        .map_err(|e| Failure::Failed(e.to_string()))?
        .ok_or_else(|| {
            Failure::Usage(format!(
                "certificate {name:?} has no stored certificate to revoke"
            ))
        })?;
    let (reason_name, reason) = reason(reason_arg);
    let leaf = leaf_der(&stored)?;
    confirm(&stored, reason_name, yes)?;
    // Not while an issuance of the same certificate replaces the files.
    let _lock = CertLock::try_acquire(&env.paths.state, name)
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let account_name = stored.meta.account.clone();
    if !env.config.accounts.contains_key(&account_name) {
        return Err(Failure::Usage(format!(
            "certificate {name:?} was obtained with account {account_name:?}, which is not configured"
        )));
    }
    let account = load_account(env, &account_name).await?;
    let certificate = CertificateDer::from(leaf);
    let request = RevocationRequest {
        certificate: &certificate,
        reason,
    };
    let result = send(&account, &request).await;
    let serial = stored.meta.serial.clone();
    match result {
        Ok(()) => {
            record(&store, stored, reason_name)?;
            println!("{name}: revoked (serial {serial}, reason {reason_name}); `certpilot renew` replaces it");
            if reason_arg == RevokeReasonArg::KeyCompromise {
                println!("  renew now: the new certificate gets a new key, and the compromised key is deleted once it is replaced");
            }
            Ok(())
        }
        Err(instant_acme::Error::Api(p)) if p.r#type.as_deref() == Some(ALREADY_REVOKED) => {
            if stored.meta.revoked.is_none() {
                record(&store, stored, "unknown (revoked before)")?;
            }
            Err(Failure::Failed(format!(
                "{name}: the CA says serial {serial} is already revoked:\n  {}",
                problem::render(&p).replace('\n', "\n  ")
            )))
        }
        Err(e) => Err(Failure::Failed(format!(
            "{name}: the CA did not revoke serial {serial}:\n  {}",
            problem::describe(&e).replace('\n', "\n  ")
        ))),
    }
}

/// Ask the CA, retrying rejected nonces (a rejected request was not processed).
async fn send(
    account: &instant_acme::Account,
    request: &RevocationRequest<'_>,
) -> Result<(), instant_acme::Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match account.revoke(request).await {
            Err(e) if problem::is_bad_nonce(&e) && attempt < 10 => continue,
            other => return other,
        }
    }
}

/// The leaf certificate's DER (the first certificate of the stored chain).
fn leaf_der(stored: &StoredCert) -> Result<Vec<u8>, Failure> {
    x509_parser::pem::parse_x509_pem(stored.chain_pem.as_bytes())
        .map(|(_, pem)| pem.contents)
        .map_err(|e| {
            Failure::Failed(format!(
                "{}: the stored certificate is unreadable: {e}",
                stored.meta.name
            ))
        })
}

/// Ask on the terminal unless `--yes`; without a terminal, `--yes` is required.
fn confirm(stored: &StoredCert, reason: &str, yes: bool) -> Outcome {
    if yes {
        return Ok(());
    }
    let meta = &stored.meta;
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Usage(format!(
            "revoking {} cannot be undone and there is no terminal to confirm on: pass --yes",
            meta.name
        )));
    }
    eprint!(
        "Revoke {} (serial {}, {}; reason {reason})? This cannot be undone. [y/N] ",
        meta.name,
        meta.serial,
        meta.names.join(", ")
    );
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let agreed = std::io::stdin().lock().read_line(&mut line).is_ok()
        && matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes");
    if agreed {
        Ok(())
    } else {
        Err(Failure::Usage(format!("{} was not revoked", meta.name)))
    }
}

/// Remember the revocation in the metadata (atomically; the chain and key stay).
fn record(store: &CertStore, stored: StoredCert, reason: &str) -> Outcome {
    let mut meta = stored.meta;
    meta.revoked = Some(Revocation {
        at: OffsetDateTime::now_utc(),
        reason: reason.to_owned(),
    });
    store.save_meta(&meta).map_err(|e| {
        Failure::Failed(format!(
            "revoked, but the metadata could not be updated: {e}"
        ))
    })
}
