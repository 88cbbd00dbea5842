//! `issue --dry-run`: the whole flow against a given directory (real Pebble) with a throwaway
//! account; the stored certificate, its metadata, the config and the accounts stay byte for
//! byte, and the deploy hook does not run. Without a known staging twin it is refused.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Workdir};

/// Every file of the working directory but the log and lock files, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    common::files_under(dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.starts_with("certpilot.log") && !name.ends_with(".lock")
        })
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p.strip_prefix(dir).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

#[test]
fn a_dry_run_issues_against_the_given_directory_and_changes_nothing() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = Workdir::new("dry-run").enrol(&pebble, &hook_path());
    let deployed = wd.path().join("deployed");
    let hook = format!("touch '{}'", deployed.display());
    wd.add_cert("web", &["www.example.test"], &["--deploy-hook", &hook]);
    wd.run_dns(&pebble, &["issue", "web"]).ok();
    std::fs::remove_file(&deployed).expect("the real issuance deployed");
    let before = snapshot(wd.path());

    let refused = wd.run_dns(&pebble, &["issue", "--dry-run", "web"]);
    refused.expect_code(2);
    assert!(
        refused.stderr().contains("no staging twin")
            && refused.stderr().contains("--dry-run-directory"),
        "{}",
        refused.stderr()
    );

    let run = wd.run_dns(
        &pebble,
        &[
            "issue",
            "--dry-run",
            "web",
            "--dry-run-directory",
            &pebble.directory,
        ],
    );
    run.ok();
    assert!(
        run.stdout().contains("web: dry run succeeded"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stderr().contains("certificate issued"),
        "the whole flow ran: {}",
        run.stderr()
    );
    assert_eq!(
        snapshot(wd.path()),
        before,
        "a file of the working directory changed"
    );
    assert!(!deployed.exists(), "the deploy hook ran");
    let stale = wd.run(&["list"]);
    assert!(!stale.stdout().contains("note:"), "{}", stale.stdout());
}
