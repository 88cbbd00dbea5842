//! Following referrals: the final answer to a question, asked of the configured resolvers
//! first and then, whenever an answer is a referral, of the servers it names (glue first;
//! glueless ones resolved the same way), like an iterative resolver. Zone discovery uses it
//! so that both recursive resolvers and authoritative servers of a parent zone work as
//! `--resolver`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::probe::rcode_name;
use super::query::Transport;
use super::zone::{display, DiscoveryError};

/// Referrals followed for one question before giving up (a loop, or a very deep tree).
const MAX_REFERRALS: usize = 12;
/// Glueless referrals resolved inside one another before giving up.
const MAX_DEPTH: u8 = 3;
/// When several servers can answer, the next one is asked this long after the previous one
/// (unless an answer came first), so a dead server costs a quarter second, not a timeout.
const STAGGER: Duration = Duration::from_millis(250);

/// A referral: the child zone, its servers as the parent lists them, and glue.
#[derive(Debug, Clone)]
pub(super) struct Delegation {
    /// The child zone.
    pub(super) zone: Name,
    /// Its servers' names.
    pub(super) hosts: Vec<Name>,
    /// Addresses for (some of) them.
    pub(super) glue: Vec<(Name, IpAddr)>,
}

/// The address in an A or AAAA record.
pub(super) fn address_of(record: &Record) -> Option<IpAddr> {
    match &record.data {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
        _ => None,
    }
}

/// The glue (A/AAAA) of a message's additional section.
pub(super) fn glue_of(message: &Message) -> Vec<(Name, IpAddr)> {
    message
        .additionals
        .iter()
        .filter_map(|r| address_of(r).map(|ip| (r.name.to_lowercase(), ip)))
        .collect()
}

/// The delegation in a non-authoritative, answerless NOERROR answer whose authority section
/// names servers for an ancestor of `qname`.
pub(super) fn referral(message: &Message, qname: &Name) -> Option<Delegation> {
    let meta = &message.metadata;
    if meta.response_code != ResponseCode::NoError
        || meta.authoritative
        || !message.answers.is_empty()
    {
        return None;
    }
    let mut zone = None;
    let mut hosts = Vec::new();
    for record in &message.authorities {
        if let RData::NS(ns) = &record.data {
            if record.name.zone_of(qname) {
                zone.get_or_insert_with(|| record.name.to_lowercase());
                hosts.push(ns.0.to_lowercase());
            }
        }
    }
    zone.map(|zone| Delegation {
        zone,
        hosts,
        glue: glue_of(message),
    })
}

/// Asks questions from the resolvers down, following referrals.
#[derive(Debug)]
pub(super) struct Walker {
    transport: Transport,
    resolvers: Vec<SocketAddr>,
}

impl Walker {
    /// Start every question at `resolvers`.
    pub(super) fn new(transport: Transport, resolvers: Vec<SocketAddr>) -> Self {
        Self {
            transport,
            resolvers,
        }
    }

    /// The final answer to `qname`/`rtype`, following referrals from the resolvers down,
    /// plus the last referral seen. `subject` is the name being discovered (for errors).
    pub(super) async fn lookup(
        &self,
        subject: &Name,
        qname: &Name,
        rtype: RecordType,
        depth: u8,
    ) -> Result<(Message, Option<Delegation>), DiscoveryError> {
        let failed = |detail: String| DiscoveryError::Failed {
            name: display(subject),
            detail,
        };
        let mut servers = self.resolvers.clone();
        let mut last: Option<Delegation> = None;
        for _ in 0..MAX_REFERRALS {
            let referred_to = last.as_ref().map(|d| &d.zone);
            let message = self
                .ask_any(subject, &servers, qname, rtype, referred_to)
                .await?;
            let Some(delegation) = referral(&message, qname) else {
                return Ok((message, last));
            };
            let deeper = last.as_ref().map_or(!delegation.zone.is_root(), |prev| {
                prev.zone != delegation.zone && prev.zone.zone_of(&delegation.zone)
            });
            if !deeper {
                return Err(failed(format!(
                    "asking for {} {rtype}, a server sent a referral to {} that does not lead down the tree",
                    display(qname),
                    display(&delegation.zone)
                )));
            }
            servers = self
                .delegation_addresses(subject, &delegation, depth)
                .await?;
            last = Some(delegation);
        }
        Err(failed(format!(
            "more than {MAX_REFERRALS} referrals for {}",
            display(qname)
        )))
    }

