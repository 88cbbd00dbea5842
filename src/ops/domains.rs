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
    /// `Some(old)`: the new secret replaced `old` (`None`: there was none); `None`: nothing
    /// was written (the keyring's secret was kept).
    previous: Option<Option<String>>,
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
            let previous = Some(swap(&keystore, &entry, Some(secret)).await?);
            return Ok(Held {
                keystore,
                entry,
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
        let Some(previous) = self.previous else {
            return failure;
        };
        match swap(&self.keystore, &self.entry, previous).await {
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
    use super::*;
    use crate::paths::Paths;
    use crate::session::Overrides;

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
