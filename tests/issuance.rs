//! End to end against real Pebble + pebble-challtestsrv: accounts, issuance through the exec
//! solver, renewal, export, failures, and a scan for leaked secrets.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Workdir};

/// A workdir with an account on `pebble` and the exec hook for `example.test`.
fn setup(pebble: &Pebble, tag: &str) -> Workdir {
    setup_with_store(pebble, tag, &common::test_keystore())
}

fn issue_args<'a>(pebble: &'a Pebble, name: &'a str) -> Vec<&'a str> {
    vec![
        "--resolver",
        &pebble.dns,
        "--propagation",
        "recursive",
        "issue",
        name,
    ]
}

fn list_json(wd: &Workdir) -> Vec<serde_json::Value> {
    let run = wd.run(&["list", "--json"]);
    run.ok();
    serde_json::from_str(&run.stdout()).expect("list --json is JSON")
}

fn row<'a>(rows: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row {name}: {rows:?}"))
}

/// Every file below the workdir, and the log, must be free of private keys and credentials.
fn assert_no_secrets(wd: &Workdir, extra_secrets: &[String]) {
    for path in common::files_under(wd.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert!(
            !text.contains("PRIVATE KEY"),
            "private key in {}",
            path.display()
        );
        assert!(
            !text.contains("key_pkcs8"),
            "account credentials in {}",
            path.display()
        );
        for s in extra_secrets {
            assert!(
                !text.contains(s.as_str()),
                "a secret leaked into {}",
                path.display()
            );
        }
    }
}

#[test]
fn one_name_issue_list_export_and_no_leaked_secrets() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "one");
    wd.run(&["cert", "add", "web", "--name", "www.example.test"])
        .ok();
    assert_eq!(row(&list_json(&wd), "web")["status"], "missing");

    let run = wd.run_dns(&pebble, &["issue", "web"]);
    run.ok();
    for step in [
        "order created",
        "records visible",
        "challenges answered",
        "stored",
    ] {
        assert!(
            run.stderr().contains(step),
            "missing step {step}: {}",
            run.stderr()
        );
    }
    let rows = list_json(&wd);
    let web = row(&rows, "web");
    assert_eq!(web["status"], "valid");
    assert_eq!(web["names"], serde_json::json!(["www.example.test"]));
    assert!(web["days_left"].as_i64().unwrap() > 300, "{web}");
    assert!(web["issuer"].as_str().unwrap().contains("Pebble"), "{web}");
    assert!(web["serial"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(web["key_type"], "ecdsa-p256");
    assert!(wd.path().join("certificates/web/web.crt").exists());
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(wd.path().join("certificates/web/web.json")).unwrap(),
    )
    .unwrap();
    assert!(meta["order_url"]
        .as_str()
        .unwrap()
        .starts_with("https://127.0.0.1"));

    let table = wd.run(&["list"]);
    table.ok();
    assert!(
        table.stdout().contains("web") && table.stdout().contains("valid"),
        "{}",
        table.stdout()
    );

    assert_no_secrets(&wd, &[]);

    let out = wd.path().join("export");
    wd.run(&["export", "web", "--out", out.to_str().unwrap()])
        .ok();
    let key = std::fs::read_to_string(out.join("privkey.pem")).unwrap();
    assert!(key.contains("PRIVATE KEY"));
    let mode = std::fs::metadata(out.join("privkey.pem"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let full = std::fs::read_to_string(out.join("fullchain.pem")).unwrap();
    let leaf = std::fs::read_to_string(out.join("cert.pem")).unwrap();
    let chain = std::fs::read_to_string(out.join("chain.pem")).unwrap();
    assert_eq!(full, format!("{leaf}{chain}"));
    assert_eq!(leaf.matches("BEGIN CERTIFICATE").count(), 1);
    // The exported key is the one the certificate was issued for.
    let info = certpilot::cert::inspect::inspect_chain_pem(&leaf).unwrap();
    assert_eq!(info.names, vec!["www.example.test"]);
    std::fs::remove_dir_all(&out).unwrap();
    // Outside the explicit export, the key appears nowhere, nor in the log or the output.
    assert_no_secrets(&wd, &[key.lines().nth(1).unwrap().to_owned()]);
    assert!(!run.stdout().contains("PRIVATE KEY") && !run.stderr().contains("PRIVATE KEY"));
}

#[test]
fn apex_wildcard_and_www_share_one_owner() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "wild");
    wd.run(&[
        "cert",
        "add",
        "wild",
        "--name",
        "example.test",
        "--name",
        "*.example.test",
        "--name",
        "www.example.test",
    ])
    .ok();
    let run = wd.run_dns(&pebble, &["issue", "wild"]);
    run.ok();
    assert!(run.stderr().contains("3 challenge(s)"), "{}", run.stderr());
    let pem = std::fs::read_to_string(wd.path().join("certificates/wild/wild.crt")).unwrap();
    let info = certpilot::cert::inspect::inspect_chain_pem(&pem).unwrap();
    let mut names = info.names.clone();
    names.sort();
    assert_eq!(
        names,
        vec!["*.example.test", "example.test", "www.example.test"]
    );
}