    /// The addresses to ask after a referral: glue, or (glueless) the hosts resolved.
    async fn delegation_addresses(
        &self,
        subject: &Name,
        delegation: &Delegation,
        depth: u8,
    ) -> Result<Vec<SocketAddr>, DiscoveryError> {
        let mut ips: Vec<IpAddr> = delegation.glue.iter().map(|(_, ip)| *ip).collect();
        if ips.is_empty() && depth < MAX_DEPTH {
            for host in &delegation.hosts {
                let lookup = Box::pin(self.lookup(subject, host, RecordType::A, depth + 1));
                if let Ok((message, _)) = lookup.await {
                    ips.extend(message.answers.iter().filter_map(address_of));
                }
            }
        }
        if ips.is_empty() {
            return Err(DiscoveryError::Failed {
                name: display(subject),
                detail: format!(
                    "no address found for any server of {}",
                    display(&delegation.zone)
                ),
            });
        }
        Ok(ips
            .into_iter()
            .map(|ip| self.transport.authoritative(ip))
            .collect())
    }

    /// Ask `servers` one after another, [`STAGGER`] apart, and take the first usable answer
    /// (see [`judge`]); the others are cancelled.
    async fn ask_any(
        &self,
        subject: &Name,
        servers: &[SocketAddr],
        qname: &Name,
        rtype: RecordType,
        referred_to: Option<&Name>,
    ) -> Result<Message, DiscoveryError> {
        let from_resolvers = referred_to.is_none();
        let mut racers: FuturesUnordered<_> = servers
            .iter()
            .zip(0_u32..)
            .map(|(server, i)| async move {
                tokio::time::sleep(STAGGER * i).await;
                let answer = self
                    .transport
                    .ask(*server, qname, rtype, from_resolvers)
                    .await;
                (*server, answer)
            })
            .collect();
        let mut problems = Vec::new();
        let mut rejected = None;
        while let Some((server, answer)) = racers.next().await {
            let message = match answer {
                Ok(response) => response.message,
                Err(e) => {
                    problems.push(e.to_string());
                    continue;
                }
            };
            match judge(server, &message, qname, rtype, referred_to) {
                Ok(()) => return Ok(message),
                Err(problem) => problems.push(problem),
            }
            let rcode = message.metadata.response_code;
            if from_resolvers && rejected.is_none() && !matches!(rcode, ResponseCode::ServFail) {
                rejected = Some((server, rcode));
            }
        }
        if let Some((server, rcode)) = rejected {
            return Err(DiscoveryError::Rejected {
                name: display(subject),
                server,
                rcode: rcode_name(rcode),
                qtype: rtype.to_string(),
            });
        }
        let detail = if problems.is_empty() {
            "no server to ask".into()
        } else {
            problems.join("; ")
        };
        Err(DiscoveryError::Failed {
            name: display(subject),
            detail,
        })
    }
}

