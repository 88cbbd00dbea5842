//! The order's protocol steps, each resilient to `badNonce`.
//!
//! instant-acme retries a rejected nonce twice per request; a CA that rejects many nonces
//! (Pebble's `PEBBLE_WFE_NONCEREJECT`, or a busy CA behind a load balancer) still gets
//! through that. Every step here is safe to repeat: a request rejected for its nonce was
//! not processed, and what a step already achieved is remembered across attempts.

use std::collections::HashSet;
use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, CertificateIdentifier, ChallengeType, Error, Identifier,
    NewOrder, Order, OrderStatus, RetryPolicy,
};

use super::authz::Concurrent;
use super::problem;
use super::run::IssueError;
use crate::domain::names;
use crate::solver::ChallengeRecord;

fn acme_err(during: &'static str, e: &Error) -> IssueError {
    IssueError::Acme {
        during,
        detail: super::http::describe(e),
    }
}

/// Decide whether to try a step again after `err` (attempt counts from 1).
fn retry_or_fail(during: &'static str, err: &Error, attempt: usize) -> Result<(), IssueError> {
    if problem::is_bad_nonce(err) && attempt < problem::NONCE_ATTEMPTS {
        tracing::debug!(during, attempt, "badNonce, retrying");
        Ok(())
    } else {
        Err(acme_err(during, err))
    }
}

/// A new order for `names`. `replaces` names the certificate it renews (ARI, RFC 9773
/// §5); a CA that refuses it (no ARI after all, or `alreadyReplaced`) gets the order
/// without it: the renewal matters more than the CA's bookkeeping. `profile` is the
/// certificate profile asked for (the ACME profiles extension); a CA that does not know it
/// refuses the order, and its problem is shown.
///
/// # Errors
///
/// When the CA refuses the order (with or without `replaces`), e.g. an unknown profile or
/// a rate limit; its problem document is kept.
pub async fn create(
    account: &Account,
    names: &[String],
    replaces: Option<&CertificateIdentifier<'static>>,
    profile: Option<&str>,
) -> Result<Order, IssueError> {
    let identifiers: Vec<Identifier> = names.iter().map(|n| Identifier::Dns(n.clone())).collect();
    let mut replaces = replaces.cloned();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut new_order = NewOrder::new(&identifiers);
        if let Some(id) = &replaces {
            new_order = new_order.replaces(id.clone());
        }
        if let Some(profile) = profile {
            new_order = new_order.profile(profile);
        }
        match account.new_order(&new_order).await {
            Ok(order) => return Ok(order),
            // Most CAs have no ARI: instant-acme refuses `replaces` before sending anything.
            Err(Error::Unsupported(_)) if replaces.is_some() => {
                tracing::debug!("the CA has no ARI; ordering without `replaces`");
                replaces = None;
            }
            Err(e) if replaces.is_some() && refuses_replaces(&e) => {
                tracing::warn!(error = %super::http::describe(&e), "the CA refused `replaces`; ordering without it");
                replaces = None;
            }
            Err(e) => retry_or_fail("creating the order", &e, attempt)?,
        }
    }
}

/// Whether the CA may have refused the order because of its `replaces`: `alreadyReplaced`,
/// or `malformed`, which is what a CA answers when it does not know the certificate named
/// (another CA issued it, or the account's directory changed). A `malformed` order with
/// another cause fails again without `replaces`, and that answer is the one shown.
fn refuses_replaces(err: &Error) -> bool {
    match err {
        Error::Unsupported(_) => true,
        Error::Api(p) => matches!(
            p.r#type.as_deref(),
            Some(
                "urn:ietf:params:acme:error:alreadyReplaced"
                    | "urn:ietf:params:acme:error:malformed"
            )
        ),
        _ => false,
    }
}

/// The DNS-01 records of every pending authorization (valid ones are reused by the CA),
/// fetched concurrently when `fast` is given.
///
/// # Errors
///
/// When an authorization cannot be fetched or offers no DNS-01 challenge.
pub async fn collect_records(
    order: &mut Order,
    fast: Option<&mut Concurrent>,
) -> Result<Vec<ChallengeRecord>, IssueError> {
    if let Some(fast) = fast {
        return collect_concurrently(order, fast).await;
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        // Authorizations already fetched are cached by the order: a retry only asks for the rest.
        match try_collect(order).await {
            Ok(records) => return Ok(records),
            Err(Ok(e)) => retry_or_fail("fetching authorizations", &e, attempt)?,
            Err(Err(issue)) => return Err(issue),
        }
    }
}

async fn collect_concurrently(
    order: &mut Order,
    fast: &mut Concurrent,
) -> Result<Vec<ChallengeRecord>, IssueError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        // What was fetched is kept: a retry only asks for the rest.
        match fast.fetch(order).await {
            Ok(()) => break,
            Err(e) => retry_or_fail("fetching authorizations", &e, attempt)?,
        }
    }
    let pending = fast
        .pending()
        .map_err(|msg| IssueError::Invalid(vec![msg]))?;
    Ok(pending
        .into_iter()
        .map(|p| record(p.identifier, p.value))
        .collect())
}

/// The record that proves control of `identifier` with `value`.
fn record(identifier: String, value: String) -> ChallengeRecord {
    let base = names::base_domain(&identifier).to_owned();
    ChallengeRecord {
        fqdn: format!("{}.", names::challenge_owner(&base)),
        identifier,
        value,
    }
}

