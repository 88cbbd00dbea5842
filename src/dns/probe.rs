//! What one address of one authoritative server said, and what that means for a hop of the
//! check: the status vocabulary and the pure classification behind it.

use std::net::IpAddr;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData};
use serde::Serialize;

use super::query::{QueryError, Response};
use super::zone::display;

/// The verdict for one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Serves everything expected.
    Match,
    /// Serves nothing at the name (no data of the type asked for), or not the CNAME needed.
    Missing,
    /// Serves something else: other TXT values, another CNAME target, TXT instead of CNAME.
    Mismatch,
    /// Says the name does not exist.
    Nxdomain,
    /// Answered SERVFAIL (often: the zone failed to load, or expired on a secondary).
    Servfail,
    /// Answered REFUSED (often: it does not serve the zone at all).
    Refused,
    /// Did not answer in time.
    Timeout,
    /// Answered, but not authoritatively (a referral, or a cache): a lame delegation.
    Lame,
    /// The network refused at once (ICMP unreachable, no route).
    Unreachable,
    /// Any other failure (another answer code, a broken answer).
    Error,
}

impl Status {
    /// The lowercase word shown in tables and JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Match => "match",
            Status::Missing => "missing",
            Status::Mismatch => "mismatch",
            Status::Nxdomain => "nxdomain",
            Status::Servfail => "servfail",
            Status::Refused => "refused",
            Status::Timeout => "timeout",
            Status::Lame => "lame",
            Status::Unreachable => "unreachable",
            Status::Error => "error",
        }
    }

    /// Whether the address gave no DNS answer at all.
    #[must_use]
    pub fn is_silent(self) -> bool {
        matches!(self, Status::Timeout | Status::Unreachable)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a hop requires of every address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum HopRule {
    /// A CNAME to `target` (configured or given with `--expect-cname`).
    Cname {
        /// The target, without the trailing dot.
        target: String,
    },
    /// TXT values (all of them; more are fine). Empty: whatever any address serves, every
    /// address must serve. A CNAME here is followed.
    Txt {
        /// The values.
        values: Vec<String>,
    },
}

/// One address's answer, reduced to what the check needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observation {
    /// The CNAME target at the name, if it is a CNAME.
    pub cname: Option<String>,
    /// TXT values at the name itself (not at a CNAME target the server chased).
    pub txt: Vec<String>,
    /// Smallest TTL of the records at the name.
    pub ttl: Option<u32>,
    /// The server also holds other records beside the CNAME (seen in one answer, or the
    /// name answered TXT to a TXT question and CNAME to a CNAME question).
    pub beside_cname: bool,
}

/// The outcome of asking one address, before classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An authoritative NOERROR answer.
    Records(Observation),
    /// An authoritative NXDOMAIN.
    NxDomain,
    /// Answered without the AA bit.
    NotAuthoritative(String),
    /// Another answer code.
    Rcode(ResponseCode),
    /// No answer.
    Failed(QueryError),
}

/// The RFC mnemonic of an answer code (`NOTIMP`, `REFUSED`), as `dig` shows it.
#[must_use]
pub fn rcode_name(rcode: ResponseCode) -> String {
    match rcode {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::Unknown(code) => format!("RCODE{code}"),
        other => format!("{other:?}").to_ascii_uppercase(),
    }
}

fn txt_string(parts: &[Box<[u8]>]) -> String {
    parts
        .iter()
        .map(|part| String::from_utf8_lossy(part))
        .collect()
}

/// Reduce an answer to `qname` to an [`Outcome`].
#[must_use]
pub fn outcome_of(message: &Message, qname: &Name) -> Outcome {
    let meta = &message.metadata;
    match meta.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        other => return Outcome::Rcode(other),
    }
    if !meta.authoritative {
        let why = message
            .authorities
            .iter()
            .find(|r| matches!(r.data, RData::NS(_)))
            .map_or_else(
                || "answered without authority (a cache or resolver?)".to_owned(),
                |r| format!("referral to {}", display(&r.name)),
            );
        return Outcome::NotAuthoritative(why);
    }
    // With a CNAME at the name, the code speaks of the chain's end (RFC 6604): a CNAME
    // into a name the server knows does not exist comes as NXDOMAIN with the CNAME.
    let at_name = message.answers.iter().any(|r| &r.name == qname);
    if meta.response_code == ResponseCode::NXDomain && !at_name {
        return Outcome::NxDomain;
    }
    let mut seen = Observation::default();
    let mut other = false;
    for record in message.answers.iter().filter(|r| &r.name == qname) {
        seen.ttl = Some(seen.ttl.map_or(record.ttl, |t| t.min(record.ttl)));
        match &record.data {
            RData::CNAME(target) => seen.cname = Some(display(&target.0)),
            RData::TXT(txt) => {
                seen.txt.push(txt_string(&txt.txt_data));
                other = true;
            }
            _ => other = true,
        }
    }
    seen.beside_cname = seen.cname.is_some() && other;
    seen.txt.sort();
    seen.txt.dedup();
    Outcome::Records(seen)
}

