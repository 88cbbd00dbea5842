//! What a PEM certificate chain says about itself: names, validity, serial, issuer, key
//! type, fingerprint. Pure: the caller reads the file and adds its path to errors.

use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::oid_registry::{
    Oid, OID_EC_P256, OID_NIST_EC_P384, OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
};
use x509_parser::pem::Pem;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Name};

/// The PEM label of a certificate block; other blocks (keys, parameters) are skipped.
const CERTIFICATE_LABEL: &str = "CERTIFICATE";
/// Base64 characters per PEM line (RFC 7468 §2).
const PEM_LINE_WIDTH: usize = 64;

/// The facts about a chain's leaf certificate that certpilot shows and stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// SAN dNSNames of the leaf, in certificate order.
    pub names: Vec<String>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Serial number, lower-case hex without separators or leading zero bytes.
    pub serial: String,
    /// The serial's DER content octets as encoded (with any leading zero), for ARI.
    pub serial_der: Vec<u8>,
    /// The keyIdentifier of the Authority Key Identifier extension, if any.
    pub authority_key_id: Option<Vec<u8>>,
    /// Issuer common name, or the whole issuer DN when it has no CN.
    pub issuer: String,
    /// Subject common name, or the whole subject DN when it has no CN (possibly empty).
    pub subject: String,
    /// SHA-256 of the leaf DER, upper-case hex pairs joined by `:`.
    pub sha256_fingerprint: String,
    /// `ecdsa-p256`, `ecdsa-p384`, `rsa-2048`, `rsa-3072`, `rsa-4096`; `None` for others.
    pub key_type: Option<String>,
    /// Number of CERTIFICATE blocks in the PEM text.
    pub chain_len: usize,
}

/// Why a PEM chain could not be inspected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    /// No `-----BEGIN CERTIFICATE-----` block at all.
    #[error("no certificate in the PEM text")]
    NoCertificate,
    /// A PEM block that cannot be read (no END line, bad base64, bad header).
    #[error("PEM block {block}: {message}")]
    BadPem {
        /// 1-based number of the block among all PEM blocks.
        block: usize,
        /// What is wrong.
        message: String,
    },
    /// A CERTIFICATE block whose content is not an X.509 certificate.
    #[error("certificate {index} of the chain is not valid X.509: {message}")]
    BadDer {
        /// 1-based number of the certificate in the chain (1 is the leaf).
        index: usize,
        /// x509-parser's message.
        message: String,
    },
}

/// Inspect a PEM chain; the first CERTIFICATE block is the leaf. Every certificate block
/// must parse, so that a damaged chain is noticed before it is deployed.
///
/// # Errors
/// [`InspectError`] naming the block or certificate at fault.
pub fn inspect_chain_pem(pem: &str) -> Result<CertInfo, InspectError> {
    let ders = certificate_ders(pem)?;
    let leaf_der = ders.first().ok_or(InspectError::NoCertificate)?;
    let leaf = parse_der(1, leaf_der)?;
    let bad_der = |message: String| InspectError::BadDer { index: 1, message };
    let names = match leaf.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some((*dns).to_string()),
                _ => None,
            })
            .collect(),
        Ok(None) => Vec::new(),
        Err(e) => return Err(bad_der(format!("subjectAltName: {e}"))),
    };
    let raw_serial = leaf.raw_serial();
    Ok(CertInfo {
        names,
        not_before: leaf.validity().not_before.to_datetime(),
        not_after: leaf.validity().not_after.to_datetime(),
        serial: serial_hex(raw_serial),
        serial_der: raw_serial.to_vec(),
        authority_key_id: authority_key_id(&leaf)?,
        issuer: display_name(leaf.issuer()),
        subject: display_name(leaf.subject()),
        sha256_fingerprint: fingerprint(leaf_der),
        key_type: key_type(leaf.public_key()).map(str::to_string),
        chain_len: ders.len(),
    })
}

/// Split a PEM chain into its CERTIFICATE blocks, each re-encoded as PEM text (64-column
/// base64, `\n` line ends) ending with a newline. Text and other blocks between them are
/// dropped.
///
/// # Errors
/// As [`inspect_chain_pem`].
pub fn split_chain_pem(pem: &str) -> Result<Vec<String>, InspectError> {
    let ders = certificate_ders(pem)?;
    if ders.is_empty() {
        return Err(InspectError::NoCertificate);
    }
    Ok(ders.iter().map(|der| encode_pem(der)).collect())
}

