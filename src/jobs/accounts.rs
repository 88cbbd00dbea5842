//! The accounts view's rows: each configured ACME account with its CA, contact, CA bundle
//! and the certificates that use it (file I/O only, no network).

use std::path::PathBuf;

use super::Context;
use crate::config::Config;

/// One account as the accounts view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Account name.
    pub name: String,
    /// The CA's directory URL.
    pub directory: String,
    /// Contact email.
    pub email: Option<String>,
    /// Extra CA certificates trusted for the directory.
    pub ca_bundle: Option<PathBuf>,
    /// External account binding key id.
    pub eab_kid: Option<String>,
    /// Certificates that use the account (named, or as the only account).
    pub certificates: Vec<String>,
}

/// The rows of `config`, by name.
#[must_use]
pub fn rows(config: &Config) -> Vec<AccountRow> {
    config
        .accounts
        .iter()
        .map(|(name, account)| AccountRow {
            name: name.clone(),
            directory: account.directory.clone(),
            email: account.email.clone(),
            ca_bundle: account.ca_bundle.clone(),
            eab_kid: account.eab_kid.clone(),
            certificates: config.certificates_using(name),
        })
        .collect()
}

/// Read the accounts. Blocking.
///
/// # Errors
/// [`crate::ops::Error::Config`] when the configuration cannot be read.
pub fn load(ctx: &Context) -> Result<Vec<AccountRow>, crate::ops::Error> {
    Ok(rows(&ctx.load_config()?))
}
