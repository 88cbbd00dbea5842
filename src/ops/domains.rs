//! Domain mappings, one copy for both front ends: setting a mapping (its secret into the
//! keyring, optionally after a credentials trial), removing one, and the trial that proves
//! a solver's credentials work (publish and remove a harmless TXT record) before anything
//! relies on it.

use std::path::PathBuf;
use std::time::Duration;

use super::{blocking, Error};
use crate::config::DomainConfig;
use crate::providers::{credentials, SolverDeps};
use crate::secrets::{Keystore, SecretRef};
use crate::session::Session;
use crate::solver::trial::{run_trial, trial_record};

/// Where the solver's secret (TSIG secret, PowerDNS API key) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The operator's file (BIND/Knot key file, bare base64, or the API key).
    File(PathBuf),
    /// Text already read by the front end (standard input).
    Text(String),
}

/// Map a domain to a solver: what `certpilot domain set` and the TUI's provider wizard both
/// fill in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The domain (and its subdomains) to map; normalized by [`set`].
    pub domain: String,
    /// The mapping.
    pub config: DomainConfig,
    /// The secret to store; `None` keeps the one in the keyring (required if there is none
    /// and the solver needs one). Ignored for solvers without a secret.
    pub secret: Option<SecretSource>,
    /// `Some(on)`: put the domain on (or take it off) `settings.no_cname_follow`; `None`
    /// leaves that list alone.
    pub no_cname_follow: Option<bool>,
    /// Test the credentials (add and remove a harmless record) before saving; a failed test
    /// restores the previous secret and saves nothing.
    pub trial: bool,
}

/// What [`set`] saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The normalized domain.
    pub domain: String,
    /// The credentials trial, when the request asked for one.
    pub trial: Option<Trial>,
}

/// Set `request.domain`'s solver: validate, store the secret, optionally run the credentials
/// trial (restoring the previous secret if it fails), then save the mapping into the config
/// file. Nothing is written before validation passes.
///
/// # Errors
/// [`Error::Invalid`] for a bad domain, a wildcard, a bad mapping, an unreadable or bad
/// secret, or a missing secret; keyring and config errors; the solver's error when the
/// trial fails.
pub async fn set(session: &Session, request: Request) -> Result<Saved, Error> {
    let Request {
        domain,
        config: cfg,
        secret,
        no_cname_follow,
        trial: wants_trial,
    } = request;
    let domain = validated(&domain, &cfg)?;
    let entry = credentials::secret_entry(&domain, &cfg);
    let secret = match (&entry, secret) {
        (Some(_), Some(source)) => Some(secret_text(&cfg, &source)?),
        _ => None,
    };
    if wants_trial && entry.is_none() {
        return Err(Error::Invalid(format!(
            "the {} solver has no credentials to test",
            cfg.kind()
        )));
    }
    // The file as it is (the effective config would write the command line into it).
    let mut config = session.load_config()?;
    let held = match entry {
        Some(entry) => Some(Held::store(session.keystore()?, entry, secret, cfg.kind()).await?),
        None => None,
    };
    let trial = match (&held, wants_trial) {
        (Some(held), true) => {
            match self::trial(session, &domain, &domain, &cfg, &held.keystore).await {
                Ok(done) => Some(done),
                Err(e) => return Err(Held::restore(held.clone(), e).await),
            }
        }
        _ => None,
    };
    config.domains.insert(domain.clone(), cfg);
    if let Some(on) = no_cname_follow {
        let off = &mut config.settings.no_cname_follow;
        off.retain(|d| *d != domain);
        if on {
            off.push(domain.clone());
        }
    }
    if let Err(e) = crate::config::save(&session.paths.config_file, &config) {
        return Err(match held {
            Some(held) => Held::restore(held, e.into()).await,
            None => e.into(),
        });
    }
    tracing::info!(%domain, tested = trial.is_some(), "solver mapping saved");
    Ok(Saved { domain, trial })
}

