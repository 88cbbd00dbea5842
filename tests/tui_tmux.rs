//! The real binary in a real terminal: tmux on a private socket, fixed size, no fixed sleeps.
//!
//! - an empty working directory: empty state, help, quit, terminal restored;
//! - a working directory with certificates issued from Pebble: names and days left, help, a
//!   detail, an issuance through the exec solver from the TUI, quit;
//! - the propagation matrix against a loopback DNS tree (knot, `127.0.61.0/24`);
//! - the command palette: typing filters, Enter runs the accounts view;
//! - the account wizard's CA-bundle field registers against Pebble with no `--ca-bundle`;
//! - an acme-dns issuance from the TUI with `--resolver` only on the command line
//!   (`127.0.236.0/24`: knot, certpilot's acme-dns server, unbound).
//!
//! Skipped (with a message) when tmux, Pebble or knot is missing, unless `CI=true`. Run
//! inside `keyctl session -` (the keyutils store needs a session keyring of its own).
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[path = "common/acmedns_tree.rs"]
mod acmedns_tree;
mod common;
mod dns_tree;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Workdir};
use dns_tree::{ip, Knot, ZoneFile};

const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;
const DEADLINE: Duration = Duration::from_secs(15);
/// An issuance against Pebble takes a few seconds; allow for a loaded machine.
const ISSUE_DEADLINE: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(50);
/// Printed by the wrapper shell once certpilot has exited, on the normal screen.
const AFTER_EXIT: &str = "certpilot-test: exited with";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A tmux server on a private socket with one session; killed on Drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Start `command` (a shell command line) in a detached session of the given size.
    fn start(command: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let tmux = Self {
            socket: format!("certpilot-test-{}-{n}", std::process::id()),
        };
        let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
        let out = tmux.run(&["new-session", "-d", "-s", "t", "-x", &w, "-y", &h, command]);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("running tmux")
    }

    fn capture(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    fn pane_format(&self, format: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", "t", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Send one key (a character, or a tmux key name such as `Enter`, `Escape`, `Down`).
    fn send(&self, key: &str) {
        let out = self.run(&["send-keys", "-t", "t", key]);
        assert!(
            out.status.success(),
            "send-keys {key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Type `text` literally.
    fn type_text(&self, text: &str) {
        let out = self.run(&["send-keys", "-t", "t", "-l", text]);
        assert!(
            out.status.success(),
            "send-keys -l: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Poll the pane until `needle` shows, or fail with what the screen showed.
    fn wait_for(&self, needle: &str) -> String {
        self.wait_until(needle, DEADLINE, |screen| screen.contains(needle))
    }

    fn wait_until(&self, what: &str, deadline: Duration, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if done(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < deadline,
                "timed out waiting for {what:?}; screen:\n{screen}"
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// Whether tmux can run here; `false` means skip (never on CI).
fn tmux_available() -> bool {
    common::require_tool("tmux")
}

/// Single-quote `s` for sh.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A shell line that runs certpilot with `args` and `envs`, then records its exit status in
/// `status_file` and on screen (with whether the tty is back in canonical mode), and keeps
/// the pane open so the restored screen can be inspected.
fn certpilot_command(args: &[&str], envs: &[(String, String)], status_file: &Path) -> String {
    let bin = quote(env!("CARGO_BIN_EXE_certpilot"));
    let args: Vec<String> = args.iter().map(|a| quote(a)).collect();
    let envs: Vec<String> = envs
        .iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect();
    let status_file = quote(&status_file.to_string_lossy());
    format!(
        "env -u NO_COLOR CERTPILOT_KEYSTORE=keyutils {} {bin} {}; s=$?; \
         echo \"EXIT=$s\" > {status_file}; \
         m=$(stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon); \
         echo \"{AFTER_EXIT} $s tty=$m\"; exec sleep 600",
        envs.join(" "),
        args.join(" ")
    )
}

/// certpilot in tmux on `wd` (its directory and environment) with `args`; the file that
/// receives its exit status.
fn start_in(wd: &Workdir, args: &[&str]) -> (Tmux, PathBuf) {
    let status_file = wd.path().join("exit-status");
    let mut all = vec!["--dir", wd.path().to_str().unwrap()];
    all.extend_from_slice(args);
    let tmux = Tmux::start(&certpilot_command(&all, &wd.envs, &status_file));
    (tmux, status_file)
}

fn wait_for_file(path: &Path) -> String {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        assert!(
            start.elapsed() < DEADLINE,
            "certpilot did not exit within {DEADLINE:?}"
        );
        std::thread::sleep(POLL);
    }
}

/// `q`, then: exit status 0, raw mode left, alternate screen left, the UI gone.
fn quit_and_check_restored(tmux: &Tmux, status_file: &Path, gone: &str) {
    tmux.send("q");
    assert_eq!(wait_for_file(status_file).trim(), "EXIT=0");
    let screen = tmux.wait_for(AFTER_EXIT);
    assert!(
        screen.contains(&format!("{AFTER_EXIT} 0 tty=icanon")),
        "raw mode not left:\n{screen}"
    );
    assert!(
        !screen.contains(gone),
        "the UI was left on screen:\n{screen}"
    );
    assert_eq!(
        tmux.pane_format("#{alternate_on}"),
        "0",
        "alternate screen not left"
    );
    assert_eq!(
        tmux.pane_format("#{mouse_any_flag}"),
        "0",
        "mouse reporting not switched off"
    );
}

/// A temporary directory holding a working directory `work` with one file, `name`; the
/// file that will receive certpilot's exit status.
fn plain_workdir(name: &str, text: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let status_file = dir.path().join("exit-status");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("work dir");
    std::fs::write(work.join(name), text).expect(name);
    (dir, work, status_file)
}

#[test]
fn empty_dashboard_help_and_quit_restore_the_terminal() {
    if !tmux_available() {
        return;
    }
    // A keys.toml in the config directory rebinds help to `h`.
    let (_dir, work, status_file) = plain_workdir("keys.toml", "[keys]\nhelp = \"h\"\n");
    let args = ["--dir", work.to_str().unwrap(), "--theme", "gruvbox"];
    let tmux = Tmux::start(&certpilot_command(&args, &[], &status_file));

    let screen = tmux.wait_for("No certificates yet.");
    assert!(
        screen.contains("certpilot cert add NAME --name example.com"),
        "{screen}"
    );
    assert_eq!(
        tmux.pane_format("#{alternate_on}"),
        "1",
        "the UI should use the alternate screen"
    );
    assert_eq!(
        tmux.pane_format("#{mouse_any_flag}"),
        "1",
        "mouse reporting should be on"
    );

    assert!(
        screen.contains("h help"),
        "hints follow keys.toml:\n{screen}"
    );
    tmux.send("?");
    tmux.send("h");
    let screen = tmux.wait_for("Next / previous row or field");
    assert!(screen.contains("Keys"), "{screen}");
    tmux.send("Escape");
    tmux.wait_until("help closed", DEADLINE, |s| {
        !s.contains("Next / previous row")
    });

    // Too small, then back: no garbage, and the UI comes back.
    tmux.run(&["resize-window", "-t", "t", "-x", "60", "-y", "20"]);
    tmux.wait_for("Terminal too small");
    let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
    tmux.run(&["resize-window", "-t", "t", "-x", &w, "-y", &h]);
    tmux.wait_for("No certificates yet.");
    // Theme switch at runtime.
    tmux.send("t");
    tmux.wait_for("theme: default");
    quit_and_check_restored(&tmux, &status_file, "No certificates yet.");
}

#[test]
fn the_palette_runs_an_action_by_name() {
    if !tmux_available() {
        return;
    }
    let config = "[accounts.ca-one]\ndirectory = \"https://127.0.0.1:9/dir\"\n\
                  email = \"ops@example.test\"\n\n\
                  [certificates.web]\nnames = [\"web.example.test\"]\n\n\
                  [domains.\"example.test\"]\nsolver = \"manual\"\n";
    let (_dir, work, status_file) = plain_workdir("certpilot.toml", config);
    let args = ["--dir", work.to_str().unwrap()];
    let tmux = Tmux::start(&certpilot_command(&args, &[], &status_file));
    tmux.wait_for("web.example.test");

    tmux.send(":");
    // Wait for the whole palette: a capture can land between the lines of one frame.
    tmux.wait_until("the palette with its footer", DEADLINE, |s| {
        s.contains("commands") && s.contains("Enter run")
    });
    // Typed letters filter (they do not run `a`, `c`…); Enter runs the one left.
    tmux.type_text("accounts list");
    tmux.wait_until("one entry", DEADLINE, |s| s.contains("1/1 · Enter run"));
    tmux.send("Enter");
    let screen = tmux.wait_until("the accounts view", DEADLINE, |s| {
        s.contains("https://127.0.0.1:9/dir") && s.contains("Used by    web")
    });
    assert!(screen.contains("accounts 1/1"), "{screen}");
    assert!(screen.contains("ops@example.test"), "{screen}");
    assert!(screen.contains("Used by    web"), "{screen}");
    assert!(
        !screen.contains("Enter run"),
        "the palette closed:\n{screen}"
    );
    tmux.send("Escape");
    tmux.wait_for("certificates 1/1");
    quit_and_check_restored(&tmux, &status_file, "certificates 1/1");
}

/// The account wizard's CA-bundle field is what makes a private CA's TLS trusted: no
/// `--ca-bundle` anywhere, Pebble's CA typed into the field, the account registers and the
/// bundle is kept in its configuration.
#[test]
fn the_account_wizard_trusts_the_ca_bundle_typed_into_it() {
    if !tmux_available() {
        return;
    }
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = Workdir::new("tui-bundle");
    let (tmux, status_file) = start_in(&wd, &[]);
    tmux.wait_for("No certificates yet.");
    tmux.send("A");
    tmux.wait_for("new ACME account");
    tmux.send("C-u");
    tmux.type_text("private");
    tmux.send("Tab");
    for _ in 0..5 {
        tmux.send("Right");
    }
    tmux.wait_for("Directory URL");
    tmux.send("Tab");
    tmux.send("C-u");
    tmux.type_text(&pebble.directory);
    tmux.send("Tab");
    tmux.send("Tab");
    tmux.type_text(pebble.ca_bundle.to_str().unwrap());
    tmux.send("Enter");
    tmux.wait_for("Terms of service");
    tmux.send("Space");
    tmux.send("Enter");
    tmux.wait_for("account private registered");
    let config = std::fs::read_to_string(wd.path().join("certpilot.toml")).expect("config");
    let bundle = format!("ca_bundle = {:?}", pebble.ca_bundle.to_str().unwrap());
    assert!(config.contains(&bundle), "{config}");
    // The accounts view shows it.
    tmux.send("Escape");
    tmux.send("u");
    tmux.wait_for(pebble.ca_bundle.to_str().unwrap());
    tmux.send("Escape");
    quit_and_check_restored(&tmux, &status_file, "No certificates yet.");
}

/// A workdir with a Pebble account, the exec hook for `example.test`, `web` issued and `api`
/// configured but not issued.
fn pebble_workdir(pebble: &Pebble) -> Workdir {
    let wd = Workdir::new("tui").enrol(pebble, &hook_path());
    wd.run(&[
        "cert",
        "add",
        "web",
        "--name",
        "www.example.test",
        "--name",
        "example.test",
    ])
    .ok();
    // api has a deploy hook: the TUI runs it after issuing, as the CLI does.
    let hook = format!(
        "{} {} ok",
        repo_file("tests/fixtures/deploy-hook.sh").display(),
        wd.path().join("deployed").display()
    );
    wd.run(&[
        "cert",
        "add",
        "api",
        "--name",
        "api.example.test",
        "--deploy-hook",
        &hook,
    ])
    .ok();
    wd.run_dns(pebble, &["issue", "web"]).ok();
    wd
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Days left of `name` as `list --json` reports them.
fn days_left(wd: &Workdir, name: &str) -> i64 {
    let run = wd.run(&["list", "--json"]);
    run.ok();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&run.stdout()).expect("list --json");
    rows.iter()
        .find(|r| r["name"] == name)
        .and_then(|r| r["days_left"].as_i64())
        .unwrap_or_else(|| panic!("no days for {name}: {rows:?}"))
}

/// The screen line showing certificate `name` in the dashboard table.
fn row_line<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| {
            l.trim_start_matches(['│', ' ', '▶', '●'])
                .starts_with(&format!("{name} "))
        })
        .unwrap_or_else(|| panic!("no row {name}:\n{screen}"))
}

#[test]
fn pebble_dashboard_detail_issue_from_the_tui_and_quit() {
    if !tmux_available() {
        return;
    }
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = pebble_workdir(&pebble);
    let days = days_left(&wd, "web");
    assert!(days > 300, "{days}");
    // challtestsrv answers no SOA/NS, so the records are checked through it (recursive).
    let (tmux, status_file) = start_in(
        &wd,
        &["--resolver", &pebble.dns, "--propagation", "recursive"],
    );

    dashboard_help_and_detail(&tmux, days);
    issue_api(&tmux, &wd);
    add_certificate_and_account(&tmux, &wd, &pebble);
    quit_and_check_restored(&tmux, &status_file, "/3 · sort:");
}

/// Names and days left, the help, the detail of `web`.
fn dashboard_help_and_detail(tmux: &Tmux, days: i64) {
    // Names and days left; the missing certificate sorts first.
    let screen = tmux.wait_for("www.example.test");
    let web = row_line(&screen, "web");
    assert!(
        web.contains("valid") && web.contains(&days.to_string()),
        "{web}"
    );
    assert!(row_line(&screen, "api").contains("missing"), "{screen}");
    // The next renewal: a column at this width, and why for the selected (first) row.
    assert!(
        screen.contains("RENEWS") && screen.contains("api · due now: no certificate yet"),
        "{screen}"
    );
    assert!(
        screen.contains("example.test") && screen.contains("exec"),
        "domains pane:\n{screen}"
    );
    tmux.send("?");
    tmux.wait_for("Register an ACME account");
    tmux.send("Escape");
    tmux.wait_until("help closed", DEADLINE, |s| {
        !s.contains("Register an ACME account")
    });

    // The detail of web (second row).
    tmux.send("j");
    tmux.send("Enter");
    let screen = tmux.wait_for("SHA-256");
    assert!(
        screen.contains("certificate · web") && screen.contains("Pebble"),
        "{screen}"
    );
    assert!(screen.contains("keyutils keyring"), "{screen}");
    tmux.send("Escape");
    tmux.wait_for("/2 · sort:");
}

/// Issue `api` through the exec solver from the TUI, then look at the log pane.
fn issue_api(tmux: &Tmux, wd: &Workdir) {
    // Issue api through the exec solver, from the TUI.
    tmux.send("k");
    tmux.send("i");
    tmux.wait_for("issuing · api");
    let screen = tmux.wait_until("the issuance to end", ISSUE_DEADLINE, |s| {
        s.contains("✓ issued in") || s.contains('✗')
    });
    assert!(screen.contains("✓ issued in"), "issuance failed:\n{screen}");
    assert!(screen.contains("✓ Stored"), "{screen}");
    assert!(screen.contains("deploy hook ran"), "{screen}");
    let deployed = std::fs::read_to_string(wd.path().join("deployed")).unwrap();
    assert!(
        deployed.contains("CERTPILOT_CERT_NAME=api"),
        "the deploy hook did not see the certificate: {deployed}"
    );
    tmux.send("Escape");
    let screen = tmux.wait_until("api to be valid", DEADLINE, |s| {
        s.lines()
            .any(|l| l.contains(" api ") && l.contains("valid"))
    });
    assert!(!row_line(&screen, "api").contains("missing"), "{screen}");
    assert!(wd.path().join("certificates/api/api.crt").exists());

    // The log pane shows the session's tracing events.
    tmux.send("l");
    let screen = tmux.wait_for("┌ log ");
    assert!(screen.contains("job started"), "{screen}");
    tmux.send("l");
}

/// The editor adds a certificate (saved to certpilot.toml); the account wizard registers a
/// second account with Pebble after showing its terms.
fn add_certificate_and_account(tmux: &Tmux, wd: &Workdir, pebble: &Pebble) {
    tmux.send("a");
    tmux.wait_for("new certificate");
    tmux.type_text("blog");
    tmux.send("Tab");
    tmux.type_text("blog.example.test, bad..name");
    tmux.wait_for("empty label");
    for _ in 0..", bad..name".len() {
        tmux.send("BSpace");
    }
    tmux.wait_until("the error to go", DEADLINE, |s| !s.contains("empty label"));
    tmux.send("Enter");
    tmux.wait_for("/3 · sort:");
    let config = std::fs::read_to_string(wd.path().join("certpilot.toml")).expect("config");
    assert!(config.contains("[certificates.blog]"), "{config}");

    tmux.send("A");
    tmux.wait_for("new ACME account");
    tmux.send("C-u");
    tmux.type_text("second");
    tmux.send("Tab");
    for _ in 0..5 {
        tmux.send("Right");
    }
    tmux.wait_for("Directory URL");
    tmux.send("Tab");
    tmux.send("C-u");
    tmux.type_text(&pebble.directory);
    tmux.send("Enter");
    let screen = tmux.wait_for("Terms of service");
    assert!(screen.contains("I agree"), "{screen}");
    tmux.send("Space");
    tmux.send("Enter");
    let screen = tmux.wait_for("account second registered");
    assert!(screen.contains("keyutils keyring"), "{screen}");
    tmux.send("Escape");
    tmux.wait_for("/3 · sort:");
    let run = wd.run(&["account", "list"]);
    run.ok();
    assert!(run.stdout().contains("second"), "{}", run.stdout());
}

/// `test.` delegates `example.test` to ns1 (.2) and ns2 (.3); ns2 lags without the TXT.
fn dns_tree(net: u8) -> Vec<Knot> {
    let parent = ZoneFile::new("test", 1)
        .with("@ NS ns")
        .with(format!("ns A {}", ip(net, 1)))
        .with("example NS ns1.example")
        .with("example NS ns2.example")
        .with(format!("ns1.example A {}", ip(net, 2)))
        .with(format!("ns2.example A {}", ip(net, 3)));
    let zone = |serial: u32, txt: bool| {
        let mut zone = ZoneFile::new("example.test", serial)
            .with("@ NS ns1")
            .with("@ NS ns2")
            .with(format!("ns1 A {}", ip(net, 2)))
            .with(format!("ns2 A {}", ip(net, 3)));
        if txt {
            zone = zone.with("_acme-challenge.www TXT \"tui-token-0123456789\"");
        }
        zone
    };
    vec![
        Knot::start(ip(net, 1), &[parent], &[]),
        Knot::start(ip(net, 2), &[zone(2, true)], &[]),
        Knot::start(ip(net, 3), &[zone(1, false)], &[]),
    ]
}

/// ns1 serves the TXT, ns2 lags: the matrix, the verdict, the hint and the countdown.
fn check_matrix(tmux: &Tmux, net: u8) {
    let screen = tmux.wait_until("the verdict", DEADLINE, |s| s.contains("NOT propagated"));
    let ns1 = screen
        .lines()
        .find(|l| l.contains("ns1.example.test"))
        .expect("ns1 row");
    let ns2 = screen
        .lines()
        .find(|l| l.contains("ns2.example.test"))
        .expect("ns2 row");
    assert!(
        ns1.contains(&ip(net, 2).to_string()) && ns1.contains("✓ match"),
        "{screen}"
    );
    assert!(
        ns2.contains(&ip(net, 3).to_string()) && ns2.contains("✗ nxdomain"),
        "{screen}"
    );
    assert!(screen.contains("zone example.test"), "{screen}");
    assert!(
        screen.contains("next check in"),
        "countdown missing:\n{screen}"
    );
    assert!(
        screen.contains("disagree on the SOA serial"),
        "hint missing:\n{screen}"
    );
}

#[test]
fn propagation_matrix_against_the_loopback_dns_tree() {
    let net = 61;
    if !tmux_available() || !dns_tree::available(net) {
        return;
    }
    let _servers = dns_tree(net);
    let wd = Workdir::new("tui-dns");
    wd.run(&["domain", "set", "example.test", "--solver", "manual"])
        .ok();
    wd.run(&["cert", "add", "www", "--name", "www.example.test"])
        .ok();
    let (tmux, status_file) = start_in(&wd, &["--resolver", &ip(net, 1).to_string()]);
    tmux.wait_for("www.example.test");

    tmux.send("c");
    tmux.wait_for("propagation · certificate www");
    check_matrix(&tmux, net);

    // Back on the dashboard the domain shows its last check.
    tmux.send("Escape");
    let screen = tmux.wait_for("LAST CHECK");
    assert!(
        screen
            .lines()
            .any(|l| l.contains("example.test") && l.contains("ago")),
        "{screen}"
    );
    quit_and_check_restored(&tmux, &status_file, "LAST CHECK");
}

/// The TXT values challtestsrv serves at `owner`.
fn served_txt(pebble: &Pebble, owner: &str) -> Vec<String> {
    let server = pebble.dns.parse().expect("challtestsrv address");
    let Some(answer) = dns_tree::ask(server, owner, hickory_proto::rr::RecordType::TXT) else {
        return Vec::new();
    };
    answer
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            hickory_proto::rr::RData::TXT(txt) => Some(txt.to_string()),
            _ => None,
        })
        .collect()
}

/// `y` copies the records through OSC 52; tmux (with `set-clipboard on`) keeps them as a
/// paste buffer.
fn copy_records(tmux: &Tmux, owner: &str) {
    tmux.run(&["set-option", "-g", "set-clipboard", "on"]);
    tmux.send("y");
    let start = Instant::now();
    let buffer = loop {
        let out = tmux.run(&["show-buffer"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains(owner) || start.elapsed() > DEADLINE {
            break text;
        }
        std::thread::sleep(POLL);
    };
    assert!(
        buffer.contains(&format!("{owner}. 60 IN TXT")),
        "clipboard: {buffer:?}"
    );
}

#[test]
fn x_cancels_a_waiting_issuance_after_a_yes_and_removes_its_records() {
    if !tmux_available() {
        return;
    }
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = pebble_workdir(&pebble);
    // Nothing answers on the resolver: the engine waits for visibility until cancelled.
    let (tmux, status_file) = start_in(
        &wd,
        &["--resolver", "127.0.0.1:9", "--propagation", "recursive"],
    );
    tmux.wait_for("www.example.test");
    tmux.send("i");
    tmux.wait_until("the records to be published", ISSUE_DEADLINE, |s| {
        s.contains("✓ TXT records published")
    });
    let owner = "_acme-challenge.api.example.test";
    assert_eq!(
        served_txt(&pebble, owner).len(),
        1,
        "the hook published the record"
    );
    copy_records(&tmux, owner);

    // While it runs, quitting asks first.
    tmux.send("q");
    tmux.wait_for("Quit while work is running?");
    tmux.send("n");
    tmux.wait_until("the question to close", DEADLINE, |s| {
        !s.contains("Quit while work is running?")
    });
    // Cancelling is its own key and asks first; n keeps the issuance running.
    tmux.send("x");
    tmux.wait_for("Cancel the issuance of api?");
    tmux.send("n");
    tmux.wait_until("the question to close", DEADLINE, |s| {
        !s.contains("Cancel the issuance of api?")
    });
    assert_eq!(served_txt(&pebble, owner).len(), 1, "n cancelled nothing");
    tmux.send("x");
    tmux.wait_for("Cancel the issuance of api?");
    tmux.send("y");
    let screen = tmux.wait_for("cancelled; 1 challenge record(s) removed");
    assert!(screen.contains("tries again"), "{screen}");
    common::wait_for("the record to be removed", DEADLINE, || {
        served_txt(&pebble, owner).is_empty()
    });
    // The cancelled engine's journal went with it: the next run starts clean.
    let journal = wd.path().join("state/journal/api.json");
    assert!(!journal.exists(), "{} was left behind", journal.display());
    tmux.send("Escape");
    tmux.wait_for("/2 · sort:");
    quit_and_check_restored(&tmux, &status_file, "/2 · sort:");
}

/// Publish `lines` (zone-file TXT lines as the popup copies them) in challtestsrv, the way a
/// person would in their DNS provider's web UI.
fn publish_by_hand(pebble: &Pebble, lines: &str) -> usize {
    let mut published = 0;
    for line in lines.lines().filter(|l| l.contains(" IN TXT ")) {
        let host = line.split_whitespace().next().expect("owner");
        let value = line.rsplit('"').nth(1).expect("quoted value");
        let body = format!("{{\"host\":\"{host}\",\"value\":\"{value}\"}}");
        let status = std::process::Command::new("curl")
            .args(["-sSf", "-X", "POST", "-d", &body])
            .arg(format!("{}/set-txt", pebble.challtestsrv))
            .status()
            .expect("curl");
        assert!(status.success(), "set-txt {host}");
        published += 1;
    }
    published
}

#[test]
fn the_manual_solver_asks_in_a_popup_and_issues_once_confirmed() {
    if !tmux_available() || !common::require_tool("curl") {
        return;
    }
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = pebble_workdir(&pebble);
    wd.run(&["domain", "set", "api.example.test", "--solver", "manual"])
        .ok();
    let (tmux, status_file) = start_in(
        &wd,
        &["--resolver", &pebble.dns, "--propagation", "recursive"],
    );
    tmux.wait_for("www.example.test");
    tmux.send("k");
    tmux.send("i");
    let screen = tmux.wait_until("the manual records", ISSUE_DEADLINE, |s| {
        s.contains("create these TXT records") || s.contains('✗')
    });
    assert!(screen.contains("Enter created"), "{screen}");
    let owner = "_acme-challenge.api.example.test";
    assert!(
        served_txt(&pebble, owner).is_empty(),
        "nothing is published before the operator creates it"
    );
    copy_records(&tmux, owner);
    let buffer = String::from_utf8_lossy(&tmux.run(&["show-buffer"]).stdout).into_owned();
    assert_eq!(publish_by_hand(&pebble, &buffer), 1, "{buffer}");
    tmux.send("Enter");
    let screen = tmux.wait_until("the issuance to end", ISSUE_DEADLINE, |s| {
        s.contains("✓ issued in") || s.contains("✗ ")
    });
    assert!(screen.contains("✓ issued in"), "issuance failed:\n{screen}");
    assert!(wd.path().join("certificates/api/api.crt").exists());
    tmux.send("Escape");
    tmux.wait_for("/2 · sort:");
    quit_and_check_restored(&tmux, &status_file, "/2 · sort:");
}

/// `certpilot sandbox` in a real terminal: issue `web`, switch on a lagging ns2 from the
/// sandbox menu, see the matrix wait for ns2 while the issuance waits, quit; every server is
/// gone afterwards and the sandbox directory with it.
#[test]
fn the_sandbox_issues_switches_a_lagging_nameserver_on_and_stops_everything() {
    if !tmux_available()
        || ["pebble", "knotd", "knotc", "unbound", "flock"]
            .iter()
            .any(|t| !common::require_tool(t))
    {
        return;
    }
    let wd = Workdir::new("sandbox-tmux");
    let status_file = wd.path().join("exit-status");
    let tmux = Tmux::start(&certpilot_command(&["sandbox"], &[], &status_file));
    let open = Duration::from_secs(60);
    tmux.wait_until("the sandbox's dashboard", open, |s| {
        row_has(s, "web", "missing")
    });

    tmux.send("/");
    tmux.type_text("web");
    tmux.send("Enter");
    tmux.send("i");
    tmux.wait_for("issuing · web");
    let screen = tmux.wait_until("web to be issued", ISSUE_DEADLINE, |s| {
        s.contains("✓ issued in") || s.contains('✗')
    });
    assert!(screen.contains("✓ issued in"), "issuance failed:\n{screen}");
    tmux.send("Escape");
    tmux.wait_until("web to be valid", DEADLINE, |s| row_has(s, "web", "valid"));

    tmux.send("F");
    let menu = tmux.wait_for("sandbox faults");
    assert!(menu.contains("[off] ns2 lags 8 s behind"), "{menu}");
    tmux.send("Enter");
    tmux.wait_for("[on]  ns2 lags 8 s behind");
    tmux.send("Escape");

    tmux.send("i");
    let asked = tmux.wait_until("the issuance or its question", DEADLINE, |s| {
        s.contains("issuing · web") || s.contains("y yes")
    });
    if !asked.contains("issuing · web") {
        tmux.send("y");
    }
    let waiting = tmux.wait_until("the matrix to wait for ns2", ISSUE_DEADLINE, |s| {
        s.lines().any(|l| {
            l.contains("ns2.sandbox.test") && (l.contains("missing") || l.contains("nxdomain"))
        })
    });
    assert!(
        waiting
            .lines()
            .any(|l| l.contains("ns1.sandbox.test") && l.contains("match")),
        "ns1 has the record while ns2 lags:\n{waiting}"
    );
    // The ✗ of ns2's cells is no ending: wait for the line every ending shows.
    let screen = tmux.wait_until("web to be issued again", ISSUE_DEADLINE, |s| {
        s.contains("returns to the dashboard")
    });
    assert!(screen.contains("✓ issued in"), "issuance failed:\n{screen}");
    tmux.send("Escape");

    tmux.send("q");
    // Stopping five servers and forgetting the secrets takes a moment on a loaded machine.
    let after = tmux.wait_until("the sandbox to stop", Duration::from_secs(60), |s| {
        s.contains(AFTER_EXIT)
    });
    assert_eq!(
        std::fs::read_to_string(&status_file).unwrap().trim(),
        "EXIT=0",
        "{after}"
    );
    assert!(after.contains("sandbox: stopped 5 server(s)"), "{after}");
    let root = after
        .lines()
        .find_map(|l| {
            l.split(" in ")
                .nth(1)
                .filter(|_| l.contains("sandbox: starting"))
        })
        .expect("the sandbox names its directory")
        .trim()
        .to_owned();
    assert!(!Path::new(&root).exists(), "{root} is left behind");
    let left = Command::new("pgrep").args(["-f", &root]).output().unwrap();
    assert!(
        left.stdout.is_empty(),
        "processes survive the sandbox: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

/// Pebble, [`pebble_workdir`] plus certificates `extra` (`NAME.example.test`), and the TUI
/// on it checking records through challtestsrv; `None` when a tool is missing.
fn pebble_tui(extra: &[&str]) -> Option<(Pebble, Workdir, Tmux, PathBuf)> {
    if !tmux_available() {
        return None;
    }
    let pebble = Pebble::start(PebbleOptions::default())?;
    let wd = pebble_workdir(&pebble);
    for name in extra {
        let host = format!("{name}.example.test");
        wd.run(&["cert", "add", name, "--name", &host]).ok();
    }
    let (tmux, status_file) = start_in(
        &wd,
        &["--resolver", &pebble.dns, "--propagation", "recursive"],
    );
    Some((pebble, wd, tmux, status_file))
}

/// `Esc` leaves a running issuance without cancelling it: the status bar counts it, the
/// jobs view lists it, and the certificate turns valid on the dashboard with no further key.
#[test]
fn an_issuance_keeps_running_after_esc_and_turns_valid_on_the_dashboard() {
    let Some((_pebble, wd, tmux, status_file)) = pebble_tui(&[]) else {
        return;
    };
    tmux.wait_for("www.example.test");
    // api (never issued) sorts first.
    tmux.send("i");
    tmux.wait_for("issuing · api");
    tmux.send("Escape");
    tmux.wait_until("the dashboard, api in the background", DEADLINE, |s| {
        s.contains("api: goes on in the background") && s.contains("/2 · sort:")
    });
    tmux.wait_until("api to turn valid", ISSUE_DEADLINE, |s| {
        row_has(s, "api", "valid")
    });
    assert!(wd.path().join("certificates/api/api.crt").exists());
    tmux.send("J");
    tmux.wait_until("the jobs view with api done", DEADLINE, |s| {
        s.contains("jobs · 0 running")
            && s.lines().any(|l| l.contains("✓ done") && l.contains("api"))
    });
    tmux.send("Enter");
    tmux.wait_for("issuing · api");
    tmux.send("Escape");
    tmux.wait_for("jobs · 0 running");
    tmux.send("Escape");
    tmux.wait_for("/2 · sort:");
    quit_and_check_restored(&tmux, &status_file, "/2 · sort:");
}

/// `Space` ×3 marks three certificates, `R` and one `y` issue all three in the background.
#[test]
fn three_marked_certificates_are_issued_with_one_action() {
    let Some((_pebble, wd, tmux, status_file)) = pebble_tui(&["blog", "shop"]) else {
        return;
    };
    tmux.wait_for("/4 · sort:");
    // Two at a time: the third waits for a free slot. The TUI reads it on the next reload.
    let file = wd.path().join("certpilot.toml");
    let mut config: toml::Table = std::fs::read_to_string(&file).unwrap().parse().unwrap();
    let settings = config
        .entry("settings")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    settings
        .as_table_mut()
        .unwrap()
        .insert("parallel".into(), toml::Value::Integer(2));
    std::fs::write(&file, toml::to_string(&config).unwrap()).unwrap();
    tmux.send("r");
    // The three never issued sort first; Space marks and moves down.
    for _ in 0..3 {
        tmux.send("Space");
    }
    let screen = tmux.wait_until("three marks", DEADLINE, |s| {
        s.contains("3 marked") && ["api", "blog", "shop"].iter().all(|n| row_has(s, n, "● "))
    });
    for name in ["api", "blog", "shop"] {
        assert!(row_has(&screen, name, "● "), "{name} unmarked:\n{screen}");
    }
    assert!(!row_has(&screen, "web", "● "), "{screen}");
    tmux.send("R");
    let screen = tmux.wait_until("the bulk question", DEADLINE, |s| {
        s.contains("Renew 3 marked certificates?") && s.contains("2 at a time")
    });
    assert!(screen.contains("api, blog, shop"), "{screen}");
    assert!(screen.contains("2 at a time"), "{screen}");
    tmux.send("y");
    tmux.wait_until("all three to be valid", ISSUE_DEADLINE, |s| {
        ["api", "blog", "shop"]
            .iter()
            .all(|name| row_has(s, name, "valid"))
    });
    for name in ["api", "blog", "shop"] {
        let crt = wd.path().join(format!("certificates/{name}/{name}.crt"));
        assert!(crt.exists(), "{}", crt.display());
    }
    tmux.send("J");
    tmux.wait_until("the jobs view with three done", DEADLINE, |s| {
        s.contains("jobs · 0 running") && s.matches("✓ done").count() == 3
    });
    tmux.send("Escape");
    quit_and_check_restored(&tmux, &status_file, "/4 · sort:");
}

/// On a finished issuance screen `r` orders nothing, `I` asks first and `n` keeps the
/// certificate; `y` issues a new one; one `Esc` leaves.
#[test]
fn reissue_from_a_finished_screen_asks_first() {
    let Some((_pebble, wd, tmux, status_file)) = pebble_tui(&[]) else {
        return;
    };
    tmux.wait_for("www.example.test");
    tmux.send("i");
    tmux.wait_for("issuing · api");
    let screen = tmux.wait_until("the issuance to end", ISSUE_DEADLINE, |s| {
        s.contains("✓ issued in") || s.contains('✗')
    });
    assert!(screen.contains("I issues again"), "{screen}");
    let crt = wd.path().join("certificates/api/api.crt");
    let first = std::fs::read_to_string(&crt).expect("api.crt");
    tmux.send("r");
    tmux.send("I");
    tmux.wait_for("Issue api again?");
    tmux.send("n");
    let screen = tmux.wait_until("the question to close", DEADLINE, |s| {
        !s.contains("Issue api again?")
    });
    assert!(screen.contains("✓ issued in"), "{screen}");
    assert!(
        !screen.contains("○ Order created"),
        "a new order started:\n{screen}"
    );
    assert_eq!(std::fs::read_to_string(&crt).unwrap(), first, "n kept it");
    tmux.send("I");
    tmux.wait_for("Issue api again?");
    tmux.send("y");
    common::wait_for("a new certificate", ISSUE_DEADLINE, || {
        std::fs::read_to_string(&crt).is_ok_and(|now| now != first)
    });
    tmux.wait_until("the issuance to end", ISSUE_DEADLINE, |s| {
        s.contains("✓ issued in") && s.contains("I issues again")
    });
    // One Esc leaves.
    tmux.send("Escape");
    tmux.wait_for("/2 · sort:");
    quit_and_check_restored(&tmux, &status_file, "/2 · sort:");
}

/// Whether the dashboard row of `name` shows `word`.
fn row_has(screen: &str, name: &str, word: &str) -> bool {
    screen
        .lines()
        .any(|l| l.contains(&format!(" {name} ")) && l.contains(word))
}

/// The sandbox menu makes the CA reject nonces at run time: Pebble restarts with the
/// rejection (the account is registered again), an issuance still succeeds through badNonce
/// retries, and switching it off restarts Pebble without it.
#[test]
fn the_sandbox_menu_makes_the_ca_reject_nonces_and_issuance_still_works() {
    if !tmux_available()
        || ["pebble", "knotd", "knotc", "unbound", "flock"]
            .iter()
            .any(|t| !common::require_tool(t))
    {
        return;
    }
    let wd = Workdir::new("sandbox-nonce");
    let status_file = wd.path().join("exit-status");
    let tmux = Tmux::start(&certpilot_command(&["sandbox"], &[], &status_file));
    tmux.wait_until("the sandbox's dashboard", Duration::from_secs(60), |s| {
        row_has(s, "web", "missing")
    });
    let shell: u32 = tmux.pane_format("#{pane_pid}").parse().unwrap();
    let before = pebbles_under(shell);
    assert_eq!(before.len(), 1, "one Pebble: {before:?}");
    assert_eq!(nonce_reject_of(before[0]), "0");

    tmux.send("F");
    let menu = tmux.wait_for("sandbox faults");
    assert!(
        menu.contains("[off] the CA rejects 30 % of nonces"),
        "{menu}"
    );
    for _ in 0..4 {
        tmux.send("Down");
    }
    tmux.send("Enter");
    tmux.wait_until("the CA to reject nonces", Duration::from_secs(90), |s| {
        s.contains("[on]  the CA rejects 30 % of nonces")
    });
    let after = pebbles_under(shell);
    assert_eq!(after.len(), 1, "one Pebble: {after:?}");
    assert_ne!(after, before, "Pebble was restarted");
    assert_eq!(nonce_reject_of(after[0]), "30");
    tmux.send("Escape");

    // The account Pebble forgot was registered again: web issues through rejected nonces.
    tmux.send("/");
    tmux.type_text("web");
    tmux.send("Enter");
    tmux.send("i");
    tmux.wait_for("issuing · web");
    let screen = tmux.wait_until("web to be issued", ISSUE_DEADLINE, |s| {
        s.contains("returns to the dashboard")
    });
    assert!(screen.contains("✓ issued in"), "issuance failed:\n{screen}");
    tmux.send("Escape");

    tmux.send("F");
    tmux.wait_for("sandbox faults");
    for _ in 0..4 {
        tmux.send("Down");
    }
    tmux.send("Enter");
    tmux.wait_until("the CA to accept nonces", Duration::from_secs(90), |s| {
        s.contains("[off] the CA rejects 30 % of nonces")
    });
    let last = pebbles_under(shell);
    assert_eq!(last.len(), 1, "one Pebble: {last:?}");
    assert_eq!(nonce_reject_of(last[0]), "0");
    tmux.send("Escape");
    tmux.send("q");
    tmux.wait_until("the sandbox to stop", Duration::from_secs(60), |s| {
        s.contains(AFTER_EXIT)
    });
    assert!(
        pebbles_under(shell).is_empty(),
        "Pebble outlives the sandbox"
    );
}

/// Pebble processes descending from `ancestor`.
fn pebbles_under(ancestor: u32) -> Vec<u32> {
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name is in parentheses and may hold spaces: the fields follow the last ')'.
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() != "pebble" {
            continue;
        }
        let mut up = parent_of(pid);
        while let Some(p) = up.filter(|p| *p > 1) {
            if p == ancestor {
                found.push(pid);
                break;
            }
            up = parent_of(p);
        }
    }
    found
}

/// `PEBBLE_WFE_NONCEREJECT` in a process's environment.
fn nonce_reject_of(pid: u32) -> String {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    environ
        .split(|b| *b == 0)
        .filter_map(|kv| std::str::from_utf8(kv).ok())
        .find_map(|kv| kv.strip_prefix("PEBBLE_WFE_NONCEREJECT="))
        .unwrap_or("unset")
        .to_owned()
}

/// The loopback net of the acme-dns issuance from the TUI.
const ACMEDNS_NET: u8 = 236;

/// An acme-dns issuance started in the TUI with `--resolver` given only on the command line
/// (the config file names no resolver): the CNAME check before the order and the solver see
/// the delegation through that resolver, as the CLI's do (they once used the system's).
#[test]
fn acmedns_issuance_from_the_tui_uses_the_command_lines_resolver() {
    if !tmux_available() || !dns_tree::available(ACMEDNS_NET) || !common::require_tool("unbound") {
        return;
    }
    let net = ACMEDNS_NET;
    let dir = tempfile::tempdir().expect("tempdir");
    let _server = acmedns_tree::start_acmedns_server(net, dir.path());
    let resolver = acmedns_tree::resolver(net).to_string();
    let Some(pebble) = Pebble::start_with_dns(PebbleOptions::default(), &format!("{resolver}:53"))
    else {
        return;
    };
    let mut wd = Workdir::new("tui-acmedns");
    wd.env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
    wd.add_pebble_account(&pebble.directory, &[]).ok();
    let server = acmedns_tree::api_url(net);
    wd.run(&["acme-dns", "register", "example.test", "--server", &server])
        .ok();
    let list = wd.run(&["acme-dns", "list", "--json"]);
    list.ok();
    let rows: serde_json::Value = serde_json::from_str(&list.stdout()).expect("list --json");
    let target = rows[0]["fulldomain"]
        .as_str()
        .expect("fulldomain")
        .to_owned();
    let solver = ["--solver", "acme-dns", "--server", server.as_str()];
    wd.run(&[&["domain", "set", "example.test"][..], &solver].concat())
        .ok();
    wd.run(&[
        "cert",
        "add",
        "web",
        "--name",
        "example.test",
        "--name",
        "*.example.test",
    ])
    .ok();
    let config = std::fs::read_to_string(wd.path().join("certpilot.toml")).expect("config");
    let settings = certpilot::config::load(&wd.path().join("certpilot.toml")).expect("config");
    assert!(settings.settings.resolvers.is_empty(), "{config}");
    let _knot = acmedns_tree::start_knot(
        net,
        acmedns_tree::customer_zone(net, 1, &[("_acme-challenge", target.as_str())]),
    );
    let _unbound = acmedns_tree::start_unbound(net, dir.path());

    let (tmux, status_file) = start_in(&wd, &["--resolver", &resolver]);
    tmux.wait_for("certificates 1/1");
    tmux.send("i");
    tmux.wait_for("issuing · web");
    let screen = tmux.wait_until("the issuance to end", ISSUE_DEADLINE, |s| {
        s.contains("✓ issued in") || s.contains('✗')
    });
    assert!(screen.contains("✓ issued in"), "issuance failed:\n{screen}");
    assert!(wd.path().join("certificates/web/web.crt").exists());
    tmux.send("Escape");
    tmux.wait_until("web to be valid", DEADLINE, |s| {
        s.lines()
            .any(|l| l.contains(" web ") && l.contains("valid"))
    });
    quit_and_check_restored(&tmux, &status_file, "certificates 1/1");
}
