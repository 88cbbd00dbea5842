//! certpilot's server as a drop-in for acme-dns: `serve` opens a database acme-dns wrote (its
//! `SQLite` file, made here from acme-dns' schema in `tests/fixtures/acmedns/` with accounts
//! stored the way acme-dns stores them), existing credentials, subdomains, allowfrom and TXT
//! rows keep working, and the file stays one acme-dns can use again (its own queries, its
//! journal mode and version row; new accounts in its format). Addresses: 127.0.153.0/24.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[path = "common/acmedns_child.rs"]
mod acmedns_child;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use acmedns_child::Served;
use rusqlite::{params, Connection};

/// An account as acme-dns registered it.
struct Stored {
    username: String,
    password: String,
    subdomain: String,
}

fn txt(n: usize) -> String {
    format!("{n:0>43}")
}

/// Insert an account the way acme-dns does: bcrypt hash (cost 10) bound as a blob, AllowFrom
/// as JSON (`null` when none was given), two txt rows with `LastUpdate` 0.
fn insert(conn: &Connection, n: u8, allowfrom: &str) -> Stored {
    let stored = Stored {
        username: format!("4f2a3b1c-0000-4000-8000-0000000000{n:02}"),
        password: format!("{:A<40}", format!("pw{n}-")),
        subdomain: format!("9e8d7c6b-0000-4000-8000-0000000000{n:02}"),
    };
    let hash = bcrypt::hash(&stored.password, 10).expect("hash");
    conn.execute(
        "INSERT INTO records (Username, Password, Subdomain, AllowFrom) VALUES (?1, ?2, ?3, ?4)",
        params![
            stored.username,
            hash.into_bytes(),
            stored.subdomain,
            allowfrom
        ],
    )
    .expect("insert account");
    for _ in 0..2 {
        conn.execute(
            "INSERT INTO txt (Subdomain, LastUpdate) VALUES (?1, 0)",
            params![stored.subdomain],
        )
        .expect("insert txt");
    }
    stored
}

fn genuine_database(path: &Path) -> Vec<Stored> {
    let conn = Connection::open(path).expect("create");
    conn.execute_batch(include_str!("fixtures/acmedns/acme-dns-v1-sqlite.sql"))
        .expect("acme-dns schema");
    let accounts = vec![
        insert(&conn, 1, "null"),
        insert(&conn, 2, "[\"127.0.0.0/8\"]"),
        insert(&conn, 3, "[\"192.0.2.0/24\"]"),
    ];
    // An account acme-dns already served a value for.
    conn.execute(
        "UPDATE txt SET Value = ?1, LastUpdate = 1700000000 WHERE rowid = \
         (SELECT rowid FROM txt WHERE Subdomain = ?2 ORDER BY rowid LIMIT 1)",
        params![txt(99), accounts[1].subdomain],
    )
    .expect("stored value");
    accounts
}

fn update(server: &Served, account: &Stored, key: &str, value: &str) -> u16 {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("http://{}/update", server.http))
        .header("X-Api-User", &account.username)
        .header("X-Api-Key", key)
        .body(format!(
            "{{\"subdomain\":\"{}\",\"txt\":\"{value}\"}}",
            account.subdomain
        ))
        .send()
        .expect("update")
        .status()
        .as_u16()
}

