//! Crash safety: the real `certpilot issue` is killed with SIGKILL at each step of an
//! issuance (made deterministic by the engine's test pause points) against Pebble +
//! challtestsrv, then run again. After the kill the previous certificate is untouched (or,
//! past the file writes, consistent); after the rerun there is a valid new certificate, one
//! key in the keyring, no TXT record, no journal and no temporary file.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use certpilot::acme::journal::PAUSE_STEPS;
use certpilot::secrets::{Keystore, SecretRef, StoreKind};
use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, wait_for, Workdir};

const OWNER: &str = "_acme-challenge.www.example.test.";

/// The certificate's files and what its metadata says.
#[derive(Clone, PartialEq, Eq)]
struct Files {
    chain: Vec<u8>,
    meta: Vec<u8>,
}

impl Files {
    fn read(wd: &Workdir) -> Option<Self> {
        let dir = wd.path().join("certificates/web");
        Some(Self {
            chain: std::fs::read(dir.join("web.crt")).ok()?,
            meta: std::fs::read(dir.join("web.json")).ok()?,
        })
    }
    fn meta(&self) -> serde_json::Value {
        serde_json::from_slice(&self.meta).unwrap()
    }
    fn serial(&self) -> String {
        self.meta()["serial"].as_str().unwrap().to_owned()
    }
    fn key_id(&self) -> String {
        self.meta()["key_id"].as_str().unwrap().to_owned()
    }
    fn chain_serial(&self) -> String {
        let pem = String::from_utf8(self.chain.clone()).unwrap();
        certpilot::cert::inspect::inspect_chain_pem(&pem)
            .unwrap()
            .serial
    }
}

fn keystore(wd: &Workdir) -> Keystore {
    let kind: StoreKind = common::test_keystore().parse().expect("keystore kind");
    Keystore::open(kind, &wd.service).expect("open the test keystore")
}

fn cert_key(id: &str) -> SecretRef {
    SecretRef::CertKey {
        cert: "web".into(),
        key_id: id.into(),
    }
}

