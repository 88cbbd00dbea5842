//! The sandbox's servers as child processes: knot, unbound, Pebble and certpilot's own
//! acme-dns server, each killed when its guard drops, and readiness waited for by asking
//! (a DNS answer, an open TCP port), never by sleeping a fixed time.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};

use super::SandboxError;

/// How long one server may take to come up.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A child process killed (and reaped) on drop.
#[derive(Debug)]
pub struct Guard {
    /// What it is, for messages.
    pub what: String,
    child: Child,
    log: PathBuf,
}

impl Guard {
    /// Its process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "{} exited ({status}):\n{}",
                self.what,
                tail(&self.log)
            )),
            _ => None,
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(8)..].join("\n")
}

/// Find a program in PATH or the sbin directories.
#[must_use]
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"])
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file());
    found
}

fn need(name: &str) -> Result<PathBuf, SandboxError> {
    tool(name).ok_or_else(|| SandboxError::Missing(name.to_owned()))
}

/// Start `program args` with its output in `log`.
fn spawn(
    what: &str,
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    log: &Path,
) -> Result<Guard, SandboxError> {
    let out = std::fs::File::create(log).map_err(|e| SandboxError::io(log, &e))?;
    let err = out.try_clone().map_err(|e| SandboxError::io(log, &e))?;
    let child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| SandboxError::Start(format!("{what} ({}): {e}", program.display())))?;
    Ok(Guard {
        what: what.to_owned(),
        child,
        log: log.to_owned(),
    })
}

/// Wait until `ready` holds, or the child exits, or [`READY_WITHIN`] passes.
fn wait_ready(guard: &mut Guard, mut ready: impl FnMut() -> bool) -> Result<(), SandboxError> {
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        if ready() {
            return Ok(());
        }
        if let Some(why) = guard.exited() {
            return Err(SandboxError::Start(why));
        }
        if Instant::now() > deadline {
            return Err(SandboxError::Start(format!(
                "{} did not become ready within {}s:\n{}",
                guard.what,
                READY_WITHIN.as_secs(),
                tail(&guard.log)
            )));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// One DNS question over UDP with a short timeout: whether `server` answers for `name`.
#[must_use]
pub fn answers(server: SocketAddr, name: &str, rtype: RecordType) -> Option<Message> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).ok()?;
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .ok()?;
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(Name::from_ascii(name).ok()?, rtype));
    socket.send_to(&query.to_vec().ok()?, server).ok()?;
    let mut buf = [0_u8; 4096];
    let (len, _) = socket.recv_from(&mut buf).ok()?;
    Message::from_vec(buf.get(..len)?).ok()
}

/// A port free for UDP and TCP on every one of `ips`.
#[must_use]
pub fn free_port(ips: &[Ipv4Addr]) -> Option<u16> {
    for _ in 0..200 {
        let probe = UdpSocket::bind((ips[0], 0)).ok()?;
        let port = probe.local_addr().ok()?.port();
        drop(probe);
        let free = ips.iter().all(|ip| {
            UdpSocket::bind((*ip, port)).is_ok() && TcpListener::bind((*ip, port)).is_ok()
        });
        if free {
            return Some(port);
        }
    }
    None
}

/// A zone for knot: its origin and its file's text.
pub struct ZoneText {
    /// The zone, without the trailing dot.
    pub origin: String,
    /// The zone file.
    pub text: String,
}

/// knotd on `addr` serving `zones`, from files in `dir` (its control socket is there too).
///
/// # Errors
///
/// When `knotd` is not installed, a file cannot be written, or knotd does not start.
pub fn knot(dir: &Path, addr: SocketAddr, zones: &[ZoneText]) -> Result<Guard, SandboxError> {
    let knotd = need("knotd")?;
    std::fs::create_dir_all(dir).map_err(|e| SandboxError::io(dir, &e))?;
    let d = dir.display();
    let mut conf = format!(
        "server:\n  rundir: \"{d}\"\n  listen: {}@{}\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n\
         control:\n  listen: \"{d}/knot.sock\"\n\
         database:\n  storage: \"{d}\"\n\
         log:\n  - target: stderr\n    any: info\n\
         template:\n  - id: default\n    storage: \"{d}\"\n    file: \"%s.zone\"\n    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n\
         zone:\n",
        addr.ip(),
        addr.port()
    );
    for zone in zones {
        let file = dir.join(format!("{}.zone", zone.origin));
        std::fs::write(&file, &zone.text).map_err(|e| SandboxError::io(&file, &e))?;
        let _ = writeln!(conf, "  - domain: {}.", zone.origin);
    }
    let conf_file = dir.join("knot.conf");
    std::fs::write(&conf_file, conf).map_err(|e| SandboxError::io(&conf_file, &e))?;
    let conf_arg = conf_file.display().to_string();
    let mut guard = spawn(
        &format!("knotd on {addr}"),
        &knotd,
        &["-c", &conf_arg],
        &[],
        &dir.join("knot.log"),
    )?;
    for zone in zones {
        let name = format!("{}.", zone.origin);
        wait_ready(&mut guard, || {
            answers(addr, &name, RecordType::SOA).is_some_and(|m| m.metadata.authoritative)
        })?;
    }
    Ok(guard)
}

