//! Delegation truth: which servers a CA's resolver may ask for a zone.
//!
//! A resolver learns a zone's servers from the parent's referral, then usually replaces them
//! with the zone's own NS RRset; either set may be asked. So both are asked directly, never
//! through a resolver's cache: the parent's servers for the referral (NS + glue), the zone's
//! servers for its NS RRset. Every server of the union is checked, and each is marked with
//! where it is listed, so parent-only and child-only servers and disagreeing glue can be named.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, RecordType};
use serde::Serialize;
use tokio::sync::OnceCell;

use super::query::{QueryError, Response};
use super::referral::{glue_of, referral, Delegation};
use super::zone::{Discovery, NameServer};

/// Where a server is listed for its zone, and its addresses as the parent's glue and its own
/// A/AAAA records give them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// In the parent's referral (`None`: the parent could not be asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<bool>,
    /// In the zone's own NS RRset, as its servers serve it (`None`: none answered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child: Option<bool>,
    /// Addresses from the parent's glue.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub glue: Vec<IpAddr>,
    /// Addresses from the server name's own A/AAAA records.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub own: Vec<IpAddr>,
}

impl Listing {
    /// Listed by the parent only: the zone's own NS records miss it.
    #[must_use]
    pub fn parent_only(&self) -> bool {
        self.parent == Some(true) && self.child == Some(false)
    }

    /// Listed by the zone only: the parent does not delegate to it.
    #[must_use]
    pub fn child_only(&self) -> bool {
        self.parent == Some(false) && self.child == Some(true)
    }

    /// The parent's glue and the server's own address records disagree.
    #[must_use]
    pub fn glue_differs(&self) -> bool {
        if self.glue.is_empty() || self.own.is_empty() {
            return false;
        }
        let (mut glue, mut own) = (self.glue.clone(), self.own.clone());
        glue.sort_unstable();
        own.sort_unstable();
        glue.dedup();
        own.dedup();
        glue != own
    }

    /// A short word for tables: `parent only`, `child only`, or nothing.
    #[must_use]
    pub fn label(&self) -> Option<&'static str> {
        if self.parent_only() {
            Some("parent only")
        } else if self.child_only() {
            Some("child only")
        } else {
            None
        }
    }
}

/// The addresses of a parent zone's servers, found once per prober (they do not change
/// while certpilot waits); `None` when the parent cannot be found (the root, a resolver
/// that cannot see it).
pub(crate) type ParentCache = Arc<Mutex<HashMap<Name, Arc<OnceCell<Option<Vec<IpAddr>>>>>>>;

fn ns_hosts(message: &Message, apex: &Name) -> Vec<Name> {
    message
        .answers
        .iter()
        .filter(|r| r.name == *apex)
        .filter_map(|r| match &r.data {
            RData::NS(ns) => Some(ns.0.to_lowercase()),
            _ => None,
        })
        .collect()
}

impl Discovery {
    /// The parent's delegation of `apex`, asked of every address of every parent server
    /// directly (no recursion): the union of their NS names and glue.
    pub(super) async fn parent_referral(&self, subject: &Name, apex: &Name) -> Option<Delegation> {
        let addresses = self.parent_addresses(subject, apex).await?;
        let asks = addresses.iter().map(|ip| {
            self.transport().ask(
                self.transport().authoritative(*ip),
                apex,
                RecordType::NS,
                false,
            )
        });
        let mut found: Option<Delegation> = None;
        for message in gather(asks, |_| true).await {
            // A server of both the parent and the child answers from the child's zone.
            let seen = referral(&message, apex)
                .filter(|d| d.zone == *apex)
                .or_else(|| {
                    message.metadata.authoritative.then(|| Delegation {
                        zone: apex.clone(),
                        hosts: ns_hosts(&message, apex),
                        glue: glue_of(&message),
                    })
                });
            if let Some(seen) = seen.filter(|d| !d.hosts.is_empty()) {
                let all = found.get_or_insert_with(|| Delegation {
                    zone: apex.clone(),
                    hosts: Vec::new(),
                    glue: Vec::new(),
                });
                for host in seen.hosts {
                    if !all.hosts.contains(&host) {
                        all.hosts.push(host);
                    }
                }
                for glue in seen.glue {
                    if !all.glue.contains(&glue) {
                        all.glue.push(glue);
                    }
                }
            }
        }
        found
    }

