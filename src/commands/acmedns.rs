//! `certpilot acme-dns register|import|list|check|serve|db-password`.

use std::path::Path;
use std::time::Duration;

use super::{Env, Failure, Outcome};
use crate::acmedns::delegation::{expected_record, zone_of};
use crate::acmedns::{account, check_delegation_on, import, AcmeDnsError, CnameRecord};
use crate::cli::AcmeDnsCommand;
use crate::config::DomainConfig;
use crate::ops::{self, acmedns::ImportRequest, acmedns::RegisterRequest};
use crate::server::ServerError;

/// How long `register` looks for the zone to print the relative owner name.
const ZONE_DISCOVERY_WITHIN: Duration = Duration::from_secs(5);

impl From<AcmeDnsError> for Failure {
    fn from(e: AcmeDnsError) -> Self {
        if e.is_usage() {
            Failure::Usage(e.to_string())
        } else {
            Failure::Failed(e.to_string())
        }
    }
}

pub(super) async fn run(env: &mut Env, cmd: AcmeDnsCommand) -> Outcome {
    match cmd {
        AcmeDnsCommand::Register {
            domain,
            server,
            allow_from,
            allow_insecure_http,
        } => register(env, &domain, &server, &allow_from, allow_insecure_http).await,
        AcmeDnsCommand::Import {
            file,
            server,
            allow_insecure_http,
        } => import_file(env, &file, server.as_deref(), allow_insecure_http).await,
        AcmeDnsCommand::List { json } => list(env, json),
        AcmeDnsCommand::Check { domain } => check(env, &domain).await,
        AcmeDnsCommand::DbPassword { config } => store_db_password(env, &config),
        AcmeDnsCommand::Serve { config } => {
            let keystore = || env.keystore().map_err(|e| e.message().to_owned());
            crate::server::serve(&config, keystore)
                .await
                .map_err(|e| match e {
                    ServerError::Config(_) => Failure::Usage(e.to_string()),
                    _ => Failure::Failed(e.to_string()),
                })
        }
    }
}

/// `acme-dns db-password --config FILE`: the PostgreSQL password from standard input into the
/// keyring entry the server reads it from.
fn store_db_password(env: &Env, config_path: &Path) -> Outcome {
    let config = crate::server::ServerConfig::load(config_path)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let entry = crate::server::database_password_entry(&config).ok_or_else(|| {
        Failure::Usage(format!(
            "{}: `database` is not a postgres:// URL; a SQLite file has no password",
            config_path.display()
        ))
    })?;
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Failure::Failed(format!("cannot read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(Failure::Usage(
            "no password on standard input (pipe it in: printf %s \"$PW\" | certpilot ...)".into(),
        ));
    }
    env.keystore()?.put(&entry, password)?;
    println!(
        "stored the database password in the keyring as {}",
        entry.user()
    );
    Ok(())
}

fn domain_key(input: &str) -> Result<String, Failure> {
    account::domain_key(input).map_err(Failure::from)
}

async fn register(
    env: &mut Env,
    domain: &str,
    server: &str,
    allow_from: &[String],
    allow_insecure_http: bool,
) -> Outcome {
    let request = RegisterRequest {
        domain: domain.to_owned(),
        server: server.to_owned(),
        allow_from: allow_from.to_vec(),
        allow_insecure_http,
        use_for_issuance: false,
    };
    let saved = ops::acmedns::register(&env.session, request).await?;
    env.config = env.session.load_config()?;
    let Some(delegation) = saved.delegations.first() else {
        return Err(Failure::Failed("the server registered nothing".into()));
    };
    let record = &delegation.record;
    let domain = record.domain.clone();
    let url = &delegation.server;
    outln!(
        "Registered {domain} (and *.{domain}) on {url}: fulldomain {}.",
        record.target
    );
    outln!("The password is in the keyring; certpilot.toml holds the rest.");
    for (_, old) in &saved.replaced {
        if old.fulldomain != record.target {
            outln!(
                "This replaces the registration on {} ({}): the CNAME must point at the new fulldomain.",
                old.server, old.fulldomain
            );
        }
    }
    outln!();
    let zone = zone_of(&record.owner, &env.resolvers(), ZONE_DISCOVERY_WITHIN).await;
    outln!("{}", record.instructions(zone.as_deref()));
    outln!();
    suggest_mapping(env, &domain, url);
    outln!("Check the CNAME with: certpilot acme-dns check {domain}");
    Ok(())
}

/// Print the `domain set` command when the domain is not mapped to this server yet.
fn suggest_mapping(env: &Env, domain: &str, server: &str) {
    let mapped = env.config.solver_for(domain).map(|(_, cfg)| cfg);
    let same = matches!(mapped, Some(DomainConfig::AcmeDns { server: s })
        if s.trim_end_matches('/') == server);
    if !same {
        let note = if mapped.is_some() {
            " (it currently uses another solver)"
        } else {
            ""
        };
        outln!(
            "Use it for issuance{note}: certpilot domain set {domain} --solver acme-dns --server {server}"
        );
    }
}

