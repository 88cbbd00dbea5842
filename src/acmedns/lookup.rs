//! DNS lookups for the delegation check and for waiting on an account's TXT values: the
//! configured resolvers (or the system's), without a cache, so every poll sees the servers'
//! answer of now.

use std::collections::BTreeSet;

use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;

use super::AcmeDnsError;
use crate::dns::visibility::uncached_resolver;

/// A cache-less resolver.
#[derive(Clone)]
pub(crate) struct Lookup {
    resolver: TokioResolver,
}

impl Lookup {
    /// Use `resolvers` (`IP[:PORT]`), or the system's when empty.
    pub(crate) fn new(resolvers: &[String]) -> Result<Self, AcmeDnsError> {
        let resolver =
            uncached_resolver(resolvers).map_err(|e| AcmeDnsError::Dns(e.to_string()))?;
        Ok(Self { resolver })
    }

    /// The CNAME target at `name` (lower case, no trailing dot), `None` when there is none.
    pub(crate) async fn cname(&self, name: &str) -> Result<Option<String>, String> {
        let records = self.records(name, RecordType::CNAME).await?;
        Ok(records.into_iter().find_map(|data| match data {
            RData::CNAME(target) => Some(
                target
                    .0
                    .to_ascii()
                    .trim_end_matches('.')
                    .to_ascii_lowercase(),
            ),
            _ => None,
        }))
    }

    /// The TXT values at `name` (empty for NXDOMAIN / no records).
    pub(crate) async fn txt(&self, name: &str) -> Result<BTreeSet<String>, String> {
        let records = self.records(name, RecordType::TXT).await?;
        Ok(records
            .into_iter()
            .filter_map(|data| match data {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|part| String::from_utf8_lossy(part).into_owned())
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect())
    }

    /// The answers of `kind` at `name` itself (not the records of a CNAME chain).
    async fn records(&self, name: &str, kind: RecordType) -> Result<Vec<RData>, String> {
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match self.resolver.lookup(fqdn.as_str(), kind).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() == kind)
                .filter(|r| r.name.to_ascii().eq_ignore_ascii_case(&fqdn))
                .map(|r| r.data.clone())
                .collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
            Err(e) => Err(e.to_string()),
        }
    }
}
