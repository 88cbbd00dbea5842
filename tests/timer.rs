//! `certpilot timer install|remove`: the printed units, installing where systemctl is missing
//! (files written, exit 1 with the command to run), removal, and systemd-analyze verifying the
//! units.
//!
//! systemd is not running where these tests run (a container), so enabling the timer through a
//! real systemctl is not tested; a fake systemctl would prove nothing about systemd.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::path::{Path, PathBuf};

use common::Workdir;

/// The units' directory below a fake `XDG_CONFIG_HOME`.
fn unit_dir(xdg: &Path) -> PathBuf {
    xdg.join("systemd/user")
}

/// Run `timer ...` with `XDG_CONFIG_HOME` at `xdg` and a PATH without systemctl.
fn timer(wd: &Workdir, xdg: &Path, args: &[&str]) -> common::Run {
    let empty = xdg.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let mut all = vec!["timer"];
    all.extend_from_slice(args);
    wd.run_with(
        &all,
        &[
            ("XDG_CONFIG_HOME", xdg.to_str().unwrap()),
            ("PATH", empty.to_str().unwrap()),
        ],
    )
}

/// The `--print` output split into (path, unit text) pairs.
fn units(printed: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in printed.lines() {
        if let Some(path) = line.strip_prefix("# ") {
            out.push((path.to_owned(), String::new()));
        } else if let Some((_, text)) = out.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    // A blank line separates the two units in the output.
    for (_, text) in &mut out {
        let trimmed = format!("{}\n", text.trim_end());
        *text = trimmed;
    }
    out
}

fn value<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn print_shows_both_units_and_writes_nothing() {
    let wd = Workdir::new("timer-print");
    let xdg = tempfile::tempdir().unwrap();
    let run = timer(&wd, xdg.path(), &["install", "--print", "--every", "6"]);
    run.ok();
    let units = units(&run.stdout());
    let dir = unit_dir(xdg.path());
    assert_eq!(
        units
            .iter()
            .map(|(p, _)| PathBuf::from(p))
            .collect::<Vec<_>>(),
        [
            dir.join("certpilot-renew.service"),
            dir.join("certpilot-renew.timer")
        ],
        "{}",
        run.stdout()
    );
    let (service, timer) = (&units[0].1, &units[1].1);

    let exec = value(service, "ExecStart").expect("ExecStart");
    let words: Vec<&str> = exec.split(' ').collect();
    assert!(Path::new(words[0]).is_absolute(), "{exec}");
    assert_eq!(
        std::fs::canonicalize(words[0]).unwrap(),
        std::fs::canonicalize(env!("CARGO_BIN_EXE_certpilot")).unwrap()
    );
    let dir_arg = words.iter().position(|w| *w == "--dir").expect("--dir");
    assert_eq!(words[dir_arg + 1], wd.path().to_str().unwrap());
    assert_eq!(words[words.len() - 2..], ["renew", "--all"]);
    assert!(
        !words.contains(&"--ca-timeout"),
        "the default is not repeated: {exec}"
    );
    assert_eq!(value(service, "Type"), Some("oneshot"));
    // The keyring service name (not a secret) follows the run into the unit.
    assert_eq!(
        value(service, "Environment"),
        Some(format!("CERTPILOT_KEYRING_SERVICE={}", wd.service).as_str())
    );

    assert_eq!(value(timer, "OnCalendar"), Some("*-*-* 00/06:00:00"));
    assert_eq!(value(timer, "RandomizedDelaySec"), Some("1h"));
    assert_eq!(value(timer, "Persistent"), Some("true"));
    assert_eq!(value(timer, "Unit"), Some("certpilot-renew.service"));
    assert_eq!(value(timer, "WantedBy"), Some("timers.target"));
    for text in [service, timer] {
        assert!(!text.contains("PRIVATE KEY") && !text.to_lowercase().contains("password"));
    }
    assert!(!xdg.path().join("systemd").exists(), "--print wrote files");

    // A non-default CA timeout follows the run into the unit, like the other global options.
    let run = crate::timer(
        &wd,
        xdg.path(),
        &["install", "--print", "--every", "6", "--ca-timeout", "45"],
    );
    run.ok();
    let units = crate::units(&run.stdout());
    let exec = value(&units[0].1, "ExecStart").expect("ExecStart");
    let words: Vec<&str> = exec.split(' ').collect();
    let at = words
        .iter()
        .position(|w| *w == "--ca-timeout")
        .unwrap_or_else(|| panic!("--ca-timeout missing: {exec}"));
    assert_eq!(words[at + 1], "45", "{exec}");
    assert_eq!(words[words.len() - 2..], ["renew", "--all"]);
}

#[test]
fn install_without_systemctl_writes_the_units_and_says_what_to_run() {
    let wd = Workdir::new("timer-install");
    let xdg = tempfile::tempdir().unwrap();
    let printed = timer(&wd, xdg.path(), &["install", "--print"]);
    printed.ok();
    let run = timer(&wd, xdg.path(), &["install"]);
    run.expect_code(1);
    let err = run.stderr();
    assert!(err.contains("systemctl is not on PATH"), "{err}");
    assert!(
        err.contains(
            "systemctl --user daemon-reload && systemctl --user enable --now certpilot-renew.timer"
        ),
        "{err}"
    );
    // The files are exactly what --print showed.
    for (path, text) in units(&printed.stdout()) {
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "{path}");
    }
    let dir = unit_dir(xdg.path());
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // --no-enable: written, no systemctl wanted, exit 0.
    let quiet = timer(
        &wd,
        xdg.path(),
        &["install", "--no-enable", "--every", "36"],
    );
    quiet.ok();
    assert!(quiet.stdout().contains("enable with: systemctl --user"));
    let timer_text = std::fs::read_to_string(dir.join("certpilot-renew.timer")).unwrap();
    assert_eq!(value(&timer_text, "OnUnitActiveSec"), Some("36h"));
}