/// `Err(Ok(_))` is a protocol error (maybe retryable), `Err(Err(_))` a final verdict.
async fn try_collect(order: &mut Order) -> Result<Vec<ChallengeRecord>, Result<Error, IssueError>> {
    let mut records = Vec::new();
    let mut authzs = order.authorizations();
    while let Some(authz) = authzs.next().await {
        let mut authz = authz.map_err(Ok)?;
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => {
                let msg = format!("{}: authorization is {other:?}", authz.identifier());
                return Err(Err(IssueError::Invalid(vec![msg])));
            }
        }
        let identifier = authz.identifier().to_string();
        let Some(challenge) = authz.challenge(ChallengeType::Dns01) else {
            let msg = format!("{identifier}: the CA offers no dns-01 challenge");
            return Err(Err(IssueError::Invalid(vec![msg])));
        };
        let value = challenge.key_authorization().dns_value();
        records.push(record(identifier, value));
    }
    Ok(records)
}

/// Tell the CA to validate every pending challenge (concurrently when `fast` is given);
/// challenges answered in an earlier attempt are not answered twice.
///
/// # Errors
///
/// When the CA refuses a challenge answer or cannot be reached (after retries).
pub async fn answer_challenges(
    order: &mut Order,
    mut fast: Option<&mut Concurrent>,
) -> Result<(), IssueError> {
    let mut answered: HashSet<String> = HashSet::new();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = match fast.as_deref_mut() {
            Some(fast) => fast.answer().await,
            None => try_answer(order, &mut answered).await,
        };
        match result {
            Ok(()) => return Ok(()),
            Err(e) => retry_or_fail("answering a challenge", &e, attempt)?,
        }
    }
}

async fn try_answer(order: &mut Order, answered: &mut HashSet<String>) -> Result<(), Error> {
    let mut authzs = order.authorizations();
    while let Some(authz) = authzs.next().await {
        let mut authz = authz?;
        if authz.status != AuthorizationStatus::Pending || answered.contains(authz.url()) {
            continue;
        }
        let url = authz.url().to_owned();
        if let Some(mut challenge) = authz.challenge(ChallengeType::Dns01) {
            // A resumed order's challenge may be answered already (processing).
            if challenge.status == instant_acme::ChallengeStatus::Pending {
                challenge.set_ready().await?;
            }
        }
        answered.insert(url);
    }
    Ok(())
}

fn retry_policy(timeout: Duration) -> RetryPolicy {
    RetryPolicy::new()
        .initial_delay(Duration::from_millis(100))
        .backoff(1.5)
        .timeout(timeout)
}

/// Poll until the order is ready; on `invalid`, each failed authorization with the CA's
/// problem document.
///
/// # Errors
///
/// When the order turns `invalid` (each failed authorization with its problem) or is not
/// ready within `timeout`.
pub async fn wait_valid(order: &mut Order, timeout: Duration) -> Result<(), IssueError> {
    // One look before the first back-off: while the last answers went out, the CA has often
    // validated the rest already (any error here is met again by the polling below).
    if let Ok(state) = order.refresh().await {
        if state.status == OrderStatus::Ready && state.error.is_none() {
            return Ok(());
        }
    }
    let mut attempt = 0;
    let status = loop {
        attempt += 1;
        match order.poll_ready(&retry_policy(timeout)).await {
            Ok(status) => break status,
            Err(e) => retry_or_fail("waiting for validation", &e, attempt)?,
        }
    };
    if status == OrderStatus::Ready {
        return Ok(());
    }
    Err(IssueError::Invalid(authorization_failures(order).await))
}

async fn authorization_failures(order: &mut Order) -> Vec<String> {
    let mut failures = Vec::new();
    let mut authzs = order.authorizations();
    while let Some(Ok(mut authz)) = authzs.next().await {
        let _ = authz.refresh().await;
        if authz.status == AuthorizationStatus::Valid {
            continue;
        }
        let who = authz.identifier().to_string();
        let problems: Vec<String> = authz
            .challenges
            .iter()
            .filter_map(|c| c.error.as_ref())
            .map(problem::render)
            .collect();
        if problems.is_empty() {
            failures.push(format!("{who}: authorization {:?}", authz.status));
        } else {
            failures.extend(problems.into_iter().map(|p| format!("{who}: {p}")));
        }
    }
    if failures.is_empty() {
        failures.push("the order became invalid without a reason from the CA".into());
    }
    failures
}

/// Send the CSR and download the certificate chain (PEM).
///
/// # Errors
///
/// When the CA refuses the CSR, the order does not turn valid within `timeout`, or the
/// chain cannot be downloaded.
pub async fn finalize(
    order: &mut Order,
    csr_der: &[u8],
    timeout: Duration,
) -> Result<String, IssueError> {
    let mut attempt = 0;
    while order.state().status == OrderStatus::Ready {
        attempt += 1;
        match order.finalize_csr(csr_der).await {
            Ok(()) => break,
            Err(e) => retry_or_fail("finalizing the order", &e, attempt)?,
        }
    }
    // Often issued at once: look before the first back-off (errors recur below).
    if let Ok(Some(chain)) = order.certificate().await {
        return Ok(chain);
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match order.poll_certificate(&retry_policy(timeout)).await {
            Ok(chain) => return Ok(chain),
            Err(e) => retry_or_fail("downloading the certificate", &e, attempt)?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(kind: &str) -> Error {
        let json = format!(r#"{{"type":"urn:ietf:params:acme:error:{kind}","detail":"x"}}"#);
        Error::Api(serde_json::from_str(&json).unwrap())
    }

    #[test]
    fn an_order_is_retried_without_replaces_only_for_problems_replaces_can_cause() {
        assert!(refuses_replaces(&Error::Unsupported("ARI")));
        assert!(refuses_replaces(&api("alreadyReplaced")));
        assert!(refuses_replaces(&api("malformed")));
        for kind in [
            "rateLimited",
            "rejectedIdentifier",
            "badNonce",
            "serverInternal",
        ] {
            assert!(!refuses_replaces(&api(kind)), "{kind}");
        }
    }
}
