//! End to end against real Pebble + pebble-challtestsrv: accounts, issuance through the exec
//! solver, renewal, export, failures, and a scan for leaked secrets.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Workdir};

/// A workdir with an account on `pebble` and the exec hook for `example.test`.
fn setup(pebble: &Pebble, tag: &str) -> Workdir {
    let mut wd = Workdir::new(tag);
    wd.env("CHALLTESTSRV", &pebble.challtestsrv)
        .env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
    let run = wd.run(&[
        "account", "add", "pebble", "--directory", &pebble.directory, "--email", "ops@example.test", "--agree-tos",
    ]);
    run.ok();
    assert!(run.stdout().contains("Terms of service"), "{}", run.stdout());
    wd.run(&["domain", "set", "example.test", "--solver", "exec", "--command", hook_path().to_str().unwrap()])
        .ok();
    wd
}

fn issue_args<'a>(pebble: &'a Pebble, name: &'a str) -> Vec<&'a str> {
    vec!["--resolver", &pebble.dns, "issue", name]
}

fn list_json(wd: &Workdir) -> Vec<serde_json::Value> {
    let run = wd.run(&["list", "--json"]);
    run.ok();
    serde_json::from_str(&run.stdout()).expect("list --json is JSON")
}

fn row<'a>(rows: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    rows.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no row {name}: {rows:?}"))
}

/// Every file below the workdir, and the log, must be free of private keys and credentials.
fn assert_no_secrets(wd: &Workdir, extra_secrets: &[String]) {
    let mut stack = vec![wd.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            assert!(!text.contains("PRIVATE KEY"), "private key in {}", path.display());
            assert!(!text.contains("key_pkcs8"), "account credentials in {}", path.display());
            for s in extra_secrets {
                assert!(!text.contains(s.as_str()), "a secret leaked into {}", path.display());
            }
        }
    }
}

#[test]
fn one_name_issue_list_export_and_no_leaked_secrets() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let wd = setup(&pebble, "one");
    wd.run(&["cert", "add", "web", "--name", "www.example.test"]).ok();
    assert_eq!(row(&list_json(&wd), "web")["status"], "missing");

    let run = wd.run(&issue_args(&pebble, "web"));
    run.ok();
    for step in ["order created", "records visible", "challenges answered", "stored"] {
        assert!(run.stderr().contains(step), "missing step {step}: {}", run.stderr());
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
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(wd.path().join("certificates/web/web.json")).unwrap()).unwrap();
    assert!(meta["order_url"].as_str().unwrap().starts_with("https://127.0.0.1"));

    let table = wd.run(&["list"]);
    table.ok();
    assert!(table.stdout().contains("web") && table.stdout().contains("valid"), "{}", table.stdout());

    assert_no_secrets(&wd, &[]);

    let out = wd.path().join("export");
    wd.run(&["export", "web", "--out", out.to_str().unwrap()]).ok();
    let key = std::fs::read_to_string(out.join("privkey.pem")).unwrap();
    assert!(key.contains("PRIVATE KEY"));
    let mode = std::fs::metadata(out.join("privkey.pem")).unwrap().permissions().mode() & 0o777;
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
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let wd = setup(&pebble, "wild");
    wd.run(&["cert", "add", "wild", "--name", "example.test", "--name", "*.example.test", "--name", "www.example.test"])
        .ok();
    let run = wd.run(&issue_args(&pebble, "wild"));
    run.ok();
    assert!(run.stderr().contains("3 challenge(s)"), "{}", run.stderr());
    let pem = std::fs::read_to_string(wd.path().join("certificates/wild/wild.crt")).unwrap();
    let info = certpilot::cert::inspect::inspect_chain_pem(&pem).unwrap();
    let mut names = info.names.clone();
    names.sort();
    assert_eq!(names, vec!["*.example.test", "example.test", "www.example.test"]);
}

#[test]
fn one_certificate_with_100_names() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let wd = setup(&pebble, "hundred");
    let names: Vec<String> = (0..100).map(|i| format!("host{i}.example.test")).collect();
    let mut args = vec!["cert", "add", "big"];
    for n in &names {
        args.extend(["--name", n.as_str()]);
    }
    wd.run(&args).ok();
    wd.run(&issue_args(&pebble, "big")).ok();
    let pem = std::fs::read_to_string(wd.path().join("certificates/big/big.crt")).unwrap();
    let info = certpilot::cert::inspect::inspect_chain_pem(&pem).unwrap();
    assert_eq!(info.names.len(), 100);
}