/// A caching recursive unbound on `addr` reaching the zones through stub zones
/// (zone, servers): the CA's resolver.
///
/// # Errors
///
/// When `unbound` is not installed, a file cannot be written, or unbound does not start.
pub fn unbound(
    dir: &Path,
    addr: SocketAddr,
    stubs: &[(&str, Vec<SocketAddr>)],
) -> Result<Guard, SandboxError> {
    let program = need("unbound")?;
    std::fs::create_dir_all(dir).map_err(|e| SandboxError::io(dir, &e))?;
    let d = dir.display();
    let mut conf = format!(
        "server:\n  interface: {}@{}\n  do-daemonize: no\n  chroot: \"\"\n  username: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  num-threads: 1\n  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n  module-config: \"iterator\"\n  domain-insecure: \"test\"\n  local-zone: \"test.\" nodefault\n",
        addr.ip(),
        addr.port()
    );
    for (zone, servers) in stubs {
        let _ = write!(conf, "\nstub-zone:\n  name: \"{zone}\"\n");
        for server in servers {
            let _ = writeln!(conf, "  stub-addr: {}@{}", server.ip(), server.port());
        }
    }
    let conf_file = dir.join("unbound.conf");
    std::fs::write(&conf_file, conf).map_err(|e| SandboxError::io(&conf_file, &e))?;
    let conf_arg = conf_file.display().to_string();
    let mut guard = spawn(
        "unbound",
        &program,
        &["-d", "-c", &conf_arg],
        &[],
        &dir.join("unbound.log"),
    )?;
    let first = stubs
        .first()
        .map_or_else(|| "test.".to_owned(), |(z, _)| format!("{z}."));
    wait_ready(&mut guard, || {
        answers(addr, &first, RecordType::SOA).is_some()
    })?;
    Ok(guard)
}

/// Pebble with `config` validating through `dns`, rejecting `nonce_reject` % of nonces.
///
/// # Errors
///
/// When `pebble` is not installed or does not start listening.
pub fn pebble(
    dir: &Path,
    config: &Path,
    dns: SocketAddr,
    nonce_reject: u8,
    listen: SocketAddr,
) -> Result<Guard, SandboxError> {
    let program = need("pebble")?;
    let config_arg = config.display().to_string();
    let dns_arg = dns.to_string();
    let reject = nonce_reject.to_string();
    let env = [
        ("PEBBLE_VA_NOSLEEP", "1"),
        ("PEBBLE_WFE_NONCEREJECT", reject.as_str()),
        ("PEBBLE_AUTHZREUSE", "0"),
    ];
    let mut guard = spawn(
        "pebble",
        &program,
        &["-config", &config_arg, "-dnsserver", &dns_arg],
        &env,
        &dir.join("pebble.log"),
    )?;
    wait_ready(&mut guard, || {
        TcpStream::connect_timeout(&listen, Duration::from_millis(200)).is_ok()
    })?;
    Ok(guard)
}

/// certpilot's own acme-dns server (`acme-dns serve`) from `config`, its API on `http`.
///
/// # Errors
///
/// When the server cannot be started or does not start listening.
pub fn acme_dns(
    dir: &Path,
    config: &Path,
    http: SocketAddr,
    dns: SocketAddr,
    zone: &str,
) -> Result<Guard, SandboxError> {
    let program = std::env::current_exe()
        .map_err(|e| SandboxError::Start(format!("certpilot itself: {e}")))?;
    let config_arg = config.display().to_string();
    let dir_arg = dir.display().to_string();
    let mut guard = spawn(
        "acme-dns server",
        &program,
        &[
            "--dir",
            &dir_arg,
            "acme-dns",
            "serve",
            "--config",
            &config_arg,
        ],
        &[],
        &dir.join("acme-dns.log"),
    )?;
    let apex = format!("{zone}.");
    wait_ready(&mut guard, || {
        TcpStream::connect_timeout(&http, Duration::from_millis(200)).is_ok()
            && answers(dns, &apex, RecordType::SOA).is_some()
    })?;
    Ok(guard)
}
