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
    // A renewal may have replaced the certificate while the question was open: what was
    // confirmed is that serial, not whatever the name holds now.
    unchanged_since_confirmed(&store, &stored)?;
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
            record(&store, name, reason_name)?;
            outln!("{name}: revoked (serial {serial}, reason {reason_name}); `certpilot renew` replaces it");
            if reason_arg == RevokeReasonArg::KeyCompromise {
                outln!("  renew now: the new certificate gets a new key, and the compromised key is deleted once it is replaced");
            }
            Ok(())
        }
        Err(instant_acme::Error::Api(p)) if p.r#type.as_deref() == Some(ALREADY_REVOKED) => {
            if stored.meta.revoked.is_none() {
                record(&store, name, "unknown (revoked before)")?;
            }
            Err(Failure::Failed(format!(
                "{name}: the CA says serial {serial} is already revoked:\n  {}",
                problem::render(&p).replace('\n', "\n  ")
            )))
        }
        Err(e) => Err(Failure::Failed(format!(
            "{name}: the CA did not revoke serial {serial}:\n  {}",
            crate::acme::http::describe(&e).replace('\n', "\n  ")
        ))),
    }
}

/// Ask the CA, retrying rejected nonces (a rejected request was not processed).
async fn send(
    account: &instant_acme::Account,
    request: &RevocationRequest<'_>,
) -> Result<(), instant_acme::Error> {
    problem::retry_bad_nonce(move || account.revoke(request)).await
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

/// Refuse when the stored serial is no longer the one loaded (and confirmed) before the lock.
fn unchanged_since_confirmed(store: &CertStore, stored: &StoredCert) -> Outcome {
    let name = &stored.meta.name;
    let current = store
        .load_meta(name)
        .map_err(|e| Failure::Failed(e.to_string()))?;
    match current {
        Some(meta) if meta.serial == stored.meta.serial => Ok(()),
        Some(meta) => Err(Failure::Failed(format!(
            "{name}: not revoked: the certificate was replaced (serial {} is now {}) while waiting; run revoke again to revoke the new one",
            stored.meta.serial, meta.serial
        ))),
        None => Err(Failure::Failed(format!(
            "{name}: not revoked: the stored certificate disappeared while waiting"
        ))),
    }
}

/// Remember the revocation in the metadata as it is now (atomically; the chain and key
/// stay), so that nothing written since it was first read is lost.
fn record(store: &CertStore, name: &str, reason: &str) -> Outcome {
    let fail = |e: &dyn std::fmt::Display| {
        Failure::Failed(format!(
            "revoked, but the metadata could not be updated: {e}"
        ))
    };
    let mut meta = store
        .load_meta(name)
        .map_err(|e| fail(&e))?
        .ok_or_else(|| fail(&"it is gone"))?;
    meta.revoked = Some(Revocation {
        at: OffsetDateTime::now_utc(),
        reason: reason.to_owned(),
    });
    store.save_meta(&meta).map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::store::tests::meta;

    #[test]
    fn a_renewal_while_confirming_is_refused_and_recording_keeps_fresh_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let store = CertStore::new(dir.path());
        store.save_meta(&meta("web")).unwrap();
        let confirmed = StoredCert {
            meta: meta("web"),
            chain_pem: String::new(),
        };
        assert!(unchanged_since_confirmed(&store, &confirmed).is_ok());

        // A renewal finished while the question was open.
        let mut renewed = meta("web");
        renewed.serial = "02".into();
        renewed.key_id = "k2".into();
        store.save_meta(&renewed).unwrap();
        match unchanged_since_confirmed(&store, &confirmed) {
            Err(Failure::Failed(msg)) => {
                assert!(msg.contains("serial 01 is now 02"), "{msg}");
            }
            other => panic!("not refused: {other:?}"),
        }

        // Recording works on the metadata as it is now: nothing of the renewal is lost.
        record(&store, "web", "superseded").unwrap();
        let now = store.load_meta("web").unwrap().unwrap();
        assert_eq!((now.serial.as_str(), now.key_id.as_str()), ("02", "k2"));
        assert_eq!(now.revoked.unwrap().reason, "superseded");
    }
}
