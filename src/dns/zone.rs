//! Zone discovery: the zone a name lives in (its zone cut) and every address of every server
//! authoritative for that zone, learned through the configured resolvers.
//!
//! The resolvers may be recursive (one SOA question shows the cut in the answer's authority
//! section) or authoritative for a parent zone (they answer with referrals, which we follow
//! down, like an iterative resolver would, using glue first).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde::Serialize;
use tokio::sync::OnceCell;

use super::delegation::{self, Listing, ParentCache};
use super::query::Transport;
use super::referral::{address_of, glue_of, Delegation, Walker};

/// One address of a name server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerAddress {
    /// The address.
    pub ip: IpAddr,
    /// Learned from the parent's glue (rather than by resolving the server's name).
    pub glue: bool,
}

/// One server authoritative for a zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameServer {
    /// Its host name (the NS target).
    pub host: String,
    /// Every IPv4 and IPv6 address, glue first.
    pub addresses: Vec<ServerAddress>,
    /// Why some or all addresses could not be learned.
    pub problem: Option<String>,
    /// Where it is listed (parent's referral, the zone's own NS RRset) and its glue.
    pub listing: Listing,
}

/// A zone and its authoritative servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Zone {
    /// The zone apex, without the trailing dot.
    pub apex: String,
    /// The union of the parent's delegation and the zone's own NS records.
    pub servers: Vec<NameServer>,
}

/// Why the zone of a name could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// A configured resolver refuses the questions discovery needs: retrying will not help.
    #[error("zone discovery for {name} failed: {server} answered {rcode} to {qtype}; use --propagation recursive if your resolvers cannot answer SOA/NS questions (a test DNS server, a filtering forwarder) or only they see the records (split horizon)")]
    Rejected {
        /// The name whose zone was sought.
        name: String,
        /// The resolver.
        server: SocketAddr,
        /// Its answer code.
        rcode: String,
        /// The question type.
        qtype: String,
    },
    /// No usable answer (timeouts, SERVFAIL, lame servers); may pass.
    #[error("zone discovery for {name} failed: {detail}")]
    Failed {
        /// The name whose zone was sought.
        name: String,
        /// What happened, per server.
        detail: String,
    },
    /// The resolvers say the name does not exist anywhere below the root (its top-level
    /// domain is not delegated): no server to ask, and waiting will not change that.
    #[error("{name} does not exist: the resolvers answer that no zone below the root holds it (NXDOMAIN); check the spelling of the name and that its domain is registered and delegated")]
    NoSuchName {
        /// The name whose zone was sought.
        name: String,
    },
    /// The zone has no NS records.
    #[error("zone discovery for {name} failed: zone {zone} has no NS records")]
    NoNameServers {
        /// The name whose zone was sought.
        name: String,
        /// The zone.
        zone: String,
    },
}

impl DiscoveryError {
    /// Whether waiting cannot change the outcome (the resolvers reject the questions).
    #[must_use]
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            DiscoveryError::Rejected { .. } | DiscoveryError::NoSuchName { .. }
        )
    }
}

