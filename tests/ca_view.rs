//! "Propagated" means "the CA will see it": issuance and `check` against what a CA's resolver
//! sees, on a real tree (knot), a caching recursive resolver (unbound) that Pebble validates
//! through, and a hook that writes records through knotc as a provider's API would.
//!
//! - the cache horizon: back-to-back forced renewals of one name all pass, each waiting about
//!   one TTL; without the ledger the same renewal fails (the resolver still holds the old
//!   value); a run killed after answering is re-run at once and succeeds;
//! - delegation truth: a silent server only the parent delegates to, and a lame server, are
//!   named; a dead server ends the wait at the bound; `--ignore-server` goes on without it;
//! - CNAME following: the exec hook of the target's domain writes at the CNAME's target;
//! - no serial hint for independent primaries.
//!
//! The trees here own `127.0.100.0/24` to `127.0.103.0/24`.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;
mod dns_tree;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::pebble::{Pebble, PebbleOptions};
use common::recording::{expect_line, spawn_with_lines, wait_exit};
use common::Workdir;
use dns_tree::{ip, Knot, Scripted, Unbound, ZoneFile};

/// The TTL the hook gives challenge records: long enough that a resolver's cached answer
/// outlives one renewal, short enough for a test.
const TTL: u64 = 8;

fn knot_hook() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/knot-hook.sh")
}

