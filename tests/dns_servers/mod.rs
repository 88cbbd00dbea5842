//! Authoritative servers that take updates, for the DNS provider tests: Knot and BIND 9 with
//! a TSIG key and an update policy (RFC 2136), PowerDNS with its HTTP API on loopback and a
//! sqlite3 database. Each runs in the foreground as a child killed on Drop, on
//! `127.0.N.x:53` (each test takes its own network), with its files in a temp dir.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::rr::{RData, RecordType};

use crate::dns_tree::ask;

/// A loopback port free for both UDP and TCP (DNS listens on both).
fn free_dns_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
        let port = udp.local_addr().expect("addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// How long a server may take to come up.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// The TSIG key name every test server knows.
pub const KEY_NAME: &str = "certpilot-key";

/// `$ORIGIN` text of a zone served from `ns` with SOA MNAME `ns1.<zone>` (the primary).
pub fn zone_text(zone: &str, ns: Ipv4Addr, extra: &[&str]) -> String {
    let mut text = format!(
        "$ORIGIN {zone}.\n$TTL 60\n@ SOA ns1.{zone}. hostmaster.{zone}. 1 60 60 600 60\n@ NS ns1\nns1 A {ns}\n"
    );
    for line in extra {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// A random base64 HMAC-SHA256 secret.
pub fn random_secret() -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = (0..32).map(|_| rand_byte()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn rand_byte() -> u8 {
    uuid::Uuid::new_v4().as_bytes()[0]
}

fn tool(name: &str) -> PathBuf {
    crate::dns_tree::knot_tool(name)
        .unwrap_or_else(|| panic!("{name} not installed (scripts/test-deps.sh)"))
}

/// The SOA serial `server` serves for `zone`, when it answers.
pub fn serial(server: SocketAddr, zone: &str) -> Option<u32> {
    let message = ask(server, &format!("{zone}."), RecordType::SOA)?;
    message.answers.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(soa.serial),
        _ => None,
    })
}

/// The TXT values `server` serves at `name`.
pub fn txt(server: SocketAddr, name: &str) -> Vec<String> {
    let Some(message) = ask(server, name, RecordType::TXT) else {
        panic!("{server} did not answer TXT {name}");
    };
    message
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(txt) => Some(txt.to_string()),
            _ => None,
        })
        .collect()
}