/// Turn a query result into an [`Outcome`].
#[must_use]
pub fn outcome(result: &Result<Response, QueryError>, qname: &Name) -> Outcome {
    match result {
        Ok(response) => outcome_of(&response.message, qname),
        Err(e) => Outcome::Failed(e.clone()),
    }
}

/// The status of one address under `rule`. With an open rule (no values, or a CNAME found
/// where TXT was asked for) it is provisional: see [`reconcile`].
#[must_use]
pub fn classify(rule: &HopRule, outcome: &Outcome) -> Status {
    let seen = match outcome {
        Outcome::Records(seen) => seen,
        Outcome::NxDomain => return Status::Nxdomain,
        Outcome::NotAuthoritative(_) => return Status::Lame,
        Outcome::Rcode(ResponseCode::ServFail) => return Status::Servfail,
        Outcome::Rcode(ResponseCode::Refused) => return Status::Refused,
        Outcome::Failed(QueryError::Timeout { .. }) => return Status::Timeout,
        Outcome::Failed(QueryError::Unreachable { .. }) => return Status::Unreachable,
        Outcome::Rcode(_) | Outcome::Failed(QueryError::Failed { .. }) => return Status::Error,
    };
    if let Some(found) = &seen.cname {
        return match rule {
            HopRule::Cname { target } if found != target || seen.beside_cname => Status::Mismatch,
            // A CNAME where TXT was asked for is followed; `reconcile` settles it.
            _ => Status::Match,
        };
    }
    if seen.txt.is_empty() {
        return Status::Missing;
    }
    match rule {
        HopRule::Txt { values } if values.iter().all(|v| seen.txt.contains(v)) => Status::Match,
        _ => Status::Mismatch,
    }
}

/// One address's result, as reports and tables show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeResult {
    /// The server's host name.
    pub server: String,
    /// The address asked.
    pub address: IpAddr,
    /// The verdict.
    pub status: Status,
    /// TXT values served at the name.
    pub values: Vec<String>,
    /// CNAME target served at the name.
    pub cname: Option<String>,
    /// TTL of the records at the name.
    pub ttl: Option<u32>,
    /// The zone's SOA serial on this address.
    pub serial: Option<u32>,
    /// The primary server its SOA names (MNAME): servers of one primary/secondary set share
    /// it, independent primaries (two providers) do not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// How long a resolver may cache "no such record" from this zone: the smaller of the SOA
    /// record's TTL and its MINIMUM (RFC 2308 §5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_ttl: Option<u32>,
    /// Round-trip time in microseconds.
    pub rtt_us: Option<u64>,
    /// Whether the answer came over TCP (truncated over UDP).
    pub tcp: bool,
    /// The server holds other records beside the CNAME at the name.
    pub beside_cname: bool,
    /// More about a failure (the error, the referral).
    pub detail: Option<String>,
}

/// Settle provisional statuses once every address of a hop has answered; returns the CNAME
/// target the hop leads to (the most common one), if it is a CNAME hop.
///
/// - A TXT hop where some address serves a CNAME becomes a CNAME hop: addresses with another
///   target, or with TXT instead, are mismatches.
/// - A TXT hop without expected values requires every value any address serves.
pub fn reconcile(rule: &HopRule, results: &mut [ProbeResult]) -> Option<String> {
    if let HopRule::Cname { target } = rule {
        // Follow what the servers serve (the CA will); nothing served: the expected target,
        // so the report still shows whether the far side is ready.
        return majority_target(results).or_else(|| Some(target.clone()));
    }
    if let Some(target) = majority_target(results) {
        for r in results.iter_mut().filter(|r| r.status == Status::Match) {
            if r.cname.as_deref() != Some(target.as_str()) {
                r.status = Status::Mismatch;
                r.detail.get_or_insert_with(|| match &r.cname {
                    Some(other) => format!("CNAME to {other}, other servers: {target}"),
                    None => format!("TXT where other servers serve a CNAME to {target}"),
                });
            }
        }
        return Some(target);
    }
    if matches!(rule, HopRule::Txt { values } if values.is_empty()) {
        let mut union: Vec<&String> = results.iter().flat_map(|r| &r.values).collect();
        union.sort();
        union.dedup();
        let union: Vec<String> = union.into_iter().cloned().collect();
        for r in results.iter_mut().filter(|r| r.status == Status::Match) {
            if !union.iter().all(|v| r.values.contains(v)) {
                r.status = Status::Mismatch;
                r.detail
                    .get_or_insert_with(|| "lacks values other servers serve".into());
            }
        }
    }
    None
}