/// A hook script for `zone` on `servers`, logging its calls to `log`.
fn hook_for(dir: &Path, tag: &str, zone: &str, servers: &[&Knot], ttl: u64) -> (PathBuf, PathBuf) {
    let log = dir.join(format!("{tag}.log"));
    std::fs::write(&log, "").unwrap();
    let confs: Vec<String> = servers
        .iter()
        .map(|k| k.conf().display().to_string())
        .collect();
    let script = dir.join(format!("{tag}.sh"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec env KNOT_ZONE={zone}. KNOT_CONFS='{}' HOOK_TTL={ttl} HOOK_LOG='{}' '{}' \"$@\"\n",
            confs.join(" "),
            log.display(),
            knot_hook().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, log)
}

fn available(net: u8) -> bool {
    dns_tree::available(net)
        && common::require_tool("pebble")
        && common::require_tool("unbound")
        && common::require_tool("flock")
}

/// A workdir with an account on `pebble` and certificate `web` for `names`.
fn workdir(pebble: &Pebble, tag: &str, names: &[&str]) -> Workdir {
    let mut wd = Workdir::new(tag);
    wd.env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
    wd.add_pebble_account(&pebble.directory, &[]);
    let mut add = vec!["cert", "add", "web"];
    for name in names {
        add.extend(["--name", name]);
    }
    wd.run(&add).ok();
    wd
}

fn set_solver(wd: &Workdir, domain: &str, hook: &Path, extra: &[&str]) {
    let mut args = vec![
        "domain",
        "set",
        domain,
        "--solver",
        "exec",
        "--command",
        hook.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    wd.run(&args).ok();
}

/// The seconds of the first "waiting N s more for resolver caches" line, if any.
fn cache_wait(output: &str) -> Option<u64> {
    output.lines().find_map(|l| {
        let rest = l.split("waiting ").nth(1)?;
        let (secs, tail) = rest.split_once(" s more")?;
        tail.contains("resolver caches")
            .then(|| secs.parse().ok())?
    })
}

/// `test.` served from `.1`, delegating each (child label, server label, address's last
/// byte): `example NS ns1.example` with its glue.
fn parent_zone(net: u8, delegations: &[(&str, &str, u8)]) -> ZoneFile {
    let mut zone = ZoneFile::new("test", 1)
        .with("@ NS ns")
        .with(format!("ns A {}", ip(net, 1)));
    for (child, host, last) in delegations {
        zone = zone
            .with(format!("{child} NS {host}.{child}"))
            .with(format!("{host}.{child} A {}", ip(net, *last)));
    }
    zone
}

/// `test.` delegating `example.test` to ns1/ns2 (.2, .3).
fn simple_tree(net: u8) -> (Knot, Knot, Knot) {
    let parent = parent_zone(net, &[("example", "ns1", 2), ("example", "ns2", 3)]);
    let child = ZoneFile::new("example.test", 1)
        .with("@ NS ns1")
        .with("@ NS ns2")
        .with(format!("ns1 A {}", ip(net, 2)))
        .with(format!("ns2 A {}", ip(net, 3)));
    (
        Knot::start(ip(net, 1), &[parent], &[]),
        Knot::start(ip(net, 2), std::slice::from_ref(&child), &[]),
        Knot::start(ip(net, 3), &[child], &[]),
    )
}

#[test]
fn back_to_back_renewals_wait_out_the_resolver_cache_and_all_pass() {
    let net = 100;
    if !available(net) {
        return;
    }
    let (_parent, ns1, ns2) = simple_tree(net);
    let unbound = Unbound::start(ip(net, 4), &[("test", ip(net, 1))]);
    let resolver = format!("{}:53", unbound.addr);
    let opts = PebbleOptions {
        authz_reuse: 0,
        ..PebbleOptions::default()
    };
    let Some(pebble) = Pebble::start_with_dns(opts, &resolver) else {
        return;
    };
    let wd = workdir(&pebble, "horizon", &["web.example.test"]);
    let (hook, _log) = hook_for(wd.path(), "hook", "example.test", &[&ns1, &ns2], TTL);
    set_solver(&wd, "example.test", &hook, &[]);
    let dns = ["--resolver", resolver.as_str()];
    let run = |args: &[&str]| wd.run(&[&dns[..], args].concat());

    let first = run(&["issue", "web"]);
    first.ok();
    assert_eq!(
        cache_wait(&first.stderr()),
        None,
        "nothing was cached yet: {}",
        first.stderr()
    );

    // Pebble may still reuse a valid authorization (then nothing is validated): renew until
    // four renewals were validated, every renewal passing.
    let mut validated = 0;
    for round in 1..=12 {
        let renewal = run(&["renew", "--only", "web", "--force"]);
        let err = renewal.stderr();
        assert_eq!(
            renewal.code(),
            0,
            "renewal {round} failed:\n{err}\n{}",
            renewal.stdout()
        );
        if err.contains("0 challenge(s) to answer") {
            continue;
        }
        let waited =
            cache_wait(&err).unwrap_or_else(|| panic!("renewal {round} did not wait:\n{err}"));
        // One TTL, plus the second resolvers may round up.
        assert!(
            waited <= TTL + 1,
            "renewal {round} waited {waited} s for a {TTL} s TTL:\n{err}"
        );
        assert!(
            err.contains("certpilot's last validation there was served with TTL 8 s"),
            "{err}"
        );
        validated += 1;
        if validated == 4 {
            break;
        }
    }
    assert_eq!(validated, 4, "Pebble reused authorizations too often");

    // Killed once the CA was asked, re-run at once: the re-run gets its certificate.
    let (mut killed, lines) = spawn_with_lines(
        &wd,
        &[&dns[..], &["renew", "--only", "web", "--force"]].concat(),
    );
    let mut seen = Vec::new();
    expect_line(&lines, &mut seen, "progress", |l| {
        l.contains("challenges answered")
    });
    killed.kill().unwrap();
    wait_exit(&mut killed);
    let rerun = run(&["renew", "--only", "web", "--force"]);
    assert_eq!(
        rerun.code(),
        0,
        "the re-run after a kill failed:\n{}",
        rerun.stderr()
    );

    // The control: forget what certpilot knows of the last validation, and the CA meets the
    // value its resolver still caches: the renewals above pass because of the horizon.
    let validates = |r: &common::Run| !r.stderr().contains("0 challenge(s) to answer");
    let mut controlled = false;
    for _ in 0..6 {
        let again = run(&["renew", "--only", "web", "--force"]);
        again.ok();
        if !validates(&again) {
            continue;
        }
        std::fs::remove_dir_all(wd.path().join("state/lookups")).unwrap();
        let blind = run(&["renew", "--only", "web", "--force"]);
        if !validates(&blind) {
            blind.ok();
            continue;
        }
        assert_eq!(blind.code(), 1, "{}", blind.stderr());
        let out = format!("{}{}", blind.stdout(), blind.stderr());
        assert!(out.contains("unauthorized"), "{out}");
        controlled = true;
        break;
    }
    assert!(
        controlled,
        "Pebble reused authorizations too often for the control"
    );
}

/// `test.` delegating `example.test` to ns1, ns2 and ns3 (only the parent lists ns3, which
/// never answers) and ns4 (which does not serve the zone).
fn split_tree(net: u8, silent: bool) -> (Vec<Knot>, Option<Scripted>) {
    let both = [("ns1", 2), ("ns2", 3), ("ns4", 5)];
    let mut delegated: Vec<(&str, &str, u8)> = both
        .iter()
        .map(|(host, last)| ("example", *host, *last))
        .collect();
    let mut child = ZoneFile::new("example.test", 1).with("_acme-challenge.web TXT \"tok\"");
    for (host, last) in both {
        child = child
            .with(format!("@ NS {host}"))
            .with(format!("{host} A {}", ip(net, last)));
    }
    let mut scripted = None;
    if silent {
        delegated.push(("example", "ns3", 9));
        scripted = Some(Scripted::silent((ip(net, 9), 53).into()));
    }
    let parent = parent_zone(net, &delegated);
    let other = ZoneFile::new("other.test", 1).with("@ NS ns.other.test.");
    let knots = vec![
        Knot::start(ip(net, 1), &[parent], &[]),
        Knot::start(ip(net, 2), &[child.clone()], &[]),
        Knot::start(ip(net, 3), &[child], &[]),
        Knot::start(ip(net, 5), &[other], &[]),
    ];
    (knots, scripted)
}

#[test]
fn check_names_parent_only_and_lame_servers_a_resolver_cache_hides() {
    let net = 101;
    if !dns_tree::available(net) || !common::require_tool("unbound") {
        return;
    }
    let (_knots, _silent) = split_tree(net, true);
    // The resolver knows the zone's own NS set (ns1, ns2, ns4): ns3 is never in its answers.
    let unbound = Unbound::start(ip(net, 4), &[("test", ip(net, 1))]);
    let resolver = format!("{}:53", unbound.addr);
    let wd = Workdir::new("delegation");
    let check = wd.run(&[
        "--resolver",
        &resolver,
        "check",
        "web.example.test",
        "--expect-txt",
        "tok",
    ]);
    let out = check.stdout();
    assert_eq!(check.code(), 1, "{out}\n{}", check.stderr());
    let ns3 = ip(net, 9).to_string();
    assert!(
        out.lines()
            .any(|l| l.contains("ns3.example.test (parent only)")
                && l.contains(&ns3)
                && l.contains("timeout")),
        "{out}"
    );
    assert!(
        out.contains(&format!("hint: ns3.example.test ({ns3}) is delegated to by the parent of example.test but missing from example.test's own NS records")),
        "{out}"
    );
    assert!(
        out.contains(&format!("hint: lame delegation: ns4.example.test ({}) is named as a server of example.test but answers REFUSED", ip(net, 5))),
        "{out}"
    );
    let json = wd.run(&[
        "--resolver",
        &resolver,
        "check",
        "web.example.test",
        "--expect-txt",
        "tok",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout()).unwrap();
    let kinds: Vec<&str> = doc["hints"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"parent-only") && kinds.contains(&"lame-server"),
        "{kinds:?}"
    );
    let servers = &doc["names"][0]["hops"][0]["zone"]["servers"];
    let ns3_listing = servers
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["host"] == "ns3.example.test")
        .map(|s| s["listing"].clone())
        .expect("ns3 is checked");
    assert_eq!(ns3_listing["parent"], true);
    assert_eq!(ns3_listing["child"], false);
}

#[test]
fn a_dead_server_ends_the_wait_at_the_bound_and_can_be_left_out() {
    let net = 102;
    if !available(net) {
        return;
    }
    let (knots, _silent) = split_tree(net, true);
    let unbound = Unbound::start(ip(net, 4), &[("test", ip(net, 1))]);
    let resolver = format!("{}:53", unbound.addr);
    // Pebble asks ns1 itself: the silent and the lame server must not decide its answer.
    let Some(pebble) =
        Pebble::start_with_dns(PebbleOptions::default(), &format!("{}:53", ip(net, 2)))
    else {
        return;
    };
    let wd = workdir(&pebble, "dead", &["web.example.test"]);
    let config = std::fs::read_to_string(wd.path().join("certpilot.toml")).unwrap();
    let config = if config.contains("[settings]") {
        config.replacen("[settings]", "[settings]\ndead_server_timeout = 3", 1)
    } else {
        format!("[settings]\ndead_server_timeout = 3\n\n{config}")
    };
    std::fs::write(wd.path().join("certpilot.toml"), config).unwrap();
    let settings = std::fs::read_to_string(wd.path().join("certpilot.toml")).unwrap();
    assert!(settings.contains("dead_server_timeout = 3"), "{settings}");
    let (hook, _log) = hook_for(
        wd.path(),
        "hook",
        "example.test",
        &[&knots[1], &knots[2]],
        1,
    );
    set_solver(&wd, "example.test", &hook, &[]);

    let dead = wd.run(&["--resolver", &resolver, "issue", "web"]);
    let err = dead.stderr();
    assert_eq!(dead.code(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "ns3.example.test ({}) has not answered for",
            ip(net, 9)
        )),
        "{err}"
    );
    assert!(err.contains("--ignore-server ns3.example.test"), "{err}");
    assert!(dead.elapsed < Duration::from_secs(40), "{:?}", dead.elapsed);
    assert!(!wd.path().join("certificates/web/web.crt").exists());

    let ignored = wd.run(&[
        "--resolver",
        &resolver,
        "--ignore-server",
        "ns3.example.test",
        "--ignore-server",
        &ip(net, 5).to_string(),
        "issue",
        "web",
    ]);
    assert_eq!(ignored.code(), 0, "{}", ignored.stderr());
    assert!(wd.path().join("certificates/web/web.crt").exists());
}

