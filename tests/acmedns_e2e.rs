//! End to end through acme-dns: certpilot's own acme-dns server (`certpilot acme-dns serve`),
//! knot holding the customer zone with the `_acme-challenge` CNAMEs, unbound as the recursive
//! resolver Pebble validates through (it follows the CNAME into the acme-dns zone), and
//! Pebble issuing apex + wildcard + www via the `acme-dns` solver. Registration, import of a
//! credential file and renewal are covered on the way.
//!
//! Addresses: 127.0.200.1 knot (example.test), .2 certpilot's acme-dns server (acme.test,
//! DNS on :53, HTTP on :80), .3 unbound. Needs root (port 53), knot and unbound.

mod common;
mod dns_tree;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::pebble::{Pebble, PebbleOptions};
use common::{wait_for, Workdir};
use dns_tree::{ip, Knot, ZoneFile};

const NET: u8 = 200;

/// A child process killed on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(addr: (Ipv4Addr, u16), path: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr.into(), Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    Some(out)
}

fn start_acmedns_server(dir: &std::path::Path) -> Guard {
    let config = dir.join("acmedns.toml");
    let server = ip(NET, 2);
    std::fs::write(
        &config,
        format!(
            r#"zone = "acme.test"
database = "acmedns.sqlite"
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
"#
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("acmedns.log")).unwrap();
    // --dir keeps the server's log file in the test's temp dir, not the user's state dir.
    let child = Command::new(env!("CARGO_BIN_EXE_certpilot"))
        .arg("--dir")
        .arg(dir)
        .args(["acme-dns", "serve", "--config"])
        .arg(&config)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start certpilot acme-dns serve");
    let guard = Guard(child);
    wait_for(
        "the acme-dns server's /health",
        Duration::from_secs(20),
        || {
            http_get((server, 80), "/health")
                .is_some_and(|r| r.starts_with("HTTP/1.1 200") || r.starts_with("HTTP/1.0 200"))
        },
    );
    guard
}

fn start_unbound(dir: &std::path::Path) -> Option<Guard> {
    if !common::require_tool("unbound") {
        return None;
    }
    let conf = dir.join("unbound.conf");
    std::fs::write(
        &conf,
        format!(
            "server:\n  interface: {r}\n  port: 53\n  do-daemonize: no\n  chroot: \"\"\n  username: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  num-threads: 1\n  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n  module-config: \"iterator\"\n  cache-max-ttl: 0\n  cache-max-negative-ttl: 0\n  domain-insecure: \"test\"\n  local-zone: \"test.\" nodefault\n\nstub-zone:\n  name: \"example.test\"\n  stub-addr: {knot}\n\nstub-zone:\n  name: \"acme.test\"\n  stub-addr: {acme}\n",
            r = ip(NET, 3),
            d = dir.display(),
            knot = ip(NET, 1),
            acme = ip(NET, 2),
        ),
    )
    .unwrap();
    let unbound = ["/usr/sbin/unbound", "/usr/local/sbin/unbound"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("unbound");
    let child = Command::new(unbound)
        .arg("-d")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("unbound.log")).unwrap())
        .spawn()
        .expect("start unbound");
    let guard = Guard(child);
    wait_for("unbound to answer", Duration::from_secs(15), || {
        dns_tree::ask(
            (ip(NET, 3), 53).into(),
            "ns.acme.test",
            hickory_proto::rr::RecordType::A,
        )
        .is_some()
    });
    Some(guard)
}

/// The customer zone, with one CNAME per delegated name.
fn customer_zone(serial: u32, cnames: &[(&str, &str)]) -> ZoneFile {
    let mut zone = ZoneFile::new("example.test", serial)
        .with("@ NS ns1")
        .with(format!("ns1 A {}", ip(NET, 1)));
    for (owner, target) in cnames {
        zone = zone.with(format!("{owner} CNAME {target}."));
    }
    zone
}

fn fulldomain(wd: &Workdir, domain: &str) -> String {
    let run = wd.run(&["acme-dns", "list", "--json"]);
    run.ok();
    let list: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["domain"] == domain)
        .unwrap_or_else(|| panic!("{domain} not in {list}"));
    assert!(
        entry.get("password").is_none(),
        "list --json shows a password"
    );
    entry["fulldomain"].as_str().unwrap().to_owned()
}

