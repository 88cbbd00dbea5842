//! The HTTP API's accept loop (hyper's HTTP/1 server under axum's router) with the limits a
//! public server needs: a deadline for request headers that also closes idle keep-alive
//! connections, a cap on concurrent connections (beyond it: a 503 and close), back-off when
//! the process runs out of descriptors, and a graceful stop that lets requests finish.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use super::limits::{Acceptor, ConnectionCap, LimitLog};

/// What one connection may take.
#[derive(Clone)]
pub(crate) struct HttpLimits {
    /// Time to send a complete request head, and the longest idle gap between requests.
    pub header_timeout: Duration,
    /// Concurrent connections.
    pub max_connections: usize,
    /// HTTPS: the handshake must finish within `header_timeout` too.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// The answer a connection over the cap gets before it is closed.
const REFUSAL: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n";

/// Serve `router` on `listener` until `stop` turns true, then wait for open requests.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let cap = ConnectionCap::new("HTTP", limits.max_connections);
    let refusing = Arc::new(Semaphore::new(REFUSING));
    let too_slow = Arc::new(LimitLog::new(
        "HTTP",
        "connections closed at the header or idle deadline",
    ));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let mut acceptor = Acceptor::new(listener, "HTTP", stop);
    while let Some((stream, peer)) = acceptor.next().await {
        let Some(permit) = cap.admit() else {
            refuse(stream, &refusing);
            continue;
        };
        let connection = Connection {
            builder: builder.clone(),
            watcher: graceful.watcher(),
            tls: limits.tls.clone(),
            deadline: limits.header_timeout,
            too_slow: Arc::clone(&too_slow),
        };
        let service = service(&router, peer);
        tokio::spawn(async move {
            connection.serve(stream, peer, service).await;
            drop(permit);
        });
    }
    drop(acceptor);
    graceful.shutdown().await;
    Ok(())
}

/// What one accepted connection is served with.
struct Connection {
    builder: hyper::server::conn::http1::Builder,
    watcher: hyper_util::server::graceful::Watcher,
    tls: Option<tokio_rustls::TlsAcceptor>,
    deadline: Duration,
    too_slow: Arc<LimitLog>,
}

impl Connection {
    /// Serve HTTP/1 (after the TLS handshake, within the header deadline, when HTTPS).
    async fn serve<S>(self, stream: TcpStream, peer: SocketAddr, service: S)
    where
        S: hyper::service::Service<
                hyper::Request<Incoming>,
                Response = axum::response::Response,
                Error = std::convert::Infallible,
            > + Send
            + 'static,
        S::Future: Send,
    {
        let served = match self.tls {
            None => {
                let connection = self.builder.serve_connection(TokioIo::new(stream), service);
                self.watcher.watch(connection).await
            }
            Some(tls) => match tokio::time::timeout(self.deadline, tls.accept(stream)).await {
                Ok(Ok(stream)) => {
                    let connection = self.builder.serve_connection(TokioIo::new(stream), service);
                    self.watcher.watch(connection).await
                }
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "TLS handshake failed");
                    Ok(())
                }
                Err(_) => {
                    self.too_slow.hit(format!("{} s", self.deadline.as_secs()));
                    Ok(())
                }
            },
        };
        match served {
            Err(error) if error.is_timeout() => {
                self.too_slow.hit(format!("{} s", self.deadline.as_secs()));
            }
            // A reset or a malformed request: the client's problem.
            Err(error) => tracing::debug!(%peer, %error, "HTTP connection ended"),
            Ok(()) => {}
        }
    }
}

/// Refusals being delivered at once (each holds a descriptor for up to [`REFUSAL_LINGER`]);
/// beyond that a connection over the cap is just closed.
const REFUSING: usize = 256;
/// How long a refused connection is kept to deliver the 503.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// Tell the client why, then close without a reset: the request it already sent is read and
/// discarded first (closing a socket with unread data sends RST, and the client would lose
/// the 503).
fn refuse(mut stream: TcpStream, refusing: &Arc<Semaphore>) {
    let Ok(permit) = Arc::clone(refusing).try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let deliver = async {
            stream.write_all(REFUSAL).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        };
        let _delivered = tokio::time::timeout(REFUSAL_LINGER, deliver).await;
        drop(permit);
    });
}

/// The router for one connection, with the peer address for `ConnectInfo`.
fn service(
    router: &Router,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> {
    let router = router.clone();
    hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move { tower_service::Service::call(&mut router, request).await }
    })
}
