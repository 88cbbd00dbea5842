//! The one-time records a self-hosted acme-dns zone needs in its parent zone (Kalm's flow):
//! the NS delegation of the challenge zone and the address of its nameserver, and a check of
//! each on every address of the servers that must serve it.
//!
//! Building the expected records ([`parent_records`]), reading an answer ([`values_in`]) and
//! judging the answers ([`evaluate`]) are pure; [`check`] only asks the questions.

use std::net::IpAddr;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, RecordType};

use crate::dns::propagation::ProberError;
use crate::dns::query::{QueryOptions, Transport};
use crate::dns::zone::{display, Discovery, DiscoveryError, Zone};
use crate::dns::Prober;
use crate::domain::names;

/// One record to create once in the parent zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentRecord {
    /// Owner name, without the trailing dot.
    pub owner: String,
    /// `NS`, `A` or `AAAA`.
    pub rtype: &'static str,
    /// The NS target (without the trailing dot) or the address.
    pub value: String,
}

impl ParentRecord {
    /// The record as an absolute zone-file line.
    #[must_use]
    pub fn zone_line(&self) -> String {
        let value = if self.rtype == "NS" {
            format!("{}.", self.value)
        } else {
            self.value.clone()
        };
        format!("{}. IN {} {value}", self.owner, self.rtype)
    }

    fn record_type(&self) -> RecordType {
        match self.rtype {
            "NS" => RecordType::NS,
            "AAAA" => RecordType::AAAA,
            _ => RecordType::A,
        }
    }
}

/// The records that delegate `zone` to `nameserver` at `address`: the NS first, then the
/// nameserver's address (glue when the nameserver is inside the zone).
///
/// # Errors
/// A name that is not a valid host name, or a nameserver that is the zone itself.
pub fn parent_records(
    zone: &str,
    nameserver: &str,
    address: IpAddr,
) -> Result<Vec<ParentRecord>, String> {
    let zone = names::normalize(zone).map_err(|e| format!("zone: {e}"))?;
    let host = names::normalize(nameserver).map_err(|e| format!("nameserver: {e}"))?;
    if !zone.contains('.') {
        return Err(format!(
            "zone: {zone} is a top-level domain; pick a zone below yours, e.g. acme.example.com"
        ));
    }
    if host == zone {
        return Err(format!(
            "nameserver: use a host name such as ns1.{zone}, not the zone itself"
        ));
    }
    let rtype = if address.is_ipv4() { "A" } else { "AAAA" };
    Ok(vec![
        ParentRecord {
            owner: zone,
            rtype: "NS",
            value: host.clone(),
        },
        ParentRecord {
            owner: host,
            rtype,
            value: address.to_string(),
        },
    ])
}

/// What one server address said about one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The expected value is served.
    Served,
    /// Nothing of the kind is served.
    Missing,
    /// Other values are served.
    Wrong(Vec<String>),
    /// No usable answer.
    Failed(String),
}

/// One answer, placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The server's host name.
    pub server: String,
    /// The address asked.
    pub address: IpAddr,
    /// What it means for the record.
    pub verdict: Verdict,
}

/// One record and what every asked address serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordCheck {
    /// The record.
    pub record: ParentRecord,
    /// The zone whose servers were asked.
    pub zone: String,
    /// One answer per address.
    pub answers: Vec<Answer>,
}

impl RecordCheck {
    /// Whether every asked address serves the record.
    #[must_use]
    pub fn ok(&self) -> bool {
        !self.answers.is_empty() && self.answers.iter().all(|a| a.verdict == Verdict::Served)
    }

    /// (serving, asked) addresses.
    #[must_use]
    pub fn counts(&self) -> (usize, usize) {
        let served = self
            .answers
            .iter()
            .filter(|a| a.verdict == Verdict::Served)
            .count();
        (served, self.answers.len())
    }

    /// Where the record stands, in a few words: who serves it, else the first address that
    /// does not and why.
    #[must_use]
    pub fn summary(&self) -> String {
        let (served, all) = self.counts();
        let first_bad = self.answers.iter().find(|a| a.verdict != Verdict::Served);
        match first_bad {
            None if all > 0 => format!("served by {served}/{all} servers of {}", self.zone),
            None => format!("no server of {} to ask", self.zone),
            Some(answer) => {
                let at = format!("{} {}", answer.server, answer.address);
                let what = match &answer.verdict {
                    Verdict::Missing => format!("missing at {at}"),
                    Verdict::Wrong(values) => format!("{at} serves {}", values.join(", ")),
                    Verdict::Failed(reason) => format!("{at}: {reason}"),
                    Verdict::Served => String::new(),
                };
                format!("{served}/{all} · {what}")
            }
        }
    }
}

