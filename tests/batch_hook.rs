//! The exec solver's batch contract end to end: `domain set --batch` is saved and listed,
//! and an order of several names calls the hook once to publish and once to clean up, with
//! every record on standard input; the certificate is issued.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Workdir};

#[test]
fn a_batch_hook_is_called_once_per_order_with_every_record() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let mut wd = Workdir::new("batch-hook");
    let log = wd.path().join("batch.log");
    wd.env("BATCH_LOG", log.to_str().unwrap());
    let wd = wd.enrol(&pebble, &hook_path());
    let batch_hook = hook_path().with_file_name("challtest-batch-hook.sh");
    wd.set_exec_solver_with(&batch_hook, &["--batch"]);
    let batch = batch_hook.to_str().unwrap();
    let config = std::fs::read_to_string(wd.path().join("certpilot.toml")).unwrap();
    assert!(config.contains("batch = true"), "{config}");
    let listed = wd.run(&["domain", "list"]).stdout();
    assert!(
        listed.contains(&format!("example.test\texec\t{batch} (batch)")),
        "{listed}"
    );

    wd.run(&[
        "cert",
        "add",
        "web",
        "--name",
        "a.example.test",
        "--name",
        "b.example.test",
        "--name",
        "*.b.example.test",
        "--name",
        "c.example.test",
    ])
    .ok();
    wd.run_dns(&pebble, &["issue", "web"]).ok();
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls, "present-batch 4\ncleanup-batch 4\n");
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&wd.run(&["list", "--json"]).stdout()).unwrap();
    assert_eq!(rows[0]["status"], "valid", "{rows:?}");

    // --batch belongs to the exec solver's command.
    wd.run(&[
        "domain",
        "set",
        "x.example.test",
        "--solver",
        "manual",
        "--batch",
    ])
    .expect_code(2);
}