#[test]
fn issue_apex_wildcard_and_www_through_certpilots_acme_dns_server() {
    if !dns_tree::available(NET) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if !common::require_tool("unbound") {
        return;
    }
    let _server = start_acmedns_server(dir.path());
    let server_url = format!("http://{}:80", ip(NET, 2));
    let resolver = ip(NET, 3).to_string();

    // Pebble validates through unbound, which follows the CNAME into the acme-dns zone.
    let Some(pebble) = Pebble::start_with_dns(PebbleOptions::default(), &format!("{resolver}:53"))
    else {
        return;
    };
    let mut wd = Workdir::new("acmedns-e2e");
    wd.env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
    wd.run(&[
        "account",
        "add",
        "pebble",
        "--directory",
        &pebble.directory,
        "--agree-tos",
    ])
    .ok();

    // Register example.test (its wildcard shares it) with the CLI...
    let reg = wd.run(&[
        "acme-dns",
        "register",
        "example.test",
        "--server",
        &server_url,
    ]);
    reg.ok();
    let apex_target = fulldomain(&wd, "example.test");
    assert!(
        reg.stdout().contains(&format!(
            "_acme-challenge.example.test. IN CNAME {apex_target}."
        )),
        "{}",
        reg.stdout()
    );
    // ...and www.example.test by importing a certbot-style file made from a raw /register.
    let raw = Command::new("curl")
        .args(["-sSf", "-X", "POST", &format!("{server_url}/register")])
        .output()
        .unwrap();
    assert!(raw.status.success());
    let body: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    let www_target = body["fulldomain"].as_str().unwrap().to_owned();
    let file = wd.path().join("acmedns.json");
    std::fs::write(
        &file,
        serde_json::json!({ "www.example.test": body }).to_string(),
    )
    .unwrap();
    let import = wd.run(&[
        "acme-dns",
        "import",
        file.to_str().unwrap(),
        "--server",
        &server_url,
    ]);
    import.ok();
    assert_eq!(fulldomain(&wd, "www.example.test"), www_target);
    let password = body["password"].as_str().unwrap().to_owned();

    wd.run(&[
        "domain",
        "set",
        "example.test",
        "--solver",
        "acme-dns",
        "--server",
        &server_url,
    ])
    .ok();
    wd.run(&[
        "cert",
        "add",
        "web",
        "--name",
        "example.test",
        "--name",
        "*.example.test",
        "--name",
        "www.example.test",
    ])
    .ok();

    // Before the CNAMEs exist certpilot refuses to order, naming the record to create.
    let knot = Knot::start(ip(NET, 1), &[customer_zone(1, &[])], &[]);
    let Some(_unbound) = start_unbound(dir.path()) else {
        return;
    };
    let refused = wd.run(&["--resolver", &resolver, "issue", "web"]);
    refused.expect_code(1);
    assert!(
        refused.stderr().contains(&format!(
            "_acme-challenge.example.test. IN CNAME {apex_target}."
        )),
        "{}",
        refused.stderr()
    );
    assert!(!wd.path().join("certificates/web").exists());

    knot.update(&customer_zone(
        2,
        &[
            ("_acme-challenge", apex_target.as_str()),
            ("_acme-challenge.www", www_target.as_str()),
        ],
    ));
    let issued = wd.run(&["--resolver", &resolver, "issue", "web"]);
    issued.ok();
    let pem = std::fs::read_to_string(wd.path().join("certificates/web/web.crt")).unwrap();
    let mut names = certpilot::cert::inspect::inspect_chain_pem(&pem)
        .unwrap()
        .names;
    names.sort();
    assert_eq!(
        names,
        vec!["*.example.test", "example.test", "www.example.test"]
    );

    let renewed = wd.run(&["--resolver", &resolver, "renew", "--force"]);
    renewed.ok();
    assert!(
        renewed.stdout().contains("web: renewed (forced)"),
        "{}",
        renewed.stdout()
    );

    // The imported plaintext password is now only in the keyring.
    std::fs::remove_file(&file).unwrap();
    for entry in walk(wd.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(
            !text.contains(&password),
            "acme-dns password in {}",
            entry.display()
        );
    }
    assert!(!issued.stderr().contains(&password) && !issued.stdout().contains(&password));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files
}
