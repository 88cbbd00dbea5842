//! Where each record's UPDATE goes: its zone (configured, or found through its SOA by
//! [`crate::dns::zone::Discovery`]) and the zone's primary (configured, or the SOA MNAME).

use std::net::{IpAddr, SocketAddr};

use hickory_proto::rr::{Name, RData, RecordType};

use super::Rfc2136Error;
use crate::dns::query::{QueryOptions, Transport};
use crate::dns::visibility::{parse_resolver, uncached_resolver};
use crate::dns::zone::{display, Discovery, Zone};

/// Port of a server given without one.
const DNS_PORT: u16 = 53;

/// Finds zones and primaries through the configured resolvers.
pub struct Placer {
    resolvers: Vec<String>,
    discovery: Discovery,
    transport: Transport,
}

impl Placer {
    /// Ask through `resolvers` (`IP[:PORT]`; the system's when empty); authoritative servers
    /// (and the primary found from the SOA) on `port` (`settings.authoritative_port`).
    ///
    /// # Errors
    /// A resolver is not an address, or there is none.
    pub fn new(resolvers: &[String], port: u16) -> Result<Self, Rfc2136Error> {
        let prober = crate::dns::propagation::Prober::new(resolvers)
            .map_err(|e| Rfc2136Error::Discovery(e.to_string()))?;
        let transport = Transport::new(QueryOptions {
            port,
            ..QueryOptions::default()
        });
        Ok(Self {
            resolvers: resolvers.to_vec(),
            discovery: Discovery::new(transport.clone(), prober.resolvers().to_vec()),
            transport,
        })
    }

    /// The zone `owner` lives in.
    ///
    /// # Errors
    /// Discovery failed.
    pub async fn zone_of(&self, owner: &Name) -> Result<Zone, Rfc2136Error> {
        self.discovery.zone_of(owner).await.map_err(|e| {
            Rfc2136Error::Discovery(format!(
                "{e} (set the zone with --zone, and the primary with --server, if discovery cannot see it)"
            ))
        })
    }

    /// The address of the configured `HOST[:PORT]`.
    ///
    /// # Errors
    /// A host name that does not resolve.
    pub async fn server(&self, text: &str) -> Result<SocketAddr, Rfc2136Error> {
        if let Ok(addr) = parse_resolver(text) {
            return Ok(addr);
        }
        let (host, port) = split_host_port(text)?;
        let ip = self.resolve(&host).await?;
        Ok(SocketAddr::new(ip, port))
    }

    /// The zone's primary: its SOA MNAME, at an address the zone's own NS data or the
    /// resolvers give, on the authoritative port.
    ///
    /// # Errors
    /// No server answers the SOA question, or the MNAME has no address.
    pub async fn primary(&self, zone: &Zone) -> Result<SocketAddr, Rfc2136Error> {
        let apex = Name::from_ascii(format!("{}.", zone.apex))
            .map_err(|e| Rfc2136Error::Discovery(format!("zone {}: {e}", zone.apex)))?;
        let mut last = String::from("no name server address");
        let addresses: Vec<IpAddr> = zone
            .servers
            .iter()
            .flat_map(|s| s.addresses.iter().map(|a| a.ip))
            .collect();
        for ip in addresses {
            let server = self.transport.authoritative(ip);
            match self
                .transport
                .ask(server, &apex, RecordType::SOA, false)
                .await
            {
                Ok(response) => {
                    let mname = response.message.answers.iter().find_map(|r| match &r.data {
                        RData::SOA(soa) => Some(display(&soa.mname)),
                        _ => None,
                    });
                    if let Some(mname) = mname {
                        return self.mname_address(zone, &mname).await;
                    }
                    last = format!("{server} gave no SOA for {}", zone.apex);
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(Rfc2136Error::Discovery(format!(
            "cannot read the SOA of zone {} to find its primary ({last}); pass --server",
            zone.apex
        )))
    }

    async fn mname_address(&self, zone: &Zone, mname: &str) -> Result<SocketAddr, Rfc2136Error> {
        let known = zone
            .servers
            .iter()
            .find(|s| s.host.trim_end_matches('.').eq_ignore_ascii_case(mname))
            .and_then(|s| s.addresses.first());
        let ip = match known {
            Some(address) => address.ip,
            None => self.resolve(mname).await.map_err(|e| {
                Rfc2136Error::Discovery(format!(
                    "the primary of zone {} (SOA MNAME {mname}): {e}; pass --server",
                    zone.apex
                ))
            })?,
        };
        Ok(self.transport.authoritative(ip))
    }

    async fn resolve(&self, host: &str) -> Result<IpAddr, Rfc2136Error> {
        let resolver = uncached_resolver(&self.resolvers)
            .map_err(|e| Rfc2136Error::Discovery(e.to_string()))?;
        let fqdn = format!("{}.", host.trim_end_matches('.'));
        let lookup = resolver
            .lookup_ip(fqdn.as_str())
            .await
            .map_err(|e| Rfc2136Error::Discovery(format!("cannot resolve {host}: {e}")))?;
        lookup
            .iter()
            .next()
            .ok_or_else(|| Rfc2136Error::Discovery(format!("{host} has no address")))
    }
}

/// `host` or `host:port` (a host name; addresses go through [`parse_resolver`]).
fn split_host_port(text: &str) -> Result<(String, u16), Rfc2136Error> {
    let bad = || Rfc2136Error::Discovery(format!("--server {text:?} is not HOST or HOST:PORT"));
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad())?),
        None => (text, DNS_PORT),
    };
    if host.is_empty() || host.contains([':', '/', ' ']) {
        return Err(bad());
    }
    Ok((host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(
            split_host_port("ns1.example.com").unwrap(),
            ("ns1.example.com".into(), 53)
        );
        assert_eq!(
            split_host_port("NS1.example.com:5353").unwrap(),
            ("ns1.example.com".into(), 5353)
        );
        assert!(split_host_port("ns1:x").is_err());
        assert!(split_host_port(":53").is_err());
        assert!(split_host_port("http://x").is_err());
    }
}