/// `example.com` for `example.com.` (and `.` for the root): how names are shown.
#[must_use]
pub fn display(name: &Name) -> String {
    let text = name.to_ascii().to_ascii_lowercase();
    match text.trim_end_matches('.') {
        "" => ".".to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

/// Where the SOA question for a candidate name landed.
enum Cut {
    /// The candidate is a zone apex.
    Apex,
    /// The candidate is inside this zone.
    Inside(Name),
    /// Not known from this answer (a CNAME, or no SOA in the authority section): go up.
    Unknown,
}

fn cut_of(message: &Message, candidate: &Name) -> Cut {
    let at_candidate = |r: &&Record| &r.name == candidate;
    for record in message.answers.iter().filter(at_candidate) {
        match record.data {
            RData::SOA(_) => return Cut::Apex,
            RData::CNAME(_) => return Cut::Unknown,
            _ => {}
        }
    }
    message
        .authorities
        .iter()
        .find(|r| matches!(r.data, RData::SOA(_)) && r.name.zone_of(candidate))
        .map_or(Cut::Unknown, |r| Cut::Inside(r.name.to_lowercase()))
}

/// One zone's servers, found by whichever name needs them first.
type ZoneCell = Arc<OnceCell<Result<Zone, DiscoveryError>>>;

/// Finds zones; remembers each zone's servers for its own lifetime (one check round), so 100
/// names in one zone resolve the servers once.
#[derive(Debug)]
pub struct Discovery {
    walker: Walker,
    transport: Transport,
    zones: Mutex<HashMap<Name, ZoneCell>>,
    parents: ParentCache,
}

impl Discovery {
    /// Discover through `resolvers`, asking with `transport`.
    #[must_use]
    pub fn new(transport: Transport, resolvers: Vec<SocketAddr>) -> Self {
        Self {
            walker: Walker::new(transport.clone(), resolvers),
            transport,
            zones: Mutex::new(HashMap::new()),
            parents: ParentCache::default(),
        }
    }

    /// Share the parent zones' server addresses with other rounds (they do not change while
    /// certpilot waits).
    #[must_use]
    pub(crate) fn with_parents(mut self, parents: ParentCache) -> Self {
        self.parents = parents;
        self
    }

    pub(super) fn transport(&self) -> &Transport {
        &self.transport
    }

    pub(super) fn walker(&self) -> &Walker {
        &self.walker
    }

    pub(super) fn parents(&self) -> &ParentCache {
        &self.parents
    }

    /// The zone `name` belongs to, with every address of every server.
    ///
    /// # Errors
    /// The resolvers reject the questions, or no server gives a usable answer.
    pub async fn zone_of(&self, name: &Name) -> Result<Zone, DiscoveryError> {
        let (apex, delegation) = self.find_cut(name).await?;
        let cell = {
            let mut zones = self
                .zones
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(zones.entry(apex.clone()).or_default())
        };
        cell.get_or_init(|| self.servers_of(name, apex, delegation))
            .await
            .clone()
    }

    /// Walk up from `name` until an SOA shows where the zone starts.
    pub(super) async fn find_cut(
        &self,
        name: &Name,
    ) -> Result<(Name, Option<Delegation>), DiscoveryError> {
        let mut candidate = name.to_lowercase();
        loop {
            let (message, delegation) = self
                .walker
                .lookup(name, &candidate, RecordType::SOA, 0)
                .await?;
            let apex = match cut_of(&message, &candidate) {
                Cut::Apex => candidate.clone(),
                Cut::Inside(apex) => apex,
                Cut::Unknown if candidate.is_root() => {
                    return Err(DiscoveryError::Failed {
                        name: display(name),
                        detail: "no SOA record found up to the root".into(),
                    })
                }
                Cut::Unknown => {
                    candidate = candidate.base_name();
                    continue;
                }
            };
            if apex.is_root() && !name.is_root() {
                return Err(DiscoveryError::NoSuchName {
                    name: display(name),
                });
            }
            return Ok((apex.clone(), delegation.filter(|d| d.zone == apex)));
        }
    }

    /// The zone's servers: the union of the parent's delegation (asked of the parent's
    /// servers directly), the zone's NS records as the resolvers see them and as its own
    /// servers serve them, each with every address and where it is listed.
    async fn servers_of(
        &self,
        subject: &Name,
        apex: Name,
        delegation: Option<Delegation>,
    ) -> Result<Zone, DiscoveryError> {
        let (lookup, parent) = tokio::join!(
            self.walker.lookup(subject, &apex, RecordType::NS, 0),
            self.parent_referral(subject, &apex)
        );
        let (message, seen) = lookup?;
        let delegation = delegation.or(seen.filter(|d| d.zone == apex));
        let mut hosts: Vec<Name> = message
            .answers
            .iter()
            .filter(|r| r.name == apex)
            .filter_map(|r| match &r.data {
                RData::NS(ns) => Some(ns.0.to_lowercase()),
                _ => None,
            })
            .collect();
        let mut glue = glue_of(&message);
        for d in [delegation, parent.clone()].into_iter().flatten() {
            hosts.extend(d.hosts);
            // The parent's glue is what resolvers use first.
            glue.splice(0..0, d.glue);
        }
        dedup(&mut hosts);
        if hosts.is_empty() {
            return Err(DiscoveryError::NoNameServers {
                name: display(subject),
                zone: display(&apex),
            });
        }
        let found = hosts.iter().map(|host| self.server(subject, host, &glue));
        let mut servers = futures::future::join_all(found).await;
        let child = self.child_ns(&apex, &servers).await;
        // Servers only the zone itself lists, unknown to the parent and the resolvers.
        for host in child.iter().flatten() {
            if !hosts.contains(host) {
                servers.push(self.server(subject, host, &glue).await);
                hosts.push(host.clone());
            }
        }
        delegation::mark(&mut servers, &hosts, parent.as_ref(), child.as_deref());
        Ok(Zone {
            apex: display(&apex),
            servers,
        })
    }

    /// One server: glue first, then its A and AAAA records.
    pub(super) async fn server(
        &self,
        subject: &Name,
        host: &Name,
        glue: &[(Name, IpAddr)],
    ) -> NameServer {
        let mut addresses: Vec<ServerAddress> = Vec::new();
        for (_, ip) in glue.iter().filter(|(name, _)| name == host) {
            // The parent's and the zone's own additional sections often repeat the glue.
            if !addresses.iter().any(|a| a.ip == *ip) {
                addresses.push(ServerAddress {
                    ip: *ip,
                    glue: true,
                });
            }
        }
        let (v4, v6) = tokio::join!(
            self.walker.lookup(subject, host, RecordType::A, 0),
            self.walker.lookup(subject, host, RecordType::AAAA, 0)
        );
        let mut problems = Vec::new();
        let mut own = Vec::new();
        for result in [v4, v6] {
            match result {
                Ok((message, _)) => {
                    for ip in message.answers.iter().filter_map(address_of) {
                        own.push(ip);
                        if !addresses.iter().any(|a| a.ip == ip) {
                            addresses.push(ServerAddress { ip, glue: false });
                        }
                    }
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
        let problem = if addresses.is_empty() {
            problems.push("no address".into());
            Some(problems.join("; "))
        } else {
            (!problems.is_empty()).then(|| problems.join("; "))
        };
        NameServer {
            host: display(host),
            addresses,
            problem,
            listing: Listing {
                own,
                ..Listing::default()
            },
        }
    }
}

fn dedup(hosts: &mut Vec<Name>) {
    let mut seen = Vec::with_capacity(hosts.len());
    hosts.retain(|h| {
        let fresh = !seen.contains(h);
        if fresh {
            seen.push(h.clone());
        }
        fresh
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{OpCode, ResponseCode};
    use hickory_proto::rr::rdata::{CNAME, SOA};

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn soa(zone: &str) -> Record {
        let data = SOA::new(name("ns.x."), name("h.x."), 1, 60, 60, 600, 60);
        Record::from_rdata(name(zone), 60, RData::SOA(data))
    }

    fn message(aa: bool, rcode: ResponseCode) -> Message {
        let mut m = Message::response(1, OpCode::Query);
        m.metadata.authoritative = aa;
        m.metadata.response_code = rcode;
        m
    }

    #[test]
    fn the_cut_is_read_from_answers_and_authority() {
        let q = name("_acme-challenge.www.example.test.");
        let mut apex = message(true, ResponseCode::NoError);
        apex.add_answer(soa("_acme-challenge.www.example.test."));
        let mut nodata = message(true, ResponseCode::NoError);
        nodata.add_authority(soa("example.test."));
        let mut nx = message(false, ResponseCode::NXDomain);
        nx.add_authority(soa("test."));
        let mut unrelated = message(true, ResponseCode::NoError);
        unrelated.add_authority(soa("other.test."));
        let mut cname = message(false, ResponseCode::NoError);
        cname.add_answer(Record::from_rdata(
            q.clone(),
            60,
            RData::CNAME(CNAME(name("x.acme.test."))),
        ));
        cname.add_authority(soa("acme.test."));
        let cases = [
            ("apex", apex, Some("_acme-challenge.www.example.test")),
            ("nodata", nodata, Some("example.test")),
            ("nxdomain", nx, Some("test")),
            ("unrelated soa", unrelated, None),
            ("cname owner is never an apex", cname, None),
        ];
        for (what, m, want) in cases {
            let got = match cut_of(&m, &q) {
                Cut::Apex => Some(display(&q)),
                Cut::Inside(z) => Some(display(&z)),
                Cut::Unknown => None,
            };
            assert_eq!(got.as_deref(), want, "{what}");
        }
    }

    #[test]
    fn names_display_without_the_root_dot() {
        for (input, want) in [
            ("Example.TEST.", "example.test"),
            (".", "."),
            ("a.b", "a.b"),
        ] {
            assert_eq!(display(&name(input)), want);
        }
    }
}
