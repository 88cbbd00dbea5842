//! Native DNS providers end to end: certificates issued from Pebble through RFC 2136 updates
//! signed with TSIG (Knot with an ACL, BIND 9 with an update-policy) and through the
//! PowerDNS HTTP API; the errors an operator meets (wrong secret, wrong zone, wrong API key);
//! one UPDATE per zone for a 100-name certificate, counted in the server's log; and no secret
//! in any file, log or output.
//!
//! Networks: 127.0.120.0/24 through 127.0.124.0/24 (one per test). Pebble validates by
//! asking the test's authoritative server directly.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;
mod dns_servers;
mod dns_tree;

use std::net::SocketAddr;
use std::path::Path;

use common::pebble::{Pebble, PebbleOptions};
use common::{Run, Workdir};
use dns_servers::{random_secret, serial, txt, zone_text, Server, KEY_NAME};
use dns_tree::ip;

/// The three names of the certificate every flow issues.
const NAMES: [&str; 3] = ["example.test", "*.example.test", "www.example.test"];

fn available(net: u8, tools: &[&str]) -> bool {
    dns_tree::available(net) && tools.iter().all(|t| common::require_tool(t))
}

/// A workdir with the Pebble account and the certificate `web` for [`NAMES`].
fn workdir(tag: &str, pebble: &Pebble) -> Workdir {
    workdir_with(tag, pebble, "web", &NAMES)
}

/// A workdir with the Pebble account and the certificate `cert` for `names`.
fn workdir_with(tag: &str, pebble: &Pebble, cert: &str, names: &[&str]) -> Workdir {
    let mut wd = Workdir::new(tag);
    wd.env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
    wd.add_pebble_account(&pebble.directory, &[]);
    let mut args = vec!["cert", "add", cert];
    for name in names {
        args.extend(["--name", name]);
    }
    wd.run(&args).ok();
    wd
}

/// A secret file outside the workdir (the operator's file, which may be deleted later).
fn secret_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// `domain set example.test --solver rfc2136 ...` with `extra` options.
fn set_rfc2136(wd: &Workdir, secret: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "domain",
        "set",
        "example.test",
        "--solver",
        "rfc2136",
        "--tsig-name",
        KEY_NAME,
        "--tsig-algorithm",
        "hmac-sha256",
        "--tsig-secret-file",
        secret.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    wd.run(&args)
}

/// Neither `secret` nor its bytes in any file of the workdir (log included) or any output.
#[track_caller]
fn assert_secret_kept(wd: &Workdir, runs: &[&Run], secret: &str) {
    let files = common::files_under(wd.path());
    assert!(
        files.iter().any(|p| p.ends_with("certpilot.log")),
        "a log was written"
    );
    for path in files {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert!(
            !text.contains(secret),
            "the secret is in {}",
            path.display()
        );
    }
    for run in runs {
        assert!(
            !run.stdout().contains(secret) && !run.stderr().contains(secret),
            "the secret is in the output of {:?}",
            run.args
        );
    }
}

/// Issue `web` with `resolver` (the authoritative server) and check the certificate, the
/// records removed afterwards, and what `domain list` says.
fn issue_through(wd: &Workdir, server: SocketAddr, solver_word: &str) -> Run {
    // Servers on port 53 of their own address are checked authoritatively (discovery finds
    // them through their NS records); one on another port only through itself.
    let run = if server.port() == 53 {
        wd.run(&["--resolver", &server.ip().to_string(), "issue", "web"])
    } else {
        wd.run(&[
            "--resolver",
            &server.to_string(),
            "--propagation",
            "recursive",
            "issue",
            "web",
        ])
    };
    run.ok();
    assert!(wd.path().join("certificates/web/web.crt").exists());
    for owner in [
        "_acme-challenge.example.test.",
        "_acme-challenge.www.example.test.",
    ] {
        let left: Vec<String> = txt(server, owner)
            .into_iter()
            .filter(|v| v != "keep-me")
            .collect();
        assert!(
            left.is_empty(),
            "{owner} still holds {left:?} after cleanup"
        );
    }
    let list = wd.run(&["domain", "list"]);
    list.ok();
    assert!(
        list.stdout()
            .contains(&format!("example.test\t{solver_word}")),
        "{}",
        list.stdout()
    );
    run
}

