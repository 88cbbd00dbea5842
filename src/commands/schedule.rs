//! What `renew` works on and why: the pure renewal policy fed with the CA's ARI windows.
//!
//! A window is asked for only when the stored one's Retry-After has passed, so a run from
//! cron every few hours usually sends nothing for certificates that are not due. When the CA
//! has no ARI, or cannot be asked, the last window it gave is used, else the lifetime rule;
//! the run says why on stderr and in the log.

use std::collections::{BTreeMap, HashMap};

use futures::stream::{self, StreamExt};
use instant_acme::Account;
use time::OffsetDateTime;

use super::issue::account_name;
use super::{Env, Failure};
use crate::acme::ari::{self, AriError, AriState, Cached, Freshness};
use crate::acme::http;
use crate::acme::renewal_info::AriClient;
use crate::cert::store::{CertStore, StoredCert};
use crate::cli::RenewArgs;
use crate::domain::renewal::{self, Decision, Reason, Wanted};
use crate::fsutil;
use crate::inventory;

/// Accounts loaded by `renew`, by name (an error is kept so that one unreachable CA costs
/// one attempt per run, not one per certificate).
pub(super) type Accounts = HashMap<String, Result<Account, String>>;

/// One ARI client per account name (an error is kept, as for [`Accounts`]).
type AriClients = HashMap<String, Result<AriClient, String>>;

/// `renew`'s plan.
pub(super) struct Plan {
    /// Due certificates with the reason, in name order.
    pub work: Vec<(String, String)>,
    /// One line per certificate that is not due.
    pub idle: Vec<String>,
    /// The CA's explanation of each window that steered the plan (RFC 9773 asks clients
    /// to show `explanationURL` to the operator), one line per certificate.
    pub notes: Vec<String>,
}

/// One window fetch: the candidate's index and the outcome.
type Fetched = (usize, Result<(AriState, Freshness), AriError>);

/// A configured certificate under consideration.
struct Candidate {
    name: String,
    stored: Option<StoredCert>,
    account: Option<String>,
    ari: Option<AriState>,
}

/// Decide what `renew` works on.
pub(super) async fn plan(env: &Env, args: &RenewArgs) -> Result<Plan, Failure> {
    if let Some(only) = &args.only {
        if !env.config.certificates.contains_key(only) {
            return Err(Failure::Usage(format!(
                "certificate {only:?} is not configured"
            )));
        }
    }
    let store = CertStore::new(&env.paths.certificates);
    let now = OffsetDateTime::now_utc();
    let mut candidates = Vec::new();
    for name in env.config.certificates.keys() {
        if args.only.as_ref().is_some_and(|only| only != name) {
            continue;
        }
        let stored = store
            .load(name)
            .map_err(|e| Failure::Failed(e.to_string()))?;
        candidates.push(Candidate {
            name: name.clone(),
            account: account_name(env, name).ok(),
            ari: None,
            stored,
        });
    }
    if !args.force {
        fetch_windows(env, args, &mut candidates, now).await;
    }
    let mut plan = Plan {
        work: Vec::new(),
        idle: Vec::new(),
        notes: Vec::new(),
    };
    for c in &candidates {
        let explained = c.ari.as_ref().and_then(|state| {
            let meta = &c.stored.as_ref()?.meta;
            state.window_for(meta)?;
            state.explanation_url.as_ref()
        });
        if let Some(url) = explained {
            plan.notes.push(format!(
                "{}: the CA explains its renewal window: {url}",
                c.name
            ));
        }
        match decide(env, args, c, now) {
            Decision::Renew(reason) => plan.work.push((c.name.clone(), reason.to_string())),
            keep @ Decision::Keep { .. } => plan.idle.push(format!("{}: not due; {keep}", c.name)),
        }
    }
    Ok(plan)
}

fn decide(env: &Env, args: &RenewArgs, c: &Candidate, now: OffsetDateTime) -> Decision {
    let cert = &env.config.certificates[&c.name];
    let key_type = cert.key_type.to_string();
    let wanted = Wanted {
        names: &cert.names,
        key_type: &key_type,
        renew_days: args
            .days
            .or_else(|| inventory::renew_days(&env.config, cert)),
    };
    let view = c
        .stored
        .as_ref()
        .map(|s| inventory::stored_view(&s.meta, c.ari.as_ref()));
    renewal::decide(&wanted, view.as_ref(), now, args.force)
}

