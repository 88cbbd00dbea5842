//! certpilot's acme-dns server against real parts: the server in-process on 127.0.0.1 port 0
//! with a temporary `SQLite` file, HTTP through reqwest or raw TCP, DNS through real UDP/TCP
//! packets (and kdig), `pyacmedns` from `PyPI` as a client no one here wrote. Every bullet of
//! `acme-dns-protocol.md` has a case; the fuzz corpus lives in `tests/corpus/acmedns/`.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use certpilot::server::{self, RunningServer, ServerConfig};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ZONE: &str = "auth.example.test";
/// Every network wait is bounded by this.
const WAIT: Duration = Duration::from_secs(5);

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A well-formed key that is not `password` (its last character changed).
fn wrong_key(password: &str) -> String {
    let last = if password.ends_with('x') { 'y' } else { 'x' };
    format!("{}{last}", &password[..39])
}

/// A 43-character TXT value (the shape of an ACME key authorization digest), unique per `n`.
fn txt(n: usize) -> String {
    format!("{n:0>43}")
}

// ---------------------------------------------------------------------------------------------
// Harness

struct Harness {
    server: Option<RunningServer>,
    dir: tempfile::TempDir,
    base: String,
    http: reqwest::Client,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct Account {
    username: String,
    password: String,
    fulldomain: String,
    subdomain: String,
    allowfrom: Vec<String>,
}

fn test_config(dir: &Path) -> ServerConfig {
    let mut config = ServerConfig::new(ZONE, dir.join("acme-dns.db"));
    // Cost 4 keeps the suite fast; the timing test uses the reference cost.
    config.bcrypt_cost = 4;
    config.records.push(server::StaticRecord {
        name: format!("ns1.{ZONE}"),
        rtype: "A".into(),
        value: "192.0.2.53".parse().expect("ip"),
        ttl: None,
    });
    config
}

fn client(follow_redirects: bool) -> reqwest::Client {
    let policy = if follow_redirects {
        reqwest::redirect::Policy::limited(3)
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder()
        .no_proxy()
        .redirect(policy)
        .timeout(WAIT)
        .build()
        .expect("client")
}

impl Harness {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = test_config(dir.path());
        tweak(&mut config);
        let server = server::start(config).await.expect("server starts");
        Self {
            base: format!("http://{}", server.http_addr()),
            server: Some(server),
            dir,
            http: client(false),
        }
    }

    fn server(&self) -> &RunningServer {
        self.server.as_ref().expect("running")
    }

    fn udp(&self) -> SocketAddr {
        self.server().dns_udp_addrs()[0]
    }

    fn tcp(&self) -> SocketAddr {
        self.server().dns_tcp_addrs()[0]
    }

    async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("clean shutdown");
        }
    }

    /// Restart on the same database (new ports).
    async fn restart(&mut self) {
        self.stop().await;
        let server = server::start(test_config(self.dir.path()))
            .await
            .expect("restart");
        self.base = format!("http://{}", server.http_addr());
        self.server = Some(server);
    }

    async fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut request = self.http.post(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Reply::from(request.body(body.to_owned()).send().await.expect("request")).await
    }

    async fn get(&self, path: &str) -> Reply {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    async fn register(&self, body: &str) -> Account {
        let reply = self.post("/register", &[], body).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        serde_json::from_str(&reply.body).expect("registration JSON")
    }

    async fn update(&self, account: &Account, subdomain: &str, value: &str) -> Reply {
        let body = format!(r#"{{"subdomain":"{subdomain}","txt":"{value}"}}"#);
        self.post("/update", &creds(account), &body).await
    }

    /// (accounts, txt rows, `integrity_check`) read straight from the `SQLite` file.
    fn db_state(&self) -> (i64, i64, String) {
        db_state(&self.dir.path().join("acme-dns.db"))
    }
}

fn db_state(path: &Path) -> (i64, i64, String) {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open db");
    let count = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    };
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    (count("accounts"), count("txt"), integrity)
}

fn creds(account: &Account) -> [(&'static str, &str); 2] {
    [
        ("X-Api-User", account.username.as_str()),
        ("X-Api-Key", account.password.as_str()),
    ]
}

#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: String,
    location: String,
    allow: String,
    body: String,
}

impl Reply {
    async fn from(response: reqwest::Response) -> Self {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        Self {
            status: response.status().as_u16(),
            content_type: header("content-type"),
            location: header("location"),
            allow: header("allow"),
            body: String::new(),
        }
        .with_body(response.text().await.expect("body"))
    }

    fn with_body(mut self, body: String) -> Self {
        self.body = body;
        self
    }

    fn assert(&self, status: u16, body: &str, case: &str) {
        assert_eq!((self.status, self.body.as_str()), (status, body), "{case}");
    }
}

// ---------------------------------------------------------------------------------------------
// DNS client (real packets)

fn query(name: &str, qtype: RecordType) -> Message {
    let mut message = Message::query();
    message.metadata.recursion_desired = false;
    message.add_query(Query::query(Name::from_ascii(name).expect("name"), qtype));
    message
}

async fn exchange(addr: SocketAddr, message: &Message, tcp: bool) -> Message {
    let bytes = message.to_vec().expect("encode");
    let reply = tokio::time::timeout(WAIT, async {
        if tcp {
            tcp_exchange(addr, &bytes).await
        } else {
            udp_exchange(addr, &bytes).await
        }
    })
    .await
    .expect("DNS answer within the deadline");
    let reply = Message::from_vec(&reply).expect("decodable reply");
    assert_eq!(reply.metadata.id, message.metadata.id);
    assert_eq!(reply.metadata.message_type, MessageType::Response);
    reply
}

