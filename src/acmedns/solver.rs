//! The `acme-dns` solver: TXT values go to the acme-dns account the domain's
//! `_acme-challenge` CNAME points at.
//!
//! Capacity: an account serves its two newest TXT values. Within one order, the records of
//! each account are counted first; more than two is refused with the split to make (nothing is
//! sent). Across orders in one process (`renew --all`, the dashboard), each account is held
//! from `present` to `cleanup`, so a second order for the same account waits instead of
//! evicting the first one's values.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OwnedMutexGuard;

use super::delegation::{check_delegation_on, expected_record};
use super::slots::{self, TxtView};
use super::{AcmeDnsClient, AcmeDnsError, Credentials, Password, ServerUrl};
use crate::config::{AcmeDnsRegistration, Config};
use crate::secrets::blocking;
use crate::secrets::{Keystore, SecretRef};
use crate::solver::{ChallengeRecord, Solver, SolverError, SolverFuture};

/// Values one account can serve at once.
pub const ACCOUNT_CAPACITY: usize = 2;

/// Settings of the solver besides the configuration.
#[derive(Debug, Clone)]
pub struct SolverOptions {
    /// Extra CA certificates for the acme-dns server's TLS.
    pub ca_bundle: Option<PathBuf>,
    /// Resolvers (`IP[:PORT]`) through which the CNAME and the account's TXT values are
    /// checked; the system's when empty.
    pub resolvers: Vec<String>,
    /// How long to wait for the values to be served (and for another order to finish).
    pub timeout: Duration,
    /// The port authoritative servers are asked on (`settings.authoritative_port`).
    pub port: u16,
}

/// The TXT values one account must serve for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPlan {
    /// The domain the registration is stored under.
    pub domain: String,
    /// The registration.
    pub registration: AcmeDnsRegistration,
    /// The names validated through it.
    pub identifiers: Vec<String>,
    /// The distinct values, in record order.
    pub values: Vec<String>,
}

/// Group `records` by the account that serves them and apply the capacity guard.
///
/// # Errors
/// [`AcmeDnsError::NoRegistration`] / [`AcmeDnsError::ServerMismatch`] for a name without a
/// usable registration, [`AcmeDnsError::Capacity`] when an account would need more than two
/// values.
pub fn plan(
    registrations: &BTreeMap<String, AcmeDnsRegistration>,
    mapped_server: &str,
    records: &[ChallengeRecord],
) -> Result<Vec<AccountPlan>, AcmeDnsError> {
    let mut plans: BTreeMap<(String, String), AccountPlan> = BTreeMap::new();
    for record in records {
        let (domain, reg, _) =
            expected_record(registrations, &record.identifier, Some(mapped_server))?;
        let key = (
            reg.server.trim_end_matches('/').to_owned(),
            reg.subdomain.clone(),
        );
        let plan = plans.entry(key).or_insert_with(|| AccountPlan {
            domain: domain.to_owned(),
            registration: reg.clone(),
            identifiers: Vec::new(),
            values: Vec::new(),
        });
        plan.identifiers.push(record.identifier.clone());
        if !plan.values.contains(&record.value) {
            plan.values.push(record.value.clone());
        }
    }
    let plans: Vec<AccountPlan> = plans.into_values().collect();
    if let Some(full) = plans.iter().find(|p| p.values.len() > ACCOUNT_CAPACITY) {
        return Err(AcmeDnsError::Capacity(capacity_message(full)));
    }
    Ok(plans)
}

fn capacity_message(plan: &AccountPlan) -> String {
    let reg = &plan.registration;
    let mut own: Vec<&str> = plan
        .identifiers
        .iter()
        .map(|n| crate::domain::names::base_domain(n))
        .filter(|base| *base != plan.domain)
        .collect();
    own.dedup();
    let registers: Vec<String> = own
        .iter()
        .map(|base| {
            format!(
                "`certpilot acme-dns register {base} --server {}` (then point _acme-challenge.{base} at the new fulldomain)",
                reg.server
            )
        })
        .collect();
    format!(
        "{} TXT values would go to the acme-dns account {} (registered for {}) for {}, but an \
         acme-dns account serves only {ACCOUNT_CAPACITY} at a time (enough for a name and its \
         wildcard). Nothing was sent. Split it: give the other names their own registrations{}, \
         or put them into separate certificates.",
        plan.values.len(),
        reg.fulldomain,
        plan.domain,
        plan.identifiers.join(", "),
        if registers.is_empty() {
            String::new()
        } else {
            format!(": {}", registers.join("; "))
        },
    )
}

/// The `acme-dns` solver of one domain mapping.
pub struct AcmeDnsSolver {
    scope: String,
    server: String,
    registrations: BTreeMap<String, AcmeDnsRegistration>,
    keystore: Keystore,
    options: SolverOptions,
    held: Mutex<Vec<OwnedMutexGuard<()>>>,
}

