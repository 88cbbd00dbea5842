//! One DNS question to one server address, the way a propagation probe needs it: a fresh
//! socket per question (no cache, no shared state between servers), recursion only when
//! asked, UDP first with a TCP retry when the answer is truncated, a bounded wait per attempt
//! and a bounded number of attempts.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::time::timeout_at;

/// EDNS(0) payload size we advertise (the DNS flag day 2020 value): big enough for the TXT
/// sets of a 100-name certificate, small enough to avoid IP fragmentation.
pub const EDNS_PAYLOAD: u16 = 1232;
/// At most this many questions in flight at once, so 100 names × many servers stay well
/// below the process's file descriptor limit.
const MAX_IN_FLIGHT: usize = 256;

/// Why a question got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Nothing came back in time.
    #[error("{server}: no answer after {attempts} attempt(s) of {} ms", .per_attempt.as_millis())]
    Timeout {
        /// The address asked.
        server: SocketAddr,
        /// Attempts made.
        attempts: u32,
        /// The wait per attempt.
        per_attempt: Duration,
    },
    /// The network said no at once (ICMP unreachable, connection refused, no route).
    #[error("{server}: unreachable ({detail})")]
    Unreachable {
        /// The address asked.
        server: SocketAddr,
        /// The operating system's words.
        detail: String,
    },
    /// A socket error or an answer that cannot be decoded.
    #[error("{server}: {detail}")]
    Failed {
        /// The address asked.
        server: SocketAddr,
        /// What went wrong.
        detail: String,
    },
}

impl QueryError {
    /// What went wrong, without the server (tables show it in their own column).
    #[must_use]
    pub fn reason(&self) -> String {
        match self {
            QueryError::Timeout {
                attempts,
                per_attempt,
                ..
            } => format!("no answer in {attempts} × {} ms", per_attempt.as_millis()),
            QueryError::Unreachable { detail, .. } | QueryError::Failed { detail, .. } => {
                detail.clone()
            }
        }
    }
}

/// Timeout and retries of one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryOptions {
    /// Wait per attempt (UDP) and for the whole TCP exchange.
    pub timeout: Duration,
    /// UDP attempts before giving up (at least 1).
    pub attempts: u32,
    /// The port authoritative servers are asked on: 53, except in a sandbox or test whose
    /// servers listen elsewhere (`settings.authoritative_port`).
    pub port: u16,
}

impl Default for QueryOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(1500),
            attempts: 2,
            port: 53,
        }
    }
}

/// A decoded answer and how it was obtained.
#[derive(Debug, Clone)]
pub struct Response {
    /// The answer.
    pub message: Message,
    /// From sending the successful attempt to its answer (TCP retry included).
    pub rtt: Duration,
    /// Whether the answer came over TCP (the UDP one was truncated).
    pub tcp: bool,
}

/// Sends questions, counts them and caps how many are in flight. Cheap to clone; clones
/// share the counter.
#[derive(Debug, Clone)]
pub struct Transport {
    options: QueryOptions,
    sent: Arc<AtomicU64>,
    permits: Arc<Semaphore>,
}