async fn udp_exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    socket.send_to(bytes, addr).await.expect("send");
    let mut buf = vec![0u8; 4096];
    let n = socket.recv(&mut buf).await.expect("recv");
    buf.truncate(n);
    buf
}

async fn tcp_exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let len = u16::try_from(bytes.len()).expect("small");
    stream.write_all(&len.to_be_bytes()).await.expect("write");
    stream.write_all(bytes).await.expect("write");
    let len = stream.read_u16().await.expect("length");
    let mut buf = vec![0u8; usize::from(len)];
    stream.read_exact(&mut buf).await.expect("read");
    buf
}

fn txt_values(reply: &Message) -> Vec<String> {
    let mut values: Vec<String> = reply
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(txt) => Some(txt.to_string()),
            _ => None,
        })
        .collect();
    values.sort();
    values
}

fn has_soa_authority(reply: &Message) -> bool {
    reply.authorities.iter().any(|r| {
        r.record_type() == RecordType::SOA
            && r.name.to_string().eq_ignore_ascii_case(&format!("{ZONE}."))
    })
}

async fn served_txt(h: &Harness, fulldomain: &str) -> Vec<String> {
    txt_values(
        &exchange(
            h.udp(),
            &query(&format!("{fulldomain}."), RecordType::TXT),
            false,
        )
        .await,
    )
}

