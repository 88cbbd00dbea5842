//! Issuing and renewing, the part both front ends share: which account a certificate uses,
//! restoring that account from the keyring, and the engine's context (the effective config,
//! the `--propagation` mode on the effective resolvers, the CA timeout). The CLI prints the
//! engine's steps; the TUI's job forwards them as events.

use std::sync::Arc;

use instant_acme::Account;

use super::{blocking, Error};
use crate::acme::{self, account, http, IssueContext};
use crate::cert::store::CertStore;
use crate::config::Config;
use crate::dns::Waiter;
use crate::lock::CertLock;
use crate::secrets::{Keystore, SecretRef};
use crate::session::Session;

/// The account certificate `cert` uses, checked before anything is sent.
///
/// # Errors
/// [`Error::Invalid`]: the certificate is not configured, or names no account and there is
/// not exactly one.
pub fn account_name(config: &Config, cert: &str) -> Result<String, Error> {
    let cfg = config.certificates.get(cert).ok_or_else(|| {
        Error::Invalid(format!(
            "certificate {cert:?} is not configured (see `certpilot list`)"
        ))
    })?;
    config.account_for(cfg).map(str::to_owned).ok_or_else(|| {
        Error::Invalid(if config.accounts.is_empty() {
            "no ACME account: add one with `certpilot account add` (or A in the dashboard)"
                .to_owned()
        } else {
            format!(
                "certificate {cert:?} names no account and several exist: pass --account to \
                 `cert add` (or pick one in the editor)"
            )
        })
    })
}

/// Account `name` of the effective `config`, restored from the keyring (an interrupted key
/// rollover is finished), its CA reached through its CA bundle with the session's timeout.
///
/// # Errors
/// Keyring, trust store or CA errors; credentials missing from the keyring.
pub async fn load_account(
    session: &Arc<Session>,
    config: &Config,
    name: &str,
) -> Result<Account, Error> {
    // The trust store is read while the keyring answers: both are slow, neither needs the other.
    let bundle = session.ca_bundle_for(config, name);
    let client = tokio::task::spawn_blocking(move || http::client(bundle.as_deref()));
    let opener = Arc::clone(session);
    let owned = name.to_owned();
    let creds = blocking::<_, Error>(move || {
        let keystore = opener.keystore()?;
        Ok(account::stored_credentials(&keystore, &owned)?)
    })
    .await?
    .ok_or_else(|| {
        Error::MissingKey(format!(
            "account {name}: its credentials are not in the keyring ({}); register it again \
             with `certpilot account add {name} --directory {} --agree-tos --replace`",
            SecretRef::Account(name.to_owned()).user(),
            config
                .accounts
                .get(name)
                .map_or("URL", |a| a.directory.as_str())
        ))
    })?;
    let http = client.await.map_err(|e| Error::Task(e.to_string()))??;
    let limits = crate::acme::ca_shared::Limits::of(&config.settings);
    Ok(account::restore_with_limits(&http, session.ca_timeout(), limits, name, &creds).await?)
}

/// The engine's context for this run: the effective `config`, the `--propagation` mode on
/// its resolvers, the timeouts.
///
/// # Errors
/// A bad `--propagation` mode or resolver ([`Error::Invalid`]).
pub fn context(
    session: &Session,
    config: Arc<Config>,
    keystore: Keystore,
) -> Result<IssueContext, Error> {
    let checker = Waiter::for_run(
        session.propagation_mode(),
        &config.settings.resolvers,
        &config.settings,
        session.ignored_servers(),
    )
    .map_err(|e| Error::Invalid(e.to_string()))?;
    Ok(IssueContext {
        propagation_timeout: std::time::Duration::from_secs(config.settings.propagation_timeout),
        config,
        keystore,
        store: CertStore::new(&session.paths.certificates),
        checker,
        ca_timeout: session.ca_timeout(),
        state_dir: session.paths.state.clone(),
        ca_bundle: session.global_ca_bundle().map(std::path::Path::to_path_buf),
    })
}

/// Everything the engine needs to issue one certificate.
pub struct Prepared {
    /// The engine's context (the effective config inside).
    pub context: IssueContext,
    /// The account, restored.
    pub account: Account,
    /// Its name.
    pub account_name: String,
    /// The certificate's lock, held until the deploy step is done.
    pub lock: CertLock,
}

/// Prepare issuing `cert`: the effective config, the account's name, the preflight checks,
/// the options (before the lock: a usage error leaves no file behind), the lock, the account.
///
/// # Errors
/// Config, usage, lock, keyring or CA errors.
pub async fn prepare(session: &Arc<Session>, cert: &str) -> Result<Prepared, Error> {
    let config = Arc::new(session.config()?);
    let account_name = account_name(&config, cert)?;
    acme::engine::preflight(&config, cert)?;
    let opener = Arc::clone(session);
    let keystore = blocking::<_, Error>(move || Ok(opener.keystore()?)).await?;
    let context = context(session, Arc::clone(&config), keystore)?;
    let lock = CertLock::try_acquire(&session.paths.state, cert)
        .map_err(|e| Error::Locked(e.to_string()))?;
    let account = load_account(session, &config, &account_name).await?;
    Ok(Prepared {
        context,
        account,
        account_name,
        lock,
    })
}
