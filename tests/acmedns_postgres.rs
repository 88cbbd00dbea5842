//! Two `certpilot acme-dns serve` instances on one real PostgreSQL act as one acme-dns server:
//! an account registered on one updates through the other, both answer DNS with every commit
//! at once, updates on both evict in order, and killing one instance (SIGKILL) under load loses
//! no acknowledged update. The database keeps acme-dns' own layout (checked with `psql`).
//! Also: an acme-dns PostgreSQL database served in place. Addresses: 127.0.151.0/24 (servers
//! .1/.2, PostgreSQL .10), 127.0.152.0/24 and 127.0.154.0/24.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

#[path = "common/acmedns_child.rs"]
mod acmedns_child;

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use acmedns_child::{wait_until, Served};
use common::postgres::Postgres;

#[derive(Debug, Clone, serde::Deserialize)]
struct Account {
    username: String,
    password: String,
    subdomain: String,
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn register(http: &reqwest::blocking::Client, server: &Served) -> Account {
    let reply = http
        .post(format!("http://{}/register", server.http))
        .body("{}")
        .send()
        .expect("register");
    assert_eq!(reply.status().as_u16(), 201);
    reply.json().expect("account")
}

/// POST /update; the status, or `None` when the request got no answer.
fn update(
    http: &reqwest::blocking::Client,
    server: &Served,
    account: &Account,
    value: &str,
) -> Option<u16> {
    update_at(http, server.http, account, value)
}

/// A 43-character TXT value, unique per `n`.
fn txt(n: usize) -> String {
    format!("{n:0>43}")
}

fn sorted(values: &[&String]) -> Vec<String> {
    let mut values: Vec<String> = values.iter().map(|v| (*v).clone()).collect();
    values.sort();
    values
}

fn psql(pg: &Postgres, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-X", "-A", "-t", "-d", &pg.url(), "-c", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn pair(net: u8) -> Option<(Postgres, Served, Served)> {
    if !common::postgres::available() {
        return None;
    }
    let pg = Postgres::start(&format!("127.0.{net}.10"), 5432);
    let url = pg.url();
    let a = Served::start_on(&format!("127.0.{net}.1"), &url, "", "", "");
    let b = Served::start_on(&format!("127.0.{net}.2"), &url, "", "", "");
    Some((pg, a, b))
}

#[test]
fn two_instances_on_one_database_act_as_one_server() {
    let Some((pg, a, b)) = pair(151) else { return };
    let http = client();
    let account = register(&http, &a);
    assert_eq!(
        a.txt(&account.subdomain),
        Some(vec![]),
        "no values before an update"
    );
    assert_eq!(
        update(&http, &b, &account, &txt(1)),
        Some(200),
        "registered on A, updated on B"
    );
    // No waiting: both instances read every commit.
    assert_eq!(a.txt(&account.subdomain), Some(vec![txt(1)]));
    assert_eq!(b.txt(&account.subdomain), Some(vec![txt(1)]));
    assert_eq!(update(&http, &a, &account, &txt(2)), Some(200));
    assert_eq!(update(&http, &b, &account, &txt(3)), Some(200));
    for server in [&a, &b] {
        assert_eq!(
            server.txt(&account.subdomain),
            Some(vec![txt(2), txt(3)]),
            "the oldest value was evicted, across instances and within one second"
        );
    }
    let other = register(&http, &b);
    assert_eq!(update(&http, &a, &other, &txt(4)), Some(200));
    assert_eq!(b.txt(&other.subdomain), Some(vec![txt(4)]));
    // acme-dns' own layout, so acme-dns could take the database back.
    assert_eq!(
        psql(&pg, "SELECT Value FROM acmedns WHERE Name = 'db_version'"),
        "1"
    );
    assert_eq!(psql(&pg, "SELECT COUNT(*) FROM records"), "2");
    assert_eq!(psql(&pg, "SELECT COUNT(*) FROM txt"), "4");
    let stored = psql(
        &pg,
        &format!(
            "SELECT Password LIKE '$2%', AllowFrom FROM records WHERE Username = '{}'",
            account.username
        ),
    );
    assert_eq!(stored, "t|[]", "a bcrypt hash and a JSON allowfrom");
}

/// What one load client saw: the values acknowledged in order, and the one whose request
/// got no answer (it may or may not have been committed).
#[derive(Debug, Default)]
struct Seen {
    acked: Vec<String>,
    in_flight: Option<String>,
}

#[test]
fn killing_an_instance_under_load_loses_no_acknowledged_update() {
    let Some((_pg, a, b)) = pair(152) else { return };
    let http = client();
    let accounts: Vec<Account> = (0..16).map(|_| register(&http, &a)).collect();
    let (a, b) = (Arc::new(a), Arc::new(std::sync::Mutex::new(b)));
    let b_addr = b.lock().expect("lock").http;
    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = accounts
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, account)| {
            let (a, stop, acks) = (Arc::clone(&a), Arc::clone(&stop), Arc::clone(&acks));
            std::thread::spawn(move || {
                let http = client();
                let mut seen = Seen::default();
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let value = txt(i * 1_000_000 + n);
                    // Even accounts go through A, odd ones through B (until B dies).
                    let status = if i % 2 == 0 {
                        update(&http, &a, &account, &value)
                    } else {
                        update_at(&http, b_addr, &account, &value)
                    };
                    match status {
                        Some(200) => {
                            seen.acked.push(value);
                            acks.fetch_add(1, Ordering::SeqCst);
                        }
                        _ => {
                            seen.in_flight = Some(value);
                            break;
                        }
                    }
                }
                (account, seen)
            })
        })
        .collect();
    wait_until("200 updates were acknowledged", || {
        acks.load(Ordering::SeqCst) >= 200
    });
    b.lock().expect("lock").kill();
    let after_kill = acks.load(Ordering::SeqCst);
    wait_until("A keeps acknowledging after B died", || {
        acks.load(Ordering::SeqCst) >= after_kill + 100
    });
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        let (account, seen) = worker.join().expect("worker");
        let served = a.txt(&account.subdomain).expect("A answers");
        let last = seen.acked.last().expect("some updates were acknowledged");
        assert!(
            served.contains(last),
            "{}: lost {last}; serves {served:?}",
            account.subdomain
        );
        let before = seen.acked.iter().rev().nth(1);
        match &seen.in_flight {
            None => {
                let want: Vec<&String> = before.into_iter().chain([last]).collect();
                assert_eq!(served, sorted(&want), "{}", account.subdomain);
            }
            Some(maybe) => {
                let allowed: Vec<&String> = before.into_iter().chain([last, maybe]).collect();
                assert!(
                    served.iter().all(|v| allowed.contains(&v)),
                    "{}: serves {served:?}, expected two of {allowed:?}",
                    account.subdomain
                );
            }
        }
    }
}

