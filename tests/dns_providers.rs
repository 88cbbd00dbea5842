//! Native DNS providers end to end: certificates issued from Pebble through RFC 2136 updates
//! signed with TSIG (Knot with an ACL, BIND 9 with an update-policy) and through the
//! PowerDNS HTTP API; the errors an operator meets (wrong secret, wrong zone, wrong API key);
//! one UPDATE per zone for a 100-name certificate, counted in the server's log; and no secret
//! in any file, log or output.
//!
//! Networks: 127.0.120.0/24 through 127.0.124.0/24 (one per test). Pebble validates by
//! asking the test's authoritative server directly.

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
    let mut wd = Workdir::new(tag);
    wd.env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
    wd.add_pebble_account(&pebble.directory, &[]);
    let mut args = vec!["cert", "add", "web"];
    for name in NAMES {
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
    let run = wd.run(&["--resolver", &server.ip().to_string(), "issue", "web"]);
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
    let set = set_rfc2136(&wd, &file, &["--server", &ns.to_string()]);
    set.ok();
    let issued = issue_through(&wd, knot.addr, "rfc2136");
    assert_eq!(
        txt(knot.addr, "_acme-challenge.example.test."),
        ["keep-me"],
        "the other TXT value stays"
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
