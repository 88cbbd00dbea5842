//! Certificate definitions, one copy for both front ends: removing one (with `purge`, also
//! its files, its key and any key an interrupted issuance left in the keyring).

use super::Error;
use crate::acme::journal::JournalFile;
use crate::cert::store::CertStore;
use crate::secrets::SecretRef;
use crate::session::Session;

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
