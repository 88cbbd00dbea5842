//! The domains pane's changes to the solver mapping (as `certpilot domain remove`).

use super::Context;

/// Remove `domain`'s solver from the configuration; returns the domain. Blocking.
///
/// # Errors
/// No solver configured for it, or the config file could not be read or written.
pub fn remove(ctx: &Context, domain: &str) -> Result<String, String> {
    // The file as it is (the effective config would write the command line into it).
    let mut config = ctx.load_config().map_err(|e| e.to_string())?;
    if config.domains.remove(domain).is_none() {
        return Err(format!("{domain}: no solver configured"));
    }
    crate::config::save(&ctx.paths.config_file, &config).map_err(|e| e.to_string())?;
    tracing::info!(domain, "solver removed");
    Ok(domain.to_owned())
}
