//! Is `_acme-challenge.<domain>` a CNAME to the account's fulldomain? Checked before an
//! order: a missing or wrong CNAME makes every validation fail, and failed validations count
//! against the CA's rate limits.
//!
//! Every address of every authoritative server of the owner's zone is asked directly (the
//! propagation checker, [`crate::dns::Prober`]), so a secondary that has not caught up is
//! found before the CA finds it. When the resolvers refuse the questions zone discovery
//! needs, their own view is used instead.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Duration;

use hickory_proto::rr::Name;

use super::lookup::Lookup;
use super::records::CnameRecord;
use super::{registration_for, AcmeDnsError, ServerUrl};
use crate::config::{AcmeDnsRegistration, Config, DomainConfig};
use crate::dns::hints::Hint;
use crate::dns::probe::{ProbeResult, Status};
use crate::dns::query::{QueryOptions, Transport};
use crate::dns::zone::Discovery;
use crate::dns::{Expectation, Prober};
use crate::domain::names;

/// What one source of answers says about the CNAME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DelegationState {
    /// The owner is a CNAME to the fulldomain.
    Delegated,
    /// No CNAME at the owner.
    Missing {
        /// TXT records found at the owner instead (a TXT instead of the CNAME, or leftovers).
        txt_records: usize,
        /// A CNAME to the fulldomain at a doubled name (`<owner>.<zone>`): a web UI appended
        /// the zone to an absolute name.
        doubled: Option<String>,
    },
    /// A CNAME to another name (an old registration, a typo).
    Elsewhere {
        /// The target found.
        target: String,
    },
    /// The right CNAME, but other records beside it, which DNS forbids.
    Crowded,
    /// No answer (timeout, SERVFAIL, lame server): nothing is known.
    Failed(String),
}

impl fmt::Display for DelegationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Delegated => f.write_str("delegated"),
            Self::Missing { txt_records: 0, .. } => f.write_str("no CNAME"),
            Self::Missing { txt_records, .. } => {
                write!(f, "no CNAME ({txt_records} TXT record(s) instead)")
            }
            Self::Elsewhere { target } => write!(f, "CNAME to {target}"),
            Self::Crowded => f.write_str("CNAME with other records beside it"),
            Self::Failed(e) => write!(f, "no answer: {e}"),
        }
    }
}

/// The delegation of one domain, as each source sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationCheck {
    /// The record that must exist.
    pub record: CnameRecord,
    /// The domain whose registration it points to.
    pub registration: String,
    /// The zone holding the owner, when discovery found it.
    pub zone: Option<String>,
    /// Each source (resolver set or nameserver) and its view.
    pub answers: Vec<(String, DelegationState)>,
}

impl DelegationCheck {
    /// Whether the delegation is in place: no source answers that it is not, and at least
    /// one answers that it is (an address that does not answer at all does not block).
    #[must_use]
    pub fn is_delegated(&self) -> bool {
        let states = || self.answers.iter().map(|(_, s)| s);
        states().any(|s| *s == DelegationState::Delegated)
            && states()
                .all(|s| matches!(s, DelegationState::Delegated | DelegationState::Failed(_)))
    }

    /// Sources that did not answer, while others did: worth a warning, not a refusal.
    #[must_use]
    pub fn silent(&self) -> Vec<String> {
        if !self.is_delegated() {
            return Vec::new();
        }
        self.answers
            .iter()
            .filter_map(|(source, state)| match state {
                DelegationState::Failed(e) => Some(format!("{}: {source}: {e}", self.record.owner)),
                _ => None,
            })
            .collect()
    }

