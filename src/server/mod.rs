//! The embedded acme-dns-compatible server: authoritative DNS for one zone (hickory-server,
//! UDP and TCP), the HTTP API (axum) and the account database (`SQLite`).
//!
//! - [`serve`]: `certpilot acme-dns serve --config FILE`; runs until SIGINT/SIGTERM.
//! - [`start`]: the embeddable form (tests, the TUI): binds (port 0 allowed), reports the
//!   bound addresses, and stops with [`RunningServer::shutdown`].
//!
//! Behaviour follows `acme-dns-protocol.md`; the config format is in
//! `docs/acme-dns-server.md`.

mod api;
mod auth;
mod body;
mod config;
mod cors;
mod dns;
mod dns_tcp;
mod http;
mod limits;
mod serve;
mod store;
mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server as DnsServer;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{ConfigError, DnsListen, HttpListen, ServerConfig, SoaConfig, StaticRecord};
pub use dns::Authority;
pub use serve::serve;
pub use store::StoreError;
pub use tls::{TlsConfig, TlsError, TlsMode};

/// How long shutdown waits for in-flight HTTP requests before cutting them off.
const HTTP_DRAIN: Duration = Duration::from_secs(10);

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A listener could not be bound.
    #[error("cannot listen on {protocol} {addr}: {source}")]
    Bind {
        /// `DNS/UDP`, `DNS/TCP` or `HTTP`.
        protocol: &'static str,
        /// The configured address.
        addr: SocketAddr,
        /// What the OS said (e.g. address in use, permission denied for port 53).
        source: std::io::Error,
    },
    /// HTTPS for the API could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Setting up accounts' crypto failed (no OS randomness).
    #[error("cannot prepare password checks: {0}")]
    Crypto(String),
    /// A server task failed while running or stopping.
    #[error("acme-dns server {part}: {message}")]
    Runtime {
        /// `DNS`, `HTTP` or `signals`.
        part: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// A started server. Dropping it without [`RunningServer::shutdown`] leaves the tasks
/// running until the runtime ends.
pub struct RunningServer {
    dns: DnsServer<dns::DnsHandler>,
    dns_tcp: Vec<JoinHandle<()>>,
    tls_task: Option<JoinHandle<()>>,
    http: JoinHandle<std::io::Result<()>>,
    stop_http: watch::Sender<bool>,
    store: Arc<store::Store>,
    authority: Arc<Authority>,
    udp: Vec<SocketAddr>,
    tcp: Vec<SocketAddr>,
    http_addr: SocketAddr,
    database: PathBuf,
}

/// Start the server from `config`: open (or create) the database, bind every listener, and
/// log the bound addresses. Port 0 binds a free port; read it back from the accessors.
///
/// # Errors
/// An invalid configuration, a database that cannot be opened or migrated, or an address
/// that cannot be bound (each error names the file or address).
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    start_with_keystore(config, None).await
}

