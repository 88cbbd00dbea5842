//! The embedded acme-dns server run from the UI (Kalm's flow): start it in-process, keep it
//! until the UI stops it (or quits), and register the configured acme-dns domains on it
//! through the same code path as `certpilot acme-dns register`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

use super::acmedns::{self, Delegation, RegisterRequest};
use super::{Context, Event};
use crate::acmedns::CnameRecord;
use crate::config::DomainConfig;
use crate::dns::parent::{parent_records, ParentRecord};
use crate::server::{self, ServerConfig, StaticRecord};

/// What the UI asks to start: a config file, or the three facts of the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRequest {
    /// A server config file (`acme-dns serve --config FILE`); wins over the fields below.
    pub config_file: Option<PathBuf>,
    /// The challenge zone, e.g. `acme.example.com`.
    pub zone: String,
    /// The nameserver's host name, e.g. `ns1.acme.example.com`.
    pub nameserver: String,
    /// Its public address.
    pub address: String,
    /// DNS listen address.
    pub dns_listen: String,
    /// HTTP API listen address.
    pub http_listen: String,
}

/// A started server, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// The zone.
    pub zone: String,
    /// The nameserver host name.
    pub nameserver: String,
    /// Its public address.
    pub address: IpAddr,
    /// Bound DNS addresses (UDP and TCP).
    pub dns: Vec<SocketAddr>,
    /// The API's URL for clients on this host.
    pub url: String,
    /// The records to create once in the parent zone.
    pub records: Vec<ParentRecord>,
}

fn socket(field: &str, text: &str) -> Result<SocketAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{field}: {text:?} is not IP:PORT (e.g. 0.0.0.0:53)"))
}

impl ServerRequest {
    /// The server config and what the UI shows; needs no network.
    ///
    /// # Errors
    /// An unreadable config file, or a field that is not usable (the message names it).
    pub fn config(&self, database: PathBuf) -> Result<(ServerConfig, ServerInfo), String> {
        let config = match &self.config_file {
            Some(path) => ServerConfig::load(path).map_err(|e| e.to_string())?,
            None => self.fields_config(database)?,
        };
        let nameserver = config
            .nameservers
            .first()
            .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
            .ok_or("the server config lists no nameserver")?;
        let address = match self.address.trim() {
            "" => config
                .records
                .iter()
                .find(|r| {
                    r.name
                        .trim_end_matches('.')
                        .eq_ignore_ascii_case(&nameserver)
                })
                .map(|r| r.value)
                .ok_or(format!(
                    "public IP: the config has no address for {nameserver}; enter it"
                ))?,
            text => text
                .parse()
                .map_err(|_| format!("public IP: {text:?} is not an IP address"))?,
        };
        let records = parent_records(&config.zone, &nameserver, address)?;
        let info = ServerInfo {
            zone: records[0].owner.clone(),
            nameserver,
            address,
            dns: config.dns.listen.clone(),
            url: client_url(config.http.listen),
            records,
        };
        Ok((config, info))
    }

    fn fields_config(&self, database: PathBuf) -> Result<ServerConfig, String> {
        let address: IpAddr = self
            .address
            .trim()
            .parse()
            .map_err(|_| format!("public IP: {:?} is not an IP address", self.address))?;
        let records = parent_records(&self.zone, &self.nameserver, address)?;
        let (zone, host) = (&records[0].owner, &records[0].value);
        let mut config = ServerConfig::new(zone, database);
        config.nameservers = vec![host.clone()];
        config.soa.mname.clone_from(host);
        config.dns.listen = vec![socket("DNS listen", &self.dns_listen)?];
        config.http.listen = socket("HTTP listen", &self.http_listen)?;
        if host.ends_with(&format!(".{zone}")) {
            config.records = vec![StaticRecord {
                name: host.clone(),
                rtype: records[1].rtype.to_owned(),
                value: address,
                ttl: None,
            }];
        }
        Ok(config)
    }
}

/// The URL clients on this host use: an unspecified listen address is reached on loopback.
fn client_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, listen.port()))
}

/// Start the server, report [`Event::ServerStarted`], and run until `stop` says so; then
/// shut it down gracefully (the database keeps every account).
///
/// # Errors
/// Why it could not start, or failed while stopping.
pub async fn run(
    ctx: &Context,
    request: &ServerRequest,
    reply: impl Fn(Event),
    mut stop: watch::Receiver<bool>,
) -> Result<(), crate::ops::Error> {
    let database = ctx.paths.state.join("acme-dns-server.db");
    // The form's own check: its message names the field.
    let (config, mut info) = request
        .config(database)
        .map_err(crate::ops::Error::Invalid)?;
    let running = server::start(config).await?;
    info.dns = running.dns_udp_addrs().to_vec();
    info.url = client_url(running.http_addr());
    reply(Event::ServerStarted(info));
    // An error means the UI is gone: stop as well.
    drop(stop.wait_for(|stop| *stop).await);
    Ok(running.shutdown().await?)
}

