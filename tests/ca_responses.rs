//! A CA that answers with something broken: HTML where the directory should be, a directory
//! without `newAccount`, a server error, a problem document of a type nobody knows, an order
//! that is not JSON. The answers come from the proxy in front of Pebble (tests/common/
//! ca_proxy.rs), one canned response each; everything else is Pebble's. Each case: a clear
//! message naming what is wrong, exit 1 (the CA failed, not the operator's input), no file
//! of the working directory changed, and the next run against the healthy CA succeeds.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[path = "common/ca_proxy.rs"]
mod ca_proxy;
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ca_proxy::CaProxy;
use common::pebble::{Pebble, PebbleOptions};
use common::{files_under, hook_path, Workdir};

/// Every file of the working directory with its bytes, except the log and the (empty)
/// per-certificate lock files, which record that a run happened.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("certpilot.log"))
                && !p.parent().is_some_and(|d| d.ends_with("state/locks"))
        })
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// `run` failed as a broken CA should make it: exit 1, `needle` in the message, no panic,
/// and no file of the working directory changed since `before`.
fn failed_cleanly(
    wd: &Workdir,
    run: &common::Run,
    what: &str,
    needle: &str,
    before: &BTreeMap<PathBuf, Vec<u8>>,
) {
    let err = run.stderr();
    eprintln!("{what}: {}", err.trim_end());
    assert_eq!(run.code(), 1, "{what}: exit {}\n{err}", run.code());
    assert!(err.contains(needle), "{what}: want {needle:?} in {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_eq!(&snapshot(wd.path()), before, "{what}: a file changed");
}

/// (what, path suffix, status, content type, body, text the message must contain)
type Case = (
    &'static str,
    &'static str,
    u16,
    &'static str,
    &'static str,
    &'static str,
);

const PROBLEM: &str = "application/problem+json";

/// Pebble, the proxy in front of it (no ARI), and a workdir trusting Pebble's TLS CA with
/// the challtestsrv hook's environment.
fn start(tag: &str) -> Option<(Pebble, CaProxy, Workdir)> {
    let pebble = Pebble::start(PebbleOptions::default())?;
    let proxy = CaProxy::start(&pebble.directory, &pebble.ca_bundle, false);
    let mut wd = Workdir::new(tag);
    wd.env("CHALLTESTSRV", &pebble.challtestsrv)
        .env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
    Some((pebble, proxy, wd))
}

#[test]
fn a_broken_directory_fails_account_registration_cleanly() {
    let Some((_pebble, proxy, wd)) = start("ca-dir") else {
        return;
    };
    std::fs::write(
        wd.path().join("certpilot.toml"),
        "[settings]\nparallel = 2\n",
    )
    .unwrap();
    let cases: &[Case] = &[
        (
            "HTML instead of a directory",
            "/dir",
            200,
            "text/html",
            "<html><body>Welcome to nginx!</body></html>",
            "is not an ACME directory",
        ),
        (
            "a directory without newAccount",
            "/dir",
            200,
            "application/json",
            r#"{"newNonce": "https://127.0.0.1:1/nonce-plz"}"#,
            "missing field `newAccount`",
        ),
        (
            "a server error",
            "/dir",
            500,
            PROBLEM,
            r#"{"type": "urn:ietf:params:acme:error:serverInternal", "detail": "database on fire", "status": 500}"#,
            "database on fire",
        ),
        (
            "404 text",
            "/dir",
            404,
            "text/plain",
            "404 page not found",
            "404",
        ),
        (
            "newAccount answers a problem of an unknown type",
            "/sign-me-up",
            400,
            PROBLEM,
            r#"{"type": "urn:example:acme:error:weird", "detail": "the moon is in the wrong phase", "status": 400}"#,
            "the moon is in the wrong phase",
        ),
    ];
    for (what, suffix, status, content_type, body, needle) in cases {
        let before = snapshot(wd.path());
        // Every fetch of the directory gets the broken answer, however often it is asked.
        proxy.answer_with(suffix, (*status, content_type, body), 8);
        let run = wd.run(&[
            "account",
            "add",
            "pebble",
            "--directory",
            &proxy.directory,
            "--agree-tos",
        ]);
        failed_cleanly(&wd, &run, what, needle, &before);
        assert!(
            !std::fs::read_to_string(wd.path().join("certpilot.toml"))
                .unwrap()
                .contains("[accounts"),
            "{what}: an account was saved"
        );
        proxy.heal();
    }
    // The CA is healthy again: registering works.
    wd.add_pebble_account(&proxy.directory, &[]).ok();
}

#[test]
fn broken_order_answers_fail_issuance_cleanly_and_the_next_run_succeeds() {
    let Some((pebble, proxy, wd)) = start("ca-order") else {
        return;
    };
    wd.add_pebble_account(&proxy.directory, &[]).ok();
    wd.set_exec_solver(&hook_path()).ok();
    wd.run(&["cert", "add", "web", "--name", "web.example.test"])
        .ok();
    let cases: &[Case] = &[
        (
            "an order that is not JSON",
            "/order-plz",
            201,
            "application/json",
            "<order/>",
            "creating the order: failed to (de)serialize JSON",
        ),
        (
            "a problem of an unknown type",
            "/order-plz",
            400,
            PROBLEM,
            r#"{"type": "urn:example:acme:error:weird", "detail": "the moon is in the wrong phase", "status": 400}"#,
            "the moon is in the wrong phase",
        ),
        (
            "rejectedIdentifier with subproblems",
            "/order-plz",
            400,
            PROBLEM,
            r#"{"type": "urn:ietf:params:acme:error:rejectedIdentifier", "detail": "policy forbids", "status": 400,
                "subproblems": [{"type": "urn:ietf:params:acme:error:rejectedIdentifier", "detail": "no web for you",
                                 "identifier": {"type": "dns", "value": "web.example.test"}}]}"#,
            "no web for you",
        ),
    ];
    for (what, suffix, status, content_type, body, needle) in cases {
        let before = snapshot(wd.path());
        proxy.answer_with(suffix, (*status, content_type, body), 1);
        let run = wd.run_dns(&pebble, &["issue", "web"]);
        failed_cleanly(&wd, &run, what, needle, &before);
    }
    wd.run_dns(&pebble, &["issue", "web"]).ok();
    assert!(wd.path().join("certificates/web/web.crt").exists());
}