/// Wait until `server` serves `zone`, or panic with `log()`.
fn wait_ready(server: SocketAddr, zone: &str, child: &mut Child, log: &dyn Fn() -> String) {
    let deadline = Instant::now() + READY_WITHIN;
    while serial(server, zone).is_none() {
        let exited = child.try_wait().ok().flatten();
        assert!(
            exited.is_none() && Instant::now() < deadline,
            "the server on {server} never served {zone} (exit: {exited:?})\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running server process and its directory.
pub struct Server {
    /// The DNS address (`IP:53`).
    pub addr: SocketAddr,
    child: Child,
    /// Its config, zones, database and log.
    pub dir: tempfile::TempDir,
    log_file: &'static str,
}

impl Server {
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(self.log_file)).unwrap_or_default()
    }

    fn spawn(
        mut cmd: Command,
        addr: SocketAddr,
        dir: tempfile::TempDir,
        log_file: &'static str,
        zones: &[&str],
    ) -> Self {
        let log = std::fs::File::create(dir.path().join("stderr.log")).expect("log");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start the server");
        let mut server = Self {
            addr,
            child,
            dir,
            log_file,
        };
        for zone in zones {
            let dir = server.dir.path().to_path_buf();
            let logs = move || {
                format!(
                    "{}\n{}",
                    std::fs::read_to_string(dir.join(log_file)).unwrap_or_default(),
                    std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
                )
            };
            wait_ready(server.addr, zone, &mut server.child, &logs);
        }
        server
    }

    /// Knot serving `zones` (name, zone-file text) on `addr`:53, updatable with the TSIG key
    /// `KEY_NAME` = `secret` (hmac-sha256) for TXT records only.
    pub fn knot(addr: Ipv4Addr, zones: &[(&str, String)], secret: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display();
        let mut conf = format!(
            "server:\n  rundir: \"{d}\"\n  listen: {addr}@53\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n\
             control:\n  listen: \"{d}/knot.sock\"\n\
             database:\n  storage: \"{d}\"\n\
             log:\n  - target: \"{d}/knot.log\"\n    any: info\n\
             key:\n  - id: {KEY_NAME}\n    algorithm: hmac-sha256\n    secret: {secret}\n\
             acl:\n  - id: acme\n    key: {KEY_NAME}\n    action: update\n    update-type: [TXT]\n\
             template:\n  - id: default\n    storage: \"{d}\"\n    file: \"%s.zone\"\n    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: changes\n    acl: acme\n\
             zone:\n"
        );
        for (zone, text) in zones {
            std::fs::write(dir.path().join(format!("{zone}.zone")), text).expect("zone");
            conf.push_str(&format!("  - domain: {zone}.\n"));
        }
        std::fs::write(dir.path().join("knot.conf"), conf).expect("knot.conf");
        let mut cmd = Command::new(tool("knotd"));
        cmd.arg("-c").arg(dir.path().join("knot.conf"));
        let names: Vec<&str> = zones.iter().map(|(z, _)| *z).collect();
        Self::spawn(cmd, SocketAddr::from((addr, 53)), dir, "knot.log", &names)
    }

    /// BIND 9 serving `zones` on `addr`:53 with the TSIG key clause in `key_file` (as
    /// `tsig-keygen` writes it) and `update-policy { grant KEY zonesub TXT; }`. Its log has
    /// one `approved` line per accepted UPDATE message.
    ///
    /// named listens only on addresses configured on an interface, so it takes
    /// `127.0.0.1` and a free port (the returned `addr`), not a test network's address.
    /// Every key of `key_files` is defined; only `KEY_NAME` is granted.
    pub fn bind(zones: &[(&str, String)], key_files: &[&Path]) -> Self {
        let port = free_dns_port();
        let addr = Ipv4Addr::LOCALHOST;
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display();
        let mut conf: String = key_files
            .iter()
            .map(|k| format!("include \"{}\";\n", k.display()))
            .collect();
        conf.push_str(&format!(
            "options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n\
               listen-on port {port} {{ {addr}; }};\n  listen-on-v6 {{ none; }};\n  recursion no;\n  dnssec-validation no;\n\
               notify no;\n}};\n\
             controls {{ }};\n\
             logging {{\n  channel file {{ file \"{d}/named.log\"; severity info; print-category yes; }};\n\
               category default {{ file; }};\n  category update {{ file; }};\n  category update-security {{ file; }};\n  category security {{ file; }};\n}};\n"
        ));
        for (zone, text) in zones {
            std::fs::write(dir.path().join(format!("{zone}.zone")), text).expect("zone");
            conf.push_str(&format!(
                "zone \"{zone}\" {{ type primary; file \"{d}/{zone}.zone\"; update-policy {{ grant {KEY_NAME} zonesub TXT; }}; }};\n"
            ));
        }
        std::fs::write(dir.path().join("named.conf"), conf).expect("named.conf");
        let mut cmd = Command::new(tool("named"));
        cmd.arg("-f")
            .arg("-4")
            .arg("-c")
            .arg(dir.path().join("named.conf"));
        let names: Vec<&str> = zones.iter().map(|(z, _)| *z).collect();
        Self::spawn(
            cmd,
            SocketAddr::from((addr, port)),
            dir,
            "named.log",
            &names,
        )
    }

    /// PowerDNS Authoritative on `addr`:53 with a fresh sqlite3 database, its HTTP API on
    /// `addr`:(free port) with `api_key`. Zones are created through the API
    /// ([`PowerDns::create_zone`]).
    pub fn powerdns(addr: Ipv4Addr, api_key: &str) -> PowerDns {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("pdns.sqlite3");
        let schema =
            std::fs::read_to_string("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql")
                .expect("the pdns sqlite3 schema (pdns-backend-sqlite3)");
        rusqlite::Connection::open(&db)
            .expect("sqlite")
            .execute_batch(&schema)
            .expect("schema");
        let port = TcpListener::bind((addr, 0))
            .expect("port")
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(tool("pdns_server"));
        cmd.arg(format!("--config-dir={}", dir.path().display()))
            .args([
                "--daemon=no",
                "--guardian=no",
                "--disable-syslog=yes",
                "--loglevel=6",
            ])
            .arg(format!("--socket-dir={}", dir.path().display()))
            .arg(format!("--local-address={addr}"))
            .arg("--local-port=53")
            .arg("--launch=gsqlite3")
            .arg(format!("--gsqlite3-database={}", db.display()))
            .args([
                "--api=yes",
                "--webserver=yes",
                "--webserver-allow-from=127.0.0.0/8",
            ])
            .arg(format!("--api-key={api_key}"))
            .arg(format!("--webserver-address={addr}"))
            .arg(format!("--webserver-port={port}"));
        std::fs::write(dir.path().join("pdns.conf"), "").expect("pdns.conf");
        let pdns = PowerDns {
            server: Self::spawn(cmd, SocketAddr::from((addr, 53)), dir, "stderr.log", &[]),
            api: format!("http://{addr}:{port}"),
            api_key: api_key.to_owned(),
        };
        let deadline = Instant::now() + READY_WITHIN;
        while pdns.get("/api/v1/servers/localhost").is_err() {
            assert!(
                Instant::now() < deadline,
                "the PowerDNS API never answered\n{}",
                pdns.server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        pdns
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running PowerDNS with its API.
pub struct PowerDns {
    pub server: Server,
    /// `http://IP:PORT`.
    pub api: String,
    api_key: String,
}

impl PowerDns {
    fn get(&self, path: &str) -> Result<serde_json::Value, String> {
        let rsp = reqwest::blocking::Client::new()
            .get(format!("{}{path}", self.api))
            .header("X-API-Key", &self.api_key)
            .timeout(Duration::from_secs(5))
            .send()
            .map_err(|e| e.to_string())?;
        if !rsp.status().is_success() {
            return Err(rsp.status().to_string());
        }
        rsp.json().map_err(|e| e.to_string())
    }

    /// Create `zone` with NS `ns1.<zone>` at this server and the extra `rrsets` (JSON).
    pub fn create_zone(&self, zone: &str, rrsets: serde_json::Value) {
        let ip = self.server.addr.ip();
        let mut sets = vec![serde_json::json!({
            "name": format!("ns1.{zone}."), "type": "A", "ttl": 60,
            "records": [{"content": ip.to_string(), "disabled": false}]
        })];
        sets.extend(rrsets.as_array().cloned().unwrap_or_default());
        let body = serde_json::json!({
            "name": format!("{zone}."), "kind": "Native",
            "nameservers": [format!("ns1.{zone}.")],
            "soa_edit_api": "INCEPTION-INCREMENT",
            "rrsets": sets,
        });
        let rsp = reqwest::blocking::Client::new()
            .post(format!("{}/api/v1/servers/localhost/zones", self.api))
            .header("X-API-Key", &self.api_key)
            .json(&body)
            .send()
            .expect("create zone");
        assert_eq!(
            rsp.status().as_u16(),
            201,
            "{}",
            rsp.text().unwrap_or_default()
        );
        let deadline = Instant::now() + READY_WITHIN;
        while serial(self.server.addr, zone).is_none() {
            assert!(
                Instant::now() < deadline,
                "PowerDNS never served {zone}\n{}",
                self.server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The TXT contents of `name` in `zone`, as the API holds them.
    pub fn txt_contents(&self, zone: &str, name: &str) -> Vec<String> {
        let zone = self
            .get(&format!("/api/v1/servers/localhost/zones/{zone}."))
            .expect("zone");
        zone["rrsets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["type"] == "TXT" && s["name"] == name)
            .flat_map(|s| s["records"].as_array().unwrap().iter())
            .map(|r| r["content"].as_str().unwrap().to_owned())
            .collect()
    }
}