/// The acme-dns domains of the configuration that should be on the server at `url`: those
/// mapped to it, and `extra` (typed by the user).
#[must_use]
pub fn domains_for(config: &crate::config::Config, url: &str, extra: &[String]) -> Vec<String> {
    let mut domains: Vec<String> = config
        .domains
        .iter()
        .filter(|(_, d)| matches!(d, DomainConfig::AcmeDns { server } if same_server(server, url)))
        .map(|(domain, _)| domain.clone())
        .collect();
    for domain in extra {
        let domain = crate::domain::names::base_domain(domain.trim()).to_ascii_lowercase();
        if !domain.is_empty() && !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    domains
}

fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// Make sure every domain of [`domains_for`] has a registration on the server at `url`:
/// existing ones are shown as they are, the others are registered (password in the keyring,
/// domain mapped to the acme-dns solver) like `certpilot acme-dns register`.
///
/// # Errors
/// The config cannot be read, or a registration failed (naming the domain).
pub async fn register_all(
    ctx: &Arc<Context>,
    url: &str,
    extra: &[String],
) -> Result<Vec<Delegation>, crate::ops::Error> {
    let config = ctx.config()?;
    let mut out = Vec::new();
    for domain in domains_for(&config, url, extra) {
        let existing = config
            .acme_dns
            .get(&domain)
            .filter(|r| same_server(&r.server, url));
        if let Some(registration) = existing {
            out.push(Delegation {
                server: registration.server.clone(),
                record: CnameRecord::new(&domain, &registration.fulldomain),
                mapped: true,
            });
            continue;
        }
        let request = RegisterRequest {
            domain: domain.clone(),
            server: url.to_owned(),
            allow_from: Vec::new(),
            allow_insecure_http: false,
            use_for_issuance: true,
        };
        let saved = acmedns::register(ctx, request).await.map_err(|source| {
            crate::ops::Error::Registering {
                domain: domain.clone(),
                source: Box::new(source),
            }
        })?;
        out.extend(saved);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ServerRequest {
        ServerRequest {
            config_file: None,
            zone: "Acme.Example.com".into(),
            nameserver: "ns1.acme.example.com".into(),
            address: "203.0.113.5".into(),
            dns_listen: "0.0.0.0:53".into(),
            http_listen: "0.0.0.0:8053".into(),
        }
    }

    #[test]
    fn fields_make_a_server_config() {
        let (config, info) = request().config("db".into()).unwrap();
        assert_eq!(config.zone, "acme.example.com");
        assert_eq!(config.nameservers, ["ns1.acme.example.com"]);
        assert_eq!(config.records.len(), 1, "the nameserver's own A record");
        assert_eq!(info.url, "http://127.0.0.1:8053");
        assert_eq!(
            info.records[0].zone_line(),
            "acme.example.com. IN NS ns1.acme.example.com."
        );
        let mut outside = request();
        outside.nameserver = "ns.example.net".into();
        let (config, _) = outside.config("db".into()).unwrap();
        assert!(config.records.is_empty(), "no record outside the zone");
        let cases = [
            ("address", "nope", "public IP"),
            ("dns_listen", "53", "DNS listen"),
            ("http_listen", "", "HTTP listen"),
            ("zone", "", "zone:"),
        ];
        for (field, value, needle) in cases {
            let mut bad = request();
            match field {
                "address" => bad.address = value.into(),
                "dns_listen" => bad.dns_listen = value.into(),
                "http_listen" => bad.http_listen = value.into(),
                _ => bad.zone = value.into(),
            }
            let err = bad.config("db".into()).unwrap_err();
            assert!(err.contains(needle), "{field}: {err}");
        }
    }

    #[test]
    fn domains_mapped_to_this_server_and_typed_ones() {
        let mut config = crate::config::Config::default();
        let mapped = |server: &str| DomainConfig::AcmeDns {
            server: server.into(),
        };
        config
            .domains
            .insert("a.test".into(), mapped("http://127.0.0.1:8053/"));
        config
            .domains
            .insert("b.test".into(), mapped("https://elsewhere.example"));
        config.domains.insert("c.test".into(), DomainConfig::Manual);
        let extra = vec!["*.d.test".to_owned(), "a.test".to_owned(), " ".to_owned()];
        assert_eq!(
            domains_for(&config, "http://127.0.0.1:8053", &extra),
            ["a.test", "d.test"]
        );
    }
}
