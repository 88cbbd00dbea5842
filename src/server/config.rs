//! The server's TOML configuration: model, loading with precise errors, validation into the
//! zone data the DNS side serves. The format is documented in `docs/acme-dns-server.md`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use hickory_proto::rr::rdata::{A, AAAA, NS, SOA};
use hickory_proto::rr::{LowerName, Name, RData, Record};
use serde::Deserialize;

/// A configuration that cannot be read or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the acme-dns server config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not fit the model.
    #[error("invalid acme-dns server config {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message, with the line and column.
        source: Box<toml::de::Error>,
    },
    /// A value is well-formed TOML but not usable; `field` names the key.
    #[error("invalid acme-dns server config: {field}: {message}")]
    Invalid {
        /// The offending key, e.g. `records[2].value`.
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
}

pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// The whole server configuration (one TOML file). Every field is public so that embedders
/// (tests, the TUI) can start from [`ServerConfig::new`] and adjust.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The delegated zone, e.g. `auth.example.com`; accounts live at `<uuid>.<zone>`.
    pub zone: String,
    /// `SQLite` database file (a relative path is relative to the config file's directory),
    /// or a `postgres://user@host:port/dbname` URL of a database shared by several instances.
    /// An acme-dns 1.x/2.x database (its file or URL) is used in place.
    pub database: PathBuf,
    /// When true, `POST /register` answers 404 like an unknown path.
    #[serde(default)]
    pub disable_registration: bool,
    /// Trust this request header (e.g. `X-Forwarded-For`) for the client address instead of
    /// the TCP peer; only behind a reverse proxy that sets it.
    #[serde(default)]
    pub use_forwarded_header: Option<String>,
    /// Log filter used by [`super::serve`] when it installs the logger (`info`, `debug`, ...).
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// bcrypt cost of new password hashes (4..=31; the reference server uses 10).
    #[serde(default = "default_bcrypt_cost")]
    pub bcrypt_cost: u32,
    /// The zone's NS names (absolute, inside or outside the zone).
    pub nameservers: Vec<String>,
    /// DNS listeners.
    pub dns: DnsListen,
    /// HTTP API listener.
    pub http: HttpListen,
    /// The zone's SOA.
    pub soa: SoaConfig,
    /// Static A/AAAA records inside the zone (e.g. the nameserver's own name).
    #[serde(default)]
    pub records: Vec<StaticRecord>,
    /// Origins allowed to call the API from a browser (CORS); `*` and one `*` inside an origin
    /// are wildcards. The reference server's `corsorigins`; default: every origin.
    #[serde(default = "default_cors_origins")]
    pub corsorigins: Vec<String>,
    /// HTTPS for the API (default: plain HTTP).
    #[serde(default)]
    pub tls: super::tls::TlsConfig,
}

/// Where DNS is served: every address gets a UDP socket and a TCP listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsListen {
    /// Socket addresses (port 0 picks a free port).
    pub listen: Vec<SocketAddr>,
    /// Idle timeout of a DNS-over-TCP connection, in seconds.
    #[serde(default = "default_tcp_timeout")]
    pub tcp_timeout_secs: u64,
    /// Concurrent DNS-over-TCP connections per address; more are closed at once.
    #[serde(default = "default_max_connections")]
    pub max_tcp_connections: usize,
}

/// Where the HTTP API is served (plain HTTP; put a TLS proxy in front for remote clients).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpListen {
    /// Socket address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Time a client has to send a complete request head, and the longest idle time of a
    /// keep-alive connection between requests, in seconds.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_secs: u64,
    /// Longest time for one request (reading the body and answering), in seconds; then 408.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// Concurrent connections; more get 503 and are closed.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

/// The zone's SOA record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoaConfig {
    /// Primary nameserver name.
    pub mname: String,
    /// Responsible mailbox as a name (`hostmaster.example.com` for hostmaster@example.com).
    pub rname: String,
    /// Zone serial.
    #[serde(default = "default_serial")]
    pub serial: u32,
    /// Refresh interval (s).
    #[serde(default = "default_refresh")]
    pub refresh: i32,
    /// Retry interval (s).
    #[serde(default = "default_retry")]
    pub retry: i32,
    /// Expiry (s).
    #[serde(default = "default_expire")]
    pub expire: i32,
    /// Negative-caching TTL (s): how long resolvers may cache an NXDOMAIN.
    #[serde(default = "default_minimum")]
    pub minimum: u32,
    /// TTL of the SOA, NS and static records.
    #[serde(default = "default_ttl")]
    pub ttl: u32,
}

/// One static record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRecord {
    /// Absolute owner name inside the zone.
    pub name: String,
    /// `A` or `AAAA`.
    #[serde(rename = "type")]
    pub rtype: String,
    /// The address.
    pub value: IpAddr,
    /// TTL; the SOA's `ttl` when absent.
    #[serde(default)]
    pub ttl: Option<u32>,
}