#[test]
fn knot_with_tsig_issues_and_explains_a_wrong_secret_and_a_wrong_zone() {
    let net = 120;
    if !available(net, &["knotd", "pebble"]) {
        return;
    }
    let ns = ip(net, 2);
    let secret = random_secret();
    let zones = [
        (
            "example.test",
            zone_text("example.test", ns, &["_acme-challenge TXT \"keep-me\""]),
        ),
        ("other.test", zone_text("other.test", ns, &[])),
    ];
    let knot = Server::knot(ns, &zones, &secret);
    let Some(pebble) = Pebble::start_with_dns(PebbleOptions::default(), &format!("{ns}:53")) else {
        return;
    };
    let wd = workdir("knot-tsig", &pebble);
    let (_keep, file) = secret_file(&format!("{secret}\n"));
    // No --server: the primary is the SOA MNAME (ns1.example.test), found through discovery.
    let set = set_rfc2136(&wd, &file, &[]);
    set.ok();
    let issued = issue_through(&wd, knot.addr, "rfc2136");
    assert_eq!(
        txt(knot.addr, "_acme-challenge.example.test."),
        ["keep-me"],
        "the other TXT value stays"
    );

    let check = wd.run(&["--resolver", &ns.to_string(), "check", "web"]);
    assert!(
        check.stdout().contains(&format!(
            "writer: example.test records by rfc2136 SOA MNAME key {KEY_NAME} (hmac-sha256)"
        )),
        "{}",
        check.stdout()
    );

    // A wrong secret: BADSIG explained, nothing changed.
    let before = serial(knot.addr, "example.test");
    let (_bad, bad_file) = secret_file(&random_secret());
    set_rfc2136(&wd, &bad_file, &["--server", &ns.to_string()]).ok();
    let wrong = wd.run(&[
        "--resolver",
        &ns.to_string(),
        "domain",
        "test",
        "example.test",
    ]);
    wrong.expect_code(1);
    let err = wrong.stderr();
    assert!(err.contains("NOTAUTH/BADSIG"), "{err}");
    assert!(
        err.contains("the TSIG secret differs from the server's"),
        "{err}"
    );
    assert_eq!(
        serial(knot.addr, "example.test"),
        before,
        "a rejected update changed the zone"
    );
    assert!(txt(knot.addr, "_certpilot-test.example.test.").is_empty());

    // The right secret but the wrong zone: NOTZONE explained.
    let wrong_zone = set_rfc2136(
        &wd,
        &file,
        &["--server", &ns.to_string(), "--zone", "other.test"],
    );
    wrong_zone.ok();
    let notzone = wd.run(&[
        "--resolver",
        &ns.to_string(),
        "domain",
        "test",
        "example.test",
    ]);
    notzone.expect_code(1);
    assert!(
        notzone.stderr().contains("failed: NOTZONE"),
        "{}",
        notzone.stderr()
    );
    assert!(
        notzone.stderr().contains("the configured --zone is wrong"),
        "{}",
        notzone.stderr()
    );
    assert_eq!(serial(knot.addr, "example.test"), before);

    assert_secret_kept(&wd, &[&set, &issued, &wrong, &notzone], &secret);
}

/// A BIND key file as `tsig-keygen` writes it (the same file configures named and certpilot).
fn bind_key_file(name: &str) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "PATH=\"$PATH:/usr/sbin:/sbin\" tsig-keygen -a hmac-sha256 {name}"
        ))
        .output()
        .expect("tsig-keygen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let secret = text
        .split("secret \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a secret in the key file")
        .to_owned();
    let (dir, path) = secret_file(&text);
    (dir, path, secret)
}

/// The UPDATE exchanges in named's log: distinct client connections that changed a zone
/// (certpilot opens one TCP connection per UPDATE).
fn update_clients(named_log: &str) -> usize {
    let clients: std::collections::BTreeSet<&str> = named_log
        .lines()
        .filter(|l| l.contains("updating zone"))
        .filter_map(|l| l.split_whitespace().nth(3))
        .collect();
    clients.len()
}

