//! CAA (RFC 8659) decisions, with the RFC 8657 `accounturi` and `validationmethods`
//! parameters: given the relevant record set of a name, may this CA, for this account, by
//! DNS-01, issue for it? Pure: the lookup (tree climbing, CNAMEs) is in `dns::caa`.

use std::fmt;

/// One CAA record as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaaRecord {
    /// The issuer-critical flag.
    pub critical: bool,
    /// The property tag (`issue`, `issuewild`, `iodef`, ...).
    pub tag: String,
    /// The value as text.
    pub value: String,
}

impl fmt::Display for CaaRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = if self.critical { 128 } else { 0 };
        write!(f, "CAA {flags} {} \"{}\"", self.tag, self.value)
    }
}

/// Who asks: the CA's identities (`caaIdentities`), its account URL, the method.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    /// The CA's issuer domain names; empty when the CA publishes none.
    pub identities: &'a [String],
    /// The account URL (RFC 8657 `accounturi`).
    pub account_uri: Option<&'a str>,
}

/// What the relevant record set says for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No relevant record, or none of the tag that applies: any CA may issue.
    Unrestricted,
    /// This record authorizes the CA for this account and DNS-01.
    Allowed(CaaRecord),
    /// The CA may not issue; the reason names the records to fix.
    Forbidden(String),
    /// The CA publishes no `caaIdentities`, so whether the records name it is unknown.
    Unknown(String),
}

/// The issuer domain and the parameters of an `issue`/`issuewild` value (RFC 8659 §4.2).
fn parse_issue_value(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = value.split(';');
    let issuer = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        })
        .collect();
    (issuer, params)
}

/// Why `record` does not authorize `who` by DNS-01, or `None` when it does.
fn refusal(record: &CaaRecord, who: &Requester<'_>) -> Option<String> {
    let (issuer, params) = parse_issue_value(&record.value);
    if issuer.is_empty() {
        return Some("it forbids every CA".to_owned());
    }
    if !who.identities.iter().any(|id| {
        id.trim_end_matches('.')
            .eq_ignore_ascii_case(issuer.trim_end_matches('.'))
    }) {
        return Some(format!("it names {issuer}, not this CA"));
    }
    for (key, value) in &params {
        match key.as_str() {
            "accounturi" if Some(value.as_str()) != who.account_uri => {
                return Some(format!(
                    "its accounturi {value} is not this account ({})",
                    who.account_uri.unwrap_or("unknown")
                ));
            }
            "validationmethods" if !value.split(',').any(|m| m.trim() == "dns-01") => {
                return Some(format!("its validationmethods {value} exclude dns-01"));
            }
            _ => {}
        }
    }
    None
}

