//! One issuance from a created (or resumed) order to stored certificate and key, each
//! lasting effect written to the journal before it happens.
//!
//! Test pause points (see [`journal::pause_point`]) sit after each such step, in the order
//! of [`journal::PAUSE_STEPS`].

use instant_acme::{Order, OrderStatus};
use rcgen::KeyPair;
use time::OffsetDateTime;

use super::ari;
use super::authz::Concurrent;
use super::caches as horizon;
use super::challenges::{self, Solvers};
use super::http;
use super::journal::{self, Journal, JournalFile, JournalStep};
use super::keys;
use super::order;
use super::recovery;
use super::renewal_info;
use super::run::{IssueContext, IssueError, Step};
use crate::cert::inspect;
use crate::cert::store::CertMeta;
use crate::config::{CertConfig, KeyType};
use crate::dns::expect;
use crate::dns::PropagationReport;
use crate::fsutil::blocking_io;
use crate::secrets::blocking;
use crate::secrets::SecretRef;
use crate::solver::ChallengeRecord;

/// One issuance in progress and its journal.
pub(super) struct Run<'a> {
    ctx: &'a IssueContext,
    cert: &'a CertConfig,
    name: &'a str,
    account_name: &'a str,
    file: JournalFile,
    journal: Journal,
    /// Concurrent authorization requests, when the account has a signer for them.
    fast: Option<Concurrent>,
}

impl<'a> Run<'a> {
    /// An issuance of `names.0` with account `names.1`, carrying on from `journal`.
    pub(super) fn new(
        ctx: &'a IssueContext,
        cert: &'a CertConfig,
        names: (&'a str, &'a str),
        journal: Journal,
    ) -> Self {
        Self {
            ctx,
            cert,
            name: names.0,
            account_name: names.1,
            file: JournalFile::new(&ctx.state_dir, names.0),
            journal,
            fast: None,
        }
    }

    /// Fetch authorizations and answer challenges through `fast` (concurrently).
    pub(super) fn concurrent(mut self, fast: Option<Concurrent>) -> Self {
        self.fast = fast;
        self
    }

    async fn pause(&self, at: &str) {
        journal::pause_point(&self.ctx.state_dir, at).await;
    }

    /// Record `at` in the journal: a temp file, fsync, rename and directory fsync, on the
    /// blocking pool so parallel renewals and the TUI keep their workers.
    async fn save(&mut self, at: JournalStep) -> Result<(), IssueError> {
        self.journal.step = self.journal.step.max(at);
        let file = self.file.clone();
        let mut journal = self.journal.clone();
        let (journal, saved) = blocking_io(move || {
            let saved = file.save(&mut journal);
            (journal, saved)
        })
        .await;
        self.journal = journal;
        Ok(saved?)
    }

    /// From a created (or resumed) order to stored certificate and key.
    pub(super) async fn drive(
        &mut self,
        order: &mut Order,
        solvers: &Solvers,
        key: Option<(String, String)>,
        step: &(dyn Fn(Step) + Send + Sync),
    ) -> Result<CertMeta, IssueError> {
        self.pause("order-created").await;
        // A fresh key is generated while the CA validates (RSA-4096 takes seconds); it is
        // named in the journal and stored only after validation, as before.
        let key_type = self.cert.key_type;
        let keygen = key
            .is_none()
            .then(|| tokio::task::spawn_blocking(move || keys::generate(key_type)));
        let collected = order::collect_records(order, self.fast.as_mut()).await?;
        let records = challenges::place(self.ctx, collected).await;
        step(Step::OrderCreated {
            url: order.url().to_owned(),
            pending: records.len(),
        });
        self.drop_stale_records(&records).await;
        let served = if order.state().status == OrderStatus::Pending {
            self.validate(order, solvers, &records, step).await?
        } else {
            horizon::Served::default()
        };
        step(Step::Validated);
        // Validation is over: the records go, and the ledger notes what the CA was served,
        // while the key is stored, the order finalized and the certificate stored (a hook's
        // cleanup takes as long as its publishing). The journal names the records until
        // they are gone.
        let stale = challenges::journal_groups(self.ctx, &self.journal.records);
        let ctx = self.ctx;
        let (cleaned, (), issued) = tokio::join!(
            challenges::cleanup(&stale),
            served.record(ctx, true),
            self.issue_certificate(order, key, keygen, step)
        );
        if cleaned {
            self.journal.records.clear();
        }
        let meta = issued?;
        self.close(&meta).await;
        Ok(meta)
    }

    /// Key, finalize, download, store, and the new certificate's ARI window.
    async fn issue_certificate(
        &mut self,
        order: &mut Order,
        key: Option<(String, String)>,
        keygen: Option<tokio::task::JoinHandle<Result<KeyPair, keys::KeyError>>>,
        step: &(dyn Fn(Step) + Send + Sync),
    ) -> Result<CertMeta, IssueError> {
        let (key_id, key) = self.put_key(key, keygen).await?;
        self.pause("key-stored").await;
        let chain = self.download(order, &key).await?;
        step(Step::Finalized);
        self.pause("finalized").await;
        let meta = self.store(key_id, &chain).await?;
        step(Step::Stored {
            serial: meta.serial.clone(),
            not_after: meta.not_after,
        });
        fetch_window(self.ctx, self.account_name, &meta).await;
        Ok(meta)
    }

