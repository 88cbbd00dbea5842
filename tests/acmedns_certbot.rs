//! A foreign ACME client issuing through certpilot's acme-dns server: certbot (`PyPI`) with the
//! `certbot-dns-acmedns` plugin, against Pebble, for apex + wildcard + www.
//!
//! The accounts are registered with pyacmedns into the plugin's registration file
//! (tests/fixtures/acmedns-register.py: the plugin never registers by itself), knot serves the
//! customer zone with the `_acme-challenge` CNAMEs, and certbot's updates to certpilot's
//! `/update` are what Pebble validates, through unbound following the CNAMEs. The apex and
//! its wildcard share one account, so that account holds two TXT values at once.
//!
//! Addresses: 127.0.220.1 knot (example.test), .2 certpilot's acme-dns server (acme.test,
//! DNS on :53, HTTP on :80), .3 unbound. Needs root (port 53), knot, unbound, Pebble and
//! certbot 1.32 + certbot-dns-acmedns in target/pydeps-certbot (scripts/test-deps.sh).
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[path = "common/acmedns_tree.rs"]
mod acmedns_tree;
mod common;
mod dns_tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use acmedns_tree::{
    api_url, customer_zone, resolver, start_acmedns_server, start_knot, start_unbound, Guard,
};
use common::pebble::{Pebble, PebbleOptions};
use common::wait_for;

const NET: u8 = 220;
/// certbot's whole run: account, order, three challenges, finalize, download.
const CERTBOT_WITHIN: Duration = Duration::from_secs(180);
const NAMES: [&str; 3] = ["example.test", "*.example.test", "www.example.test"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `python3` with certbot's own library directory first on the path, warnings off (certbot
/// 1.x imports `pkg_resources`, which warns on every start), and no proxy: every request of
/// this test goes to loopback.
fn python() -> Command {
    let mut cmd = Command::new("python3");
    cmd.env("PYTHONPATH", repo().join("target/pydeps-certbot"))
        .env("PYTHONWARNINGS", "ignore")
        .env("NO_PROXY", "*")
        .stdin(Stdio::null());
    for var in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Whether certbot and the plugin import; prints why not (and panics in CI).
fn certbot_available() -> bool {
    let probe = python()
        .args([
            "-c",
            "import certbot.main, certbot_dns_acmedns.dns_acmedns, pyacmedns",
        ])
        .output();
    let ok = probe.as_ref().is_ok_and(|o| o.status.success());
    if !ok {
        let why = probe.map_or_else(
            |e| e.to_string(),
            // The traceback's last line names the missing module.
            |o| {
                let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
                stderr.lines().last().unwrap_or_default().to_owned()
            },
        );
        assert!(
            !common::in_ci(),
            "certbot + certbot-dns-acmedns are required in CI (scripts/test-deps.sh): {why}"
        );
        eprintln!(
            "SKIP: certbot + certbot-dns-acmedns not importable (run scripts/test-deps.sh): {why}"
        );
    }
    ok
}

/// Registers every name with pyacmedns into the plugin's registration file; name → fulldomain.
fn register(api_url: &str, registration_file: &Path) -> BTreeMap<String, String> {
    let out = python()
        .arg(repo().join("tests/fixtures/acmedns-register.py"))
        .arg(api_url)
        .arg(registration_file)
        .args(NAMES)
        .output()
        .expect("run acmedns-register.py");
    assert!(
        out.status.success(),
        "registration failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("registration output is JSON")
}

/// Runs certbot to completion (bounded); returns its exit code and combined output.
fn run_certbot(args: &[String], ca_bundle: &Path, dir: &Path) -> (Option<i32>, String, Duration) {
    let out_path = dir.join("certbot.out");
    let out = std::fs::File::create(&out_path).unwrap();
    let started = Instant::now();
    let child = python()
        .args([
            "-c",
            "import sys; from certbot.main import main; sys.exit(main())",
        ])
        .args(args)
        .env("REQUESTS_CA_BUNDLE", ca_bundle)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start certbot");
    let mut certbot = Guard(child);
    let mut status = None;
    wait_for("certbot to finish", CERTBOT_WITHIN, || {
        status = certbot.0.try_wait().expect("wait for certbot");
        status.is_some()
    });
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    (status.and_then(|s| s.code()), output, started.elapsed())
}

/// DNS names in the certificate's subjectAltName, sorted.
fn san_names(pem: &[u8]) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).expect("PEM");
    let cert = pem.parse_x509().expect("X.509");
    let san = cert
        .subject_alternative_name()
        .expect("valid extensions")
        .expect("a subjectAltName");
    let mut names: Vec<String> = san
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some((*d).to_owned()),
            _ => None,
        })
        .collect();
    names.sort();
    names
}

