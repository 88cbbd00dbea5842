//! Certificate private keys and CSRs.

use rcgen::{CertificateParams, DistinguishedName, KeyPair};
use rustls_pki_types::PrivatePkcs8KeyDer;

use crate::config::KeyType;

/// A key could not be generated or a CSR built.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

/// The background task that generated the key failed (it panicked or was cancelled).
impl From<tokio::task::JoinError> for KeyError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self(format!("the key generation task failed: {e}"))
    }
}

/// Generate a key of `key_type`. RSA comes from the `rsa` crate because ring cannot generate
/// RSA keys; rcgen then signs with it.
///
/// # Errors
///
/// When the key cannot be generated or rcgen refuses it.
pub fn generate(key_type: KeyType) -> Result<KeyPair, KeyError> {
    let err =
        |e: &dyn std::fmt::Display| KeyError(format!("cannot generate a {key_type} key: {e}"));
    match key_type {
        KeyType::EcdsaP256 => {
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| err(&e))
        }
        KeyType::EcdsaP384 => {
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(|e| err(&e))
        }
        KeyType::Rsa2048 => rsa_key(2048).map_err(|e| err(&e)),
        KeyType::Rsa3072 => rsa_key(3072).map_err(|e| err(&e)),
        KeyType::Rsa4096 => rsa_key(4096).map_err(|e| err(&e)),
    }
}

fn rsa_key(bits: usize) -> Result<KeyPair, String> {
    use rsa::pkcs8::EncodePrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, bits).map_err(|e| e.to_string())?;
    let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    let pkcs8 = PrivatePkcs8KeyDer::from(der.as_bytes().to_vec());
    KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| e.to_string())
}

/// A CSR (DER) for `names` signed by `key`, with an empty subject (the names are in the SAN).
///
/// # Errors
///
/// When a name is not valid in a SAN or the CSR cannot be signed with `key`.
pub fn csr_der(names: &[String], key: &KeyPair) -> Result<Vec<u8>, KeyError> {
    let mut params = CertificateParams::new(names.to_vec())
        .map_err(|e| KeyError(format!("cannot build the CSR: {e}")))?;
    params.distinguished_name = DistinguishedName::new();
    let csr = params
        .serialize_request(key)
        .map_err(|e| KeyError(format!("cannot sign the CSR: {e}")))?;
    Ok(csr.der().to_vec())
}

/// A random identifier for a keyring entry (16 hex digits).
#[must_use]
pub fn new_key_id() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 8];
    rand_core::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_keys_and_csr() {
        for kt in [KeyType::EcdsaP256, KeyType::EcdsaP384] {
            let key = generate(kt).unwrap();
            let der = csr_der(&["example.com".into(), "*.example.com".into()], &key).unwrap();
            assert!(der.len() > 100);
            assert!(key.serialize_pem().contains("PRIVATE KEY"));
        }
    }

    #[test]
    fn rsa_2048_key_signs_a_csr() {
        let key = generate(KeyType::Rsa2048).unwrap();
        let der = csr_der(&["example.com".into()], &key).unwrap();
        assert!(der.len() > 200);
    }

    #[test]
    fn key_ids_are_unique_hex() {
        let a = new_key_id();
        assert_eq!(a.len(), 16);
        assert_ne!(a, new_key_id());
    }
}
