//! The manual solver without a terminal (cron, `issue NAME </dev/null`), against real Pebble:
//! the run prints the records, keeps the order and exits 3 ("waiting for you"); a rerun before
//! the records exist shows the same values; a rerun once they are visible finishes the same
//! order.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::process::Command;

use common::pebble::{Pebble, PebbleOptions};
use common::Workdir;

const OWNER: &str = "_acme-challenge.www.example.test.";

/// The TXT value the run asked for.
fn asked_value(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with(OWNER))
        .unwrap_or_else(|| panic!("no record line in:\n{stderr}"));
    line.rsplit('"').nth(1).expect("a quoted value").to_owned()
}

fn journal_order(wd: &Workdir) -> String {
    let path = wd.path().join("state/journal/web.json");
    let journal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the journal is kept")).unwrap();
    journal["order_url"].as_str().unwrap().to_owned()
}

#[test]
fn without_a_terminal_the_order_waits_for_the_records_and_a_rerun_finishes_it() {
    if !common::require_tool("curl") {
        return;
    }
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let mut wd = Workdir::new("manual-wait");
    wd.env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
    wd.add_pebble_account(&pebble.directory, &[]);
    wd.run(&["domain", "set", "example.test", "--solver", "manual"])
        .ok();
    wd.add_cert("web", &["www.example.test"], &[]);

    let first = wd.run_dns(&pebble, &["issue", "web"]);
    first.expect_code(3);
    assert!(
        first.stderr().contains("waiting for you"),
        "{}",
        first.stderr()
    );
    let value = asked_value(&first.stderr());
    let order = journal_order(&wd);

    // Not created yet: the same order, the same value, the same status.
    let again = wd.run_dns(&pebble, &["issue", "web"]);
    again.expect_code(3);
    assert_eq!(asked_value(&again.stderr()), value, "the values are kept");
    assert_eq!(journal_order(&wd), order, "the order is kept");

    // The operator creates the record; the next run (still no terminal) finishes.
    let created = Command::new("curl")
        .args(["-sSf", "-X", "POST", "-d"])
        .arg(format!(r#"{{"host":"{OWNER}","value":"{value}"}}"#))
        .arg(format!("{}/set-txt", pebble.challtestsrv))
        .status()
        .unwrap();
    assert!(created.success());
    let done = wd.run_dns(&pebble, &["issue", "web"]);
    done.ok();
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(wd.path().join("certificates/web/web.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        meta["order_url"].as_str(),
        Some(order.as_str()),
        "the same order"
    );
    assert!(!wd.path().join("state/journal/web.json").exists());

    // `renew` waits the same way, with the same status.
    wd.add_cert("web", &["www.example.test", "example.test"], &["--replace"]);
    let renew = wd.run_dns(&pebble, &["renew", "--all"]);
    renew.expect_code(3);
    assert!(
        renew.stdout().contains("waiting for you"),
        "{}",
        renew.stdout()
    );
}
