//! The value enums of the command line (`--key-type`, `--solver`, `--layout`, `--reason`)
//! and their mapping to the configuration's types.

use clap::ValueEnum;

/// Revocation reasons a subscriber may give (RFC 5280 §5.3.1; the ones CAs accept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RevokeReasonArg {
    /// No reason given.
    Unspecified,
    /// The private key was (or may have been) disclosed.
    KeyCompromise,
    /// The names or organisation in the certificate changed.
    AffiliationChanged,
    /// Replaced by another certificate.
    Superseded,
    /// The names are no longer in use.
    CessationOfOperation,
}

/// Export layouts on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportLayoutArg {
    /// DIR/cert.pem, chain.pem, fullchain.pem, privkey.pem.
    Flat,
    /// DIR/live/NAME/cert.pem, chain.pem, fullchain.pem, privkey.pem (certbot's layout).
    Certbot,
}

impl From<ExportLayoutArg> for crate::config::ExportLayout {
    fn from(l: ExportLayoutArg) -> Self {
        match l {
            ExportLayoutArg::Flat => crate::config::ExportLayout::Flat,
            ExportLayoutArg::Certbot => crate::config::ExportLayout::Certbot,
        }
    }
}

/// Key types on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyTypeArg {
    /// ECDSA P-256.
    EcdsaP256,
    /// ECDSA P-384.
    EcdsaP384,
    /// RSA 2048.
    #[value(name = "rsa-2048")]
    Rsa2048,
    /// RSA 3072.
    #[value(name = "rsa-3072")]
    Rsa3072,
    /// RSA 4096.
    #[value(name = "rsa-4096")]
    Rsa4096,
}

impl From<KeyTypeArg> for crate::config::KeyType {
    fn from(k: KeyTypeArg) -> Self {
        use crate::config::KeyType;
        match k {
            KeyTypeArg::EcdsaP256 => KeyType::EcdsaP256,
            KeyTypeArg::EcdsaP384 => KeyType::EcdsaP384,
            KeyTypeArg::Rsa2048 => KeyType::Rsa2048,
            KeyTypeArg::Rsa3072 => KeyType::Rsa3072,
            KeyTypeArg::Rsa4096 => KeyType::Rsa4096,
        }
    }
}

/// Solver kinds on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SolverArg {
    /// Run a hook program (lego exec contract).
    Exec,
    /// Print the records and wait for confirmation.
    Manual,
    /// Update the record through an acme-dns server (see `certpilot acme-dns register`).
    AcmeDns,
    /// RFC 2136 dynamic updates signed with TSIG (BIND, Knot, PowerDNS).
    #[value(name = "rfc2136")]
    Rfc2136,
    /// The PowerDNS Authoritative HTTP API.
    #[value(name = "powerdns")]
    PowerDns,
}