/// Decide for `name` (`*.` for a wildcard) given its relevant record set `records`.
#[must_use]
pub fn evaluate(name: &str, records: &[CaaRecord], who: &Requester<'_>) -> Verdict {
    const KNOWN: [&str; 3] = ["issue", "issuewild", "iodef"];
    if let Some(r) = records
        .iter()
        .find(|r| r.critical && !KNOWN.iter().any(|k| r.tag.eq_ignore_ascii_case(k)))
    {
        return Verdict::Forbidden(format!(
            "the record `{r}` carries a critical property no CA understands, which forbids issuance"
        ));
    }
    let tagged = |tag: &str| -> Vec<&CaaRecord> {
        records
            .iter()
            .filter(|r| r.tag.eq_ignore_ascii_case(tag))
            .collect()
    };
    let wildcard = name.starts_with("*.");
    let set = match (wildcard, tagged("issuewild")) {
        (true, wild) if !wild.is_empty() => wild,
        _ => tagged("issue"),
    };
    if set.is_empty() {
        return Verdict::Unrestricted;
    }
    let shown = set
        .iter()
        .map(|r| format!("`{r}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if who.identities.is_empty() {
        let names_someone = set
            .iter()
            .any(|r| !parse_issue_value(&r.value).0.is_empty());
        if !names_someone {
            return Verdict::Forbidden(format!("{shown} forbids every CA"));
        }
        return Verdict::Unknown(format!(
            "the CA publishes no caaIdentities (nor does the account's caa_identities say), so \
             check by hand that {shown} names it"
        ));
    }
    let mut reasons = Vec::new();
    for record in &set {
        match refusal(record, who) {
            None => return Verdict::Allowed((*record).clone()),
            Some(why) => reasons.push(format!("`{record}`: {why}")),
        }
    }
    Verdict::Forbidden(reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(critical: bool, tag: &str, value: &str) -> CaaRecord {
        CaaRecord {
            critical,
            tag: tag.into(),
            value: value.into(),
        }
    }

    #[test]
    fn decisions() {
        let ids = vec!["letsencrypt.org".to_owned()];
        let who = Requester {
            identities: &ids,
            account_uri: Some("https://ca/acct/1"),
        };
        let allowed = |v: Verdict| matches!(v, Verdict::Allowed(_));
        let forbidden = |v: Verdict| matches!(v, Verdict::Forbidden(_));
        assert_eq!(evaluate("a.test", &[], &who), Verdict::Unrestricted);
        assert_eq!(
            evaluate("a.test", &[rec(false, "iodef", "mailto:x@a.test")], &who),
            Verdict::Unrestricted
        );
        assert!(allowed(evaluate(
            "a.test",
            &[rec(false, "issue", "LetsEncrypt.org")],
            &who
        )));
        assert!(forbidden(evaluate(
            "a.test",
            &[rec(false, "issue", "pki.goog")],
            &who
        )));
        assert!(forbidden(evaluate(
            "a.test",
            &[rec(false, "issue", ";")],
            &who
        )));
        // One of several issue records suffices.
        let two = [
            rec(false, "issue", "pki.goog"),
            rec(false, "issue", "letsencrypt.org"),
        ];
        assert!(allowed(evaluate("a.test", &two, &who)));
        // issuewild governs wildcards when present, else issue does.
        let wild = [
            rec(false, "issue", "letsencrypt.org"),
            rec(false, "issuewild", ";"),
        ];
        assert!(allowed(evaluate("a.test", &wild, &who)));
        assert!(forbidden(evaluate("*.a.test", &wild, &who)));
        assert!(allowed(evaluate("*.a.test", &wild[..1], &who)));
        // RFC 8657 parameters.
        let uri = |u: &str| rec(false, "issue", &format!("letsencrypt.org; accounturi={u}"));
        assert!(allowed(evaluate(
            "a.test",
            &[uri("https://ca/acct/1")],
            &who
        )));
        assert!(forbidden(evaluate(
            "a.test",
            &[uri("https://ca/acct/2")],
            &who
        )));
        let methods = |m: &str| {
            rec(
                false,
                "issue",
                &format!("letsencrypt.org; validationmethods={m}"),
            )
        };
        assert!(allowed(evaluate(
            "a.test",
            &[methods("http-01,dns-01")],
            &who
        )));
        assert!(forbidden(evaluate("a.test", &[methods("http-01")], &who)));
        // An unknown critical property forbids; an unknown non-critical one is ignored.
        assert!(forbidden(evaluate(
            "a.test",
            &[rec(true, "tbs", "x")],
            &who
        )));
        assert_eq!(
            evaluate("a.test", &[rec(false, "tbs", "x")], &who),
            Verdict::Unrestricted
        );
        // Without caaIdentities: unknown, except for a set that forbids everybody.
        let nobody = Requester {
            identities: &[],
            account_uri: None,
        };
        assert!(matches!(
            evaluate("a.test", &[rec(false, "issue", "pki.goog")], &nobody),
            Verdict::Unknown(_)
        ));
        assert!(forbidden(evaluate(
            "a.test",
            &[rec(false, "issue", ";")],
            &nobody
        )));
    }
}
