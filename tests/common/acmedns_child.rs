//! certpilot's acme-dns server as a child process (`certpilot acme-dns serve`) under
//! `ulimit -Sn 1024`, on fixed ports of one loopback address of the calling test's range,
//! with raw HTTP and DNS helpers. Included with `#[path]` by the test binaries that use it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

pub const ZONE: &str = "auth.example.test";
/// Every network wait is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

/// The server binary as a child of `sh` with `ulimit -Sn 1024`, killed on drop.
pub struct Served {
    pub child: Child,
    log: PathBuf,
    pub http: SocketAddr,
    pub dns: SocketAddr,
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
    pub fn start(ip: &str, http_extra: &str, dns_extra: &str, top_extra: &str) -> Self {
        Self::start_on(ip, "acme.db", http_extra, dns_extra, top_extra)
    }

    /// Start on `ip` with `database` (a file name in the temporary directory, or a URL).
    pub fn start_on(
        ip: &str,
        database: &str,
        http_extra: &str,
        dns_extra: &str,
        top_extra: &str,
    ) -> Self {
        let served = Self::spawn(ip, database, http_extra, dns_extra, top_extra, &[]);
        wait_until("the server answers /health", || {
            served.health() == Some(200)
        });
        served
    }

    /// Start without waiting for plain-HTTP `/health` (HTTPS servers), with extra `envs`.
    pub fn spawn(
        ip: &str,
        database: &str,
        http_extra: &str,
        dns_extra: &str,
        top_extra: &str,
        envs: &[(&str, &str)],
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let http: SocketAddr = format!("{ip}:8080").parse().expect("addr");
        let dns: SocketAddr = format!("{ip}:5300").parse().expect("addr");
        let config = dir.path().join("server.toml");
        std::fs::write(
            &config,
            format!(
                "zone = \"{ZONE}\"\ndatabase = \"{database}\"\nnameservers = [\"ns1.{ZONE}\"]\n\
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
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        Self {
            child,
            log,
            http,
            dns,
            _dir: dir,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Status of `GET /health` on a new connection, `None` when there is no answer.
    pub fn health(&self) -> Option<u16> {
        let reply = http_exchange(
            self.http,
            b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        )?;
        status_of(&reply)
    }

    /// The TXT values at `<subdomain>.<zone>` over UDP (sorted), `None` without an answer.
    pub fn txt(&self, subdomain: &str) -> Option<Vec<String>> {
        let socket = UdpSocket::bind("127.0.0.1:0").ok()?;
        socket.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        let mut query = Message::query();
        query.add_query(Query::query(
            Name::from_ascii(format!("{subdomain}.{ZONE}.")).ok()?,
            RecordType::TXT,
        ));
        socket.send_to(&query.to_vec().ok()?, self.dns).ok()?;
        let mut buf = [0u8; 4096];
        let (n, _) = socket.recv_from(&mut buf).ok()?;
        let reply = Message::from_vec(&buf[..n]).ok()?;
        let mut values: Vec<String> = reply
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::TXT(txt) => Some(txt.to_string()),
                _ => None,
            })
            .collect();
        values.sort();
        Some(values)
    }

    /// Kill the server at once (SIGKILL): no shutdown, no final write.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The response code of an SOA query over a new TCP connection.
    pub fn dns_tcp_soa(&self) -> Option<ResponseCode> {
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

pub fn wait_until(what: &str, cond: impl FnMut() -> bool) {
    wait_until_within(what, WAIT, cond);
}

/// [`wait_until`] with its own deadline (e.g. a CA issuing a certificate).
pub fn wait_until_within(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn connect(addr: SocketAddr) -> Option<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, WAIT).ok()?;
    stream.set_read_timeout(Some(WAIT)).ok()?;
    stream.set_write_timeout(Some(WAIT)).ok()?;
    Some(stream)
}

/// Send `request` on a new connection and read until the server closes it.
pub fn http_exchange(addr: SocketAddr, request: &[u8]) -> Option<String> {
    let mut stream = connect(addr)?;
    stream.write_all(request).ok()?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).ok()?;
    Some(String::from_utf8_lossy(&reply).into_owned())
}

pub fn status_of(reply: &str) -> Option<u16> {
    reply.split(' ').nth(1)?.parse().ok()
}

/// Whether the server closes `stream` (EOF or reset) within `within`.
pub fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).expect("timeout");
    let mut byte = [0u8; 1];
    !matches!(stream.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        || e.kind() == std::io::ErrorKind::TimedOut)
}
