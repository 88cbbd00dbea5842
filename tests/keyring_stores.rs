//! The keyring against real stores: the Secret Service (gnome-keyring in the D-Bus session that
//! `scripts/test.sh` starts) and the kernel keyring (keyutils, in the fresh session keyring
//! `scripts/test.sh` joins).
//!
//! A store that is not usable skips its tests with a reason on stderr, except when `CI=true`,
//! where it fails them. Every test uses its own service name and deletes what it wrote, even
//! when an assertion fails.
//!
//! Cross-process checks re-run this test binary, filtered to the ignored
//! `keyring_child_process_role`, with a role in [`ROLE_ENV`]; without a role it does nothing.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use certpilot::secrets::{Keystore, SecretError, SecretRef, StoreKind};

/// What the re-run test binary does: `read-write`, `open-unreachable`.
const ROLE_ENV: &str = "CERTPILOT_KEYRING_TEST_ROLE";
const STORE_ENV: &str = "CERTPILOT_KEYRING_TEST_STORE";
const SERVICE_ENV: &str = "CERTPILOT_KEYRING_TEST_SERVICE";
const EXPECT_ENV: &str = "CERTPILOT_KEYRING_TEST_EXPECT";
const CHILD_VALUE: &str = "written by the child process";
const CHILD_DEADLINE: Duration = Duration::from_secs(60);

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn unique_service() -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("certpilot-test-{}-{n}", std::process::id())
}

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skip (or on CI, fail) a test whose environment is missing.
fn skip(reason: &str) {
    assert!(
        !on_ci(),
        "CI=true requires this test to run, but {reason}. Run the suite through \
         scripts/test.sh, which installs the packages, starts gnome-keyring in a D-Bus session \
         and joins a fresh keyutils session keyring."
    );
    eprintln!("SKIPPED: {reason} (scripts/test.sh prepares the environment)");
}

/// The store, or `None` after [`skip`] when it is not usable here.
fn open_or_skip(kind: StoreKind, service: &str) -> Option<Keystore> {
    match Keystore::open(kind, service) {
        Ok(store) => Some(store),
        Err(err) => {
            skip(&format!("the {kind} keystore is not usable: {err}"));
            None
        }
    }
}

/// Deletes the listed entries on drop, so a failed assertion leaves nothing in the user's
/// keyring (the Secret Service persists to disk, keyutils' persistent keyring for days).
struct Cleanup<'a> {
    store: &'a Keystore,
    entries: Vec<SecretRef>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for what in &self.entries {
            let _ = self.store.delete(what);
        }
    }
}

fn all_refs() -> Vec<(SecretRef, String)> {
    let pem_body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC".repeat(100);
    vec![
        (
            SecretRef::Account("acct".into()),
            r#"{"id":"https://ca/acct/1","key_pkcs8":"AAEC"}"#.into(),
        ),
        (
            SecretRef::CertKey {
                cert: "www".into(),
                key_id: "00ff00ff00ff00ff".into(),
            },
            format!("-----BEGIN PRIVATE KEY-----\n{pem_body}\n-----END PRIVATE KEY-----\n"),
        ),
        // Same name as the account: a different kind must be a different entry.
        (SecretRef::EabHmac("acct".into()), "hmac-ünïcödé-🔑".into()),
        (
            SecretRef::AcmeDns("example.org".into()),
            "acme-dns password".into(),
        ),
    ]
}

fn round_trip(kind: StoreKind) {
    let service = unique_service();
    let Some(store) = open_or_skip(kind, &service) else {
        return;
    };
    assert_eq!(store.kind(), kind);
    assert_eq!(store.service(), service);
    let refs = all_refs();
    let _cleanup = Cleanup {
        store: &store,
        entries: refs.iter().map(|(r, _)| r.clone()).collect(),
    };

    for (what, _) in &refs {
        assert_eq!(store.get(what).expect("get before put"), None, "{what:?}");
    }
    for (what, secret) in &refs {
        store.put(what, secret).expect("put");
    }
    for (what, secret) in &refs {
        assert_eq!(
            store.get(what).expect("get").as_deref(),
            Some(secret.as_str()),
            "{what:?}"
        );
    }

    let account = &refs[0].0;
    store.put(account, "rotated").expect("overwrite");
    assert_eq!(store.get(account).expect("get").as_deref(), Some("rotated"));
    assert_eq!(
        store.get(&refs[2].0).expect("get").as_deref(),
        Some(refs[2].1.as_str())
    );

    let other = Keystore::open(kind, &format!("{service}-other")).expect("second service");
    assert_eq!(other.get(account).expect("get in other service"), None);

    assert!(store.delete(account).expect("delete"));
    assert_eq!(store.get(account).expect("get after delete"), None);
    assert!(!store.delete(account).expect("delete missing"));
    store.put(account, "again").expect("put after delete");
    assert_eq!(store.get(account).expect("get").as_deref(), Some("again"));

    match store.put(account, "") {
        Err(SecretError::Backend {
            store: s,
            entry,
            detail,
        }) => {
            assert_eq!((s, entry.as_str()), (kind, "account:acct"));
            assert!(detail.contains("empty"), "{detail}");
        }
        other => panic!("empty secret must be refused, got {other:?}"),
    }
    assert_eq!(store.get(account).expect("get").as_deref(), Some("again"));
}

