//! `certpilot caa NAME [--account A]`: which CAA records govern each name and whether they
//! let the account's CA issue (exit 1 when they forbid it for any name).

use super::{issue, Env, Failure, Outcome};
use crate::acme::account::AccountMeta;
use crate::acme::caa_check::{self, NameAudit};
use crate::domain::caa::Verdict;
use crate::domain::names;

pub(super) async fn run(env: &Env, name: &str, account: Option<&str>) -> Outcome {
    let (names, account) = if let Some(cert) = env.config.certificates.get(name) {
        let account = match account {
            Some(a) => a.to_owned(),
            None => issue::account_name(env, name)?,
        };
        (cert.names.clone(), account)
    } else {
        let dns = names::normalize(name).map_err(|e| Failure::Usage(e.to_string()))?;
        let account = match (account, env.config.accounts.keys().next()) {
            (Some(a), _) => a.to_owned(),
            (None, Some(only)) if env.config.accounts.len() == 1 => only.clone(),
            _ => {
                return Err(Failure::Usage(
                    "pass --account: the CA to check for is the account's".into(),
                ))
            }
        };
        (vec![dns], account)
    };
    if !env.config.accounts.contains_key(&account) {
        return Err(Failure::Usage(format!(
            "account {account:?} is not configured"
        )));
    }
    let config = env.shared_config();
    let identities = caa_check::identities(&config, &account)
        .await
        .map_err(Failure::Failed)?;
    let account_uri = AccountMeta::load(&env.paths.accounts, &account).map(|m| m.account_url);
    let audits = caa_check::audit(&config, &identities, account_uri.as_deref(), &names)
        .await
        .map_err(Failure::Usage)?;
    let shown = if identities.is_empty() {
        "none published; set caa_identities for the account".to_owned()
    } else {
        identities.join(", ")
    };
    outln!("account {account}: CA identities {shown}");
    for a in &audits {
        outln!("{}", line(a));
    }
    match caa_check::refusal(&audits, &identities) {
        Some(text) => Err(Failure::Failed(text)),
        None => Ok(()),
    }
}

fn line(a: &NameAudit) -> String {
    let relevant = match &a.relevant {
        Err(e) => return format!("{}: lookup failed: {e}", a.name),
        Ok(r) if r.records.is_empty() => {
            return format!("{}: no CAA records: any CA may issue", a.name)
        }
        Ok(r) => r,
    };
    let records = relevant
        .records
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let verdict = match &a.verdict {
        Some(Verdict::Allowed(r)) => format!("allowed by `{r}`"),
        Some(Verdict::Unrestricted) => "no issue property applies: any CA may issue".to_owned(),
        Some(Verdict::Forbidden(why)) => format!("FORBIDDEN: {why}"),
        Some(Verdict::Unknown(why)) => format!("unknown: {why}"),
        None => String::new(),
    };
    format!(
        "{}: CAA at {}: {records}: {verdict}",
        a.name,
        caa_check::place(relevant)
    )
}