/// POST /update to an address (the killed instance's, held apart from its guard).
fn update_at(
    http: &reqwest::blocking::Client,
    addr: std::net::SocketAddr,
    account: &Account,
    value: &str,
) -> Option<u16> {
    let body = format!(
        "{{\"subdomain\":\"{}\",\"txt\":\"{value}\"}}",
        account.subdomain
    );
    http.post(format!("http://{addr}/update"))
        .header("X-Api-User", &account.username)
        .header("X-Api-Key", &account.password)
        .body(body)
        .send()
        .ok()
        .map(|r| r.status().as_u16())
}

#[test]
fn an_acme_dns_postgres_database_is_served_in_place() {
    if !common::postgres::available() {
        return;
    }
    let pg = Postgres::start("127.0.154.10", 5432);
    // acme-dns' PostgreSQL tables (db.go: acmeTable, userTable, txtTablePG) and an account as
    // lib/pq stores it (the bcrypt hash as text; AllowFrom `null`).
    let hash = bcrypt::hash("A".repeat(40), 10).expect("hash");
    psql(
        &pg,
        &format!(
            "CREATE TABLE acmedns (Name TEXT, Value TEXT);
             CREATE TABLE records (Username TEXT UNIQUE NOT NULL PRIMARY KEY,
                 Password TEXT UNIQUE NOT NULL, Subdomain TEXT UNIQUE NOT NULL, AllowFrom TEXT);
             CREATE TABLE txt (rowid SERIAL, Subdomain TEXT NOT NULL,
                 Value TEXT NOT NULL DEFAULT '', LastUpdate INT);
             INSERT INTO acmedns VALUES ('db_version', '1');
             INSERT INTO records VALUES ('0b6c2e1a-1111-4000-8000-000000000001', '{hash}',
                 '5d4c3b2a-1111-4000-8000-000000000001', 'null');
             INSERT INTO txt (Subdomain, LastUpdate) VALUES
                 ('5d4c3b2a-1111-4000-8000-000000000001', 0),
                 ('5d4c3b2a-1111-4000-8000-000000000001', 0);"
        ),
    );
    let server = Served::start_on("127.0.154.1", &pg.url(), "", "", "");
    let account = Account {
        username: "0b6c2e1a-1111-4000-8000-000000000001".into(),
        password: "A".repeat(40),
        subdomain: "5d4c3b2a-1111-4000-8000-000000000001".into(),
    };
    let http = client();
    assert_eq!(update(&http, &server, &account, &txt(7)), Some(200));
    assert_eq!(server.txt(&account.subdomain), Some(vec![txt(7)]));
    // acme-dns' own read, and its LastUpdate in seconds.
    assert_eq!(
        psql(
            &pg,
            &format!(
                "SELECT Value FROM txt WHERE Subdomain = '{}' AND LastUpdate > 1700000000",
                account.subdomain
            )
        ),
        txt(7)
    );
}