    /// Every address of the servers of `apex`'s parent zone, once per prober.
    async fn parent_addresses(&self, subject: &Name, apex: &Name) -> Option<Vec<IpAddr>> {
        if apex.is_root() {
            return None;
        }
        let cell = {
            let mut parents = self
                .parents()
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(parents.entry(apex.clone()).or_default())
        };
        cell.get_or_init(|| async {
            let (parent, _) = self.find_cut(&apex.base_name()).await.ok()?;
            let (message, seen) = self
                .walker()
                .lookup(subject, &parent, RecordType::NS, 0)
                .await
                .ok()?;
            let mut hosts = ns_hosts(&message, &parent);
            let mut glue = glue_of(&message);
            if let Some(d) = seen.filter(|d| d.zone == parent) {
                hosts.extend(d.hosts);
                glue.extend(d.glue);
            }
            let servers = hosts.iter().map(|host| self.server(subject, host, &glue));
            let mut ips: Vec<IpAddr> = futures::future::join_all(servers)
                .await
                .into_iter()
                .flat_map(|s| s.addresses.into_iter().map(|a| a.ip))
                .collect();
            ips.sort_unstable();
            ips.dedup();
            (!ips.is_empty()).then_some(ips)
        })
        .await
        .clone()
    }

    /// The zone's own NS RRset as its servers serve it (authoritative answers only), asked
    /// of every address directly; `None` when no server answered authoritatively.
    pub(super) async fn child_ns(&self, apex: &Name, servers: &[NameServer]) -> Option<Vec<Name>> {
        let asks = servers.iter().flat_map(|s| &s.addresses).map(|a| {
            self.transport().ask(
                self.transport().authoritative(a.ip),
                apex,
                RecordType::NS,
                false,
            )
        });
        let mut hosts: Option<Vec<Name>> = None;
        for message in gather(asks, |m| m.metadata.authoritative).await {
            let all = hosts.get_or_insert_with(Vec::new);
            for host in ns_hosts(&message, apex) {
                if !all.contains(&host) {
                    all.push(host);
                }
            }
        }
        hosts.filter(|h| !h.is_empty())
    }
}

/// After the first useful answer, how long the others may still come in: servers of one
/// zone serve one NS set, so a silent one must not hold the check round up.
const GRACE: Duration = Duration::from_millis(300);

/// The useful answers to `asks`: all that arrive until [`GRACE`] after the first one.
async fn gather<F>(asks: impl Iterator<Item = F>, useful: impl Fn(&Message) -> bool) -> Vec<Message>
where
    F: std::future::Future<Output = Result<Response, QueryError>>,
{
    let mut pending: FuturesUnordered<F> = asks.collect();
    let mut answers = Vec::new();
    let mut deadline: Option<Instant> = None;
    loop {
        let next = match deadline {
            Some(at) => match tokio::time::timeout_at(at, pending.next()).await {
                Ok(next) => next,
                Err(_) => break,
            },
            None => pending.next().await,
        };
        let Some(answer) = next else { break };
        if let Ok(response) = answer {
            if useful(&response.message) {
                answers.push(response.message);
                deadline.get_or_insert_with(|| Instant::now() + GRACE);
            }
        }
    }
    answers
}

/// Mark every server with where it is listed.
pub(super) fn mark(
    servers: &mut [NameServer],
    hosts: &[Name],
    parent: Option<&Delegation>,
    child: Option<&[Name]>,
) {
    for (server, host) in servers.iter_mut().zip(hosts) {
        server.listing.parent = parent.map(|p| p.hosts.contains(host));
        server.listing.child = child.map(|c| c.contains(host));
        if let Some(p) = parent {
            server.listing.glue = p
                .glue
                .iter()
                .filter(|(name, _)| name == host)
                .map(|(_, ip)| *ip)
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn listings_name_what_differs() {
        let cases = [
            (Some(true), Some(true), vec![], vec![], None, false),
            (
                Some(true),
                Some(false),
                vec![],
                vec![],
                Some("parent only"),
                false,
            ),
            (
                Some(false),
                Some(true),
                vec![],
                vec![],
                Some("child only"),
                false,
            ),
            (None, Some(true), vec![], vec![], None, false),
            (
                Some(true),
                Some(true),
                vec![ip("192.0.2.1")],
                vec![ip("192.0.2.1")],
                None,
                false,
            ),
            (
                Some(true),
                Some(true),
                vec![ip("192.0.2.1")],
                vec![ip("192.0.2.9")],
                None,
                true,
            ),
            // No own address records: nothing to compare.
            (
                Some(true),
                Some(true),
                vec![ip("192.0.2.1")],
                vec![],
                None,
                false,
            ),
        ];
        for (parent, child, glue, own, label, differs) in cases {
            let listing = Listing {
                parent,
                child,
                glue,
                own,
            };
            assert_eq!(listing.label(), label, "{listing:?}");
            assert_eq!(listing.glue_differs(), differs, "{listing:?}");
        }
    }
}