/// [`start`] with the keyring that `tls.mode = "acme"` keeps its ACME account and key in.
///
/// # Errors
/// As [`start`], and an API certificate that cannot be loaded or obtained.
pub async fn start_with_keystore(
    mut config: ServerConfig,
    keystore: Option<crate::secrets::Keystore>,
) -> Result<RunningServer, ServerError> {
    let zone = config.zone_data()?;
    let open_files = fit_limits(&mut config);
    let cost = config.bcrypt_cost;
    let password = database_password(&config, keystore.as_ref()).await;
    let (store, checker) = open_store(&config.database, password.as_deref(), cost).await?;
    let authority = Arc::new(Authority::new(zone.clone(), Arc::clone(&store)));
    let mut dns = DnsServer::new(dns::DnsHandler(Arc::clone(&authority)));
    let (stop_http, stopped) = watch::channel(false);
    let (udp, tcp, dns_tcp) = bind_dns(&mut dns, &config, &authority, &stopped).await?;
    let zone_name = zone.lower_apex.to_string().trim_end_matches('.').to_owned();
    // DNS answers already: `tls.mode = "acme"` is validated through it.
    let tls = match tls::prepare(&config.tls, &zone_name, &authority, keystore).await {
        Ok(tls) => tls,
        Err(error) => {
            let _stopping = stop_http.send(true);
            return Err(error);
        }
    };
    let api = Arc::new(api::Api {
        store: Arc::clone(&store),
        auth: Arc::new(checker),
        zone: zone.lower_apex.to_string().trim_end_matches('.').to_owned(),
        forwarded_header: config
            .use_forwarded_header
            .as_deref()
            .and_then(|h| h.parse().ok()),
        bcrypt_cost: cost,
        registration: !config.disable_registration,
        cors_origins: config.corsorigins.clone(),
        request_timeout: Duration::from_secs(config.http.request_timeout_secs.max(1)),
    });
    let (tls_acceptor, tls_task) = tls.map(|t| (t.acceptor, t.task)).unzip();
    let (http, http_addr) = spawn_http(api, &config.http, tls_acceptor, stopped).await?;
    tracing::info!(
        zone = %zone.apex,
        dns_udp = ?udp,
        dns_tcp = ?tcp,
        http = %http_addr,
        https = tls_task.is_some(),
        http_max_connections = config.http.max_connections,
        dns_max_tcp_connections = config.dns.max_tcp_connections,
        open_files = ?open_files,
        database = %store::describe(&config.database),
        registration = !config.disable_registration,
        "acme-dns server listening"
    );
    Ok(RunningServer {
        dns,
        dns_tcp,
        tls_task,
        http,
        stop_http,
        store,
        authority,
        udp,
        tcp,
        http_addr,
        database: config.database,
    })
}

/// The keyring entry for the password of `config`'s `PostgreSQL` database (`None` for `SQLite`).
#[must_use]
pub fn database_password_entry(config: &ServerConfig) -> Option<crate::secrets::SecretRef> {
    store::password_entry(&config.database)
        .map(|(entry, _)| crate::secrets::SecretRef::DbPassword(entry))
}

/// The PostgreSQL password from the keyring, if there is a keyring and an entry.
async fn database_password(
    config: &ServerConfig,
    keystore: Option<&crate::secrets::Keystore>,
) -> Option<String> {
    let (entry, keystore) = (database_password_entry(config)?, keystore?.clone());
    match crate::secrets::blocking(move || keystore.get(&entry)).await {
        Ok(password) => password,
        Err(error) => {
            tracing::warn!(%error, "cannot read the database password from the keyring");
            None
        }
    }
}

/// Raise the open-file limit and fit the connection caps into it; the limit in effect.
fn fit_limits(config: &mut ServerConfig) -> Option<u64> {
    let open_files = limits::raise_open_files();
    let listeners = config.dns.listen.len();
    let mut dns_total = config.dns.max_tcp_connections.saturating_mul(listeners);
    limits::fit_caps(
        open_files,
        &mut [&mut config.http.max_connections, &mut dns_total],
    );
    config.dns.max_tcp_connections = (dns_total / listeners.max(1)).max(1);
    open_files
}

/// Open the database and prepare login checks (a dummy bcrypt hash at `cost`).
async fn open_store(
    database: &Path,
    password: Option<&str>,
    cost: u32,
) -> Result<(Arc<store::Store>, auth::Authenticator), ServerError> {
    let store = Arc::new(store::Store::open(database, password).await?);
    let for_checker = Arc::clone(&store);
    let checker = tokio::task::spawn_blocking(move || {
        auth::Authenticator::new(for_checker, cost).map_err(|e| ServerError::Crypto(e.to_string()))
    });
    let checker = checker.await.map_err(|e| ServerError::Runtime {
        part: "startup",
        message: e.to_string(),
    })??;
    Ok((store, checker))
}

type DnsBound = (Vec<SocketAddr>, Vec<SocketAddr>, Vec<JoinHandle<()>>);

/// Bind a UDP socket (served by hickory) and a TCP listener (served by [`dns_tcp`], which
/// caps connections) on every configured DNS address.
async fn bind_dns(
    dns: &mut DnsServer<dns::DnsHandler>,
    config: &ServerConfig,
    authority: &Arc<Authority>,
    stop: &watch::Receiver<bool>,
) -> Result<DnsBound, ServerError> {
    let idle = Duration::from_secs(config.dns.tcp_timeout_secs.max(1));
    let (mut udp, mut tcp, mut tasks) = (Vec::new(), Vec::new(), Vec::new());
    for &addr in &config.dns.listen {
        let (socket, listener, bound) = bind_pair(addr).await?;
        dns.register_socket(socket);
        let cap = limits::ConnectionCap::new("DNS/TCP", config.dns.max_tcp_connections);
        tasks.push(tokio::spawn(dns_tcp::serve(
            listener,
            Arc::clone(authority),
            idle,
            cap,
            stop.clone(),
        )));
        udp.push(bound);
        tcp.push(bound);
    }
    Ok((udp, tcp, tasks))
}