/// The certificate keys of this test's service in the session keyring, as `keyctl` lists
/// them (an independent look: it also finds keys nobody recorded). `None` unless the tests
/// use keyutils.
fn keyctl_cert_keys(wd: &Workdir) -> Option<usize> {
    if common::test_keystore() != "keyutils" || !common::require_tool("keyctl") {
        return None;
    }
    let out = Command::new("keyctl")
        .args(["show", "@s"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let needle = "cert-key:web:";
    let service = format!("@{}", wd.service);
    // A key shows once per keyring that links it (session and persistent): count key ids.
    let ids: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| l.contains(needle) && l.trim_end().ends_with(&service))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    Some(ids.len())
}

/// The TXT values challtestsrv serves for the challenge owner.
fn txt_values(pebble: &Pebble) -> usize {
    use hickory_proto::rr::{Name, RecordType};
    let server: SocketAddr = pebble.dns.parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let transport = certpilot::dns::query::Transport::new(Default::default());
    let name = Name::from_ascii(OWNER).unwrap();
    let response = rt
        .block_on(transport.ask(server, &name, RecordType::TXT, false))
        .expect("challtestsrv answers");
    response
        .message
        .answers
        .iter()
        .filter(|r| r.record_type() == RecordType::TXT)
        .count()
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

/// `certpilot issue web` as a child that stops at `step` (the test pause point).
fn spawn_paused(wd: &Workdir, pebble: &Pebble, args: &[&str], step: &str, log: &Path) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_certpilot"));
    cmd.arg("--dir")
        .arg(wd.path())
        .args(["--resolver", &pebble.dns, "--propagation", "recursive"])
        .args(args);
    cmd.env_remove("CERTPILOT_DIR");
    for (k, v) in &wd.envs {
        cmd.env(k, v);
    }
    let out = std::fs::File::create(log).unwrap();
    cmd.env("CERTPILOT_TEST_ENV", "1")
        .env("CERTPILOT_TEST_PAUSE_AT", step)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("spawn certpilot")
}

/// Wait for the pause marker of `step`, then SIGKILL the child. `false` when the run ended
/// before it because the CA reused a ready order or valid authorizations of an earlier,
/// identical order (Pebble does: then there is nothing to validate); any other early end
/// fails the test.
fn kill_at(wd: &Workdir, mut child: Child, step: &str, log: &Path) -> bool {
    let marker = wd.path().join(format!("state/paused-at-{step}"));
    let mut exited = None;
    wait_for(
        &format!("certpilot to pause at {step}"),
        Duration::from_secs(90),
        || {
            exited = child.try_wait().unwrap();
            marker.exists() || exited.is_some()
        },
    );
    if exited.is_some() && !marker.exists() {
        let out = std::fs::read_to_string(log).unwrap_or_default();
        assert!(
            out.contains("0 challenge(s) to answer") && exited.is_some_and(|s| s.success()),
            "certpilot ended ({exited:?}) before reaching {step}:\n{out}"
        );
        return false;
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    std::fs::remove_file(&marker).unwrap();
    true
}

/// Kill `issue web` at `step`, check what the kill left, run again, check the result.
fn kill_and_recover(wd: &Workdir, pebble: &Pebble, step: &str) {
    let cert_dir = wd.path().join("certificates/web");
    let journal_path = wd.path().join("state/journal/web.json");
    let log = wd.path().join(format!("killed-at-{step}.log"));
    let mut before = Files::read(wd);
    let mut attempts = 0;
    loop {
        let child = spawn_paused(wd, pebble, &["issue", "web"], step, &log);
        if kill_at(wd, child, step, &log) {
            break;
        }
        attempts += 1;
        assert!(attempts < 5, "{step}: the CA reused every order");
        before = Files::read(wd);
    }

    let journal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&journal_path).expect("a journal")).unwrap();
    let after_kill = Files::read(wd);
    let written = PAUSE_STEPS.iter().position(|s| *s == step).unwrap()
        >= PAUSE_STEPS
            .iter()
            .position(|s| *s == "chain-saved")
            .unwrap();
    match (&before, &after_kill) {
        (Some(b), Some(a)) if !written => {
            assert!(a == b, "{step}: the previous files changed before the save");
        }
        (Some(b), Some(a)) if step == "chain-saved" => {
            assert_eq!(
                a.meta, b.meta,
                "{step}: the metadata changed before its save"
            );
        }
        (_, Some(a)) if step == "saved" => assert_eq!(a.chain_serial(), a.serial()),
        (None, None) => {}
        (None, Some(_)) if written => {}
        _ => panic!("{step}: unexpected files after the kill"),
    }
    assert!(temp_files(&cert_dir).is_empty(), "{step}: temp files left");
    if step == "records-published" {
        assert!(txt_values(pebble) > 0, "the killed run had published");
    }

    let rerun = wd.run_dns(pebble, &["issue", "web"]);
    rerun.ok();
    let now = Files::read(wd).expect("a certificate after the rerun");
    if let Some(b) = &before {
        assert_ne!(now.serial(), b.serial(), "{step}: no new certificate");
    }
    assert_eq!(
        now.chain_serial(),
        now.serial(),
        "{step}: chain and metadata disagree"
    );
    // The interrupted order was resumed (or, killed after the save, only finished), not
    // replaced by a new one.
    assert_eq!(
        now.meta()["order_url"],
        journal["order_url"],
        "{step}: the rerun did not resume the order"
    );
    assert!(!journal_path.exists(), "{step}: journal left");
    assert!(temp_files(&cert_dir).is_empty(), "{step}: temp files left");
    assert_eq!(txt_values(pebble), 0, "{step}: TXT records left");

    // Keys: the one the metadata names is there and belongs to the certificate; every
    // other key this issuance or the previous one named is gone.
    let store = keystore(wd);
    let pem = store
        .get(&cert_key(&now.key_id()))
        .unwrap()
        .expect("the key");
    let key = rcgen::KeyPair::from_pem(&pem).unwrap();
    let chain = String::from_utf8(now.chain.clone()).unwrap();
    assert!(
        certpilot::acme::recovery::chain_matches_key(&chain, &key),
        "{step}: key and certificate do not match"
    );
    let mut others: Vec<String> = before.iter().map(Files::key_id).collect();
    others.extend(journal["new_key_id"].as_str().map(str::to_owned));
    for id in others.iter().filter(|id| **id != now.key_id()) {
        assert!(
            store.get(&cert_key(id)).unwrap().is_none(),
            "{step}: key {id} left"
        );
    }
    if let Some(n) = keyctl_cert_keys(wd) {
        // Invalidated kernel keys are unlinked by the garbage collector, soon after.
        let mut seen = n;
        wait_for(
            &format!("{step}: one cert key in keyctl (saw {seen})"),
            Duration::from_secs(5),
            || {
                seen = keyctl_cert_keys(wd).unwrap();
                seen == 1
            },
        );
    }
}

fn setup(pebble: &Pebble, tag: &str) -> Workdir {
    let wd = Workdir::new(tag).enrol(pebble, &hook_path());
    wd.run(&["cert", "add", "web", "--name", "www.example.test"])
        .ok();
    wd
}

