//! The README's "Try it locally with Pebble" recipe, run as written: its commands are read
//! from the README (so the two cannot drift apart), with only the fixed ports swapped for free
//! ones, the `apt-get install` line left to scripts/test-deps.sh, and `certpilot` being the
//! binary under test.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

const SECTION: &str = "## Try it locally with Pebble";

/// The first fenced code block after the section heading.
fn recipe() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme
        .find(SECTION)
        .expect("the README has the Pebble section")..];
    let start = section.find("```\n").expect("a code block") + 4;
    let end = start + section[start..].find("```").expect("the block ends");
    section[start..end].to_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_readme_pebble_recipe_works_as_written() {
    if !common::require_tool("pebble") || !common::require_tool("openssl") {
        return;
    }
    let mut script = recipe();
    assert!(
        script.contains("certpilot --resolver 127.0.0.1:8053"),
        "{script}"
    );
    script = script
        .lines()
        .filter(|l| !l.starts_with("sudo apt-get"))
        .collect::<Vec<_>>()
        .join("\n");
    for port in ["14000", "15000", "8053", "8055", "5002", "5001"] {
        let free = free_port().to_string();
        script = script
            .replace(&format!("127.0.0.1:{port}"), &format!("127.0.0.1:{free}"))
            .replace(&format!("Port\":{port}"), &format!("Port\":{free}"));
        assert!(
            !script.contains(&format!("127.0.0.1:{port}"))
                && !script.contains(&format!("Port\":{port}")),
            "port {port} left in\n{script}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    // The recipe runs from the repository's top directory (its hook path says so).
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"),
        dir.path().join("tests"),
    )
    .unwrap();
    let wrapped = format!(
        "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n\
         certpilot() {{ '{}' \"$@\"; }}\n{script}\n",
        env!("CARGO_BIN_EXE_certpilot")
    );
    let wd = common::Workdir::new("readme");
    let mut cmd = Command::new("timeout");
    cmd.args(["180", "bash", "-c", &wrapped])
        .current_dir(dir.path())
        .env_remove("CERTPILOT_DIR")
        .env_remove("CERTPILOT_CA_BUNDLE");
    // Only the keyring isolation of the test harness; the recipe sets everything else.
    for (k, v) in &wd.envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the recipe failed ({})\n--- script\n{wrapped}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    let listed = stdout
        .lines()
        .find(|l| l.starts_with("demo "))
        .unwrap_or("");
    assert!(
        listed.contains("valid"),
        "list shows the issued certificate:\n{stdout}"
    );
}
