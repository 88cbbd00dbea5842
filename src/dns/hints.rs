//! Mistake hints: patterns in a propagation report that point at a known operator mistake,
//! each with what to do about it. Pure: they read the report, they ask nobody.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use super::probe::{HopRule, ProbeResult, Status};
use super::report::{HopReport, NameReport};

/// One server's SOA serial, for [`Hint::SerialsDisagree`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerSerial {
    /// Server host name.
    pub server: String,
    /// The address asked.
    pub address: IpAddr,
    /// Its serial.
    pub serial: u32,
}

/// A likely mistake, shown beside the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Hint {
    /// TXT records where a CNAME (to an acme-dns server, say) is expected.
    TxtWhereCnameExpected {
        /// The owner name.
        name: String,
        /// The CNAME target expected.
        target: String,
        /// Servers serving TXT instead.
        servers: Vec<String>,
    },
    /// The records sit at `<name>.<zone>`: a provider appended the zone to a full name.
    ZoneAppendedTwice {
        /// Where they should be.
        name: String,
        /// Where they are.
        found_at: String,
    },
    /// The CNAME points somewhere other than the configured target.
    CnameTargetDiffers {
        /// The owner name.
        name: String,
        /// The configured target.
        expected: String,
        /// What the servers serve.
        found: String,
    },
    /// A CNAME shares its name with other records, which DNS forbids.
    CnameBesideOtherRecords {
        /// The owner name.
        name: String,
        /// Servers holding both.
        servers: Vec<String>,
    },
    /// A zone's servers serve different SOA serials: some have not caught up.
    SerialsDisagree {
        /// The zone.
        zone: String,
        /// Every address's serial.
        serials: Vec<ServerSerial>,
    },
    /// Every address of one family timed out or was unreachable.
    FamilySilent {
        /// `IPv4` or `IPv6`.
        family: String,
        /// How many addresses of that family were asked.
        addresses: usize,
    },
    /// The parent delegates to a server the zone's own NS records do not list.
    ParentOnly {
        /// The zone.
        zone: String,
        /// The server.
        server: String,
        /// Its addresses.
        addresses: Vec<IpAddr>,
    },
    /// The zone's own NS records list a server the parent does not delegate to.
    ChildOnly {
        /// The zone.
        zone: String,
        /// The server.
        server: String,
        /// Its addresses.
        addresses: Vec<IpAddr>,
    },
    /// The parent's glue for a server disagrees with the server's own address records.
    GlueDiffers {
        /// The zone.
        zone: String,
        /// The server.
        server: String,
        /// The parent's glue.
        glue: Vec<IpAddr>,
        /// Its own A/AAAA records.
        own: Vec<IpAddr>,
    },
    /// A server named for the zone does not serve it (REFUSED, SERVFAIL, no AA bit).
    LameServer {
        /// The zone.
        zone: String,
        /// The server.
        server: String,
        /// The address.
        address: IpAddr,
        /// What it answered.
        answer: String,
    },
    /// A server left out of the check because the operator said so.
    ServerIgnored {
        /// The zone.
        zone: String,
        /// The server.
        server: String,
    },
    /// A name server of the zone has no address, so nobody can ask it.
    ServerWithoutAddress {
        /// The zone.
        zone: String,
        /// The server.
        server: String,
        /// Why.
        problem: String,
    },
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hint::TxtWhereCnameExpected { name, target, servers } => write!(
                f,
                "{name} serves TXT where a CNAME to {target} is expected ({}): replace the TXT record by `{name}. CNAME {target}.`",
                servers.join(", ")
            ),
            Hint::ZoneAppendedTwice { name, found_at } => write!(
                f,
                "the record is at {found_at}, not at {name}: the zone was appended twice; enter the name relative to the zone, or end it with a dot"
            ),
            Hint::CnameTargetDiffers { name, expected, found } => write!(
                f,
                "{name} is a CNAME to {found}, but the configuration expects {expected}: fix the CNAME (or the acme-dns registration)"
            ),
            Hint::CnameBesideOtherRecords { name, servers } => write!(
                f,
                "{name} has a CNAME beside other records ({}): a CNAME must be alone at its name, so resolvers may see either; delete the other records",
                servers.join(", ")
            ),
            Hint::SerialsDisagree { zone, serials } => {
                let newest = serials.iter().map(|s| s.serial).max().unwrap_or_default();
                let behind: Vec<String> = serials
                    .iter()
                    .filter(|s| s.serial != newest)
                    .map(|s| format!("{} ({}) at {}", s.server, s.address, s.serial))
                    .collect();
                write!(
                    f,
                    "servers of {zone} disagree on the SOA serial: {} behind {newest}; a secondary has not caught up (check its zone transfers)",
                    behind.join(", ")
                )
            }
            Hint::FamilySilent { family, addresses } => write!(
                f,
                "none of the {addresses} {family} address(es) answered: {family} may not work from here; if so, use --propagation recursive"
            ),
            Hint::ParentOnly { zone, server, addresses } => write!(
                f,
                "{server} ({}) is delegated to by the parent of {zone} but missing from {zone}'s own NS records: a CA's resolver may still ask it; add it to the zone's NS records, or remove it at the registrar",
                ips(addresses)
            ),
            Hint::ChildOnly { zone, server, addresses } => write!(
                f,
                "{server} ({}) is in {zone}'s NS records but the parent does not delegate to it: a CA's resolver may ask it once it has talked to the zone; add it at the registrar, or remove it from the zone",
                ips(addresses)
            ),
            Hint::GlueDiffers { zone, server, glue, own } => write!(
                f,
                "the parent's glue for {server} ({}) disagrees with its own address records ({}): both may be asked for {zone}; update the glue at the registrar",
                ips(glue),
                ips(own)
            ),
            Hint::LameServer { zone, server, address, answer } => write!(
                f,
                "lame delegation: {server} ({address}) is named as a server of {zone} but {answer}: it does not serve the zone; fix its configuration, or remove it from the NS records and at the registrar"
            ),
            Hint::ServerIgnored { zone, server } => write!(
                f,
                "{server} (a server of {zone}) is left out as asked: the CA may still pick it and fail"
            ),
            Hint::ServerWithoutAddress { zone, server, problem } => {
                write!(f, "{server} (a name server of {zone}) has no address: {problem}")
            }
        }
    }
}

