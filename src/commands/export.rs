//! `certpilot export NAME --out DIR`: the only way a private key leaves the keyring.

use std::path::Path;

use super::{Env, Failure, Outcome};
use crate::cert::inspect;
use crate::cert::store::CertStore;
use crate::fsutil::{self, Mode};
use crate::secrets::SecretRef;

pub(super) fn run(env: &Env, name: &str, out: &Path) -> Outcome {
    let stored = CertStore::new(&env.paths.certificates)
        .load(name)
        .map_err(|e| Failure::Failed(e.to_string()))?
        .ok_or_else(|| Failure::Usage(format!("certificate {name:?} has not been issued yet")))?;
    let entry = SecretRef::CertKey {
        cert: name.to_owned(),
        key_id: stored.meta.key_id.clone(),
    };
    let key = env.keystore()?.get(&entry)?.ok_or_else(|| {
        Failure::Failed(format!(
            "the private key of {name} ({}) is not in the keyring; issue the certificate again",
            entry.user()
        ))
    })?;
    let blocks =
        inspect::split_chain_pem(&stored.chain_pem).map_err(|e| Failure::Failed(e.to_string()))?;
    let (leaf, chain) = blocks
        .split_first()
        .ok_or_else(|| Failure::Failed(format!("{name}: the stored chain is empty")))?;
    fsutil::create_private_dir(out)
        .map_err(|e| Failure::Failed(format!("{}: {e}", out.display())))?;
    let write = |file: &str, data: &str, mode: Mode| {
        let path = out.join(file);
        fsutil::write_atomic(&path, data.as_bytes(), mode)
            .map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))
    };
    write("cert.pem", leaf, Mode::Public)?;
    write("chain.pem", &chain.concat(), Mode::Public)?;
    write("fullchain.pem", &blocks.concat(), Mode::Public)?;
    write("privkey.pem", &key, Mode::Private)?;
    println!(
        "{name}: wrote cert.pem, chain.pem, fullchain.pem and privkey.pem (0600) to {}",
        out.display()
    );
    Ok(())
}
