//! The dashboard's data and a certificate's detail: file I/O only, no network.

use std::path::PathBuf;

use time::OffsetDateTime;

use super::Context;
use crate::cert::inspect;
use crate::cert::store::CertStore;
use crate::config::{Config, DomainConfig};
use crate::domain::renewal::{self, CertStatus, Decision, Stored, Wanted};
use crate::inventory::{self, CertRow};
use crate::secrets::SecretRef;

/// Everything the dashboard lists.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inventory {
    /// One row per configured certificate (unsorted).
    pub rows: Vec<CertRow>,
    /// One row per configured solver domain.
    pub domains: Vec<DomainRow>,
    /// Configured account names.
    pub accounts: Vec<String>,
}

/// A solver domain as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRow {
    /// The domain (covers its subdomains).
    pub domain: String,
    /// Solver kind: `exec`, `manual` or `acme-dns`.
    pub solver: String,
    /// The hook command or the acme-dns server.
    pub target: Option<String>,
    /// For acme-dns: the CNAME target of `_acme-challenge.<domain>`, when registered.
    pub delegation: Option<String>,
}

/// Read the inventory. Blocking.
///
/// # Errors
/// The config or store error's message.
pub fn load(ctx: &Context, now: OffsetDateTime) -> Result<Inventory, String> {
    let config = ctx.config()?;
    let rows = inventory::load(&ctx.paths, &config, now).map_err(|e| e.to_string())?;
    Ok(Inventory {
        rows,
        domains: domain_rows(&config),
        accounts: config.accounts.keys().cloned().collect(),
    })
}

/// The solver mapping as rows.
#[must_use]
pub fn domain_rows(config: &Config) -> Vec<DomainRow> {
    config
        .domains
        .iter()
        .map(|(domain, cfg)| {
            let (solver, target) = match cfg {
                DomainConfig::Exec { command } => ("exec", Some(command.display().to_string())),
                DomainConfig::Manual => ("manual", None),
                DomainConfig::AcmeDns { server } => ("acme-dns", Some(server.clone())),
            };
            let delegation = matches!(cfg, DomainConfig::AcmeDns { .. })
                .then(|| config.acme_dns.get(domain).map(|r| r.fulldomain.clone()))
                .flatten();
            DomainRow {
                domain: domain.clone(),
                solver: solver.to_owned(),
                target,
                delegation,
            }
        })
        .collect()
}

/// One certificate, everything the detail screen shows.
#[derive(Debug, Clone, PartialEq)]
pub struct CertDetail {
    /// Certificate name.
    pub name: String,
    /// Configured names.
    pub names: Vec<String>,
    /// Configured key type.
    pub key_type: String,
    /// Account that will renew it.
    pub account: Option<String>,
    /// Status as on the dashboard.
    pub status: CertStatus,
    /// Whole days left, when issued.
    pub days_left: Option<i64>,
    /// Whether renewal is due now.
    pub renewal_due: bool,
    /// The renewal decision in words (why, or from when).
    pub renewal: String,
    /// The stored certificate, when there is one.
    pub issued: Option<Issued>,
    /// Where keys live (store and service).
    pub key_store: String,
    /// The chain file.
    pub chain_path: PathBuf,
}

/// Facts about the stored certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct Issued {
    /// SAN dNSNames in the certificate.
    pub sans: Vec<String>,
    /// Issuer name.
    pub issuer: String,
    /// Serial, hex.
    pub serial: String,
    /// SHA-256 fingerprint of the leaf.
    pub sha256: String,
    /// Validity start.
    pub not_before: OffsetDateTime,
    /// Validity end.
    pub not_after: OffsetDateTime,
    /// Key type of the certificate's key.
    pub key_type: String,
    /// The keyring entry of the private key.
    pub key_entry: String,
    /// Every certificate of the chain: (subject, issuer, not after).
    pub chain: Vec<(String, String, OffsetDateTime)>,
    /// Issuances certpilot knows about: (stored at, account, order URL), newest first.
    pub history: Vec<(OffsetDateTime, String, String)>,
}

/// Read one certificate's detail. Blocking.
///
/// # Errors
/// Unknown certificate, config, store or PEM errors, as messages.
pub fn detail(ctx: &Context, name: &str, now: OffsetDateTime) -> Result<CertDetail, String> {
    let config = ctx.config()?;
    let cert = config
        .certificates
        .get(name)
        .ok_or_else(|| format!("certificate {name:?} is not configured"))?;
    let store = CertStore::new(&ctx.paths.certificates);
    let stored = store.load(name).map_err(|e| e.to_string())?;
    let key_type = cert.key_type.to_string();
    let wanted = Wanted {
        names: &cert.names,
        key_type: &key_type,
        renew_days: inventory::renew_days(&config, cert),
    };
    let view = stored.as_ref().map(|s| Stored {
        names: &s.meta.names,
        key_type: &s.meta.key_type,
        not_before: s.meta.not_before,
        not_after: s.meta.not_after,
    });
    let decision = renewal::decide(&wanted, view.as_ref(), now, false);
    let (renewal_due, renewal) = match &decision {
        Decision::Renew(reason) => (true, format!("due now: {reason}")),
        Decision::Keep { renew_at } => (
            false,
            format!(
                "not due; renews from {} ({} days before expiry)",
                renew_at.date(),
                wanted.renew_days
            ),
        ),
    };
    let issued = match &stored {
        Some(stored) => Some(issued(&stored.meta, &stored.chain_pem, name)?),
        None => None,
    };
    Ok(CertDetail {
        name: name.to_owned(),
        names: cert.names.clone(),
        key_type: key_type.clone(),
        account: config.account_for(cert).map(str::to_owned),
        status: renewal::status(&wanted, view.as_ref(), now),
        days_left: stored
            .as_ref()
            .map(|s| renewal::days_left(s.meta.not_after, now)),
        renewal_due,
        renewal,
        issued,
        key_store: ctx.key_store_label(),
        chain_path: store.chain_path(name),
    })
}

fn issued(
    meta: &crate::cert::store::CertMeta,
    chain_pem: &str,
    name: &str,
) -> Result<Issued, String> {
    let leaf = inspect::inspect_chain_pem(chain_pem).map_err(|e| format!("{name}: {e}"))?;
    let blocks = inspect::split_chain_pem(chain_pem).map_err(|e| format!("{name}: {e}"))?;
    let chain = blocks
        .iter()
        .filter_map(|pem| inspect::inspect_chain_pem(pem).ok())
        .map(|info| (info.subject, info.issuer, info.not_after))
        .collect();
    let entry = SecretRef::CertKey {
        cert: name.to_owned(),
        key_id: meta.key_id.clone(),
    };
    Ok(Issued {
        sans: leaf.names,
        issuer: leaf.issuer,
        serial: leaf.serial,
        sha256: leaf.sha256_fingerprint,
        not_before: leaf.not_before,
        not_after: leaf.not_after,
        key_type: leaf.key_type.unwrap_or_else(|| meta.key_type.clone()),
        key_entry: entry.user(),
        chain,
        // Newest first: this issuance, then the ones the metadata remembers.
        history: std::iter::once((meta.issued_at, meta.account.clone(), meta.order_url.clone()))
            .chain(
                meta.history
                    .iter()
                    .rev()
                    .map(|h| (h.issued_at, h.account.clone(), h.order_url.clone())),
            )
            .collect(),
    })
}