    /// Records an interrupted run published that this order does not need: remove them
    /// before publishing anything (the ones it still needs go after validation).
    async fn drop_stale_records(&mut self, records: &[ChallengeRecord]) {
        let (keep, stale): (Vec<_>, Vec<_>) = std::mem::take(&mut self.journal.records)
            .into_iter()
            .partition(|r| records.contains(&r.challenge()));
        self.journal.records = keep;
        if !stale.is_empty()
            && !challenges::cleanup(&challenges::journal_groups(self.ctx, &stale)).await
        {
            // Keep listing them so a later run tries again.
            self.journal.records.extend(stale);
        }
    }

    /// Publish, wait until visible, answer, wait for the CA's verdict; what the CA was
    /// served, for the ledger once the order is valid (a failure is written down here).
    async fn validate(
        &mut self,
        order: &mut Order,
        solvers: &Solvers,
        records: &[ChallengeRecord],
        step: &(dyn Fn(Step) + Send + Sync),
    ) -> Result<horizon::Served, IssueError> {
        let grouped = challenges::group_by_solver(self.ctx, solvers, records)?;
        // Named before they exist: a kill while a hook runs leaves nothing unlisted.
        self.journal.add_records(
            grouped
                .iter()
                .flat_map(|(suffix, _, recs)| recs.iter().map(move |r| (suffix.as_str(), r))),
        );
        self.save(JournalStep::Publishing).await?;
        challenges::publish(&grouped).await?;
        step(Step::RecordsPublished {
            records: records.to_vec(),
        });
        self.pause("records-published").await;
        let report = wait_visible(self.ctx, records, step).await?;
        step(Step::RecordsVisible);
        let owners = horizon::owners(records);
        horizon::wait_out_caches(self.ctx, &owners, step).await;
        let served = horizon::Served::from_report(report.as_deref(), &owners, step);
        served.record(self.ctx, false).await;
        order::answer_challenges(order, self.fast.as_mut()).await?;
        self.save(JournalStep::ChallengesAnswered).await?;
        step(Step::ChallengesAnswered);
        self.pause("challenges-answered").await;
        if let Err(e) = order::wait_valid(order, self.ctx.ca_timeout).await {
            // A failed validation may have met a missing record: its negative answer is cached.
            served.settle(false).record(self.ctx, true).await;
            return Err(e);
        }
        Ok(served.settle(true))
    }

    /// The certificate key: the one an interrupted run put into the keyring, or a new one,
    /// named in the journal before it enters the keyring.
    async fn put_key(
        &mut self,
        resumed: Option<(String, String)>,
        keygen: Option<tokio::task::JoinHandle<Result<KeyPair, keys::KeyError>>>,
    ) -> Result<(String, KeyPair), IssueError> {
        if let Some((id, pem)) = resumed {
            return Ok((id, keys_from_pem(self.cert.key_type, &pem)?));
        }
        let key_type = self.cert.key_type;
        let keygen =
            keygen.unwrap_or_else(|| tokio::task::spawn_blocking(move || keys::generate(key_type)));
        let key = keygen.await.map_err(keys::KeyError::from)??;
        tracing::info!(cert = %self.name, "certificate key generated");
        let id = keys::new_key_id();
        self.journal.new_key_id = Some(id.clone());
        self.save(JournalStep::KeyPending).await?;
        let keystore = self.ctx.keystore.clone();
        let what = SecretRef::CertKey {
            cert: self.name.to_owned(),
            key_id: id.clone(),
        };
        let pem = key.serialize_pem();
        blocking(move || keystore.put(&what, &pem)).await?;
        tracing::info!(cert = %self.name, "certificate key stored in the keyring");
        Ok((id, key))
    }

    /// Finalize (unless the CA already has) and download. The chain must be for `key`.
    async fn download(&mut self, order: &mut Order, key: &KeyPair) -> Result<String, IssueError> {
        let csr = keys::csr_der(&self.cert.names, key)?;
        let chain = order::finalize(order, &csr, self.ctx.ca_timeout).await?;
        if !recovery::chain_matches_key(&chain, key) {
            return Err(IssueError::BadCertificate(
                "the certificate is not for the key certpilot sent the CSR with".into(),
            ));
        }
        self.save(JournalStep::Downloaded).await?;
        Ok(chain)
    }