#[test]
fn one_certificate_with_100_names() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "hundred");
    let names: Vec<String> = (0..100).map(|i| format!("host{i}.example.test")).collect();
    let mut args = vec!["cert", "add", "big"];
    for n in &names {
        args.extend(["--name", n.as_str()]);
    }
    wd.run(&args).ok();
    wd.run_dns(&pebble, &["issue", "big"]).ok();
    let pem = std::fs::read_to_string(wd.path().join("certificates/big/big.crt")).unwrap();
    let info = certpilot::cert::inspect::inspect_chain_pem(&pem).unwrap();
    assert_eq!(info.names.len(), 100);
}

#[test]
fn renew_all_issues_missing_skips_fresh_and_reissues_changed_names() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "renew");
    for (name, host) in [
        ("a", "a.example.test"),
        ("b", "b.example.test"),
        ("c", "c.example.test"),
    ] {
        wd.run(&["cert", "add", name, "--name", host]).ok();
    }
    let first = wd.run_dns(&pebble, &["renew", "--all"]);
    first.ok();
    for name in ["a", "b", "c"] {
        assert!(
            first
                .stdout()
                .contains(&format!("{name}: renewed (no certificate yet)")),
            "{}",
            first.stdout()
        );
    }
    let serial_b = row(&list_json(&wd), "b")["serial"].clone();

    let second = wd.run_dns(&pebble, &["renew", "--all"]);
    second.ok();
    assert!(
        second.stdout().contains("nothing to renew"),
        "{}",
        second.stdout()
    );

    wd.run(&[
        "cert",
        "add",
        "b",
        "--name",
        "b.example.test",
        "--name",
        "b2.example.test",
        "--replace",
    ])
    .ok();
    assert_eq!(row(&list_json(&wd), "b")["status"], "names_changed");
    let third = wd.run_dns(&pebble, &["renew", "--all"]);
    third.ok();
    assert!(
        third
            .stdout()
            .contains("b: renewed (names changed: +b2.example.test"),
        "{}",
        third.stdout()
    );
    assert!(third.stdout().contains("a: not due"), "{}", third.stdout());
    let rows = list_json(&wd);
    assert_ne!(row(&rows, "b")["serial"], serial_b);
    // The metadata remembers the issuance it replaced.
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(wd.path().join("certificates/b/b.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["history"].as_array().map(Vec::len), Some(1), "{meta}");
    assert_eq!(meta["history"][0]["serial"], serial_b);
    assert_eq!(row(&rows, "b")["status"], "valid");

    let forced = wd.run_dns(&pebble, &["renew", "--only", "a", "--force"]);
    forced.ok();
    assert!(
        forced.stdout().contains("a: renewed (forced)"),
        "{}",
        forced.stdout()
    );
}

#[test]
fn bad_nonces_are_retried_transparently() {
    let Some(pebble) = Pebble::start(PebbleOptions {
        nonce_reject: 50,
        ..Default::default()
    }) else {
        return;
    };
    let wd = setup(&pebble, "nonce");
    wd.run(&[
        "cert",
        "add",
        "n",
        "--name",
        "example.test",
        "--name",
        "*.example.test",
    ])
    .ok();
    wd.run_dns(&pebble, &["issue", "n"]).ok();
    assert_eq!(row(&list_json(&wd), "n")["status"], "valid");
}

#[test]
fn failing_solver_is_reported_and_stores_nothing() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "hookfail");
    wd.run(&["cert", "add", "f", "--name", "f.example.test"])
        .ok();
    let run = wd.run_with(&issue_args(&pebble, "f"), &[("HOOK_FAIL", "1")]);
    run.expect_code(1);
    assert!(run.stderr().contains("zone not found"), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("present _acme-challenge.f.example.test."),
        "{}",
        run.stderr()
    );
    assert!(!wd.path().join("certificates/f").exists());
    assert_eq!(row(&list_json(&wd), "f")["status"], "missing");
}

