//! Certificate definitions, one copy for both front ends: adding or editing one
//! (`cert add`, `cert import`, the TUI's editor) and removing one (with `purge`, also its
//! files, its key and any key an interrupted issuance left in the keyring).

use super::Error;
use crate::acme::journal::JournalFile;
use crate::cert::store::CertStore;
use crate::config::{CertConfig, Config, DomainConfig, ExportConfig, KeyType};
use crate::domain::names;
use crate::secrets::SecretRef;
use crate::session::Session;

/// A certificate definition to add or change, as `cert add`, `cert import` and the TUI's
/// editor fill it in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `Some(name)` when an existing definition is edited (it may not be renamed).
    pub original: Option<String>,
    /// Whether a new definition may replace an existing one of the same name.
    pub replace: bool,
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
    /// Certificate profile (`None`: the CA's default); checked against what the CA offers.
    pub profile: Option<String>,
    /// Renewal and deploy settings; `None` keeps those of an existing definition.
    pub settings: Option<Settings>,
}

/// The renewal and deploy settings of a definition (the editor does not show them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Days before expiry to renew (`None`: the policy's default).
    pub renew_days: Option<u32>,
    /// Hook run after each issuance (blank: none).
    pub deploy_hook: Option<String>,
    /// Where the certificate is exported.
    pub export: Option<ExportConfig>,
}

