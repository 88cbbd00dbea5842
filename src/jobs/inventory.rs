//! The dashboard's data and a certificate's detail: file I/O only, no network.

use crate::solver::ChallengeRecord;
use std::path::PathBuf;

use time::OffsetDateTime;

use super::Context;
use crate::acme::ari;
use crate::cert::inspect;
use crate::cert::store::CertStore;
use crate::config::{Config, DomainConfig};
use crate::domain::renewal::{self, AriWindow, CertStatus, Decision};
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
    /// `settings.parallel`: how many certificates are issued at once (0: not known).
    pub parallel: usize,
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
    /// The mapping as configured (prefills the provider wizard when it is edited).
    pub config: Option<DomainConfig>,
}

/// Read the inventory. Blocking.
///
/// # Errors
/// The configuration or the certificate store could not be read.
pub fn load(ctx: &Context, now: OffsetDateTime) -> Result<Inventory, crate::ops::Error> {
    let config = ctx.config()?;
    let rows = inventory::load(&ctx.paths, &config, now)?;
    Ok(Inventory {
        rows,
        domains: domain_rows(&config),
        accounts: config.accounts.keys().cloned().collect(),
        parallel: config.settings.parallel,
    })
}

/// The solver mapping as rows.
#[must_use]
pub fn domain_rows(config: &Config) -> Vec<DomainRow> {
    config
        .domains
        .iter()
        .map(|(domain, cfg)| {
            let (solver, target) = (cfg.kind(), cfg.target());
            let delegation = matches!(cfg, DomainConfig::AcmeDns { .. })
                .then(|| config.acme_dns.get(domain).map(|r| r.fulldomain.clone()))
                .flatten();
            DomainRow {
                domain: domain.clone(),
                solver: solver.to_owned(),
                target,
                delegation,
                config: Some(cfg.clone()),
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
    /// The CA's ARI window for the stored certificate, when it gave one (shown even when
    /// `renew_days` or a changed name set decides earlier).
    pub ari: Option<AriWindow>,
    /// The CA's `explanationURL` for that window (RFC 9773 asks clients to show it).
    pub ari_explanation: Option<String>,
    /// The configured certificate profile (`cert add --profile`).
    pub profile: Option<String>,
    /// The stored certificate, when there is one.
    pub issued: Option<Issued>,
    /// Where keys live (store and service).
    pub key_store: String,
    /// The chain file.
    pub chain_path: PathBuf,
    /// Challenge records a failed or hung cleanup left in DNS (zone-file lines); the next
    /// `renew` removes them.
    pub leftovers: Vec<String>,
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
pub fn detail(
    ctx: &Context,
    name: &str,
    now: OffsetDateTime,
) -> Result<CertDetail, crate::ops::Error> {
    let config = ctx.config()?;
    let cert = config.certificates.get(name).ok_or_else(|| {
        crate::ops::Error::Invalid(format!("certificate {name:?} is not configured"))
    })?;
    let store = CertStore::new(&ctx.paths.certificates);
    let stored = store.load(name)?;
    let key_type = cert.key_type.to_string();
    let account = config.account_for(cert);
    // Read once: the window shown is the one the decision used. Fresh or stale alike: it is
    // the stored certificate's window either way (see `ari::cached`).
    let state = stored
        .as_ref()
        .and_then(|s| ari::cached(&ctx.paths.state, &s.meta, account, now).state());
    // One policy for `list`, `renew` and this screen: the ARI window when the CA gave one.
    let meta = stored.as_ref().map(|s| &s.meta);
    let decision = inventory::next_renewal_with(&config, cert, meta, state.as_ref(), now);
    let renewal_due = matches!(decision, Decision::Renew(_));
    let renewal = decision.to_string();
    let (ari, ari_explanation) = meta
        .zip(state)
        .and_then(|(meta, state)| Some((state.window_for(meta)?, state.explanation_url)))
        .unzip();
    let ari_explanation = ari_explanation.flatten();
    let issued = match &stored {
        Some(stored) => Some(issued(&stored.meta, &stored.chain_pem, name)?),
        None => None,
    };
    Ok(CertDetail {
        name: name.to_owned(),
        names: cert.names.clone(),
        key_type: key_type.clone(),
        account: account.map(str::to_owned),
        status: decision.status(),
        days_left: stored
            .as_ref()
            .map(|s| renewal::days_left(s.meta.not_after, now)),
        renewal_due,
        renewal,
        ari,
        ari_explanation,
        profile: cert.profile.clone(),
        issued,
        key_store: ctx.key_store_label(),
        chain_path: store.chain_path(name),
        leftovers: crate::acme::leftovers::left_behind(&ctx.paths.state, &store, name)
            .iter()
            .map(ChallengeRecord::zone_line)
            .collect(),
    })
}

fn issued(
    meta: &crate::cert::store::CertMeta,
    chain_pem: &str,
    name: &str,
) -> Result<Issued, crate::ops::Error> {
    let unreadable = |source| crate::ops::Error::Inspect {
        name: name.to_owned(),
        source,
    };
    let leaf = inspect::inspect_chain_pem(chain_pem).map_err(unreadable)?;
    let blocks = inspect::split_chain_pem(chain_pem).map_err(unreadable)?;
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

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::acme::ari::AriState;
    use crate::cert::store::CertMeta;
    use crate::paths::Paths;

    /// A working directory with certificate `web` stored (90 days from 2025-05-01) and the
    /// CA's ARI state written for `serial`.
    fn workdir(serial: &str) -> (tempfile::TempDir, Context) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::working_dir(dir.path());
        std::fs::write(
            &paths.config_file,
            "[certificates.web]\nnames = [\"web.example.test\"]\n\n\
             [domains.\"example.test\"]\nsolver = \"manual\"\n",
        )
        .unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(vec!["web.example.test".to_owned()]).unwrap();
        // The store refuses a chain whose serial is not the metadata's.
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x0a, 0x1b]));
        let pem = params.self_signed(&key).unwrap().pem();
        let issued = datetime!(2025-05-01 00:00 UTC);
        let meta = CertMeta {
            name: "web".into(),
            names: vec!["web.example.test".into()],
            account: "pebble".into(),
            key_type: "ecdsa-p256".into(),
            key_id: "k1".into(),
            issued_at: issued,
            not_before: issued,
            not_after: issued + time::Duration::days(90),
            order_url: "https://ca.test/order/1".into(),
            serial: "0a1b".into(),
            issuer: "Test CA".into(),
            history: Vec::new(),
            revoked: None,
        };
        CertStore::new(&paths.certificates)
            .save(&meta, &pem)
            .unwrap();
        let state = AriState {
            serial: serial.into(),
            account: "pebble".into(),
            cert_id: "aki.serial".into(),
            start: datetime!(2025-07-01 00:00 UTC),
            end: datetime!(2025-07-03 00:00 UTC),
            chosen: datetime!(2025-07-02 09:12 UTC),
            retry_after: datetime!(2025-06-02 00:00 UTC),
            explanation_url: None,
        };
        ari::save(&paths.state, "web", &state).unwrap();
        let global = crate::session::Overrides::default();
        (dir, Context::new(paths, global))
    }

    #[test]
    fn detail_carries_the_cas_ari_window_and_the_decision_it_sets() {
        let now = datetime!(2025-06-01 00:00 UTC);
        let (_dir, ctx) = workdir("0a1b");
        let detail = detail(&ctx, "web", now).unwrap();
        let window = detail.ari.expect("the stored certificate's window");
        assert_eq!(window.chosen, datetime!(2025-07-02 09:12 UTC));
        assert!(!detail.renewal_due);
        assert_eq!(
            detail.renewal,
            "renew at 2025-07-02 09:12 UTC \
             (ARI window 2025-07-01 00:00 UTC..2025-07-03 00:00 UTC)"
        );
    }

    #[test]
    fn a_window_another_account_asked_for_still_decides() {
        let now = datetime!(2025-06-01 00:00 UTC);
        let (_dir, ctx) = workdir("0a1b");
        let mut state = ari::load(&ctx.paths.state, "web").unwrap();
        state.account = "previous-account".into();
        ari::save(&ctx.paths.state, "web", &state).unwrap();
        let detail = detail(&ctx, "web", now).unwrap();
        assert_eq!(detail.ari.map(|w| w.chosen), Some(state.chosen));
        assert!(detail.renewal.contains("ARI window"), "{}", detail.renewal);
    }

    #[test]
    fn a_window_for_an_earlier_certificate_is_ignored() {
        let now = datetime!(2025-06-01 00:00 UTC);
        let (_dir, ctx) = workdir("99");
        let detail = detail(&ctx, "web", now).unwrap();
        assert_eq!(detail.ari, None);
        assert!(
            detail.renewal.contains("of lifetime left"),
            "{}",
            detail.renewal
        );
    }
}
