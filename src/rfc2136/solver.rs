//! The `rfc2136` solver: every record of an order grouped by zone and primary, one signed
//! UPDATE per group to add, one to remove.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use hickory_proto::rr::Name;

use super::exchange::{self, Target};
use super::placement::Placer;
use super::update::{self, Action, TxtValue};
use super::{Algorithm, Rfc2136Error, TsigKey};
use crate::secrets::blocking;
use crate::secrets::{Keystore, SecretRef};
use crate::solver::{provider_step, ChallengeRecord, Solver, SolverFuture};

/// Settings of the solver besides its domain mapping.
#[derive(Debug, Clone)]
pub struct Rfc2136Options {
    /// Resolvers (`IP[:PORT]`) for zone and primary discovery; the system's when empty.
    pub resolvers: Vec<String>,
    /// Limit for one UPDATE exchange.
    pub timeout: Duration,
    /// The port of authoritative servers and of the primary found from the SOA (53, except
    /// in a sandbox: `settings.authoritative_port`).
    pub authoritative_port: u16,
}

/// The mapping of one domain to `rfc2136` (see [`crate::config::DomainConfig::Rfc2136`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The mapped domain (the keyring entry is under it).
    pub domain: String,
    /// `HOST[:PORT]` of the primary; `None`: the SOA MNAME.
    pub server: Option<String>,
    /// The zone; `None`: each record's own.
    pub zone: Option<String>,
    /// The key name.
    pub tsig_name: String,
    /// The key algorithm.
    pub algorithm: Algorithm,
}

/// Where a record's UPDATE goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Placement {
    zone: String,
    server: SocketAddr,
}

/// Publishes challenge records with RFC 2136 updates.
pub struct Rfc2136Solver {
    mapping: Mapping,
    keystore: Keystore,
    options: Rfc2136Options,
    /// Placements found by `present`, so `cleanup` goes to the same place without asking.
    placed: Mutex<HashMap<String, Placement>>,
}

impl Rfc2136Solver {
    /// A solver for `mapping`, reading the secret from `keystore` when it runs.
    #[must_use]
    pub fn new(mapping: Mapping, keystore: Keystore, options: Rfc2136Options) -> Self {
        Self {
            mapping,
            keystore,
            options,
            placed: Mutex::new(HashMap::new()),
        }
    }

    /// Add (or delete) every record: one UPDATE per zone and primary. Returns how many
    /// UPDATEs were sent.
    ///
    /// # Errors
    /// The first failing discovery or UPDATE (later zones are not sent).
    pub async fn apply(
        &self,
        action: Action,
        records: &[ChallengeRecord],
    ) -> Result<usize, Rfc2136Error> {
        let key = self.key().await?;
        let groups = self.plan(records).await?;
        for (placement, values) in &groups {
            let zone = Name::from_ascii(format!("{}.", placement.zone))
                .map_err(|e| Rfc2136Error::Discovery(format!("zone {}: {e}", placement.zone)))?;
            let target = Target {
                server: placement.server,
                zone: &placement.zone,
                key: &key,
                timeout: self.options.timeout,
            };
            tracing::info!(zone = %placement.zone, server = %placement.server, records = values.len(), ?action, "rfc2136 update");
            exchange::send(&target, update::message(&zone, action, values)).await?;
        }
        Ok(groups.len())
    }

    async fn key(&self) -> Result<TsigKey, Rfc2136Error> {
        let keystore = self.keystore.clone();
        let entry = SecretRef::Tsig(self.mapping.domain.clone());
        let secret = blocking(move || keystore.get(&entry))
            .await
            .map_err(|e| Rfc2136Error::Keyring(e.to_string()))?
            .ok_or_else(|| Rfc2136Error::MissingSecret {
                domain: self.mapping.domain.clone(),
            })?;
        TsigKey::new(&self.mapping.tsig_name, self.mapping.algorithm, &secret)
    }

    /// Group `records` by placement, in a stable order.
    async fn plan(
        &self,
        records: &[ChallengeRecord],
    ) -> Result<BTreeMap<Placement, Vec<TxtValue>>, Rfc2136Error> {
        let mut groups: BTreeMap<Placement, Vec<TxtValue>> = BTreeMap::new();
        let mut placer: Option<Placer> = None;
        let mut primaries: HashMap<String, SocketAddr> = HashMap::new();
        for record in records {
            let owner = Name::from_ascii(&record.fqdn)
                .map_err(|e| Rfc2136Error::Discovery(format!("{}: {e}", record.fqdn)))?;
            let known = self.placed_get(&record.fqdn);
            let placement = if let Some(p) = known {
                p
            } else {
                let placer = match &mut placer {
                    Some(p) => p,
                    None => placer.insert(Placer::new(
                        &self.options.resolvers,
                        self.options.authoritative_port,
                    )?),
                };
                let p = self.place(placer, &owner, &mut primaries).await?;
                self.placed_put(&record.fqdn, &p);
                p
            };
            groups.entry(placement).or_default().push(TxtValue {
                owner,
                value: record.value.clone(),
            });
        }
        Ok(groups)
    }

    async fn place(
        &self,
        placer: &Placer,
        owner: &Name,
        primaries: &mut HashMap<String, SocketAddr>,
    ) -> Result<Placement, Rfc2136Error> {
        let discovered = match &self.mapping.zone {
            Some(_) => None,
            None => Some(placer.zone_of(owner).await?),
        };
        let zone = match (&self.mapping.zone, &discovered) {
            (Some(zone), _) => zone.trim_end_matches('.').to_ascii_lowercase(),
            (None, Some(found)) => found.apex.clone(),
            (None, None) => unreachable!("discovered when not configured"),
        };
        if let Some(server) = primaries.get(&zone) {
            return Ok(Placement {
                zone,
                server: *server,
            });
        }
        let server = match (&self.mapping.server, &discovered) {
            (Some(text), _) => placer.server(text).await?,
            (None, Some(found)) => placer.primary(found).await?,
            (None, None) => {
                let owner = Name::from_ascii(format!("{zone}."))
                    .map_err(|e| Rfc2136Error::Discovery(format!("zone {zone}: {e}")))?;
                placer.primary(&placer.zone_of(&owner).await?).await?
            }
        };
        primaries.insert(zone.clone(), server);
        Ok(Placement { zone, server })
    }

    fn placed_get(&self, fqdn: &str) -> Option<Placement> {
        self.placed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(fqdn)
            .cloned()
    }

    fn placed_put(&self, fqdn: &str, placement: &Placement) {
        self.placed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(fqdn.to_owned(), placement.clone());
    }
}

impl Solver for Rfc2136Solver {
    fn describe(&self) -> String {
        format!(
            "rfc2136 solver for {} (key {}, {})",
            self.mapping.domain,
            self.mapping.tsig_name,
            self.mapping.server.as_deref().unwrap_or("primary from SOA")
        )
    }

    fn present<'a>(&'a self, records: &'a [ChallengeRecord]) -> SolverFuture<'a> {
        provider_step(self.describe(), self.apply(Action::Add, records))
    }

    fn cleanup<'a>(&'a self, records: &'a [ChallengeRecord]) -> SolverFuture<'a> {
        provider_step(self.describe(), self.apply(Action::Delete, records))
    }
}