#[test]
fn renew_all_issues_missing_skips_fresh_and_reissues_changed_names() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let wd = setup(&pebble, "renew");
    for (name, host) in [("a", "a.example.test"), ("b", "b.example.test"), ("c", "c.example.test")] {
        wd.run(&["cert", "add", name, "--name", host]).ok();
    }
    let first = wd.run(&["--resolver", &pebble.dns, "renew", "--all"]);
    first.ok();
    for name in ["a", "b", "c"] {
        assert!(first.stdout().contains(&format!("{name}: renewed (no certificate yet)")), "{}", first.stdout());
    }
    let serial_b = row(&list_json(&wd), "b")["serial"].clone();

    let second = wd.run(&["--resolver", &pebble.dns, "renew", "--all"]);
    second.ok();
    assert!(second.stdout().contains("nothing to renew"), "{}", second.stdout());

    wd.run(&["cert", "add", "b", "--name", "b.example.test", "--name", "b2.example.test", "--replace"]).ok();
    assert_eq!(row(&list_json(&wd), "b")["status"], "names_changed");
    let third = wd.run(&["--resolver", &pebble.dns, "renew", "--all"]);
    third.ok();
    assert!(third.stdout().contains("b: renewed (names changed: +b2.example.test"), "{}", third.stdout());
    assert!(third.stdout().contains("a: not due"), "{}", third.stdout());
    let rows = list_json(&wd);
    assert_ne!(row(&rows, "b")["serial"], serial_b);
    assert_eq!(row(&rows, "b")["status"], "valid");

    let forced = wd.run(&["--resolver", &pebble.dns, "renew", "--only", "a", "--force"]);
    forced.ok();
    assert!(forced.stdout().contains("a: renewed (forced)"), "{}", forced.stdout());
}

#[test]
fn bad_nonces_are_retried_transparently() {
    let Some(pebble) = Pebble::start(PebbleOptions { nonce_reject: 50, ..Default::default() }) else { return };
    let wd = setup(&pebble, "nonce");
    wd.run(&["cert", "add", "n", "--name", "example.test", "--name", "*.example.test"]).ok();
    wd.run(&issue_args(&pebble, "n")).ok();
    assert_eq!(row(&list_json(&wd), "n")["status"], "valid");
}

#[test]
fn failing_solver_is_reported_and_stores_nothing() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let wd = setup(&pebble, "hookfail");
    wd.run(&["cert", "add", "f", "--name", "f.example.test"]).ok();
    let run = wd.run_with(&issue_args(&pebble, "f"), &[("HOOK_FAIL", "1")]);
    run.expect_code(1);
    assert!(run.stderr().contains("zone not found"), "{}", run.stderr());
    assert!(run.stderr().contains("present _acme-challenge.f.example.test."), "{}", run.stderr());
    assert!(!wd.path().join("certificates/f").exists());
    assert_eq!(row(&list_json(&wd), "f")["status"], "missing");
}

#[test]
fn records_that_never_appear_time_out_with_what_was_seen() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let wd = setup(&pebble, "invisible");
    // A second, empty challtestsrv would be the "wrong resolver"; the simplest wrong path is
    // a domain whose hook publishes nowhere: map it to a hook that succeeds without effect.
    wd.run(&["domain", "set", "quiet.example.test", "--solver", "exec", "--command", "/bin/true"]).ok();
    wd.run(&["cert", "add", "q", "--name", "quiet.example.test"]).ok();
    let run = wd.run(&["--resolver", &pebble.dns, "--propagation-timeout", "2", "issue", "q"]);
    run.expect_code(1);
    assert!(run.stderr().contains("_acme-challenge.quiet.example.test"), "{}", run.stderr());
    assert!(run.stderr().contains("seen nothing"), "{}", run.stderr());
}

#[test]
fn unknown_names_and_missing_solver_are_usage_errors() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else { return };
    let wd = setup(&pebble, "usage");
    let bad = wd.run(&["cert", "add", "x", "--name", "exa mple.test"]);
    bad.expect_code(2);
    assert!(bad.stderr().contains("exa mple.test"), "{}", bad.stderr());
    wd.run(&["cert", "add", "other", "--name", "www.other.test"]).ok();
    let run = wd.run(&issue_args(&pebble, "other"));
    run.expect_code(2);
    assert!(run.stderr().contains("no solver is configured for www.other.test"), "{}", run.stderr());
    wd.run(&issue_args(&pebble, "nope")).expect_code(2);
}
