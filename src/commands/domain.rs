//! `certpilot domain set|remove|list|test`: the cert-manager style solver mapping.

use std::io::Read as _;
use std::path::Path;

use super::{Env, Failure, Outcome};
use crate::cli::{DomainCommand, SolverArg};
use crate::config::DomainConfig;
use crate::domain::names;
use crate::providers::credentials;

/// The secret options of `domain set`, read once into the keyring.
struct SecretInput<'a> {
    tsig_secret_file: Option<&'a Path>,
    api_key_file: Option<&'a Path>,
}

pub(super) async fn run(env: &mut Env, cmd: DomainCommand) -> Outcome {
    match cmd {
        DomainCommand::Set { .. } => set(env, cmd),
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

/// `domain set`: the mapping into the config, its secret (if any) into the keyring.
fn set(env: &mut Env, cmd: DomainCommand) -> Outcome {
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
    let domain = normalized(&domain)?;
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
    let input = SecretInput {
        tsig_secret_file: tsig_secret_file.as_deref(),
        api_key_file: api_key_file.as_deref(),
    };
    store_secret(env, &domain, &cfg, &input)?;
    env.config.domains.insert(domain.clone(), cfg);
    let off = &mut env.config.settings.no_cname_follow;
    off.retain(|d| *d != domain);
    if no_cname_follow {
        off.push(domain.clone());
    }
    env.save_config()?;
    outln!("{domain}: solver set");
    Ok(())
}

fn normalized(domain: &str) -> Result<String, Failure> {
    names::normalize(domain).map_err(|e| Failure::Usage(e.to_string()))
}

/// Read the secret the solver needs (from its file or standard input) into the keyring.
/// Without a file, a secret already in the keyring is kept; none at all is a usage error.
fn store_secret(env: &Env, domain: &str, cfg: &DomainConfig, input: &SecretInput<'_>) -> Outcome {
    credentials::check(cfg).map_err(Failure::Usage)?;
    let Some(entry) = credentials::secret_entry(domain, cfg) else {
        return Ok(());
    };
    let (file, option) = match cfg {
        DomainConfig::Rfc2136 { .. } => (input.tsig_secret_file, "--tsig-secret-file"),
        _ => (input.api_key_file, "--api-key-file"),
    };
    let keystore = env.keystore()?;
    let Some(file) = file else {
        if keystore.get(&entry)?.is_some() {
            return Ok(());
        }
        return Err(Failure::Usage(format!(
            "--solver {} needs {option} FILE (or - for standard input) the first time",
            cfg.kind()
        )));
    };
    let text = read_secret(file, option)?;
    let secret = credentials::secret_from_text(cfg, &text)
        .map_err(|e| Failure::Usage(format!("{option} {}: {e}", file.display())))?;
    keystore.put(&entry, &secret)?;
    Ok(())
}

/// The text of `file`, or standard input for `-`.
fn read_secret(file: &Path, option: &str) -> Result<String, Failure> {
    let mut text = String::new();
    let read = if file == Path::new("-") {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(file).map(|t| text = t)
    };
    read.map_err(|e| Failure::Usage(format!("{option} {}: {e}", file.display())))?;
    Ok(text)
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
