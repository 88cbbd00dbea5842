//! The acme-dns client against real parts: certpilot's own acme-dns-compatible server
//! (in process, DNS on port 53 of a private loopback address, HTTP on a free port), knot as
//! the authoritative server of `example.test` holding the `_acme-challenge` CNAMEs and the
//! delegation of `auth.example.test`, and the kernel keyring.
//!
//! Run inside a session keyring: `keyctl session - cargo test --test acmedns_client`.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::cell::RefCell;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use certpilot::config::{self, Config, DomainConfig};
use certpilot::providers::{self, SolverDeps};
use certpilot::secrets::{Keystore, SecretRef, StoreKind};
use certpilot::server::{RunningServer, ServerConfig, StaticRecord};
use certpilot::solver::{ChallengeRecord, Solver};
use common::{require_tool, wait_for, Workdir};
use sha2::Digest as _;

const ZONE: &str = "auth.example.test";

/// Two free addresses 127.a.b.1 and 127.a.b.2 whose port 53 is free (one pair per test).
fn loopback_pair() -> Option<(Ipv4Addr, Ipv4Addr)> {
    static NEXT: AtomicU8 = AtomicU8::new(0);
    let a = 100 + u8::try_from(std::process::id() % 100).unwrap();
    for _ in 0..50 {
        let b = NEXT.fetch_add(1, Ordering::Relaxed);
        let pair = (Ipv4Addr::new(127, a, b, 1), Ipv4Addr::new(127, a, b, 2));
        let free = |ip: Ipv4Addr| match UdpSocket::bind((ip, 53)) {
            Ok(_) => Some(true),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => None,
            Err(_) => Some(false),
        };
        if free(pair.0)? && free(pair.1)? {
            return Some(pair);
        }
    }
    None
}

/// The loopback pair, or a skip (outside CI) when port 53 cannot be bound.
fn addresses() -> Option<(Ipv4Addr, Ipv4Addr)> {
    let pair = loopback_pair();
    if pair.is_none() {
        assert!(
            !common::in_ci(),
            "binding port 53 on loopback is required in CI"
        );
        eprintln!("SKIP: cannot bind port 53 on loopback (run as root)");
    }
    pair
}

/// certpilot's acme-dns server in its own runtime, shut down on Drop.
struct AcmeDns {
    rt: tokio::runtime::Runtime,
    server: Option<RunningServer>,
    url: String,
    dns: SocketAddr,
    _dir: tempfile::TempDir,
}

impl AcmeDns {
    fn start(ip: Ipv4Addr) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = ServerConfig::new(ZONE, dir.path().join("acme-dns.db"));
        cfg.bcrypt_cost = 4;
        cfg.nameservers = vec![format!("ns.{ZONE}")];
        cfg.dns.listen = vec![SocketAddr::from((ip, 53))];
        cfg.records = vec![StaticRecord {
            name: format!("ns.{ZONE}"),
            rtype: "A".into(),
            value: ip.into(),
            ttl: None,
        }];
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt
            .block_on(certpilot::server::start(cfg))
            .expect("acme-dns server");
        Self {
            url: format!("http://{}", server.http_addr()),
            dns: server.dns_udp_addrs()[0],
            server: Some(server),
            rt,
            _dir: dir,
        }
    }

    /// `POST /register` with a client certpilot did not write (reqwest).
    fn register_raw(&self, body: &str) -> serde_json::Value {
        let rsp = reqwest::blocking::Client::new()
            .post(format!("{}/register", self.url))
            .body(body.to_owned())
            .send()
            .unwrap();
        assert_eq!(rsp.status().as_u16(), 201);
        rsp.json().unwrap()
    }

    /// The TXT values the server itself serves at `name` (kdig, straight to its port 53).
    fn txt(&self, name: &str) -> Vec<String> {
        let out = Command::new("kdig")
            .arg(format!("@{}", self.dns.ip()))
            .args(["+short", "+timeout=2", "+retry=1", "TXT", name])
            .output()
            .unwrap();
        let mut values: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().trim_matches('"').to_owned())
            .filter(|l| !l.is_empty())
            .collect();
        values.sort();
        values
    }
}

impl Drop for AcmeDns {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.rt.block_on(server.shutdown());
        }
    }
}

