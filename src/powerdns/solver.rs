//! The `powerdns` solver: records grouped by zone, one PATCH per zone per order that sets
//! each owner's TXT record set to what it held plus (or minus) our values.
//!
//! PowerDNS has no "add one record" operation: a PATCH replaces whole record sets, so each
//! set is read first and written back with every other value kept. Within this process the
//! read and the PATCH of a zone are one turn (a lock per zone); another writer between them
//! is not guarded against by the API.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::client::{ApiKey, Entry, PowerDnsClient, RrSet, ZoneInfo};
use super::PowerDnsError;
use crate::rfc2136::update::{Action, TTL};
use crate::secrets::blocking;
use crate::secrets::{Keystore, SecretRef};
use crate::solver::{provider_step, ChallengeRecord, Solver, SolverFuture};

/// Settings of the solver besides its mapping.
#[derive(Debug, Clone)]
pub struct PowerDnsOptions {
    /// Extra CA certificates for the API's TLS.
    pub ca_bundle: Option<PathBuf>,
}

/// Publishes challenge records through the PowerDNS API.
pub struct PowerDnsSolver {
    domain: String,
    api_url: String,
    server_id: String,
    keystore: Keystore,
    ca_bundle: Option<PathBuf>,
}

impl PowerDnsSolver {
    /// A solver for `domain` mapped to the API at `api_url`, server `server_id`.
    ///
    /// # Errors
    /// [`PowerDnsError::BadUrl`] when the URL fails the transport policy.
    pub fn new(
        domain: &str,
        api_url: &str,
        server_id: &str,
        keystore: Keystore,
        options: &PowerDnsOptions,
    ) -> Result<Self, PowerDnsError> {
        super::client::api_root(api_url)?;
        Ok(Self {
            domain: domain.to_owned(),
            api_url: api_url.to_owned(),
            server_id: server_id.to_owned(),
            keystore,
            ca_bundle: options.ca_bundle.clone(),
        })
    }

