//! Faults outside certpilot during issuance: a DNS hook that hangs, a nameserver that stops
//! answering in the middle of the propagation check. Each: a clear message, bounded time,
//! nothing stored, and the next run succeeds. (CA faults: `renewal_timing.rs`; badNonce:
//! `issuance.rs`.)
//!
//! The DNS tree here owns `127.0.41.0/24`.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;
mod dns_tree;

use std::process::{Child, Command};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::pebble::{Pebble, PebbleOptions};
use common::recording::{expect_line, recording_workdir, spawn_with_lines, wait_exit};
use common::{hook_path, Workdir};
use dns_tree::{ip, Knot, ZoneFile};

#[test]
fn a_hanging_dns_hook_is_killed_at_the_hook_timeout_and_the_next_run_succeeds() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = Workdir::new("hang");
    std::fs::write(
        wd.path().join("certpilot.toml"),
        "[settings]\nhook_timeout = 2\n",
    )
    .unwrap();
    let wd = wd.enrol(&pebble, &hook_path());
    wd.run(&["cert", "add", "web", "--name", "web.example.test"])
        .ok();

    let mut args = vec![
        "--resolver",
        pebble.dns.as_str(),
        "--propagation",
        "recursive",
    ];
    args.extend(["issue", "web"]);
    let hung = wd.run_with(&args, &[("HOOK_HANG", "1")]);
    hung.expect_code(1);
    let err = hung.stderr();
    assert!(
        err.contains("did not finish within 2s and was killed"),
        "{err}"
    );
    assert!(err.contains("web.example.test"), "{err}");
    assert!(hung.elapsed < Duration::from_secs(30), "{:?}", hung.elapsed);
    assert!(!wd.path().join("certificates/web/web.crt").exists());
    // The killed hook's `sleep` must not outlive the run.
    let stray = Command::new("pgrep")
        .args(["-f", "^sleep 3600$"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    assert!(
        stray.is_empty(),
        "the hook's process was left running: {stray}"
    );

    wd.run_dns(&pebble, &["issue", "web"]).ok();
    assert!(wd.path().join("certificates/web/web.crt").exists());
}

/// `test.` delegating `example.test` to ns1/ns2.
fn parent(net: u8) -> ZoneFile {
    ZoneFile::new("test", 1)
        .with("@ NS ns")
        .with(format!("ns A {}", ip(net, 1)))
        .with("example NS ns1.example")
        .with("example NS ns2.example")
        .with(format!("ns1.example A {}", ip(net, 2)))
        .with(format!("ns2.example A {}", ip(net, 3)))
}

fn example(net: u8, serial: u32) -> ZoneFile {
    ZoneFile::new("example.test", serial)
        .with("@ NS ns1")
        .with("@ NS ns2")
        .with(format!("ns1 A {}", ip(net, 2)))
        .with(format!("ns2 A {}", ip(net, 3)))
}

/// `certpilot issue web` in authoritative mode with a short propagation timeout.
fn spawn_issue(wd: &Workdir, resolver: &str) -> (Child, Receiver<String>) {
    spawn_with_lines(
        wd,
        &[
            "--resolver",
            resolver,
            "--propagation-timeout",
            "8",
            "issue",
            "web",
        ],
    )
}

/// The zone with the records the hook has published last (one per owner).
fn zone_with_latest(published: &std::path::Path, serial: u32, net: u8) -> ZoneFile {
    let text = std::fs::read_to_string(published).unwrap();
    let last = text.lines().last().expect("the hook published a record");
    example(net, serial).with(last.to_owned())
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

#[test]
fn a_nameserver_that_stops_answering_mid_check_fails_the_run_in_bounded_time() {
    let net = 41;
    if !dns_tree::available(net) || !common::require_tool("pebble") {
        return;
    }
    let _parent = Knot::start(ip(net, 1), &[parent(net)], &[]);
    let ns1 = Knot::start(ip(net, 2), &[example(net, 1)], &[]);
    let ns2 = Knot::start(ip(net, 3), &[example(net, 1)], &[]);
    let Some(pebble) =
        Pebble::start_with_dns(PebbleOptions::default(), &format!("{}:53", ip(net, 2)))
    else {
        return;
    };
    let (wd, published) = recording_workdir(&pebble, "ns-stops", &["web.example.test"]);
    let resolver = ip(net, 1).to_string();

    // Run 1: ns1 gets the record; ns2 answers the first round, then goes silent.
    let (mut issue, lines) = spawn_issue(&wd, &resolver);
    let mut seen = Vec::new();
    expect_line(&lines, &mut seen, "progress", |l| {
        l.contains("NOT propagated (0/2")
    });
    ns1.update(&zone_with_latest(&published, 2, net));
    signal(ns2.pid(), "-STOP");
    let started = Instant::now();
    expect_line(&lines, &mut seen, "progress", |l| {
        l.contains("ns2.example.test")
            && l.contains(&ip(net, 3).to_string())
            && l.contains("timeout")
    });
    let code = wait_exit(&mut issue);
    let rest: Vec<String> = lines.try_iter().collect();
    seen.extend(rest);
    let all = seen.join("\n");
    signal(ns2.pid(), "-CONT");
    assert_eq!(code, Some(1), "{all}");
    assert!(
        all.contains("s the records are not on every authoritative server"),
        "{all}"
    );
    let silent = format!("ns2.example.test {} timeout", ip(net, 3));
    assert!(
        all.lines()
            .any(|l| l.starts_with("error:") && l.contains(&silent)),
        "the final error does not name the silent server: {all}"
    );
    // Bounded: the propagation timeout plus a query round, not the CA's or forever.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        !seen.iter().any(|l| l.contains("challenges answered")),
        "the CA was asked although ns2 never served the record:\n{all}"
    );
    assert!(!wd.path().join("certificates/web/web.crt").exists());

    // Run 2: ns2 answers again; both get the new record; the run succeeds.
    let (mut issue, lines) = spawn_issue(&wd, &resolver);
    let mut seen = Vec::new();
    expect_line(&lines, &mut seen, "progress", |l| {
        l.contains("NOT propagated (0/2")
    });
    let zone = zone_with_latest(&published, 3, net);
    ns1.update(&zone);
    ns2.update(&zone);
    expect_line(&lines, &mut seen, "progress", |l| {
        l.contains("stored (serial")
    });
    assert_eq!(wait_exit(&mut issue), Some(0), "{}", seen.join("\n"));
    assert!(wd.path().join("certificates/web/web.crt").exists());
}