/// UPDATE messages Knot processed for `zone` (it logs `DDNS, processing N updates` per
/// batch of queued messages).
fn knot_updates(knot_log: &str, zone: &str) -> usize {
    knot_log
        .lines()
        .filter(|l| l.contains(&format!("[{zone}.] DDNS, processing")))
        .filter_map(|l| {
            l.split("processing ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum()
}

#[test]
fn bind_with_an_update_policy_issues_and_explains_badsig_and_refused() {
    let net = 121;
    if !available(net, &["named", "tsig-keygen", "pebble"]) {
        return;
    }
    let ns = ip(net, 2);
    let (_keep, key_file, secret) = bind_key_file(KEY_NAME);
    let (_other, other_file, _) = bind_key_file("other-key");
    let zones = [("example.test", zone_text("example.test", ns, &[]))];
    let bind = Server::bind(&zones, &[&key_file, &other_file]);
    let server = bind.addr.to_string();
    let Some(pebble) = Pebble::start_with_dns(PebbleOptions::default(), &server) else {
        return;
    };
    let wd = workdir("bind-tsig", &pebble);
    let set = set_rfc2136(&wd, &key_file, &["--server", &server]);
    set.ok();
    let issued = issue_through(&wd, bind.addr, "rfc2136");
    let log = bind.log();
    assert_eq!(log.matches("adding an RR").count(), 3, "{log}");
    assert_eq!(log.matches("deleting an RR").count(), 3, "{log}");
    assert_eq!(
        update_clients(&log),
        2,
        "one UPDATE to add, one to delete\n{log}"
    );

    // A wrong secret in the issuance path: the run fails with the hint, the zone is as it was.
    let before = serial(bind.addr, "example.test");
    let (_bad, bad_file) = secret_file(&random_secret());
    set_rfc2136(&wd, &bad_file, &["--server", &server]).ok();
    let failed = wd.run(&[
        "--resolver",
        &server,
        "--propagation",
        "recursive",
        "renew",
        "--only",
        "web",
        "--force",
    ]);
    failed.expect_code(1);
    let said = format!("{}{}", failed.stdout(), failed.stderr());
    assert!(said.contains("NOTAUTH/BADSIG"), "{said}");
    assert!(said.contains("TSIG secret differs"), "{said}");
    assert_eq!(serial(bind.addr, "example.test"), before);
    assert_eq!(update_clients(&bind.log()), 2, "{}", bind.log());

    // A key the server knows but its update-policy does not grant: REFUSED explained.
    let other = wd.run(&[
        "domain",
        "set",
        "example.test",
        "--solver",
        "rfc2136",
        "--tsig-name",
        "other-key",
        "--tsig-secret-file",
        other_file.to_str().unwrap(),
        "--server",
        &server,
    ]);
    other.ok();
    let refused = wd.run(&["--resolver", &server, "domain", "test", "example.test"]);
    refused.expect_code(1);
    assert!(
        refused.stderr().contains("failed: REFUSED"),
        "{}",
        refused.stderr()
    );
    assert!(
        refused
            .stderr()
            .contains("update policy does not allow key other-key"),
        "{}",
        refused.stderr()
    );
    assert_eq!(serial(bind.addr, "example.test"), before);
    assert_secret_kept(&wd, &[&set, &issued, &failed], &secret);
}

#[test]
fn a_hundred_names_take_one_update_per_zone_to_add_and_one_to_remove() {
    let net = 122;
    if !available(net, &["knotd", "pebble"]) {
        return;
    }
    let ns = ip(net, 2);
    let secret = random_secret();
    let (_keep, key_file) = secret_file(&secret);
    let zones = [
        ("example.test", zone_text("example.test", ns, &[])),
        ("sub.example.test", zone_text("sub.example.test", ns, &[])),
    ];
    let knot = Server::knot(ns, &zones, &secret);
    let Some(pebble) = Pebble::start_with_dns(PebbleOptions::default(), &format!("{ns}:53")) else {
        return;
    };
    // 60 names in example.test, 40 in sub.example.test (a second zone, same primary); no
    // --server: each zone's primary comes from its SOA.
    let names: Vec<String> = (0..60)
        .map(|i| format!("h{i}.example.test"))
        .chain((0..40).map(|i| format!("h{i}.sub.example.test")))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let wd = workdir_with("knot-100", &pebble, "big", &names);
    set_rfc2136(&wd, &key_file, &[]).ok();
    let run = wd.run(&["--resolver", &ns.to_string(), "issue", "big"]);
    run.ok();
    assert!(wd.path().join("certificates/big/big.crt").exists());
    let log = knot.log();
    assert_eq!(
        knot_updates(&log, "example.test"),
        2,
        "one add and one delete\n{log}"
    );
    assert_eq!(
        knot_updates(&log, "sub.example.test"),
        2,
        "one add and one delete\n{log}"
    );
}

/// `domain set example.test --solver powerdns` with the key read from standard input.
fn set_powerdns(wd: &Workdir, api: &str, key: &str) -> Run {
    let args = [
        "domain",
        "set",
        "example.test",
        "--solver",
        "powerdns",
        "--api-url",
        api,
        "--api-key-file",
        "-",
    ];
    wd.run_with_stdin(&args, &format!("{key}\n"))
}

#[test]
fn powerdns_api_issues_keeps_other_txt_values_and_explains_a_wrong_key() {
    let net = 123;
    if !available(net, &["pdns_server", "pebble"]) {
        return;
    }
    let ns = ip(net, 2);
    let key = random_secret();
    let pdns = Server::powerdns(ns, &key);
    let keep = serde_json::json!([{
        "name": "_acme-challenge.example.test.", "type": "TXT", "ttl": 60,
        "records": [{"content": "\"keep-me\"", "disabled": false}]
    }]);
    pdns.create_zone("example.test", keep);
    pdns.create_zone("test", serde_json::json!([]));
    let Some(pebble) = Pebble::start_with_dns(PebbleOptions::default(), &format!("{ns}:53")) else {
        return;
    };
    let wd = workdir("powerdns", &pebble);
    let set = set_powerdns(&wd, &pdns.api, &key);
    set.ok();
    let issued = issue_through(&wd, pdns.server.addr, "powerdns");
    assert_eq!(
        pdns.txt_contents("example.test", "_acme-challenge.example.test."),
        ["\"keep-me\""],
        "the other TXT value stays, ours are gone"
    );
    assert!(pdns
        .txt_contents("example.test", "_acme-challenge.www.example.test.")
        .is_empty());

    // A wrong API key: a clear 401, nothing changed.
    let wrong = set_powerdns(&wd, &pdns.api, "not-the-key");
    wrong.ok();
    let test = wd.run(&["domain", "test", "example.test"]);
    test.expect_code(1);
    let err = test.stderr();
    assert!(err.contains("rejected the API key (401)"), "{err}");
    assert!(err.contains("--api-key-file"), "{err}");
    assert!(pdns
        .txt_contents("example.test", "_certpilot-test.example.test.")
        .is_empty());

    // The right key again: the credentials test adds and removes its record.
    set_powerdns(&wd, &pdns.api, &key).ok();
    let ok = wd.run(&["domain", "test", "example.test"]);
    ok.ok();
    assert!(
        ok.stdout()
            .contains("added and removed _certpilot-test.example.test."),
        "{}",
        ok.stdout()
    );
    assert!(pdns
        .txt_contents("example.test", "_certpilot-test.example.test.")
        .is_empty());

    assert_secret_kept(&wd, &[&set, &issued, &test, &ok], &key);
}

/// The TUI wizard's job: a failed credentials test saves nothing and restores the keyring;
/// a passing one saves the mapping. Through the job itself, against Knot.
#[tokio::test(flavor = "multi_thread")]
async fn the_provider_wizard_saves_only_after_a_passing_credentials_test() {
    use certpilot::cli::Cli;
    use certpilot::config::DomainConfig;
    use certpilot::jobs::provider::{save, ProviderRequest};
    use certpilot::jobs::Context;
    use certpilot::paths::Paths;
    use certpilot::secrets::{Keystore, SecretRef, StoreKind};
    use clap::Parser as _;

    let net = 124;
    if !available(net, &["knotd"]) {
        return;
    }
    if common::test_keystore() != "keyutils" {
        eprintln!("SKIP: this test reads the secret back from the keyutils store");
        return;
    }
    let ns = ip(net, 2);
    let secret = random_secret();
    let knot = Server::knot(
        ns,
        &[("example.test", zone_text("example.test", ns, &[]))],
        &secret,
    );
    let wd = Workdir::new("provider-job");
    std::env::set_var("CERTPILOT_KEYRING_SERVICE", &wd.service);
    let dir = wd.path().to_str().unwrap();
    let resolver = ns.to_string();
    let cli = Cli::parse_from([
        "certpilot",
        "--dir",
        dir,
        "--keystore",
        "keyutils",
        "--resolver",
        &resolver,
    ]);
    let ctx = std::sync::Arc::new(Context::new(
        Paths::resolve(Some(wd.path())).unwrap(),
        cli.global.into(),
    ));
    let request = |file: &Path| ProviderRequest {
        domain: "example.test".into(),
        config: DomainConfig::Rfc2136 {
            server: None,
            tsig_name: KEY_NAME.into(),
            tsig_algorithm: "hmac-sha256".into(),
            zone: None,
        },
        secret_file: file.to_path_buf(),
    };
    let keystore = Keystore::open(StoreKind::Keyutils, &wd.service).unwrap();
    let entry = SecretRef::Tsig("example.test".into());
    let before = serial(knot.addr, "example.test");

    let (_bad, bad_file) = secret_file(&random_secret());
    let failed = save(&ctx, request(&bad_file))
        .await
        .unwrap_err()
        .to_string();
    assert!(failed.contains("NOTAUTH/BADSIG"), "{failed}");
    assert_eq!(
        keystore.get(&entry).unwrap(),
        None,
        "the failed secret is not kept"
    );
    let config = std::fs::read_to_string(wd.path().join("certpilot.toml")).unwrap_or_default();
    assert!(!config.contains("rfc2136"), "nothing saved: {config}");
    assert_eq!(serial(knot.addr, "example.test"), before);

    let (_good, good_file) = secret_file(&secret);
    let words = save(&ctx, request(&good_file)).await.unwrap();
    assert!(
        words.contains("added and removed _certpilot-test.example.test."),
        "{words}"
    );
    assert_eq!(
        keystore.get(&entry).unwrap().as_deref(),
        Some(secret.as_str())
    );
    let config = std::fs::read_to_string(wd.path().join("certpilot.toml")).unwrap();
    assert!(config.contains("solver = \"rfc2136\""), "{config}");
    assert!(!config.contains(&secret));
    assert_eq!(
        knot_updates(&knot.log(), "example.test"),
        2,
        "{}",
        knot.log()
    );
    assert!(txt(knot.addr, "_certpilot-test.example.test.").is_empty());
    keystore.delete(&entry).unwrap();
}

/// CNAME following: `_acme-challenge.web.example.test` is a CNAME into other.test, whose
/// solver is rfc2136; the UPDATE goes to other.test (its primary, from its SOA) and the
/// example.test solver (manual, which would need a terminal) is never asked.
#[test]
fn rfc2136_writes_at_the_cname_target_in_the_targets_zone() {
    use dns_tree::{Knot, Unbound, ZoneFile};
    let net = 125;
    if !available(net, &["knotd", "unbound", "pebble"]) {
        return;
    }
    let parent = ZoneFile::new("test", 1)
        .with("@ NS ns")
        .with(format!("ns A {}", ip(net, 1)))
        .with("example NS ns1.example")
        .with(format!("ns1.example A {}", ip(net, 2)))
        .with("other NS ns1.other")
        .with(format!("ns1.other A {}", ip(net, 6)));
    let example = ZoneFile::new("example.test", 1)
        .with("@ NS ns1")
        .with(format!("ns1 A {}", ip(net, 2)))
        .with("_acme-challenge.web CNAME web-challenge.other.test.");
    let _parent = Knot::start(ip(net, 1), &[parent], &[]);
    let _example = Knot::start(ip(net, 2), &[example], &[]);
    let secret = random_secret();
    let other = Server::knot(
        ip(net, 6),
        &[("other.test", zone_text("other.test", ip(net, 6), &[]))],
        &secret,
    );
    let unbound = Unbound::start(ip(net, 4), &[("test", ip(net, 1))]);
    let resolver = format!("{}:53", unbound.addr);
    let Some(pebble) = Pebble::start_with_dns(PebbleOptions::default(), &resolver) else {
        return;
    };
    let wd = workdir_with("rfc2136-cname", &pebble, "web", &["web.example.test"]);
    wd.run(&["domain", "set", "example.test", "--solver", "manual"])
        .ok();
    let (_keep, file) = secret_file(&secret);
    let set = wd.run(&[
        "domain",
        "set",
        "other.test",
        "--solver",
        "rfc2136",
        "--tsig-name",
        KEY_NAME,
        "--tsig-secret-file",
        file.to_str().unwrap(),
    ]);
    set.ok();
    let issued = wd.run(&["--resolver", &resolver, "issue", "web"]);
    issued.ok();
    assert!(wd.path().join("certificates/web/web.crt").exists());
    let log = other.log();
    assert_eq!(
        knot_updates(&log, "other.test"),
        2,
        "one add, one delete at the target\n{log}"
    );
    assert!(
        txt(other.addr, "web-challenge.other.test.").is_empty(),
        "removed after validation"
    );
    assert_secret_kept(&wd, &[&set, &issued], &secret);
}