#[test]
fn records_that_never_appear_time_out_with_what_was_seen() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "invisible");
    // A second, empty challtestsrv would be the "wrong resolver"; the simplest wrong path is
    // a domain whose hook publishes nowhere: map it to a hook that succeeds without effect.
    wd.run(&[
        "domain",
        "set",
        "quiet.example.test",
        "--solver",
        "exec",
        "--command",
        "/bin/true",
    ])
    .ok();
    wd.run(&["cert", "add", "q", "--name", "quiet.example.test"])
        .ok();
    let run = wd.run_dns(&pebble, &["--propagation-timeout", "2", "issue", "q"]);
    run.expect_code(1);
    assert!(
        run.stderr().contains("_acme-challenge.quiet.example.test"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("seen nothing"), "{}", run.stderr());
}

#[test]
fn unknown_names_and_missing_solver_are_usage_errors() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "usage");
    let bad = wd.run(&["cert", "add", "x", "--name", "exa mple.test"]);
    bad.expect_code(2);
    assert!(bad.stderr().contains("exa mple.test"), "{}", bad.stderr());
    wd.run(&["cert", "add", "other", "--name", "www.other.test"])
        .ok();
    let run = wd.run_dns(&pebble, &["issue", "other"]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("no solver is configured for www.other.test"),
        "{}",
        run.stderr()
    );
    wd.run_dns(&pebble, &["issue", "nope"]).expect_code(2);
}

#[test]
fn ca_problem_documents_are_shown_verbatim_with_a_hint() {
    let opts = PebbleOptions {
        blocklist: vec!["blocked.example.test".into()],
        ..Default::default()
    };
    let Some(pebble) = Pebble::start(opts) else {
        return;
    };
    let wd = setup(&pebble, "reject");
    wd.run(&[
        "cert",
        "add",
        "r",
        "--name",
        "ok.example.test",
        "--name",
        "blocked.example.test",
    ])
    .ok();
    let run = wd.run_dns(&pebble, &["issue", "r"]);
    run.expect_code(1);
    let err = run.stderr();
    assert!(
        err.contains("urn:ietf:params:acme:error:rejectedIdentifier"),
        "{err}"
    );
    assert!(err.contains("blocked.example.test"), "{err}");
    assert!(err.contains("hint: the CA will not issue"), "{err}");
    assert!(!wd.path().join("certificates/r").exists());
}