    /// One line per source that does not see it, naming the exact record to fix.
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let owner = &self.record.owner;
        let line = self.record.zone_line();
        self.answers
            .iter()
            .filter_map(|(source, state)| match state {
                DelegationState::Delegated => None,
                DelegationState::Missing {
                    txt_records,
                    doubled,
                } => {
                    let mut text = format!("{owner}: no CNAME ({source}); create {line}");
                    if *txt_records > 0 {
                        let _ = write!(
                            text,
                            " and delete the {txt_records} TXT record(s) at {owner}"
                        );
                    }
                    if let Some(doubled) = doubled {
                        let _ = write!(
                            text,
                            "; the CNAME exists at {doubled}: the DNS web UI appended the zone, \
                             so enter the name relative to the zone"
                        );
                    }
                    Some(text)
                }
                DelegationState::Elsewhere { target } => Some(format!(
                    "{owner}: CNAME to {target} ({source}), but the acme-dns registration of {} \
                     is {}; change the record to {line}",
                    self.registration, self.record.target
                )),
                DelegationState::Crowded => Some(format!(
                    "{owner}: the CNAME is right but has other records beside it ({source}); \
                     delete every other record at {owner}"
                )),
                DelegationState::Failed(_) if self.is_delegated() => None,
                DelegationState::Failed(e) => Some(format!(
                    "{owner}: cannot check the CNAME ({source}): {e}; expected {line}"
                )),
            })
            .collect()
    }
}

/// Ask every authoritative address of the owner's zone, discovered through `resolvers` (the
/// system's when empty); the resolvers themselves when they refuse discovery.
///
/// # Errors
/// [`AcmeDnsError::Dns`] when a resolver address is unusable; failed lookups are reported in
/// the result as [`DelegationState::Failed`].
pub async fn check_delegation(
    record: &CnameRecord,
    registration: &str,
    resolvers: &[String],
) -> Result<DelegationCheck, AcmeDnsError> {
    check_delegation_on(record, registration, resolvers, 53).await
}

/// [`check_delegation`] with authoritative servers asked on `port`
/// (`settings.authoritative_port`).
///
/// # Errors
/// As [`check_delegation`].
pub async fn check_delegation_on(
    record: &CnameRecord,
    registration: &str,
    resolvers: &[String],
    port: u16,
) -> Result<DelegationCheck, AcmeDnsError> {
    let prober = Prober::new(resolvers)
        .map_err(|e| AcmeDnsError::Dns(e.to_string()))?
        .on_port(port);
    let expected = Expectation::new(&record.owner, Vec::new(), Some(&record.target));
    let report = prober.check(&[expected]).await;
    let check = |zone: Option<&String>, answers| DelegationCheck {
        record: record.clone(),
        registration: registration.to_owned(),
        zone: zone.cloned(),
        answers,
    };
    let Some(name) = report.names.first() else {
        return Ok(check(None, Vec::new()));
    };
    if let Some(hop) = name.hops.first() {
        let doubled = name.hints.iter().find_map(|h| match h {
            Hint::ZoneAppendedTwice { found_at, .. } => Some(found_at.clone()),
            _ => None,
        });
        let answers = hop
            .results
            .iter()
            .map(|r| {
                (
                    format!("{} {}", r.server, r.address),
                    state_of(r, record, doubled.as_ref()),
                )
            })
            .collect();
        return Ok(check(Some(&hop.zone.apex), answers));
    }
    let error = name
        .error
        .clone()
        .unwrap_or_else(|| "no authoritative server".into());
    if !name.permanent {
        let failed = DelegationState::Failed(error);
        return Ok(check(None, vec![("zone discovery".to_owned(), failed)]));
    }
    tracing::info!(error, "zone discovery refused; asking the resolvers");
    let lookup = Lookup::new(resolvers)?;
    let source = if resolvers.is_empty() {
        "system resolvers".to_owned()
    } else {
        format!("resolver {}", resolvers.join(", "))
    };
    Ok(check(
        None,
        vec![(source, resolver_state(&lookup, record).await)],
    ))
}

/// The zone `name` lives in, when discovery through `resolvers` finds it `within` a bound
/// (best effort: it only makes the printed instructions more precise).
pub async fn zone_of(name: &str, resolvers: &[String], within: Duration) -> Option<String> {
    let prober = Prober::new(resolvers).ok()?;
    let transport = Transport::new(QueryOptions::default());
    let discovery = Discovery::new(transport, prober.resolvers().to_vec());
    let qname = Name::from_ascii(format!("{}.", name.trim_end_matches('.'))).ok()?;
    let zone = tokio::time::timeout(within, discovery.zone_of(&qname))
        .await
        .ok()?
        .ok()?;
    Some(zone.apex)
}