impl AcmeDnsSolver {
    /// The solver for `scope` (a `domain set` entry) mapped to `server`.
    ///
    /// # Errors
    /// [`AcmeDnsError::NoRegistration`] when no registration covers `scope` or a name below
    /// it; [`AcmeDnsError::BadServerUrl`] for an unusable URL.
    pub fn new(
        config: &Config,
        scope: &str,
        server: &str,
        keystore: Keystore,
        options: SolverOptions,
    ) -> Result<Self, AcmeDnsError> {
        // The stored URL passed the transport policy when it was registered or imported.
        let url = ServerUrl::parse(server, true)?;
        let below = format!(".{scope}");
        let covered = super::registration_for(&config.acme_dns, scope).is_some()
            || config.acme_dns.keys().any(|d| d.ends_with(&below));
        if !covered {
            return Err(AcmeDnsError::NoRegistration {
                domain: scope.to_owned(),
                server: Some(server.to_owned()),
            });
        }
        Ok(Self {
            scope: scope.to_owned(),
            server: url.as_str().to_owned(),
            registrations: config.acme_dns.clone(),
            keystore,
            options,
            held: Mutex::default(),
        })
    }

    async fn present_all(&self, records: &[ChallengeRecord]) -> Result<(), AcmeDnsError> {
        let plans = plan(&self.registrations, &self.server, records)?;
        self.verify_cnames(records).await?;
        self.hold(&plans).await?;
        let runs = plans.iter().map(|p| self.publish(p));
        futures::future::join_all(runs).await.into_iter().collect()
    }

    /// Refuse before any update when a CNAME is missing or wrong: the CA would fail the
    /// validation, and failed validations count against its rate limits.
    async fn verify_cnames(&self, records: &[ChallengeRecord]) -> Result<(), AcmeDnsError> {
        let mut problems = Vec::new();
        let mut seen = Vec::new();
        for record in records {
            let (domain, _, cname) =
                expected_record(&self.registrations, &record.identifier, Some(&self.server))?;
            if seen.contains(&cname.owner) {
                continue;
            }
            seen.push(cname.owner.clone());
            let check =
                check_delegation_on(&cname, domain, &self.options.resolvers, self.options.port)
                    .await?;
            problems.extend(check.problems());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(AcmeDnsError::Delegation(problems))
        }
    }

    /// Take every account of the order, in a fixed order so two orders cannot deadlock.
    async fn hold(&self, plans: &[AccountPlan]) -> Result<(), AcmeDnsError> {
        let started = Instant::now();
        for p in plans {
            let key = format!(
                "{} {}",
                p.registration.server.trim_end_matches('/'),
                p.registration.subdomain
            );
            // One lock per account in this process, held from `present` to `cleanup`.
            let lock = crate::lock::turn(&key);
            let remaining = self.options.timeout.saturating_sub(started.elapsed());
            let guard = tokio::time::timeout(remaining, lock.lock_owned())
                .await
                .map_err(|_| AcmeDnsError::Busy {
                    fulldomain: p.registration.fulldomain.clone(),
                    waited: started.elapsed(),
                })?;
            self.held
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(guard);
        }
        Ok(())
    }

    async fn publish(&self, plan: &AccountPlan) -> Result<(), AcmeDnsError> {
        let reg = &plan.registration;
        let creds = self.credentials(&plan.domain, reg).await?;
        let url = ServerUrl::parse(&reg.server, true)?;
        if ServerUrl::parse(&reg.server, false).is_err() {
            // Allowed explicitly at registration or import; still worth a line in the log.
            tracing::warn!(server = %url, "acme-dns update over plain http to a remote server");
        }
        let client = AcmeDnsClient::new(url, self.options.ca_bundle.as_deref())?;
        let mut view = TxtView::new(&self.options.resolvers, self.options.port)?;
        slots::publish(
            &client,
            &creds,
            &mut view,
            &reg.fulldomain,
            &plan.values,
            self.options.timeout,
        )
        .await
    }

    async fn credentials(
        &self,
        domain: &str,
        reg: &AcmeDnsRegistration,
    ) -> Result<Credentials, AcmeDnsError> {
        let keystore = self.keystore.clone();
        let entry = SecretRef::AcmeDns(domain.to_owned());
        let password = blocking(move || keystore.get(&entry))
            .await?
            .ok_or_else(|| AcmeDnsError::MissingPassword {
                domain: domain.to_owned(),
                server: reg.server.clone(),
            })?;
        Ok(Credentials {
            username: reg.username.clone(),
            password: Password::new(password),
            subdomain: reg.subdomain.clone(),
        })
    }

