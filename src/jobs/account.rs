//! Account jobs: the account operations of [`crate::ops::account`] (the same ones
//! `certpilot account add|remove` runs), their results as event payloads.

use std::sync::Arc;

use super::Context;
use crate::ops::{self, account};

pub use crate::ops::account::{AccountRequest, DirectoryInfo, Registered};

/// Fetch a directory's metadata, trusting `ca_bundle` (the wizard's field) or else the
/// command line's CA bundle.
///
/// # Errors
/// A bad preset or URL, TLS or HTTP errors, a document that is not a directory.
pub async fn fetch_directory(
    ctx: &Context,
    directory: &str,
    ca_bundle: Option<&std::path::Path>,
) -> Result<DirectoryInfo, ops::Error> {
    account::directory(ctx, ca_bundle, None, directory).await
}

/// Check the parts that need no network: name, email, EAB key (the form's field message).
///
/// # Errors
/// [`ops::Error::Invalid`] naming the field.
pub fn validate(name: &str, email: &str, eab_hmac: Option<&str>) -> Result<(), ops::Error> {
    account::validate(name, email, eab_hmac)
}

/// Register the account (see [`account::register`]).
///
/// # Errors
/// Validation, keyring, CA or file errors.
pub async fn register(
    ctx: &Arc<Context>,
    request: AccountRequest,
) -> Result<Registered, ops::Error> {
    Ok(account::register(ctx, request).await?.registered)
}

/// Remove an account that no certificate uses; returns its name. Blocking.
///
/// # Errors
/// See [`account::remove`].
pub fn remove(ctx: &Context, name: &str) -> Result<String, ops::Error> {
    account::remove(ctx, name, None).map(|_| name.to_owned())
}
