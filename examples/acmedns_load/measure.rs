//! Latency percentiles and DNS-over-TCP load for the acme-dns load driver.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `p`-th percentile (0..=100) of `samples`, in milliseconds (0 without samples).
pub fn percentile_ms(samples: &mut [Duration], p: usize) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_unstable();
    let index = (samples.len() * p / 100).min(samples.len() - 1);
    samples[index].as_secs_f64() * 1000.0
}

/// Print `<label>_p50_ms` and `<label>_p99_ms`.
pub fn report_latency(label: &str, samples: &mut [Duration]) {
    let (p50, p99) = (percentile_ms(samples, 50), percentile_ms(samples, 99));
    println!("{label}_p50_ms={p50:.2} {label}_p99_ms={p99:.2}");
}

/// What the TCP phase measured.
pub struct TcpStats {
    pub answered: u64,
    pub failed: u64,
    /// Connections the server closed between queries (miekg/dns, the reference server's
    /// library, closes after 128 queries), each followed by a new one.
    pub reconnects: u64,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

/// One query over `stream`, length-prefixed both ways.
async fn exchange(stream: &mut tokio::net::TcpStream, framed: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(framed).await?;
    let mut length = [0u8; 2];
    stream.read_exact(&mut length).await?;
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut reply).await?;
    Ok(reply)
}

/// One connection per worker, `per_worker` TXT queries each, one at a time; a connection the
/// server closed (end of stream instead of a reply) is opened again once for that query.
async fn tcp_worker(
    dns: SocketAddr,
    names: Arc<Vec<String>>,
    worker: usize,
    per_worker: u64,
) -> (u64, u64, u64, Vec<Duration>) {
    let Ok(mut stream) = tokio::net::TcpStream::connect(dns).await else {
        return (0, per_worker, 0, Vec::new());
    };
    let (mut answered, mut failed, mut reconnects, mut latencies) = (0, 0, 0, Vec::new());
    for n in 0..per_worker {
        let name = &names[(worker + 7 * n as usize) % names.len()];
        let mut message = Message::query();
        let Ok(name) = Name::from_ascii(name) else {
            continue;
        };
        message.add_query(Query::query(name, RecordType::TXT));
        let Ok(bytes) = message.to_vec() else {
            continue;
        };
        let started = Instant::now();
        let mut framed = u16::try_from(bytes.len())
            .unwrap_or(0)
            .to_be_bytes()
            .to_vec();
        framed.extend_from_slice(&bytes);
        let deadline = Duration::from_secs(5);
        let mut reply = tokio::time::timeout(deadline, exchange(&mut stream, &framed)).await;
        let closed = matches!(&reply, Ok(Err(e)) if matches!(e.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe));
        if closed {
            if let Ok(fresh) = tokio::net::TcpStream::connect(dns).await {
                stream = fresh;
                reconnects += 1;
                reply = tokio::time::timeout(deadline, exchange(&mut stream, &framed)).await;
            }
        }
        match reply {
            Ok(Ok(_)) => {
                answered += 1;
                latencies.push(started.elapsed());
            }
            _ => {
                failed += per_worker - n;
                break;
            }
        }
    }
    (answered, failed, reconnects, latencies)
}

/// `workers` TCP connections at once, `total` queries spread over them.
pub async fn tcp_queries(
    dns: SocketAddr,
    names: Arc<Vec<String>>,
    workers: usize,
    total: u64,
) -> TcpStats {
    let per_worker = total.div_ceil(workers as u64);
    let started = Instant::now();
    let tasks =
        (0..workers).map(|w| tokio::spawn(tcp_worker(dns, Arc::clone(&names), w, per_worker)));
    let results = futures::future::join_all(tasks).await;
    let elapsed = started.elapsed();
    let mut stats = TcpStats {
        answered: 0,
        failed: 0,
        reconnects: 0,
        elapsed,
        latencies: Vec::new(),
    };
    for (answered, failed, reconnects, latencies) in results.into_iter().flatten() {
        stats.answered += answered;
        stats.failed += failed;
        stats.reconnects += reconnects;
        stats.latencies.extend(latencies);
    }
    stats
}
