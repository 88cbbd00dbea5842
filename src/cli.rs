//! Command-line definitions (clap only; the work happens in `commands`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Get and keep TLS certificates from ACME CAs by DNS-01 validation.
///
/// Without a command, certpilot opens its terminal dashboard.
#[derive(Debug, Parser)]
#[command(name = "certpilot", version, about, long_about = None)]
pub struct Cli {
    /// Options every command shares.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do (none: open the dashboard).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command shares.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Self-contained working directory (certpilot.toml, certificates/, accounts/).
    #[arg(long, global = true, env = "CERTPILOT_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Where secrets live: secret-service, keyutils, or platform (macOS/Windows).
    #[arg(long, global = true, env = "CERTPILOT_KEYSTORE", value_name = "STORE")]
    pub keystore: Option<String>,
    /// DNS resolver (IP or IP:PORT) used to see challenge records; repeatable.
    #[arg(long = "resolver", global = true, value_name = "ADDR")]
    pub resolvers: Vec<String>,
    /// Extra CA certificates (PEM) to trust for the ACME directory's TLS.
    #[arg(long, global = true, env = "CERTPILOT_CA_BUNDLE", value_name = "PEM")]
    pub ca_bundle: Option<PathBuf>,
    /// Seconds to wait for challenge records to become visible.
    #[arg(long, global = true, value_name = "SECONDS")]
    pub propagation_timeout: Option<u64>,
    /// Theme for the dashboard.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// ACME accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Certificates to obtain and keep.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Which solver publishes the challenge records of a domain.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Issue a certificate now.
    Issue {
        /// Certificate name.
        name: String,
    },
    /// Renew certificates that are due (expiring, expired, names or key type changed).
    Renew(RenewArgs),
    /// List certificates with their expiry.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Write a certificate and its key as PEM files.
    Export {
        /// Certificate name.
        name: String,
        /// Target directory (created 0700; privkey.pem is 0600).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// `account ...`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Register an account with a CA.
    Add {
        /// Account name.
        name: String,
        /// A preset (letsencrypt, letsencrypt-staging, zerossl, google, google-staging) or an https directory URL.
        #[arg(long, value_name = "PRESET|URL")]
        directory: String,
        /// Contact email.
        #[arg(long)]
        email: Option<String>,
        /// Agree to the CA's terms of service (shown before registering).
        #[arg(long)]
        agree_tos: bool,
        /// External account binding key id.
        #[arg(long, requires = "eab_hmac_key")]
        eab_kid: Option<String>,
        /// External account binding HMAC key (base64url).
        #[arg(long, requires = "eab_kid")]
        eab_hmac_key: Option<String>,
    },
    /// List accounts.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// `cert ...`
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Add a certificate (or replace its definition with --replace).
    Add {
        /// Certificate name (folder name under certificates/).
        name: String,
        /// A DNS name; repeat for up to 100 (wildcards as '*.example.com').
        #[arg(long = "name", value_name = "DNSNAME", required = true)]
        names: Vec<String>,
        /// Account to use (default: the only account).
        #[arg(long)]
        account: Option<String>,
        /// Key type.
        #[arg(long, value_enum, default_value_t = KeyTypeArg::EcdsaP256)]
        key_type: KeyTypeArg,
        /// Renew this many days before expiry.
        #[arg(long, value_name = "DAYS")]
        renew_days: Option<u32>,
        /// Replace an existing definition.
        #[arg(long)]
        replace: bool,
    },
    /// Remove a certificate from the configuration.
    Remove {
        /// Certificate name.
        name: String,
        /// Also delete its files and its key from the keyring.
        #[arg(long)]
        purge: bool,
    },
    /// Import dnscontrol's certs.json.
    Import {
        /// The certs.json file.
        file: PathBuf,
        /// Account for the imported certificates.
        #[arg(long)]
        account: Option<String>,
    },
}

/// `domain ...`
#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Choose the solver for a domain and its subdomains (the most specific domain wins).
    Set {
        /// Domain (e.g. example.com).
        domain: String,
        /// Solver kind.
        #[arg(long, value_enum)]
        solver: SolverArg,
        /// Hook program for --solver exec (called as COMMAND present|cleanup FQDN. VALUE).
        #[arg(long, value_name = "COMMAND", required_if_eq("solver", "exec"))]
        command: Option<PathBuf>,
    },
    /// Remove a domain's solver.
    Remove {
        /// Domain.
        domain: String,
    },
    /// List the solver mapping.
    List,
}

/// `renew ...`
#[derive(Debug, Args)]
pub struct RenewArgs {
    /// Every configured certificate (the default when --only is absent).
    #[arg(long, conflicts_with = "only")]
    pub all: bool,
    /// Only this certificate.
    #[arg(long, value_name = "NAME")]
    pub only: Option<String>,
    /// Renew when fewer than this many days are left (default: per certificate, else 30).
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// Renew even when not due.
    #[arg(long)]
    pub force: bool,
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
}