/// A secret [`set`] put into the keyring, and what it replaced.
#[derive(Clone)]
struct Held {
    keystore: Keystore,
    entry: SecretRef,
    /// Whether a new secret was written (else the keyring's was kept).
    replaced: bool,
    /// What the new secret replaced (`None`: there was none).
    previous: Option<String>,
}

impl Held {
    /// Put `secret` into `entry`. Without a secret, the one in the keyring must exist.
    async fn store(
        keystore: Keystore,
        entry: SecretRef,
        secret: Option<String>,
        kind: &str,
    ) -> Result<Self, Error> {
        if let Some(secret) = secret {
            let previous = swap(&keystore, &entry, Some(secret)).await?;
            return Ok(Held {
                keystore,
                entry,
                replaced: true,
                previous,
            });
        }
        let (ks, e) = (keystore.clone(), entry.clone());
        if blocking(move || ks.get(&e).map_err(Error::from))
            .await?
            .is_some()
        {
            return Ok(Held {
                keystore,
                entry,
                replaced: false,
                previous: None,
            });
        }
        let option = match entry {
            SecretRef::Tsig(_) => "--tsig-secret-file",
            _ => "--api-key-file",
        };
        Err(Error::Invalid(format!(
            "--solver {kind} needs {option} FILE (or - for standard input) the first time"
        )))
    }

    /// Put back what [`Held::store`] replaced; `failure` (or the keyring's error).
    async fn restore(self, failure: Error) -> Error {
        if !self.replaced {
            return failure;
        }
        match swap(&self.keystore, &self.entry, self.previous).await {
            Ok(_) => failure,
            Err(e) => e,
        }
    }
}

/// The normalized domain, if it and the mapping's own settings are usable.
fn validated(domain: &str, cfg: &DomainConfig) -> Result<String, Error> {
    let domain =
        crate::domain::names::normalize(domain).map_err(|e| Error::Invalid(e.to_string()))?;
    if domain.starts_with("*.") {
        return Err(Error::Invalid(format!(
            "{domain}: map the domain without '*.'; it covers the wildcard too"
        )));
    }
    credentials::check(cfg).map_err(Error::Invalid)?;
    Ok(domain)
}

/// The secret in `source`, checked for `cfg` (never quoting it).
fn secret_text(cfg: &DomainConfig, source: &SecretSource) -> Result<String, Error> {
    let what = secret_name(cfg);
    let (label, text) = match source {
        SecretSource::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Invalid(format!("{what} {}: {e}", path.display())))?;
            (path.display().to_string(), text)
        }
        SecretSource::Text(text) => ("from standard input".to_owned(), text.clone()),
    };
    credentials::secret_from_text(cfg, &text)
        .map_err(|e| Error::Invalid(format!("{what} {label}: {e}")))
}

/// How the operator knows the secret `cfg` needs.
fn secret_name(cfg: &DomainConfig) -> &'static str {
    match cfg {
        DomainConfig::Rfc2136 { .. } => "TSIG secret",
        _ => "API key",
    }
}

/// Put `secret` (or delete the entry for `None`); the value it replaced.
async fn swap(
    keystore: &Keystore,
    entry: &SecretRef,
    secret: Option<String>,
) -> Result<Option<String>, Error> {
    let (keystore, entry) = (keystore.clone(), entry.clone());
    blocking(move || {
        let old = keystore.get(&entry)?;
        match secret {
            Some(secret) => keystore.put(&entry, &secret)?,
            None => {
                keystore.delete(&entry)?;
            }
        }
        Ok(old)
    })
    .await
}

/// Remove the solver mapped to `domain` (normalized first). Returns the normalized domain.
/// Blocking.
///
/// # Errors
/// [`Error::Invalid`] for a bad name or a domain with no solver; config errors.
pub fn remove(session: &Session, domain: &str) -> Result<String, Error> {
    let domain =
        crate::domain::names::normalize(domain).map_err(|e| Error::Invalid(e.to_string()))?;
    // The file as it is (the effective config would write the command line into it).
    let mut config = session.load_config()?;
    if config.domains.remove(&domain).is_none() {
        return Err(Error::Invalid(format!("{domain}: no solver configured")));
    }
    crate::config::save(&session.paths.config_file, &config)?;
    tracing::info!(%domain, "solver removed");
    Ok(domain)
}

