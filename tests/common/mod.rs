//! Test harness: real Pebble + pebble-challtestsrv as child processes, a working directory,
//! and a runner for the certpilot binary.
#![allow(dead_code)]

pub mod ari;
pub mod pebble;
pub mod postgres;
pub mod recording;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Whether the suite runs in CI, where a missing tool is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Returns false (and prints why) when `tool` is missing outside CI; panics in CI.
pub fn require_tool(tool: &str) -> bool {
    // sbin is not on every PATH, but unbound and knotd live there.
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("PATH=\"$PATH:/usr/sbin:/sbin\" command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !in_ci(),
            "{tool} is required in CI (scripts/test-deps.sh installs it)"
        );
        eprintln!("SKIP: {tool} not installed (run scripts/test-deps.sh)");
    }
    found
}

/// A unique keyring service per test so parallel tests never see each other's secrets.
pub fn unique_service(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "certpilot-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The keystore tests use: keyutils unless told otherwise (Secret Service is exercised
/// by the keyring tests and by `CERTPILOT_TEST_KEYSTORE=secret-service`).
pub fn test_keystore() -> String {
    std::env::var("CERTPILOT_TEST_KEYSTORE").unwrap_or_else(|_| "keyutils".into())
}

/// A certpilot working directory plus the environment its runs need.
pub struct Workdir {
    pub dir: tempfile::TempDir,
    pub service: String,
    pub envs: Vec<(String, String)>,
}

impl Workdir {
    pub fn new(tag: &str) -> Self {
        let service = unique_service(tag);
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            envs: vec![
                ("CERTPILOT_KEYRING_SERVICE".into(), service.clone()),
                ("CERTPILOT_KEYSTORE".into(), test_keystore()),
                ("CERTPILOT_LOG".into(), "debug".into()),
            ],
            service,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Run certpilot with `--dir` and this workdir's environment.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// The certpilot command with `--dir`, `args` and this workdir's environment, not run:
    /// for tests that wire its standard streams or kill it themselves.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_certpilot"));
        cmd.arg("--dir").arg(self.path()).args(args);
        cmd.env_remove("CERTPILOT_DIR")
            .env_remove("CERTPILOT_CA_BUNDLE");
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run_with(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(args);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.stdin(std::process::Stdio::null());
        let started = Instant::now();
        let output = cmd.output().expect("run certpilot");
        Run {
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            output,
            elapsed: started.elapsed(),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("state/certpilot.log")).unwrap_or_default()
    }

    /// Run certpilot with `input` on its standard input (secrets read from `-`).
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_certpilot"))
            .arg("--dir")
            .arg(self.path())
            .args(args)
            .env_remove("CERTPILOT_DIR")
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run certpilot");
        let started = Instant::now();
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write stdin");
        drop(stdin);
        let output = child.wait_with_output().expect("certpilot output");
        Run {
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            output,
            elapsed: started.elapsed(),
        }
    }
}

/// One finished certpilot run.
pub struct Run {
    pub args: Vec<String>,
    pub output: Output,
    pub elapsed: Duration,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
    /// Assert the exit code, showing everything on failure.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "certpilot {:?} exited {} (want {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.code(),
            self.stdout(),
            self.stderr()
        );
        self
    }
    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.expect_code(0)
    }
}

/// The exec hook that talks to challtestsrv.
pub fn hook_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/challtest-hook.sh")
}

impl Workdir {
    /// `cert add NAME --name N… EXTRA…`, which must succeed.
    pub fn add_cert(&self, name: &str, names: &[&str], extra: &[&str]) -> Run {
        let mut args = vec!["cert", "add", name];
        for n in names {
            args.extend(["--name", n]);
        }
        args.extend_from_slice(extra);
        let run = self.run(&args);
        run.ok();
        run
    }
}

/// The deploy hook of certificate `web` (www.example.test) works again (`ok` mode, writing to
/// `out`): the next `renew --all` must retry its pending deploy although nothing is due.
pub fn expect_deploy_retry(wd: &Workdir, pebble: &pebble::Pebble, out: &Path) {
    let hook = deploy_hook_command(out, "ok");
    wd.add_cert(
        "web",
        &["www.example.test"],
        &["--deploy-hook", &hook, "--replace"],
    );
    let retried = wd.run_dns(pebble, &["renew", "--all"]);
    retried.ok();
    assert!(
        retried
            .stdout()
            .contains("web: deploy retried; deploy hook ran"),
        "{}",
        retried.stdout()
    );
}

/// `tests/fixtures/deploy-hook.sh OUT MODE` as a shell command line (MODE: ok, fail, hang).
pub fn deploy_hook_command(out: &Path, mode: &str) -> String {
    let hook = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deploy-hook.sh");
    format!("'{}' '{}' {mode}", hook.display(), out.display())
}

/// `OUT.suffix`, where the deploy-hook fixture keeps its side files (`runs`, `pid`).
pub fn side_file(out: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}.{suffix}", out.display()))
}

/// Every file below `dir` (not the directories), in no particular order.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Wait for `cond` with a deadline; panics with `what` on timeout.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

impl Workdir {
    /// Register the ACME account `pebble` on `pebble` (terms of service shown) and map
    /// `example.test` to the exec solver `hook`.
    pub fn enrol(mut self, pebble: &pebble::Pebble, hook: &Path) -> Self {
        self.env("CHALLTESTSRV", &pebble.challtestsrv)
            .env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
        let run = self.add_pebble_account(&pebble.directory, &["--email", "ops@example.test"]);
        assert!(
            run.stdout().contains("Terms of service"),
            "{}",
            run.stdout()
        );
        self.set_exec_solver(hook);
        self
    }

    /// `account add pebble --directory DIRECTORY --agree-tos EXTRA…`, which must succeed.
    /// `directory` is Pebble's, or a proxy's in front of it.
    pub fn add_pebble_account(&self, directory: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "account",
            "add",
            "pebble",
            "--directory",
            directory,
            "--agree-tos",
        ];
        args.extend_from_slice(extra);
        let run = self.run(&args);
        run.ok();
        run
    }

    /// Map `example.test` to the exec solver running `hook`; must succeed.
    pub fn set_exec_solver(&self, hook: &Path) -> Run {
        self.set_exec_solver_with(hook, &[])
    }

    /// [`Workdir::set_exec_solver`] with `extra` options (`--batch`).
    pub fn set_exec_solver_with(&self, hook: &Path, extra: &[&str]) -> Run {
        let mut args = vec![
            "domain",
            "set",
            "example.test",
            "--solver",
            "exec",
            "--command",
            hook.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let run = self.run(&args);
        run.ok();
        run
    }

    /// Run with Pebble's mock DNS as the resolver, in recursive mode (challtestsrv does not
    /// answer the SOA/NS questions authoritative checking needs).
    pub fn run_dns(&self, pebble: &pebble::Pebble, args: &[&str]) -> Run {
        let mut all = vec![
            "--resolver",
            pebble.dns.as_str(),
            "--propagation",
            "recursive",
        ];
        all.extend_from_slice(args);
        self.run(&all)
    }
}