// ---------------------------------------------------------------------------------------------
// HTTP API: the error matrix of acme-dns-protocol.md

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_answers_like_the_reference_server() {
    let h = Harness::start().await;
    let reply = h.post("/register", &[], "{}").await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.content_type, "application/json");
    // Compact JSON in the reference order.
    let order: Vec<usize> = [
        "\"username\":",
        "\"password\":",
        "\"fulldomain\":",
        "\"subdomain\":",
        "\"allowfrom\":[]}",
    ]
    .iter()
    .map(|key| {
        reply
            .body
            .find(key)
            .unwrap_or_else(|| panic!("{key} in {}", reply.body))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", reply.body);
    assert!(reply.body.starts_with("{\"username\":\"") && !reply.body.contains(": "));
    let account: Account = serde_json::from_str(&reply.body).expect("json");
    for id in [&account.username, &account.subdomain] {
        let parsed = uuid::Uuid::parse_str(id).expect("uuid");
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(id, &parsed.hyphenated().to_string(), "canonical lowercase");
    }
    assert_ne!(account.username, account.subdomain);
    assert_eq!(account.password.len(), 40);
    assert!(account
        .password
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(account.fulldomain, format!("{}.{ZONE}", account.subdomain));
    assert!(account.allowfrom.is_empty());

    let empty = h.post("/register", &[], "").await;
    assert_eq!(empty.status, 201, "an empty body registers");
    let listed = h
        .register(r#"{"allowfrom":["192.0.2.0/24","[::1]/128"]}"#)
        .await;
    assert_eq!(listed.allowfrom, ["192.0.2.0/24", "::1/128"]);
    let go = h
        .register(r#"{"AllowFrom":["127.0.0.1/32"],"Extra":1}"#)
        .await;
    assert_eq!(go.allowfrom, ["127.0.0.1/32"], "goacmedns sends AllowFrom");

    let malformed = r#"{"error": "malformed_json_payload"}"#;
    let cases = [
        (
            r#"{"allowfrom":["1.2.3.4"]}"#,
            400,
            r#"{"error": "invalid_allowfrom_cidr"}"#,
        ),
        (
            r#"{"allowfrom":["192.0.2.0/24","not-a-cidr"]}"#,
            400,
            r#"{"error": "invalid_allowfrom_cidr"}"#,
        ),
        (
            r#"{"allowfrom":["192.0.2.0/33"]}"#,
            400,
            r#"{"error": "invalid_allowfrom_cidr"}"#,
        ),
        ("{", 400, malformed),
        ("not json", 400, malformed),
        ("{} {}", 400, malformed),
        (r#"{"allowfrom":[]} trailing"#, 400, malformed),
        (r#"{"allowfrom":"192.0.2.0/24"}"#, 400, malformed),
        (r#"{"allowfrom":[1]}"#, 400, malformed),
        ("[]", 400, malformed),
    ];
    for (body, status, expected) in cases {
        let reply = h.post("/register", &[], body).await;
        reply.assert(status, expected, body);
        assert_eq!(reply.content_type, "application/json", "{body}");
    }
    let (accounts, rows, integrity) = h.db_state();
    assert_eq!(
        (accounts, rows, integrity.as_str()),
        (4, 8, "ok"),
        "only the 201s stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_can_be_disabled() {
    let h = Harness::start_with(|c| c.disable_registration = true).await;
    for body in ["{}", ""] {
        let reply = h.post("/register", &[], body).await;
        reply.assert(404, "404 page not found\n", "disabled");
        assert_eq!(reply.content_type, "text/plain; charset=utf-8");
    }
    h.post("/register/", &[], "{}")
        .await
        .assert(404, "404 page not found\n", "no redirect");
    h.get("/health")
        .await
        .assert(200, "", "health still served");
    assert_eq!(h.db_state().0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_refuses_like_the_reference_server() {
    let h = Harness::start().await;
    let a = h.register("{}").await;
    let b = h.register("{}").await;
    let forbidden = r#"{"error": "forbidden"}"#;
    let bad_txt = r#"{"error": "bad_txt"}"#;
    let good = |n| format!(r#"{{"subdomain":"{}","txt":"{}"}}"#, a.subdomain, txt(n));

    let reply = h.update(&a, &a.subdomain, &txt(1)).await;
    reply.assert(200, &format!("{{\"txt\": \"{}\"}}", txt(1)), "good update");
    assert_eq!(reply.content_type, "application/json");

    for (value, case) in [
        ("a".repeat(42), "42 chars"),
        ("a".repeat(44), "44 chars"),
        (format!("{}=", "a".repeat(42)), "padding"),
        (format!("{}.", "a".repeat(42)), "dot"),
        (format!("{}é", "a".repeat(42)), "non-ASCII"),
        (String::new(), "empty"),
    ] {
        h.update(&a, &a.subdomain, &value)
            .await
            .assert(400, bad_txt, case);
    }
    let no_txt = format!(r#"{{"subdomain":"{}"}}"#, a.subdomain);
    h.post("/update", &creds(&a), &no_txt)
        .await
        .assert(400, bad_txt, "txt missing");

    let wrong_key = wrong_key(&a.password);
    let stranger = uuid::Uuid::new_v4().to_string();
    let header_cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("X-Api-User", &a.username), ("X-Api-Key", &wrong_key)],
            "wrong key",
        ),
        (
            vec![
                ("X-Api-User", &a.username),
                ("X-Api-Key", &a.password[..39]),
            ],
            "short key",
        ),
        (
            vec![("X-Api-User", &a.username), ("X-Api-Key", &b.password)],
            "other account's key",
        ),
        (
            vec![("X-Api-User", &stranger), ("X-Api-Key", &a.password)],
            "unknown user",
        ),
        (
            vec![("X-Api-User", "not-a-uuid"), ("X-Api-Key", &a.password)],
            "non-UUID user",
        ),
        (vec![("X-Api-Key", &a.password)], "user header missing"),
        (vec![("X-Api-User", &a.username)], "key header missing"),
        (vec![], "both headers missing"),
    ];
    for (headers, case) in &header_cases {
        h.post("/update", headers, &good(2))
            .await
            .assert(401, forbidden, case);
    }
    let body_cases = [
        (
            format!(r#"{{"subdomain":"{}","txt":"{}"}}"#, b.subdomain, txt(2)),
            "other account's subdomain",
        ),
        (
            format!(
                r#"{{"subdomain":"{}","txt":"{}"}}"#,
                a.subdomain.to_uppercase(),
                txt(2)
            ),
            "subdomain in other case",
        ),
        (
            format!(r#"{{"subdomain":"{}","txt":"{}""#, a.subdomain, txt(2)),
            "malformed JSON",
        ),
        (String::new(), "empty body"),
        (format!(r#"["{}"]"#, a.subdomain), "not an object"),
    ];
    for (body, case) in &body_cases {
        h.post("/update", &creds(&a), body)
            .await
            .assert(401, forbidden, case);
    }
    // Nothing refused reached the slots.
    assert_eq!(served_txt(&h, &a.fulldomain).await, [txt(1)]);
    assert!(served_txt(&h, &b.fulldomain).await.is_empty());
    assert_eq!(h.db_state(), (2, 4, "ok".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_accepts_what_the_reference_server_accepts() {
    let h = Harness::start().await;
    let a = h.register("{}").await;
    let b = h.register("{}").await;
    let good = |n| format!(r#"{{"subdomain":"{}","txt":"{}"}}"#, a.subdomain, txt(n));
    let upper_user = a.username.to_uppercase();
    // Accepted variants (goacmedns casing, extra fields, trailing data, any Content-Type,
    // the username in upper case: the reference server parses it as a UUID).
    let ok = |n| format!("{{\"txt\": \"{}\"}}", txt(n));
    let goacmedns = format!(r#"{{"SubDomain":"{}","Txt":"{}"}}"#, a.subdomain, txt(3));
    h.post("/update", &creds(&a), &goacmedns)
        .await
        .assert(200, &ok(3), "SubDomain/Txt");
    let extra = format!(
        r#"{{"subdomain":"{}","txt":"{}","ttl":60,"x":{{"y":[1]}}}}"#,
        a.subdomain,
        txt(4)
    );
    h.post("/update", &creds(&a), &extra)
        .await
        .assert(200, &ok(4), "extra fields");
    let trailing = format!("{} trailing", good(5));
    h.post("/update", &creds(&a), &trailing)
        .await
        .assert(200, &ok(5), "decoder reads one value");
    let mut typed = creds(&a).to_vec();
    typed.push(("Content-Type", "text/plain"));
    h.post("/update", &typed, &good(6))
        .await
        .assert(200, &ok(6), "Content-Type ignored");
    let upper = [
        ("X-Api-User", upper_user.as_str()),
        ("X-Api-Key", a.password.as_str()),
    ];
    h.post("/update", &upper, &good(7))
        .await
        .assert(200, &ok(7), "user in upper case");

    // Only the last two good values are served; B was never touched.
    assert_eq!(served_txt(&h, &a.fulldomain).await, [txt(6), txt(7)]);
    assert!(served_txt(&h, &b.fulldomain).await.is_empty());
    assert_eq!(h.db_state(), (2, 4, "ok".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowfrom_is_checked_against_the_tcp_peer() {
    let h = Harness::start().await;
    let forbidden = r#"{"error": "forbidden"}"#;
    for (allowfrom, status) in [
        (r#"["192.0.2.0/24"]"#, 401),
        (r#"["::1/128"]"#, 401),
        (r#"["127.0.0.0/8"]"#, 200),
        (r#"["192.0.2.0/24","127.0.0.1/32"]"#, 200),
        (r#"["::ffff:127.0.0.1/128"]"#, 200),
    ] {
        let account = h.register(&format!(r#"{{"allowfrom":{allowfrom}}}"#)).await;
        let reply = h.update(&account, &account.subdomain, &txt(1)).await;
        assert_eq!(reply.status, status, "{allowfrom}: {}", reply.body);
        if status == 401 {
            assert_eq!(reply.body, forbidden);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_forwarded_header_replaces_the_peer() {
    type Case<'a> = (&'a Account, Vec<(&'a str, &'a str)>, u16, &'a str);
    fn with<'a>(a: &'a Account, xff: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut headers = creds(a).to_vec();
        headers.push(("X-Forwarded-For", xff));
        headers
    }
    let h = Harness::start_with(|c| c.use_forwarded_header = Some("X-Forwarded-For".into())).await;
    let behind = h.register(r#"{"allowfrom":["192.0.2.0/24"]}"#).await;
    let local = h.register(r#"{"allowfrom":["127.0.0.0/8"]}"#).await;
    let open = h.register("{}").await;
    let body = |a: &Account| format!(r#"{{"subdomain":"{}","txt":"{}"}}"#, a.subdomain, txt(1));
    let cases: Vec<Case> = vec![
        (
            &behind,
            with(&behind, "203.0.113.9, 192.0.2.7"),
            200,
            "any listed address",
        ),
        (
            &behind,
            with(&behind, "203.0.113.9"),
            401,
            "no listed address matches",
        ),
        (&behind, creds(&behind).to_vec(), 401, "header missing"),
        (
            &local,
            creds(&local).to_vec(),
            401,
            "the peer is not consulted",
        ),
        (&local, with(&local, " 127.0.0.1 "), 200, "trimmed"),
        (&open, creds(&open).to_vec(), 200, "no allowfrom: anyone"),
    ];
    for (account, headers, status, case) in cases {
        let reply = h.post("/update", &headers, &body(account)).await;
        assert_eq!(reply.status, status, "{case}: {}", reply.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_methods_and_redirects() {
    let h = Harness::start().await;
    let health = h.get("/health").await;
    health.assert(200, "", "health");
    let not_allowed = "Method Not Allowed\n";
    for (method, path) in [
        ("POST", "/health"),
        ("GET", "/register"),
        ("GET", "/update"),
        ("PUT", "/update"),
        ("DELETE", "/register"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = h
            .http
            .request(method.clone(), format!("{}{path}", h.base))
            .send()
            .await
            .expect("send");
        let reply = Reply::from(response).await;
        reply.assert(405, not_allowed, &format!("{method} {path}"));
        assert!(!reply.allow.is_empty(), "Allow header on {method} {path}");
    }
    for path in ["/", "/nope", "/register/x", "/healthz"] {
        let reply = h.get(path).await;
        reply.assert(404, "404 page not found\n", path);
        assert_eq!(reply.content_type, "text/plain; charset=utf-8");
    }
    for (path, to) in [
        ("/register/", "/register"),
        ("//register", "/register"),
        ("/update/", "/update"),
        ("/Register", "/register"),
    ] {
        let reply = h.post(path, &[], "{}").await;
        assert_eq!(
            (reply.status, reply.location.as_str()),
            (307, to),
            "POST {path}"
        );
    }
    let reply = h.get("/health/").await;
    assert_eq!(
        (reply.status, reply.location.as_str()),
        (301, "/health"),
        "GET redirect"
    );
    h.post("/health/", &[], "")
        .await
        .assert(404, "404 page not found\n", "no POST route");
    // A client that follows the 307 keeps method and body, and registers.
    let follow = client(true);
    let response = follow
        .post(format!("{}//register", h.base))
        .body("{}")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 201);
}

/// python-requests follows a 307 on the same keep-alive connection: the server must read the
/// body it ignores and keep the connection open (pyacmedns failed intermittently without it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_or_error_keeps_the_connection_usable() {
    let h = Harness::start().await;
    let mut stream = tokio::net::TcpStream::connect(h.server().http_addr())
        .await
        .expect("connect");
    let body = r#"{"allowfrom":["127.0.0.1/32"]}"#;
    for first in [
        "POST //register",
        "POST /register/",
        "GET /register",
        "POST /nowhere",
    ] {
        let request = format!(
            "{first} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        // Head and body in two writes, as http.client sends them; a server that answers
        // before the body arrives and then cannot drain it closes the connection.
        stream.write_all(request.as_bytes()).await.expect("write");
        let early = tokio::time::timeout(Duration::from_millis(100), read_head(&mut stream)).await;
        stream.write_all(body.as_bytes()).await.expect("write");
        let head = match early {
            Ok(head) => head,
            Err(_) => read_head(&mut stream).await,
        };
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().expect("length"))
            })
            .unwrap_or(0);
        let mut rest = vec![0u8; length];
        stream.read_exact(&mut rest).await.expect("body");
        assert!(!head.contains("onnection: close"), "{first}: {head}");
    }
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head:?}");
}

/// The response head, up to the empty line, within the deadline.
async fn read_head(stream: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    tokio::time::timeout(WAIT, async {
        while !head.ends_with(b"\r\n\r\n") {
            let byte = stream.read_u8().await.expect("connection still open");
            head.push(byte);
        }
    })
    .await
    .expect("response head within the deadline");
    String::from_utf8_lossy(&head).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_cost_one_bcrypt_comparison() {
    let h = Harness::start_with(|c| c.bcrypt_cost = 10).await;
    let a = h.register("{}").await;
    let stranger = uuid::Uuid::new_v4().to_string();
    let wrong_key = wrong_key(&a.password);
    let body = format!(r#"{{"subdomain":"{}","txt":"{}"}}"#, a.subdomain, txt(1));
    let pairs = [
        (a.username.as_str(), wrong_key.as_str()),
        (stranger.as_str(), a.password.as_str()),
        (a.username.as_str(), "short"),
    ];
    let times = fastest_401s(&h, &pairs, &body).await;
    let (wrong, unknown, malformed) = (times[0], times[1], times[2]);
    // Same bcrypt work for a wrong key and an unknown user; a malformed key needs none.
    assert!(
        unknown * 2 > wrong && wrong * 2 > unknown,
        "wrong key {wrong:?}, unknown user {unknown:?}"
    );
    assert!(
        malformed * 3 < wrong,
        "malformed {malformed:?} vs wrong key {wrong:?}"
    );
}

/// The fastest of seven refused updates per credential pair, the pairs interleaved: other
/// tests only ever add time, so the minimum is the cost of the request itself.
async fn fastest_401s(h: &Harness, pairs: &[(&str, &str)], body: &str) -> Vec<Duration> {
    let mut fastest = vec![Duration::MAX; pairs.len()];
    for _ in 0..7 {
        for (i, (user, key)) in pairs.iter().enumerate() {
            let headers = [("X-Api-User", *user), ("X-Api-Key", *key)];
            let started = Instant::now();
            let reply = h.post("/update", &headers, body).await;
            let elapsed = started.elapsed();
            assert_eq!(reply.status, 401);
            fastest[i] = fastest[i].min(elapsed);
        }
    }
    fastest
}

// ---------------------------------------------------------------------------------------------
// DNS

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn txt_slots_are_served_over_udp_and_tcp() {
    let h = Harness::start().await;
    let a = h.register("{}").await;
    let name = format!("{}.", a.fulldomain);
    for tcp in [false, true] {
        let addr = if tcp { h.tcp() } else { h.udp() };
        let reply = exchange(addr, &query(&name, RecordType::TXT), tcp).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NXDomain,
            "before the first update"
        );
        assert!(reply.metadata.authoritative && has_soa_authority(&reply));
    }
    assert_eq!(h.update(&a, &a.subdomain, &txt(1)).await.status, 200);
    let reply = exchange(h.udp(), &query(&name, RecordType::TXT), false).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.metadata.authoritative);
    assert_eq!(txt_values(&reply), [txt(1)]);
    assert!(reply.answers.iter().all(|r| r.ttl == 1));
    // Three updates in well under a second: the finer clock evicts the right one.
    for n in 2..=3 {
        assert_eq!(h.update(&a, &a.subdomain, &txt(n)).await.status, 200);
    }
    for tcp in [false, true] {
        let addr = if tcp { h.tcp() } else { h.udp() };
        let reply = exchange(addr, &query(&name, RecordType::TXT), tcp).await;
        assert_eq!(txt_values(&reply), [txt(2), txt(3)], "tcp={tcp}");
        assert_eq!(reply.answers.len(), 2);
    }
    // 0x20: any case matches and the answer keeps the query's spelling.
    let mixed: String = name
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    let reply = exchange(h.udp(), &query(&mixed, RecordType::TXT), false).await;
    assert_eq!(txt_values(&reply), [txt(2), txt(3)]);
    assert!(reply.answers.iter().all(|r| r.name.to_string() == mixed));
    assert_eq!(reply.queries[0].name().to_string(), mixed);
    // Other types at an account name: NXDOMAIN with the SOA.
    for qtype in [
        RecordType::A,
        RecordType::AAAA,
        RecordType::CNAME,
        RecordType::ANY,
    ] {
        let reply = exchange(h.udp(), &query(&name, qtype), false).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NXDomain,
            "{qtype}"
        );
        assert!(
            reply.metadata.authoritative && has_soa_authority(&reply),
            "{qtype}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zone_is_authoritative_and_nothing_else() {
    let h = Harness::start().await;
    let apex = format!("{ZONE}.");
    let soa = exchange(h.udp(), &query(&apex, RecordType::SOA), false).await;
    assert_eq!(soa.metadata.response_code, ResponseCode::NoError);
    assert!(soa.metadata.authoritative);
    assert_eq!(soa.answers.len(), 1);
    let ns = exchange(h.tcp(), &query(&apex, RecordType::NS), true).await;
    assert_eq!(ns.answers[0].data.to_string(), format!("ns1.{ZONE}."));
    let a = exchange(
        h.udp(),
        &query(&format!("NS1.{ZONE}."), RecordType::A),
        false,
    )
    .await;
    assert_eq!(a.answers[0].data.to_string(), "192.0.2.53");
    let nodata = exchange(h.udp(), &query(&apex, RecordType::TXT), false).await;
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(
        nodata.answers.is_empty() && has_soa_authority(&nodata),
        "NODATA with SOA"
    );
    for name in [
        format!("unknown.{ZONE}."),
        format!("a.b.{ZONE}."),
        format!("x.ns1.{ZONE}."),
    ] {
        let reply = exchange(h.udp(), &query(&name, RecordType::TXT), false).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NXDomain,
            "{name}"
        );
        assert!(
            reply.metadata.authoritative && has_soa_authority(&reply),
            "{name}"
        );
    }
    for name in ["example.test.", "test.", "other.example.", "."] {
        let reply = exchange(h.udp(), &query(name, RecordType::TXT), false).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::Refused,
            "{name}"
        );
        assert!(
            !reply.metadata.authoritative && reply.answers.is_empty(),
            "{name}"
        );
    }
    let mut update = query(&apex, RecordType::SOA);
    update.metadata.op_code = OpCode::Update;
    let reply = exchange(h.udp(), &update, false).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NotImp);
    // EDNS0 answered in kind; an unknown EDNS version gets BADVERS.
    let mut edns_query = query(&apex, RecordType::SOA);
    edns_query.set_edns(Edns::new());
    let reply = exchange(h.udp(), &edns_query, false).await;
    assert!(reply.edns.is_some(), "OPT in the reply");
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    let mut future = Edns::new();
    future.set_version(1);
    edns_query.set_edns(future);
    let reply = exchange(h.udp(), &edns_query, false).await;
    assert_eq!(u16::from(reply.metadata.response_code), 16, "BADVERS");
    let mut two = query(&apex, RecordType::SOA);
    two.add_query(Query::query(
        Name::from_ascii(&apex).expect("name"),
        RecordType::NS,
    ));
    assert_eq!(
        exchange(h.udp(), &two, false).await.metadata.response_code,
        ResponseCode::FormErr
    );
}

/// kdig (knot-dnsutils) as an independent DNS client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kdig_sees_the_records() {
    if Command::new("kdig").arg("-V").output().is_err() {
        assert!(
            !in_ci(),
            "kdig is required in CI (scripts/test-deps.sh installs knot-dnsutils)"
        );
        eprintln!("SKIP: kdig not installed");
        return;
    }
    let h = Harness::start().await;
    let a = h.register("{}").await;
    for n in 1..=2 {
        assert_eq!(h.update(&a, &a.subdomain, &txt(n)).await.status, 200);
    }
    let udp = h.udp();
    for transport in ["+notcp", "+tcp"] {
        let name = a.fulldomain.to_uppercase();
        let output = tokio::task::spawn_blocking(move || {
            Command::new("kdig")
                .args([
                    format!("@{}", udp.ip()),
                    "-p".into(),
                    udp.port().to_string(),
                ])
                .args([transport, "+edns", "+timeout=2", "+retry=1", "TXT", &name])
                .output()
                .expect("kdig runs")
        })
        .await
        .expect("join");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("status: NOERROR"), "{transport}: {text}");
        assert!(text.contains("Flags: qr aa"), "{transport}: {text}");
        assert!(
            text.contains(&txt(1)) && text.contains(&txt(2)),
            "{transport}: {text}"
        );
        assert!(text.contains("EDNS PSEUDOSECTION"), "{transport}: {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Persistence

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_accounts_and_records() {
    let mut h = Harness::start().await;
    let a = h.register(r#"{"allowfrom":["127.0.0.0/8"]}"#).await;
    let b = h.register("{}").await;
    for n in 1..=3 {
        assert_eq!(h.update(&a, &a.subdomain, &txt(n)).await.status, 200);
    }
    assert_eq!(h.update(&b, &b.subdomain, &txt(9)).await.status, 200);
    h.restart().await;
    assert_eq!(served_txt(&h, &a.fulldomain).await, [txt(2), txt(3)]);
    assert_eq!(served_txt(&h, &b.fulldomain).await, [txt(9)]);
    // Logins still work, and the slot order survived: the next update evicts txt(2).
    assert_eq!(h.update(&a, &a.subdomain, &txt(4)).await.status, 200);
    assert_eq!(served_txt(&h, &a.fulldomain).await, [txt(3), txt(4)]);
    let wrong = Account {
        password: wrong_key(&a.password),
        ..a.clone()
    };
    assert_eq!(h.update(&wrong, &a.subdomain, &txt(5)).await.status, 401);
    h.stop().await;
    assert_eq!(h.db_state(), (2, 4, "ok".into()));
}

// ---------------------------------------------------------------------------------------------
// Fuzzing (proptest) and the kept corpus

/// A server on its own runtime, for the synchronous proptest bodies.
struct Background {
    runtime: tokio::runtime::Runtime,
    h: Harness,
    account: Account,
}

impl Background {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (h, account) = runtime.block_on(async {
            let h = Harness::start().await;
            let account = h.register("{}").await;
            (h, account)
        });
        Self {
            runtime,
            h,
            account,
        }
    }

    fn post_raw(&self, path: &str, headers: &[(String, Vec<u8>)], body: Vec<u8>) -> u16 {
        self.runtime.block_on(async {
            let mut request = self
                .h
                .http
                .post(format!("{}{path}", self.h.base))
                .body(body);
            for (name, value) in headers {
                if let Ok(value) = reqwest::header::HeaderValue::from_bytes(value) {
                    request = request.header(name.as_str(), value);
                }
            }
            request
                .send()
                .await
                .expect("server answers")
                .status()
                .as_u16()
        })
    }

    fn alive(&self) {
        self.runtime.block_on(async {
            self.h.get("/health").await.assert(200, "", "still alive");
            let reply = exchange(
                self.h.udp(),
                &query(&format!("{ZONE}."), RecordType::SOA),
                false,
            )
            .await;
            assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
        });
    }
}

fn json_fragment() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("subdomain"),
        Just("SubDomain"),
        Just("txt"),
        Just("TXT"),
        Just("allowfrom"),
        Just("AllowFrom"),
        Just("username"),
        Just("password"),
        Just("x"),
    ];
    let value = prop_oneof![
        Just("null".to_string()),
        Just("1".to_string()),
        Just("[]".to_string()),
        Just(r#"["127.0.0.1/32"]"#.to_string()),
        Just(r#"["[::1]/128", null]"#.to_string()),
        "[A-Za-z0-9_=./-]{0,50}".prop_map(|s| format!("{s:?}")),
    ];
    prop::collection::vec((key, value), 0..4).prop_map(|pairs| {
        let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
        format!("{{{}}}", inner.join(","))
    })
}

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        json_fragment().prop_map(String::into_bytes),
        (json_fragment(), "[ \\]\\[{}a\"]{0,3}").prop_map(|(j, t)| format!("{j}{t}").into_bytes()),
    ]
}

fn proptest_config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(prop::test_runner::FileFailurePersistence::Direct(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/corpus/acmedns/proptest-regressions.txt"
            ),
        ))),
        ..ProptestConfig::default()
    }
}

#[test]
fn random_http_requests_never_break_the_server_or_the_database() {
    let bg = Background::start();
    let account = bg.account.clone();
    let user_values = vec![
        account.username.clone(),
        account.username.to_uppercase(),
        uuid::Uuid::new_v4().to_string(),
        "garbage".to_string(),
        String::new(),
    ];
    let key_values = vec![
        account.password.clone(),
        "k".repeat(40),
        "short".into(),
        String::new(),
    ];
    let registered = std::cell::Cell::new(1);
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config(200));
    let strategy = (
        prop::bool::ANY,
        body_strategy(),
        prop::sample::select(user_values),
        prop::sample::select(key_values),
        prop::collection::vec(any::<u8>(), 0..20),
    );
    runner
        .run(&strategy, |(to_register, body, user, key, junk_header)| {
            let headers = vec![
                ("X-Api-User".to_string(), user.into_bytes()),
                ("X-Api-Key".to_string(), key.into_bytes()),
                ("X-Forwarded-For".to_string(), junk_header),
            ];
            let path = if to_register { "/register" } else { "/update" };
            let status = bg.post_raw(path, &headers, body);
            prop_assert!(matches!(status, 200 | 201 | 400 | 401), "{path}: {status}");
            if status == 201 {
                registered.set(registered.get() + 1);
            }
            Ok(())
        })
        .expect("no input breaks the API");
    bg.alive();
    let (accounts, rows, integrity) = bg.h.db_state();
    let registered = registered.get();
    assert_eq!(
        (accounts, rows, integrity.as_str()),
        (registered, 2 * registered, "ok")
    );
}

#[test]
fn raw_garbage_on_the_http_port_is_survived() {
    let bg = Background::start();
    let addr = bg.h.server().http_addr();
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config(48));
    let strategy = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        "(POST|GET|PUT) /(update|register)?/? HTTP/1\\.[01]\r\n(Content-Length: [0-9]{1,6}\r\n)?\r\n[a-z{}]{0,20}"
            .prop_map(String::into_bytes),
    ];
    runner
        .run(&strategy, |bytes| {
            bg.runtime.block_on(async {
                let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
                let mut sink = Vec::new();
                let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut sink)).await;
            });
            Ok(())
        })
        .expect("no panic");
    bg.alive();
}

/// Valid queries with bytes flipped, cut or appended, plus pure noise.
fn dns_packet() -> impl Strategy<Value = Vec<u8>> {
    let base = (
        prop::sample::select(vec![
            format!("x.{ZONE}."),
            format!("{ZONE}."),
            "00000000-0000-4000-8000-000000000000.auth.example.test.".to_string(),
            "example.org.".to_string(),
        ]),
        prop::sample::select(vec![
            RecordType::TXT,
            RecordType::SOA,
            RecordType::A,
            RecordType::ANY,
        ]),
        prop::bool::ANY,
    )
        .prop_map(|(name, qtype, edns)| {
            let mut message = query(&name, qtype);
            if edns {
                message.set_edns(Edns::new());
            }
            message.to_vec().expect("encode")
        });
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        (
            base.clone(),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)
        )
            .prop_map(|(mut packet, flips)| {
                for (index, byte) in flips {
                    let i = index.index(packet.len());
                    packet[i] = byte;
                }
                packet
            }),
        (base.clone(), any::<prop::sample::Index>()).prop_map(|(mut packet, cut)| {
            packet.truncate(cut.index(packet.len() + 1));
            packet
        }),
        (base, prop::collection::vec(any::<u8>(), 1..40)).prop_map(|(mut packet, tail)| {
            packet.extend(tail);
            packet
        }),
    ]
}

fn check_reply(packet: &[u8], reply: Option<Vec<u8>>) -> Result<(), TestCaseError> {
    if let Some(reply) = reply {
        prop_assert!(packet.len() >= 12, "no reply to less than a header");
        let message = Message::from_vec(&reply).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            message.metadata.id,
            u16::from_be_bytes([packet[0], packet[1]])
        );
        prop_assert_eq!(message.metadata.message_type, MessageType::Response);
    }
    Ok(())
}

#[test]
fn random_dns_packets_get_sane_answers_or_none() {
    let bg = Background::start();
    let authority = bg.h.server().authority();
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config(3000));
    runner
        .run(&dns_packet(), |packet| {
            check_reply(&packet, bg.runtime.block_on(authority.respond(&packet)))
        })
        .expect("the handler copes with any packet");
    // The same kind of input through the real sockets; then the server still answers.
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config(150));
    let (udp, tcp) = (bg.h.udp(), bg.h.tcp());
    runner
        .run(&dns_packet(), |packet| {
            bg.runtime.block_on(async {
                let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                socket.send_to(&packet, udp).await.expect("send");
                if let Ok(mut stream) = tokio::net::TcpStream::connect(tcp).await {
                    let len = u16::try_from(packet.len()).unwrap_or(u16::MAX);
                    let _ = stream.write_all(&len.to_be_bytes()).await;
                    let _ = stream.write_all(&packet).await;
                }
            });
            Ok(())
        })
        .expect("sent");
    bg.alive();
    assert_eq!(bg.h.db_state(), (1, 2, "ok".into()));
}

/// Replays `tests/corpus/acmedns/`: raw HTTP requests (`<name>.<status>.http`, with
/// `{{USER}}`, `{{KEY}}`, `{{SUBDOMAIN}}`, `{{LEN}}` filled in) and DNS packets
/// (`<name>.<rcode|none>.bin`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kept_corpus_replays() {
    let h = Harness::start().await;
    let a = h.register("{}").await;
    let corpus = repo().join("tests/corpus/acmedns");
    let mut seen = 0;
    for entry in sorted_dir(&corpus.join("http")) {
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        let expected: u16 = name
            .rsplit('.')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status in name");
        let template = std::fs::read_to_string(&entry).expect("read");
        let request = fill_request(&template, &a);
        let status = raw_http_status(h.server().http_addr(), request.as_bytes()).await;
        assert_eq!(status, expected, "{name}");
        seen += 1;
    }
    for entry in sorted_dir(&corpus.join("dns")) {
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        let expected = name.rsplit('.').nth(1).expect("rcode in name").to_owned();
        let packet = std::fs::read(&entry).expect("read");
        let reply = h.server().authority().respond(&packet).await;
        check_reply(&packet, reply.clone()).expect("sane reply");
        let got = reply.map_or("none".to_string(), |r| {
            let code = Message::from_vec(&r)
                .expect("decodes")
                .metadata
                .response_code;
            // 16 decodes as BADSIG outside TSIG; it is BADVERS here.
            match code {
                ResponseCode::BADSIG => "badvers".to_string(),
                code => format!("{code:?}").to_lowercase(),
            }
        });
        assert_eq!(got, expected, "{name}");
        seen += 1;
    }
    assert!(seen >= 20, "corpus present ({seen} entries)");
    assert_eq!(h.db_state().2, "ok");
}

fn sorted_dir(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    entries
}

/// Fill a corpus template: line endings become CRLF in the head, `{{LEN}}` is the body length.
fn fill_request(template: &str, a: &Account) -> String {
    let filled = template
        .replace("{{USER}}", &a.username)
        .replace("{{KEY}}", &a.password)
        .replace("{{SUBDOMAIN}}", &a.subdomain);
    let (head, body) = filled.split_once("\n\n").unwrap_or((&filled, ""));
    let body = body.strip_suffix('\n').unwrap_or(body);
    let head = head
        .replace("{{LEN}}", &body.len().to_string())
        .replace('\n', "\r\n");
    format!("{head}\r\nConnection: close\r\n\r\n{body}")
}

async fn raw_http_status(addr: SocketAddr, request: &[u8]) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("response within the deadline")
        .expect("read");
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line in {text:?}"))
}

// ---------------------------------------------------------------------------------------------
// A client no one here wrote: pyacmedns (PyPI)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyacmedns_registers_and_updates() {
    let pydeps = repo().join("target/pydeps");
    let pythonpath = match std::env::var("PYTHONPATH") {
        Ok(existing) if !existing.is_empty() => format!("{}:{existing}", pydeps.display()),
        _ => pydeps.display().to_string(),
    };
    let probe = Command::new("python3")
        .args(["-c", "import pyacmedns"])
        .env("PYTHONPATH", &pythonpath)
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            !in_ci(),
            "pyacmedns is required in CI (scripts/test-deps.sh installs it)"
        );
        eprintln!("SKIP: python3 with pyacmedns not available (run scripts/test-deps.sh)");
        return;
    }
    let h = Harness::start().await;
    let script = repo().join("tests/acmedns_compat.py");
    let storage = h.dir.path().join("pyacmedns.json");
    // A trailing slash makes pyacmedns ask for `//register`: the 307 must carry it through.
    let base = format!("{}/", h.base);
    let args = [
        script.display().to_string(),
        base,
        storage.display().to_string(),
        txt(1),
        txt(2),
    ];
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(&args)
            .env("PYTHONPATH", pythonpath)
            .output()
            .expect("python3 runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pyacmedns script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let accounts: Vec<Account> =
        serde_json::from_str(stdout.trim()).expect("script prints the accounts");
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[1].allowfrom, ["127.0.0.1/32"]);
    for account in &accounts {
        assert_eq!(served_txt(&h, &account.fulldomain).await, [txt(1), txt(2)]);
    }
    assert_eq!(h.db_state(), (2, 4, "ok".into()));
}