async fn import_file(
    env: &mut Env,
    path: &Path,
    server: Option<&str>,
    allow_insecure_http: bool,
) -> Outcome {
    let request = ImportRequest {
        path: path.to_owned(),
        server: server.map(str::to_owned),
        allow_insecure_http,
        use_for_issuance: false,
    };
    let file = ops::acmedns::read(&request)?;
    let saved = ops::acmedns::import(&env.session, &file, false).await?;
    env.config = env.session.load_config()?;
    let replaced: Vec<String> = saved
        .replaced
        .iter()
        .map(|(domain, old)| {
            format!(
                "  {domain}: replaces the registration on {} ({})",
                old.server, old.fulldomain
            )
        })
        .collect();
    print_imported(env, &file, &replaced);
    Ok(())
}

fn print_imported(env: &Env, file: &import::ImportedFile, replaced: &[String]) {
    outln!(
        "Imported {} acme-dns account(s) from {} ({}):",
        file.accounts.len(),
        file.path.display(),
        file.format
    );
    for account in &file.accounts {
        let reg = &account.registration;
        outln!("  {}\t{}\t{}", account.domain, reg.fulldomain, reg.server);
    }
    for old in &file.replaced_servers {
        outln!("  (server_url {old} replaced by --server)");
    }
    for line in replaced {
        outln!("{line}");
    }
    for account in &file.accounts {
        suggest_mapping(env, &account.domain, &account.registration.server);
    }
    let absolute = std::fs::canonicalize(&file.path).unwrap_or_else(|_| file.path.clone());
    outln!(
        "\nThe passwords are now in the keyring. {} still holds them in plain text: delete it \
         once nothing else uses it:\n  rm -- {}",
        file.path.display(),
        shell_quote(&absolute.display().to_string())
    );
}

/// Quote for a POSIX shell, so the printed command can be pasted as is.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

fn list(env: &Env, json: bool) -> Outcome {
    let regs = &env.config.acme_dns;
    if json {
        let rows: Vec<serde_json::Value> = regs
            .iter()
            .map(|(domain, reg)| {
                serde_json::json!({
                    "domain": domain,
                    "server": reg.server,
                    "username": reg.username,
                    "subdomain": reg.subdomain,
                    "fulldomain": reg.fulldomain,
                    "allowfrom": reg.allowfrom,
                    "cname": CnameRecord::new(domain, &reg.fulldomain).zone_line(),
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&rows)
            .map_err(|e| Failure::Failed(format!("cannot render JSON: {e}")))?;
        outln!("{text}");
        return Ok(());
    }
    if regs.is_empty() {
        outln!("No acme-dns registrations. Add one with: certpilot acme-dns register DOMAIN --server URL");
        return Ok(());
    }
    for (domain, reg) in regs {
        let allow = if reg.allowfrom.is_empty() {
            "any".to_owned()
        } else {
            reg.allowfrom.join(",")
        };
        outln!(
            "{domain}\t{}\t{}\tallow-from {allow}",
            reg.server,
            reg.fulldomain
        );
    }
    Ok(())
}

async fn check(env: &Env, domain: &str) -> Outcome {
    let domain = domain_key(domain)?;
    let mapped = match env.config.solver_for(&domain) {
        Some((_, DomainConfig::AcmeDns { server })) => Some(server.as_str()),
        _ => None,
    };
    let (registration, _, record) = expected_record(&env.config.acme_dns, &domain, mapped)?;
    let port = env.config.settings.authoritative_port;
    let report = check_delegation_on(&record, registration, &env.resolvers(), port).await?;
    outln!("{}", record.zone_line());
    for (source, state) in &report.answers {
        outln!("  {source}: {state}");
    }
    for warning in report.silent() {
        eprintln!("warning: {warning}");
    }
    if report.is_delegated() {
        outln!("{domain}: delegated to the acme-dns account of {registration}");
        Ok(())
    } else {
        outln!("\n{}", record.instructions(report.zone.as_deref()));
        Err(Failure::Failed(report.problems().join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_the_shell() {
        let cases = [
            ("/etc/lego/accounts.json", "/etc/lego/accounts.json"),
            ("/tmp/my file.json", "'/tmp/my file.json'"),
            ("/tmp/it's.json", r"'/tmp/it'\''s.json'"),
        ];
        for (path, want) in cases {
            assert_eq!(shell_quote(path), want);
        }
    }

    #[test]
    fn wildcards_share_the_apex_key() {
        assert_eq!(domain_key("*.Example.COM.").unwrap(), "example.com");
        assert!(matches!(
            domain_key("*.*.example.com"),
            Err(Failure::Usage(_))
        ));
    }
}
