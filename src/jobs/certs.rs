//! Certificate definitions for the editor: saving is [`crate::ops::certificates::save`]
//! (the same checks as `cert add`), deleting is [`crate::ops::certificates::remove`].

use super::Context;

/// A certificate definition from the editor: the request `cert add` fills in too.
pub use crate::ops::certificates::Request as CertRequest;

/// Remove a definition; with `purge` also its files and its key.
///
/// # Errors
/// Unknown certificate, keyring or file errors.
pub fn delete(ctx: &Context, name: &str, purge: bool) -> Result<String, crate::ops::Error> {
    crate::ops::certificates::remove(ctx, name, purge)?;
    Ok(name.to_owned())
}