/// The DER of every CERTIFICATE block, each checked to parse as X.509.
fn certificate_ders(pem: &str) -> Result<Vec<Vec<u8>>, InspectError> {
    let mut ders = Vec::new();
    for (index, block) in Pem::iter_from_buffer(pem.as_bytes()).enumerate() {
        let block = block.map_err(|e| InspectError::BadPem {
            block: index + 1,
            message: e.to_string(),
        })?;
        if block.label == CERTIFICATE_LABEL {
            parse_der(ders.len() + 1, &block.contents)?;
            ders.push(block.contents);
        }
    }
    Ok(ders)
}

/// Parse one certificate, refusing trailing bytes after it.
fn parse_der(index: usize, der: &[u8]) -> Result<X509Certificate<'_>, InspectError> {
    let bad = |message: String| InspectError::BadDer { index, message };
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => Ok(cert),
        Ok((rest, _)) => Err(bad(format!("{} bytes after the certificate", rest.len()))),
        Err(x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e)) => {
            Err(bad(e.to_string()))
        }
        Err(x509_parser::nom::Err::Incomplete(_)) => Err(bad("truncated DER".to_string())),
    }
}

/// Lower-case hex of the serial, without the sign-padding zero bytes DER adds; one byte
/// is always kept (serial zero is `00`).
fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    raw[start..].iter().fold(String::new(), |mut out, b| {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Upper-case, colon-separated SHA-256, as `openssl x509 -fingerprint -sha256` prints it.
fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The AKI keyIdentifier; a duplicated extension is an error, as RFC 5280 forbids it.
fn authority_key_id(cert: &X509Certificate<'_>) -> Result<Option<Vec<u8>>, InspectError> {
    let ext = cert
        .get_extension_unique(&OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER)
        .map_err(|e| InspectError::BadDer {
            index: 1,
            message: format!("authorityKeyIdentifier: {e}"),
        })?;
    Ok(match ext.map(X509Extension::parsed_extension) {
        Some(ParsedExtension::AuthorityKeyIdentifier(aki)) => {
            aki.key_identifier.as_ref().map(|id| id.0.to_vec())
        }
        _ => None,
    })
}

/// The first CN if it is a readable string, else the whole DN (`O=…, C=…`).
fn display_name(name: &X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map_or_else(|| name.to_string(), str::to_string)
}

/// certpilot's key type name for the leaf's public key, when it is one certpilot issues.
fn key_type(spki: &SubjectPublicKeyInfo<'_>) -> Option<&'static str> {
    match spki.parsed().ok()? {
        PublicKey::EC(_) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| Oid::try_from(p).ok())?;
            if curve == OID_EC_P256 {
                Some("ecdsa-p256")
            } else if curve == OID_NIST_EC_P384 {
                Some("ecdsa-p384")
            } else {
                None
            }
        }
        PublicKey::RSA(rsa) => rsa_key_type(rsa_modulus_bits(rsa.modulus)),
        _ => None,
    }
}

/// Bit length of an RSA modulus given as big-endian bytes (possibly zero-padded).
/// x509-parser's own `key_size` assumes exactly one padding byte, so it is not used.
fn rsa_modulus_bits(modulus: &[u8]) -> usize {
    let start = modulus
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(modulus.len());
    match modulus.get(start) {
        // `leading_zeros` of a u8 is at most 8, so the cast is lossless.
        Some(first) => (modulus.len() - start) * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

fn rsa_key_type(bits: usize) -> Option<&'static str> {
    match bits {
        2048 => Some("rsa-2048"),
        3072 => Some("rsa-3072"),
        4096 => Some("rsa-4096"),
        _ => None,
    }
}

/// One CERTIFICATE block in RFC 7468 form.
fn encode_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / PEM_LINE_WIDTH + 64);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    // Base64 is ASCII, so splitting the bytes keeps valid UTF-8.
    for line in b64.as_bytes().chunks(PEM_LINE_WIDTH) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
        SerialNumber, SignatureAlgorithm, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384,
    };
    use time::macros::datetime;

    /// ring (rcgen's backend here) cannot generate RSA keys, so the RSA case is a fixed
    /// self-signed certificate made once with
    /// `openssl req -x509 -newkey rsa:2048 -days 36500 -set_serial 0x00c0ffee
    ///  -subj "/O=certpilot test/CN=rsa.example.test" -addext subjectAltName=DNS:rsa.example.test`.
    const RSA_2048_PEM: &str = "\
-----BEGIN CERTIFICATE-----
MIIDWDCCAkCgAwIBAgIEAMD/7jANBgkqhkiG9w0BAQsFADA0MRcwFQYDVQQKDA5j
ZXJ0cGlsb3QgdGVzdDEZMBcGA1UEAwwQcnNhLmV4YW1wbGUudGVzdDAgFw0yNjEx
MjUxNjIzMzFaGA8yMTI2MTEwMTE2MjMzMVowNDEXMBUGA1UECgwOY2VydHBpbG90
IHRlc3QxGTAXBgNVBAMMEHJzYS5leGFtcGxlLnRlc3QwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQCxXNFj24mWZ8IQPiji+41oJlTuipHFdUvBw8KmZh7g
+5a3uaHE6tXUkHXAuEkje7n5kaopfmzMcu8eUkkTHSkDqMPUorS46ebslN5ms3pz
7sbC1PXiBX+v+e08/jML3GPlfGSA/AOhZEIJa6DcP3BFI3okGNIcLRru9k8x2Lxm
EoBdXcFg2Apw/GK2vTND4+XLsUF6sEWVfxwTqWYFf7kfbxyvEdaxgBRJ4neIBjLg
BWtISdSTLFld6okiqqoN4pDd6tXxS01jaNU+WqDvNN11WpCM5/AW8Ff740IT8EqK
FZk/qKYHWsJpWdEXxu4K8mjibfVC3DuhTq6Pk82HblPrAgMBAAGjcDBuMB0GA1Ud
DgQWBBQbJeh3YounEVRCGo4F9t4skyLtNjAfBgNVHSMEGDAWgBQbJeh3YounEVRC
Go4F9t4skyLtNjAPBgNVHRMBAf8EBTADAQH/MBsGA1UdEQQUMBKCEHJzYS5leGFt
cGxlLnRlc3QwDQYJKoZIhvcNAQELBQADggEBAKGI5x1zT+7K1IUQKTUs2Wjp4YBg
Wy2KRZk2bTgAHLsq4kxaF+0zP849+E3N8+fjfvgcTUq5OUl6V+J2f3l+NzTdQmzc
vuSFcBw0QHseToK+eUurs0W5Sbh+hpi9766omgN8pUMdHRRId71+uzHZ9FzaZiAI
Vp1+1P4DRekAG6sSgeIkyX1E/+BerV7dByJw9HbMQB3GAwvXkweLcHGc2VwLlRuY
JSOgr5zcJKFCLvrz9wOdK2KdVaI1UG2S/dAeGYLZYsK8vc0pPYr9Ia3THJCr3FGf
+FvQaYNDdH13tNZs1fzBIEV1NeJKaCOhw8ckI8P44ANIuAgj+tfwkuZD4DE=
-----END CERTIFICATE-----
";

    /// A CA and a leaf it signed, as PEM, plus what the leaf must report.
    struct Fixture {
        leaf_pem: String,
        ca_pem: String,
        leaf_der: Vec<u8>,
        ca_key_id: Vec<u8>,
    }

    /// CA with a P-384 key; leaf for `example.com` and `*.example.com` with `leaf_alg`.
    fn fixture(leaf_alg: &'static SignatureAlgorithm, with_ca_cn: bool, serial: &[u8]) -> Fixture {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let mut ca_dn = DistinguishedName::new();
        ca_dn.push(DnType::OrganizationName, "certpilot test");
        if with_ca_cn {
            ca_dn.push(DnType::CommonName, "certpilot test CA");
        }
        ca_params.distinguished_name = ca_dn;
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
        let ca_key_id = ca_params.key_identifier(&ca_key);
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate_for(leaf_alg).expect("leaf key");
        let mut params =
            CertificateParams::new(vec!["example.com".to_string(), "*.example.com".to_string()])
                .expect("leaf params");
        params.not_before = datetime!(2025-01-01 00:00 UTC);
        params.not_after = datetime!(2025-04-01 12:30:05 UTC);
        params.serial_number = Some(SerialNumber::from_slice(serial));
        params.use_authority_key_identifier_extension = true;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "example.com");
        params.distinguished_name = dn;
        let leaf = params.signed_by(&leaf_key, &issuer).expect("leaf cert");
        Fixture {
            leaf_pem: leaf.pem(),
            ca_pem: ca_cert.pem(),
            leaf_der: leaf.der().to_vec(),
            ca_key_id,
        }
    }

    /// One rcgen chain and what its leaf must report.
    struct ChainCase {
        alg: &'static SignatureAlgorithm,
        with_ca_cn: bool,
        serial: &'static [u8],
        serial_hex: &'static str,
        serial_der: &'static [u8],
        key_type: &'static str,
        issuer: &'static str,
    }

    #[test]
    fn inspects_rcgen_chains() {
        let cases = [
            ChainCase {
                alg: &PKCS_ECDSA_P256_SHA256,
                with_ca_cn: true,
                // High bit set: DER prepends a zero byte, the hex form drops it.
                serial: &[0x8f, 0x01, 0x02],
                serial_hex: "8f0102",
                serial_der: &[0x00, 0x8f, 0x01, 0x02],
                key_type: "ecdsa-p256",
                issuer: "certpilot test CA",
            },
            ChainCase {
                alg: &PKCS_ECDSA_P384_SHA384,
                with_ca_cn: true,
                serial: &[0x01],
                serial_hex: "01",
                serial_der: &[0x01],
                key_type: "ecdsa-p384",
                issuer: "certpilot test CA",
            },
            ChainCase {
                alg: &PKCS_ECDSA_P256_SHA256,
                with_ca_cn: false,
                serial: &[0x7f, 0xff],
                serial_hex: "7fff",
                serial_der: &[0x7f, 0xff],
                key_type: "ecdsa-p256",
                issuer: "O=certpilot test",
            },
        ];
        for ChainCase {
            alg,
            with_ca_cn,
            serial,
            serial_hex,
            serial_der,
            key_type,
            issuer,
        } in cases
        {
            let f = fixture(alg, with_ca_cn, serial);
            let chain = format!("{}{}", f.leaf_pem, f.ca_pem);
            let info = inspect_chain_pem(&chain).expect("inspects");
            let want = CertInfo {
                names: vec!["example.com".into(), "*.example.com".into()],
                not_before: datetime!(2025-01-01 00:00 UTC),
                not_after: datetime!(2025-04-01 12:30:05 UTC),
                serial: serial_hex.into(),
                serial_der: serial_der.to_vec(),
                authority_key_id: Some(f.ca_key_id.clone()),
                issuer: issuer.into(),
                subject: "example.com".into(),
                sha256_fingerprint: fingerprint(&f.leaf_der),
                key_type: Some(key_type.into()),
                chain_len: 2,
            };
            assert_eq!(info, want, "{key_type} {serial_hex}");
            // The fingerprint format itself: 32 upper-case pairs.
            assert_eq!(info.sha256_fingerprint.len(), 32 * 3 - 1);
            assert!(info
                .sha256_fingerprint
                .split(':')
                .all(|p| p.len() == 2 && !p.chars().any(|c| c.is_ascii_lowercase())));
        }
    }

    #[test]
    fn inspects_openssl_rsa_fixture() {
        let info = inspect_chain_pem(RSA_2048_PEM).expect("inspects");
        let key_id = [
            0x1B, 0x25, 0xE8, 0x77, 0x62, 0x8B, 0xA7, 0x11, 0x54, 0x42, 0x1A, 0x8E, 0x05, 0xF6,
            0xDE, 0x2C, 0x93, 0x22, 0xED, 0x36,
        ];
        let want = CertInfo {
            names: vec!["rsa.example.test".into()],
            not_before: datetime!(2026-11-25 16:23:31 UTC),
            not_after: datetime!(2126-11-01 16:23:31 UTC),
            serial: "c0ffee".into(),
            serial_der: vec![0x00, 0xc0, 0xff, 0xee],
            authority_key_id: Some(key_id.to_vec()),
            issuer: "rsa.example.test".into(),
            subject: "rsa.example.test".into(),
            // As printed by `openssl x509 -noout -fingerprint -sha256`.
            sha256_fingerprint: "D4:F3:F5:95:C0:15:B5:31:57:86:ED:DA:A7:7B:3C:F8:\
                                 B4:60:32:0C:3C:14:0A:DD:32:7D:93:D3:9E:07:93:1D"
                .into(),
            key_type: Some("rsa-2048".into()),
            chain_len: 1,
        };
        assert_eq!(info, want);
    }

    #[test]
    fn tolerates_text_other_blocks_and_crlf() {
        let f = fixture(&PKCS_ECDSA_P256_SHA256, true, &[0x05]);
        let key_block = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let chain = format!(
            "Bag Attributes: leaf\n{}\nsubject=CA\n{}{key_block}trailing words\n",
            f.leaf_pem, f.ca_pem
        )
        .replace('\n', "\r\n");
        let info = inspect_chain_pem(&chain).expect("inspects");
        assert_eq!(info.chain_len, 2);
        assert_eq!(info.serial, "05");
        let blocks = split_chain_pem(&chain).expect("splits");
        assert_eq!(
            blocks,
            vec![
                f.leaf_pem.replace("\r\n", "\n"),
                f.ca_pem.replace("\r\n", "\n")
            ]
        );
    }

    #[test]
    fn split_reencodes_each_block() {
        let f = fixture(&PKCS_ECDSA_P384_SHA384, true, &[0x42]);
        let chain = format!("{}{}", f.leaf_pem, f.ca_pem);
        let blocks = split_chain_pem(&chain).expect("splits");
        assert_eq!(blocks.len(), 2);
        for block in &blocks {
            assert!(block.starts_with("-----BEGIN CERTIFICATE-----\n"));
            assert!(block.ends_with("-----END CERTIFICATE-----\n"));
            assert!(block.lines().all(|l| l.len() <= 64));
        }
        assert_eq!(blocks.concat(), chain.replace("\r\n", "\n"));
        let leaf = inspect_chain_pem(&blocks[0]).expect("leaf alone");
        assert_eq!(leaf.sha256_fingerprint, fingerprint(&f.leaf_der));
        assert_eq!(leaf.chain_len, 1);
        let ca = inspect_chain_pem(&blocks[1]).expect("CA alone");
        assert_eq!(ca.subject, "certpilot test CA");
        assert!(ca.names.is_empty());
        assert_eq!(ca.key_type.as_deref(), Some("ecdsa-p384"));
    }

    #[test]
    fn rejects_bad_input() {
        let f = fixture(&PKCS_ECDSA_P256_SHA256, true, &[0x01]);
        // "MAMCAQE=" is a SEQUENCE holding INTEGER 1: DER, but no certificate.
        let not_x509 = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
        let cases: Vec<(String, InspectError)> = vec![
            (String::new(), InspectError::NoCertificate),
            ("just some text\n".into(), InspectError::NoCertificate),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
                InspectError::NoCertificate,
            ),
            (
                "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".into(),
                InspectError::BadPem {
                    block: 1,
                    message: "base64 decode error".into(),
                },
            ),
            (
                format!("{}-----BEGIN CERTIFICATE-----\nAAAA\n", f.leaf_pem),
                InspectError::BadPem {
                    block: 2,
                    message: "incomplete PEM".into(),
                },
            ),
            (
                format!("{}{not_x509}", f.leaf_pem),
                InspectError::BadDer {
                    index: 2,
                    message: String::new(),
                },
            ),
            (
                not_x509.into(),
                InspectError::BadDer {
                    index: 1,
                    message: String::new(),
                },
            ),
        ];
        for (input, want) in cases {
            let got = inspect_chain_pem(&input).expect_err(&input);
            let split = split_chain_pem(&input).expect_err(&input);
            assert_eq!(got, split, "input {input:?}");
            match (&got, &want) {
                // x509-parser's wording is its own; only its presence is checked.
                (
                    InspectError::BadDer { index, message },
                    InspectError::BadDer {
                        index: want_index, ..
                    },
                ) => {
                    assert_eq!(index, want_index, "input {input:?}");
                    assert!(!message.is_empty(), "input {input:?}");
                }
                _ => assert_eq!(got, want, "input {input:?}"),
            }
        }
    }

    #[test]
    fn trailing_bytes_after_der_are_refused() {
        let f = fixture(&PKCS_ECDSA_P256_SHA256, true, &[0x01]);
        let mut der = f.leaf_der.clone();
        der.extend_from_slice(&[0, 0]);
        let pem = encode_pem(&der);
        assert_eq!(
            inspect_chain_pem(&pem),
            Err(InspectError::BadDer {
                index: 1,
                message: "2 bytes after the certificate".into(),
            })
        );
    }

    #[test]
    fn helpers() {
        let serials: [(&[u8], &str); 5] = [
            (&[0x00], "00"),
            (&[0x00, 0x00], "00"),
            (&[0x00, 0x80], "80"),
            (&[0x0a, 0x00], "0a00"),
            (&[], ""),
        ];
        for (raw, want) in serials {
            assert_eq!(serial_hex(raw), want, "raw {raw:?}");
        }
        let mut modulus_2048 = vec![0x00, 0x80];
        modulus_2048.resize(257, 0x01);
        let mut modulus_3072 = vec![0xc0];
        modulus_3072.resize(384, 0x01);
        let mut modulus_4095 = vec![0x7f];
        modulus_4095.resize(512, 0x01);
        let bits: [(&[u8], usize, Option<&str>); 5] = [
            (&modulus_2048, 2048, Some("rsa-2048")),
            (&modulus_3072, 3072, Some("rsa-3072")),
            (&modulus_4095, 4095, None),
            (&[0x00, 0x00], 0, None),
            (&[0x01], 1, None),
        ];
        for (modulus, want_bits, want_type) in bits {
            assert_eq!(rsa_modulus_bits(modulus), want_bits);
            assert_eq!(rsa_key_type(want_bits), want_type);
        }
        assert_eq!(rsa_key_type(4096), Some("rsa-4096"));
    }
}
