//! The serde model of `certpilot.toml`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Global settings.
    #[serde(default)]
    pub settings: Settings,
    /// ACME accounts by name.
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountConfig>,
    /// Certificates by name.
    #[serde(default)]
    pub certificates: BTreeMap<String, CertConfig>,
    /// Solver mapping: domain (suffix) to solver. The most specific domain wins.
    #[serde(default)]
    pub domains: BTreeMap<String, DomainConfig>,
    /// acme-dns registrations by domain (without `*.`); the password is in the keyring.
    #[serde(
        default,
        rename = "acme-dns",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub acme_dns: BTreeMap<String, AcmeDnsRegistration>,
}

/// One acme-dns account (public parts; the password lives in the keyring).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeDnsRegistration {
    /// Server URL.
    pub server: String,
    /// API user (UUID).
    pub username: String,
    /// Subdomain (UUID) whose TXT slots this account updates.
    pub subdomain: String,
    /// `<subdomain>.<zone>`: the CNAME target.
    pub fulldomain: String,
    /// Networks allowed to update.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowfrom: Vec<String>,
}

/// Global settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Resolvers (`IP` or `IP:PORT`) used to see whether a challenge record is visible.
    /// Empty means the system's resolvers.
    pub resolvers: Vec<String>,
    /// How long to wait for records to become visible, in seconds.
    pub propagation_timeout: u64,
    /// Days before expiry at which a certificate is renewed; unset: when a third of its
    /// lifetime is left (half for lifetimes under 10 days), or the CA's ARI window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew_days: Option<u32>,
    /// How many certificates `renew --all` works on at once.
    pub parallel: usize,
    /// Timeout for one solver hook run, in seconds.
    pub hook_timeout: u64,
    /// Extra CA certificates (PEM) trusted for acme-dns servers' TLS (ACME directories use
    /// the account's own `ca_bundle`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<PathBuf>,
    /// Shell command run after every successful issuance or renewal (a certificate's own
    /// `deploy_hook` wins); see `deploy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy_hook: Option<String>,
    /// Requests in flight to one CA at once, at most (authorizations are fetched and
    /// answered concurrently up to this bound).
    #[serde(skip_serializing_if = "is_default_ca_max_requests")]
    pub ca_max_requests: usize,
    /// Requests per second to one CA, at most (with half a second's worth of burst).
    #[serde(skip_serializing_if = "is_default_ca_max_rate")]
    pub ca_max_rate: u32,
    /// Hook processes (`exec` solver, one record each) running at once, at most.
    #[serde(skip_serializing_if = "is_default_hook_processes")]
    pub hook_processes: usize,
    /// Seconds one authoritative address may stay silent before waiting for propagation
    /// ends with its name (instead of the whole propagation timeout).
    #[serde(skip_serializing_if = "is_default_dead_server_timeout")]
    pub dead_server_timeout: u64,
    /// Authoritative servers (host names or addresses) left out of the propagation check:
    /// the operator accepts that the CA may still pick them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore_servers: Vec<String>,
    /// Longest wait, in seconds, for resolver caches to forget a challenge name's previous
    /// answer before the CA is asked (the cache horizon); beyond it certpilot warns and goes on.
    #[serde(skip_serializing_if = "is_default_max_cache_wait")]
    pub max_cache_wait: u64,
    /// Domains whose solver writes at `_acme-challenge.<name>` itself even when that name is
    /// a CNAME (by default the record goes to the end of the CNAME chain, as a CA reads it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub no_cname_follow: Vec<String>,
    /// The port authoritative servers are asked on. Always 53 on the Internet; another port
    /// only for a sandbox or test whose servers run unprivileged (`certpilot sandbox`).
    #[serde(skip_serializing_if = "is_default_authoritative_port")]
    pub authoritative_port: u16,
}

/// The default `settings.ca_max_requests`.
pub const DEFAULT_CA_MAX_REQUESTS: usize = 16;
/// The default `settings.ca_max_rate`: under Let's Encrypt's 250 requests/s per address.
pub const DEFAULT_CA_MAX_RATE: u32 = 200;
/// The default `settings.hook_processes`.
pub const DEFAULT_HOOK_PROCESSES: usize = 16;