fn ips(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn servers_where(results: &[ProbeResult], pick: impl Fn(&ProbeResult) -> bool) -> Vec<String> {
    let mut servers: Vec<String> = results
        .iter()
        .filter(|r| pick(r))
        .map(|r| format!("{} {}", r.server, r.address))
        .collect();
    servers.dedup();
    servers
}

/// Where the parent's delegation and the zone's own NS records disagree, and servers that do
/// not serve the zone (once per zone).
fn delegation_hints(hop: &HopReport) -> Vec<Hint> {
    let zone = &hop.zone.apex;
    let mut hints = Vec::new();
    for server in &hop.zone.servers {
        let addresses: Vec<IpAddr> = server.addresses.iter().map(|a| a.ip).collect();
        let listing = &server.listing;
        if listing.parent_only() {
            hints.push(Hint::ParentOnly {
                zone: zone.clone(),
                server: server.host.clone(),
                addresses,
            });
        } else if listing.child_only() {
            hints.push(Hint::ChildOnly {
                zone: zone.clone(),
                server: server.host.clone(),
                addresses,
            });
        }
        if listing.glue_differs() {
            hints.push(Hint::GlueDiffers {
                zone: zone.clone(),
                server: server.host.clone(),
                glue: listing.glue.clone(),
                own: listing.own.clone(),
            });
        }
    }
    for r in &hop.results {
        let answer = match r.status {
            Status::Refused => "answers REFUSED",
            Status::Servfail => "answers SERVFAIL",
            Status::Lame => "answers without authority (no AA bit)",
            _ => continue,
        };
        hints.push(Hint::LameServer {
            zone: zone.clone(),
            server: r.server.clone(),
            address: r.address,
            answer: answer.to_owned(),
        });
    }
    hints
}

/// Serial disagreements inside one primary/secondary set: addresses whose SOA names the same
/// primary (MNAME). Independent primaries (two providers) have unrelated serials.
fn lagging_secondaries(hop: &HopReport) -> Vec<Hint> {
    let mut by_primary: Vec<(&str, Vec<ServerSerial>)> = Vec::new();
    for r in &hop.results {
        let (Some(serial), Some(primary)) = (r.serial, r.primary.as_deref()) else {
            continue;
        };
        let entry = ServerSerial {
            server: r.server.clone(),
            address: r.address,
            serial,
        };
        match by_primary.iter_mut().find(|(p, _)| *p == primary) {
            Some((_, set)) => set.push(entry),
            None => by_primary.push((primary, vec![entry])),
        }
    }
    by_primary
        .into_iter()
        .filter_map(|(_, mut serials)| {
            serials.sort_by(|a, b| b.serial.cmp(&a.serial).then(a.server.cmp(&b.server)));
            serials
                .windows(2)
                .any(|w| w[0].serial != w[1].serial)
                .then(|| Hint::SerialsDisagree {
                    zone: hop.zone.apex.clone(),
                    serials,
                })
        })
        .collect()
}

/// The hints one hop shows.
#[must_use]
pub fn hop_hints(hop: &HopReport) -> Vec<Hint> {
    let mut hints = Vec::new();
    if let HopRule::Cname { target } = &hop.rule {
        let txt_instead =
            servers_where(&hop.results, |r| r.cname.is_none() && !r.values.is_empty());
        if !txt_instead.is_empty() {
            hints.push(Hint::TxtWhereCnameExpected {
                name: hop.name.clone(),
                target: target.clone(),
                servers: txt_instead,
            });
        }
        let doubled = format!("{target}.{}", hop.zone.apex);
        let mut found: Vec<&str> = hop
            .results
            .iter()
            .filter_map(|r| r.cname.as_deref())
            .collect();
        found.sort_unstable();
        found.dedup();
        for other in found.into_iter().filter(|f| f != target) {
            hints.push(if other == doubled {
                Hint::ZoneAppendedTwice {
                    name: target.clone(),
                    found_at: doubled.clone(),
                }
            } else {
                Hint::CnameTargetDiffers {
                    name: hop.name.clone(),
                    expected: target.clone(),
                    found: other.to_owned(),
                }
            });
        }
    }
    let beside = servers_where(&hop.results, |r| r.beside_cname);
    if !beside.is_empty() {
        hints.push(Hint::CnameBesideOtherRecords {
            name: hop.name.clone(),
            servers: beside,
        });
    }
    for server in hop.zone.servers.iter().filter(|s| s.addresses.is_empty()) {
        hints.push(Hint::ServerWithoutAddress {
            zone: hop.zone.apex.clone(),
            server: server.host.clone(),
            problem: server.problem.clone().unwrap_or_default(),
        });
    }
    hints
}

/// Hints over the whole report: serial disagreements per zone (once per zone, not per name)
/// and address families that never answered.
#[must_use]
pub fn report_hints(names: &[NameReport]) -> Vec<Hint> {
    let mut hints = Vec::new();
    let mut zones_seen: Vec<&str> = Vec::new();
    let hops: Vec<&HopReport> = names.iter().flat_map(|n| &n.hops).collect();
    for hop in &hops {
        if zones_seen.contains(&hop.zone.apex.as_str()) {
            continue;
        }
        zones_seen.push(&hop.zone.apex);
        hints.extend(delegation_hints(hop));
        // A serial only says "behind" when the records are missing somewhere at all.
        if !hops
            .iter()
            .filter(|h| h.zone.apex == hop.zone.apex)
            .all(|h| h.complete())
        {
            hints.extend(lagging_secondaries(hop));
        }
    }
    let all: Vec<&ProbeResult> = names
        .iter()
        .flat_map(|n| &n.hops)
        .flat_map(|h| &h.results)
        .collect();
    for (family, is_family) in [
        ("IPv4", IpAddr::is_ipv4 as fn(&IpAddr) -> bool),
        ("IPv6", IpAddr::is_ipv6),
    ] {
        let mut addresses: Vec<IpAddr> = all.iter().map(|r| r.address).filter(is_family).collect();
        addresses.sort_unstable();
        addresses.dedup();
        let silent = all
            .iter()
            .filter(|r| is_family(&r.address))
            .all(|r| r.status.is_silent());
        if !addresses.is_empty() && silent {
            hints.push(Hint::FamilySilent {
                family: family.to_owned(),
                addresses: addresses.len(),
            });
        }
    }
    hints
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::expect::Expectation;
    use crate::dns::zone::{NameServer, ServerAddress, Zone};

    fn result(
        server: &str,
        ip: &str,
        status: Status,
        cname: Option<&str>,
        values: &[&str],
        serial: u32,
    ) -> ProbeResult {
        ProbeResult {
            server: server.into(),
            address: ip.parse().unwrap(),
            status,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            cname: cname.map(str::to_owned),
            ttl: None,
            serial: Some(serial),
            primary: Some("ns1.example.com".into()),
            negative_ttl: None,
            rtt_us: None,
            tcp: false,
            beside_cname: false,
            detail: None,
        }
    }

    fn hop(rule: HopRule, results: Vec<ProbeResult>, servers: Vec<NameServer>) -> HopReport {
        HopReport {
            name: "_acme-challenge.example.com".into(),
            zone: Zone {
                apex: "example.com".into(),
                servers,
            },
            rule,
            leads_to: None,
            results,
        }
    }

    #[test]
    fn hops_show_their_mistakes() {
        let cname = || HopRule::Cname {
            target: "x.auth.test".into(),
        };
        let txt = HopRule::Txt {
            values: vec!["v".into()],
        };
        let m = Status::Mismatch;
        let mut beside = result("ns1", "192.0.2.1", m, Some("x.auth.test"), &["v"], 1);
        beside.beside_cname = true;
        let nameless = NameServer {
            host: "ns3.example.com".into(),
            addresses: Vec::new(),
            problem: Some("no address".into()),
            listing: crate::dns::delegation::Listing::default(),
        };
        let cases = vec![
            (
                hop(
                    cname(),
                    vec![result("ns1", "192.0.2.1", m, None, &["v"], 1)],
                    vec![],
                ),
                vec![Hint::TxtWhereCnameExpected {
                    name: "_acme-challenge.example.com".into(),
                    target: "x.auth.test".into(),
                    servers: vec!["ns1 192.0.2.1".into()],
                }],
            ),
            (
                hop(
                    cname(),
                    vec![result("ns1", "192.0.2.1", m, Some("y.auth.test"), &[], 1)],
                    vec![],
                ),
                vec![Hint::CnameTargetDiffers {
                    name: "_acme-challenge.example.com".into(),
                    expected: "x.auth.test".into(),
                    found: "y.auth.test".into(),
                }],
            ),
            (
                hop(
                    cname(),
                    vec![result(
                        "ns1",
                        "192.0.2.1",
                        m,
                        Some("x.auth.test.example.com"),
                        &[],
                        1,
                    )],
                    vec![],
                ),
                vec![Hint::ZoneAppendedTwice {
                    name: "x.auth.test".into(),
                    found_at: "x.auth.test.example.com".into(),
                }],
            ),
            (
                hop(cname(), vec![beside], vec![]),
                vec![Hint::CnameBesideOtherRecords {
                    name: "_acme-challenge.example.com".into(),
                    servers: vec!["ns1 192.0.2.1".into()],
                }],
            ),
            (
                hop(txt.clone(), vec![], vec![nameless]),
                vec![Hint::ServerWithoutAddress {
                    zone: "example.com".into(),
                    server: "ns3.example.com".into(),
                    problem: "no address".into(),
                }],
            ),
            (
                hop(
                    txt,
                    vec![result("ns1", "192.0.2.1", Status::Match, None, &["v"], 1)],
                    vec![],
                ),
                vec![],
            ),
        ];
        for (hop, want) in cases {
            assert_eq!(hop_hints(&hop), want, "{:?}", hop.results);
        }
    }

    #[test]
    // One table of cases; splitting it would scatter the expectations.
    #[allow(clippy::too_many_lines)]
    fn reports_show_lagging_serials_and_silent_families() {
        let rule = HopRule::Txt {
            values: vec!["v".into()],
        };
        let expected = Expectation::new("_acme-challenge.example.com", vec!["v".into()], None);
        let name_with = |results: Vec<ProbeResult>| {
            let mut name = NameReport::new(&expected);
            let servers = vec![NameServer {
                host: "ns1".into(),
                addresses: vec![ServerAddress {
                    ip: "192.0.2.1".parse().unwrap(),
                    glue: true,
                }],
                problem: None,
                listing: crate::dns::delegation::Listing::default(),
            }];
            name.hops.push(hop(rule.clone(), results, servers));
            name
        };
        let ok = |server: &str, ip: &str, serial: u32| {
            result(server, ip, Status::Match, None, &["v"], serial)
        };
        let missing = |server: &str, ip: &str, serial: u32| {
            result(server, ip, Status::Missing, None, &[], serial)
        };
        let silent = |ip: &str| {
            let mut r = result("ns6", ip, Status::Timeout, None, &[], 0);
            r.serial = None;
            r
        };
        let cases = vec![
            (
                vec![ok("ns1", "192.0.2.1", 2), ok("ns2", "192.0.2.2", 2)],
                vec![],
            ),
            // Everything served: a serial difference says nothing.
            (
                vec![ok("ns1", "192.0.2.1", 2), ok("ns2", "192.0.2.2", 1)],
                vec![],
            ),
            // Independent primaries (two providers): unrelated serials, no hint.
            (
                vec![ok("ns1", "192.0.2.1", 2), {
                    let mut other = missing("ns2", "192.0.2.2", 1);
                    other.primary = Some("ns.other-provider.net".into());
                    other
                }],
                vec![],
            ),
            (
                vec![ok("ns1", "192.0.2.1", 2), missing("ns2", "192.0.2.2", 1)],
                vec![Hint::SerialsDisagree {
                    zone: "example.com".into(),
                    serials: vec![
                        ServerSerial {
                            server: "ns1".into(),
                            address: "192.0.2.1".parse().unwrap(),
                            serial: 2,
                        },
                        ServerSerial {
                            server: "ns2".into(),
                            address: "192.0.2.2".parse().unwrap(),
                            serial: 1,
                        },
                    ],
                }],
            ),
            (
                vec![
                    ok("ns1", "192.0.2.1", 2),
                    silent("2001:db8::1"),
                    silent("2001:db8::2"),
                ],
                vec![Hint::FamilySilent {
                    family: "IPv6".into(),
                    addresses: 2,
                }],
            ),
            (
                vec![ok("ns1", "2001:db8::1", 2), silent("192.0.2.9")],
                vec![Hint::FamilySilent {
                    family: "IPv4".into(),
                    addresses: 1,
                }],
            ),
        ];
        for (results, want) in cases {
            let names = vec![name_with(results.clone()), name_with(results)];
            assert_eq!(report_hints(&names), want);
        }
        let serials = Hint::SerialsDisagree {
            zone: "example.com".into(),
            serials: vec![
                ServerSerial {
                    server: "ns1".into(),
                    address: "192.0.2.1".parse().unwrap(),
                    serial: 2,
                },
                ServerSerial {
                    server: "ns2".into(),
                    address: "192.0.2.2".parse().unwrap(),
                    serial: 1,
                },
            ],
        };
        assert_eq!(
            serials.to_string(),
            "servers of example.com disagree on the SOA serial: ns2 (192.0.2.2) at 1 behind 2; a secondary has not caught up (check its zone transfers)"
        );
    }
}
