//! Is a TXT value visible yet? Asked of the configured resolvers (or the system's), with no
//! cache, polled with backoff until every expected value is served or a deadline passes.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;

/// Why visibility could not be checked or was not reached.
#[derive(Debug, thiserror::Error)]
pub enum VisibilityError {
    /// A `--resolver` value is not `IP` or `IP:PORT`.
    #[error("resolver {0:?} is not an IP address or IP:PORT")]
    BadResolver(String),
    /// The resolver could not be set up.
    #[error("cannot set up the DNS resolver: {0}")]
    Setup(String),
    /// The deadline passed before every value was seen.
    #[error("{owner}: after {}s the resolvers still do not serve every value (want {}; seen {}{})",
        .waited.as_secs(), .expected.join(", "), if .seen.is_empty() { "nothing".to_owned() } else { .seen.join(", ") },
        .last_error.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default())]
    NotVisible {
        /// The owner name.
        owner: String,
        /// Values wanted.
        expected: Vec<String>,
        /// Values last seen.
        seen: Vec<String>,
        /// How long we waited.
        waited: Duration,
        /// The last lookup error, if the last round failed.
        last_error: Option<String>,
    },
}

/// Parse `IP` or `IP:PORT` (`[v6]:PORT` too); port 53 by default.
///
/// # Errors
///
/// When `text` is neither an IP address nor `IP:PORT`.
pub fn parse_resolver(text: &str) -> Result<SocketAddr, VisibilityError> {
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Ok(sa);
    }
    text.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| VisibilityError::BadResolver(text.to_owned()))
}

/// A resolver on `resolvers` (`IP[:PORT]`, or the system's when empty) without a cache, so
/// every question sees what the servers serve now.
///
/// # Errors
///
/// When a resolver is malformed or the system configuration cannot be read.
pub fn uncached_resolver(resolvers: &[String]) -> Result<TokioResolver, VisibilityError> {
    let setup = |e: &dyn std::fmt::Display| VisibilityError::Setup(e.to_string());
    let mut builder = if resolvers.is_empty() {
        TokioResolver::builder_tokio().map_err(|e| setup(&e))?
    } else {
        let mut servers = Vec::new();
        for text in resolvers {
            let addr = parse_resolver(text)?;
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            servers.push(NameServerConfig::new(addr.ip(), true, vec![udp, tcp]));
        }
        TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(servers),
            TokioRuntimeProvider::default(),
        )
    };
    let opts = builder.options_mut();
    opts.cache_size = 0;
    opts.timeout = Duration::from_secs(2);
    opts.attempts = 2;
    opts.ndots = 0;
    builder.build().map_err(|e| setup(&e))
}

/// A resolver without a cache, so every poll sees what the servers serve now.
#[derive(Clone)]
pub struct Checker {
    resolver: TokioResolver,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker").finish_non_exhaustive()
    }
}

impl Checker {
    /// Use `resolvers` (`IP[:PORT]`), or the system's when empty.
    ///
    /// # Errors
    ///
    /// When the resolver cannot be built (see [`uncached_resolver`]).
    pub fn new(resolvers: &[String]) -> Result<Self, VisibilityError> {
        Ok(Self {
            resolver: uncached_resolver(resolvers)?,
        })
    }

    /// The TXT values served at `owner` now (empty for NXDOMAIN / no records).
    ///
    /// # Errors
    ///
    /// When the lookup fails for any reason other than NXDOMAIN or no records.
    pub async fn txt_values(&self, owner: &str) -> Result<BTreeSet<String>, String> {
        let name = format!("{}.", owner.trim_end_matches('.'));
        match self.resolver.lookup(name.as_str(), RecordType::TXT).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|part| String::from_utf8_lossy(part).into_owned())
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(BTreeSet::new()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Poll until every value of `expected` is served at `owner`, with backoff from 200 ms
    /// to 5 s, or fail after `timeout`.
    ///
    /// # Errors
    ///
    /// When not every value is served at `owner` before `timeout`.
    pub async fn wait_visible(
        &self,
        owner: &str,
        expected: &[String],
        timeout: Duration,
    ) -> Result<Duration, VisibilityError> {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut delay = Duration::from_millis(200);
        loop {
            let (seen, last_error) = match self.txt_values(owner).await {
                Ok(seen) => (seen, None),
                Err(e) => (BTreeSet::new(), Some(e)),
            };
            if expected.iter().all(|v| seen.contains(v)) {
                return Ok(started.elapsed());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(VisibilityError::NotVisible {
                    owner: owner.to_owned(),
                    expected: expected.to_vec(),
                    seen: seen.into_iter().collect(),
                    waited: started.elapsed(),
                    last_error,
                });
            }
            tracing::debug!(owner, ?seen, "not visible yet");
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 3 / 2).min(Duration::from_secs(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_addresses_parse_with_default_port() {
        assert_eq!(
            parse_resolver("127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_resolver("127.0.0.1:8053").unwrap(),
            "127.0.0.1:8053".parse().unwrap()
        );
        assert_eq!(
            parse_resolver("[::1]:5353").unwrap(),
            "[::1]:5353".parse().unwrap()
        );
        assert_eq!(parse_resolver("::1").unwrap(), "[::1]:53".parse().unwrap());
        assert!(parse_resolver("dns.example").is_err());
    }
}