/// knot, authoritative for `example.test` on `ip`:53, killed on Drop.
struct Knot {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Knot {
    /// Serve `example.test` with `records` (zone-file lines relative to it) plus the SOA, NS
    /// and the delegation of `auth.example.test` to `acme_ip`.
    fn start(ip: Ipv4Addr, acme_ip: Ipv4Addr, records: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let zone = format!(
            "$ORIGIN example.test.\n$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n\
             @ NS ns1\nns1 A {ip}\nauth NS ns.auth\nns.auth A {acme_ip}\n{}\n",
            records.join("\n")
        );
        std::fs::write(dir.path().join("example.test.zone"), zone).unwrap();
        let conf = format!(
            "server:\n  rundir: \"{d}\"\n  user: root:root\n  listen: {ip}@53\n  pidfile: \"{d}/knot.pid\"\n\
             control:\n  listen: \"{d}/knot.sock\"\n\
             database:\n  storage: \"{d}/db\"\n\
             log:\n  - target: stderr\n    any: warning\n\
             zone:\n  - domain: example.test\n    storage: \"{d}\"\n    file: \"example.test.zone\"\n    journal-content: none\n"
        );
        std::fs::write(dir.path().join("knot.conf"), conf).unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        let child = Command::new("knotd")
            .arg("-c")
            .arg(dir.path().join("knot.conf"))
            .stdout(Stdio::null())
            .spawn()
            .expect("knotd");
        let knot = Self {
            child,
            addr: format!("{ip}:53"),
            _dir: dir,
        };
        wait_for(
            "knot to serve example.test",
            Duration::from_secs(20),
            || {
                Command::new("kdig")
                    .arg(format!("@{ip}"))
                    .args(["+short", "+timeout=1", "+retry=0", "SOA", "example.test"])
                    .output()
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("hostmaster"))
            },
        );
        knot
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A DNS-01 value: unpadded base64url of a SHA-256, as acme-dns requires.
fn txt_value(seed: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(seed))
}

fn record(identifier: &str, value: &str) -> ChallengeRecord {
    let base = identifier.trim_start_matches("*.");
    ChallengeRecord {
        identifier: identifier.into(),
        fqdn: format!("_acme-challenge.{base}."),
        value: value.into(),
    }
}

fn load_config(wd: &Workdir) -> Config {
    config::load(&wd.path().join("certpilot.toml")).unwrap()
}

fn keystore(wd: &Workdir) -> Keystore {
    Keystore::open(StoreKind::Keyutils, &wd.service)
        .expect("keyutils (run inside `keyctl session`)")
}

/// The solver `issue` would build for `domain`, looking up DNS through `resolver`.
fn solver_for(wd: &Workdir, domain: &str, resolver: &str, timeout: u64) -> Arc<dyn Solver> {
    let mut cfg = load_config(wd);
    cfg.settings.resolvers = vec![resolver.to_owned()];
    cfg.settings.propagation_timeout = timeout;
    let (suffix, mapping) = cfg.solver_for(domain).expect("domain mapped");
    let keystore = keystore(wd);
    let deps = SolverDeps {
        config: &cfg,
        domain: suffix,
        hook_timeout: Duration::from_secs(5),
        keystore: &keystore,
    };
    providers::from_config(mapping, &deps).expect("acme-dns solver")
}

fn present(solver: &dyn Solver, records: &[ChallengeRecord]) -> Result<(), String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let result = solver.present(records).await.map_err(|e| e.to_string());
        solver.cleanup(records).await.unwrap();
        result
    })
}

/// No file below the workdir (config, log) and no output may hold a password.
fn assert_no_secrets(wd: &Workdir, outputs: &[String], secrets: &[String]) {
    let mut stack = vec![wd.path().to_path_buf()];
    let mut texts: Vec<(String, String)> = outputs
        .iter()
        .map(|o| ("command output".to_owned(), o.clone()))
        .collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.starts_with(wd.path().join("import")) {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                texts.push((path.display().to_string(), text));
            }
        }
    }
    for (place, text) in texts {
        for secret in secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a password leaked into {place}"
            );
        }
    }
}

/// One test's parts: the acme-dns server, a workdir, and every output seen (for the scan).
struct Rig {
    acme: AcmeDns,
    wd: Workdir,
    knot_ip: Ipv4Addr,
    acme_ip: Ipv4Addr,
    outputs: RefCell<Vec<String>>,
}

impl Rig {
    /// `None` (a skip) without knot or without port 53 on loopback.
    fn new(tag: &str) -> Option<Self> {
        if !require_tool("knotd") || !require_tool("kdig") {
            return None;
        }
        let (knot_ip, acme_ip) = addresses()?;
        Some(Self {
            acme: AcmeDns::start(acme_ip),
            wd: Workdir::new(tag),
            knot_ip,
            acme_ip,
            outputs: RefCell::default(),
        })
    }

