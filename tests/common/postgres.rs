//! A throwaway PostgreSQL server for tests: Debian's `postgresql` package (scripts/test-deps.sh),
//! `initdb` into a temporary directory, `postgres` on a loopback address as a child process
//! (as `nobody` when the tests run as root: PostgreSQL refuses to run as root), trust
//! authentication for the `postgres` role, readiness awaited with `pg_isready` (bounded).
//! Stopped (SIGTERM, then SIGKILL) on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; `url()` connects as the superuser `postgres` to the database `postgres`.
pub struct Postgres {
    child: Child,
    host: String,
    port: u16,
    _dir: tempfile::TempDir,
}

/// The directory of `initdb` and `postgres` (not on PATH in Debian), if installed.
fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("postgres").exists() && d.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// Whether PostgreSQL can be started here; outside CI a missing install prints why and
/// returns false, in CI it panics.
pub fn available() -> bool {
    let found = bin_dir().is_some() && super::require_tool("pg_isready");
    if !found {
        assert!(
            !super::in_ci(),
            "postgresql is required in CI (scripts/test-deps.sh installs it)"
        );
        eprintln!("SKIP: postgresql not installed (run scripts/test-deps.sh)");
    }
    found
}

/// The command, run as `nobody` when we are root.
fn as_server_user(program: &Path) -> Command {
    if rustix::process::geteuid().is_root() {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl Postgres {
    /// initdb + start on `host:port` (a loopback address of the calling test's own range).
    pub fn start(host: &str, port: u16) -> Self {
        Self::start_inner(host, port, None)
    }

    /// Like [`Postgres::start`], but TCP connections must give `password` (SCRAM) for the
    /// `postgres` role.
    pub fn start_with_password(host: &str, port: u16, password: &str) -> Self {
        Self::start_inner(host, port, Some(password))
    }

    fn start_inner(host: &str, port: u16, password: Option<&str>) -> Self {
        let bin = bin_dir().expect("postgresql installed");
        let dir = tempfile::Builder::new()
            .prefix("certpilot-pg")
            .tempdir()
            .expect("tempdir");
        if rustix::process::geteuid().is_root() {
            // `nobody` must own the data directory; the temporary directory is root's 0700.
            let nobody = Command::new("id")
                .args(["-u", "nobody"])
                .output()
                .expect("id");
            let uid: u32 = String::from_utf8_lossy(&nobody.stdout)
                .trim()
                .parse()
                .expect("uid of nobody");
            std::os::unix::fs::chown(dir.path(), Some(uid), None).expect("chown");
        }
        let data = dir.path().join("data");
        let mut initdb = as_server_user(&bin.join("initdb"));
        initdb.args(["--username=postgres", "--no-sync", "-E", "UTF8"]);
        match password {
            None => initdb.arg("--auth=trust"),
            Some(password) => {
                let file = dir.path().join("pwfile");
                std::fs::write(&file, password).expect("pwfile");
                initdb
                    .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
                    .arg(format!("--pwfile={}", file.display()))
            }
        };
        let out = initdb.arg("-D").arg(&data).output().expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let child = as_server_user(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(dir.path())
            .args(["-p", &port.to_string(), "-h", host])
            // Enough connections for two instances' pools and the test's own.
            .args(["-c", "max_connections=100", "-c", "fsync=on"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        let server = Self {
            child,
            host: host.to_owned(),
            port,
            _dir: dir,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new("pg_isready")
                .args(["-q", "-h", &self.host, "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not get ready in 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A URL for the `postgres` database as the superuser (trust authentication).
    pub fn url(&self) -> String {
        format!("postgres://postgres@{}:{}/postgres", self.host, self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(pid) = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