fn default_log_level() -> String {
    "info".into()
}
fn default_bcrypt_cost() -> u32 {
    10
}
fn default_tcp_timeout() -> u64 {
    10
}
fn default_max_connections() -> usize {
    4096
}
fn default_header_timeout() -> u64 {
    10
}
fn default_request_timeout() -> u64 {
    30
}
fn default_cors_origins() -> Vec<String> {
    vec!["*".into()]
}
fn default_serial() -> u32 {
    1
}
fn default_refresh() -> i32 {
    28800
}
fn default_retry() -> i32 {
    7200
}
fn default_expire() -> i32 {
    604_800
}
fn default_minimum() -> u32 {
    60
}
fn default_ttl() -> u32 {
    3600
}

impl ServerConfig {
    /// A loopback configuration on free ports (DNS and HTTP on 127.0.0.1 port 0) for `zone`,
    /// with `ns1.<zone>` as nameserver and `hostmaster.<zone>` as SOA mailbox.
    pub fn new(zone: &str, database: impl Into<PathBuf>) -> Self {
        let zone = zone.trim_end_matches('.').to_ascii_lowercase();
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            database: database.into(),
            disable_registration: false,
            use_forwarded_header: None,
            log_level: default_log_level(),
            bcrypt_cost: default_bcrypt_cost(),
            nameservers: vec![format!("ns1.{zone}")],
            dns: DnsListen {
                listen: vec![loopback],
                tcp_timeout_secs: default_tcp_timeout(),
                max_tcp_connections: default_max_connections(),
            },
            http: HttpListen {
                listen: loopback,
                header_timeout_secs: default_header_timeout(),
                request_timeout_secs: default_request_timeout(),
                max_connections: default_max_connections(),
            },
            soa: SoaConfig {
                mname: format!("ns1.{zone}"),
                rname: format!("hostmaster.{zone}"),
                serial: default_serial(),
                refresh: default_refresh(),
                retry: default_retry(),
                expire: default_expire(),
                minimum: default_minimum(),
                ttl: default_ttl(),
            },
            records: Vec::new(),
            corsorigins: default_cors_origins(),
            tls: super::tls::TlsConfig::default(),
            zone,
        }
    }

    /// Read and parse `path`; a relative `database` is resolved against the file's directory.
    /// Values are checked by [`super::start`].
    ///
    /// # Errors
    /// The file cannot be read, is not TOML, or has unknown or mistyped keys.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config: Self = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        if config.database.is_relative() && super::store::postgres_url(&config.database).is_none() {
            let base = path.parent().unwrap_or_else(|| Path::new("."));
            config.database = base.join(&config.database);
        }
        config
            .tls
            .resolve_paths(path.parent().unwrap_or_else(|| Path::new(".")));
        Ok(config)
    }

    /// Check every value and build what the DNS side serves.
    pub(crate) fn zone_data(&self) -> Result<ZoneData, ConfigError> {
        let apex = parse_name("zone", &self.zone)?;
        if apex.is_root() {
            return Err(invalid(
                "zone",
                "the root zone cannot be delegated to acme-dns",
            ));
        }
        let lower_apex = LowerName::new(&apex);
        if let Some((entry, true)) = super::store::password_entry(&self.database) {
            return Err(invalid(
                "database",
                format!(
                    "remove the password from the URL (it would sit in a plain file); store it \
                     in the keyring with `certpilot acme-dns db-password --config FILE` \
                     (entry db-password:{entry})"
                ),
            ));
        }
        if !(4..=31).contains(&self.bcrypt_cost) {
            return Err(invalid("bcrypt_cost", "must be between 4 and 31"));
        }
        if self.dns.listen.is_empty() {
            return Err(invalid("dns.listen", "needs at least one address"));
        }
        if let Some(header) = &self.use_forwarded_header {
            if http::HeaderName::from_str(header).is_err() {
                return Err(invalid(
                    "use_forwarded_header",
                    "not a valid HTTP header name",
                ));
            }
        }
        let soa = &self.soa;
        let ttl = soa.ttl;
        let soa_rdata = SOA::new(
            parse_name("soa.mname", &soa.mname)?,
            parse_rname(&soa.rname)?,
            soa.serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum,
        );
        let mut data = ZoneData {
            soa: Record::from_rdata(apex.clone(), ttl, RData::SOA(soa_rdata)),
            negative_ttl: ttl.min(soa.minimum),
            records: Vec::new(),
            lower_apex,
            apex,
        };
        if self.nameservers.is_empty() {
            return Err(invalid("nameservers", "needs at least one name"));
        }
        for (i, ns) in self.nameservers.iter().enumerate() {
            let target = parse_name(&format!("nameservers[{i}]"), ns)?;
            data.push(Record::from_rdata(
                data.apex.clone(),
                ttl,
                RData::NS(NS(target)),
            ));
        }
        for (i, record) in self.records.iter().enumerate() {
            data.push(static_record(&data, i, record, ttl)?);
        }
        Ok(data)
    }
}

