//! Issuance where the test plays the DNS provider: the exec hook only appends the records it
//! is asked to publish to a file, and the test decides which nameserver gets them (knot from
//! `dns_tree`). Plus a line reader for the progress certpilot prints while it runs.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::pebble::Pebble;
use super::Workdir;

/// A workdir with an account on `pebble`, `example.test` mapped to a hook that appends
/// `FQDN TXT "VALUE"` lines to the returned file, and certificate `web` for `names`.
pub fn recording_workdir(pebble: &Pebble, tag: &str, names: &[&str]) -> (Workdir, PathBuf) {
    let mut wd = Workdir::new(tag);
    wd.env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
    let published = wd.path().join("published");
    let hook = wd.path().join("hook.sh");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = present ] && echo \"$2 TXT \\\"$3\\\"\" >> {}\nexit 0\n",
        published.display()
    );
    std::fs::write(&hook, script).unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    wd.add_pebble_account(&pebble.directory, &[]);
    wd.set_exec_solver(&hook);
    let mut add = vec!["cert", "add", "web"];
    for name in names {
        add.extend(["--name", name]);
    }
    wd.run(&add).ok();
    (wd, published)
}

/// `certpilot ARGS` in `wd`, its stderr (the progress lines) as they come.
pub fn spawn_with_lines(wd: &Workdir, args: &[&str]) -> (Child, Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_certpilot"))
        .args(["--dir", wd.path().to_str().unwrap()])
        .args(args)
        .envs(wd.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(child.stderr.take().unwrap());
    (child, lines)
}

/// Lines of a child's stream, sent as they come.
pub fn lines_of(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stream)).map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Read `lines` until one satisfies `want` (60 s at most); everything read is kept in `seen`.
pub fn expect_line(
    lines: &Receiver<String>,
    seen: &mut Vec<String>,
    what: &str,
    want: impl Fn(&str) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let done = want(&line);
                seen.push(line);
                if done {
                    return;
                }
            }
            Err(e) => panic!("no line with {what} ({e}); seen:\n{}", seen.join("\n")),
        }
    }
}

/// Wait (60 s at most) for `child` to exit; its exit code.
pub fn wait_exit(child: &mut Child) -> Option<i32> {
    let mut status = None;
    super::wait_for("certpilot to exit", Duration::from_secs(60), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.and_then(|s| s.code())
}
