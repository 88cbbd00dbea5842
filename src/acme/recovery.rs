//! What the next run does with the journal of an interrupted issuance.
//!
//! - The metadata already names the journal's new key: the crash came after the files were
//!   saved. Finish (drop the previous key, remove leftover records) and report the stored
//!   certificate.
//! - The order is still usable (`pending`, `ready`, or `processing`/`valid` with its key in
//!   the keyring) for the same account and names: resume it. A pending order publishes its
//!   records again; a valid one is only downloaded.
//! - Otherwise (the CA refused or invalidated the order, the account or the names changed):
//!   remove the records the journal lists, delete the key it put into the keyring unless the
//!   metadata names it, drop the journal and start a fresh order.
//!
//! The key the metadata on disk names is never deleted here: that is the certificate in use.

use instant_acme::{Account, Order, OrderStatus};
use rcgen::KeyPair;

use super::challenges;
use super::journal::{Journal, JournalFile, JournalStep};
use super::problem;
use super::run::{IssueContext, IssueError};
use crate::cert::store::CertMeta;
use crate::config::{CertConfig, KeyType};
use crate::fsutil::blocking_io;
use crate::secrets::blocking;
use crate::secrets::SecretRef;

/// How an issuance begins.
pub enum Start {
    /// Nothing to resume: a fresh journal (not yet written).
    Fresh(Journal),
    /// The interrupted order is still usable.
    Resume {
        /// The order, as the CA sees it now (boxed: it is large).
        order: Box<Order>,
        /// Its journal.
        journal: Journal,
        /// The key the journal named, when it reached the keyring: (key id, PEM).
        key: Option<(String, String)>,
    },
    /// The interrupted issuance had stored its certificate already.
    Done(CertMeta),
}

/// Read the journal of `name` (if any) and decide how to begin.
///
/// # Errors
/// The journal is unreadable, or the CA could not be asked about the order (a network
/// failure: the journal stays for the next run).
pub async fn recover(
    ctx: &IssueContext,
    account: &Account,
    account_name: &str,
    name: &str,
    cert: &CertConfig,
) -> Result<Start, IssueError> {
    let file = JournalFile::new(&ctx.state_dir, name);
    let (store, loading, owned) = (ctx.store.clone(), file.clone(), name.to_owned());
    let (current, journal) = blocking_io(move || {
        // An unreadable metadata file only costs the previous key id, never the issuance.
        (store.load_meta(&owned).ok().flatten(), loading.load())
    })
    .await;
    let current_key = current.as_ref().map(|m| m.key_id.clone());
    let fresh = || Journal::start(name, account_name, &cert.names, current_key.clone());
    let Some(journal) = journal? else {
        return Ok(Start::Fresh(fresh()));
    };
    tracing::warn!(cert = name, step = ?journal.step, order = ?journal.order_url,
        "found the journal of an interrupted issuance");
    if let Some(meta) = current.filter(|m| journal.completed(Some(&m.key_id))) {
        if abandon(ctx, &journal, Some(&meta.key_id)).await {
            blocking_io(move || file.remove()).await?;
        }
        return Ok(Start::Done(meta));
    }
    let journal = if journal.account == account_name && journal.names == cert.names {
        match try_resume(ctx, account, journal).await? {
            Ok(start) => return Ok(start),
            Err(journal) => journal,
        }
    } else {
        journal
    };
    if abandon(ctx, &journal, current_key.as_deref()).await {
        blocking_io(move || file.remove()).await?;
    }
    Ok(Start::Fresh(fresh()))
}

/// The interrupted order when it is still usable, else the journal back.
async fn try_resume(
    ctx: &IssueContext,
    account: &Account,
    journal: Journal,
) -> Result<Result<Start, Journal>, IssueError> {
    let Some(url) = journal.order_url.clone() else {
        return Ok(Err(journal));
    };
    let cert = journal.cert.clone();
    match fetch_order(account, &url).await {
        Ok(mut order) => {
            let key = journal_key(ctx, &journal).await?;
            let status = order.state().status;
            let usable = match status {
                OrderStatus::Pending | OrderStatus::Ready => true,
                OrderStatus::Processing | OrderStatus::Valid => key.is_some(),
                OrderStatus::Invalid => false,
            };
            if usable {
                tracing::info!(%cert, order = %url, ?status, "resuming the interrupted order");
                return Ok(Ok(Start::Resume {
                    order: Box::new(order),
                    journal,
                    key,
                }));
            }
            tracing::info!(%cert, order = %url, ?status, "the interrupted order cannot be resumed");
            Ok(Err(journal))
        }
        Err(instant_acme::Error::Api(p)) => {
            tracing::info!(%cert, order = %url, problem = %problem::render(&p),
                "the CA refused the interrupted order; starting afresh");
            Ok(Err(journal))
        }
        // Not an answer about the order (the CA is unreachable): keep the journal for later.
        Err(e) => Err(IssueError::Acme {
            during: "asking the CA about the interrupted order",
            detail: super::http::describe(&e),
        }),
    }
}

