//! While the records are awaited in `recursive` mode the run says what it waits for, for how
//! long so far and the limit (no silent minutes), against real Pebble; and a failed renewal's
//! reason reaches the log file, not only stdout.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use common::pebble::{Pebble, PebbleOptions};
use common::Workdir;

#[test]
fn a_recursive_wait_reports_what_elapsed_and_the_limit_and_the_log_keeps_the_reason() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    // A solver that "publishes" nothing: the records never appear.
    let wd = Workdir::new("wait-progress").enrol(&pebble, std::path::Path::new("/bin/true"));
    wd.add_cert("web", &["www.example.test"], &[]);
    let run = wd.run_dns(&pebble, &["--propagation-timeout", "4", "renew", "--all"]);
    run.expect_code(1);
    let err = run.stderr();
    let beats: Vec<&str> = err
        .lines()
        .filter(|l| {
            l.contains("web: waiting for 1 TXT record(s) to be visible through the resolvers (recursive mode)")
                && l.ends_with("of at most 4 s")
        })
        .collect();
    assert!(beats.len() >= 2, "a heartbeat every second:\n{err}");
    assert!(beats[0].contains(": 1 s of"), "{beats:?}");
    let log = wd.log();
    let failed = log
        .lines()
        .find(|l| l.contains("renewal failed") && l.contains("web"))
        .unwrap_or_else(|| panic!("no failure line in the log:\n{log}"));
    assert!(
        failed.contains("still do not serve every value"),
        "{failed}"
    );
}
