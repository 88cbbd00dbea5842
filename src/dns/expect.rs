//! What must be served where: one [`Expectation`] per challenge owner name, built from an
//! order's records or a certificate's names and the solver configuration.

use serde::Serialize;

use super::probe::HopRule;
use crate::config::{Config, DomainConfig};
use crate::domain::names;

/// What must be served at one `_acme-challenge` owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expectation {
    /// The owner name, lower case, without the trailing dot.
    pub owner: String,
    /// TXT values that must all be served (at the end of the CNAME path). Empty: whatever
    /// any server serves, all must serve.
    pub txt: Vec<String>,
    /// The CNAME target the owner must point to, when one is configured.
    pub cname: Option<String>,
}

/// `Example.com.` → `example.com`.
#[must_use]
pub fn plain(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Expectation {
    /// An expectation for `owner`.
    #[must_use]
    pub fn new(owner: &str, txt: Vec<String>, cname: Option<&str>) -> Self {
        Self {
            owner: plain(owner),
            txt,
            cname: cname.map(plain),
        }
    }

    /// What the owner's own zone servers must serve.
    #[must_use]
    pub fn first_rule(&self) -> HopRule {
        match &self.cname {
            Some(target) => HopRule::Cname {
                target: target.clone(),
            },
            None => self.last_rule(),
        }
    }

    /// What the end of the CNAME path must serve.
    #[must_use]
    pub fn last_rule(&self) -> HopRule {
        HopRule::Txt {
            values: self.txt.clone(),
        }
    }
}

/// The CNAME target configured for a certificate name's challenge owner: the acme-dns
/// registration's `fulldomain` when the name's solver is acme-dns.
#[must_use]
pub fn configured_cname(config: &Config, name: &str) -> Option<String> {
    let base = names::base_domain(name);
    match config.solver_for(base) {
        Some((_, DomainConfig::AcmeDns { .. })) => {
            config.acme_dns.get(base).map(|r| plain(&r.fulldomain))
        }
        _ => None,
    }
}

/// One expectation per owner for an order's records, given as (identifier, TXT value):
/// a wildcard and its apex share one owner and both values.
#[must_use]
pub fn for_records<'a>(
    config: &Config,
    records: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<Expectation> {
    let mut out: Vec<Expectation> = Vec::new();
    for (identifier, value) in records {
        let owner = plain(&names::challenge_owner(identifier));
        match out.iter_mut().find(|e| e.owner == owner) {
            Some(e) => {
                if !e.txt.iter().any(|v| v == value) {
                    e.txt.push(value.to_owned());
                }
            }
            None => out.push(Expectation {
                owner,
                txt: vec![value.to_owned()],
                cname: configured_cname(config, identifier),
            }),
        }
    }
    out
}

/// One expectation per challenge owner of `cert_names`, with `txt` values (outside an order
/// they are not known, so usually none) and the configured CNAMEs.
#[must_use]
pub fn for_names(config: &Config, cert_names: &[String], txt: &[String]) -> Vec<Expectation> {
    let mut out: Vec<Expectation> = Vec::new();
    for name in cert_names {
        let owner = plain(&names::challenge_owner(name));
        if out.iter().all(|e| e.owner != owner) {
            out.push(Expectation {
                owner,
                txt: txt.to_vec(),
                cname: configured_cname(config, name),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AcmeDnsRegistration;

    fn config() -> Config {
        let mut cfg = Config::default();
        cfg.domains
            .insert("example.com".into(), DomainConfig::Manual);
        cfg.domains.insert(
            "dns.example.org".into(),
            DomainConfig::AcmeDns {
                server: "https://auth.example.net".into(),
            },
        );
        cfg.acme_dns.insert(
            "dns.example.org".into(),
            AcmeDnsRegistration {
                server: "https://auth.example.net".into(),
                username: "u".into(),
                subdomain: "d420c923".into(),
                fulldomain: "D420c923.auth.example.net.".into(),
                allowfrom: Vec::new(),
            },
        );
        cfg
    }

    #[test]
    fn records_group_by_owner_with_configured_cnames() {
        let cfg = config();
        let got = for_records(
            &cfg,
            [
                ("example.com", "a"),
                ("*.example.com", "b"),
                ("*.example.com", "b"),
                ("dns.example.org", "c"),
                ("*.dns.example.org", "d"),
            ],
        );
        let want = vec![
            Expectation::new(
                "_acme-challenge.example.com",
                vec!["a".into(), "b".into()],
                None,
            ),
            Expectation::new(
                "_acme-challenge.dns.example.org",
                vec!["c".into(), "d".into()],
                Some("d420c923.auth.example.net"),
            ),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn configured_cnames_need_acme_dns_and_a_registration() {
        let mut cfg = config();
        cfg.domains.insert(
            "other.org".into(),
            DomainConfig::AcmeDns {
                server: "https://auth.example.net".into(),
            },
        );
        let cases = [
            ("dns.example.org", Some("d420c923.auth.example.net")),
            ("*.dns.example.org", Some("d420c923.auth.example.net")),
            ("example.com", None),
            ("other.org", None),
            ("unconfigured.net", None),
        ];
        for (name, want) in cases {
            assert_eq!(configured_cname(&cfg, name).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn certificate_names_share_owners() {
        let cfg = config();
        let names = vec![
            "example.com".to_owned(),
            "*.example.com".to_owned(),
            "www.example.com".to_owned(),
        ];
        let got: Vec<String> = for_names(&cfg, &names, &[])
            .into_iter()
            .map(|e| e.owner)
            .collect();
        assert_eq!(
            got,
            [
                "_acme-challenge.example.com",
                "_acme-challenge.www.example.com"
            ]
        );
    }
}
