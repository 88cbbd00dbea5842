//! `certpilot domain set|remove|list`: the cert-manager style solver mapping.

use super::{Env, Failure, Outcome};
use crate::cli::{DomainCommand, SolverArg};
use crate::config::DomainConfig;
use crate::domain::names;

pub(super) fn run(env: &mut Env, cmd: DomainCommand) -> Outcome {
    match cmd {
        DomainCommand::Set {
            domain,
            solver,
            command,
            server,
            batch,
        } => {
            let domain = names::normalize(&domain).map_err(|e| Failure::Usage(e.to_string()))?;
            if domain.starts_with("*.") {
                return Err(Failure::Usage(format!(
                    "{domain}: map the domain without '*.'; it covers the wildcard too"
                )));
            }
            let cfg = match (solver, command, server) {
                (SolverArg::Exec, Some(command), _) => DomainConfig::Exec { command, batch },
                (SolverArg::Exec, None, _) => {
                    return Err(Failure::Usage("--solver exec needs --command".into()))
                }
                (SolverArg::Manual, _, _) => DomainConfig::Manual,
                (SolverArg::AcmeDns, _, Some(server)) => DomainConfig::AcmeDns { server },
                (SolverArg::AcmeDns, _, None) => {
                    return Err(Failure::Usage(
                        "--solver acme-dns needs --server URL".into(),
                    ))
                }
            };
            env.config.domains.insert(domain.clone(), cfg);
            env.save_config()?;
            println!("{domain}: solver set");
            Ok(())
        }
        DomainCommand::Remove { domain } => {
            let domain = names::normalize(&domain).map_err(|e| Failure::Usage(e.to_string()))?;
            if env.config.domains.remove(&domain).is_none() {
                return Err(Failure::Usage(format!("{domain}: no solver configured")));
            }
            env.save_config()?;
            println!("{domain}: solver removed");
            Ok(())
        }
        DomainCommand::List => {
            for (domain, cfg) in &env.config.domains {
                match cfg {
                    DomainConfig::Exec { command, batch } => {
                        let batch = if *batch { "\tbatch" } else { "" };
                        println!("{domain}\texec\t{}{batch}", command.display());
                    }
                    DomainConfig::Manual => println!("{domain}\tmanual"),
                    DomainConfig::AcmeDns { server } => println!("{domain}\tacme-dns\t{server}"),
                }
            }
            Ok(())
        }
    }
}