#[test]
fn renewal_killed_at_every_step_recovers() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "crash-renew");
    wd.run_dns(&pebble, &["issue", "web"]).ok();
    let started = Instant::now();
    for step in PAUSE_STEPS {
        let t = Instant::now();
        kill_and_recover(&wd, &pebble, step);
        eprintln!("crash at {step}: recovered in {:.2?}", t.elapsed());
    }
    eprintln!(
        "renewal crash loop: {} kill points in {:.2?}",
        PAUSE_STEPS.len(),
        started.elapsed()
    );
}

#[test]
fn first_issuance_killed_at_every_step_recovers() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let started = Instant::now();
    for (i, step) in PAUSE_STEPS.iter().enumerate() {
        let wd = setup(&pebble, &format!("crash-first-{i}"));
        kill_and_recover(&wd, &pebble, step);
    }
    eprintln!(
        "first-issuance crash loop: {} kill points in {:.2?}",
        PAUSE_STEPS.len(),
        started.elapsed()
    );
}

#[test]
fn interrupted_rollover_is_finished_by_the_next_run() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "crash-rollover");
    let store = keystore(&wd);
    let main = SecretRef::Account("pebble".into());
    let pending = certpilot::acme::account::rollover_entry("pebble");
    let old = store.get(&main).unwrap().expect("credentials");
    let log = wd.path().join("rollover.log");
    let child = spawn_paused(
        &wd,
        &pebble,
        &["account", "rollover", "pebble"],
        "rollover-pending",
        &log,
    );
    kill_at(&wd, child, "rollover-pending", &log);
    // The CA has the new key; the keyring has it only in the rollover entry.
    let new = store.get(&pending).unwrap().expect("rollover entry");
    assert_eq!(store.get(&main).unwrap().as_deref(), Some(old.as_str()));
    assert_ne!(new, old);

    wd.run_dns(&pebble, &["issue", "web"]).ok();
    assert_eq!(store.get(&main).unwrap().as_deref(), Some(new.as_str()));
    assert!(store.get(&pending).unwrap().is_none());
}

#[test]
fn unresumable_order_starts_afresh_and_removes_stale_records() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "crash-stale");
    let log = wd.path().join("stale.log");
    let child = spawn_paused(&wd, &pebble, &["issue", "web"], "records-published", &log);
    kill_at(&wd, child, "records-published", &log);
    let journal_path = wd.path().join("state/journal/web.json");
    let journal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&journal_path).unwrap()).unwrap();
    assert!(txt_values(&pebble) > 0);
    // The names changed: the interrupted order no longer fits and must not be resumed.
    wd.run(&[
        "cert",
        "add",
        "web",
        "--name",
        "api.example.test",
        "--replace",
    ])
    .ok();
    wd.run_dns(&pebble, &["issue", "web"]).ok();
    let now = Files::read(&wd).unwrap();
    assert_ne!(now.meta()["order_url"], journal["order_url"]);
    assert_eq!(
        txt_values(&pebble),
        0,
        "the stale record of www.example.test"
    );
    assert!(!journal_path.exists());
    if let Some(n) = keyctl_cert_keys(&wd) {
        assert_eq!(n, 1);
    }
}

#[test]
fn clean_failure_removes_the_journal_and_a_failed_cleanup_keeps_it() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = setup(&pebble, "crash-fail");
    let journal_path = wd.path().join("state/journal/web.json");
    // Records published, then never visible (the resolver is a closed port): a clean failure.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let unseen = wd.run(&[
        "--resolver",
        &closed,
        "--propagation",
        "recursive",
        "--propagation-timeout",
        "2",
        "issue",
        "web",
    ]);
    unseen.expect_code(1);
    assert!(
        !journal_path.exists(),
        "a clean failure removes the journal"
    );
    assert_eq!(txt_values(&pebble), 0);
    assert!(Files::read(&wd).is_none());
    assert_eq!(keyctl_cert_keys(&wd).unwrap_or(0), 0);

    // The hook fails to publish and to clean up: the journal stays, naming the records, so
    // the next run cleans up first.
    let dns = pebble.dns.clone();
    let args = [
        "--resolver",
        dns.as_str(),
        "--propagation",
        "recursive",
        "issue",
        "web",
    ];
    wd.run_with(&args, &[("HOOK_FAIL", "1")]).expect_code(1);
    let journal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&journal_path).expect("journal kept"))
            .unwrap();
    assert_eq!(
        journal["records"].as_array().map(Vec::len),
        Some(1),
        "{journal}"
    );
    wd.run_dns(&pebble, &["issue", "web"]).ok();
    assert!(!journal_path.exists());
    assert_eq!(txt_values(&pebble), 0);
    assert_eq!(keyctl_cert_keys(&wd).unwrap_or(1), 1);
}
