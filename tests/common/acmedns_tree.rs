//! An acme-dns delegation on loopback `127.0.NET.0/24`, as a CA sees it when it follows the
//! `_acme-challenge` CNAMEs of a customer zone into an acme-dns zone:
//!
//! - `.1` knot, authoritative for the customer zone `example.test` ([`start_knot`]);
//! - `.2` certpilot's own acme-dns server (`certpilot acme-dns serve`) for `acme.test`, DNS on
//!   :53 and the HTTP API on :80 ([`start_acmedns_server`], [`api_url`]);
//! - `.3` unbound, recursive, reaching both through stub zones ([`start_unbound`],
//!   [`resolver`]): the resolver to give Pebble.
//!
//! Included with `#[path]` by the test binaries that also declare `mod common` and
//! `mod dns_tree`. Needs root (port 53), knot and unbound: callers check
//! `dns_tree::available(NET)` and `common::require_tool("unbound")` first.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::wait_for;
use crate::dns_tree::{self, ip, Knot, ZoneFile};

/// A child process killed on drop.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The acme-dns server's HTTP API.
pub fn api_url(net: u8) -> String {
    format!("http://{}:80", ip(net, 2))
}

/// The recursive resolver (port 53) that sees both zones.
pub fn resolver(net: u8) -> Ipv4Addr {
    ip(net, 3)
}

fn http_get(addr: (Ipv4Addr, u16), path: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr.into(), Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    Some(out)
}

/// `certpilot acme-dns serve` for `acme.test` on `.2`, once `/health` answers. Its files are
/// in `dir`: the database `acmedns.sqlite`, stdout/stderr in `acmedns.out`, and (`--dir
/// DIR/certpilot`) the log `certpilot/state/certpilot.log`, at debug level so that each TXT
/// update shows.
pub fn start_acmedns_server(net: u8, dir: &Path) -> Guard {
    let config = dir.join("acmedns.toml");
    let server = ip(net, 2);
    std::fs::write(
        &config,
        format!(
            r#"zone = "acme.test"
database = "{db}"
bcrypt_cost = 4
nameservers = ["ns.acme.test"]
records = [{{ name = "ns.acme.test", type = "A", value = "{server}" }}]
[dns]
listen = ["{server}:53"]
[http]
listen = "{server}:80"
[soa]
mname = "ns.acme.test"
rname = "hostmaster.acme.test"
minimum = 1
"#,
            db = dir.join("acmedns.sqlite").display(),
        ),
    )
    .unwrap();
    let out = std::fs::File::create(dir.join("acmedns.out")).unwrap();
    // --dir keeps the server's log in the test's temp dir, not the user's state dir.
    let child = Command::new(env!("CARGO_BIN_EXE_certpilot"))
        .arg("--dir")
        .arg(dir.join("certpilot"))
        .args(["acme-dns", "serve", "--config"])
        .arg(&config)
        .env(
            "CERTPILOT_LOG",
            "debug,hickory_server=warn,hickory_proto=warn",
        )
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start certpilot acme-dns serve");
    let guard = Guard(child);
    wait_for(
        "the acme-dns server's /health",
        Duration::from_secs(20),
        || {
            // The answer's version follows the request's (HTTP/1.0 here).
            http_get((server, 80), "/health").is_some_and(|r| r.split(' ').nth(1) == Some("200"))
        },
    );
    guard
}

/// unbound on `.3`, recursing into `example.test` (knot) and `acme.test` (the acme-dns
/// server) through stub zones, caching nothing; returned once it answers (so the acme-dns
/// server must run first). Its config and log are in `dir`.
pub fn start_unbound(net: u8, dir: &Path) -> Guard {
    let conf = dir.join("unbound.conf");
    std::fs::write(
        &conf,
        format!(
            "server:\n  interface: {r}\n  port: 53\n  do-daemonize: no\n  chroot: \"\"\n  username: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  num-threads: 1\n  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n  module-config: \"iterator\"\n  cache-max-ttl: 0\n  cache-max-negative-ttl: 0\n  domain-insecure: \"test\"\n  local-zone: \"test.\" nodefault\n\nstub-zone:\n  name: \"example.test\"\n  stub-addr: {knot}\n\nstub-zone:\n  name: \"acme.test\"\n  stub-addr: {acme}\n",
            r = resolver(net),
            d = dir.display(),
            knot = ip(net, 1),
            acme = ip(net, 2),
        ),
    )
    .unwrap();
    let unbound = ["/usr/sbin/unbound", "/usr/local/sbin/unbound"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("unbound");
    let child = Command::new(unbound)
        .args(["-d", "-c"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("unbound.log")).unwrap())
        .spawn()
        .expect("start unbound");
    let guard = Guard(child);
    wait_for("unbound to answer", Duration::from_secs(15), || {
        dns_tree::ask(
            (resolver(net), 53).into(),
            "ns.acme.test",
            hickory_proto::rr::RecordType::A,
        )
        .is_some()
    });
    guard
}

/// The customer zone `example.test` served from `.1`, with one `OWNER CNAME TARGET.` per
/// delegated name.
pub fn customer_zone(net: u8, serial: u32, cnames: &[(&str, &str)]) -> ZoneFile {
    let mut zone = ZoneFile::new("example.test", serial)
        .with("@ NS ns1")
        .with(format!("ns1 A {}", ip(net, 1)));
    for (owner, target) in cnames {
        zone = zone.with(format!("{owner} CNAME {target}."));
    }
    zone
}

/// knot on `.1` serving `zone` (see [`customer_zone`]).
pub fn start_knot(net: u8, zone: ZoneFile) -> Knot {
    Knot::start(ip(net, 1), &[zone], &[])
}
