//! `certpilot cert add|remove|import`.

use super::{Env, Failure, Outcome};
use crate::cli::CertCommand;
use crate::config::{certs_json, ExportConfig};
use crate::ops::certificates::{self, Request, Settings};

pub(super) async fn run(env: &mut Env, cmd: CertCommand) -> Outcome {
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
            let request = Request {
                replace,
                name: name.clone(),
                names,
                key_type: key_type.into(),
                account,
                profile,
                settings: Some(Settings {
                    renew_days,
                    deploy_hook,
                    export: export_dir.map(|dir| ExportConfig {
                        dir: absolute(&dir),
                        layout: export_layout.map(Into::into).unwrap_or_default(),
                    }),
                }),
                ..Request::default()
            };
            certificates::save(&env.session, &request).await?;
            env.config = env.session.load_config()?;
            let count = env
                .config
                .certificates
                .get(&name)
                .map_or(0, |c| c.names.len());
            outln!("certificate {name}: {count} name(s); issue it with `certpilot issue {name}`");
            Ok(())
        }
        CertCommand::Remove { name, purge } => remove(env, &name, purge),
        CertCommand::Import { file, account } => import(env, &file, account.as_deref()),
    }
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
    let mut config = env.config.clone();
    let mut staged = Vec::new();
    for cert in &imported {
        let existing = env.config.certificates.get(&cert.name);
        let request = Request {
            replace: true,
            name: cert.name.clone(),
            names: cert.names.clone(),
            key_type: existing.map(|c| c.key_type).unwrap_or_default(),
            account: account
                .map(str::to_owned)
                .or_else(|| existing.and_then(|c| c.account.clone())),
            profile: existing.and_then(|c| c.profile.clone()),
            ..Request::default()
        };
        certificates::prepare(&mut config, &request)?;
        staged.push(cert.name.clone());
    }
    for name in staged {
        let names = &config.certificates[&name].names;
        let verb = match env.config.certificates.get(&name) {
            None => "added",
            Some(old) if old.names == *names => "unchanged",
            Some(_) => "names updated",
        };
        outln!("{name}: {verb} ({} names)", names.len());
    }
    env.config = config;
    env.save_config()
}