/// Check `request` against `config` and put it in: the definition and its solver
/// mappings. Pure: nothing is written, and `config` is unchanged on error.
///
/// # Errors
/// [`Error::Invalid`] for a bad name or names, a rename, an existing definition without
/// `replace`, an unknown account or an exec solver without a command.
pub fn prepare(config: &mut Config, request: &Request) -> Result<(), Error> {
    let invalid = Error::Invalid;
    names::validate_cert_name(&request.name)
        .map_err(|e| invalid(format!("certificate name: {e}")))?;
    let normalized = names::normalize_set(&request.names).map_err(|e| invalid(e.to_string()))?;
    match &request.original {
        Some(original) if *original != request.name => {
            return Err(invalid(format!(
                "a certificate cannot be renamed ({original} → {})",
                request.name
            )))
        }
        None if !request.replace && config.certificates.contains_key(&request.name) => {
            return Err(invalid(format!(
                "certificate {:?} already exists; replace it (`cert add --replace`) or edit it",
                request.name
            )))
        }
        _ => {}
    }
    if let Some(account) = &request.account {
        if !config.accounts.contains_key(account) {
            return Err(invalid(format!(
                "account {account:?} is not configured (see `certpilot account list`)"
            )));
        }
    }
    let mut domains = Vec::new();
    for (domain, solver) in &request.solvers {
        let domain =
            names::normalize(domain).map_err(|e| invalid(format!("solver domain: {e}")))?;
        if let DomainConfig::Exec { command, .. } = solver {
            if command.as_os_str().is_empty() {
                return Err(invalid(format!(
                    "{domain}: the exec solver needs a hook command"
                )));
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
        domains.push((domain, solver));
    }
    let settings = request.settings.clone().unwrap_or_else(|| {
        config
            .certificates
            .get(&request.name)
            .map(|c| Settings {
                renew_days: c.renew_days,
                deploy_hook: c.deploy_hook.clone(),
                export: c.export.clone(),
            })
            .unwrap_or_default()
    });
    config.domains.extend(domains);
    config.certificates.insert(
        request.name.clone(),
        CertConfig {
            names: normalized,
            account: request.account.clone(),
            key_type: request.key_type,
            renew_days: settings.renew_days,
            deploy_hook: settings.deploy_hook.filter(|h| !h.trim().is_empty()),
            export: settings.export,
            profile: request.profile.clone(),
        },
    );
    Ok(())
}

/// Check, check the profile against what the account's CA offers, and save. Returns the
/// certificate name; nothing is written on error.
///
/// # Errors
/// Those of [`prepare`] and [`super::profiles::check`]; config errors.
pub async fn save(session: &Session, request: &Request) -> Result<String, Error> {
    let mut config = session.load_config()?;
    prepare(&mut config, request)?;
    if let Some(profile) = &request.profile {
        let effective = session.effective(config.clone());
        super::profiles::check(session, &effective, request.account.as_deref(), profile).await?;
    }
    crate::config::save(&session.paths.config_file, &config)?;
    tracing::info!(cert = %request.name, "certificate definition saved");
    Ok(request.name.clone())
}

/// Remove certificate `name` from the config; with `purge` also its stored files, its keys
/// (the stored certificate's and those an interrupted issuance's journal names) and that
/// journal. Blocking.
///
/// # Errors
/// [`Error::Invalid`] for an unknown certificate; config, keyring or file errors.
pub fn remove(session: &Session, name: &str, purge: bool) -> Result<(), Error> {
    let mut config = session.load_config()?;
    if config.certificates.remove(name).is_none() {
        return Err(Error::Invalid(format!(
            "certificate {name:?} is not configured"
        )));
    }
    if purge {
        let store = CertStore::new(&session.paths.certificates);
        let mut key_ids = Vec::new();
        if let Ok(Some(stored)) = store.load(name) {
            key_ids.push(stored.meta.key_id);
        }
        // An interrupted issuance may have put a new key into the keyring already.
        let journal = JournalFile::new(&session.paths.state, name);
        if let Ok(Some(interrupted)) = journal.load() {
            key_ids.extend(interrupted.new_key_id);
            key_ids.extend(interrupted.old_key_id);
        }
        key_ids.sort();
        key_ids.dedup();
        let keystore = session.keystore()?;
        for key_id in key_ids {
            keystore.delete(&SecretRef::CertKey {
                cert: name.to_owned(),
                key_id,
            })?;
        }
        journal.remove()?;
        store.remove(name)?;
    }
    crate::config::save(&session.paths.config_file, &config)?;
    tracing::info!(cert = %name, purge, "certificate definition removed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Kind;
    use crate::paths::Paths;
    use crate::session::Overrides;

    fn session(dir: &std::path::Path) -> Session {
        Session::new(Paths::working_dir(dir), Overrides::default())
    }

    fn request(name: &str, names: &[&str]) -> Request {
        Request {
            name: name.to_owned(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            key_type: KeyType::EcdsaP384,
            solvers: vec![(
                "example.test".into(),
                DomainConfig::Exec {
                    command: "/bin/hook".into(),
                    batch: false,
                },
            )],
            ..Request::default()
        }
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// The same bad definitions fail the same way whether `cert add` (a request with
    /// settings, `replace` from the flag) or the editor (no settings, `original` for an
    /// edit) fills in the request: both call [`save`].
    #[test]
    fn bad_definitions_are_usage_errors_from_both_front_ends_and_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = session(dir.path());
        block(save(&s, &request("web", &["www.example.test"]))).unwrap();
        let before = std::fs::read(&s.paths.config_file).unwrap();
        let long_label = format!("{}.example.test", "a".repeat(64));
        // _acme-challenge.<name> must fit in 253 octets.
        let long_name = format!("{}.example.test", vec!["a".repeat(60); 4].join("."));
        let renamed = Request {
            original: Some("web".into()),
            ..request("web2", &["a.example.test"])
        };
        let no_hook = Request {
            solvers: vec![(
                "example.test".into(),
                DomainConfig::Exec {
                    command: "".into(),
                    batch: false,
                },
            )],
            ..request("api", &["a.example.test"])
        };
        let cases: Vec<(&str, Request, &str)> = vec![
            (
                "bad cert name",
                request("bad/name", &["a.example.test"]),
                "certificate name",
            ),
            ("empty label", request("api", &["bad..name"]), "bad..name"),
            ("long label", request("api", &[&long_label]), ""),
            ("challenge name too long", request("api", &[&long_name]), ""),
            ("no names", request("api", &[]), ""),
            (
                "exists",
                request("web", &["a.example.test"]),
                "already exists",
            ),
            ("rename", renamed, "renamed"),
            (
                "unknown account",
                Request {
                    account: Some("nobody".into()),
                    ..request("api", &["a.example.test"])
                },
                "nobody",
            ),
            ("exec without hook", no_hook, "hook command"),
        ];
        for (what, editor, needle) in cases {
            let cli = Request {
                settings: Some(Settings::default()),
                ..editor.clone()
            };
            for (front, req) in [("editor", editor), ("cli", cli)] {
                let err = block(save(&s, &req)).unwrap_err();
                assert_eq!(err.kind(), Kind::Usage, "{what} ({front}): {err}");
                assert!(err.to_string().contains(needle), "{what} ({front}): {err}");
                assert_eq!(
                    std::fs::read(&s.paths.config_file).unwrap(),
                    before,
                    "{what}"
                );
            }
        }
    }

    #[test]
    fn the_editor_keeps_settings_and_the_batch_flag_the_cli_sets_them() {
        let dir = tempfile::tempdir().unwrap();
        let s = session(dir.path());
        let mut config = Config::default();
        config.domains.insert(
            "example.test".into(),
            DomainConfig::Exec {
                command: "/bin/hook".into(),
                batch: true,
            },
        );
        crate::config::save(&s.paths.config_file, &config).unwrap();
        let cli = Request {
            settings: Some(Settings {
                renew_days: Some(20),
                deploy_hook: Some("  ".into()),
                export: None,
            }),
            ..request("web", &["WWW.Example.test."])
        };
        assert_eq!(block(save(&s, &cli)).unwrap(), "web");
        let edit = Request {
            original: Some("web".into()),
            ..request("web", &["a.example.test"])
        };
        block(save(&s, &edit)).unwrap();
        let config = s.load_config().unwrap();
        let web = &config.certificates["web"];
        assert_eq!(web.names, ["a.example.test"]);
        assert_eq!(
            web.renew_days,
            Some(20),
            "the editor keeps the renewal setting"
        );
        assert_eq!(web.deploy_hook, None, "a blank hook is none");
        assert!(matches!(
            &config.domains["example.test"],
            DomainConfig::Exec { batch: true, .. }
        ));
        let replace = Request {
            replace: true,
            settings: Some(Settings::default()),
            ..request("web", &["b.example.test"])
        };
        block(save(&s, &replace)).unwrap();
        assert_eq!(
            s.load_config().unwrap().certificates["web"].renew_days,
            None
        );
        remove(&s, "web", false).unwrap();
        assert_eq!(remove(&s, "web", false).unwrap_err().kind(), Kind::Usage);
    }
}