    fn run(&self, args: &[&str]) -> common::Run {
        let run = self.wd.run(args);
        self.outputs.borrow_mut().push(run.stdout() + &run.stderr());
        run
    }

    /// `acme-dns register` + `domain set`; returns register's stdout.
    fn register(&self, domain: &str, extra: &[&str]) -> String {
        let url = self.acme.url.as_str();
        // Zone discovery goes to knot's address (answered, or refused at once when knot is
        // not started yet), never to the sandbox's unreachable system resolver.
        let resolver = format!("{}:53", self.knot_ip);
        let mut args = vec!["--resolver", &resolver, "acme-dns", "register", domain];
        args.extend_from_slice(&["--server", url]);
        args.extend_from_slice(extra);
        let out = self.run(&args).ok().stdout();
        self.map();
        out
    }

    fn map(&self) {
        let url = self.acme.url.as_str();
        self.run(&[
            "domain",
            "set",
            "example.test",
            "--solver",
            "acme-dns",
            "--server",
            url,
        ])
        .ok();
    }

    fn fulldomain(&self, domain: &str) -> String {
        load_config(&self.wd).acme_dns[domain].fulldomain.clone()
    }

    fn knot(&self, records: &[String]) -> Knot {
        Knot::start(self.knot_ip, self.acme_ip, records)
    }

    fn check(&self, knot: &Knot, domain: &str) -> common::Run {
        self.run(&["--resolver", &knot.addr, "acme-dns", "check", domain])
    }

    fn scan(&self, secrets: &[String]) {
        assert_no_secrets(&self.wd, &self.outputs.borrow(), secrets);
    }
}

fn sorted(values: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = values.iter().map(|s| (*s).clone()).collect();
    v.sort();
    v
}

#[test]
fn register_check_update_through_the_solver_and_list() {
    let Some(rig) = Rig::new("acmedns-register") else {
        return;
    };
    let out = rig.register("*.example.test", &["--allow-from", "127.0.0.0/8"]);
    let full = rig.fulldomain("example.test");
    assert!(full.ends_with(".auth.example.test"), "{full}");
    for want in [
        format!("_acme-challenge.example.test. IN CNAME {full}."),
        "web UI (zone example.test)".to_owned(),
        "name:   _acme-challenge\n".to_owned(),
        format!("value:  {full}"),
        format!(
            "certpilot domain set example.test --solver acme-dns --server {}",
            rig.acme.url
        ),
    ] {
        assert!(out.contains(&want), "missing {want:?} in\n{out}");
    }
    let password = keystore(&rig.wd)
        .get(&SecretRef::AcmeDns("example.test".into()))
        .unwrap()
        .expect("password in the keyring");
    assert_eq!(password.len(), 40);

    // www shares the apex's account: its CNAME points at the same fulldomain.
    let knot = rig.knot(&[
        format!("_acme-challenge CNAME {full}."),
        format!("_acme-challenge.www CNAME {full}."),
    ]);
    let run = rig.check(&knot, "example.test");
    assert!(run.ok().stdout().contains("delegated"), "{}", run.stdout());

    let solver = solver_for(&rig.wd, "example.test", &knot.addr, 30);
    let (apex, wild) = (txt_value("apex"), txt_value("wildcard"));
    present(
        &*solver,
        &[
            record("example.test", &apex),
            record("*.example.test", &wild),
        ],
    )
    .unwrap();
    let want = sorted(&[&apex, &wild]);
    assert_eq!(rig.acme.txt(&full), want, "both values served");

    // A third value on the same account is refused with the split, and nothing is sent.
    let third = [
        record("example.test", &txt_value("a2")),
        record("*.example.test", &txt_value("w2")),
        record("www.example.test", &txt_value("www")),
    ];
    let e = present(&*solver, &third).unwrap_err();
    assert!(
        e.contains("3 TXT values would go to the acme-dns account"),
        "{e}"
    );
    assert!(
        e.contains("certpilot acme-dns register www.example.test"),
        "{e}"
    );
    assert_eq!(rig.acme.txt(&full), want, "nothing was sent");

    let run = rig.run(&["acme-dns", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&run.ok().stdout()).unwrap();
    assert_eq!(rows[0]["domain"], "example.test");
    assert_eq!(rows[0]["fulldomain"], full.as_str());
    assert_eq!(rows[0]["allowfrom"], serde_json::json!(["127.0.0.0/8"]));
    assert!(rows[0].get("password").is_none());
    rig.scan(&[password]);
}

#[test]
fn a_second_order_on_the_same_account_waits_for_the_first() {
    let Some(rig) = Rig::new("acmedns-serial") else {
        return;
    };
    rig.register("example.test", &[]);
    let full = rig.fulldomain("example.test");
    let knot = rig.knot(&[format!("_acme-challenge CNAME {full}.")]);
    let first = solver_for(&rig.wd, "example.test", &knot.addr, 30);
    let second = solver_for(&rig.wd, "example.test", &knot.addr, 1);
    let (a, b) = (
        [record("example.test", &txt_value("a"))],
        [record("example.test", &txt_value("b"))],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        first.present(&a).await.unwrap();
        // The first order still holds the account: the second gives up after its timeout
        // instead of evicting the first one's value.
        let e = second.present(&b).await.unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "acme-dns account {full} is still used by another order"
            )),
            "{e}"
        );
        second.cleanup(&b).await.unwrap();
        assert_eq!(rig.acme.txt(&full), [a[0].value.clone()]);
        first.cleanup(&a).await.unwrap();
        second.present(&b).await.unwrap();
        second.cleanup(&b).await.unwrap();
    });
    assert_eq!(rig.acme.txt(&full), sorted(&[&a[0].value, &b[0].value]));
}