/// The order at `url`, retrying rejected nonces.
async fn fetch_order(account: &Account, url: &str) -> Result<Order, instant_acme::Error> {
    problem::retry_bad_nonce(move || account.order(url.to_owned())).await
}

/// The journal's new key, when it made it into the keyring.
async fn journal_key(
    ctx: &IssueContext,
    journal: &Journal,
) -> Result<Option<(String, String)>, IssueError> {
    let Some(id) = journal.new_key_id.clone() else {
        return Ok(None);
    };
    let keystore = ctx.keystore.clone();
    let what = SecretRef::CertKey {
        cert: journal.cert.clone(),
        key_id: id.clone(),
    };
    let pem = blocking(move || keystore.get(&what)).await?;
    Ok(pem.map(|pem| (id, pem)))
}

/// What [`discard`] undid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discarded {
    /// Challenge records the journal listed (removed when `clean`).
    pub records: usize,
    /// Everything was undone and the journal is gone.
    pub clean: bool,
}

/// After an issuance was stopped from outside (the TUI's cancel drops the engine): undo what
/// its journal lists and remove the journal, so the next run starts clean. A journal past the
/// download is left alone, as after any failure there: the next run finishes that
/// certificate instead of throwing it away. A journal that cannot be read or fully undone
/// also stays for the next run's [`recover`].
pub async fn discard(ctx: &IssueContext, name: &str) -> Discarded {
    let file = JournalFile::new(&ctx.state_dir, name);
    let journal = match file.load() {
        Ok(Some(journal)) => journal,
        Ok(None) => {
            return Discarded {
                records: 0,
                clean: true,
            }
        }
        Err(e) => {
            tracing::warn!(cert = name, error = %e, "could not read the journal");
            return Discarded {
                records: 0,
                clean: false,
            };
        }
    };
    let records = journal.records.len();
    if journal.step >= JournalStep::Downloaded {
        return Discarded {
            records,
            clean: false,
        };
    }
    let current = ctx.store.load_meta(name).ok().flatten().map(|m| m.key_id);
    let mut clean = abandon(ctx, &journal, current.as_deref()).await;
    if clean {
        if let Err(e) = file.remove() {
            tracing::warn!(cert = name, error = %e, "could not remove the journal");
            clean = false;
        }
    }
    Discarded { records, clean }
}

/// Undo what an issuance left behind that nothing refers to: its challenge records and the
/// keys [`Journal::keys_to_delete`] names given the key the metadata names (`current`).
/// Returns whether everything was removed (only then may the journal go).
pub async fn abandon(ctx: &IssueContext, journal: &Journal, current: Option<&str>) -> bool {
    let mut clean = challenges::cleanup(&challenges::journal_groups(ctx, &journal.records)).await;
    for id in journal.keys_to_delete(current) {
        let keystore = ctx.keystore.clone();
        let what = SecretRef::CertKey {
            cert: journal.cert.clone(),
            key_id: id,
        };
        if let Err(e) = blocking(move || keystore.delete(&what)).await {
            tracing::warn!(cert = %journal.cert, error = %e, "could not delete a key left by an interrupted issuance");
            clean = false;
        }
    }
    clean
}

/// The key an interrupted run stored, back from its PEM (RSA needs its algorithm named).
///
/// # Errors
/// The PEM is not a PKCS#8 key of `key_type`.
pub fn key_from_pem(key_type: KeyType, pem: &str) -> Result<KeyPair, rcgen::Error> {
    match key_type {
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
            KeyPair::from_pkcs8_pem_and_sign_algo(pem, &rcgen::PKCS_RSA_SHA256)
        }
        KeyType::EcdsaP256 | KeyType::EcdsaP384 => KeyPair::from_pem(pem),
    }
}

/// Whether the leaf of `chain_pem` certifies `key`'s public key.
#[must_use]
pub fn chain_matches_key(chain_pem: &str, key: &KeyPair) -> bool {
    use rcgen::PublicKeyData;
    let Ok(leaf) = x509_parser::pem::parse_x509_pem(chain_pem.as_bytes()) else {
        return false;
    };
    let Ok(cert) = leaf.1.parse_x509() else {
        return false;
    };
    cert.public_key().raw == key.subject_public_key_info().as_slice()
}
