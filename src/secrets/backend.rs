//! Which keyring credential builder serves each [`StoreKind`] on this OS.
//!
//! Builders are created explicitly per store instead of through keyring's process-global
//! default, so one process (the test suite, or a migration between stores) can hold several.

use keyring::credential::CredentialBuilder;

use super::StoreKind;

/// The credential builder for `kind`, or why this build of certpilot has none on this OS.
pub(super) fn credential_builder(kind: StoreKind) -> Result<Box<CredentialBuilder>, String> {
    match kind {
        StoreKind::SecretService => secret_service(),
        StoreKind::Keyutils => keyutils(),
        StoreKind::Platform => platform(),
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
#[allow(clippy::unnecessary_wraps)] // the same signature is an error on other systems
fn secret_service() -> Result<Box<CredentialBuilder>, String> {
    Ok(keyring::secret_service::default_credential_builder())
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd")))]
fn secret_service() -> Result<Box<CredentialBuilder>, String> {
    Err(format!(
        "certpilot has no Secret Service client on {}",
        std::env::consts::OS
    ))
}

#[cfg(target_os = "linux")]
#[allow(clippy::unnecessary_wraps)] // the same signature is an error on other systems
fn keyutils() -> Result<Box<CredentialBuilder>, String> {
    Ok(keyring::keyutils::default_credential_builder())
}

#[cfg(not(target_os = "linux"))]
fn keyutils() -> Result<Box<CredentialBuilder>, String> {
    Err(format!(
        "the kernel keyring exists only on Linux, not on {}",
        std::env::consts::OS
    ))
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "windows"))]
#[allow(clippy::unnecessary_wraps)] // the same signature is an error on other systems
fn platform() -> Result<Box<CredentialBuilder>, String> {
    // On these systems keyring's `default` module is the native store (features
    // apple-native / windows-native); only the module itself is used, never the global default.
    Ok(keyring::default::default_credential_builder())
}

#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "windows")))]
fn platform() -> Result<Box<CredentialBuilder>, String> {
    Err(format!(
        "there is no platform keychain on {}",
        std::env::consts::OS
    ))
}
