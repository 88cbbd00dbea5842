//! The acme-dns server under connection floods and at its limits, run as the real binary
//! (`certpilot acme-dns serve`) under a low soft descriptor limit: it raises the limit, keeps
//! answering `/health` and DNS over TCP behind 1,100 unfinished connections on each, refuses
//! beyond its caps with a log line, and closes unfinished and idle connections on time.
//! HEAD and CORS answers follow the reference server (rs/cors + httprouter).
//! Addresses: 127.0.150.0/24 (one address per test, fixed ports on it).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

const ZONE: &str = "auth.example.test";
/// Every network wait is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

/// The server binary as a child of `sh` with `ulimit -Sn 1024`, killed on drop.
struct Served {
    child: Child,
    log: PathBuf,
    http: SocketAddr,
    dns: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// Start on `ip` with `extra` TOML lines in `[http]` and `[dns]`.
    fn start(ip: &str, http_extra: &str, dns_extra: &str, top_extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let http: SocketAddr = format!("{ip}:8080").parse().expect("addr");
        let dns: SocketAddr = format!("{ip}:5300").parse().expect("addr");
        let config = dir.path().join("server.toml");
        std::fs::write(
            &config,
            format!(
                "zone = \"{ZONE}\"\ndatabase = \"acme.db\"\nnameservers = [\"ns1.{ZONE}\"]\n\
                 bcrypt_cost = 4\n{top_extra}\n\
                 [dns]\nlisten = [\"{dns}\"]\n{dns_extra}\n\
                 [http]\nlisten = \"{http}\"\n{http_extra}\n\
                 [soa]\nmname = \"ns1.{ZONE}\"\nrname = \"hostmaster.{ZONE}\"\n"
            ),
        )
        .expect("config");
        // The binary logs to <CERTPILOT_DIR>/state/certpilot.log.
        let home = dir.path().join("home");
        let log = home.join("state").join("certpilot.log");
        let child = Command::new("sh")
            .arg("-c")
            .arg("ulimit -Sn 1024 && exec \"$0\" acme-dns serve --config \"$1\"")
            .arg(env!("CARGO_BIN_EXE_certpilot"))
            .arg(&config)
            .env("CERTPILOT_LOG", "info")
            .env("CERTPILOT_DIR", &home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let served = Self {
            child,
            log,
            http,
            dns,
            _dir: dir,
        };
        wait_until("the server answers /health", || {
            served.health() == Some(200)
        });
        served
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Status of `GET /health` on a new connection, `None` when there is no answer.
    fn health(&self) -> Option<u16> {
        let reply = http_exchange(
            self.http,
            b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        )?;
        status_of(&reply)
    }

    /// The response code of an SOA query over a new TCP connection.
    fn dns_tcp_soa(&self) -> Option<ResponseCode> {
        let mut stream = connect(self.dns)?;
        let mut query = Message::query();
        query.add_query(Query::query(
            Name::from_ascii(format!("{ZONE}.")).expect("name"),
            RecordType::SOA,
        ));
        query.metadata.recursion_desired = false;
        let bytes = query.to_vec().expect("encode");
        let mut framed = u16::try_from(bytes.len())
            .expect("len")
            .to_be_bytes()
            .to_vec();
        framed.extend_from_slice(&bytes);
        stream.write_all(&framed).ok()?;
        let mut length = [0u8; 2];
        stream.read_exact(&mut length).ok()?;
        let mut reply = vec![0u8; usize::from(u16::from_be_bytes(length))];
        stream.read_exact(&mut reply).ok()?;
        Some(Message::from_vec(&reply).ok()?.metadata.response_code)
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn connect(addr: SocketAddr) -> Option<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, WAIT).ok()?;
    stream.set_read_timeout(Some(WAIT)).ok()?;
    stream.set_write_timeout(Some(WAIT)).ok()?;
    Some(stream)
}

/// Send `request` on a new connection and read until the server closes it.
fn http_exchange(addr: SocketAddr, request: &[u8]) -> Option<String> {
    let mut stream = connect(addr)?;
    stream.write_all(request).ok()?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).ok()?;
    Some(String::from_utf8_lossy(&reply).into_owned())
}

fn status_of(reply: &str) -> Option<u16> {
    reply.split(' ').nth(1)?.parse().ok()
}

/// Whether the server closes `stream` (EOF or reset) within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).expect("timeout");
    let mut byte = [0u8; 1];
    !matches!(stream.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        || e.kind() == std::io::ErrorKind::TimedOut)
}

/// Raise this test process's own soft descriptor limit: it holds 2,200 client sockets.
fn raise_own_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let target = limit.maximum.unwrap_or(65_536);
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(target),
            maximum: limit.maximum,
        },
    )
    .expect("raise the test's own descriptor limit");
    assert!(
        target >= 4096,
        "the hard descriptor limit ({target}) is too low for this test"
    );
}

fn soft_open_files(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("open files line");
    line.split_whitespace()
        .nth(3)
        .and_then(|v| v.parse().ok())
        .expect("soft limit")
}