/// Whether a window could change the decision: not for a certificate that is missing, no
/// longer matches, was revoked or has expired.
fn wants_window(env: &Env, args: &RenewArgs, c: &Candidate, now: OffsetDateTime) -> bool {
    c.stored.is_some()
        && c.account.is_some()
        && !matches!(
            decide(env, args, c, now),
            Decision::Renew(
                Reason::Missing
                    | Reason::NamesChanged { .. }
                    | Reason::KeyTypeChanged { .. }
                    | Reason::Revoked
                    | Reason::Expired
            )
        )
}

/// Fill in each candidate's ARI window: stored while fresh, else fetched (bounded
/// concurrency), else the stale one, else none (the lifetime rule applies).
async fn fetch_windows(
    env: &Env,
    args: &RenewArgs,
    candidates: &mut [Candidate],
    now: OffsetDateTime,
) {
    let mut stale: BTreeMap<usize, AriState> = BTreeMap::new();
    let mut fetch = Vec::new();
    for (i, c) in candidates.iter_mut().enumerate() {
        if !wants_window(env, args, c, now) {
            continue;
        }
        let (Some(stored), Some(account)) = (&c.stored, &c.account) else {
            continue;
        };
        // The same judgement `ari::refresh` makes (see `ari::cached` for which account
        // counts): fresh means nothing is sent for this certificate.
        let (dir, meta, asking) = (
            env.paths.state.clone(),
            stored.meta.clone(),
            account.clone(),
        );
        match fsutil::blocking_io(move || ari::cached(&dir, &meta, Some(&asking), now)).await {
            Cached::Fresh(state) => c.ari = Some(state),
            Cached::Stale(state) => {
                stale.insert(i, state);
                fetch.push(i);
            }
            Cached::None => fetch.push(i),
        }
    }
    let mut clients = AriClients::new();
    for &i in &fetch {
        if let Some(account) = &candidates[i].account {
            if !clients.contains_key(account) {
                clients.insert(account.clone(), ari_client(env, account));
            }
        }
    }
    let parallel = env.config.settings.parallel.max(1);
    let results: Vec<Fetched> = stream::iter(fetch)
        .map(|i| {
            let c = &candidates[i];
            let clients = &clients;
            async move { (i, fetch_one(env, clients, c, now).await) }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    for (i, result) in results {
        let c = &mut candidates[i];
        match result {
            Ok((state, freshness)) => {
                tracing::info!(cert = %c.name, ?freshness, start = %state.start, end = %state.end,
                    chosen = %state.chosen, "ARI window");
                c.ari = Some(state);
            }
            // Most CAs have no ARI: the norm, not a warning.
            Err(AriError::Unsupported) => {
                tracing::info!(cert = %c.name, "the CA offers no ARI; lifetime rule");
            }
            // Treated as no answer at all: not even the window stored earlier.
            Err(why @ AriError::Ignored { .. }) => {
                tracing::warn!(cert = %c.name, reason = %why, "ARI window ignored; lifetime rule");
                eprintln!("{}: warning: {why}; using the lifetime rule", c.name);
            }
            Err(why) => {
                c.ari = stale.remove(&i);
                let fallback = if c.ari.is_some() {
                    "using the window it gave last"
                } else {
                    "using the lifetime rule"
                };
                tracing::warn!(cert = %c.name, reason = %why, fallback, "no ARI window");
                eprintln!("{}: {why}; {fallback}", c.name);
            }
        }
    }
}

/// The ARI client for `account`'s CA (the request needs no account key: it is a GET).
fn ari_client(env: &Env, account: &str) -> Result<AriClient, String> {
    let directory = &env
        .config
        .accounts
        .get(account)
        .ok_or_else(|| format!("account {account:?} is not configured"))?
        .directory;
    let http = http::client(env.ca_bundle_for(account).as_deref()).map_err(|e| e.to_string())?;
    Ok(AriClient::new(http, env.ca_timeout(), directory))
}

/// One certificate's window, or why there is none.
async fn fetch_one(
    env: &Env,
    clients: &AriClients,
    c: &Candidate,
    now: OffsetDateTime,
) -> Result<(AriState, Freshness), AriError> {
    let (Some(stored), Some(account_name)) = (&c.stored, &c.account) else {
        return Err(AriError::Fetch("no stored certificate".into()));
    };
    let client = match clients.get(account_name) {
        Some(Ok(client)) => client,
        Some(Err(e)) => return Err(AriError::Fetch(e.clone())),
        None => return Err(AriError::Fetch("no client for the account".into())),
    };
    ari::refresh(
        client,
        account_name,
        &env.paths.state,
        &stored.meta,
        &stored.chain_pem,
        now,
    )
    .await
}