/// One authoritative address's answer.
fn state_of(r: &ProbeResult, record: &CnameRecord, doubled: Option<&String>) -> DelegationState {
    match (r.status, &r.cname) {
        (Status::Match, _) => DelegationState::Delegated,
        (_, Some(target)) if *target == record.target => DelegationState::Crowded,
        (_, Some(target)) => DelegationState::Elsewhere {
            target: target.clone(),
        },
        (Status::Missing | Status::Nxdomain | Status::Mismatch, None) => DelegationState::Missing {
            txt_records: r.values.len(),
            doubled: doubled.cloned(),
        },
        (status, None) => DelegationState::Failed(match &r.detail {
            Some(detail) => format!("{status}: {detail}"),
            None => status.to_string(),
        }),
    }
}

/// The resolvers' view, for resolvers that refuse zone discovery.
async fn resolver_state(lookup: &Lookup, record: &CnameRecord) -> DelegationState {
    match lookup.cname(&record.owner).await {
        Ok(Some(target)) if target == record.target => DelegationState::Delegated,
        Ok(Some(target)) => DelegationState::Elsewhere { target },
        Ok(None) => DelegationState::Missing {
            txt_records: lookup.txt(&record.owner).await.map_or(0, |v| v.len()),
            doubled: None,
        },
        Err(e) => DelegationState::Failed(e),
    }
}

/// The registration for `name` and the record it needs, checked against the domain mapping.
///
/// # Errors
/// [`AcmeDnsError::NoRegistration`] naming the command to run, or
/// [`AcmeDnsError::ServerMismatch`].
pub fn expected_record<'a>(
    registrations: &'a BTreeMap<String, AcmeDnsRegistration>,
    name: &str,
    mapped_server: Option<&str>,
) -> Result<(&'a str, &'a AcmeDnsRegistration, CnameRecord), AcmeDnsError> {
    let base = names::base_domain(name);
    let (domain, reg) =
        registration_for(registrations, base).ok_or_else(|| AcmeDnsError::NoRegistration {
            domain: base.to_owned(),
            server: mapped_server.map(str::to_owned),
        })?;
    if let Some(mapped) = mapped_server {
        if same_server(mapped, &reg.server).is_none() {
            return Err(AcmeDnsError::ServerMismatch {
                domain: domain.to_owned(),
                mapped: mapped.to_owned(),
                registered: reg.server.clone(),
            });
        }
    }
    Ok((domain, reg, CnameRecord::new(base, &reg.fulldomain)))
}

/// `Some(())` when both URLs name the same server (case, trailing `/`).
fn same_server(a: &str, b: &str) -> Option<()> {
    let norm = |s: &str| {
        ServerUrl::parse(s, true).map_or_else(
            |_| s.trim().trim_end_matches('/').to_owned(),
            |u| u.as_str().to_owned(),
        )
    };
    (norm(a) == norm(b)).then_some(())
}

/// The records every acme-dns-mapped name of `names` needs, one per owner.
///
/// # Errors
/// As [`expected_record`].
pub fn required_delegations(
    config: &Config,
    names: &[String],
) -> Result<Vec<(String, CnameRecord)>, AcmeDnsError> {
    let mut out: BTreeMap<String, (String, CnameRecord)> = BTreeMap::new();
    for name in names {
        let Some((_, DomainConfig::AcmeDns { server })) = config.solver_for(name) else {
            continue;
        };
        let (domain, _, record) = expected_record(&config.acme_dns, name, Some(server))?;
        out.insert(record.owner.clone(), (domain.to_owned(), record));
    }
    Ok(out.into_values().collect())
}

