//! The real binary in a real terminal: tmux on a private socket, fixed size, no fixed sleeps.
//!
//! Skipped (with a message) when tmux is not installed, unless `CI=true`, where that is a failure.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;
const DEADLINE: Duration = Duration::from_secs(10);
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

    fn send(&self, key: &str) {
        let out = self.run(&["send-keys", "-t", "t", key]);
        assert!(
            out.status.success(),
            "send-keys {key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Poll the pane until `needle` shows, or fail with what the screen showed.
    fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "timed out waiting for {needle:?}; screen:\n{screen}"
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
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "tmux is required on CI"
        );
        eprintln!("skipping: tmux is not installed");
    }
    found
}

/// Single-quote `s` for sh.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A shell line that runs certpilot on `dir`, then records its exit status in `status_file`
/// and on screen (with whether the tty is back in canonical mode), and keeps the pane open so the restored screen can be inspected.
fn certpilot_command(dir: &Path, status_file: &Path) -> String {
    let bin = quote(env!("CARGO_BIN_EXE_certpilot"));
    let dir = quote(&dir.to_string_lossy());
    let status_file = quote(&status_file.to_string_lossy());
    format!(
        "env -u NO_COLOR CERTPILOT_KEYSTORE=keyutils {bin} --dir {dir}; s=$?; \
         echo \"EXIT=$s\" > {status_file}; \
         m=$(stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon); \
         echo \"{AFTER_EXIT} $s tty=$m\"; exec sleep 600"
    )
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

#[test]
fn empty_dashboard_help_and_quit_restore_the_terminal() {
    if !tmux_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let status_file = dir.path().join("exit-status");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("work dir");
    let tmux = Tmux::start(&certpilot_command(&work, &status_file));

    let screen = tmux.wait_for("No certificates yet.");
    assert!(
        screen.contains("certpilot cert add NAME --name example.com"),
        "{screen}"
    );
    assert!(
        screen.contains("q quit"),
        "status bar hints missing:\n{screen}"
    );
    assert_eq!(
        tmux.pane_format("#{alternate_on}"),
        "1",
        "dashboard should use the alternate screen"
    );

    tmux.send("?");
    let screen = tmux.wait_for("Select the next certificate");
    assert!(screen.contains("Keys"), "{screen}");

    tmux.send("q");
    assert_eq!(wait_for_file(&status_file).trim(), "EXIT=0");
    let screen = tmux.wait_for(AFTER_EXIT);
    assert!(
        screen.contains(&format!("{AFTER_EXIT} 0 tty=icanon")),
        "raw mode not left:\n{screen}"
    );
    assert!(
        !screen.contains("No certificates yet."),
        "dashboard left on screen:\n{screen}"
    );
    assert_eq!(
        tmux.pane_format("#{alternate_on}"),
        "0",
        "alternate screen not left"
    );
}