#[test]
fn remove_deletes_the_units_and_a_dangling_enable_link() {
    let wd = Workdir::new("timer-remove");
    let xdg = tempfile::tempdir().unwrap();
    timer(&wd, xdg.path(), &["install", "--no-enable"]).ok();
    let dir = unit_dir(xdg.path());
    let wants = dir.join("timers.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    std::os::unix::fs::symlink(
        dir.join("certpilot-renew.timer"),
        wants.join("certpilot-renew.timer"),
    )
    .unwrap();

    let run = timer(&wd, xdg.path(), &["remove"]);
    // Without systemctl nothing could be disabled: said, and exit 1, but the files are gone.
    run.expect_code(1);
    assert!(
        run.stderr().contains("systemctl is not on PATH"),
        "{}",
        run.stderr()
    );
    for f in ["certpilot-renew.service", "certpilot-renew.timer"] {
        assert!(!dir.join(f).exists(), "{f} still there");
    }
    assert!(std::fs::symlink_metadata(wants.join("certpilot-renew.timer")).is_err());

    // Nothing left: a second remove is a no-op.
    let again = timer(&wd, xdg.path(), &["remove"]);
    again.ok();
    assert!(
        again.stdout().contains("no certpilot timer units"),
        "{}",
        again.stdout()
    );
}

#[test]
fn a_zero_interval_is_a_usage_error() {
    let wd = Workdir::new("timer-usage");
    let xdg = tempfile::tempdir().unwrap();
    let run = timer(&wd, xdg.path(), &["install", "--every", "0"]);
    run.expect_code(2);
    assert!(run.stderr().contains("--every"), "{}", run.stderr());
    assert!(!xdg.path().join("systemd").exists());
}

/// systemd's own parser (`systemd-analyze verify`, which needs no running systemd) accepts
/// the units for a calendar schedule and for an interval that does not divide a day, and the
/// service's ExecStart names an executable.
#[test]
fn systemd_analyze_verifies_the_written_units() {
    if !common::require_tool("systemd-analyze") {
        return;
    }
    let wd = Workdir::new("timer-verify");
    for every in ["12", "36"] {
        let xdg = tempfile::tempdir().unwrap();
        timer(
            &wd,
            xdg.path(),
            &["install", "--no-enable", "--every", every],
        )
        .ok();
        let dir = unit_dir(xdg.path());
        let out = std::process::Command::new("systemd-analyze")
            .args(["verify", "certpilot-renew.service", "certpilot-renew.timer"])
            .current_dir(&dir)
            .output()
            .expect("systemd-analyze");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "--every {every}: {said}");
        // systemd-analyze exits 0 on some warnings; none may mention our units.
        assert!(!said.contains("certpilot-renew"), "--every {every}: {said}");
    }
}
