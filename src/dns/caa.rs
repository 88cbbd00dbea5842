//! Finding the CAA records that govern a name (RFC 8659 §3): the record set at the name
//! itself (CNAMEs followed, as any resolution does), else at its parent, and so on up to the
//! top-level domain. The decision itself is `domain::caa`.

use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;

use crate::domain::caa::CaaRecord;

/// Most CNAMEs followed from one name.
const MAX_CNAMES: usize = 8;

/// The relevant record set of a name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Relevant {
    /// The name the set was found at (climbing from the name asked about); `None` when no
    /// name up to the top-level domain has CAA records.
    pub owner: Option<String>,
    /// The CNAME chain from `owner` to the records, if any.
    pub via: Vec<String>,
    /// The records.
    pub records: Vec<CaaRecord>,
}

/// The relevant CAA set for `name` (a wildcard's `*.` is ignored: its base is climbed).
///
/// # Errors
/// A lookup failed for another reason than "no such record" (a timeout, SERVFAIL).
pub async fn relevant(resolver: &TokioResolver, name: &str) -> Result<Relevant, String> {
    let base = name.trim_start_matches("*.").trim_end_matches('.');
    let labels: Vec<&str> = base.split('.').collect();
    // Every suffix with at least two labels: the top-level domain's own set is not asked for.
    for start in 0..labels.len().saturating_sub(1) {
        let candidate = labels[start..].join(".");
        let (records, via) = at(resolver, &candidate).await?;
        if !records.is_empty() {
            return Ok(Relevant {
                owner: Some(candidate),
                via,
                records,
            });
        }
    }
    Ok(Relevant::default())
}

/// The CAA records at `name`, following CNAMEs the server answers with but does not chase.
async fn at(resolver: &TokioResolver, name: &str) -> Result<(Vec<CaaRecord>, Vec<String>), String> {
    let mut via = Vec::new();
    let mut current = format!("{name}.");
    for _ in 0..=MAX_CNAMES {
        let lookup = match resolver.lookup(current.as_str(), RecordType::CAA).await {
            Ok(lookup) => lookup,
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => return Ok((Vec::new(), via)),
            Err(e) => return Err(format!("CAA lookup of {current}: {e}")),
        };
        let mut records = Vec::new();
        // A server that chased the chain itself still lists it: kept for the report.
        let mut chain = Vec::new();
        for record in lookup.answers() {
            match &record.data {
                RData::CAA(caa) => records.push(CaaRecord {
                    critical: caa.issuer_critical,
                    tag: caa.tag.clone(),
                    value: String::from_utf8_lossy(&caa.value).into_owned(),
                }),
                RData::CNAME(target) => chain.push(target.0.to_ascii()),
                _ => {}
            }
        }
        via.extend(chain.iter().map(|t| t.trim_end_matches('.').to_owned()));
        match chain.last() {
            Some(target) if records.is_empty() => current.clone_from(target),
            _ => return Ok((records, via)),
        }
    }
    Err(format!(
        "CAA lookup of {name}: more than {MAX_CNAMES} CNAMEs"
    ))
}
