//! A real DNS delegation tree on loopback, for the propagation tests.
//!
//! - [`Knot`]: one `knotd` per name server, in the foreground as a child process killed on
//!   Drop, listening on `127.0.N.x:53` (each test takes its own `127.0.N.0/24`, so tests run
//!   in parallel), with its config, zone files, database and log in a temp dir.
//! - [`Scripted`]: a UDP DNS server in a thread answering whatever its closure says (or
//!   nothing at all): for answers knot will not give (a CNAME beside TXT, NOTIMP to SOA like
//!   pebble-challtestsrv, silence).
//!
//! The "configured resolver" of the tests is the parent zone's authoritative server: the
//! checker must then follow referrals, as it must with any non-recursive resolver.
//!
//! Needs `knotd`/`knotc` (scripts/test-deps.sh) and root (port 53). Without them the tests
//! print why and pass, unless `CI=true`, where they fail.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

/// How long a server may take to come up, or to load a changed zone.
const READY_WITHIN: Duration = Duration::from_secs(15);

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `tool` on PATH or in sbin.
pub fn knot_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|dir| Path::new(dir).join(tool))
        .find(|p| p.is_file());
    found
}

/// Whether the tree can be built here: knot installed and port 53 bindable on `net`.
/// Otherwise prints why (and panics in CI).
pub fn available(net: u8) -> bool {
    let reason = if knot_tool("knotd").is_none() || knot_tool("knotc").is_none() {
        Some("knotd/knotc not installed (run scripts/test-deps.sh)".to_owned())
    } else {
        match UdpSocket::bind((Ipv4Addr::new(127, 0, net, 254), 53)) {
            Ok(_) => None,
            Err(e) => Some(format!("cannot bind 127.0.{net}.254:53 ({e}); run as root")),
        }
    };
    match reason {
        None => true,
        Some(reason) => {
            assert!(!ci(), "the DNS tree is required in CI: {reason}");
            eprintln!("SKIP: {reason}");
            false
        }
    }
}

/// `127.0.net.host`.
pub fn ip(net: u8, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, net, host)
}

/// A zone file: SOA and records, relative names allowed (`$ORIGIN` is the zone).
#[derive(Debug, Clone)]
pub struct ZoneFile {
    /// The zone, without the trailing dot.
    pub origin: String,
    /// Its SOA serial.
    pub serial: u32,
    /// The SOA MNAME (the primary server).
    primary: String,
    lines: Vec<String>,
}

impl ZoneFile {
    pub fn new(origin: &str, serial: u32) -> Self {
        Self {
            origin: origin.trim_end_matches('.').to_owned(),
            serial,
            primary: "ns.invalid.".to_owned(),
            lines: Vec::new(),
        }
    }

    /// Another SOA MNAME (an independent primary).
    pub fn primary(mut self, mname: &str) -> Self {
        self.primary = mname.to_owned();
        self
    }

    /// Add one record line (`name TYPE data`, TTL and class default).
    pub fn with(mut self, line: impl Into<String>) -> Self {
        self.lines.push(line.into());
        self
    }

    /// The same records under another serial.
    pub fn serial(mut self, serial: u32) -> Self {
        self.serial = serial;
        self
    }

    pub fn text(&self) -> String {
        let mut text = format!(
            "$ORIGIN {}.\n$TTL 60\n@ SOA {} hostmaster.invalid. {} 60 60 600 60\n",
            self.origin, self.primary, self.serial
        );
        for line in &self.lines {
            text.push_str(line);
            text.push('\n');
        }
        text
    }
}

/// One knotd serving some zones on one address.
pub struct Knot {
    pub addr: Ipv4Addr,
    child: Child,
    dir: tempfile::TempDir,
}

impl Knot {
    /// Serve `zones` (and `broken`: zones configured with a file knot cannot load, which it
    /// answers with SERVFAIL) on `addr`:53; returns once every zone answers.
    pub fn start(addr: Ipv4Addr, zones: &[ZoneFile], broken: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display();
        let mut conf = format!(
            "server:\n  rundir: \"{d}\"\n  listen: {addr}@53\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n\
             control:\n  listen: \"{d}/knot.sock\"\n\
             database:\n  storage: \"{d}\"\n\
             log:\n  - target: stderr\n    any: info\n\
             template:\n  - id: default\n    storage: \"{d}\"\n    file: \"%s.zone\"\n    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n\
             zone:\n"
        );
        for zone in zones {
            std::fs::write(
                dir.path().join(format!("{}.zone", zone.origin)),
                zone.text(),
            )
            .expect("zone file");
            let _ = writeln!(conf, "  - domain: {}.", zone.origin);
        }
        for zone in broken {
            std::fs::write(
                dir.path().join(format!("{zone}.zone")),
                "this is not a zone file\n",
            )
            .expect("zone file");
            let _ = writeln!(conf, "  - domain: {zone}.");
        }
        std::fs::write(dir.path().join("knot.conf"), conf).expect("knot.conf");
        let log = std::fs::File::create(dir.path().join("knot.log")).expect("knot.log");
        let child = Command::new(knot_tool("knotd").expect("knotd"))
            .arg("-c")
            .arg(dir.path().join("knot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start knotd");
        let knot = Self { addr, child, dir };
        for zone in zones {
            knot.wait_serial(&zone.origin, zone.serial);
        }
        for zone in broken {
            knot.wait_for(&format!("{zone} to answer SERVFAIL"), zone, |m| {
                m.metadata.response_code == ResponseCode::ServFail
            });
        }
        knot
    }

    /// Replace a zone's file and reload it; returns once the new serial is served.
    pub fn update(&self, zone: &ZoneFile) {
        std::fs::write(
            self.dir.path().join(format!("{}.zone", zone.origin)),
            zone.text(),
        )
        .expect("zone file");
        let status = Command::new(knot_tool("knotc").expect("knotc"))
            .arg("-c")
            .arg(self.dir.path().join("knot.conf"))
            .arg("zone-reload")
            .arg(format!("{}.", zone.origin))
            .stdout(Stdio::null())
            .status()
            .expect("knotc");
        assert!(
            status.success(),
            "knotc zone-reload {} failed\n{}",
            zone.origin,
            self.log()
        );
        self.wait_serial(&zone.origin, zone.serial);
    }

    /// Its configuration file (for `knotc -c`, e.g. a hook writing records through knotc).
    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("knot.conf")
    }