#[test]
fn an_acme_dns_sqlite_database_is_served_in_place_and_stays_acme_dns_readable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("acme-dns.db");
    let accounts = genuine_database(&path);
    let mut server = Served::start_on("127.0.153.1", path.to_str().expect("path"), "", "", "");
    let [plain, loopback, elsewhere] = &accounts[..] else {
        unreachable!()
    };
    assert_eq!(
        server.txt(&loopback.subdomain),
        Some(vec![txt(99)]),
        "a stored value"
    );
    assert_eq!(server.txt(&plain.subdomain), Some(vec![]));
    for n in 1..=3 {
        assert_eq!(update(&server, plain, &plain.password, &txt(n)), 200);
    }
    assert_eq!(server.txt(&plain.subdomain), Some(vec![txt(2), txt(3)]));
    assert_eq!(update(&server, loopback, &loopback.password, &txt(4)), 200);
    assert_eq!(server.txt(&loopback.subdomain), Some(vec![txt(4), txt(99)]));
    assert_eq!(
        update(&server, elsewhere, &elsewhere.password, &txt(5)),
        401,
        "allowfrom kept"
    );
    assert_eq!(update(&server, plain, &loopback.password, &txt(6)), 401);
    let registered: serde_json::Value = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("http://{}/register", server.http))
        .body("{\"allowfrom\":[\"10.0.0.0/8\"]}")
        .send()
        .expect("register")
        .json()
        .expect("json");
    server.kill();

    // What acme-dns reads back, with its own queries.
    let conn = Connection::open(&path).expect("open");
    let values = |subdomain: &str| -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT Value FROM txt WHERE Subdomain = ?1 LIMIT 2")
            .expect("prepare");
        let mut values: Vec<String> = stmt
            .query_map(params![subdomain], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        values.sort();
        values
    };
    assert_eq!(values(&plain.subdomain), [txt(2), txt(3)]);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let newest: i64 = conn
        .query_row(
            "SELECT MAX(LastUpdate) FROM txt WHERE Subdomain = ?1",
            params![plain.subdomain],
            |r| r.get(0),
        )
        .expect("stamp");
    let newest = u64::try_from(newest).expect("positive");
    assert!(
        newest.abs_diff(now) < 120,
        "LastUpdate is in Unix seconds: {newest}"
    );
    let username = registered["username"].as_str().expect("username");
    let (hash, allowfrom, rows): (String, String, i64) = conn
        .query_row(
            "SELECT Password, AllowFrom, (SELECT COUNT(*) FROM txt t WHERE t.Subdomain = \
             r.Subdomain) FROM records r WHERE Username = ?1 LIMIT 1",
            params![username],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("new account in acme-dns' table");
    let password = registered["password"].as_str().expect("password");
    assert!(bcrypt::verify(password, &hash).expect("bcrypt"));
    assert_eq!(allowfrom, "[\"10.0.0.0/8\"]");
    assert_eq!(rows, 2);
    let version: String = conn
        .query_row(
            "SELECT Value FROM acmedns WHERE Name = 'db_version'",
            [],
            |r| r.get(0),
        )
        .expect("version");
    assert_eq!(version, "1");
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal");
    assert_eq!(
        journal, "delete",
        "acme-dns' journal mode is left as it was"
    );
    let own_tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'accounts'",
            [],
            |r| r.get(0),
        )
        .expect("tables");
    assert_eq!(own_tables, 0, "no certpilot tables added");
}

#[test]
fn an_older_acme_dns_database_is_refused_with_the_way_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    let conn = Connection::open(&path).expect("create");
    conn.execute_batch(include_str!("fixtures/acmedns/acme-dns-v1-sqlite.sql"))
        .expect("schema");
    conn.execute("UPDATE acmedns SET Value = '0'", [])
        .expect("downgrade");
    drop(conn);
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "zone = \"auth.example.test\"\ndatabase = \"{}\"\nnameservers = [\"ns1.auth.example.test\"]\n\
             [dns]\nlisten = [\"127.0.153.2:5300\"]\n[http]\nlisten = \"127.0.153.2:8080\"\n\
             [soa]\nmname = \"ns1.auth.example.test\"\nrname = \"hostmaster.auth.example.test\"\n",
            path.display()
        ),
    )
    .expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_certpilot"))
        .args(["acme-dns", "serve", "--config"])
        .arg(&config)
        .env("CERTPILOT_DIR", dir.path().join("home"))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("version 0") && stderr.contains("start acme-dns once"),
        "{stderr}"
    );
}
