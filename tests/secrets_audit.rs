//! Secrets audit: after an EAB account registration, an acme-dns registration, issue, renew,
//! export, revoke and an induced failure, no private key, account key, EAB key or acme-dns
//! password is anywhere in the working directory, the log file or the captured output. The
//! only copy outside the keyring is the explicit export, which is 0600 in a 0700 directory.
//!
//! Run inside a session keyring: `keyctl session - cargo test --test secrets_audit`.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine as _;
use certpilot::secrets::{Keystore, SecretRef, StoreKind};
use certpilot::server::ServerConfig;
use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Run, Workdir};

/// Every file under `dir`, as text.
fn files(dir: &Path) -> Vec<(String, String)> {
    common::files_under(dir)
        .into_iter()
        .map(|path| {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            (path.display().to_string(), text)
        })
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The first base64 line of a PEM block: present in any copy of the key, armoured or not,
/// with or without its line breaks.
fn pem_body(pem: &str) -> String {
    pem.lines()
        .find(|l| !l.starts_with("-----") && !l.is_empty())
        .expect("a PEM body")
        .to_owned()
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, in the order an operator would live it
fn no_secret_leaves_the_keyring_except_the_explicit_export() {
    if common::test_keystore() != "keyutils" {
        eprintln!("SKIP: this test reads secrets back from the keyutils store");
        return;
    }
    let hmac = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0x5au8; 32]);
    let Some(pebble) = Pebble::start(PebbleOptions {
        eab_keys: vec![("kid-audit".into(), hmac.clone())],
        ..PebbleOptions::default()
    }) else {
        return;
    };
    let mut wd = Workdir::new("audit");
    wd.env("CHALLTESTSRV", &pebble.challtestsrv)
        .env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
    // An account that needs external account binding; example.test through the exec hook.
    let eab = ["--eab-kid", "kid-audit", "--eab-hmac-key", &hmac];
    let mut runs: Vec<Run> = vec![
        wd.add_pebble_account(&pebble.directory, &eab),
        wd.set_exec_solver(&hook_path()),
    ];
    let mut run = |wd: &Workdir, args: &[&str], env: &[(&str, &str)], code: i32| {
        let r = wd.run_with(args, env);
        r.expect_code(code);
        runs.push(r);
    };
    let dns_args = [
        "--resolver",
        pebble.dns.as_str(),
        "--propagation",
        "recursive",
    ];
    let with_dns = |rest: &[&'static str]| -> Vec<String> {
        dns_args
            .iter()
            .map(|s| (*s).to_owned())
            .chain(rest.iter().map(|s| (*s).to_owned()))
            .collect()
    };

    // An acme-dns registration on certpilot's own server (HTTP on loopback, DNS on port 0).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new("auth.audit.test", db.path().join("acme-dns.db"));
    cfg.bcrypt_cost = 4;
    cfg.dns.listen = vec![SocketAddr::from(([127, 0, 0, 1], 0))];
    let server = rt.block_on(certpilot::server::start(cfg)).unwrap();
    let acme_dns_url = format!("http://{}", server.http_addr());
    run(
        &wd,
        &[
            "acme-dns",
            "register",
            "audit.test",
            "--server",
            &acme_dns_url,
        ],
        &[],
        0,
    );

    run(
        &wd,
        &["cert", "add", "web", "--name", "web.example.test"],
        &[],
        0,
    );
    let args = with_dns(&["issue", "web"]);
    run(
        &wd,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
        0,
    );
    let args = with_dns(&["renew", "--force"]);
    run(
        &wd,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
        0,
    );
    // An induced failure: the DNS provider's API refuses.
    run(
        &wd,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[("HOOK_FAIL", "1")],
        1,
    );
    let export = tempfile::tempdir().unwrap();
    let export_dir = export.path().join("out");
    run(
        &wd,
        &["export", "web", "--out", export_dir.to_str().unwrap()],
        &[],
        0,
    );
    run(&wd, &["revoke", "web", "--yes"], &[], 0);

    // What must not leak: every secret certpilot keeps, read back from the keyring.
    let keystore = Keystore::open(StoreKind::Keyutils, &wd.service).unwrap();
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(wd.path().join("certificates/web/web.json")).unwrap(),
    )
    .unwrap();
    let cert_key = keystore
        .get(&SecretRef::CertKey {
            cert: "web".into(),
            key_id: meta["key_id"].as_str().unwrap().into(),
        })
        .unwrap()
        .expect("certificate key in the keyring");
    let account: serde_json::Value = serde_json::from_str(
        &keystore
            .get(&SecretRef::Account("pebble".into()))
            .unwrap()
            .expect("account credentials in the keyring"),
    )
    .unwrap();
    let password = keystore
        .get(&SecretRef::AcmeDns("audit.test".into()))
        .unwrap()
        .expect("acme-dns password in the keyring");
    let secrets = [
        ("certificate key", pem_body(&cert_key)),
        (
            "account key",
            account["key_pkcs8"].as_str().unwrap().to_owned(),
        ),
        ("EAB HMAC key", hmac.clone()),
        ("acme-dns password", password),
    ];
    for (what, secret) in &secrets {
        assert!(secret.len() >= 16, "{what} is suspiciously short");
    }

    let mut haystacks = files(wd.path());
    for (i, r) in runs.iter().enumerate() {
        haystacks.push((format!("stdout of run {i}"), r.stdout()));
        haystacks.push((format!("stderr of run {i}"), r.stderr()));
    }
    assert!(
        haystacks.iter().any(|(p, _)| p.ends_with("certpilot.log")),
        "the log file was scanned"
    );
    for (place, text) in &haystacks {
        assert!(!text.contains("PRIVATE KEY"), "a private key in {place}");
        for (what, secret) in &secrets {
            assert!(!text.contains(secret.as_str()), "the {what} is in {place}");
        }
    }

    // The explicit export holds the key, and only its owner can read it.
    assert_eq!(mode(&export_dir), 0o700);
    let key_file = export_dir.join("privkey.pem");
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), cert_key);

    rt.block_on(server.shutdown()).unwrap();
}