#[test]
fn certs_json_import_then_renew_all() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "import");
    let file = wd.path().join("certs.json");
    std::fs::write(
        &file,
        r#"[{"cert_name":"main","names":["example.test","WWW.example.test"]},
            {"cert_name":"wild","names":["example.test","*.example.test","*.foo.example.test"]}]"#,
    )
    .unwrap();
    let run = wd.run(&["cert", "import", file.to_str().unwrap()]);
    run.ok();
    assert!(
        run.stdout().contains("main: added (2 names)"),
        "{}",
        run.stdout()
    );
    wd.run_dns(&pebble, &["renew", "--all"]).ok();
    let rows = list_json(&wd);
    assert_eq!(
        row(&rows, "main")["names"],
        serde_json::json!(["example.test", "www.example.test"])
    );
    assert_eq!(row(&rows, "wild")["status"], "valid");
    // Importing the same file again changes nothing; a changed name set marks the cert.
    let again = wd.run(&["cert", "import", file.to_str().unwrap()]);
    assert!(
        again.stdout().contains("main: unchanged"),
        "{}",
        again.stdout()
    );
    std::fs::write(&file, r#"[{"cert_name":"main","names":["example.test"]}]"#).unwrap();
    assert!(wd
        .run(&["cert", "import", file.to_str().unwrap()])
        .stdout()
        .contains("main: names updated"));
    assert_eq!(row(&list_json(&wd), "main")["status"], "names_changed");
}

#[test]
fn secret_service_store_holds_account_and_certificate_keys() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        assert!(
            !common::in_ci(),
            "CI runs the suite inside dbus-run-session (scripts/test.sh)"
        );
        eprintln!("SKIP: no D-Bus session; run through scripts/test.sh");
        return;
    }
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let mut wd = setup_with_store(&pebble, "secretsvc", "secret-service");
    wd.run(&["cert", "add", "s", "--name", "s.example.test"])
        .ok();
    wd.run_dns(&pebble, &["issue", "s"]).ok();
    let service = wd.service.clone();
    let ks =
        certpilot::secrets::Keystore::open(certpilot::secrets::StoreKind::SecretService, &service)
            .unwrap();
    let creds = ks
        .get(&certpilot::secrets::SecretRef::Account("pebble".into()))
        .unwrap();
    assert!(creds.is_some_and(|c| c.contains("key_pkcs8")));
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(wd.path().join("certificates/s/s.json")).unwrap(),
    )
    .unwrap();
    let key_ref = certpilot::secrets::SecretRef::CertKey {
        cert: "s".into(),
        key_id: meta["key_id"].as_str().unwrap().into(),
    };
    assert!(ks
        .get(&key_ref)
        .unwrap()
        .is_some_and(|k| k.contains("PRIVATE KEY")));
    // Renewing replaces the key and removes the old entry: no orphans accumulate.
    wd.run_dns(&pebble, &["renew", "--force"]).ok();
    assert!(
        ks.get(&key_ref).unwrap().is_none(),
        "the previous key was not removed"
    );
    assert_no_secrets(&wd, &[]);
    wd.envs.retain(|(k, _)| k != "CERTPILOT_KEYSTORE");
}

/// Like [`setup`], with the secrets in `store`.
fn setup_with_store(pebble: &Pebble, tag: &str, store: &str) -> Workdir {
    let mut wd = Workdir::new(tag);
    wd.envs.retain(|(k, _)| k != "CERTPILOT_KEYSTORE");
    wd.env("CERTPILOT_KEYSTORE", store);
    wd.enrol(pebble, &hook_path())
}

