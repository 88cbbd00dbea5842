//! Domain mappings, one copy for both front ends: removing a mapping, and the trial that
//! proves a solver's credentials work (publish and remove a harmless TXT record) before
//! anything relies on it.

use std::time::Duration;

use super::Error;
use crate::config::DomainConfig;
use crate::providers::SolverDeps;
use crate::secrets::Keystore;
use crate::session::Session;
use crate::solver::trial::{run_trial, trial_record};

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
