//! `certpilot sandbox --check`: the whole product on loopback, as root and as an unprivileged
//! user, leaving no process, no file and no keyring entry behind.
//!
//! The sandbox picks its own `127.77.N.0/24` (N from its process id) and high ports.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// Runs the sandbox in a new session keyring, then lists that keyring and the user's
/// persistent one after the marker line, in the same session.
const SCRIPT: &str = r#""$0" --keystore keyutils sandbox --check; status=$?
echo "---keys---"; keyctl show @s; keyctl show "$(keyctl get_persistent @s)"; exit $status"#;

fn required() -> bool {
    [
        "pebble", "knotd", "knotc", "unbound", "flock", "keyctl", "setpriv",
    ]
    .iter()
    .all(|tool| common::require_tool(tool))
}

/// Run `sandbox --check` (through `prefix`, e.g. a user switch) and check what it leaves.
fn check_leaves_nothing(prefix: &[&str], who: &str) {
    let exe = env!("CARGO_BIN_EXE_certpilot");
    let mut args: Vec<&str> = prefix.to_vec();
    args.extend(["keyctl", "session", "-", "sh", "-c", SCRIPT, exe]);
    let child = Command::new(args[0])
        .args(&args[1..])
        .current_dir("/tmp")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out: Output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{who}: {text}");
    assert!(
        text.contains("sandbox check: 4 steps passed"),
        "{who}: {text}"
    );
    for step in [
        "issue web",
        "issue api",
        "renew web",
        "renew web while ns2 lags",
    ] {
        assert!(
            text.contains(&format!("  {step}")),
            "{who}: no {step:?} in {text}"
        );
    }
    assert!(text.contains("removed 4 keyring entr"), "{who}: {text}");
    let root = text
        .lines()
        .find_map(|l| {
            l.split(" in ")
                .nth(1)
                .filter(|_| l.starts_with("sandbox: starting"))
        })
        .expect("the sandbox names its directory")
        .trim()
        .to_owned();
    assert!(!Path::new(&root).exists(), "{who}: {root} is left behind");
    // Every server's command line names the sandbox directory.
    common::wait_for(
        "the sandbox's servers to be gone",
        Duration::from_secs(5),
        || {
            let left = Command::new("pgrep").args(["-f", &root]).output().unwrap();
            left.stdout.is_empty()
        },
    );
    // The listing is on stdout; stderr names the sandbox directory.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (_, keys) = stdout
        .split_once("---keys---")
        .expect("the keyrings were listed");
    assert!(
        !keys.contains("certpilot-sandbox-"),
        "{who}: keyring entries left:\n{keys}"
    );
}

#[test]
fn sandbox_check_passes_and_leaves_nothing_behind() {
    if !required() {
        return;
    }
    check_leaves_nothing(&[], "this user");
    let root = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&root.stdout).trim() == "0" {
        // As an ordinary user: no port 53, no writable home, its own session keyring.
        check_leaves_nothing(
            &[
                "setpriv",
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "env",
                "HOME=/nonexistent",
            ],
            "nobody",
        );
    }
}

#[test]
fn a_stopped_sandbox_still_stops_its_servers_and_forgets_its_secrets() {
    if !required() {
        return;
    }
    let exe = env!("CARGO_BIN_EXE_certpilot");
    let mut child = Command::new(exe)
        .args(["--keystore", "keyutils", "sandbox", "--check"])
        .current_dir("/tmp")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = common::recording::lines_of(child.stderr.take().unwrap());
    let mut root = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("the sandbox gets ready");
        if let Some(dir) = line
            .strip_prefix("sandbox: starting")
            .and_then(|l| l.split(" in ").nth(1))
        {
            root = dir.trim().to_owned();
        }
        if line.contains("sandbox: ready") {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.iter().collect();
    let code = child.wait().unwrap();
    let text = rest.join("\n");
    assert_eq!(code.code(), Some(1), "{text}");
    assert!(text.contains("stopped by SIGTERM"), "{text}");
    assert!(
        text.contains("sandbox: stopped 5 server(s), removed"),
        "{text}"
    );
    assert!(
        !root.is_empty() && !Path::new(&root).exists(),
        "{root} left behind"
    );
    let left = Command::new("pgrep").args(["-f", &root]).output().unwrap();
    assert!(
        left.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&left.stdout)
    );
}
