//! Command-line definitions (clap only; the work happens in `commands`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod values;
pub use values::{ExportLayoutArg, KeyTypeArg, RevokeReasonArg, SolverArg};

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
    /// Seconds one request to the ACME CA may take (connection, answer and body) before the
    /// run gives up on it; also bounds waiting for validation and issuance.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 180,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub ca_timeout: u64,
    /// How to decide that challenge records are visible: authoritative (every address of every
    /// authoritative server, the default), recursive (the configured resolvers only),
    /// wait=SECONDS (a fixed wait), or skip.
    #[arg(long, global = true, value_name = "MODE")]
    pub propagation: Option<String>,
    /// Theme for the dashboard.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Leave this authoritative server (host name or address) out of the propagation check,
    /// e.g. one that is down; the CA may still pick it. Repeatable.
    #[arg(long = "ignore-server", global = true, value_name = "SERVER")]
    pub ignore_servers: Vec<String>,
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
    #[command(after_long_help = DEPLOY_HOOK_HELP)]
    Issue {
        /// Certificate name.
        name: String,
        /// Run the whole flow against the account CA's staging twin (letsencrypt →
        /// letsencrypt-staging, google → google-staging) with a throwaway account: nothing is
        /// stored, replaced or deployed.
        #[arg(long)]
        dry_run: bool,
        /// The ACME directory for --dry-run (a CA without a known staging twin, or a test CA).
        #[arg(long, value_name = "URL", requires = "dry_run")]
        dry_run_directory: Option<String>,
    },
    /// Renew certificates that are due (expiring, expired, names or key type changed).
    #[command(after_long_help = DEPLOY_HOOK_HELP)]
    Renew(RenewArgs),
    /// List certificates with their expiry.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Check DNS propagation of challenge records on every authoritative nameserver.
    Check(CheckArgs),
    /// acme-dns: delegated challenge records (client and embedded server).
    #[command(subcommand, name = "acme-dns")]
    AcmeDns(AcmeDnsCommand),
    /// The whole product on loopback, no domain needed: Pebble, two knot servers, a caching
    /// resolver and the acme-dns server, an account and certificates, then the dashboard (or,
    /// with --check, the whole flow without a terminal).
    Sandbox(SandboxArgs),
    /// Write a certificate and its key as PEM files.
    ///
    /// `--out` rather than `--dir`: `--dir` is the global working-directory option.
    Export {
        /// Certificate name.
        name: String,
        /// Target directory (created 0700; privkey.pem is 0600); default: the certificate's
        /// configured export target.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// flat: DIR/cert.pem, chain.pem, fullchain.pem, privkey.pem; certbot:
        /// DIR/live/NAME/... (default: the configured layout, else flat).
        #[arg(long, value_enum)]
        layout: Option<ExportLayoutArg>,
    },
    /// A systemd timer that runs `renew --all` (install, remove, or print the units).
    #[command(subcommand)]
    Timer(TimerCommand),
    /// Have the CA revoke a stored certificate (asks first; `renew` then replaces it).
    Revoke {
        /// Certificate name.
        name: String,
        /// The reason given to the CA.
        #[arg(long, value_enum, default_value_t = RevokeReasonArg::Unspecified)]
        reason: RevokeReasonArg,
        /// Do not ask for confirmation (required without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// CAA audit: the records that govern each name (RFC 8659, CNAMEs followed) and whether
    /// they let the account's CA issue by DNS-01 (RFC 8657 accounturi/validationmethods).
    Caa {
        /// A certificate name (all of its names) or a DNS name.
        name: String,
        /// The account whose CA is checked (default: the certificate's, else the only one).
        #[arg(long)]
        account: Option<String>,
    },
    /// Print a shell completion script (install: see the README's "Shell completions").
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or with --out write one page per command into a directory.
    Manpage {
        /// Write certpilot.1 and certpilot-COMMAND.1 pages here instead of printing.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// The environment every deploy hook gets (shown by `--help`; the README says the same).
pub const DEPLOY_HOOK_HELP: &str = "\
Deploy hooks (`settings.deploy_hook`, or a certificate's own `deploy_hook` / `cert add
--deploy-hook`) run through `/bin/sh -c` after each successful issuance or renewal, bounded
by `settings.hook_timeout`; their output goes to the log file. A failing hook makes the run
exit 1 but never undoes the renewal. Environment:
  CERTPILOT_CERT_NAME       certificate name
  CERTPILOT_NAMES           its DNS names, space-separated
  CERTPILOT_CERT_PATH       leaf certificate (PEM)
  CERTPILOT_CHAIN_PATH      intermediates (PEM)
  CERTPILOT_FULLCHAIN_PATH  leaf + intermediates (PEM)
  CERTPILOT_KEY_PATH        private key (only with an export target: `cert add --export-dir`)
  CERTPILOT_SERIAL          serial, lower-case hex
  CERTPILOT_NOT_AFTER       expiry, RFC 3339
  RENEWED_LINEAGE           certbot-compatible: the directory holding cert.pem, chain.pem,
                            fullchain.pem (and privkey.pem when exported)
  RENEWED_DOMAINS           certbot-compatible: the names, space-separated";

/// `timer ...`
#[derive(Debug, Subcommand)]
pub enum TimerCommand {
    /// Write (and enable) certpilot-renew.service and certpilot-renew.timer.
    Install(TimerArgs),
    /// Disable and delete the units.
    Remove(TimerArgs),
}

/// Options of `timer install|remove`.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // independent command-line switches
pub struct TimerArgs {
    /// Units for the current user (~/.config/systemd/user; the default).
    #[arg(long, conflicts_with = "system")]
    pub user: bool,
    /// System units (/etc/systemd/system; needs root).
    #[arg(long)]
    pub system: bool,
    /// Print both units and write nothing.
    #[arg(long)]
    pub print: bool,
    /// Run every this many hours.
    #[arg(long, value_name = "HOURS", default_value_t = 12)]
    pub every: u32,
    /// Write the units but do not run systemctl.
    #[arg(long)]
    pub no_enable: bool,
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
        /// Register again under an existing name (new key, new account at the CA), e.g. after
        /// the CA forgot the account; certificates naming it keep working.
        #[arg(long)]
        replace: bool,
    },
    /// Remove an account: its key from the keyring and its entry from the configuration (the
    /// CA is not told). Refused while certificates use it, unless --reassign moves them.
    Remove {
        /// Account name.
        name: String,
        /// Move the certificates that use this account to account OTHER.
        #[arg(long, value_name = "OTHER")]
        reassign: Option<String>,
    },
    /// Replace the account's key at the CA (RFC 8555 key rollover); the old key stops working.
    Rollover {
        /// Account name.
        name: String,
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
    #[command(after_long_help = DEPLOY_HOOK_HELP)]
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
        /// Shell command run after each successful issuance or renewal (see `issue --help`).
        #[arg(long, value_name = "CMD")]
        deploy_hook: Option<String>,
        /// Re-export certificate and key here after each issuance or renewal (key 0600).
        #[arg(long, value_name = "DIR")]
        export_dir: Option<PathBuf>,
        /// Layout of the export target.
        #[arg(long, value_enum, requires = "export_dir")]
        export_layout: Option<ExportLayoutArg>,
        /// Certificate profile to order (one the CA lists in its directory, e.g.
        /// `shortlived`); checked against the CA's list. Default: the CA's choice.
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
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
// Parsed once per process; boxing `Set` would only make the matches noisier.
#[allow(clippy::large_enum_variant)]
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
        /// acme-dns server URL for --solver acme-dns; the primary's HOST[:PORT] for --solver
        /// rfc2136 (default: the zone's SOA MNAME).
        #[arg(
            long,
            value_name = "URL|HOST[:PORT]",
            required_if_eq("solver", "acme-dns")
        )]
        server: Option<String>,
        /// --solver exec: call COMMAND present-batch|cleanup-batch once per order, every
        /// record on standard input as `FQDN. VALUE` lines.
        #[arg(long, requires = "command")]
        batch: bool,
        /// TSIG key name for --solver rfc2136, as the server knows it.
        #[arg(long, value_name = "NAME", required_if_eq("solver", "rfc2136"))]
        tsig_name: Option<String>,
        /// TSIG algorithm for --solver rfc2136.
        #[arg(long, value_name = "ALG", default_value = "hmac-sha256", value_parser = ["hmac-sha256", "hmac-sha384", "hmac-sha512"])]
        tsig_algorithm: String,
        /// File holding the base64 TSIG secret (a bare secret, or a tsig-keygen / keymgr key
        /// file); `-` reads standard input. Stored in the keyring; the file may then go.
        #[arg(long, value_name = "FILE")]
        tsig_secret_file: Option<PathBuf>,
        /// Zone to update for --solver rfc2136 (default: the zone each record lives in).
        #[arg(long, value_name = "ZONE")]
        zone: Option<String>,
        /// PowerDNS API URL for --solver powerdns (https://, or http:// on loopback).
        #[arg(long, value_name = "URL", required_if_eq("solver", "powerdns"))]
        api_url: Option<String>,
        /// PowerDNS server id for --solver powerdns.
        #[arg(long, value_name = "ID", default_value = "localhost")]
        server_id: String,
        /// File holding the PowerDNS API key; `-` reads standard input. Stored in the keyring.
        #[arg(long, value_name = "FILE")]
        api_key_file: Option<PathBuf>,
        /// Write at `_acme-challenge.<name>` even when it is a CNAME (by default records go to
        /// the end of the CNAME chain, where the CA reads them, written by the solver of the
        /// target's domain).
        #[arg(long)]
        no_cname_follow: bool,
    },
    /// Publish and remove a harmless TXT record (`_certpilot-test.DOMAIN`) with the domain's
    /// solver: checks the server, the credentials and the update policy.
    Test {
        /// Domain.
        domain: String,
    },
    /// Remove a domain's solver.
    Remove {
        /// Domain.
        domain: String,
    },
    /// List the solver mapping.
    List,
}

/// `sandbox ...`
#[derive(Debug, Args)]
// Command-line switches: each bool is one independent `--flag`.
#[allow(clippy::struct_excessive_bools)]
pub struct SandboxArgs {
    /// Run the flow without a terminal (issue, renew, renew while ns2 lags), print a report,
    /// stop everything; exit 0 only if every step worked.
    #[arg(long)]
    pub check: bool,
    /// Start with ns2 lagging this many seconds behind ns1.
    #[arg(long, value_name = "SECONDS")]
    pub lag: Option<u64>,
    /// Start with ns2 not answering.
    #[arg(long)]
    pub silent: bool,
    /// Start with ns2 serving stale values.
    #[arg(long)]
    pub stale: bool,
    /// Start with the acme-dns CNAME of api.sandbox.test pointing elsewhere.
    #[arg(long)]
    pub broken_cname: bool,
    /// Percentage of good nonces the CA rejects (badNonce).
    #[arg(long, default_value_t = 0, value_name = "PERCENT",
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pub nonce_reject: u8,
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
    /// Renew when this many days or fewer are left (default: the certificate's `renew_days`,
    /// else `settings.renew_days`, else the CA's ARI window, else when a third of the
    /// lifetime is left, half for lifetimes under 10 days).
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// Renew even when not due.
    #[arg(long)]
    pub force: bool,
}

/// `check ...`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A domain (checks `_acme-challenge.<domain>`) or a certificate name (all of its challenge names).
    pub name: String,
    /// A TXT value that must be served; repeatable (all must be present).
    #[arg(long = "expect-txt", value_name = "VALUE")]
    pub expect_txt: Vec<String>,
    /// The CNAME target `_acme-challenge.<domain>` must point to.
    #[arg(long = "expect-cname", value_name = "TARGET")]
    pub expect_cname: Option<String>,
    /// Refresh in place until propagated or interrupted.
    #[arg(long)]
    pub watch: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `acme-dns ...`
#[derive(Debug, Subcommand)]
pub enum AcmeDnsCommand {
    /// Register an acme-dns account for a domain and show the CNAME to create.
    Register {
        /// Domain (a wildcard and its apex share one registration).
        domain: String,
        /// acme-dns server URL.
        #[arg(long, value_name = "URL")]
        server: String,
        /// Networks allowed to update the record (CIDR); repeatable.
        #[arg(long = "allow-from", value_name = "CIDR")]
        allow_from: Vec<String>,
        /// Allow plain http to a server that is not on loopback.
        #[arg(long)]
        allow_insecure_http: bool,
    },
    /// Import goacmedns (lego, acme-dns-client) or certbot-acme-dns credential files.
    Import {
        /// The JSON file.
        file: PathBuf,
        /// Server URL (certbot's files do not record it).
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// Allow plain http to a server that is not on loopback.
        #[arg(long)]
        allow_insecure_http: bool,
    },
    /// List acme-dns registrations.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Check a domain's CNAME delegation on every authoritative nameserver.
    Check {
        /// Domain.
        domain: String,
    },
    /// Run the embedded acme-dns-compatible server.
    Serve {
        /// Server configuration file (TOML).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Store the password of the server's PostgreSQL database in the keyring (read from
    /// standard input), so that it never sits in the config file.
    DbPassword {
        /// Server configuration file (TOML) whose `database` URL it is for.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

impl From<&GlobalArgs> for crate::session::Overrides {
    /// The command line's overrides as plain values (the only place that reads them).
    fn from(g: &GlobalArgs) -> Self {
        Self {
            dir: g.dir.clone(),
            keystore: g.keystore.clone(),
            resolvers: g.resolvers.clone(),
            ca_bundle: g.ca_bundle.clone(),
            ca_timeout: std::time::Duration::from_secs(g.ca_timeout),
            propagation_timeout: g.propagation_timeout,
            propagation: g.propagation.clone(),
            ignore_servers: g.ignore_servers.clone(),
        }
    }
}

impl From<GlobalArgs> for crate::session::Overrides {
    fn from(g: GlobalArgs) -> Self {
        Self::from(&g)
    }
}
