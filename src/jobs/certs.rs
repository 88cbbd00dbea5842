//! Saving and deleting certificate definitions, with the checks of `certpilot cert add` and
//! `cert remove`. Blocking (file and keyring I/O): the runner calls these on blocking threads.

use crate::config::{CertConfig, DomainConfig, KeyType};
use crate::domain::names;

use super::Context;

/// A certificate definition from the editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRequest {
    /// `Some(name)` when an existing definition is edited (it may not be renamed).
    pub original: Option<String>,
    /// Certificate name.
    pub name: String,
    /// Names as typed (normalised here).
    pub names: Vec<String>,
    /// Key type.
    pub key_type: KeyType,
    /// Account, `None` for "the only one".
    pub account: Option<String>,
    /// Solver mappings to add: (domain, solver).
    pub solvers: Vec<(String, DomainConfig)>,
    /// Certificate profile (`None`: the CA's default).
    pub profile: Option<String>,
}

/// Validate and save. Returns the certificate name.
///
/// # Errors
/// The first problem found, as a message; nothing is written then.
pub fn save(ctx: &Context, request: &CertRequest) -> Result<String, String> {
    let mut config = ctx.load_config().map_err(|e| e.to_string())?;
    names::validate_cert_name(&request.name).map_err(|e| format!("certificate name: {e}"))?;
    let normalized = names::normalize_set(&request.names).map_err(|e| e.to_string())?;
    match &request.original {
        Some(original) if *original != request.name => {
            return Err(format!(
                "a certificate cannot be renamed ({original} → {})",
                request.name
            ))
        }
        None if config.certificates.contains_key(&request.name) => {
            return Err(format!("certificate {:?} already exists", request.name))
        }
        _ => {}
    }
    if let Some(account) = &request.account {
        if !config.accounts.contains_key(account) {
            return Err(format!("account {account:?} is not configured"));
        }
    }
    let existing = config.certificates.get(&request.name);
    let renew_days = existing.and_then(|c| c.renew_days);
    // The form does not edit deploy settings: keep them.
    let deploy_hook = existing.and_then(|c| c.deploy_hook.clone());
    let export = existing.and_then(|c| c.export.clone());
    for (domain, solver) in &request.solvers {
        let domain = names::normalize(domain).map_err(|e| format!("solver domain: {e}"))?;
        if let DomainConfig::Exec { command, .. } = solver {
            if command.as_os_str().is_empty() {
                return Err(format!("{domain}: the exec solver needs a hook command"));
            }
        }
        // The form does not edit the batch flag: an unchanged hook keeps it.
        let solver = match (solver, config.domains.get(&domain)) {
            (
                DomainConfig::Exec { command, .. },
                Some(DomainConfig::Exec {
                    command: old,
                    batch,
                }),
            ) if command == old => DomainConfig::Exec {
                command: command.clone(),
                batch: *batch,
            },
            _ => solver.clone(),
        };
        config.domains.insert(domain, solver);
    }
    config.certificates.insert(
        request.name.clone(),
        CertConfig {
            names: normalized,
            account: request.account.clone(),
            key_type: request.key_type,
            renew_days,
            deploy_hook,
            export,
            profile: request.profile.clone(),
        },
    );
    crate::config::save(&ctx.paths.config_file, &config).map_err(|e| e.to_string())?;
    tracing::info!(cert = %request.name, "certificate definition saved");
    Ok(request.name.clone())
}

/// Remove a definition; with `purge` also its files and its key.
///
/// # Errors
/// Unknown certificate, keyring or file errors.
pub fn delete(ctx: &Context, name: &str, purge: bool) -> Result<String, String> {
    crate::ops::certificates::remove(ctx, name, purge).map_err(|e| e.to_string())?;
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Paths;
    use crate::session::Overrides;

    fn global() -> Overrides {
        Overrides::default()
    }

    fn request(name: &str, names: &[&str]) -> CertRequest {
        CertRequest {
            original: None,
            name: name.to_owned(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            key_type: KeyType::EcdsaP384,
            account: None,
            solvers: vec![(
                "example.test".into(),
                DomainConfig::Exec {
                    command: "/bin/hook".into(),
                    batch: false,
                },
            )],
            profile: None,
        }
    }

    #[test]
    fn the_form_keeps_the_batch_flag_of_an_unchanged_hook() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::new(Paths::working_dir(dir.path()), global());
        let mut config = crate::config::Config::default();
        let batch = |command: &str| DomainConfig::Exec {
            command: command.into(),
            batch: true,
        };
        config
            .domains
            .insert("example.test".into(), batch("/bin/hook"));
        crate::config::save(&ctx.paths.config_file, &config).unwrap();
        save(&ctx, &request("web", &["a.example.test"])).unwrap();
        assert_eq!(
            ctx.config().unwrap().domains["example.test"],
            batch("/bin/hook")
        );
        let mut other = request("api", &["b.example.test"]);
        other.solvers[0].1 = DomainConfig::Exec {
            command: "/bin/other".into(),
            batch: false,
        };
        save(&ctx, &other).unwrap();
        assert!(matches!(
            &ctx.config().unwrap().domains["example.test"],
            DomainConfig::Exec { batch: false, .. }
        ));
    }

    #[test]
    fn save_validates_then_writes_and_delete_removes() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::new(Paths::working_dir(dir.path()), global());
        assert_eq!(
            save(&ctx, &request("web", &["WWW.Example.test."])).unwrap(),
            "web"
        );
        let config = ctx.config().unwrap();
        assert_eq!(config.certificates["web"].names, ["www.example.test"]);
        assert_eq!(config.certificates["web"].key_type, KeyType::EcdsaP384);
        assert!(config.domains.contains_key("example.test"));

        let err = save(&ctx, &request("web", &["a.example.test"])).unwrap_err();
        assert!(err.contains("already exists"), "{err}");
        let err = save(&ctx, &request("api", &["bad..name"])).unwrap_err();
        assert!(err.contains("bad..name"), "{err}");
        let mut renamed = request("web2", &["a.example.test"]);
        renamed.original = Some("web".into());
        assert!(save(&ctx, &renamed).unwrap_err().contains("renamed"));
        let mut edit = request("web", &["a.example.test"]);
        edit.original = Some("web".into());
        edit.account = Some("nobody".into());
        assert!(save(&ctx, &edit).unwrap_err().contains("nobody"));
        assert_eq!(
            ctx.config().unwrap().certificates["web"].names,
            ["www.example.test"]
        );

        assert_eq!(delete(&ctx, "web", false).unwrap(), "web");
        assert!(ctx.config().unwrap().certificates.is_empty());
        assert!(delete(&ctx, "web", false).is_err());
    }
}