/// The CNAME target most addresses serve (ties: the smallest name, for stable output).
fn majority_target(results: &[ProbeResult]) -> Option<String> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for target in results.iter().filter_map(|r| r.cname.as_deref()) {
        match counts.iter_mut().find(|(t, _)| *t == target) {
            Some((_, n)) => *n += 1,
            None => counts.push((target, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    counts.first().map(|(t, _)| (*t).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::OpCode;
    use hickory_proto::rr::rdata::{A, CNAME, TXT};
    use hickory_proto::rr::Record;
    use std::net::SocketAddr;
    use std::time::Duration;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn seen(cname: Option<&str>, txt: &[&str], beside: bool) -> Outcome {
        Outcome::Records(Observation {
            cname: cname.map(str::to_owned),
            txt: txt.iter().map(|v| (*v).to_owned()).collect(),
            ttl: Some(60),
            beside_cname: beside,
        })
    }

    #[test]
    fn statuses_follow_the_rule() {
        let server = SocketAddr::from(([192, 0, 2, 1], 53));
        let cname = HopRule::Cname {
            target: "t.acme.test".into(),
        };
        let txt = HopRule::Txt {
            values: vec!["a".into(), "b".into()],
        };
        let open = HopRule::Txt { values: Vec::new() };
        let timeout = QueryError::Timeout {
            server,
            attempts: 2,
            per_attempt: Duration::from_secs(1),
        };
        let unreachable = QueryError::Unreachable {
            server,
            detail: "refused".into(),
        };
        let broken = QueryError::Failed {
            server,
            detail: "undecodable".into(),
        };
        let cases = [
            (&txt, seen(None, &["a", "b"], false), Status::Match),
            (&txt, seen(None, &["b", "a", "old"], false), Status::Match),
            (&txt, seen(None, &["a"], false), Status::Mismatch),
            (&txt, seen(None, &[], false), Status::Missing),
            (&txt, seen(Some("t.acme.test"), &[], false), Status::Match),
            (&open, seen(None, &["x"], false), Status::Match),
            (&open, seen(None, &[], false), Status::Missing),
            (&cname, seen(Some("t.acme.test"), &[], false), Status::Match),
            (
                &cname,
                seen(Some("t.acme.test"), &["a"], true),
                Status::Mismatch,
            ),
            (
                &cname,
                seen(Some("other.test"), &[], false),
                Status::Mismatch,
            ),
            (&cname, seen(None, &["a"], false), Status::Mismatch),
            (&cname, seen(None, &[], false), Status::Missing),
            (&txt, Outcome::NxDomain, Status::Nxdomain),
            (
                &txt,
                Outcome::NotAuthoritative("referral".into()),
                Status::Lame,
            ),
            (
                &txt,
                Outcome::Rcode(ResponseCode::ServFail),
                Status::Servfail,
            ),
            (&txt, Outcome::Rcode(ResponseCode::Refused), Status::Refused),
            (&txt, Outcome::Rcode(ResponseCode::NotImp), Status::Error),
            (&txt, Outcome::Failed(timeout), Status::Timeout),
            (&txt, Outcome::Failed(unreachable), Status::Unreachable),
            (&txt, Outcome::Failed(broken), Status::Error),
        ];
        for (rule, outcome, want) in cases {
            assert_eq!(classify(rule, &outcome), want, "{rule:?} {outcome:?}");
        }
    }

    #[test]
    fn answers_reduce_to_what_is_at_the_name() {
        let q = name("_acme-challenge.example.test.");
        let txt = |owner: &Name, v: &str| {
            Record::from_rdata(owner.clone(), 30, RData::TXT(TXT::new(vec![v.into()])))
        };
        let cname = Record::from_rdata(q.clone(), 60, RData::CNAME(CNAME(name("T.acme.test."))));
        let target = name("t.acme.test.");
        let message = |rcode: ResponseCode, aa: bool, answers: Vec<Record>| {
            let mut m = Message::response(1, OpCode::Query);
            m.metadata.response_code = rcode;
            m.metadata.authoritative = aa;
            m.add_answers(answers);
            m
        };
        let obs = |cname: Option<&str>, txt: &[&str], ttl: Option<u32>, beside: bool| {
            Outcome::Records(Observation {
                cname: cname.map(str::to_owned),
                txt: txt.iter().map(|v| (*v).to_owned()).collect(),
                ttl,
                beside_cname: beside,
            })
        };
        let a = Record::from_rdata(q.clone(), 60, RData::A(A::new(192, 0, 2, 1)));
        let cases = [
            (
                "values sorted, min ttl",
                message(
                    ResponseCode::NoError,
                    true,
                    vec![txt(&q, "b"), txt(&q, "a")],
                ),
                obs(None, &["a", "b"], Some(30), false),
            ),
            (
                "nodata",
                message(ResponseCode::NoError, true, vec![]),
                obs(None, &[], None, false),
            ),
            (
                "chased target ignored",
                message(
                    ResponseCode::NoError,
                    true,
                    vec![cname.clone(), txt(&target, "x")],
                ),
                obs(Some("t.acme.test"), &[], Some(60), false),
            ),
            (
                "cname into nothing",
                message(ResponseCode::NXDomain, true, vec![cname.clone()]),
                obs(Some("t.acme.test"), &[], Some(60), false),
            ),
            (
                "cname beside txt",
                message(
                    ResponseCode::NoError,
                    true,
                    vec![cname.clone(), txt(&q, "x")],
                ),
                obs(Some("t.acme.test"), &["x"], Some(30), true),
            ),
            (
                "cname beside a",
                message(ResponseCode::NoError, true, vec![cname, a]),
                obs(Some("t.acme.test"), &[], Some(60), true),
            ),
            (
                "nxdomain",
                message(ResponseCode::NXDomain, true, vec![]),
                Outcome::NxDomain,
            ),
            (
                "refused",
                message(ResponseCode::Refused, false, vec![]),
                Outcome::Rcode(ResponseCode::Refused),
            ),
            (
                "cache",
                message(ResponseCode::NoError, false, vec![txt(&q, "a")]),
                Outcome::NotAuthoritative(
                    "answered without authority (a cache or resolver?)".into(),
                ),
            ),
        ];
        for (what, m, want) in cases {
            assert_eq!(outcome_of(&m, &q), want, "{what}");
        }
    }

    fn result(status: Status, cname: Option<&str>, values: &[&str]) -> ProbeResult {
        ProbeResult {
            server: "ns".into(),
            address: [192, 0, 2, 1].into(),
            status,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            cname: cname.map(str::to_owned),
            ttl: None,
            serial: None,
            primary: None,
            negative_ttl: None,
            rtt_us: None,
            tcp: false,
            beside_cname: false,
            detail: None,
        }
    }

    /// (rule, results, statuses after, the hop's CNAME target)
    type Case<'a> = (&'a HopRule, Vec<ProbeResult>, Vec<Status>, Option<&'a str>);

    #[test]
    fn reconciling_settles_open_rules_and_picks_the_path() {
        let open = HopRule::Txt { values: Vec::new() };
        let fixed = HopRule::Txt {
            values: vec!["a".into()],
        };
        let cname = HopRule::Cname {
            target: "t.test".into(),
        };
        let m = Status::Match;
        let cases: Vec<Case> = vec![
            (
                &open,
                vec![result(m, None, &["a", "b"]), result(m, None, &["a"])],
                vec![m, Status::Mismatch],
                None,
            ),
            (
                &open,
                vec![result(m, None, &["a"]), result(Status::Missing, None, &[])],
                vec![m, Status::Missing],
                None,
            ),
            (
                &fixed,
                vec![result(m, None, &["a"]), result(m, None, &["a", "b"])],
                vec![m, m],
                None,
            ),
            (
                &open,
                vec![
                    result(m, Some("t.test"), &[]),
                    result(m, Some("t.test"), &[]),
                    result(m, Some("u.test"), &[]),
                    result(m, None, &["a"]),
                ],
                vec![m, m, Status::Mismatch, Status::Mismatch],
                Some("t.test"),
            ),
            (
                &cname,
                vec![result(Status::Missing, None, &[])],
                vec![Status::Missing],
                Some("t.test"),
            ),
            (
                &cname,
                vec![result(Status::Mismatch, Some("u.test"), &[])],
                vec![Status::Mismatch],
                Some("u.test"),
            ),
        ];
        for (rule, mut results, want, leads_to) in cases {
            let got = reconcile(rule, &mut results);
            let statuses: Vec<Status> = results.iter().map(|r| r.status).collect();
            assert_eq!((statuses, got.as_deref()), (want, leads_to), "{rule:?}");
        }
    }

    #[test]
    fn answer_codes_read_like_dig() {
        let cases = [
            (ResponseCode::NotImp, "NOTIMP"),
            (ResponseCode::Refused, "REFUSED"),
            (ResponseCode::ServFail, "SERVFAIL"),
            (ResponseCode::NotAuth, "NOTAUTH"),
        ];
        for (rcode, want) in cases {
            assert_eq!(rcode_name(rcode), want);
        }
    }
}