/// A minimal server config for `database` (for the commands that only read `database`).
fn config_file(dir: &std::path::Path, database: &str) -> std::path::PathBuf {
    let path = dir.join("server.toml");
    std::fs::write(
        &path,
        format!(
            "zone = \"auth.example.test\"\ndatabase = \"{database}\"\n\
             nameservers = [\"ns1.auth.example.test\"]\n\
             [dns]\nlisten = [\"127.0.157.3:5300\"]\n[http]\nlisten = \"127.0.157.3:8080\"\n\
             [soa]\nmname = \"ns1.auth.example.test\"\nrname = \"hostmaster.auth.example.test\"\n"
        ),
    )
    .expect("config");
    path
}

#[test]
fn the_database_password_lives_in_the_keyring_not_in_the_url() {
    if !common::postgres::available() {
        return;
    }
    let pg = Postgres::start_with_password("127.0.157.10", 5432, "pg-secret-7");
    let dir = tempfile::tempdir().expect("tempdir");
    let service = common::unique_service("acmedns-pg");
    let keystore = common::test_keystore();
    let envs = [
        ("CERTPILOT_KEYRING_SERVICE", service.as_str()),
        ("CERTPILOT_KEYSTORE", keystore.as_str()),
    ];
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_certpilot"))
            .args(args)
            .env("CERTPILOT_DIR", dir.path().join("home"))
            .envs(envs)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), stdin.as_bytes())
            .expect("stdin");
        child.wait_with_output().expect("output")
    };
    // A password in the URL is refused, naming the way to store it.
    let with_password = pg.url().replace("postgres@", "postgres:pg-secret-7@");
    let refused = config_file(dir.path(), &with_password);
    let out = run(
        &[
            "acme-dns",
            "serve",
            "--config",
            refused.to_str().expect("path"),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("acme-dns db-password") && !stderr.contains("pg-secret-7"),
        "{stderr}"
    );
    // Stored through the command, read by the server from the keyring.
    let config = config_file(dir.path(), &pg.url());
    let out = run(
        &[
            "acme-dns",
            "db-password",
            "--config",
            config.to_str().expect("path"),
        ],
        "pg-secret-7\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Served::spawn("127.0.157.1", &pg.url(), "", "", "", &envs);
    wait_until(
        "the server answers on the password-protected database",
        || server.health() == Some(200),
    );
    let http = client();
    let account = register(&http, &server);
    assert_eq!(update(&http, &server, &account, &txt(9)), Some(200));
    assert_eq!(server.txt(&account.subdomain), Some(vec![txt(9)]));
    assert!(!server.log().contains("pg-secret-7"));
}