#[test]
fn the_exec_hook_of_the_cname_targets_domain_writes_at_the_target() {
    let net = 103;
    if !available(net) {
        return;
    }
    let parent = parent_zone(net, &[("example", "ns1", 2), ("other", "ns", 6)]);
    let example = ZoneFile::new("example.test", 1)
        .with("@ NS ns1")
        .with(format!("ns1 A {}", ip(net, 2)))
        .with("_acme-challenge.web CNAME web-challenge.other.test.");
    let other = ZoneFile::new("other.test", 1)
        .with("@ NS ns")
        .with(format!("ns A {}", ip(net, 6)));
    let _parent = Knot::start(ip(net, 1), &[parent], &[]);
    let ns1 = Knot::start(ip(net, 2), &[example], &[]);
    let other_ns = Knot::start(ip(net, 6), &[other], &[]);
    let unbound = Unbound::start(ip(net, 4), &[("test", ip(net, 1))]);
    let resolver = format!("{}:53", unbound.addr);
    let Some(pebble) = Pebble::start_with_dns(PebbleOptions::default(), &resolver) else {
        return;
    };
    let wd = workdir(&pebble, "cname", &["web.example.test"]);
    let (hook_a, log_a) = hook_for(wd.path(), "example", "example.test", &[&ns1], 1);
    let (hook_b, log_b) = hook_for(wd.path(), "other", "other.test", &[&other_ns], 1);
    set_solver(&wd, "example.test", &hook_a, &[]);
    set_solver(&wd, "other.test", &hook_b, &[]);

    let issued = wd.run(&["--resolver", &resolver, "issue", "web"]);
    assert_eq!(issued.code(), 0, "{}", issued.stderr());
    let b = std::fs::read_to_string(&log_b).unwrap();
    assert!(
        b.lines()
            .any(|l| l.starts_with("present web-challenge.other.test. ")),
        "{b}"
    );
    assert!(
        b.lines()
            .any(|l| l.starts_with("cleanup web-challenge.other.test. ")),
        "{b}"
    );
    assert_eq!(
        std::fs::read_to_string(&log_a).unwrap(),
        "",
        "example.test's hook was asked"
    );

    // Turned off for example.test: its own hook is asked to write beside the CNAME.
    set_solver(&wd, "example.test", &hook_a, &["--no-cname-follow"]);
    let config = std::fs::read_to_string(wd.path().join("certpilot.toml")).unwrap();
    assert!(
        config.contains("no_cname_follow = [\"example.test\"]"),
        "{config}"
    );
    let _ = wd.run(&[
        "--resolver",
        &resolver,
        "--propagation-timeout",
        "5",
        "issue",
        "web",
    ]);
    let a = std::fs::read_to_string(&log_a).unwrap();
    assert!(
        a.lines()
            .any(|l| l.starts_with("present _acme-challenge.web.example.test. ")),
        "{a}"
    );
}