/// Whether an answer can be used, or what is wrong with it. From the resolvers
/// (`referred_to` is `None`) NOERROR and NXDOMAIN are usable; from the servers of a zone we
/// were referred to, only an authoritative answer or a referral further down (a lame
/// server's upward or sideways referral counts as a failure).
fn judge(
    server: SocketAddr,
    message: &Message,
    qname: &Name,
    rtype: RecordType,
    referred_to: Option<&Name>,
) -> Result<(), String> {
    let rcode = message.metadata.response_code;
    if !matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
        let code = rcode_name(rcode);
        return Err(format!(
            "{server} answered {code} to {} {rtype}",
            display(qname)
        ));
    }
    let Some(zone) = referred_to else {
        return Ok(());
    };
    let deeper = referral(message, qname).is_some_and(|d| d.zone != *zone && zone.zone_of(&d.zone));
    if message.metadata.authoritative || deeper {
        Ok(())
    } else {
        Err(format!(
            "{server} is not authoritative for {} (lame)",
            display(qname)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::OpCode;
    use hickory_proto::rr::rdata::{A, NS, TXT};

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn message(aa: bool, rcode: ResponseCode) -> Message {
        let mut m = Message::response(1, OpCode::Query);
        m.metadata.authoritative = aa;
        m.metadata.response_code = rcode;
        m
    }

    #[test]
    fn referrals_are_answerless_non_authoritative_ns_sets_above_the_name() {
        let q = name("_acme-challenge.example.test.");
        let ns = |owner: &str, host: &str| {
            Record::from_rdata(name(owner), 60, RData::NS(NS(name(host))))
        };
        let mut good = message(false, ResponseCode::NoError);
        good.add_authority(ns("example.test.", "ns1.example.test."));
        good.add_authority(ns("example.test.", "ns2.example.test."));
        good.add_additional(Record::from_rdata(
            name("ns1.example.test."),
            60,
            RData::A(A::new(127, 0, 9, 2)),
        ));
        let d = referral(&good, &q).unwrap();
        assert_eq!(display(&d.zone), "example.test");
        assert_eq!(d.hosts.len(), 2);
        assert_eq!(
            d.glue,
            vec![(name("ns1.example.test."), IpAddr::from([127, 0, 9, 2]))]
        );

        let mut authoritative = good.clone();
        authoritative.metadata.authoritative = true;
        let mut answered = good.clone();
        answered.add_answer(Record::from_rdata(
            q.clone(),
            60,
            RData::TXT(TXT::new(vec!["v".into()])),
        ));
        let mut sideways = message(false, ResponseCode::NoError);
        sideways.add_authority(ns("other.test.", "ns.other.test."));
        let mut refused = good.clone();
        refused.metadata.response_code = ResponseCode::Refused;
        for (what, m) in [
            ("authoritative", authoritative),
            ("has an answer", answered),
            ("not above the name", sideways),
            ("refused", refused),
        ] {
            assert!(referral(&m, &q).is_none(), "{what}");
        }
    }

    #[test]
    fn answers_are_judged_by_where_they_come_from() {
        let q = name("_acme-challenge.example.test.");
        let server = SocketAddr::from(([192, 0, 2, 1], 53));
        let zone = name("example.test.");
        let ns = |owner: &str| Record::from_rdata(name(owner), 60, RData::NS(NS(name("ns.x."))));
        let mut down = message(false, ResponseCode::NoError);
        down.add_authority(ns("_acme-challenge.example.test."));
        let mut same = message(false, ResponseCode::NoError);
        same.add_authority(ns("example.test."));
        let cases = [
            (
                "resolver nodata",
                message(false, ResponseCode::NoError),
                None,
                true,
            ),
            (
                "resolver nxdomain",
                message(false, ResponseCode::NXDomain),
                None,
                true,
            ),
            (
                "resolver notimp",
                message(false, ResponseCode::NotImp),
                None,
                false,
            ),
            (
                "authoritative",
                message(true, ResponseCode::NoError),
                Some(&zone),
                true,
            ),
            ("referral further down", down, Some(&zone), true),
            ("lame: same referral again", same, Some(&zone), false),
            (
                "lame: a cache",
                message(false, ResponseCode::NoError),
                Some(&zone),
                false,
            ),
            (
                "refused",
                message(true, ResponseCode::Refused),
                Some(&zone),
                false,
            ),
        ];
        for (what, m, referred_to, usable) in cases {
            let got = judge(server, &m, &q, RecordType::SOA, referred_to);
            assert_eq!(got.is_ok(), usable, "{what}: {got:?}");
        }
    }
}