#[test]
fn a_missing_or_wrong_cname_is_refused_naming_the_record() {
    let Some(rig) = Rig::new("acmedns-cname") else {
        return;
    };
    rig.register("example.test", &[]);
    let full = rig.fulldomain("example.test");
    let knot = rig.knot(&[
        "_acme-challenge TXT \"leftover\"".to_owned(),
        format!("_acme-challenge.www CNAME old.{ZONE}."),
    ]);

    let run = rig.check(&knot, "example.test");
    let err = run.expect_code(1).stderr();
    assert!(
        err.contains(&format!(
            "create _acme-challenge.example.test. IN CNAME {full}."
        )),
        "{err}"
    );
    assert!(err.contains("delete the 1 TXT record(s)"), "{err}");
    // Registered while the zone is served, the web UI form is relative to the real zone.
    let out = rig.register("www.example.test", &[]);
    assert!(out.contains("web UI (zone example.test)"), "{out}");
    assert!(out.contains("name:   _acme-challenge.www\n"), "{out}");
    let run = rig.check(&knot, "www.example.test");
    assert!(
        run.expect_code(1)
            .stderr()
            .contains(&format!("CNAME to old.{ZONE}")),
        "{}",
        run.stderr()
    );
    assert!(
        run.stdout().contains("name:   _acme-challenge.www\n"),
        "{}",
        run.stdout()
    );

    let solver = solver_for(&rig.wd, "example.test", &knot.addr, 30);
    let e = present(&*solver, &[record("example.test", &txt_value("x"))]).unwrap_err();
    assert!(e.contains("certpilot stops here"), "{e}");
    assert!(
        e.contains(&format!("_acme-challenge.example.test. IN CNAME {full}.")),
        "{e}"
    );
    assert!(
        rig.acme.txt(&full).is_empty(),
        "no update before the CNAME is right"
    );

    // The check the engine calls before an order says the same.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let names = ["example.test".to_owned(), "*.example.test".to_owned()];
    let resolvers = std::slice::from_ref(&knot.addr);
    let cfg = load_config(&rig.wd);
    let verify = certpilot::acmedns::verify_delegation(&cfg, &names, resolvers);
    let e = rt.block_on(verify).unwrap_err().to_string();
    assert!(e.contains("_acme-challenge.example.test: no CNAME"), "{e}");
}

/// goacmedns storage (lego, acme-dns-client): the sample's layout with a real account.
fn goacmedns_file(dir: &Path, account: &serde_json::Value, url: &str) -> PathBuf {
    let mut file: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/acmedns/goacmedns-storage.json")).unwrap();
    file.as_object_mut().unwrap().remove("www.example.test");
    let entry = &mut file["example.test"];
    for field in ["username", "password", "fulldomain", "subdomain"] {
        entry[field] = account[field].clone();
    }
    entry["server_url"] = url.into();
    let path = dir.join("lego-acme-dns.json");
    std::fs::write(&path, file.to_string()).unwrap();
    path
}

/// certbot-dns-acmedns keeps the /register answer verbatim, without the server.
fn certbot_file(dir: &Path, account: &serde_json::Value) -> PathBuf {
    let path = dir.join("acmedns.json");
    std::fs::write(
        &path,
        serde_json::json!({ "www.example.test": account }).to_string(),
    )
    .unwrap();
    path
}