    fn fail(&self, e: &AcmeDnsError) -> SolverError {
        SolverError::Spawn {
            command: self.describe(),
            source: std::io::Error::other(e.to_string()),
        }
    }
}

impl Solver for AcmeDnsSolver {
    fn describe(&self) -> String {
        format!("acme-dns solver for {} ({})", self.scope, self.server)
    }

    fn present<'a>(&'a self, records: &'a [ChallengeRecord]) -> SolverFuture<'a> {
        Box::pin(async move { self.present_all(records).await.map_err(|e| self.fail(&e)) })
    }

    /// acme-dns has no delete: the values stay until the next update overwrites them. What
    /// ends here is this order's hold on its accounts.
    fn cleanup<'a>(&'a self, _records: &'a [ChallengeRecord]) -> SolverFuture<'a> {
        Box::pin(async move {
            self.held
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str = "https://auth.example.org";

    fn regs(entries: &[(&str, &str)]) -> BTreeMap<String, AcmeDnsRegistration> {
        entries
            .iter()
            .map(|(domain, sub)| {
                let reg = AcmeDnsRegistration {
                    server: SERVER.into(),
                    username: format!("user-{sub}"),
                    subdomain: (*sub).into(),
                    fulldomain: format!("{sub}.auth.example.org"),
                    allowfrom: Vec::new(),
                };
                ((*domain).to_owned(), reg)
            })
            .collect()
    }

    fn rec(identifier: &str, value: &str) -> ChallengeRecord {
        let base = crate::domain::names::base_domain(identifier);
        ChallengeRecord {
            identifier: identifier.into(),
            fqdn: format!("_acme-challenge.{base}."),
            value: value.into(),
        }
    }

    #[test]
    fn apex_and_wildcard_fit_one_account() {
        let plans = plan(
            &regs(&[("example.com", "a")]),
            SERVER,
            &[rec("example.com", "v1"), rec("*.example.com", "v2")],
        )
        .unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].values, ["v1", "v2"]);
        assert_eq!(plans[0].identifiers, ["example.com", "*.example.com"]);
    }

    #[test]
    fn names_with_their_own_registrations_are_grouped_apart() {
        let regs = regs(&[("example.com", "a"), ("www.example.com", "w")]);
        let records = [
            rec("example.com", "v1"),
            rec("*.example.com", "v2"),
            rec("www.example.com", "v3"),
        ];
        let plans = plan(&regs, SERVER, &records).unwrap();
        let got: Vec<_> = plans
            .iter()
            .map(|p| (p.domain.as_str(), p.values.len()))
            .collect();
        assert_eq!(got, [("example.com", 2), ("www.example.com", 1)]);
    }

    #[test]
    fn a_third_value_on_one_account_is_refused_with_the_split() {
        let records = [
            rec("example.com", "v1"),
            rec("*.example.com", "v2"),
            rec("www.example.com", "v3"),
        ];
        let e = plan(&regs(&[("example.com", "a")]), SERVER, &records).unwrap_err();
        assert!(e.is_usage());
        let text = e.to_string();
        for want in [
            "3 TXT values would go to the acme-dns account a.auth.example.org (registered for example.com)",
            "for example.com, *.example.com, www.example.com",
            "serves only 2",
            "Nothing was sent",
            "`certpilot acme-dns register www.example.com --server https://auth.example.org`",
            "separate certificates",
        ] {
            assert!(text.contains(want), "want {want:?} in {text}");
        }
    }

    #[test]
    fn the_same_account_under_two_domains_counts_once() {
        let mut regs = regs(&[("example.com", "a"), ("example.net", "b")]);
        let shared = regs["example.com"].clone();
        regs.insert("example.net".into(), shared);
        let records = [
            rec("example.com", "v1"),
            rec("example.net", "v2"),
            rec("*.example.net", "v3"),
        ];
        let e = plan(&regs, SERVER, &records).unwrap_err();
        assert!(e.to_string().contains("3 TXT values"), "{e}");
        assert!(plan(&regs, SERVER, &records[..2]).is_ok());
    }

    #[test]
    fn duplicate_values_count_once_and_missing_registration_names_the_command() {
        let regs = regs(&[("example.com", "a")]);
        let records = [
            rec("example.com", "v1"),
            rec("example.com", "v1"),
            rec("*.example.com", "v2"),
        ];
        assert_eq!(plan(&regs, SERVER, &records).unwrap()[0].values.len(), 2);
        let e = plan(&regs, SERVER, &[rec("example.org", "v")]).unwrap_err();
        assert!(
            e.to_string().contains(
                "certpilot acme-dns register example.org --server https://auth.example.org"
            ),
            "{e}"
        );
    }
}