impl Transport {
    /// A transport with these timeouts.
    #[must_use]
    pub fn new(options: QueryOptions) -> Self {
        Self {
            options,
            sent: Arc::new(AtomicU64::new(0)),
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    /// The address of an authoritative server's `ip` (on the configured port).
    #[must_use]
    pub fn authoritative(&self, ip: std::net::IpAddr) -> SocketAddr {
        SocketAddr::new(ip, self.options.port)
    }

    /// Its timeouts.
    #[must_use]
    pub fn options(&self) -> QueryOptions {
        self.options
    }

    /// Datagrams and TCP exchanges sent so far.
    #[must_use]
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Ask `server` for `name`/`rtype`; `recursion` sets the RD bit.
    ///
    /// # Errors
    /// No answer within the attempts, the network refused, or the answer is broken.
    pub async fn ask(
        &self,
        server: SocketAddr,
        name: &Name,
        rtype: RecordType,
        recursion: bool,
    ) -> Result<Response, QueryError> {
        let failed = |detail: String| QueryError::Failed { server, detail };
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let request = request(name, rtype, recursion);
        let bytes = request.to_vec().map_err(|e| failed(e.to_string()))?;
        let attempts = self.options.attempts.max(1);
        for _ in 0..attempts {
            self.sent.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let deadline = tokio::time::Instant::now() + self.options.timeout;
            match timeout_at(deadline, udp_exchange(server, &bytes, &request)).await {
                // Lost or late: the next attempt uses a fresh socket and id.
                Err(_elapsed) => {}
                Ok(Err(e)) => return Err(io_error(server, &e)),
                Ok(Ok(message)) if message.metadata.truncation => {
                    self.sent.fetch_add(1, Ordering::Relaxed);
                    let deadline = tokio::time::Instant::now() + self.options.timeout;
                    let message = timeout_at(deadline, tcp_exchange(server, &bytes, &request))
                        .await
                        .map_err(|_| failed("truncated over UDP and no TCP answer in time".into()))?
                        .map_err(|e| io_error(server, &e))?;
                    return Ok(Response {
                        message,
                        rtt: started.elapsed(),
                        tcp: true,
                    });
                }
                Ok(Ok(message)) => {
                    return Ok(Response {
                        message,
                        rtt: started.elapsed(),
                        tcp: false,
                    })
                }
            }
        }
        Err(QueryError::Timeout {
            server,
            attempts,
            per_attempt: self.options.timeout,
        })
    }
}

fn request(name: &Name, rtype: RecordType, recursion: bool) -> Message {
    let mut message = Message::query();
    message.metadata.recursion_desired = recursion;
    message.add_query(Query::query(name.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    message.set_edns(edns);
    message
}

fn io_error(server: SocketAddr, e: &io::Error) -> QueryError {
    // "Connection refused (os error 111)": the number adds nothing for an operator.
    let words = e.to_string();
    let detail = words
        .split_once(" (os error")
        .map_or(words.as_str(), |(text, _)| text)
        .to_ascii_lowercase();
    match e.kind() {
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::AddrNotAvailable => QueryError::Unreachable { server, detail },
        _ => QueryError::Failed { server, detail },
    }
}

/// Whether `answer` answers `request`: same id, a response, the same question (servers may
/// leave the question out of an error answer).
fn answers(request: &Message, answer: &Message) -> bool {
    if answer.metadata.id != request.metadata.id
        || answer.metadata.message_type != MessageType::Response
    {
        return false;
    }
    match (request.queries.first(), answer.queries.first()) {
        (Some(q), Some(a)) => q.name() == a.name() && q.query_type() == a.query_type(),
        (_, None) => true,
        (None, Some(_)) => false,
    }
}

fn unspecified(server: SocketAddr) -> SocketAddr {
    match server.ip() {
        IpAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        IpAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    }
}

/// One UDP attempt; waits (the caller bounds it) until a matching answer arrives. Strays
/// and spoofs with another id are skipped rather than failing the attempt.
async fn udp_exchange(server: SocketAddr, bytes: &[u8], request: &Message) -> io::Result<Message> {
    let socket = UdpSocket::bind(unspecified(server)).await?;
    // Connected, so the kernel filters other sources and reports ICMP unreachable to us.
    socket.connect(server).await?;
    socket.send(bytes).await?;
    let mut buf = vec![0_u8; 65_535];
    loop {
        let len = socket.recv(&mut buf).await?;
        let Some(raw) = buf.get(..len) else { continue };
        match Message::from_vec(raw) {
            Ok(message) if answers(request, &message) => return Ok(message),
            Err(e) if raw.get(..2) == Some(&request.metadata.id.to_be_bytes()[..]) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("undecodable answer: {e}"),
                ));
            }
            // Strays: another id or question, or noise.
            Ok(_) | Err(_) => {}
        }
    }
}

/// The same question over TCP (RFC 1035 §4.2.2: two-octet length prefix).
async fn tcp_exchange(server: SocketAddr, bytes: &[u8], request: &Message) -> io::Result<Message> {
    let mut stream = TcpStream::connect(server).await?;
    let len = u16::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "question too long"))?;
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).await?;
    let mut prefix = [0_u8; 2];
    stream.read_exact(&mut prefix).await?;
    let mut buf = vec![0_u8; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut buf).await?;
    let message = Message::from_vec(&buf).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("undecodable answer: {e}"),
        )
    })?;
    if answers(request, &message) {
        Ok(message)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the TCP answer does not match the question",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::ResponseCode;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn answers_match_id_kind_and_question() {
        let req = request(&name("a.example."), RecordType::TXT, false);
        let reply = |id: u16, qname: &str, qtype: RecordType, with_question: bool| {
            let mut m = Message::response(id, req.metadata.op_code);
            if with_question {
                m.add_query(Query::query(name(qname), qtype));
            }
            m
        };
        let id = req.metadata.id;
        let cases = [
            ("same", reply(id, "a.example.", RecordType::TXT, true), true),
            (
                "case differs",
                reply(id, "A.EXAMPLE.", RecordType::TXT, true),
                true,
            ),
            (
                "other id",
                reply(id.wrapping_add(1), "a.example.", RecordType::TXT, true),
                false,
            ),
            (
                "other name",
                reply(id, "b.example.", RecordType::TXT, true),
                false,
            ),
            (
                "other type",
                reply(id, "a.example.", RecordType::SOA, true),
                false,
            ),
            ("no question", reply(id, "", RecordType::TXT, false), true),
            ("a query, not a response", req.clone(), false),
        ];
        for (what, answer, want) in cases {
            assert_eq!(answers(&req, &answer), want, "{what}");
        }
        let mut err = reply(id, "", RecordType::TXT, false);
        err.metadata.response_code = ResponseCode::NotImp;
        assert!(answers(&req, &err));
    }

    #[test]
    fn requests_carry_rd_only_when_asked_and_advertise_edns() {
        for recursion in [false, true] {
            let req = request(&name("x.example."), RecordType::SOA, recursion);
            assert_eq!(req.metadata.recursion_desired, recursion);
            assert_eq!(req.edns.as_ref().map(Edns::max_payload), Some(EDNS_PAYLOAD));
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_at_once() {
        // Bind, learn the port, close: nothing listens there any more.
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let transport = Transport::new(QueryOptions::default());
        let started = Instant::now();
        let err = transport
            .ask(server, &name("x.example."), RecordType::TXT, false)
            .await
            .unwrap_err();
        assert!(matches!(err, QueryError::Unreachable { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(transport.sent(), 1);
    }

    #[tokio::test]
    async fn a_silent_server_times_out_after_every_attempt() {
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let server = silent.local_addr().unwrap();
        let options = QueryOptions {
            timeout: Duration::from_millis(100),
            attempts: 3,
            ..QueryOptions::default()
        };
        let transport = Transport::new(options);
        let started = Instant::now();
        let err = transport
            .ask(server, &name("x.example."), RecordType::TXT, false)
            .await
            .unwrap_err();
        assert!(
            matches!(err, QueryError::Timeout { attempts: 3, .. }),
            "{err}"
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(2),
            "{took:?}"
        );
        assert_eq!(transport.sent(), 3);
    }
}
