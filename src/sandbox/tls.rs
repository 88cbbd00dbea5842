//! Pebble's HTTPS certificate: a throwaway CA (whose PEM certpilot trusts through the
//! account's CA bundle: TLS verification stays on) and a certificate for 127.0.0.1.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};

use super::SandboxError;

fn failed(e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Start(format!("Pebble's TLS certificate: {e}"))
}

/// Write `ca.pem`, `cert.pem` and `key.pem` (0600) into `dir`; returns (cert, key).
///
/// # Errors
/// Key generation or a write failed.
pub fn pebble_material(dir: &Path) -> Result<(PathBuf, PathBuf), SandboxError> {
    let ca_key = KeyPair::generate().map_err(failed)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "certpilot sandbox CA");
    let ca = ca_params.self_signed(&ca_key).map_err(failed)?;
    let key = KeyPair::generate().map_err(failed)?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).map_err(failed)?;
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let leaf = params
        .signed_by(&key, &Issuer::new(ca_params, ca_key))
        .map_err(failed)?;
    let write = |name: &str, text: &str, mode| {
        let path = dir.join(name);
        crate::fsutil::write_atomic(&path, text.as_bytes(), mode)
            .map_err(|e| SandboxError::io(&path, &e))
            .map(|()| path)
    };
    write("ca.pem", &ca.pem(), crate::fsutil::Mode::Public)?;
    let cert = write("cert.pem", &leaf.pem(), crate::fsutil::Mode::Public)?;
    let key = write(
        "key.pem",
        &key.serialize_pem(),
        crate::fsutil::Mode::Private,
    )?;
    Ok((cert, key))
}