    /// Chain, then metadata (which names the new key), then drop the previous key: at every
    /// point the metadata on disk names a key that exists.
    async fn store(&mut self, key_id: String, chain: &str) -> Result<CertMeta, IssueError> {
        let info = inspect::inspect_chain_pem(chain)
            .map_err(|e| IssueError::BadCertificate(e.to_string()))?;
        // An unreadable previous metadata file only costs the history, never the issuance.
        let previous = self.ctx.store.load_meta(self.name).ok().flatten();
        let meta = CertMeta {
            name: self.name.to_owned(),
            names: self.cert.names.clone(),
            account: self.account_name.to_owned(),
            key_type: self.cert.key_type.to_string(),
            key_id,
            issued_at: OffsetDateTime::now_utc(),
            not_before: info.not_before,
            not_after: info.not_after,
            order_url: self.journal.order_url.clone().unwrap_or_default(),
            serial: info.serial,
            issuer: info.issuer,
            history: previous
                .map(|p| p.history_for_successor())
                .unwrap_or_default(),
            revoked: None,
        };
        let (store, name, pem) = (
            self.ctx.store.clone(),
            self.name.to_owned(),
            chain.to_owned(),
        );
        blocking_io(move || store.save_chain(&name, &pem)).await?;
        self.pause("chain-saved").await;
        let (store, saved) = (self.ctx.store.clone(), meta.clone());
        blocking_io(move || store.save_meta(&saved)).await?;
        self.pause("saved").await;
        Ok(meta)
    }

    /// After the certificate is stored and the records removed: drop the previous key; a
    /// failure here (or records left) leaves the journal, and the next run finishes the job.
    async fn close(&self, meta: &CertMeta) {
        if recovery::abandon(self.ctx, &self.journal, Some(&meta.key_id)).await {
            // The certificate is stored: a journal left behind is finished by the next run.
            if let Err(e) = self.file.remove() {
                tracing::warn!(cert = self.name, error = %e, "could not remove the journal");
            }
        }
    }

    /// After a failure: once the certificate was downloaded the journal stays (the next run
    /// resumes the valid order with the key in the keyring); before, the run is abandoned
    /// cleanly (records removed, the new key deleted) and the journal removed.
    pub(super) async fn fail(&mut self) {
        if self.journal.step >= JournalStep::Downloaded {
            tracing::warn!(cert = self.name, journal = %self.file.path().display(),
                "issuance failed after the download; the next run finishes it");
            return;
        }
        let current = self.ctx.store.load_meta(self.name).ok().flatten();
        let current = current.as_ref().map(|m| m.key_id.as_str());
        if recovery::abandon(self.ctx, &self.journal, current).await {
            if let Err(e) = self.file.remove() {
                tracing::warn!(error = %e, "could not remove the journal");
            }
        }
    }
}

/// Every owner name, all of its values at once (apex and wildcard share one owner), in the
/// `--propagation` mode; each authoritative round is reported as a step. The last round's
/// report (authoritative mode) is returned for the TTLs it saw.
async fn wait_visible(
    ctx: &IssueContext,
    records: &[ChallengeRecord],
    step: &(dyn Fn(Step) + Send + Sync),
) -> Result<Option<Box<PropagationReport>>, IssueError> {
    let expectations = expect::for_records(
        &ctx.config,
        records
            .iter()
            .map(|r| (r.identifier.as_str(), r.value.as_str())),
    );
    let last = std::sync::Mutex::new(None);
    let progress = |report: Box<PropagationReport>| {
        *last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(report.clone());
        step(Step::Propagation(report));
    };
    ctx.checker
        .wait(&expectations, ctx.propagation_timeout, &progress)
        .await?;
    Ok(last
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner))
}

fn keys_from_pem(key_type: KeyType, pem: &str) -> Result<KeyPair, IssueError> {
    recovery::key_from_pem(key_type, pem).map_err(|e| {
        IssueError::BadCertificate(format!(
            "the key an interrupted run stored is unreadable: {e}"
        ))
    })
}

/// Ask for a just-issued certificate's window at once, so `list` and the dashboard show it
/// before the next `renew`. Best effort: a CA without ARI, or one that fails to answer,
/// leaves the lifetime rule until then (logged, never failing the issuance).
async fn fetch_window(ctx: &IssueContext, account_name: &str, meta: &CertMeta) {
    let Some(account) = ctx.config.accounts.get(account_name) else {
        return;
    };
    let bundle = ctx.ca_bundle.clone().or_else(|| account.ca_bundle.clone());
    let http = match http::client(bundle.as_deref()) {
        Ok(http) => http,
        Err(e) => {
            tracing::warn!(cert = %meta.name, error = %e, "no ARI request after issuance");
            return;
        }
    };
    let client = renewal_info::AriClient::new(http, ctx.ca_timeout, &account.directory);
    let (store, name) = (ctx.store.clone(), meta.name.clone());
    let Some(stored) = crate::fsutil::blocking_io(move || store.load(&name).ok().flatten()).await
    else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    let (state_dir, chain) = (&ctx.state_dir, &stored.chain_pem);
    match ari::refresh(&client, account_name, state_dir, &stored.meta, chain, now).await {
        Ok((state, _)) => tracing::info!(cert = %meta.name, start = %state.start,
            end = %state.end, chosen = %state.chosen, "ARI window of the new certificate"),
        Err(ari::AriError::Unsupported) => {}
        Err(e) => tracing::warn!(cert = %meta.name, error = %e, "ARI after issuance"),
    }
}
