//! DNS over TCP (RFC 7766 framing: a two-byte length before each message) with the limits a
//! public server needs: an idle deadline per connection (between and within messages), a cap
//! on concurrent connections (beyond it the connection is closed at once, which resolvers
//! treat as "retry elsewhere"), and back-off when the process runs out of descriptors.
//! Messages are answered by the same [`Authority`] as UDP, one at a time per connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::dns::Authority;
use super::limits::{Acceptor, ConnectionCap, LimitLog};

/// Serve DNS/TCP on `listener` until `stop` turns true; open connections are then closed.
pub(crate) async fn serve(
    listener: TcpListener,
    authority: Arc<Authority>,
    idle: Duration,
    cap: ConnectionCap,
    stop: watch::Receiver<bool>,
) {
    let idle_closed = Arc::new(LimitLog::new(
        "DNS/TCP",
        "connections closed at the idle deadline",
    ));
    let mut connections = JoinSet::new();
    let mut acceptor = Acceptor::new(listener, "DNS/TCP", stop);
    while let Some((stream, peer)) = acceptor.next().await {
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
        let Some(permit) = cap.admit() else {
            drop(stream);
            continue;
        };
        let (authority, idle_closed) = (Arc::clone(&authority), Arc::clone(&idle_closed));
        connections.spawn(async move {
            match connection(stream, peer, &authority, idle).await {
                Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {
                    idle_closed.hit(format!("{} s", idle.as_secs()));
                }
                Err(error) => tracing::debug!(%peer, %error, "DNS/TCP connection ended"),
                Ok(()) => {}
            }
            drop(permit);
        });
    }
    connections.shutdown().await;
}

/// Answer messages on one connection until the client closes it or stays idle too long.
async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    authority: &Authority,
    idle: Duration,
) -> std::io::Result<()> {
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "idle timeout");
    loop {
        let mut length = [0u8; 2];
        match tokio::time::timeout(idle, stream.read_exact(&mut length)).await {
            Err(_) => return Err(timed_out()),
            Ok(Err(error)) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(result) => result.map(drop)?,
        }
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(length))];
        tokio::time::timeout(idle, stream.read_exact(&mut message))
            .await
            .map_err(|_| timed_out())??;
        let Some(reply) = authority.respond_to(&message, peer, true).await else {
            continue;
        };
        let Ok(size) = u16::try_from(reply.len()) else {
            continue;
        };
        let mut framed = Vec::with_capacity(reply.len() + 2);
        framed.extend_from_slice(&size.to_be_bytes());
        framed.extend_from_slice(&reply);
        tokio::time::timeout(idle, stream.write_all(&framed))
            .await
            .map_err(|_| timed_out())??;
    }
}