/// One validated `[[records]]` entry as a DNS record.
fn static_record(
    data: &ZoneData,
    index: usize,
    record: &StaticRecord,
    default_ttl: u32,
) -> Result<Record, ConfigError> {
    let field = format!("records[{index}]");
    let name = parse_name(&format!("{field}.name"), &record.name)?;
    if !data.lower_apex.zone_of(&LowerName::new(&name)) {
        return Err(invalid(
            format!("{field}.name"),
            format!("{name} is not inside the zone {}", data.apex),
        ));
    }
    let rdata = match (record.rtype.to_ascii_uppercase().as_str(), record.value) {
        ("A", IpAddr::V4(v4)) => RData::A(A(v4)),
        ("AAAA", IpAddr::V6(v6)) => RData::AAAA(AAAA(v6)),
        ("A" | "AAAA", value) => {
            return Err(invalid(
                format!("{field}.value"),
                format!("{value} does not fit type {}", record.rtype),
            ))
        }
        (other, _) => {
            return Err(invalid(
                format!("{field}.type"),
                format!("unsupported type {other:?} (A or AAAA)"),
            ))
        }
    };
    Ok(Record::from_rdata(
        name,
        record.ttl.unwrap_or(default_ttl),
        rdata,
    ))
}

/// An absolute DNS name from a config string (a trailing dot is optional).
fn parse_name(field: &str, value: &str) -> Result<Name, ConfigError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    let mut name = Name::from_ascii(trimmed)
        .map_err(|e| invalid(field, format!("{trimmed:?} is not a DNS name: {e}")))?;
    name.set_fqdn(true);
    Ok(name)
}

/// The SOA mailbox; an `@` is a common slip, so say how to write it.
fn parse_rname(value: &str) -> Result<Name, ConfigError> {
    if let Some((local, domain)) = value.split_once('@') {
        return Err(invalid(
            "soa.rname",
            format!("write the mailbox as a name: {local}.{domain}"),
        ));
    }
    parse_name("soa.rname", value)
}

/// The validated zone contents from the config (everything but the accounts' TXT records).
#[derive(Debug, Clone)]
pub(crate) struct ZoneData {
    /// The apex as configured (case kept for the SOA owner).
    pub apex: Name,
    /// The apex, lowercased, for matching.
    pub lower_apex: LowerName,
    /// The SOA at the apex.
    pub soa: Record,
    /// TTL of the SOA in negative answers (RFC 2308: min of SOA TTL and minimum).
    pub negative_ttl: u32,
    /// NS and static address records.
    pub records: Vec<Record>,
}

impl ZoneData {
    fn push(&mut self, record: Record) {
        self.records.push(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
zone = "Auth.Example.Test."
database = "acme.db"
nameservers = ["ns1.auth.example.test"]
[dns]
listen = ["127.0.0.1:0"]
[http]
listen = "127.0.0.1:0"
[soa]
mname = "ns1.auth.example.test"
rname = "hostmaster.example.test"
[[records]]
name = "ns1.auth.example.test"
type = "A"
value = "192.0.2.53"
"#;

    fn parse(text: &str) -> Result<ZoneData, ConfigError> {
        let config: ServerConfig = toml::from_str(text).expect("toml");
        config.zone_data()
    }

    #[test]
    fn a_good_config_builds_the_zone() {
        let data = parse(GOOD).expect("valid");
        assert_eq!(data.lower_apex.to_string(), "auth.example.test.");
        assert_eq!(data.records.len(), 2);
        assert_eq!(data.negative_ttl, 60);
    }

    #[test]
    fn each_mistake_is_named() {
        let cases = [
            (
                "value = \"192.0.2.53\"",
                "value = \"2001:db8::1\"",
                "records[0].value",
            ),
            ("type = \"A\"", "type = \"MX\"", "records[0].type"),
            (
                "name = \"ns1.auth",
                "name = \"ns1.elsewhere",
                "records[0].name",
            ),
            (
                "rname = \"hostmaster.example.test\"",
                "rname = \"me@example.test\"",
                "soa.rname",
            ),
            (
                "nameservers = [\"ns1.auth.example.test\"]",
                "nameservers = []",
                "nameservers",
            ),
            ("listen = [\"127.0.0.1:0\"]", "listen = []", "dns.listen"),
            ("zone = \"Auth.Example.Test.\"", "zone = \"a..b\"", "zone"),
        ];
        for (from, to, field) in cases {
            let text = GOOD.replace(from, to);
            match parse(&text) {
                Err(ConfigError::Invalid { field: got, .. }) => assert_eq!(got, field, "{to}"),
                other => panic!("{to}: expected an error on {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_keys_and_relative_database_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("server.toml");
        std::fs::write(&path, GOOD).expect("write");
        let config = ServerConfig::load(&path).expect("load");
        assert_eq!(config.database, dir.path().join("acme.db"));
        std::fs::write(&path, format!("typo = 1\n{GOOD}")).expect("write");
        assert!(matches!(
            ServerConfig::load(&path),
            Err(ConfigError::Parse { .. })
        ));
    }
}