#[test]
fn independent_primaries_get_no_serial_hint() {
    let net = 104;
    if !dns_tree::available(net) {
        return;
    }
    let parent = parent_zone(net, &[("example", "ns1", 2), ("example", "ns2", 3)]);
    let zone = |serial: u32, primary: &str, txt: bool| {
        let mut z = ZoneFile::new("example.test", serial)
            .primary(primary)
            .with("@ NS ns1")
            .with("@ NS ns2")
            .with(format!("ns1 A {}", ip(net, 2)))
            .with(format!("ns2 A {}", ip(net, 3)));
        if txt {
            z = z.with("_acme-challenge.web TXT \"tok\"");
        }
        z
    };
    let _parent = Knot::start(ip(net, 1), &[parent], &[]);
    let _a = Knot::start(
        ip(net, 2),
        &[zone(2026120601, "ns1.provider-a.test.", true)],
        &[],
    );
    let b = Knot::start(ip(net, 3), &[zone(7, "ns.provider-b.test.", true)], &[]);
    let wd = Workdir::new("primaries");
    let resolver = ip(net, 1).to_string();
    let check = |txt: &str| {
        wd.run(&[
            "--resolver",
            &resolver,
            "check",
            "web.example.test",
            "--expect-txt",
            txt,
        ])
    };
    let ok = check("tok");
    assert_eq!(ok.code(), 0, "{}", ok.stdout());
    assert!(!ok.stdout().contains("SOA serial"), "{}", ok.stdout());
    // One provider lacks the value: named as missing, still no "secondary behind" story.
    b.update(&zone(8, "ns.provider-b.test.", false));
    let missing = check("tok");
    assert_eq!(missing.code(), 1, "{}", missing.stdout());
    assert!(
        missing.stdout().contains("waits on ns2.example.test"),
        "{}",
        missing.stdout()
    );
    assert!(
        !missing.stdout().contains("SOA serial"),
        "{}",
        missing.stdout()
    );
}

