//! `certpilot export NAME [--out DIR] [--layout flat|certbot]`: the only way a private key
//! leaves the keyring.

use std::path::PathBuf;

use super::{Env, Failure, Outcome};
use crate::cert::store::CertStore;
use crate::cli::ExportLayoutArg;
use crate::config::ExportLayout;
use crate::deploy::{self, DeployError};

impl From<DeployError> for Failure {
    fn from(e: DeployError) -> Self {
        match e {
            DeployError::NotIssued(_) => Failure::Usage(e.to_string()),
            _ => Failure::Failed(e.to_string()),
        }
    }
}

pub(super) fn run(
    env: &Env,
    name: &str,
    out: Option<PathBuf>,
    layout: Option<ExportLayoutArg>,
) -> Outcome {
    let configured = env
        .config
        .certificates
        .get(name)
        .and_then(|c| c.export.as_ref());
    let dir = out
        .or_else(|| configured.map(|t| t.dir.clone()))
        .ok_or_else(|| {
            Failure::Usage(format!(
                "{name}: no export target configured; pass --out DIR (or `cert add --export-dir`)"
            ))
        })?;
    let layout: ExportLayout = layout
        .map(Into::into)
        .or_else(|| configured.map(|t| t.layout))
        .unwrap_or_default();
    let store = CertStore::new(&env.paths.certificates);
    let (files, _) = deploy::export(&store, &env.keystore()?, name, &dir, layout)?;
    outln!(
        "{name}: wrote cert.pem, chain.pem, fullchain.pem and privkey.pem (0600) to {}",
        files.lineage.display()
    );
    Ok(())
}
