//! One propagation check round: for every expected name, discover its zone, ask every
//! address of every authoritative server at once, follow the CNAME path into other zones,
//! and report each answer as it arrives.
//!
//! ```text
//! owner ──zone_of──▶ example.test: ns1 {v4,v6}, ns2 {v4} ──TXT? every address──▶ CNAME x.acme.test
//!   x.acme.test ──zone_of──▶ acme.test: ns {v4} ──TXT? every address──▶ values
//! ```

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::sync::{mpsc, OnceCell};

use super::delegation::ParentCache;
use super::expect::Expectation;
use super::hints::{hop_hints, report_hints, Hint};
use super::probe::{self, HopRule, Outcome, ProbeResult, Status};
use super::query::{QueryOptions, Transport};
use super::report::{HopReport, NameReport, ProbeEvent, PropagationReport};
use super::visibility::parse_resolver;
use super::zone::{display, Discovery, Zone};

/// CNAME hops followed before the path is called a loop or a mistake.
const MAX_HOPS: usize = 8;

/// Why a prober could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProberError {
    /// A `--resolver` value is not `IP` or `IP:PORT`.
    #[error("resolver {0:?} is not an IP address or IP:PORT")]
    BadResolver(String),
    /// No resolver given and none in the system configuration.
    #[error("no DNS resolver: pass --resolver ADDR ({0})")]
    NoResolver(String),
}

/// Checks propagation through direct questions to every authoritative address.
#[derive(Debug, Clone)]
pub struct Prober {
    resolvers: Vec<SocketAddr>,
    options: QueryOptions,
    parents: ParentCache,
    ignored: Vec<String>,
}

impl Prober {
    /// Discover zones through `resolvers` (`IP[:PORT]`), or the system's when empty.
    ///
    /// # Errors
    /// A resolver is not an address, or none is given and the system lists none.
    pub fn new(resolvers: &[String]) -> Result<Self, ProberError> {
        let resolvers = if resolvers.is_empty() {
            system_resolvers()?
        } else {
            resolvers
                .iter()
                .map(|text| {
                    parse_resolver(text).map_err(|_| ProberError::BadResolver(text.clone()))
                })
                .collect::<Result<_, _>>()?
        };
        Ok(Self {
            resolvers,
            options: QueryOptions::default(),
            parents: ParentCache::default(),
            ignored: Vec::new(),
        })
    }

    /// Use other timeouts.
    #[must_use]
    pub fn with_options(mut self, options: QueryOptions) -> Self {
        self.options = options;
        self
    }

    /// Leave these servers (host names or addresses) out of the verdict: an operator's
    /// choice to proceed without a server that is down, named in a hint every round.
    #[must_use]
    pub fn ignoring(mut self, servers: &[String]) -> Self {
        self.ignored = servers
            .iter()
            .map(|s| s.trim().trim_end_matches('.').to_ascii_lowercase())
            .collect();
        self
    }

    /// Ask authoritative servers on `port` (53 but in a sandbox; see
    /// `settings.authoritative_port`).
    #[must_use]
    pub fn on_port(mut self, port: u16) -> Self {
        self.options.port = port;
        self
    }

    /// Its query timeouts.
    #[must_use]
    pub fn options(&self) -> QueryOptions {
        self.options
    }

    /// The resolvers discovery starts from.
    #[must_use]
    pub fn resolvers(&self) -> &[SocketAddr] {
        &self.resolvers
    }

    /// One round over `expectations`; the whole report at the end.
    pub async fn check(&self, expectations: &[Expectation]) -> PropagationReport {
        self.run(expectations, None).await
    }

    /// One round, sending every discovery and answer to `events` as it happens (a closed
    /// receiver is fine: the round goes on), and the whole report at the end.
    pub async fn check_streaming(
        &self,
        expectations: &[Expectation],
        events: &mpsc::Sender<ProbeEvent>,
    ) -> PropagationReport {
        self.run(expectations, Some(events)).await
    }

    async fn run(
        &self,
        expectations: &[Expectation],
        events: Option<&mpsc::Sender<ProbeEvent>>,
    ) -> PropagationReport {
        let started = Instant::now();
        let transport = Transport::new(self.options);
        let round = Round {
            discovery: Discovery::new(transport.clone(), self.resolvers.clone())
                .with_parents(self.parents.clone()),
            transport,
            serials: Mutex::new(HashMap::new()),
            events,
            ignored: &self.ignored,
        };
        let names =
            futures::future::join_all(expectations.iter().map(|e| round.check_name(e))).await;
        let hints = report_hints(&names);
        let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        PropagationReport::new(names, hints, round.transport.sent(), elapsed)
    }
}

/// The system's resolvers (`/etc/resolv.conf` on Unix).
fn system_resolvers() -> Result<Vec<SocketAddr>, ProberError> {
    let (config, _) = hickory_resolver::system_conf::read_system_conf()
        .map_err(|e| ProberError::NoResolver(e.to_string()))?;
    let servers: Vec<SocketAddr> = config
        .name_servers()
        .iter()
        .map(|ns| {
            let port = ns.connections.first().map_or(53, |c| c.port);
            SocketAddr::new(ns.ip, port)
        })
        .collect();
    if servers.is_empty() {
        return Err(ProberError::NoResolver("the system lists none".into()));
    }
    Ok(servers)
}

