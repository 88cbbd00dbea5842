//! Where a challenge record must be written: the end of `_acme-challenge.X`'s CNAME chain.
//!
//! A CA follows a CNAME on `_acme-challenge.X` and reads the TXT at its target, so a solver
//! that writes records must write there (lego does the same). Each hop is asked of the
//! name's authoritative servers directly; where zones cannot be discovered (a test DNS
//! server answering NOTIMP to SOA) the resolvers are asked instead.

use std::net::SocketAddr;

use futures::stream::{FuturesUnordered, StreamExt};
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, RecordType};

use super::propagation::Prober;
use super::query::Transport;
use super::zone::{display, Discovery, Zone};

/// CNAME hops followed before the chain is cut (a loop, or a mistake).
const MAX_HOPS: usize = 8;

/// What the answer says about `name`: the CNAME target, or no CNAME.
fn cname_in(message: &Message, name: &Name) -> Option<Name> {
    message.answers.iter().find_map(|r| match &r.data {
        RData::CNAME(target) if r.name == *name => Some(target.0.to_lowercase()),
        _ => None,
    })
}

impl Prober {
    /// The CNAME chain starting at `owner`: `[owner, target, ...]`, just `[owner]` when it
    /// is no CNAME (or nothing can be learned about it). Names without the trailing dot.
    pub async fn cname_chain(&self, owner: &str) -> Vec<String> {
        let owner = owner.trim_end_matches('.');
        let mut chain = vec![owner.to_ascii_lowercase()];
        let Ok(mut name) = Name::from_ascii(format!("{owner}.")) else {
            return chain;
        };
        let transport = Transport::new(self.options());
        let discovery = Discovery::new(transport.clone(), self.resolvers().to_vec());
        while chain.len() <= MAX_HOPS {
            let target = match discovery.zone_of(&name).await {
                Ok(zone) => authoritative_cname(&transport, &zone, &name).await,
                Err(_) => resolver_cname(&transport, self.resolvers(), &name).await,
            };
            let Some(target) = target else { break };
            let shown = display(&target);
            if chain.contains(&shown) {
                tracing::warn!(%owner, at = %shown, "the CNAME chain loops; writing at its start");
                return vec![chain.swap_remove(0)];
            }
            chain.push(shown);
            name = target;
        }
        chain
    }
}

/// The CNAME at `name` as the first authoritative server to answer serves it.
async fn authoritative_cname(transport: &Transport, zone: &Zone, name: &Name) -> Option<Name> {
    let mut asks: FuturesUnordered<_> = zone
        .servers
        .iter()
        .flat_map(|s| &s.addresses)
        .map(|a| {
            transport.ask(
                transport.authoritative(a.ip),
                name,
                RecordType::CNAME,
                false,
            )
        })
        .collect();
    while let Some(answer) = asks.next().await {
        match answer {
            Ok(response) if response.message.metadata.authoritative => {
                return cname_in(&response.message, name);
            }
            _ => {}
        }
    }
    None
}

/// The CNAME at `name` as the resolvers see it (recursion desired).
async fn resolver_cname(
    transport: &Transport,
    resolvers: &[SocketAddr],
    name: &Name,
) -> Option<Name> {
    for resolver in resolvers {
        if let Ok(response) = transport
            .ask(*resolver, name, RecordType::CNAME, true)
            .await
        {
            return cname_in(&response.message, name);
        }
    }
    None
}