#[test]
fn a_flood_of_unfinished_connections_leaves_health_and_dns_tcp_answering() {
    raise_own_limit();
    let served = Served::start(
        "127.0.150.1",
        "header_timeout_secs = 120",
        "tcp_timeout_secs = 120",
        "",
    );
    assert!(
        soft_open_files(served.child.id()) > 1024,
        "the server raised its soft limit above 1,024"
    );
    assert!(served.log().contains("raised the open-file limit"));
    let mut held = Vec::new();
    for _ in 0..1100 {
        let mut http = connect(served.http).expect("HTTP connection accepted");
        http.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n")
            .expect("half a request");
        let mut dns = connect(served.dns).expect("DNS/TCP connection accepted");
        dns.write_all(&[0]).expect("half a length prefix");
        held.push((http, dns));
    }
    assert_eq!(
        served.health(),
        Some(200),
        "/health behind 1,100 open requests"
    );
    assert_eq!(
        served.dns_tcp_soa(),
        Some(ResponseCode::NoError),
        "DNS/TCP behind 1,100 open connections"
    );
    // The flooding connections are still held open by the server (nothing was dropped).
    let (http, _) = held.last_mut().expect("held");
    assert!(!closed_within(http, Duration::from_millis(200)));
}

#[test]
fn caps_refuse_with_a_log_line_and_deadlines_close_slow_and_idle_connections() {
    let served = Served::start(
        "127.0.150.2",
        "header_timeout_secs = 1\nmax_connections = 3",
        "tcp_timeout_secs = 1\nmax_tcp_connections = 2",
        "",
    );
    // HTTP: three unfinished requests fill the cap; the fourth gets 503 and is closed.
    let mut held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = connect(served.http).expect("connect");
            s.write_all(b"GET /health HTTP/1.1\r\n").expect("write");
            s
        })
        .collect();
    wait_until("the cap refuses with 503", || {
        http_exchange(served.http, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            .and_then(|r| status_of(&r))
            == Some(503)
    });
    wait_until("the refusal is logged", || {
        served.log().contains("connections refused at the cap")
    });
    // The header deadline (1 s) closes them, and the server answers again.
    for stream in &mut held {
        assert!(closed_within(stream, WAIT), "unfinished header closed");
    }
    wait_until("/health answers after the deadline", || {
        served.health() == Some(200)
    });
    // A keep-alive connection idle after its answer is closed by the same deadline.
    let mut idle = connect(served.http).expect("connect");
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("request");
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).expect("answer");
    assert_eq!(&head, b"HTTP/1.1 200");
    assert!(closed_within(&mut idle, WAIT), "idle keep-alive closed");

    // DNS/TCP: two idle connections fill the cap; a third is closed at once.
    let mut dns_held: Vec<TcpStream> = (0..2)
        .map(|_| connect(served.dns).expect("connect"))
        .collect();
    wait_until("the DNS cap closes a third connection", || {
        served.dns_tcp_soa().is_none()
    });
    wait_until("the DNS refusal is logged", || {
        served.log().contains("DNS/TCP") && served.log().matches("refused at the cap").count() >= 2
    });
    for stream in &mut dns_held {
        assert!(
            closed_within(stream, WAIT),
            "idle DNS/TCP connection closed"
        );
    }
    wait_until("DNS/TCP answers after the idle deadline", || {
        served.dns_tcp_soa() == Some(ResponseCode::NoError)
    });
}

fn header<'a>(reply: &'a str, name: &str) -> Option<&'a str> {
    reply
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
}

#[test]
fn head_and_cors_answer_like_the_reference_server() {
    let served = Served::start(
        "127.0.150.3",
        "",
        "",
        "corsorigins = [\"https://*.allowed.example\"]",
    );
    let ask = |request: &str| http_exchange(served.http, request.as_bytes()).expect("answer");
    // httprouter has no HEAD route for /health: 405.
    let head = ask("HEAD /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(status_of(&head), Some(405), "{head}");
    // A preflight from an allowed origin: 204 with the origin, the method and Vary.
    let preflight = ask(
        "OPTIONS /update HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
         Origin: https://app.allowed.example\r\nAccess-Control-Request-Method: POST\r\n\r\n",
    );
    assert_eq!(status_of(&preflight), Some(204), "{preflight}");
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        Some("https://app.allowed.example")
    );
    assert!(header(&preflight, "access-control-allow-methods").is_some_and(|m| m.contains("POST")));
    assert!(header(&preflight, "vary").is_some_and(|v| v.to_ascii_lowercase().contains("origin")));
    // A preflight from another origin gets no allow-origin (the browser then refuses).
    let foreign = ask(
        "OPTIONS /update HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
         Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n\r\n",
    );
    assert_eq!(
        header(&foreign, "access-control-allow-origin"),
        None,
        "{foreign}"
    );
    // An actual request from an allowed origin carries the header; the answer is unchanged.
    let health = ask(
        "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\nOrigin: https://x.allowed.example\r\n\r\n",
    );
    assert_eq!(status_of(&health), Some(200));
    assert_eq!(
        header(&health, "access-control-allow-origin"),
        Some("https://x.allowed.example")
    );
    let plain = ask("GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(header(&plain, "access-control-allow-origin"), None);
}

#[test]
fn every_origin_is_allowed_by_default() {
    let served = Served::start("127.0.150.4", "", "", "");
    let reply = http_exchange(
        served.http,
        b"POST /update HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 0\r\n\
          Origin: https://anywhere.example\r\n\r\n",
    )
    .expect("answer");
    assert_eq!(status_of(&reply), Some(401), "{reply}");
    assert_eq!(header(&reply, "access-control-allow-origin"), Some("*"));
}