/// The TSIG secret of an `rfc2136` mapping (from a `tsig-keygen` style file) and the API key
/// of a `powerdns` mapping (from standard input) go to the keyring only: not into the config,
/// the log (at debug level) or any output, also when the servers cannot be reached. (The
/// successful flows are audited the same way in `dns_providers.rs`.)
#[test]
fn tsig_secrets_and_powerdns_api_keys_stay_in_the_keyring() {
    if common::test_keystore() != "keyutils" {
        eprintln!("SKIP: this test reads secrets back from the keyutils store");
        return;
    }
    let wd = Workdir::new("audit-dns");
    let tsig = base64::engine::general_purpose::STANDARD.encode([0x3cu8; 32]);
    let api_key = "pdns-api-key-9f8e7d6c5b4a39281706";
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("tsig.key");
    std::fs::write(
        &key_file,
        format!("key \"k\" {{\n\talgorithm hmac-sha512;\n\tsecret \"{tsig}\";\n}};\n"),
    )
    .unwrap();
    let mut runs = vec![
        wd.run(&[
            "domain",
            "set",
            "tsig.test",
            "--solver",
            "rfc2136",
            "--server",
            "127.0.139.1:1",
            "--tsig-name",
            "k",
            "--tsig-algorithm",
            "hmac-sha512",
            "--tsig-secret-file",
            key_file.to_str().unwrap(),
            "--zone",
            "tsig.test",
        ]),
        wd.run_with_stdin(
            &[
                "domain",
                "set",
                "pdns.test",
                "--solver",
                "powerdns",
                "--api-url",
                "http://127.0.139.1:1",
                "--api-key-file",
                "-",
            ],
            api_key,
        ),
    ];
    for run in &runs {
        run.ok();
    }
    // The operator's file may go now: the secret is in the keyring.
    std::fs::remove_file(&key_file).unwrap();
    for (domain, code) in [("tsig.test", 1), ("pdns.test", 1)] {
        let run = wd.run(&["domain", "test", domain]);
        run.expect_code(code);
        runs.push(run);
    }
    let list = wd.run(&["domain", "list"]);
    list.ok();
    assert!(
        list.stdout()
            .contains("tsig.test\trfc2136\t127.0.139.1:1 key k (hmac-sha512) zone tsig.test"),
        "{}",
        list.stdout()
    );
    assert!(
        list.stdout()
            .contains("pdns.test\tpowerdns\thttp://127.0.139.1:1 server localhost"),
        "{}",
        list.stdout()
    );
    runs.push(list);

    let keystore = Keystore::open(StoreKind::Keyutils, &wd.service).unwrap();
    let stored_tsig = keystore.get(&SecretRef::Tsig("tsig.test".into())).unwrap();
    let stored_key = keystore
        .get(&SecretRef::PowerDns("pdns.test".into()))
        .unwrap();
    assert_eq!(stored_tsig.as_deref(), Some(tsig.as_str()));
    assert_eq!(stored_key.as_deref(), Some(api_key));

    let mut haystacks = files(wd.path());
    for (i, r) in runs.iter().enumerate() {
        haystacks.push((format!("stdout of run {i}"), r.stdout()));
        haystacks.push((format!("stderr of run {i}"), r.stderr()));
    }
    assert!(haystacks.iter().any(|(p, _)| p.ends_with("certpilot.toml")));
    for (place, text) in &haystacks {
        assert!(!text.contains(&tsig), "the TSIG secret is in {place}");
        assert!(
            !text.contains(api_key),
            "the PowerDNS API key is in {place}"
        );
    }
}