/// Before an order: every name of `names` whose solver is acme-dns must have its CNAME in
/// place. Names with other solvers are skipped. Returns the checks (all delegated).
///
/// # Errors
/// [`AcmeDnsError::Delegation`] with one line per record to fix, or the errors of
/// [`required_delegations`] and [`check_delegation`].
pub async fn verify_delegation(
    config: &Config,
    names: &[String],
    resolvers: &[String],
) -> Result<Vec<DelegationCheck>, AcmeDnsError> {
    let required = required_delegations(config, names)?;
    let checks = futures::future::join_all(required.iter().map(|(domain, record)| {
        check_delegation_on(
            record,
            domain,
            resolvers,
            config.settings.authoritative_port,
        )
    }))
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    for warning in checks.iter().flat_map(DelegationCheck::silent) {
        tracing::warn!(%warning, "an authoritative address did not answer the CNAME check");
    }
    let problems: Vec<String> = checks.iter().flat_map(DelegationCheck::problems).collect();
    if problems.is_empty() {
        Ok(checks)
    } else {
        Err(AcmeDnsError::Delegation(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut cfg = Config::default();
        let server = "https://auth.example.org".to_owned();
        cfg.domains.insert(
            "example.com".into(),
            DomainConfig::AcmeDns {
                server: server.clone(),
            },
        );
        cfg.domains.insert("other.com".into(), DomainConfig::Manual);
        cfg.domains.insert(
            "moved.com".into(),
            DomainConfig::AcmeDns {
                server: "https://new.example.org".into(),
            },
        );
        for (domain, sub) in [("example.com", "a"), ("moved.com", "m")] {
            cfg.acme_dns.insert(
                domain.into(),
                AcmeDnsRegistration {
                    server: format!("{server}/"),
                    username: "u".into(),
                    subdomain: sub.into(),
                    fulldomain: format!("{sub}.auth.example.org"),
                    allowfrom: Vec::new(),
                },
            );
        }
        cfg
    }

    #[test]
    fn required_records_per_owner_skip_other_solvers() {
        let names: Vec<String> = [
            "example.com",
            "*.example.com",
            "www.example.com",
            "x.other.com",
        ]
        .map(String::from)
        .into();
        let got = required_delegations(&config(), &names).unwrap();
        let lines: Vec<_> = got
            .iter()
            .map(|(d, r)| (d.as_str(), r.zone_line()))
            .collect();
        assert_eq!(
            lines,
            [
                (
                    "example.com",
                    "_acme-challenge.example.com. IN CNAME a.auth.example.org.".to_owned()
                ),
                (
                    "example.com",
                    "_acme-challenge.www.example.com. IN CNAME a.auth.example.org.".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn missing_registration_and_server_mismatch() {
        let mut cfg = config();
        cfg.acme_dns.remove("example.com");
        let e = required_delegations(&cfg, &["*.example.com".into()]).unwrap_err();
        assert!(
            e.to_string().contains(
                "run `certpilot acme-dns register example.com --server https://auth.example.org`"
            ),
            "{e}"
        );
        let e = required_delegations(&config(), &["moved.com".into()]).unwrap_err();
        assert!(matches!(e, AcmeDnsError::ServerMismatch { .. }), "{e}");
    }

    #[test]
    fn problems_name_the_record_to_fix() {
        let record = CnameRecord::new("example.com", "a.auth.example.org");
        let check = |state| DelegationCheck {
            record: record.clone(),
            registration: "example.com".into(),
            zone: None,
            answers: vec![("resolver 127.0.0.1".into(), state)],
        };
        let line = "_acme-challenge.example.com. IN CNAME a.auth.example.org.";
        let cases = [
            (
                DelegationState::Missing {
                    txt_records: 0,
                    doubled: None,
                },
                vec!["no CNAME", line],
            ),
            (
                DelegationState::Missing {
                    txt_records: 2,
                    doubled: None,
                },
                vec!["delete the 2 TXT record(s)"],
            ),
            (
                DelegationState::Missing {
                    txt_records: 0,
                    doubled: Some("_acme-challenge.example.com.example.com".into()),
                },
                vec![
                    "exists at _acme-challenge.example.com.example.com",
                    "appended the zone",
                ],
            ),
            (
                DelegationState::Elsewhere {
                    target: "old.auth.example.org".into(),
                },
                vec!["CNAME to old.auth.example.org", line],
            ),
            (
                DelegationState::Failed("timed out".into()),
                vec!["cannot check", "timed out"],
            ),
        ];
        for (state, wants) in cases {
            let c = check(state);
            assert!(!c.is_delegated());
            let text = c.problems().join("\n");
            for want in wants {
                assert!(text.contains(want), "want {want:?} in {text}");
            }
        }
        let ok = check(DelegationState::Delegated);
        assert!(ok.is_delegated() && ok.problems().is_empty());
    }
}