    /// Add (or remove) every record: one PATCH per zone. Returns how many `PATCHes` were sent.
    ///
    /// # Errors
    /// The keyring, the API, or a name in no zone of the server.
    pub async fn apply(
        &self,
        action: Action,
        records: &[ChallengeRecord],
    ) -> Result<usize, PowerDnsError> {
        let client = self.client().await?;
        let zones = client.zones().await?;
        let mut by_zone: BTreeMap<String, Vec<&ChallengeRecord>> = BTreeMap::new();
        for record in records {
            let zone = zone_for(&zones, &record.fqdn).ok_or_else(|| PowerDnsError::NoZone {
                url: self.api_url.clone(),
                server_id: self.server_id.clone(),
                name: record.fqdn.clone(),
                zones: zones
                    .iter()
                    .take(10)
                    .map(|z| z.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            by_zone.entry(zone.id.clone()).or_default().push(record);
        }
        let mut sent = 0;
        for (zone_id, records) in by_zone {
            // Read-modify-write: orders of this process on the same zone take turns, so
            // parallel renewals cannot drop each other's values.
            let lock = crate::lock::turn(&format!("powerdns {} {zone_id}", self.api_url));
            let _turn = lock.lock().await;
            let existing = client.rrsets(&zone_id).await?;
            let changes = changes(action, &existing, &records);
            if changes.is_empty() {
                continue;
            }
            tracing::info!(zone = %zone_id, rrsets = changes.len(), ?action, "powerdns patch");
            client.patch(&zone_id, &changes).await?;
            sent += 1;
        }
        Ok(sent)
    }

    async fn client(&self) -> Result<PowerDnsClient, PowerDnsError> {
        let keystore = self.keystore.clone();
        let entry = SecretRef::PowerDns(self.domain.clone());
        let key = blocking(move || keystore.get(&entry))
            .await
            .map_err(|e| PowerDnsError::Keyring(e.to_string()))?
            .ok_or_else(|| PowerDnsError::MissingKey {
                domain: self.domain.clone(),
            })?;
        PowerDnsClient::new(
            &self.api_url,
            &self.server_id,
            ApiKey::new(&key),
            self.ca_bundle.as_deref(),
        )
    }
}

/// The zone of `fqdn`: the longest zone name it ends in (label-wise).
#[must_use]
pub fn zone_for<'a>(zones: &'a [ZoneInfo], fqdn: &str) -> Option<&'a ZoneInfo> {
    let name = fqdn.trim_end_matches('.').to_ascii_lowercase();
    zones
        .iter()
        .filter(|z| {
            let zone = z.name.trim_end_matches('.').to_ascii_lowercase();
            name == zone
                || name
                    .strip_suffix(zone.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
        .max_by_key(|z| z.name.len())
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// The record-set changes for one zone: each owner's current TXT values plus (or minus) ours.
#[must_use]
pub fn changes(action: Action, existing: &[RrSet], records: &[&ChallengeRecord]) -> Vec<RrSet> {
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in records {
        let values = owners.entry(record.fqdn.to_ascii_lowercase()).or_default();
        let quoted = format!("\"{}\"", record.value);
        if !values.contains(&quoted) {
            values.push(quoted);
        }
    }
    let mut out = Vec::new();
    for (owner, ours) in owners {
        let current = existing
            .iter()
            .find(|s| s.rtype == "TXT" && same_name(&s.name, &owner));
        let mut records: Vec<Entry> = current.map(|s| s.records.clone()).unwrap_or_default();
        let before = records.len();
        match action {
            Action::Add => {
                for value in ours {
                    if !records.iter().any(|r| r.content == value) {
                        records.push(Entry {
                            content: value,
                            disabled: false,
                        });
                    }
                }
            }
            Action::Delete => records.retain(|r| !ours.contains(&r.content)),
        }
        if records.len() == before {
            continue;
        }
        let changetype = if records.is_empty() {
            "DELETE"
        } else {
            "REPLACE"
        };
        out.push(RrSet {
            name: owner,
            rtype: "TXT".into(),
            ttl: Some(current.and_then(|s| s.ttl).unwrap_or(TTL)),
            changetype: Some(changetype.into()),
            records,
        });
    }
    out
}

impl Solver for PowerDnsSolver {
    fn describe(&self) -> String {
        format!(
            "powerdns solver for {} ({} server {})",
            self.domain, self.api_url, self.server_id
        )
    }

    fn present<'a>(&'a self, records: &'a [ChallengeRecord]) -> SolverFuture<'a> {
        provider_step(self.describe(), self.apply(Action::Add, records))
    }

    fn cleanup<'a>(&'a self, records: &'a [ChallengeRecord]) -> SolverFuture<'a> {
        provider_step(self.describe(), self.apply(Action::Delete, records))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> ZoneInfo {
        ZoneInfo {
            id: name.into(),
            name: name.into(),
        }
    }

    fn record(fqdn: &str, value: &str) -> ChallengeRecord {
        ChallengeRecord {
            identifier: String::new(),
            fqdn: fqdn.into(),
            value: value.into(),
        }
    }

    #[test]
    fn longest_zone_wins() {
        let zones = [
            zone("test."),
            zone("example.test."),
            zone("sub.example.test."),
        ];
        let cases = [
            ("_acme-challenge.example.test.", Some("example.test.")),
            (
                "_acme-challenge.a.sub.example.test.",
                Some("sub.example.test."),
            ),
            ("_acme-challenge.notexample.test.", Some("test.")),
            ("_acme-challenge.example.org.", None),
        ];
        for (fqdn, want) in cases {
            assert_eq!(
                zone_for(&zones, fqdn).map(|z| z.name.as_str()),
                want,
                "{fqdn}"
            );
        }
    }

    #[test]
    fn other_txt_values_are_kept() {
        let owner = "_acme-challenge.example.test.";
        let existing = [RrSet {
            name: owner.into(),
            rtype: "TXT".into(),
            ttl: Some(120),
            changetype: None,
            records: vec![Entry {
                content: "\"other\"".into(),
                disabled: false,
            }],
        }];
        let a = record(owner, "a");
        let b = record("_acme-challenge.www.example.test.", "b");
        let add = changes(Action::Add, &existing, &[&a, &b, &a]);
        assert_eq!(add.len(), 2);
        let apex = add.iter().find(|c| c.name == owner).unwrap();
        let contents: Vec<_> = apex.records.iter().map(|r| r.content.as_str()).collect();
        assert_eq!(contents, ["\"other\"", "\"a\""]);
        assert_eq!(apex.ttl, Some(120));
        assert_eq!(apex.changetype.as_deref(), Some("REPLACE"));

        let after_add = [RrSet {
            records: apex.records.clone(),
            ..existing[0].clone()
        }];
        let delete = changes(Action::Delete, &after_add, &[&a, &b]);
        assert_eq!(delete.len(), 1, "b was never there: nothing to change");
        assert_eq!(delete[0].records.len(), 1);
        assert_eq!(delete[0].records[0].content, "\"other\"");
        let alone = changes(
            Action::Delete,
            &[RrSet {
                records: vec![Entry {
                    content: "\"a\"".into(),
                    disabled: false,
                }],
                ..existing[0].clone()
            }],
            &[&a],
        );
        assert_eq!(alone[0].changetype.as_deref(), Some("DELETE"));
    }
}
