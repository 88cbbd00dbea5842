//! The CAA audit of a certificate's names (`certpilot caa`) and the refusal to order when
//! CAA forbids the account's CA: a failed validation costs rate limit, a refusal here nothing.

use std::path::PathBuf;

use super::account;
use super::ca_client::{self, CaClient};
use super::http;
use super::run::IssueError;
use crate::config::Config;
use crate::dns::caa::{self, Relevant};
use crate::dns::visibility::uncached_resolver;
use crate::domain::caa::{evaluate, Requester, Verdict};

/// How long the check before ordering may take: a dead resolver must not hold up an order
/// the CA will judge anyway.
const BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// The audit of one name.
#[derive(Debug, Clone)]
pub struct NameAudit {
    /// The name (`*.` for a wildcard).
    pub name: String,
    /// Where its relevant records are, or why they could not be looked up.
    pub relevant: Result<Relevant, String>,
    /// The decision, when the records could be looked up.
    pub verdict: Option<Verdict>,
}

/// The CA's CAA identities: the directory's `caaIdentities`, plus the account's configured
/// `caa_identities` (for CAs that publish none, such as Pebble).
///
/// # Errors
///
/// When `account_name` is not configured or the CA's directory cannot be fetched.
pub async fn identities(config: &Config, account_name: &str) -> Result<Vec<String>, String> {
    let Some(acct) = config.accounts.get(account_name) else {
        return Err(format!("account {account_name:?} is not configured"));
    };
    let bundle: Option<PathBuf> = acct.ca_bundle.clone().or(config.settings.ca_bundle.clone());
    // Through the per-CA bound like every other request: in a parallel `renew --all` this
    // directory request overlaps other certificates' orders.
    let client = CaClient::new(
        http::client(bundle.as_deref()).map_err(|e| e.to_string())?,
        ca_client::DEFAULT_TIMEOUT,
    )
    .with_limits(super::ca_shared::Limits::of(&config.settings));
    let meta = account::directory(&client, &acct.directory)
        .await
        .map_err(|e| e.to_string())?
        .meta;
    let mut all = meta.caa_identities;
    all.extend(acct.caa_identities.iter().cloned());
    Ok(all)
}

/// Audit `names` for the CA with `identities` and the account at `account_uri`.
///
/// # Errors
///
/// When the resolver cannot be set up from `settings.resolvers`.
pub async fn audit(
    config: &Config,
    identities: &[String],
    account_uri: Option<&str>,
    names: &[String],
) -> Result<Vec<NameAudit>, String> {
    let resolver = uncached_resolver(&config.settings.resolvers).map_err(|e| e.to_string())?;
    let who = Requester {
        identities,
        account_uri,
    };
    let lookups = names.iter().map(|name| caa::relevant(&resolver, name));
    let found = futures::future::join_all(lookups).await;
    Ok(names
        .iter()
        .zip(found)
        .map(|(name, relevant)| NameAudit {
            name: name.clone(),
            verdict: relevant
                .as_ref()
                .ok()
                .map(|r| evaluate(name, &r.records, &who)),
            relevant,
        })
        .collect())
}

/// Where the set was found, in words: `example.com` or `www.example.com (CNAME → x.net)`.
#[must_use]
pub fn place(relevant: &Relevant) -> String {
    let owner = relevant.owner.as_deref().unwrap_or("-");
    if relevant.via.is_empty() {
        owner.to_owned()
    } else {
        format!("{owner} (CNAME → {})", relevant.via.join(" → "))
    }
}

/// The refusal for the names CAA forbids, naming the record set to fix; `None` when none.
#[must_use]
pub fn refusal(audits: &[NameAudit], identities: &[String]) -> Option<String> {
    let suggestion = identities.first().map_or_else(
        || "the CA's issuer domain".to_owned(),
        |id| format!("\"{id}\""),
    );
    let lines: Vec<String> = audits
        .iter()
        .filter_map(|a| match (&a.verdict, &a.relevant) {
            (Some(Verdict::Forbidden(why)), Ok(relevant)) => Some(format!(
                "  {}: CAA at {}: {why}\n    fix: add `{} CAA 0 issue {suggestion}` (issuewild for wildcards) to that record set",
                a.name,
                place(relevant),
                relevant.owner.as_deref().unwrap_or(&a.name),
            )),
            _ => None,
        })
        .collect();
    (!lines.is_empty()).then(|| {
        format!(
            "CAA records forbid this CA to issue; nothing was ordered:\n{}",
            lines.join("\n")
        )
    })
}

/// Before ordering: refuse when CAA forbids the CA for any name. Lookup failures only warn
/// (the CA decides; certpilot's own resolver may see less than the CA's).
///
/// # Errors
///
/// When CAA records forbid the CA for one of the names (lookup failures only warn).
pub async fn verify(
    config: &Config,
    account_name: &str,
    account_uri: &str,
    names: &[String],
) -> Result<(), IssueError> {
    let identities = match identities(config, account_name).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(account = account_name, error = %e, "CAA check skipped: no directory");
            return Ok(());
        }
    };
    let audits =
        match tokio::time::timeout(BUDGET, audit(config, &identities, Some(account_uri), names))
            .await
        {
            Ok(Ok(audits)) => audits,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "CAA check skipped");
                return Ok(());
            }
            Err(_) => {
                tracing::warn!("CAA check skipped: the resolvers did not answer in {BUDGET:?}");
                return Ok(());
            }
        };
    for a in &audits {
        if let Err(e) = &a.relevant {
            tracing::warn!(name = %a.name, error = %e, "CAA lookup failed; the CA will decide");
        }
    }
    match refusal(&audits, &identities) {
        Some(text) => Err(IssueError::Caa(text)),
        None => Ok(()),
    }
}