/// One (zone, address)'s SOA serial, asked by whichever name needs it first.
type SerialCell = Arc<OnceCell<Option<Soa>>>;

/// What one address's SOA for the zone says: serial, primary (MNAME), negative TTL.
#[derive(Debug, Clone)]
struct Soa {
    serial: u32,
    primary: String,
    negative_ttl: u32,
}

/// State shared by the names of one round: the transport (and its question count), the
/// zones found, and the SOA serial of each (zone, address), asked once.
struct Round<'a> {
    transport: Transport,
    discovery: Discovery,
    serials: Mutex<HashMap<(Name, IpAddr), SerialCell>>,
    events: Option<&'a mpsc::Sender<ProbeEvent>>,
    ignored: &'a [String],
}

fn fqdn(name: &str) -> Option<Name> {
    Name::from_ascii(format!("{}.", name.trim_end_matches('.'))).ok()
}

impl Round<'_> {
    async fn emit(&self, event: ProbeEvent) {
        if let Some(events) = self.events {
            // The viewer may have gone; the round still owes its caller a report.
            let _ = events.send(event).await;
        }
    }

    /// Follow one owner's path to its end.
    async fn check_name(&self, expected: &Expectation) -> NameReport {
        let mut report = NameReport::new(expected);
        let mut name = expected.owner.clone();
        let mut rule = expected.first_rule();
        while report.hops.len() < MAX_HOPS {
            let Some(qname) = fqdn(&name) else {
                report.error = Some(format!("{name:?} is not a valid DNS name"));
                report.permanent = true;
                break;
            };
            let hop = report.hops.len();
            let zone = match self.discovery.zone_of(&qname).await {
                Ok(zone) => {
                    let (zone, left_out) = self.leave_out_ignored(zone);
                    report.hints.extend(left_out);
                    zone
                }
                Err(e) => {
                    report.error = Some(e.to_string());
                    report.permanent = e.is_permanent();
                    let (owner, error) = (expected.owner.clone(), e.to_string());
                    self.emit(ProbeEvent::DiscoveryFailed { owner, hop, error })
                        .await;
                    break;
                }
            };
            let checked = self
                .check_hop(&expected.owner, hop, &qname, zone, rule)
                .await;
            if hop == 0 {
                report
                    .hints
                    .extend(self.zone_appended_twice(&checked, &qname).await);
            }
            report.hints.extend(hop_hints(&checked));
            let next = checked.leads_to.clone();
            let looped = next
                .as_ref()
                .is_some_and(|t| report.hops.iter().any(|h| h.name == *t) || *t == checked.name);
            report.hops.push(checked);
            match next {
                Some(target) if looped => {
                    report.error = Some(format!("the CNAME path loops back to {target}"));
                    break;
                }
                Some(target) => {
                    name = target;
                    rule = expected.last_rule();
                }
                None => break,
            }
        }
        if report.error.is_none() && report.hops.last().is_some_and(|h| h.leads_to.is_some()) {
            report.error = Some(format!("the CNAME path is longer than {MAX_HOPS} hops"));
        }
        self.emit(ProbeEvent::NameChecked(Box::new(report.clone())))
            .await;
        report
    }

    /// The zone without the servers the operator chose to ignore, and a hint for each.
    fn leave_out_ignored(&self, mut zone: Zone) -> (Zone, Vec<Hint>) {
        if self.ignored.is_empty() {
            return (zone, Vec::new());
        }
        let ignored = |s: &super::zone::NameServer| {
            self.ignored
                .iter()
                .any(|i| *i == s.host || s.addresses.iter().any(|a| a.ip.to_string() == *i))
        };
        let (left_out, kept): (Vec<_>, Vec<_>) = zone.servers.into_iter().partition(ignored);
        zone.servers = kept;
        let hints = left_out
            .into_iter()
            .map(|s| Hint::ServerIgnored {
                zone: zone.apex.clone(),
                server: s.host,
            })
            .collect();
        (zone, hints)
    }

    /// Ask every address of every server of `zone` at once; settle the statuses.
    async fn check_hop(
        &self,
        owner: &str,
        hop: usize,
        qname: &Name,
        zone: Zone,
        rule: HopRule,
    ) -> HopReport {
        self.emit(ProbeEvent::ZoneDiscovered {
            owner: owner.to_owned(),
            hop,
            name: display(qname),
            zone: zone.clone(),
            rule: rule.clone(),
        })
        .await;
        let apex = fqdn(&zone.apex).unwrap_or_else(Name::root);
        let (apex, rule_ref) = (&apex, &rule);
        let probes = zone.servers.iter().flat_map(|server| {
            server.addresses.iter().map(move |address| {
                let rule = rule_ref;
                async move {
                    let result = self
                        .probe_address(qname, apex, &server.host, address.ip, rule)
                        .await;
                    let event = ProbeEvent::NameserverAnswered {
                        owner: owner.to_owned(),
                        hop,
                        result: result.clone(),
                    };
                    self.emit(event).await;
                    result
                }
            })
        });
        let mut results = futures::future::join_all(probes).await;
        let leads_to = probe::reconcile(&rule, &mut results);
        HopReport {
            name: display(qname),
            zone,
            rule,
            leads_to,
            results,
        }
    }

    /// One address: the name's TXT (and the zone's SOA serial, asked once per address).
    async fn probe_address(
        &self,
        qname: &Name,
        apex: &Name,
        host: &str,
        ip: IpAddr,
        rule: &HopRule,
    ) -> ProbeResult {
        let server = self.transport.authoritative(ip);
        let (answer, soa) = tokio::join!(
            self.transport.ask(server, qname, RecordType::TXT, false),
            self.serial(apex, ip)
        );
        let mut outcome = probe::outcome(&answer, qname);
        if let (HopRule::Cname { .. }, Outcome::Records(seen)) = (rule, &mut outcome) {
            if seen.cname.is_none() && !seen.txt.is_empty() {
                // A server holding both a CNAME and TXT answers a TXT question with the TXT:
                // only a CNAME question tells "TXT instead of CNAME" from "TXT beside it".
                let cname = self
                    .transport
                    .ask(server, qname, RecordType::CNAME, false)
                    .await;
                if let Outcome::Records(other) = probe::outcome(&cname, qname) {
                    seen.beside_cname = other.cname.is_some();
                    seen.cname = other.cname;
                }
            }
        }
        let status = probe::classify(rule, &outcome);
        let response = answer.as_ref().ok();
        let (values, cname, ttl, beside_cname, detail) = match outcome {
            Outcome::Records(seen) => (seen.txt, seen.cname, seen.ttl, seen.beside_cname, None),
            Outcome::NxDomain => (Vec::new(), None, None, false, None),
            Outcome::NotAuthoritative(why) => (Vec::new(), None, None, false, Some(why)),
            Outcome::Rcode(rcode) => {
                let detail = format!("answered {}", probe::rcode_name(rcode));
                (Vec::new(), None, None, false, Some(detail))
            }
            Outcome::Failed(e) => (Vec::new(), None, None, false, Some(e.reason())),
        };
        ProbeResult {
            server: host.to_owned(),
            address: ip,
            status,
            values,
            cname,
            ttl,
            serial: soa.as_ref().map(|s| s.serial),
            negative_ttl: soa.as_ref().map(|s| s.negative_ttl),
            primary: soa.map(|s| s.primary),
            rtt_us: response.map(|r| u64::try_from(r.rtt.as_micros()).unwrap_or(u64::MAX)),
            tcp: response.is_some_and(|r| r.tcp),
            beside_cname,
            detail,
        }
    }

    /// The zone's SOA serial and primary (MNAME) on one address, asked once per round however
    /// many names share the zone.
    async fn serial(&self, apex: &Name, ip: IpAddr) -> Option<Soa> {
        let cell = {
            let mut serials = self
                .serials
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(serials.entry((apex.clone(), ip)).or_default())
        };
        cell.get_or_init(|| async {
            let server = self.transport.authoritative(ip);
            let response = self
                .transport
                .ask(server, apex, RecordType::SOA, false)
                .await;
            response.ok().and_then(|r| soa_serial(&r.message, apex))
        })
        .await
        .clone()
    }

    /// When the owner is missing somewhere, look for it with the zone appended once more
    /// (`_acme-challenge.example.com.example.com`), on one address that answers.
    async fn zone_appended_twice(&self, hop: &HopReport, qname: &Name) -> Option<Hint> {
        let missing = |r: &&ProbeResult| matches!(r.status, Status::Missing | Status::Nxdomain);
        let asked = hop.results.iter().find(missing)?;
        let doubled = fqdn(&format!("{}.{}", hop.name, hop.zone.apex))?;
        let server = self.transport.authoritative(asked.address);
        let answer = self
            .transport
            .ask(server, &doubled, RecordType::TXT, false)
            .await;
        match probe::outcome(&answer, &doubled) {
            Outcome::Records(seen) if seen.cname.is_some() || !seen.txt.is_empty() => {
                Some(Hint::ZoneAppendedTwice {
                    name: display(qname),
                    found_at: display(&doubled),
                })
            }
            _ => None,
        }
    }
}

fn soa_serial(message: &Message, apex: &Name) -> Option<Soa> {
    if !message.metadata.authoritative {
        return None;
    }
    message.answers.iter().find_map(|r| match &r.data {
        RData::SOA(soa) if &r.name == apex => Some(Soa {
            serial: soa.serial,
            primary: display(&soa.mname),
            negative_ttl: r.ttl.min(soa.minimum),
        }),
        _ => None,
    })
}