/// Non-empty TXT values per subdomain, read from the server's own database.
fn served_values(db: &Path) -> BTreeMap<String, usize> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the acme-dns database");
    let mut stmt = conn
        .prepare("SELECT subdomain, COUNT(*) FROM txt WHERE value != '' GROUP BY subdomain")
        .unwrap();
    stmt.query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)?)))
        .unwrap()
        .map(|r| {
            let (subdomain, count) = r.unwrap();
            (subdomain, usize::try_from(count).unwrap())
        })
        .collect()
}

#[test]
fn certbot_with_the_acmedns_plugin_issues_through_certpilots_server() {
    if !dns_tree::available(NET)
        || !common::require_tool("unbound")
        || !common::require_tool("pebble")
        || !certbot_available()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let _server = start_acmedns_server(NET, dir.path());
    let api_url = api_url(NET);

    let registration_file = dir.path().join("acmedns.json");
    let targets = register(&api_url, &registration_file);
    let apex_target = &targets["example.test"];
    assert_eq!(
        &targets["*.example.test"], apex_target,
        "wildcard shares the apex account"
    );
    let www_target = &targets["www.example.test"];
    assert_ne!(www_target, apex_target);

    let zone = customer_zone(
        NET,
        1,
        &[
            ("_acme-challenge", apex_target.as_str()),
            ("_acme-challenge.www", www_target.as_str()),
        ],
    );
    let _knot = start_knot(NET, zone);
    let _unbound = start_unbound(NET, dir.path());
    let resolver = format!("{}:53", resolver(NET));
    let Some(pebble) = Pebble::start_with_dns(PebbleOptions::default(), &resolver) else {
        return;
    };

    let credentials = dir.path().join("credentials.ini");
    std::fs::write(
        &credentials,
        format!(
            "dns_acmedns_api_url = {api_url}\ndns_acmedns_registration_file = {}\n",
            registration_file.display()
        ),
    )
    .unwrap();
    set_mode_600(&credentials);
    let certbot_dir = dir.path().join("certbot");
    let path_arg = |sub: &str| certbot_dir.join(sub).to_string_lossy().into_owned();
    let mut args: Vec<String> = [
        "certonly",
        "--non-interactive",
        "--agree-tos",
        "--register-unsafely-without-email",
        "--server",
        &pebble.directory,
        "--authenticator",
        "dns-acmedns",
        "--dns-acmedns-credentials",
        &credentials.to_string_lossy(),
        // The server answers an update at once and unbound caches nothing.
        "--dns-acmedns-propagation-seconds",
        "0",
        "--cert-name",
        "example",
        "--config-dir",
        &path_arg("config"),
        "--work-dir",
        &path_arg("work"),
        "--logs-dir",
        &path_arg("logs"),
    ]
    .map(str::to_owned)
    .to_vec();
    for name in NAMES {
        args.extend(["-d".to_owned(), name.to_owned()]);
    }

    let (code, output, elapsed) = run_certbot(&args, &pebble.ca_bundle, dir.path());
    let server_log = || {
        std::fs::read_to_string(dir.path().join("certpilot/state/certpilot.log"))
            .unwrap_or_default()
    };
    assert_eq!(
        code,
        Some(0),
        "certbot failed:\n{output}\n--- certbot log:\n{}\n--- acme-dns server log:\n{}\n--- pebble log:\n{}",
        std::fs::read_to_string(certbot_dir.join("logs/letsencrypt.log")).unwrap_or_default(),
        server_log(),
        pebble.log()
    );
    eprintln!("certbot issued in {:.1} s", elapsed.as_secs_f64());

    let cert = std::fs::read(certbot_dir.join("config/live/example/cert.pem"))
        .expect("certbot wrote live/example/cert.pem");
    assert_eq!(
        san_names(&cert),
        vec!["*.example.test", "example.test", "www.example.test"]
    );

    // certbot's updates reached certpilot's server: two values on the shared apex account
    // (apex + wildcard at once, both slots), one on www's.
    let subdomain = |fulldomain: &str| fulldomain.split('.').next().unwrap().to_owned();
    let expected = [(subdomain(apex_target), 2), (subdomain(www_target), 1)];
    assert_eq!(
        served_values(&dir.path().join("acmedns.sqlite")),
        BTreeMap::from(expected.clone())
    );
    // ...and each was logged (the log is written by a background thread: wait for it).
    let logged = |log: &str, sub: &str| {
        log.lines()
            .filter(|l| l.contains("TXT updated") && l.contains(sub))
            .count()
    };
    let all_logged = || {
        let log = server_log();
        expected.iter().all(|(sub, n)| logged(&log, sub) == *n)
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !all_logged() {
        assert!(
            Instant::now() < deadline,
            "expected {expected:?} updates in:\n{}",
            server_log()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn set_mode_600(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
