//! A cleanup that fails or hangs is loud, against real Pebble and pebble-challtestsrv: the
//! issuance warns naming the record left in DNS, `list` shows it, a hung hook is cut at
//! `hook_timeout`, and the next `renew` removes the record although nothing is due.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::time::{Duration, Instant};

use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Workdir};

const OWNER: &str = "_acme-challenge.www.example.test.";

/// Whether a TXT record is served for www.example.test (through challtestsrv's DNS).
fn txt_visible(wd: &Workdir, pebble: &Pebble) -> bool {
    wd.run_dns(pebble, &["check", "www.example.test"]).code() == 0
}

fn start(tag: &str) -> Option<(Pebble, Workdir)> {
    let pebble = Pebble::start(PebbleOptions::default())?;
    let wd = Workdir::new(tag).enrol(&pebble, &hook_path());
    wd.add_cert("web", &["www.example.test"], &[]);
    Some((pebble, wd))
}

fn renew_removes_the_leftover(wd: &Workdir, pebble: &Pebble) {
    let renewed = wd.run_dns(pebble, &["renew", "--all"]);
    renewed.ok();
    assert!(
        renewed
            .stdout()
            .contains("web: leftover challenge record(s) removed"),
        "{}",
        renewed.stdout()
    );
    assert!(!txt_visible(wd, pebble), "the record is gone");
    let listed = wd.run(&["list"]);
    assert!(!listed.stdout().contains("note:"), "{}", listed.stdout());
    let quiet = wd.run_dns(pebble, &["renew", "--all"]);
    assert!(
        quiet.stdout().contains("nothing to renew"),
        "{}",
        quiet.stdout()
    );
}

#[test]
fn a_failed_cleanup_is_named_listed_and_retried() {
    let Some((pebble, wd)) = start("cleanup-fail") else {
        return;
    };
    let base = [
        "--resolver",
        pebble.dns.as_str(),
        "--propagation",
        "recursive",
    ];
    let issued = wd.run_with(
        &[&base[..], &["issue", "web"]].concat(),
        &[("HOOK_FAIL_CLEANUP", "1")],
    );
    issued.ok();
    let err = issued.stderr();
    assert!(
        err.contains("warning: web:") && err.contains(OWNER),
        "{err}"
    );
    assert!(err.contains("still in DNS"), "{err}");
    assert!(
        txt_visible(&wd, &pebble),
        "the record really was left behind"
    );
    assert!(
        wd.log().contains("record is locked"),
        "the hook's words are logged"
    );
    let listed = wd.run(&["list"]);
    listed.ok();
    assert!(
        listed.stdout().contains("note: web:") && listed.stdout().contains(OWNER),
        "{}",
        listed.stdout()
    );
    renew_removes_the_leftover(&wd, &pebble);
}

#[test]
fn a_hung_cleanup_is_cut_at_the_hook_timeout() {
    let Some((pebble, wd)) = start("cleanup-hang") else {
        return;
    };
    let config = wd.path().join("certpilot.toml");
    let mut doc: toml::Table = std::fs::read_to_string(&config).unwrap().parse().unwrap();
    doc["settings"]
        .as_table_mut()
        .unwrap()
        .insert("hook_timeout".into(), toml::Value::Integer(2));
    std::fs::write(&config, toml::to_string(&doc).unwrap()).unwrap();
    let base = [
        "--resolver",
        pebble.dns.as_str(),
        "--propagation",
        "recursive",
    ];
    let started = Instant::now();
    let issued = wd.run_with(
        &[&base[..], &["issue", "web"]].concat(),
        &[("HOOK_HANG_CLEANUP", "1")],
    );
    issued.ok();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let err = issued.stderr();
    assert!(
        err.contains(OWNER) && err.contains("hook_timeout (2 s)"),
        "{err}"
    );
    assert!(txt_visible(&wd, &pebble));
    renew_removes_the_leftover(&wd, &pebble);
}