/// The parent writes, a second process reads it and writes back, the parent reads that:
/// `account add` and `issue` are separate processes. With `new_session`, the second process
/// runs in a new session keyring, as after logging in again.
fn crosses_processes(kind: StoreKind, new_session: bool) {
    let service = unique_service();
    let Some(store) = open_or_skip(kind, &service) else {
        return;
    };
    let (parent, child) = (
        SecretRef::Account("parent".into()),
        SecretRef::EabHmac("child".into()),
    );
    let _cleanup = Cleanup {
        store: &store,
        entries: vec![parent.clone(), child.clone()],
    };
    let expected = format!("written by process {}", std::process::id());
    store.put(&parent, &expected).expect("put");

    let mut command = child_command("read-write", kind, &service);
    command.env(EXPECT_ENV, &expected);
    if new_session {
        command = in_new_session_keyring(&command, None);
    }
    run_child(command);

    assert_eq!(
        store.get(&child).expect("get").as_deref(),
        Some(CHILD_VALUE)
    );
}

/// This test binary, filtered to [`keyring_child_process_role`], with the role's environment.
fn child_command(role: &str, kind: StoreKind, service: &str) -> Command {
    let exe = std::env::current_exe().expect("path of the test binary");
    let mut command = Command::new(exe);
    command
        .args([
            "--ignored",
            "--exact",
            "keyring_child_process_role",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE_ENV, role)
        .env(STORE_ENV, kind.as_str())
        .env(SERVICE_ENV, service);
    command
}

/// Run a child to completion within [`CHILD_DEADLINE`] and assert that its one test passed.
fn run_child(mut command: Command) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let out = std::fs::File::create(&out_path).expect("stdout file");
    let err = std::fs::File::create(&err_path).expect("stderr file");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn child");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break Some(status);
        }
        if started.elapsed() > CHILD_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    let report = format!("{command:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    let status = status.unwrap_or_else(|| panic!("child ran over {CHILD_DEADLINE:?}: {report}"));
    assert!(status.success(), "child failed ({status}): {report}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test: {report}"
    );
}

/// The other half of the cross-process tests; a no-op unless a parent set [`ROLE_ENV`].
#[test]
#[ignore = "run by the cross-process tests in a child process"]
fn keyring_child_process_role() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return;
    };
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let kind: StoreKind = env(STORE_ENV).parse().expect("store kind");
    let service = env(SERVICE_ENV);
    match role.as_str() {
        "read-write" => {
            let store = Keystore::open(kind, &service).expect("open in child");
            let parent = SecretRef::Account("parent".into());
            assert_eq!(
                store.get(&parent).expect("get").as_deref(),
                Some(env(EXPECT_ENV).as_str())
            );
            store
                .put(&SecretRef::EabHmac("child".into()), CHILD_VALUE)
                .expect("put");
        }
        "open-unreachable" => match Keystore::open(kind, &service) {
            Err(err @ SecretError::Unreachable { store, .. }) if store == kind => {
                println!("unreachable as expected: {err}");
                let text = err.to_string();
                let fix = match kind {
                    StoreKind::SecretService => "gnome-keyring-daemon --unlock",
                    StoreKind::Keyutils => "keyctl",
                    StoreKind::Platform => "Keychain",
                };
                assert!(
                    text.contains(fix),
                    "the message must say how to fix it: {text}"
                );
            }
            other => panic!("expected Unreachable from {kind}, got {other:?}"),
        },
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn keyring_secret_service_round_trip() {
    round_trip(StoreKind::SecretService);
}

#[test]
fn keyring_secret_service_value_crosses_processes() {
    crosses_processes(StoreKind::SecretService, false);
}

/// Needs no store: the child talks to a D-Bus socket that does not exist.
#[test]
fn keyring_secret_service_unreachable_names_the_fix() {
    let mut command = child_command(
        "open-unreachable",
        StoreKind::SecretService,
        &unique_service(),
    );
    command.env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/certpilot-test/bus",
    );
    run_child(command);
}

#[test]
fn keyring_keyutils_round_trip() {
    round_trip(StoreKind::Keyutils);
}

#[test]
fn keyring_keyutils_value_crosses_processes() {
    crosses_processes(StoreKind::Keyutils, false);
}

/// A new login session has a new session keyring; the value is found through the user's
/// persistent keyring, which keyring links into every session keyring it uses.
#[test]
fn keyring_keyutils_value_survives_a_new_session() {
    if !Path::new("/proc/sys/kernel/keys/persistent_keyring_expiry").exists() {
        skip("this kernel has no persistent keyrings (CONFIG_PERSISTENT_KEYRINGS)");
        return;
    }
    if keyctl_or_skip() {
        crosses_processes(StoreKind::Keyutils, true);
    }
}

/// The child joins a new session keyring that it may not search (permissions 0), as a process
/// whose sandbox hides the kernel keyring from it.
#[test]
fn keyring_keyutils_unreachable_names_the_fix() {
    if keyctl_or_skip() {
        let inner = child_command("open-unreachable", StoreKind::Keyutils, &unique_service());
        run_child(in_new_session_keyring(&inner, Some("keyctl setperm @s 0")));
    }
}

/// `inner` run by `keyctl session -` (a new anonymous session keyring), after `setup` when
/// given (a shell command run inside that session).
fn in_new_session_keyring(inner: &Command, setup: Option<&str>) -> Command {
    let mut command = Command::new("keyctl");
    command.args(["session", "-"]);
    if let Some(setup) = setup {
        command.args(["sh", "-c", &format!(r#"{setup} && exec "$0" "$@""#)]);
    }
    command.arg(inner.get_program()).args(inner.get_args());
    for (name, value) in inner.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    command
}

/// Whether the `keyctl` command is there; [`skip`]s when it is not.
fn keyctl_or_skip() -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| dir.join("keyctl").is_file());
    if !found {
        skip("the keyctl command (package keyutils) is not installed");
    }
    found
}