/// UDP and TCP on the same address and port. With port 0, TCP takes the port UDP got; when
/// another program holds that TCP port, try a few fresh ports.
async fn bind_pair(
    addr: SocketAddr,
) -> Result<(tokio::net::UdpSocket, tokio::net::TcpListener, SocketAddr), ServerError> {
    let bind_error = |protocol, addr| {
        move |source| ServerError::Bind {
            protocol,
            addr,
            source,
        }
    };
    let mut attempts = if addr.port() == 0 { 8 } else { 1 };
    loop {
        attempts -= 1;
        let socket = tokio::net::UdpSocket::bind(addr)
            .await
            .map_err(bind_error("DNS/UDP", addr))?;
        let bound = socket.local_addr().map_err(bind_error("DNS/UDP", addr))?;
        match tokio::net::TcpListener::bind(bound).await {
            Ok(listener) => return Ok((socket, listener, bound)),
            Err(source) if attempts == 0 => return Err(bind_error("DNS/TCP", bound)(source)),
            Err(_) => {}
        }
    }
}

type HttpTask = (JoinHandle<std::io::Result<()>>, SocketAddr);

async fn spawn_http(
    api: Arc<api::Api>,
    settings: &HttpListen,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stop: watch::Receiver<bool>,
) -> Result<HttpTask, ServerError> {
    let addr = settings.listen;
    let bind_error = |source| ServerError::Bind {
        protocol: "HTTP",
        addr,
        source,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    let limits = http::HttpLimits {
        header_timeout: Duration::from_secs(settings.header_timeout_secs.max(1)),
        max_connections: settings.max_connections,
        tls,
    };
    let task = tokio::spawn(http::serve(listener, api::router(api), limits, stop));
    Ok((task, bound))
}

impl RunningServer {
    /// The bound DNS/UDP addresses, one per configured address.
    #[must_use]
    pub fn dns_udp_addrs(&self) -> &[SocketAddr] {
        &self.udp
    }

    /// The bound DNS/TCP addresses (same ports as UDP when the config said port 0).
    #[must_use]
    pub fn dns_tcp_addrs(&self) -> &[SocketAddr] {
        &self.tcp
    }

    /// The bound HTTP API address.
    #[must_use]
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The database file.
    #[must_use]
    pub fn database(&self) -> &Path {
        &self.database
    }

    /// The zone's answering logic (e.g. to answer raw packets without the network).
    #[must_use]
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// Stop accepting, let in-flight HTTP requests finish (up to 10 s), stop DNS, and fold
    /// the database's write-ahead log into the main file.
    ///
    /// # Errors
    /// A server task that failed while running, or a failed final checkpoint (the database is
    /// still consistent: `SQLite` replays its write-ahead log on the next open).
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        let _ignored = self.stop_http.send(true);
        if let Some(task) = &self.tls_task {
            task.abort();
        }
        let mut http = self.http;
        let http_result = match tokio::time::timeout(HTTP_DRAIN, &mut http).await {
            Ok(Ok(result)) => result.map_err(|e| e.to_string()),
            Ok(Err(join)) => Err(join.to_string()),
            Err(_) => {
                http.abort();
                tracing::warn!("HTTP requests still running after the drain time; cut off");
                Ok(())
            }
        };
        for task in self.dns_tcp {
            let _stopped = task.await;
        }
        let dns_result = self.dns.shutdown_gracefully().await;
        let closed = self.store.close().await;
        tracing::info!("acme-dns server stopped");
        http_result.map_err(|message| ServerError::Runtime {
            part: "HTTP",
            message,
        })?;
        dns_result.map_err(|e| ServerError::Runtime {
            part: "DNS",
            message: e.to_string(),
        })?;
        closed.map_err(ServerError::from)
    }
}