// serde's `skip_serializing_if` passes a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_default_ca_max_requests(n: &usize) -> bool {
    *n == DEFAULT_CA_MAX_REQUESTS
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_default_ca_max_rate(n: &u32) -> bool {
    *n == DEFAULT_CA_MAX_RATE
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_default_hook_processes(n: &usize) -> bool {
    *n == DEFAULT_HOOK_PROCESSES
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_default_authoritative_port(port: &u16) -> bool {
    *port == 53
}

const DEFAULT_DEAD_SERVER_TIMEOUT: u64 = 60;
const DEFAULT_MAX_CACHE_WAIT: u64 = 900;

// serde's skip_serializing_if takes a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_default_dead_server_timeout(value: &u64) -> bool {
    *value == DEFAULT_DEAD_SERVER_TIMEOUT
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_default_max_cache_wait(value: &u64) -> bool {
    *value == DEFAULT_MAX_CACHE_WAIT
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            resolvers: Vec::new(),
            propagation_timeout: 600,
            renew_days: None,
            parallel: 4,
            hook_timeout: 120,
            ca_bundle: None,
            deploy_hook: None,
            ca_max_requests: DEFAULT_CA_MAX_REQUESTS,
            ca_max_rate: DEFAULT_CA_MAX_RATE,
            hook_processes: DEFAULT_HOOK_PROCESSES,
            dead_server_timeout: DEFAULT_DEAD_SERVER_TIMEOUT,
            ignore_servers: Vec::new(),
            max_cache_wait: DEFAULT_MAX_CACHE_WAIT,
            no_cname_follow: Vec::new(),
            authoritative_port: 53,
        }
    }
}

/// One ACME account (public data only: the key lives in the keyring).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Directory URL.
    pub directory: String,
    /// Contact email, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Extra CA certificates to trust for the directory's TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<PathBuf>,
    /// External account binding key id, when the CA needs one (the HMAC is in the keyring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eab_kid: Option<String>,
    /// The CA's CAA issuer domains, for a CA whose directory publishes no `caaIdentities`
    /// (used by the CAA check before ordering; the directory's own list is used too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caa_identities: Vec<String>,
}

/// One certificate to obtain and keep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertConfig {
    /// DNS names, normalised (punycode, lower case); wildcards as `*.example.com`.
    pub names: Vec<String>,
    /// Account name; defaults to the only account when there is exactly one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Private key algorithm.
    #[serde(default)]
    pub key_type: KeyType,
    /// Renew this many days before expiry (overrides the global setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_days: Option<u32>,
    /// Shell command run after each successful issuance or renewal (wins over
    /// `settings.deploy_hook`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_hook: Option<String>,
    /// Where to re-export certificate and key after each issuance or renewal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportConfig>,
    /// Certificate profile asked for in each order (the ACME profiles extension, e.g. Let's
    /// Encrypt's `shortlived`); unset: the CA's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// An export target: the only place a private key is written outside the keyring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportConfig {
    /// Target directory (created 0700).
    pub dir: PathBuf,
    /// File layout below `dir`.
    #[serde(default)]
    pub layout: ExportLayout,
}

/// How exported PEM files are laid out below the target directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportLayout {
    /// `DIR/cert.pem`, `chain.pem`, `fullchain.pem`, `privkey.pem`.
    #[default]
    Flat,
    /// certbot's `DIR/live/<name>/cert.pem`, ... so existing web-server configs keep working.
    Certbot,
}

/// How challenge records of a domain (and its subdomains) are published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "solver", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DomainConfig {
    /// Run `COMMAND present|cleanup <fqdn.> <value>` (lego's exec contract), or with
    /// `batch`, `COMMAND present-batch|cleanup-batch` once per order with every record on
    /// standard input.
    Exec {
        /// The program to run.
        command: PathBuf,
        /// One run per order for all records (`FQDN VALUE` lines on standard input).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        batch: bool,
    },
    /// Print the records and wait for the operator.
    Manual,
    /// Update the TXT record through an acme-dns server (registration in `[acme-dns]`).
    AcmeDns {
        /// Server URL.
        server: String,
    },
    /// Send RFC 2136 dynamic updates signed with TSIG (the secret is in the keyring).
    Rfc2136 {
        /// Primary server `HOST[:PORT]`; unset: the zone's SOA MNAME, port 53.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        /// The TSIG key name, as the server knows it.
        tsig_name: String,
        /// The TSIG algorithm: `hmac-sha256`, `hmac-sha384` or `hmac-sha512`.
        tsig_algorithm: String,
        /// The zone to update; unset: the zone each record lives in (its SOA).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        zone: Option<String>,
    },
    /// Patch the zone's record sets through the PowerDNS Authoritative HTTP API (the API key
    /// is in the keyring).
    #[serde(rename = "powerdns")]
    PowerDns {
        /// The API's base URL (`http://127.0.0.1:8081`).
        api_url: String,
        /// The server id in `/api/v1/servers/<id>`.
        #[serde(default = "default_powerdns_server_id")]
        server_id: String,
    },
}

/// PowerDNS's only server id.
fn default_powerdns_server_id() -> String {
    "localhost".to_owned()
}

