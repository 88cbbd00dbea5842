//! `certpilot cert add|remove|import`.

use super::{Env, Failure, Outcome};
use crate::cli::CertCommand;
use crate::config::{certs_json, CertConfig, ExportConfig, KeyType};
use crate::domain::names;

pub(super) fn run(env: &mut Env, cmd: CertCommand) -> Outcome {
    match cmd {
        CertCommand::Add {
            name,
            names,
            account,
            key_type,
            renew_days,
            deploy_hook,
            export_dir,
            export_layout,
            profile,
            replace,
        } => {
            let mut cert = build(env, &name, &names, account, key_type.into(), renew_days)?;
            cert.profile = profile;
            cert.deploy_hook = deploy_hook.filter(|h| !h.trim().is_empty());
            cert.export = export_dir.map(|dir| ExportConfig {
                dir: absolute(&dir),
                layout: export_layout.map(Into::into).unwrap_or_default(),
            });
            if env.config.certificates.contains_key(&name) && !replace {
                return Err(Failure::Usage(format!(
                    "certificate {name:?} already exists; pass --replace to change its definition"
                )));
            }
            let count = cert.names.len();
            env.config.certificates.insert(name.clone(), cert);
            env.save_config()?;
            outln!("certificate {name}: {count} name(s); issue it with `certpilot issue {name}`");
            Ok(())
        }
        CertCommand::Remove { name, purge } => remove(env, &name, purge),
        CertCommand::Import { file, account } => import(env, &file, account.as_deref()),
    }
}

fn build(
    env: &Env,
    name: &str,
    raw_names: &[String],
    account: Option<String>,
    key_type: KeyType,
    renew_days: Option<u32>,
) -> Result<CertConfig, Failure> {
    names::validate_cert_name(name)
        .map_err(|e| Failure::Usage(format!("certificate name: {e}")))?;
    let names = names::normalize_set(raw_names).map_err(|e| Failure::Usage(e.to_string()))?;
    if let Some(account) = &account {
        if !env.config.accounts.contains_key(account) {
            return Err(Failure::Usage(format!(
                "account {account:?} is not configured (see `certpilot account list`)"
            )));
        }
    }
    Ok(CertConfig {
        names,
        account,
        key_type,
        renew_days,
        deploy_hook: None,
        export: None,
        profile: None,
    })
}

/// Export targets are stored absolute: renewals run from timers in another directory.
fn absolute(dir: &std::path::Path) -> std::path::PathBuf {
    std::env::current_dir().map_or_else(|_| dir.to_path_buf(), |cwd| cwd.join(dir))
}

fn remove(env: &mut Env, name: &str, purge: bool) -> Outcome {
    crate::ops::certificates::remove(&env.session, name, purge)?;
    env.config = env.session.load_config()?;
    outln!(
        "certificate {name} removed{}",
        if purge { " with its files and key" } else { "" }
    );
    Ok(())
}

fn import(env: &mut Env, file: &std::path::Path, account: Option<&str>) -> Outcome {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
    let imported =
        certs_json::parse(&text).map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
    // Validate everything before changing anything: a bad entry leaves the config untouched.
    let mut staged = Vec::new();
    for cert in &imported {
        let mut built = build(
            env,
            &cert.name,
            &cert.names,
            account.map(str::to_owned),
            KeyType::default(),
            None,
        )?;
        if let Some(existing) = env.config.certificates.get(&cert.name) {
            built.key_type = existing.key_type;
            built.renew_days = existing.renew_days;
            built.deploy_hook.clone_from(&existing.deploy_hook);
            built.export.clone_from(&existing.export);
            built.account = account
                .map(str::to_owned)
                .or_else(|| existing.account.clone());
        }
        staged.push((cert.name.clone(), built));
    }
    for (name, cert) in staged {
        let verb = match env.config.certificates.get(&name) {
            None => "added",
            Some(old) if old.names == cert.names => "unchanged",
            Some(_) => "names updated",
        };
        outln!("{name}: {verb} ({} names)", cert.names.len());
        env.config.certificates.insert(name, cert);
    }
    env.save_config()
}
