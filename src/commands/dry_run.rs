//! `certpilot issue --dry-run NAME [--dry-run-directory URL]`: the whole issuance (order,
//! records, propagation, validation, finalization, download) against a staging CA, with a
//! throwaway account whose key never leaves memory, into a temporary store: no certificate,
//! journal or metadata of the real one is written or replaced, and nothing is deployed. The
//! only lasting trace is the test key in the keyring, which is deleted at the end.

use super::{issue, Env, Failure, Outcome};
use crate::acme::{self, account, http, IssueContext};
use crate::cert::store::CertStore;
use crate::lock::CertLock;
use crate::secrets::SecretRef;
use crate::solver::manual;

/// Production directories and their staging twins.
const TWINS: [(&str, &str); 2] = [
    ("letsencrypt", "letsencrypt-staging"),
    ("google", "google-staging"),
];

/// The staging twin of `directory` (itself when it is already a staging directory).
#[must_use]
pub fn staging_twin(directory: &str) -> Option<String> {
    let url = |preset: &str| account::directory_url(preset).ok();
    TWINS.iter().find_map(|(prod, staging)| {
        let (prod, staging) = (url(prod)?, url(staging)?);
        (directory == prod || directory == staging).then_some(staging)
    })
}

pub(super) async fn run(env: &Env, name: &str, directory: Option<&str>) -> Outcome {
    let account_name = issue::account_name(env, name)?;
    acme::engine::preflight(&env.config, name)?;
    let production = &env.config.accounts[&account_name].directory;
    let url = match directory {
        Some(given) => account::directory_url(given)?,
        None => staging_twin(production).ok_or_else(|| {
            Failure::Usage(format!(
                "no staging twin is known for {production} (known: Let's Encrypt, Google); \
                 pass --dry-run-directory URL"
            ))
        })?,
    };
    let scratch = tempfile::tempdir()
        .map_err(|e| Failure::Failed(format!("a temporary directory for the dry run: {e}")))?;
    let real = issue::context(env)?;
    let ctx = IssueContext {
        store: CertStore::new(scratch.path().join("certificates")),
        state_dir: scratch.path().join("state"),
        ..real
    };
    // The real certificate's lock: a dry run publishes records under the same names.
    let _lock = CertLock::try_acquire(&env.paths.state, name)
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let http = http::client(env.ca_bundle_for(&account_name).as_deref())
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let meta = account::directory_meta(&http, &url).await?;
    if meta.external_account_required {
        return Err(Failure::Usage(format!(
            "{url} requires external account binding, so no throwaway account can be made \
             there: pass a --dry-run-directory that does not"
        )));
    }
    outln!("dry run of {name} against {url} (a throwaway account; nothing is stored or deployed)");
    let email = env.config.accounts[&account_name].email.as_deref();
    let (throwaway, _credentials, _url) = account::register(&http, &url, email, None).await?;
    let printer = issue::printer(env, &ctx);
    let report = |p| printer.report(p);
    let issuing = acme::issue(&ctx, &throwaway, &account_name, name, &report);
    let result = manual::probing(acme::waiting::visible_now(&ctx), issuing).await;
    printer.done(name);
    forget_key(env, &ctx, name).await;
    let outcome = result?;
    outln!(
        "{name}: dry run succeeded: {url} would issue it (test certificate serial {}); \
         nothing was stored, replaced or deployed",
        outcome.meta.serial
    );
    Ok(())
}

/// Delete the test certificate's key the engine put into the keyring (named by the scratch
/// metadata, or by the scratch journal when the run stopped before storing).
async fn forget_key(env: &Env, ctx: &IssueContext, name: &str) {
    let stored = ctx.store.load_meta(name).ok().flatten().map(|m| m.key_id);
    let journaled = || {
        crate::acme::journal::JournalFile::new(&ctx.state_dir, name)
            .load()
            .ok()
            .flatten()
            .and_then(|j| j.new_key_id)
    };
    let Some(key_id) = stored.or_else(journaled) else {
        return;
    };
    let Ok(keystore) = env.keystore() else {
        return;
    };
    let what = SecretRef::CertKey {
        cert: name.to_owned(),
        key_id,
    };
    if let Err(e) = crate::secrets::blocking(move || keystore.delete(&what)).await {
        tracing::warn!(cert = name, error = %e, "could not delete the dry run's key");
    }
}

#[cfg(test)]
mod tests {
    use super::staging_twin;

    #[test]
    fn twins() {
        let le = "https://acme-v02.api.letsencrypt.org/directory";
        let le_staging = "https://acme-staging-v02.api.letsencrypt.org/directory";
        assert_eq!(staging_twin(le).as_deref(), Some(le_staging));
        assert_eq!(staging_twin(le_staging).as_deref(), Some(le_staging));
        assert_eq!(
            staging_twin("https://dv.acme-v02.api.pki.goog/directory").as_deref(),
            Some("https://dv.acme-v02.test-api.pki.goog/directory")
        );
        assert_eq!(staging_twin("https://acme.zerossl.com/v2/DV90"), None);
        assert_eq!(staging_twin("https://127.0.0.1:14000/dir"), None);
    }
}
