//! `certpilot domain set|remove|list|test`: the cert-manager style solver mapping.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::{Env, Failure, Outcome};
use crate::cli::{DomainCommand, SolverArg};
use crate::config::DomainConfig;
use crate::domain::names;
use crate::ops::{self, domains::SecretSource};

pub(super) async fn run(env: &mut Env, cmd: DomainCommand) -> Outcome {
    match cmd {
        DomainCommand::Set { .. } => set(env, cmd).await,
        DomainCommand::Remove { domain } => {
            let domain = crate::ops::domains::remove(&env.session, &domain)?;
            env.config = env.session.load_config()?;
            outln!("{domain}: solver removed");
            Ok(())
        }
        DomainCommand::List => {
            for (domain, cfg) in &env.config.domains {
                match cfg.target() {
                    Some(target) => outln!("{domain}\t{}\t{target}", cfg.kind()),
                    None => outln!("{domain}\t{}", cfg.kind()),
                }
            }
            Ok(())
        }
        DomainCommand::Test { domain } => test(env, &normalized(&domain)?).await,
    }
}

/// `domain set`: parse the options into the one request [`ops::domains::set`] takes.
async fn set(env: &mut Env, cmd: DomainCommand) -> Outcome {
    let DomainCommand::Set {
        domain,
        solver,
        command,
        server,
        tsig_name,
        tsig_algorithm,
        tsig_secret_file,
        zone,
        api_url,
        server_id,
        api_key_file,
        no_cname_follow,
        batch,
    } = cmd
    else {
        return Ok(());
    };
    let config = match (solver, command, server) {
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
        (SolverArg::Rfc2136, _, server) => DomainConfig::Rfc2136 {
            server,
            tsig_name: tsig_name
                .ok_or_else(|| Failure::Usage("--solver rfc2136 needs --tsig-name".into()))?,
            tsig_algorithm,
            zone: zone.map(|z| z.trim_end_matches('.').to_ascii_lowercase()),
        },
        (SolverArg::PowerDns, _, _) => DomainConfig::PowerDns {
            api_url: api_url
                .ok_or_else(|| Failure::Usage("--solver powerdns needs --api-url".into()))?,
            server_id,
        },
    };
    let request = ops::domains::Request {
        domain,
        secret: match &config {
            DomainConfig::Rfc2136 { .. } => secret_source(tsig_secret_file, "--tsig-secret-file")?,
            DomainConfig::PowerDns { .. } => secret_source(api_key_file, "--api-key-file")?,
            _ => None,
        },
        no_cname_follow: Some(no_cname_follow),
        trial: false,
        config,
    };
    let saved = ops::domains::set(&env.session, request).await?;
    env.config = env.session.load_config()?;
    outln!("{}: solver set", saved.domain);
    Ok(())
}

fn normalized(domain: &str) -> Result<String, Failure> {
    names::normalize(domain).map_err(|e| Failure::Usage(e.to_string()))
}

/// The secret option's file, or standard input (read here) for `-`.
fn secret_source(file: Option<PathBuf>, option: &str) -> Result<Option<SecretSource>, Failure> {
    let Some(file) = file else {
        return Ok(None);
    };
    if file != Path::new("-") {
        return Ok(Some(SecretSource::File(file)));
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::Usage(format!("{option} -: {e}")))?;
    Ok(Some(SecretSource::Text(text)))
}

/// `domain test`: publish and remove `_certpilot-test.DOMAIN` with the domain's solver.
async fn test(env: &Env, domain: &str) -> Outcome {
    let config = env.shared_config();
    let Some((suffix, cfg)) = config.solver_for(domain) else {
        return Err(Failure::Usage(format!("{domain}: no solver configured")));
    };
    if matches!(cfg, DomainConfig::Manual) {
        return Err(Failure::Usage(format!(
            "{domain}: the manual solver has nothing to test"
        )));
    }
    let keystore = env.keystore()?;
    let done = crate::ops::domains::trial(&env.session, domain, suffix, cfg, &keystore).await?;
    outln!(
        "{domain}: {} added and removed {} TXT",
        done.solver,
        done.fqdn
    );
    Ok(())
}
