//! The acme-dns server under connection floods and at its limits, run as the real binary
//! (`certpilot acme-dns serve`) under a low soft descriptor limit: it raises the limit, keeps
//! answering `/health` and DNS over TCP behind 1,100 unfinished connections on each, refuses
//! beyond its caps with a log line, and closes unfinished and idle connections on time.
//! HEAD and CORS answers follow the reference server (rs/cors + httprouter).
//! Addresses: 127.0.150.0/24 (one address per test, fixed ports on it).
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use hickory_proto::op::ResponseCode;

#[path = "common/acmedns_child.rs"]
mod acmedns_child;

use acmedns_child::{closed_within, connect, http_exchange, status_of, wait_until, Served, WAIT};

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
        "header_timeout_secs = 2\nmax_connections = 3",
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
    wait_until("the deadline is logged", || {
        served.log().contains("header or idle deadline")
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
    wait_until("the DNS idle deadline is logged", || {
        served.log().contains("closed at the idle deadline")
    });
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
