//! The domains pane's changes to the solver mapping: [`crate::ops::domains`], the same
//! operation as `certpilot domain remove`.

use super::Context;

/// Remove `domain`'s solver from the configuration; returns the domain. Blocking.
///
/// # Errors
/// No solver configured for it, or the config file could not be read or written.
pub fn remove(ctx: &Context, domain: &str) -> Result<String, crate::ops::Error> {
    crate::ops::domains::remove(ctx, domain)
}
