//! Screen captures for `scripts/screenshots.sh`, from real runs: Pebble issues the
//! certificates, a loopback DNS tree (knot on `127.0.70.0/24`, one secondary lagging) is
//! what the propagation matrix asks, and certpilot's own acme-dns server takes the
//! registration; then the manual solver's records popup, and the acme-dns server screen
//! running certpilot's server inside the TUI with its parent records delegated. Each screen is saved as tmux `capture-pane -e` output (ANSI) in the
//! directory `CERTPILOT_SCREENSHOTS` names; the script turns them into PNGs.
//!
//! Ignored by default (it is a generator, not a check): the script runs it with
//! `cargo test --test tui_screenshots -- --ignored` inside `keyctl session -`.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;
mod dns_tree;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use certpilot::server::{self, ServerConfig, StaticRecord};
use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Workdir};
use dns_tree::{ip, Knot, ZoneFile};

const NET: u8 = 70;
const WIDTH: &str = "120";
const HEIGHT: &str = "36";
const DEADLINE: Duration = Duration::from_secs(60);
/// How long the second name server lags behind the first.
const LAG: Duration = Duration::from_secs(8);

struct Tmux(String);

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.0, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    fn send(&self, keys: &[&str]) {
        for key in keys {
            self.run(&["send-keys", "-t", "t", key]);
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn wait(&self, what: &str, done: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "no {what:?} on screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_for(&self, needle: &str) {
        self.wait(needle, |s| s.contains(needle));
    }

    /// Save the pane with its colours as `<dir>/<name>.ans`.
    fn save(&self, dir: &Path, name: &str) {
        let out = self.run(&["capture-pane", "-e", "-p", "-t", "t"]);
        std::fs::write(dir.join(format!("{name}.ans")), out.stdout).expect("capture");
        eprintln!("captured {name}");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn example_zone(serial: u32, records: &[String]) -> ZoneFile {
    let mut zone = ZoneFile::new("example.test", serial)
        .with("@ NS ns1")
        .with("@ NS ns2")
        .with(format!("ns1 A {}", ip(NET, 2)))
        .with(format!("ns2 A {}", ip(NET, 3)));
    for line in records {
        zone = zone.with(line.clone());
    }
    zone
}

/// Keeps `example.test` on ns1 and (after [`LAG`]) ns2 in step with what the exec hook
/// published and with the acme-dns CNAMEs in the config: a real primary and a slow secondary.
fn keep_zones(
    hook_log: PathBuf,
    config: PathBuf,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let ns1_static = vec!["_acme-challenge.www TXT \"Vt3kq8ZP2mXw-current-token\"".to_owned()];
    let ns2_static = vec!["_acme-challenge.www TXT \"Hq7sL0aa1Yc-stale-token\"".to_owned()];
    let ns1 = Knot::start(ip(NET, 2), &[example_zone(3, &ns1_static)], &[]);
    let ns2 = Knot::start(ip(NET, 3), &[example_zone(2, &ns2_static)], &[]);
    std::thread::spawn(move || {
        let (mut serial, mut last) = (3_u32, BTreeSet::new());
        let mut pending: Option<(Instant, ZoneFile)> = None;
        while !stop.load(Ordering::Relaxed) {
            let wanted = wanted_records(&hook_log, &config);
            if wanted != last {
                serial += 1;
                let mut lines = ns1_static.clone();
                lines.extend(wanted.iter().cloned());
                let zone = example_zone(serial, &lines);
                ns1.update(&zone);
                pending = Some((Instant::now() + LAG, zone));
                last = wanted;
            }
            if let Some((at, zone)) = pending.take() {
                if Instant::now() >= at {
                    ns2.update(&zone);
                } else {
                    pending = Some((at, zone));
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

/// TXT records the hook has published and not removed, and the CNAMEs of acme-dns
/// registrations, as zone lines relative to `example.test`.
fn wanted_records(hook_log: &Path, config: &Path) -> BTreeSet<String> {
    let mut records = BTreeSet::new();
    for line in std::fs::read_to_string(hook_log)
        .unwrap_or_default()
        .lines()
    {
        let parts: Vec<&str> = line.split(' ').collect();
        let [action, fqdn, value] = parts[..] else {
            continue;
        };
        let Some(owner) = fqdn.strip_suffix(".example.test.") else {
            continue;
        };
        let record = format!("{owner} TXT \"{value}\"");
        if action == "present" {
            records.insert(record);
        } else {
            records.remove(&record);
        }
    }
    if let Ok(config) = certpilot::config::load(config) {
        for (domain, registration) in &config.acme_dns {
            if let Some(label) = domain.strip_suffix(".example.test") {
                records.insert(format!(
                    "_acme-challenge.{label} CNAME {}.",
                    registration.fulldomain
                ));
            }
        }
    }
    records
}

/// An exec hook that publishes to challtestsrv (Pebble validates there) and logs the call
/// for [`keep_zones`].
fn logging_hook(dir: &Path) -> PathBuf {
    let path = dir.join("hook.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\nset -eu\necho \"$1 $2 $3\" >> \"$HOOK_LOG\"\nexec \"$CHALLTEST_HOOK\" \"$@\"\n",
    )
    .expect("hook");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// Four certificates of `example.test`.
fn add_certificates(wd: &Workdir) {
    let certs: [(&str, &[&str]); 4] = [
        ("www", &["www.example.test", "example.test"]),
        ("shop", &["shop.example.test"]),
        ("api", &["api.example.test"]),
        (
            "mail",
            &[
                "mail.example.test",
                "smtp.example.test",
                "imap.example.test",
            ],
        ),
    ];
    for (name, names) in certs {
        let mut args = vec!["cert", "add", name];
        for n in names {
            args.extend(["--name", n]);
        }
        wd.run(&args).ok();
    }
}

fn workdir(pebble: &Pebble, hook: &Path, hook_log: &Path) -> Workdir {
    let mut wd = Workdir::new("shots");
    wd.env("HOOK_LOG", hook_log.to_str().unwrap())
        .env("CHALLTEST_HOOK", hook_path().to_str().unwrap());
    let wd = wd.enrol(pebble, hook);
    add_certificates(&wd);
    for name in ["www", "shop"] {
        wd.run_dns(pebble, &["issue", name]).ok();
    }
    // The records of those issuances were removed again; start the log afresh.
    std::fs::write(hook_log, "").expect("hook log");
    wd
}

fn acme_dns_server(dir: &Path) -> (tokio::runtime::Runtime, server::RunningServer) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut config = ServerConfig::new("auth.test", dir.join("acme-dns.db"));
    config.bcrypt_cost = 4;
    config.nameservers = vec!["ns.auth.test".into()];
    config.dns.listen = vec![std::net::SocketAddr::from((ip(NET, 4), 53))];
    config.records.push(StaticRecord {
        name: "ns.auth.test".into(),
        rtype: "A".into(),
        value: ip(NET, 4).into(),
        ttl: None,
    });
    let running = runtime
        .block_on(server::start(config))
        .expect("acme-dns server");
    (runtime, running)
}

#[test]
#[ignore = "generator for scripts/screenshots.sh"]
fn capture_screens() {
    let out =
        PathBuf::from(std::env::var("CERTPILOT_SCREENSHOTS").expect("CERTPILOT_SCREENSHOTS=DIR"));
    std::fs::create_dir_all(&out).expect("output dir");
    assert!(dns_tree::available(NET), "knot and root are needed");
    let pebble = Pebble::start(PebbleOptions::default()).expect("pebble");
    let scratch = tempfile::tempdir().expect("tempdir");
    let hook_log = scratch.path().join("hook.log");
    let hook = logging_hook(scratch.path());
    let wd = workdir(&pebble, &hook, &hook_log);
    let parent = ZoneFile::new("test", 1)
        .with("@ NS ns")
        .with(format!("ns A {}", ip(NET, 1)))
        .with("example NS ns1.example")
        .with("example NS ns2.example")
        .with(format!("ns1.example A {}", ip(NET, 2)))
        .with(format!("ns2.example A {}", ip(NET, 3)))
        .with("auth NS ns.auth")
        .with(format!("ns.auth A {}", ip(NET, 4)))
        // The delegation the acme-dns server screen asks for (its server runs in the TUI).
        .with("acme NS ns1.acme")
        .with(format!("ns1.acme A {}", ip(NET, 5)));
    let _root = Knot::start(ip(NET, 1), &[parent], &[]);
    let (_runtime, acme_dns) = acme_dns_server(scratch.path());
    let stop = Arc::new(AtomicBool::new(false));
    let keeper = keep_zones(
        hook_log.clone(),
        wd.path().join("certpilot.toml"),
        Arc::clone(&stop),
    );

    let tmux = Tmux(format!("certpilot-shots-{}", std::process::id()));
    let bin = env!("CARGO_BIN_EXE_certpilot");
    let envs: Vec<String> = wd.envs.iter().map(|(k, v)| format!("{k}='{v}'")).collect();
    let command = format!(
        "env -u NO_COLOR {} {bin} --dir '{}' --resolver {}; sleep 600",
        envs.join(" "),
        wd.path().display(),
        ip(NET, 1)
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        WIDTH,
        "-y",
        HEIGHT,
        &command,
    ]);
    drive(&tmux, &out, &format!("http://{}", acme_dns.http_addr()));
    manual_records(&tmux, &out, &wd);
    server_screen(&tmux, &out);
    large_matrix(&tmux, &out, &wd);
    tmux.send(&["Escape", "q"]);
    stop.store(true, Ordering::Relaxed);
    keeper.join().expect("zone keeper");
}

fn drive(tmux: &Tmux, out: &Path, acme_dns: &str) {
    tmux.wait_for("www.example.test");
    tmux.save(out, "dashboard");
    tmux.send(&["?"]);
    tmux.wait_for("Register an ACME account");
    tmux.save(out, "help");
    tmux.send(&["Escape", "G", "Enter"]);
    tmux.wait_for("SHA-256");
    tmux.save(out, "detail");
    tmux.send(&["Escape", "c"]);
    tmux.wait_for("NOT propagated");
    tmux.send(&["j", "j", "j"]);
    tmux.save(out, "propagation");
    // Issue api (first row): the live matrix shows ns1 with the records, ns2 not yet.
    tmux.send(&["Escape", "g", "i"]);
    tmux.wait("ns1 serving the records", |s| {
        s.lines()
            .any(|l| l.contains("ns1.example.test") && l.contains("✓ match"))
            && s.lines()
                .any(|l| l.contains("ns2.example.test") && !l.contains("✓ match"))
    });
    tmux.save(out, "issuance");
    tmux.wait("the issuance to end", |s| {
        s.contains("✓ issued in") || s.contains("tries again")
    });
    tmux.save(out, "issuance-done");
    // The jobs view: the issuance just finished, listed with its time.
    tmux.send(&["J"]);
    tmux.wait_for("jobs · ");
    tmux.save(out, "jobs");
    tmux.send(&["Escape"]);
    // acme-dns for shop.example.test on certpilot's own server.
    tmux.send(&["Escape", "Tab", "a"]);
    tmux.wait_for("Server URL");
    tmux.run(&["send-keys", "-t", "t", "-l", "shop.example.test"]);
    tmux.send(&["Tab", "C-u"]);
    tmux.run(&["send-keys", "-t", "t", "-l", acme_dns]);
    tmux.send(&["Enter"]);
    tmux.wait_for("Create this CNAME once");
    tmux.wait("ns1 serving the CNAME", |s| {
        s.lines()
            .any(|l| l.contains("ns1.example.test") && l.contains("✓ match"))
    });
    tmux.save(out, "acme-dns");
    tmux.send(&["Escape"]);
}

/// A certificate of a manual-solver domain, issued from the dashboard: the popup lists the
/// records to create; Esc cancels the order.
fn manual_records(tmux: &Tmux, out: &Path, wd: &Workdir) {
    wd.run(&[
        "domain",
        "set",
        "intranet.example.test",
        "--solver",
        "manual",
    ])
    .ok();
    wd.run(&[
        "cert",
        "add",
        "intranet",
        "--name",
        "intranet.example.test",
        "--name",
        "*.intranet.example.test",
    ])
    .ok();
    // Back on the certificates pane (the acme-dns wizard was opened from the domains pane).
    tmux.send(&["Tab", "r"]);
    tmux.wait_for("intranet");
    // The only certificate never issued sorts first.
    tmux.send(&["g", "i"]);
    tmux.wait_for("intranet: create these TXT records");
    tmux.save(out, "manual-records");
    tmux.send(&["Escape"]);
    tmux.wait("the order to be cancelled", |s| s.contains("■"));
    tmux.send(&["Escape"]);
}

/// `S`: certpilot's own acme-dns server started from the TUI, its parent-zone records
/// checked (knot serves the delegation), and one domain registered with its CNAME checked.
fn server_screen(tmux: &Tmux, out: &Path) {
    tmux.send(&["S"]);
    tmux.wait_for("Challenge zone");
    let address = ip(NET, 5).to_string();
    let fields = [
        "acme.test".to_owned(),
        "ns1.acme.test".to_owned(),
        address.clone(),
        format!("{address}:53"),
        format!("{address}:8053"),
        "blog.example.test".to_owned(),
    ];
    for (i, value) in fields.iter().enumerate() {
        if i > 0 {
            tmux.send(&["Tab"]);
        }
        tmux.send(&["C-u"]);
        tmux.run(&["send-keys", "-t", "t", "-l", value]);
    }
    tmux.send(&["Enter"]);
    tmux.wait("both parent records served", |s| {
        s.matches("✓ 1/1").count() == 2 && s.contains("_acme-challenge.blog.example.test")
    });
    // Select the CNAME: its live check fills the lower half.
    tmux.send(&["j", "j"]);
    tmux.wait("the CNAME served", |s| s.contains("✓ served"));
    tmux.save(out, "acme-dns-server");
}

/// A certificate of 100 names checked on both nameservers: the matrix scrolls and keeps its
/// result line.
fn large_matrix(tmux: &Tmux, out: &Path, wd: &Workdir) {
    let names: Vec<String> = (1..=100).map(|i| format!("host{i}.example.test")).collect();
    let mut args = vec!["cert", "add", "fleet"];
    for name in &names {
        args.extend(["--name", name.as_str()]);
    }
    wd.run(&args).ok();
    tmux.send(&["Escape", "Escape"]);
    tmux.send(&["r"]);
    tmux.wait_for("fleet");
    tmux.send(&["/"]);
    tmux.run(&["send-keys", "-t", "t", "-l", "fleet"]);
    tmux.send(&["Enter", "c"]);
    tmux.wait_for("NOT propagated");
    tmux.send(&["j", "j", "j", "j", "j"]);
    tmux.save(out, "propagation-100");
}