/// What a trial did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trial {
    /// The solver, as it describes itself.
    pub solver: String,
    /// The owner name it added and removed (`_certpilot-test.<name>.`).
    pub fqdn: String,
}

/// Add and remove `_certpilot-test.<name>` with the solver `cfg` mapped at `suffix`, built
/// from the session's effective config (its resolvers and CA bundle).
///
/// # Errors
/// [`Error::Invalid`] when the solver cannot be built; the solver's error when the trial
/// fails.
pub async fn trial(
    session: &Session,
    name: &str,
    suffix: &str,
    cfg: &DomainConfig,
    keystore: &Keystore,
) -> Result<Trial, Error> {
    let config = session.config()?;
    let deps = SolverDeps {
        config: &config,
        domain: suffix,
        hook_timeout: Duration::from_secs(config.settings.hook_timeout),
        keystore,
    };
    let solver = crate::providers::from_config(cfg, &deps).map_err(Error::Invalid)?;
    let record = trial_record(name);
    run_trial(solver.as_ref(), &record).await?;
    Ok(Trial {
        solver: solver.describe(),
        fqdn: record.fqdn,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::paths::Paths;
    use crate::session::Overrides;

    fn rfc2136(algorithm: &str) -> DomainConfig {
        DomainConfig::Rfc2136 {
            server: Some("127.0.0.1:53".into()),
            tsig_name: "k".into(),
            tsig_algorithm: algorithm.into(),
            zone: None,
        }
    }

    fn powerdns(api_url: &str) -> DomainConfig {
        DomainConfig::PowerDns {
            api_url: api_url.into(),
            server_id: "localhost".into(),
        }
    }

    /// Each bad input, as `domain set` fills in the request (no trial, the CNAME setting
    /// given) and as the provider wizard does (trial, the setting untouched): the same
    /// error kind and message, and the config file byte for byte as it was.
    #[tokio::test]
    async fn bad_input_is_refused_alike_from_both_front_ends() {
        let dir = tempfile::tempdir().unwrap();
        let session = Session::new(Paths::working_dir(dir.path()), Overrides::default());
        let mut config = crate::config::Config::default();
        config
            .domains
            .insert("kept.test".into(), DomainConfig::Manual);
        config.settings.no_cname_follow.push("example.test".into());
        crate::config::save(&session.paths.config_file, &config).unwrap();
        let before = std::fs::read(&session.paths.config_file).unwrap();
        let missing = dir.path().join("missing.key");
        let empty = dir.path().join("empty.key");
        std::fs::write(&empty, "  \n").unwrap();
        let garbage = dir.path().join("garbage.key");
        std::fs::write(&garbage, "key \"k\" { algorithm hmac-sha256; };").unwrap();
        let good = dir.path().join("good.key");
        std::fs::write(&good, "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0").unwrap();
        let cases: [(&str, DomainConfig, &Path, &str); 8] = [
            (
                "exa mple.test",
                rfc2136("hmac-sha256"),
                &good,
                "exa mple.test",
            ),
            ("", powerdns("http://127.0.0.1:8081"), &good, "empty"),
            (
                "*.example.test",
                rfc2136("hmac-sha256"),
                &good,
                "without '*.'",
            ),
            ("example.test", rfc2136("hmac-md4"), &good, "md4"),
            ("example.test", powerdns("not a url"), &good, "not a url"),
            (
                "example.test",
                rfc2136("hmac-sha256"),
                &missing,
                "missing.key",
            ),
            (
                "example.test",
                powerdns("http://127.0.0.1:8081"),
                &empty,
                "empty",
            ),
            (
                "example.test",
                rfc2136("hmac-sha256"),
                &garbage,
                "garbage.key",
            ),
        ];
        for (domain, cfg, file, says) in &cases {
            let cli = Request {
                domain: (*domain).into(),
                config: cfg.clone(),
                secret: Some(SecretSource::File(file.to_path_buf())),
                no_cname_follow: Some(false),
                trial: false,
            };
            let wizard = Request {
                no_cname_follow: None,
                trial: true,
                ..cli.clone()
            };
            let from_cli = set(&session, cli).await.unwrap_err();
            let from_wizard = set(&session, wizard).await.unwrap_err();
            let what = format!("{domain} {cfg:?} {}", file.display());
            assert!(
                matches!(from_cli, Error::Invalid(_)),
                "{what}: {from_cli:?}"
            );
            assert!(
                matches!(from_wizard, Error::Invalid(_)),
                "{what}: {from_wizard:?}"
            );
            assert_eq!(from_cli.kind(), crate::ops::Kind::Usage, "{what}");
            assert_eq!(from_cli.to_string(), from_wizard.to_string(), "{what}");
            assert!(
                from_cli.to_string().to_lowercase().contains(says),
                "{what}: {from_cli}"
            );
            assert!(!from_cli.to_string().contains("c2VjcmV0"), "{from_cli}");
            let after = std::fs::read(&session.paths.config_file).unwrap();
            assert_eq!(after, before, "{what}: the config file changed");
        }
    }

    /// A solver without a secret saves without the keyring, from standard-input-style text
    /// too; the CLI's CNAME setting is written, the wizard's `None` leaves it.
    #[tokio::test]
    async fn a_mapping_without_a_secret_is_saved_and_the_cname_setting_follows_the_request() {
        let dir = tempfile::tempdir().unwrap();
        let session = Session::new(Paths::working_dir(dir.path()), Overrides::default());
        let request = Request {
            domain: "Example.TEST.".into(),
            config: DomainConfig::Manual,
            secret: Some(SecretSource::Text("ignored".into())),
            no_cname_follow: Some(true),
            trial: false,
        };
        let saved = set(&session, request.clone()).await.unwrap();
        assert_eq!(saved.domain, "example.test");
        assert_eq!(saved.trial, None);
        let config = session.load_config().unwrap();
        assert_eq!(
            config.domains.get("example.test"),
            Some(&DomainConfig::Manual)
        );
        assert_eq!(config.settings.no_cname_follow, ["example.test"]);
        let untouched = Request {
            no_cname_follow: None,
            ..request.clone()
        };
        set(&session, untouched).await.unwrap();
        let config = session.load_config().unwrap();
        assert_eq!(config.settings.no_cname_follow, ["example.test"]);
        // A trial needs credentials to try.
        let trial = Request {
            trial: true,
            ..request
        };
        let err = set(&session, trial).await.unwrap_err();
        assert!(err.to_string().contains("no credentials to test"), "{err}");
    }

    #[test]
    fn remove_takes_the_mapping_out_of_the_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let session = Session::new(
            Paths::working_dir(dir.path()),
            Overrides {
                resolvers: vec!["127.0.0.1:53".into()],
                ..Overrides::default()
            },
        );
        let mut config = crate::config::Config::default();
        config
            .domains
            .insert("example.test".into(), DomainConfig::Manual);
        crate::config::save(&session.paths.config_file, &config).unwrap();
        assert_eq!(remove(&session, "Example.TEST").unwrap(), "example.test");
        let saved = session.load_config().unwrap();
        assert!(saved.domains.is_empty());
        // The command line's resolver stays on the command line.
        assert!(saved.settings.resolvers.is_empty());
        let again = remove(&session, "example.test").unwrap_err();
        assert!(
            again.to_string().contains("no solver configured"),
            "{again}"
        );
        assert_eq!(again.kind(), crate::ops::Kind::Usage);
    }
}