    /// The knotd process id (to pause it with SIGSTOP: a server that stops answering).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("knot.log")).unwrap_or_default()
    }

    fn wait_serial(&self, zone: &str, serial: u32) {
        self.wait_for(&format!("{zone} serial {serial}"), zone, |m| {
            m.metadata.authoritative
                && m.answers
                    .iter()
                    .any(|r| matches!(&r.data, RData::SOA(soa) if soa.serial == serial))
        });
    }

    fn wait_for(&self, what: &str, zone: &str, done: impl Fn(&Message) -> bool) {
        let deadline = Instant::now() + READY_WITHIN;
        let server = SocketAddr::from((self.addr, 53));
        loop {
            if let Some(message) = ask(server, &format!("{zone}."), RecordType::SOA) {
                if done(&message) {
                    return;
                }
            }
            let exited = std::fs::read_to_string(self.dir.path().join("knot.log"))
                .is_ok_and(|l| l.contains("shutting down"));
            assert!(
                !exited && Instant::now() < deadline,
                "knotd on {} never served {what}\n{}",
                self.addr,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One question over UDP with a short timeout (readiness probes; not the code under test).
pub fn ask(server: SocketAddr, name: &str, rtype: RecordType) -> Option<Message> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .ok()?;
    let mut query = Message::query();
    query.add_query(Query::query(Name::from_ascii(name).ok()?, rtype));
    socket.send_to(&query.to_vec().ok()?, server).ok()?;
    let mut buf = [0_u8; 4096];
    let (len, _) = socket.recv_from(&mut buf).ok()?;
    Message::from_vec(buf.get(..len)?).ok()
}

/// What a scripted server answers to one question: `None` stays silent.
pub type Script = dyn Fn(&Message) -> Option<Message> + Send + Sync;

/// A UDP DNS server answering from a closure, in a thread stopped on Drop.
pub struct Scripted {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Scripted {
    /// Serve on `addr` (port 0: any free port; read `addr` back).
    pub fn start(addr: SocketAddr, script: Box<Script>) -> Self {
        let socket = UdpSocket::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        let addr = socket.local_addr().expect("local addr");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = [0_u8; 4096];
            while !stopped.load(Ordering::Relaxed) {
                let Ok((len, peer)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(query) = Message::from_vec(&buf[..len]) else {
                    continue;
                };
                if let Some(answer) = script(&query) {
                    let _ = socket.send_to(&answer.to_vec().expect("encode"), peer);
                }
            }
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// A server that never answers.
    pub fn silent(addr: SocketAddr) -> Self {
        Self::start(addr, Box::new(|_| None))
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An empty authoritative answer to `query`, question copied.
pub fn reply(query: &Message, rcode: ResponseCode) -> Message {
    let mut answer = Message::response(query.metadata.id, OpCode::Query);
    answer.metadata.authoritative = true;
    answer.metadata.response_code = rcode;
    answer.add_queries(query.queries.iter().cloned());
    answer
}

/// The question's name (`a.example.`) and type.
pub fn question(query: &Message) -> Option<(String, RecordType)> {
    query
        .queries
        .first()
        .map(|q| (q.name().to_ascii().to_ascii_lowercase(), q.query_type()))
}

/// A caching recursive unbound on `addr`:53 reaching the tree through stub zones, like a CA's
/// resolver: answers are kept for their TTL (negative ones for the SOA's negative TTL).
pub struct Unbound {
    pub addr: Ipv4Addr,
    child: Child,
    dir: tempfile::TempDir,
}

impl Unbound {
    /// Start it with `stubs` (zone, server address); returns once it answers for the first.
    pub fn start(addr: Ipv4Addr, stubs: &[(&str, Ipv4Addr)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display();
        let mut conf = format!(
            "server:\n  interface: {addr}\n  port: 53\n  do-daemonize: no\n  chroot: \"\"\n  username: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  num-threads: 1\n  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n  module-config: \"iterator\"\n  domain-insecure: \"test\"\n  local-zone: \"test.\" nodefault\n  prefetch: no\n  serve-expired: no\n"
        );
        for (zone, server) in stubs {
            let _ = write!(
                conf,
                "\nstub-zone:\n  name: \"{zone}\"\n  stub-addr: {server}\n"
            );
        }
        std::fs::write(dir.path().join("unbound.conf"), conf).expect("unbound.conf");
        let unbound = knot_tool("unbound").expect("unbound (run scripts/test-deps.sh)");
        let child = Command::new(unbound)
            .args(["-d", "-c"])
            .arg(dir.path().join("unbound.conf"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("unbound.log")).expect("log"))
            .spawn()
            .expect("start unbound");
        let unbound = Self { addr, child, dir };
        let first = stubs.first().map_or("test", |(zone, _)| zone);
        let deadline = Instant::now() + READY_WITHIN;
        while ask((addr, 53).into(), &format!("{first}."), RecordType::SOA).is_none() {
            assert!(
                Instant::now() < deadline,
                "unbound on {addr} never answered\n{}",
                std::fs::read_to_string(unbound.dir.path().join("unbound.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        unbound
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