#[test]
fn rsa_and_p384_keys_are_issued_as_configured() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "keytypes");
    wd.run(&[
        "cert",
        "add",
        "rsa",
        "--name",
        "rsa.example.test",
        "--key-type",
        "rsa-2048",
    ])
    .ok();
    wd.run(&[
        "cert",
        "add",
        "p384",
        "--name",
        "p384.example.test",
        "--key-type",
        "ecdsa-p384",
    ])
    .ok();
    wd.run_dns(&pebble, &["renew", "--all"]).ok();
    for (name, want) in [("rsa", "rsa-2048"), ("p384", "ecdsa-p384")] {
        let pem =
            std::fs::read_to_string(wd.path().join(format!("certificates/{name}/{name}.crt")))
                .unwrap();
        let info = certpilot::cert::inspect::inspect_chain_pem(&pem).unwrap();
        assert_eq!(info.key_type.as_deref(), Some(want), "{name}");
    }
    // Changing the key type makes the certificate due.
    wd.run(&[
        "cert",
        "add",
        "rsa",
        "--name",
        "rsa.example.test",
        "--key-type",
        "ecdsa-p256",
        "--replace",
    ])
    .ok();
    let run = wd.run_dns(&pebble, &["renew", "--all"]);
    run.ok();
    assert!(
        run.stdout().contains("rsa: renewed (key type changed"),
        "{}",
        run.stdout()
    );
}

#[test]
fn manual_solver_without_a_terminal_fails_with_the_records_to_create() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "manual");
    wd.run(&["domain", "set", "manual.example.test", "--solver", "manual"])
        .ok();
    wd.run(&[
        "cert",
        "add",
        "m",
        "--name",
        "manual.example.test",
        "--name",
        "*.manual.example.test",
    ])
    .ok();
    let run = wd.run_dns(&pebble, &["issue", "m"]);
    // 3: waiting for the operator; the order is kept (tests/manual_waiting.rs).
    run.expect_code(3);
    let err = run.stderr();
    assert!(err.contains("waiting for you"), "{err}");
    // Both values of the shared owner name, in zone-file form.
    assert_eq!(
        err.matches("_acme-challenge.manual.example.test. 60 IN TXT \"")
            .count(),
        2,
        "{err}"
    );
}

#[test]
fn unreachable_secret_service_is_a_clear_error_and_nothing_is_written() {
    let wd = Workdir::new("nostore");
    let run = wd.run_with(
        &[
            "--keystore",
            "secret-service",
            "account",
            "add",
            "x",
            "--directory",
            "https://127.0.0.1:9/dir",
            "--agree-tos",
        ],
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/certpilot-test-bus",
        )],
    );
    run.expect_code(1);
    let err = run.stderr();
    assert!(err.contains("Secret Service"), "{err}");
    assert!(err.contains("keyutils"), "{err}");
    assert!(!wd.path().join("certpilot.toml").exists());
    assert!(!wd.path().join("accounts").exists());
}

#[test]
fn a_certificate_locked_by_another_run_is_not_touched() {
    let wd = Workdir::new("lock");
    std::fs::write(
        wd.path().join("certpilot.toml"),
        "[accounts.a]\ndirectory = \"https://127.0.0.1:9/dir\"\n\n[certificates.web]\nnames = [\"web.example.test\"]\n\n[domains.\"example.test\"]\nsolver = \"manual\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(wd.path().join("state/locks")).unwrap();
    let lock_file = wd.path().join("state/locks/web.lock");
    // flock(1) holds the lock for as long as `cat` waits on its stdin.
    let mut holder = std::process::Command::new("flock")
        .arg(&lock_file)
        .arg("cat")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("flock from util-linux");
    common::wait_for(
        "flock to hold the lock",
        std::time::Duration::from_secs(10),
        || {
            let out = std::process::Command::new("flock")
                .args(["-n"])
                .arg(&lock_file)
                .arg("true")
                .status()
                .unwrap();
            !out.success()
        },
    );
    let run = wd.run(&["issue", "web"]);
    run.expect_code(1);
    assert!(
        run.stderr()
            .contains("another certpilot run is working on certificate \"web\""),
        "{}",
        run.stderr()
    );
    let renew = wd.run(&["renew", "--all"]);
    renew.expect_code(1);
    assert!(
        renew
            .stdout()
            .contains("web: FAILED (no certificate yet): another certpilot run"),
        "{}",
        renew.stdout()
    );
    drop(holder.stdin.take());
    holder.wait().unwrap();
}