#[test]
fn check_of_a_certificate_uses_the_values_its_pending_issuance_waits_for() {
    let net = 105;
    if !dns_tree::available(net) || !common::require_tool("pebble") {
        return;
    }
    let (_parent, _ns1, _ns2) = simple_tree(net);
    let Some(pebble) =
        Pebble::start_with_dns(PebbleOptions::default(), &format!("{}:53", ip(net, 2)))
    else {
        return;
    };
    // The hook only writes the records down: they never reach the servers.
    let (wd, published) =
        common::recording::recording_workdir(&pebble, "pending", &["web.example.test"]);
    let resolver = ip(net, 1).to_string();
    let (mut issue, lines) = spawn_with_lines(
        &wd,
        &[
            "--resolver",
            &resolver,
            "--propagation-timeout",
            "120",
            "issue",
            "web",
        ],
    );
    let mut seen = Vec::new();
    expect_line(&lines, &mut seen, "progress", |l| {
        l.contains("NOT propagated")
    });
    let record = std::fs::read_to_string(&published).unwrap();
    let value = record
        .split('"')
        .nth(1)
        .expect("a published value")
        .to_owned();
    let check = wd.run(&["--resolver", &resolver, "check", "web"]);
    issue.kill().unwrap();
    wait_exit(&mut issue);
    assert_eq!(check.code(), 1, "{}", check.stdout());
    assert!(
        check
            .stderr()
            .contains("checking the values of the pending issuance"),
        "{}",
        check.stderr()
    );
    assert!(
        check.stdout().contains(&format!("want TXT \"{value}\"")),
        "{}",
        check.stdout()
    );
}

#[test]
fn a_name_that_exists_nowhere_is_named_as_such_not_blamed_on_ipv4() {
    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::rdata::SOA;
    use hickory_proto::rr::{Name, RData, Record};
    // A resolver that knows nothing below the root, as a public one answers for `.invalid`.
    let resolver = Scripted::start(
        (ip(106, 1), 0).into(),
        Box::new(|query| {
            let mut answer = dns_tree::reply(query, ResponseCode::NXDomain);
            answer.metadata.authoritative = false;
            let root = Name::root();
            let soa = SOA::new(
                Name::from_ascii("a.root-servers.net.").unwrap(),
                Name::from_ascii("nstld.verisign-grs.com.").unwrap(),
                2026120600,
                1800,
                900,
                604_800,
                86400,
            );
            answer.add_authority(Record::from_rdata(root, 86400, RData::SOA(soa)));
            Some(answer)
        }),
    );
    let wd = Workdir::new("nosuch");
    let check = wd.run(&[
        "--resolver",
        &resolver.addr.to_string(),
        "check",
        "nosuch.invalid",
    ]);
    let out = format!("{}{}", check.stdout(), check.stderr());
    assert_eq!(check.code(), 1, "{out}");
    assert!(
        out.contains("_acme-challenge.nosuch.invalid does not exist"),
        "{out}"
    );
    assert!(!out.contains("IPv4"), "{out}");
    assert!(
        check.elapsed < Duration::from_secs(10),
        "{:?}",
        check.elapsed
    );
}