impl DomainConfig {
    /// The solver's name as `--solver` spells it.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            DomainConfig::Exec { .. } => "exec",
            DomainConfig::Manual => "manual",
            DomainConfig::AcmeDns { .. } => "acme-dns",
            DomainConfig::Rfc2136 { .. } => "rfc2136",
            DomainConfig::PowerDns { .. } => "powerdns",
        }
    }

    /// Where the records go, for listings: the hook, the server or the API (no secret).
    #[must_use]
    pub fn target(&self) -> Option<String> {
        match self {
            DomainConfig::Exec { command, batch } => Some(format!(
                "{}{}",
                command.display(),
                if *batch { " (batch)" } else { "" }
            )),
            DomainConfig::Manual => None,
            DomainConfig::AcmeDns { server } => Some(server.clone()),
            DomainConfig::Rfc2136 {
                server,
                tsig_name,
                tsig_algorithm,
                zone,
            } => Some(format!(
                "{} key {tsig_name} ({tsig_algorithm}){}",
                server.as_deref().unwrap_or("SOA MNAME"),
                zone.as_ref()
                    .map(|z| format!(" zone {z}"))
                    .unwrap_or_default()
            )),
            DomainConfig::PowerDns { api_url, server_id } => {
                Some(format!("{api_url} server {server_id}"))
            }
        }
    }
}

/// Certificate key algorithms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyType {
    /// ECDSA P-256 (default: small, fast, universally supported).
    #[default]
    EcdsaP256,
    /// ECDSA P-384.
    EcdsaP384,
    /// RSA 2048.
    Rsa2048,
    /// RSA 3072.
    Rsa3072,
    /// RSA 4096.
    Rsa4096,
}

impl KeyType {
    /// Every variant, for help texts.
    pub const ALL: [KeyType; 5] = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
    ];

    /// The name used in config and on the command line.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyType::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<_> = KeyType::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown key type {s:?}; choose one of {}", all.join(", "))
            })
    }
}

impl Config {
    /// The solver for `domain` (without `*.`): the longest configured suffix wins.
    #[must_use]
    pub fn solver_for(&self, domain: &str) -> Option<(&str, &DomainConfig)> {
        let domain = domain.trim_start_matches("*.");
        self.domains
            .iter()
            .filter(|(suffix, _)| {
                domain == suffix.as_str()
                    || domain
                        .strip_suffix(suffix.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            })
            .max_by_key(|(suffix, _)| suffix.len())
            .map(|(suffix, cfg)| (suffix.as_str(), cfg))
    }

    /// Whether records of `name` go to the end of its `_acme-challenge` CNAME chain: for every
    /// solver that writes records (not acme-dns, whose CNAME is the point), unless the
    /// domain is listed in `settings.no_cname_follow`.
    #[must_use]
    pub fn follows_cname(&self, name: &str) -> bool {
        match self.solver_for(name) {
            Some((_, DomainConfig::AcmeDns { .. })) | None => false,
            Some((suffix, _)) => !self.settings.no_cname_follow.iter().any(|d| d == suffix),
        }
    }

    /// The account a certificate uses: its own, or the only one configured.
    pub fn account_for<'a>(&'a self, cert: &'a CertConfig) -> Option<&'a str> {
        match &cert.account {
            Some(a) => Some(a.as_str()),
            None if self.accounts.len() == 1 => self.accounts.keys().next().map(String::as_str),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg_with(domains: &[&str]) -> Config {
        let mut cfg = Config::default();
        for d in domains {
            cfg.domains.insert((*d).to_owned(), DomainConfig::Manual);
        }
        cfg
    }

    #[test]
    fn most_specific_domain_wins() {
        let cfg = cfg_with(&["example.com", "dev.example.com", "com"]);
        let cases = [
            ("example.com", Some("example.com")),
            ("*.example.com", Some("example.com")),
            ("a.dev.example.com", Some("dev.example.com")),
            ("dev.example.com", Some("dev.example.com")),
            ("notexample.com", Some("com")),
            ("example.org", None),
        ];
        for (domain, want) in cases {
            assert_eq!(cfg.solver_for(domain).map(|(s, _)| s), want, "{domain}");
        }
    }

    #[test]
    fn provider_solvers_read_as_documented() {
        let text = "[domains.\"example.org\"]\nsolver = \"rfc2136\"\ntsig_name = \"k\"\n\
                    tsig_algorithm = \"hmac-sha256\"\n\n[domains.\"example.net\"]\n\
                    solver = \"powerdns\"\napi_url = \"http://127.0.0.1:8081\"\n";
        let cfg: Config = toml::from_str(text).unwrap();
        assert_eq!(
            cfg.domains["example.net"],
            DomainConfig::PowerDns {
                api_url: "http://127.0.0.1:8081".into(),
                server_id: "localhost".into(),
            }
        );
        assert_eq!(cfg.domains["example.org"].kind(), "rfc2136");
        assert_eq!(cfg.domains["example.net"].kind(), "powerdns");
        let back = toml::to_string(&cfg).unwrap();
        assert!(back.contains("solver = \"powerdns\""), "{back}");
        assert_eq!(toml::from_str::<Config>(&back).unwrap(), cfg);
    }

    #[test]
    fn key_types_round_trip() {
        for k in KeyType::ALL {
            assert_eq!(k.as_str().parse::<KeyType>().unwrap(), k);
        }
        assert!("dsa".parse::<KeyType>().unwrap_err().contains("ecdsa-p256"));
    }
}