#[test]
fn imported_goacmedns_and_certbot_credentials_work() {
    let Some(rig) = Rig::new("acmedns-import") else {
        return;
    };
    let apex = rig.acme.register_raw("");
    let www = rig.acme.register_raw(r#"{"allowfrom": ["127.0.0.0/8"]}"#);
    let dir = rig.wd.path().join("import");
    std::fs::create_dir_all(&dir).unwrap();
    let (go_file, cb_file) = (
        goacmedns_file(&dir, &apex, &rig.acme.url),
        certbot_file(&dir, &www),
    );

    let run = rig.run(&["acme-dns", "import", go_file.to_str().unwrap()]);
    assert!(
        run.ok().stdout().contains("goacmedns storage"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout()
            .contains(&format!("rm -- {}", go_file.display())),
        "{}",
        run.stdout()
    );
    let run = rig.run(&["acme-dns", "import", cb_file.to_str().unwrap()]);
    assert!(
        run.expect_code(2).stderr().contains("pass --server URL"),
        "{}",
        run.stderr()
    );
    let run = rig.run(&[
        "acme-dns",
        "import",
        cb_file.to_str().unwrap(),
        "--server",
        &rig.acme.url,
    ]);
    assert!(
        run.ok().stdout().contains("certbot-dns-acmedns"),
        "{}",
        run.stdout()
    );
    assert!(run.stdout().contains("delete it"), "{}", run.stdout());
    assert_eq!(
        load_config(&rig.wd).acme_dns["www.example.test"].allowfrom,
        ["127.0.0.0/8"]
    );

    let field = |v: &serde_json::Value, f: &str| v[f].as_str().unwrap().to_owned();
    let (apex_full, www_full) = (field(&apex, "fulldomain"), field(&www, "fulldomain"));
    let knot = rig.knot(&[
        format!("_acme-challenge CNAME {apex_full}."),
        format!("_acme-challenge.www CNAME {www_full}."),
    ]);
    rig.map();
    let solver = solver_for(&rig.wd, "example.test", &knot.addr, 30);
    let values = [txt_value("1"), txt_value("2"), txt_value("3")];
    let records = [
        record("example.test", &values[0]),
        record("*.example.test", &values[1]),
        record("www.example.test", &values[2]),
    ];
    present(&*solver, &records).unwrap();
    assert_eq!(rig.acme.txt(&apex_full), sorted(&[&values[0], &values[1]]));
    assert_eq!(rig.acme.txt(&www_full), [values[2].clone()]);

    rig.run(&["acme-dns", "list", "--json"]).ok();
    rig.scan(&[field(&apex, "password"), field(&www, "password")]);
}

#[test]
fn plain_http_to_a_remote_server_is_refused_and_nothing_is_written() {
    let wd = Workdir::new("acmedns-http");
    let run = wd.run(&[
        "acme-dns",
        "register",
        "example.test",
        "--server",
        "http://192.0.2.1:8080",
    ]);
    assert!(
        run.expect_code(2)
            .stderr()
            .contains("--allow-insecure-http"),
        "{}",
        run.stderr()
    );

    let file = wd.path().join("goacmedns.json");
    let text = include_str!("fixtures/acmedns/goacmedns-storage.json")
        .replace("127.0.0.1:8444", "acme.example.test");
    std::fs::write(&file, text).unwrap();
    let run = wd.run(&["acme-dns", "import", file.to_str().unwrap()]);
    let err = run.expect_code(2).stderr();
    assert!(
        err.contains("refusing plain http to http://acme.example.test"),
        "{err}"
    );
    assert!(
        !err.contains("ZxY9wV8uT7sR6qP5oN4mL3kJ2iH1gF0eDcBa-_Qw"),
        "{err}"
    );
    assert!(!wd.path().join("certpilot.toml").exists());
}

#[test]
fn a_domain_mapped_to_acme_dns_without_registration_names_the_command() {
    let wd = Workdir::new("acmedns-unregistered");
    let server = "https://acme.example.test";
    wd.run(&[
        "domain",
        "set",
        "example.test",
        "--solver",
        "acme-dns",
        "--server",
        server,
    ])
    .ok();
    let cfg = load_config(&wd);
    let keystore = keystore(&wd);
    let deps = SolverDeps {
        config: &cfg,
        domain: "example.test",
        hook_timeout: Duration::from_secs(5),
        keystore: &keystore,
    };
    let mapping = DomainConfig::AcmeDns {
        server: server.into(),
    };
    let Err(e) = providers::from_config(&mapping, &deps) else {
        panic!("built without a registration")
    };
    let want = format!("run `certpilot acme-dns register example.test --server {server}`");
    assert!(e.contains(&want), "{e}");
}
