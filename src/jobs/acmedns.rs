//! acme-dns jobs: the operations of [`crate::ops::acmedns`] (the same ones `certpilot
//! acme-dns register|import` runs); the result is the CNAME to create.

use std::sync::Arc;

use super::Context;
use crate::ops::{self, acmedns};

pub use crate::ops::acmedns::{Delegation, ImportRequest, RegisterRequest};

/// Check what needs no network: domain, server URL, networks (the form's field message).
///
/// # Errors
/// [`ops::Error::Invalid`] naming the field.
pub fn validate(
    domain: &str,
    server: &str,
    allow_from: &[String],
    insecure: bool,
) -> Result<String, ops::Error> {
    acmedns::validate(domain, server, allow_from, insecure)
}

/// Register, keep the password in the keyring, save the registration.
///
/// # Errors
/// Validation, keyring, server or file errors.
pub async fn register(
    ctx: &Arc<Context>,
    request: RegisterRequest,
) -> Result<Vec<Delegation>, ops::Error> {
    Ok(acmedns::register(ctx, request).await?.delegations)
}

/// Import a credentials file: passwords into the keyring, registrations into the config.
///
/// # Errors
/// Unreadable or invalid file, keyring or config errors.
pub async fn import_file(
    ctx: &Arc<Context>,
    request: ImportRequest,
) -> Result<Vec<Delegation>, ops::Error> {
    let file = acmedns::read(&request)?;
    Ok(acmedns::import(ctx, &file, request.use_for_issuance)
        .await?
        .delegations)
}