/// The values of `owner`/`rtype` in an answer: from the answer section (an authoritative
/// answer) or, for a referral, from the authority section (NS) and the glue (A/AAAA).
#[must_use]
pub fn values_in(message: &Message, owner: &Name, rtype: RecordType) -> Vec<String> {
    let owner = owner.to_lowercase();
    let sections = message
        .answers
        .iter()
        .chain(&message.authorities)
        .chain(&message.additionals);
    let mut values: Vec<String> = sections
        .filter(|r| r.name.to_lowercase() == owner && r.record_type() == rtype)
        .filter_map(|r| match &r.data {
            RData::NS(ns) => Some(display(&ns.0)),
            RData::A(a) => Some(a.0.to_string()),
            RData::AAAA(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect();
    values.sort();
    values.dedup();
    values
}

/// Judge one address's values (or why it gave none) against the record.
#[must_use]
pub fn evaluate(record: &ParentRecord, seen: &Result<Vec<String>, String>) -> Verdict {
    match seen {
        Err(reason) => Verdict::Failed(reason.clone()),
        Ok(values) if values.is_empty() => Verdict::Missing,
        Ok(values) if values.iter().any(|v| v.eq_ignore_ascii_case(&record.value)) => {
            Verdict::Served
        }
        Ok(values) => Verdict::Wrong(values.clone()),
    }
}

fn name(text: &str) -> Result<Name, String> {
    Name::from_ascii(format!("{text}.")).map_err(|e| format!("{text}: {e}"))
}

/// Why the delegating records could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum ParentError {
    /// No usable resolver.
    #[error(transparent)]
    Resolver(#[from] ProberError),
    /// A record's owner is not a DNS name.
    #[error("{0}")]
    Name(String),
    /// The zone that must serve a record could not be found.
    #[error(transparent)]
    Zone(#[from] DiscoveryError),
}

/// Check `records` (from [`parent_records`]) on every address of the servers that must
/// serve them: the parent zone's for the NS and for a nameserver inside the parent zone, the
/// nameserver's own zone's otherwise. The parent zone is found through `resolvers`.
///
/// # Errors
/// A bad resolver, or the parent zone cannot be found.
pub async fn check(
    resolvers: &[String],
    records: &[ParentRecord],
) -> Result<Vec<RecordCheck>, ParentError> {
    let resolvers = Prober::new(resolvers)?.resolvers().to_vec();
    let transport = Transport::new(QueryOptions::default());
    let discovery = Discovery::new(transport.clone(), resolvers);
    let mut checks = Vec::new();
    let mut parent: Option<Zone> = None;
    for record in records {
        let owner = name(&record.owner).map_err(ParentError::Name)?;
        let zone = match &parent {
            Some(zone) if record.rtype != "NS" && !under(&record.owner, &zone.apex) => {
                discovery.zone_of(&owner).await?
            }
            Some(zone) => zone.clone(),
            None => {
                let found = discovery.zone_of(&owner.base_name()).await?;
                parent = Some(found.clone());
                found
            }
        };
        let answers = ask_all(&transport, &zone, &owner, record).await;
        checks.push(RecordCheck {
            record: record.clone(),
            zone: zone.apex.clone(),
            answers,
        });
    }
    Ok(checks)
}

fn under(name: &str, apex: &str) -> bool {
    name == apex || name.ends_with(&format!(".{apex}"))
}

async fn ask_all(
    transport: &Transport,
    zone: &Zone,
    owner: &Name,
    record: &ParentRecord,
) -> Vec<Answer> {
    let rtype = record.record_type();
    let asks = zone.servers.iter().flat_map(|server| {
        server.addresses.iter().map(move |address| async move {
            let asked = transport.authoritative(address.ip);
            let seen = transport
                .ask(asked, owner, rtype, false)
                .await
                .map(|response| values_in(&response.message, owner, rtype))
                .map_err(|e| e.reason());
            Answer {
                server: server.host.clone(),
                address: address.ip,
                verdict: evaluate(record, &seen),
            }
        })
    });
    futures::future::join_all(asks).await
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::str::FromStr;

    use hickory_proto::rr::rdata::{A, NS};
    use hickory_proto::rr::Record;

    use super::*;

    #[test]
    fn records_to_create_in_the_parent() {
        let records = parent_records(
            "ACME.example.com.",
            "ns1.acme.example.com",
            IpAddr::from([203, 0, 113, 5]),
        )
        .unwrap();
        let lines: Vec<String> = records.iter().map(ParentRecord::zone_line).collect();
        assert_eq!(
            lines,
            [
                "acme.example.com. IN NS ns1.acme.example.com.",
                "ns1.acme.example.com. IN A 203.0.113.5",
            ]
        );
        let v6 = parent_records(
            "acme.example.com",
            "ns.example.net",
            "2001:db8::5".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(v6[1].zone_line(), "ns.example.net. IN AAAA 2001:db8::5");
        let cases = [
            ("com", "ns1.com", "top-level"),
            (
                "acme.example.com",
                "acme.example.com",
                "not the zone itself",
            ),
            ("acme..example.com", "ns1.example.com", "zone:"),
            ("acme.example.com", "ns 1.example.com", "nameserver:"),
        ];
        for (zone, host, needle) in cases {
            let err = parent_records(zone, host, IpAddr::from([192, 0, 2, 1])).unwrap_err();
            assert!(err.contains(needle), "{zone} {host}: {err}");
        }
    }

    fn message(
        answers: Vec<Record>,
        authorities: Vec<Record>,
        additionals: Vec<Record>,
    ) -> Message {
        let mut message = Message::response(1, hickory_proto::op::OpCode::Query);
        message.answers = answers;
        message.authorities = authorities;
        message.additionals = additionals;
        message
    }

    fn ns(owner: &str, target: &str) -> Record {
        Record::from_rdata(
            Name::from_str(owner).unwrap(),
            60,
            RData::NS(NS(Name::from_str(target).unwrap())),
        )
    }

    fn a(owner: &str, ip: [u8; 4]) -> Record {
        Record::from_rdata(
            Name::from_str(owner).unwrap(),
            60,
            RData::A(A(Ipv4Addr::from(ip))),
        )
    }

    #[test]
    fn values_come_from_answers_referrals_and_glue() {
        let zone = Name::from_str("acme.example.com.").unwrap();
        let host = Name::from_str("ns1.acme.example.com.").unwrap();
        let referral = message(
            vec![],
            vec![ns("acme.example.com.", "NS1.acme.example.com.")],
            vec![a("ns1.acme.example.com.", [203, 0, 113, 5])],
        );
        assert_eq!(
            values_in(&referral, &zone, RecordType::NS),
            ["ns1.acme.example.com"]
        );
        assert_eq!(values_in(&referral, &host, RecordType::A), ["203.0.113.5"]);
        let answer = message(
            vec![a("NS1.acme.example.com.", [203, 0, 113, 6])],
            vec![],
            vec![],
        );
        assert_eq!(values_in(&answer, &host, RecordType::A), ["203.0.113.6"]);
        let nxdomain = message(vec![], vec![], vec![]);
        assert!(values_in(&nxdomain, &zone, RecordType::NS).is_empty());
        let other = message(vec![], vec![ns("example.com.", "ns.example.com.")], vec![]);
        assert!(values_in(&other, &zone, RecordType::NS).is_empty());
    }

    #[test]
    fn verdicts_per_address() {
        let record = ParentRecord {
            owner: "acme.example.com".into(),
            rtype: "NS",
            value: "ns1.acme.example.com".into(),
        };
        let cases = [
            (Ok(vec!["ns1.acme.example.com".to_owned()]), Verdict::Served),
            (
                Ok(vec!["NS1.acme.example.com".to_owned(), "ns2.x".to_owned()]),
                Verdict::Served,
            ),
            (Ok(vec![]), Verdict::Missing),
            (
                Ok(vec!["ns.other.net".to_owned()]),
                Verdict::Wrong(vec!["ns.other.net".to_owned()]),
            ),
            (
                Err("no answer".to_owned()),
                Verdict::Failed("no answer".to_owned()),
            ),
        ];
        for (seen, verdict) in cases {
            assert_eq!(evaluate(&record, &seen), verdict, "{seen:?}");
        }
        let answer = |verdict| Answer {
            server: "ns.example.com".into(),
            address: IpAddr::from([192, 0, 2, 1]),
            verdict,
        };
        let mut check = RecordCheck {
            record,
            zone: "example.com".into(),
            answers: vec![],
        };
        assert!(!check.ok(), "nobody asked is not ok");
        check.answers = vec![answer(Verdict::Served), answer(Verdict::Missing)];
        assert_eq!((check.ok(), check.counts()), (false, (1, 2)));
        assert_eq!(check.summary(), "1/2 · missing at ns.example.com 192.0.2.1");
        check.answers = vec![answer(Verdict::Wrong(vec!["ns.other.net".into()]))];
        assert_eq!(
            check.summary(),
            "0/1 · ns.example.com 192.0.2.1 serves ns.other.net"
        );
        check.answers = vec![answer(Verdict::Served), answer(Verdict::Served)];
        assert_eq!((check.ok(), check.counts()), (true, (2, 2)));
        assert_eq!(check.summary(), "served by 2/2 servers of example.com");
    }
}
