//! The DNS providers behind the [`Solver`] trait, built from a domain's configuration: exec
//! hooks, manual, acme-dns, RFC 2136, PowerDNS; and the credentials each one keeps in the
//! keyring. Above `solver` (the trait) and the providers' own modules, so none of them needs
//! to know the others.

pub mod credentials;

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, DomainConfig};
use crate::secrets::Keystore;
use crate::solver::{ExecSolver, ManualSolver, Solver};

/// What building a solver may need besides its own configuration.
pub struct SolverDeps<'a> {
    /// The whole configuration (acme-dns registrations live there).
    pub config: &'a Config,
    /// The domain the solver is mapped to.
    pub domain: &'a str,
    /// Limit for one hook run.
    pub hook_timeout: Duration,
    /// The keyring (acme-dns passwords).
    pub keystore: &'a Keystore,
}

/// Build the solver for a domain's configuration; an error says what is missing.
///
/// # Errors
///
/// When the configuration lacks something the solver needs (a credential, a server, a
/// zone); the message says what.
pub fn from_config(
    solver: &DomainConfig,
    deps: &SolverDeps<'_>,
) -> Result<Arc<dyn Solver>, String> {
    match solver {
        DomainConfig::Exec { command, batch } => Ok(Arc::new(
            ExecSolver::new(command.clone(), deps.hook_timeout)
                .batch(*batch)
                .max_processes(deps.config.settings.hook_processes),
        )),
        DomainConfig::Manual => Ok(Arc::new(ManualSolver::new())),
        DomainConfig::AcmeDns { server } => {
            let options = crate::acmedns::SolverOptions {
                ca_bundle: deps.config.settings.ca_bundle.clone(),
                resolvers: deps.config.settings.resolvers.clone(),
                timeout: Duration::from_secs(deps.config.settings.propagation_timeout),
                port: deps.config.settings.authoritative_port,
            };
            crate::acmedns::AcmeDnsSolver::new(
                deps.config,
                deps.domain,
                server,
                deps.keystore.clone(),
                options,
            )
            .map(|s| Arc::new(s) as Arc<dyn Solver>)
            .map_err(|e| e.to_string())
        }
        DomainConfig::Rfc2136 { .. } => rfc2136(solver, deps),
        DomainConfig::PowerDns { api_url, server_id } => {
            let options = crate::powerdns::PowerDnsOptions {
                ca_bundle: deps.config.settings.ca_bundle.clone(),
            };
            crate::powerdns::PowerDnsSolver::new(
                deps.domain,
                api_url,
                server_id,
                deps.keystore.clone(),
                &options,
            )
            .map(|s| Arc::new(s) as Arc<dyn Solver>)
            .map_err(|e| e.to_string())
        }
    }
}

/// The `rfc2136` solver of a mapping.
fn rfc2136(solver: &DomainConfig, deps: &SolverDeps<'_>) -> Result<Arc<dyn Solver>, String> {
    let DomainConfig::Rfc2136 {
        server,
        tsig_name,
        tsig_algorithm,
        zone,
    } = solver
    else {
        return Err("not an rfc2136 mapping".into());
    };
    let mapping = crate::rfc2136::solver::Mapping {
        domain: deps.domain.to_owned(),
        server: server.clone(),
        zone: zone.clone(),
        tsig_name: tsig_name.clone(),
        algorithm: tsig_algorithm
            .parse()
            .map_err(|e: crate::rfc2136::Rfc2136Error| e.to_string())?,
    };
    let options = crate::rfc2136::Rfc2136Options {
        resolvers: deps.config.settings.resolvers.clone(),
        timeout: Duration::from_secs(30),
        authoritative_port: deps.config.settings.authoritative_port,
    };
    Ok(Arc::new(crate::rfc2136::Rfc2136Solver::new(
        mapping,
        deps.keystore.clone(),
        options,
    )))
}
