//! Deploy hooks and exports against real Pebble + pebble-challtestsrv: the hook's environment,
//! the re-export after each renewal (certbot layout, permissions, key matching the
//! certificate), a failing hook that fails the run without undoing the renewal, and a hanging
//! hook killed with its whole process group at the hook timeout.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::pebble::{Pebble, PebbleOptions};
use common::{
    deploy_hook_command as hook_command, hook_path, side_file as side, wait_for, Workdir,
};

/// The variables the hook recorded on its last run.
fn recorded(out: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(out)
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()))
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn runs(out: &Path) -> usize {
    std::fs::read_to_string(side(out, "runs")).map_or(0, |t| t.lines().count())
}

fn meta(wd: &Workdir, name: &str) -> serde_json::Value {
    let path = wd.path().join(format!("certificates/{name}/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Set `[settings]` keys in the workdir's certpilot.toml.
fn set_settings(wd: &Workdir, values: &[(&str, toml::Value)]) {
    let path = wd.path().join("certpilot.toml");
    let mut doc: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let settings = doc
        .entry("settings")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .unwrap();
    for (k, v) in values {
        settings.insert((*k).to_owned(), v.clone());
    }
    std::fs::write(&path, toml::to_string(&doc).unwrap()).unwrap();
}

/// The exported key belongs to the exported certificate.
fn assert_key_matches(key_pem: &str, cert_pem: &str) {
    use rcgen::PublicKeyData;
    let key = rcgen::KeyPair::from_pem(key_pem).expect("privkey.pem parses");
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).unwrap();
    let cert = pem.parse_x509().unwrap();
    assert_eq!(
        key.der_bytes(),
        &*cert.public_key().subject_public_key.data,
        "privkey.pem is not the key of cert.pem"
    );
}

/// The hook's environment after a run that exported `meta`'s certificate to `live`.
fn assert_hook_env(env: &BTreeMap<String, String>, live: &Path, meta: &serde_json::Value) {
    let names = meta["names"].as_array().unwrap();
    let names: Vec<&str> = names.iter().map(|n| n.as_str().unwrap()).collect();
    assert_eq!(names.len(), 2);
    let path = |f: &str| live.join(f).display().to_string();
    let want = [
        (
            "CERTPILOT_CERT_NAME",
            meta["name"].as_str().unwrap().to_owned(),
        ),
        ("CERTPILOT_NAMES", names.join(" ")),
        ("CERTPILOT_CERT_PATH", path("cert.pem")),
        ("CERTPILOT_CHAIN_PATH", path("chain.pem")),
        ("CERTPILOT_FULLCHAIN_PATH", path("fullchain.pem")),
        ("CERTPILOT_KEY_PATH", path("privkey.pem")),
        (
            "CERTPILOT_SERIAL",
            meta["serial"].as_str().unwrap().to_owned(),
        ),
        ("RENEWED_LINEAGE", live.display().to_string()),
        ("RENEWED_DOMAINS", names.join(" ")),
    ];
    for (key, value) in &want {
        assert_eq!(env.get(*key), Some(value), "{key} in {env:?}");
    }
    let rfc3339 = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .expect("RFC 3339")
    };
    assert_eq!(
        rfc3339(&env["CERTPILOT_NOT_AFTER"]),
        rfc3339(meta["not_after"].as_str().unwrap())
    );
}

/// certbot's layout below `root` for `meta`'s certificate: content, a key that matches the
/// certificate, private permissions. Returns the key.
fn assert_certbot_export(root: &Path, meta: &serde_json::Value) -> String {
    let live = root.join("live").join(meta["name"].as_str().unwrap());
    let read = |f: &str| std::fs::read_to_string(live.join(f)).unwrap();
    let (leaf, chain, full, key) = (
        read("cert.pem"),
        read("chain.pem"),
        read("fullchain.pem"),
        read("privkey.pem"),
    );
    assert_eq!(full, format!("{leaf}{chain}"));
    assert_eq!(leaf.matches("BEGIN CERTIFICATE").count(), 1);
    assert!(chain.contains("BEGIN CERTIFICATE"));
    let info = certpilot::cert::inspect::inspect_chain_pem(&leaf).unwrap();
    assert_eq!(info.serial, meta["serial"].as_str().unwrap());
    assert_key_matches(&key, &leaf);
    assert_eq!(mode(&live.join("privkey.pem")), 0o600);
    for dir in [root, &root.join("live"), &live] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
    // Every file replaced by rename: no temporary file left behind.
    let mut files: Vec<String> = std::fs::read_dir(&live)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"]
    );
    key
}

/// Pebble, a workdir enrolled on it, and a scratch directory for the hook's records and the
/// exports.
fn start(tag: &str) -> Option<(Pebble, Workdir, tempfile::TempDir)> {
    let pebble = Pebble::start(PebbleOptions::default())?;
    let wd = Workdir::new(tag).enrol(&pebble, &hook_path());
    Some((pebble, wd, tempfile::tempdir().unwrap()))
}

#[test]
fn hook_gets_its_environment_and_renewal_reexports_and_reruns_it() {
    let Some((pebble, wd, scratch)) = start("deploy-ok") else {
        return;
    };
    let out = scratch.path().join("env.txt");
    let export = scratch.path().join("tls");
    let hook = hook_command(&out, "ok");
    let export_arg = export.to_str().unwrap();
    wd.run(&[
        "cert",
        "add",
        "web",
        "--name",
        "www.example.test",
        "--name",
        "example.test",
        "--deploy-hook",
        &hook,
        "--export-dir",
        export_arg,
        "--export-layout",
        "certbot",
    ])
    .ok();
    let issued = wd.run_dns(&pebble, &["issue", "web"]);
    issued.ok();
    assert!(
        issued.stdout().contains("deploy hook ran"),
        "{}",
        issued.stdout()
    );
    let first = meta(&wd, "web");
    assert_hook_env(&recorded(&out), &export.join("live/web"), &first);
    let first_key = assert_certbot_export(&export, &first);
    // The hook's output goes to the log, not the terminal.
    assert!(
        wd.log().contains("deploy hook says hello to web"),
        "{}",
        wd.log()
    );
    assert!(!issued.stdout().contains("hello") && !issued.stderr().contains("hello"));

    // Renewal: new serial, re-exported files, the hook again with the new serial.
    let renewed = wd.run_dns(&pebble, &["renew", "--only", "web", "--force"]);
    renewed.ok();
    assert!(
        renewed.stdout().contains("web: renewed"),
        "{}",
        renewed.stdout()
    );
    let second = meta(&wd, "web");
    assert_ne!(second["serial"], first["serial"]);
    assert_eq!(runs(&out), 2);
    assert_hook_env(&recorded(&out), &export.join("live/web"), &second);
    let second_key = assert_certbot_export(&export, &second);
    assert_ne!(second_key, first_key, "a renewal gets a new key");

    // `export` by hand in certbot layout, twice (the second replaces the first); `export
    // NAME` alone uses the configured target.
    let manual = scratch.path().join("manual");
    for _ in 0..2 {
        let dir = manual.to_str().unwrap();
        wd.run(&["export", "web", "--out", dir, "--layout", "certbot"])
            .ok();
    }
    assert_eq!(assert_certbot_export(&manual, &second), second_key);
    std::fs::remove_dir_all(&export).unwrap();
    wd.run(&["export", "web"]).ok();
    assert_certbot_export(&export, &second);
}

#[test]
fn failing_hook_fails_the_run_but_keeps_the_new_certificate() {
    let Some((pebble, wd, scratch)) = start("deploy-fail") else {
        return;
    };
    let out = scratch.path().join("env.txt");
    wd.run(&[
        "cert",
        "add",
        "web",
        "--name",
        "www.example.test",
        "--deploy-hook",
        &hook_command(&out, "fail"),
    ])
    .ok();
    let issued = wd.run_dns(&pebble, &["issue", "web"]);
    issued.expect_code(1);
    assert!(
        issued.stderr().contains("deploy hook failed (exit 3)"),
        "{}",
        issued.stderr()
    );
    let first = meta(&wd, "web");

    // Without an export target the hook gets public files only: no key path.
    let env = recorded(&out);
    assert!(!env.contains_key("CERTPILOT_KEY_PATH"), "{env:?}");
    let lineage = wd.path().join("certificates/web");
    assert_eq!(env["RENEWED_LINEAGE"], lineage.display().to_string());
    let leaf = std::fs::read_to_string(&env["CERTPILOT_CERT_PATH"]).unwrap();
    let info = certpilot::cert::inspect::inspect_chain_pem(&leaf).unwrap();
    assert_eq!(info.serial, first["serial"].as_str().unwrap());
    for entry in std::fs::read_dir(&lineage).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("PRIVATE KEY"));
    }

    let renewed = wd.run_dns(&pebble, &["renew", "--all", "--force"]);
    renewed.expect_code(1);
    let line = renewed
        .stdout()
        .lines()
        .find(|l| l.starts_with("web:"))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(line.contains("renewed"), "{}", renewed.stdout());
    assert!(line.contains("deploy hook failed (exit 3)"), "{line}");
    let second = meta(&wd, "web");
    assert_ne!(second["serial"], first["serial"], "the renewal was kept");
    assert_eq!(runs(&out), 2);
    let listed = wd.run(&["list", "--json"]);
    listed.ok();
    let rows: serde_json::Value = serde_json::from_str(&listed.stdout()).unwrap();
    assert_eq!(rows[0]["serial"], second["serial"]);
    assert_eq!(rows[0]["status"], "valid");

    // The web server is fixed: the next timer run retries the failed deploy although the
    // certificate is not due, and then forgets it.
    common::expect_deploy_retry(&wd, &pebble, &out);
    assert_eq!(runs(&out), 3);
    assert_eq!(
        recorded(&out)["CERTPILOT_SERIAL"],
        second["serial"].as_str().unwrap(),
        "the retry deployed the stored certificate"
    );
    assert_eq!(
        meta(&wd, "web")["serial"],
        second["serial"],
        "nothing was reissued"
    );
    let quiet = wd.run_dns(&pebble, &["renew", "--all"]);
    quiet.ok();
    assert!(
        quiet.stdout().contains("nothing to renew"),
        "{}",
        quiet.stdout()
    );
    assert_eq!(runs(&out), 3, "a successful deploy is not repeated");
}

#[test]
fn hanging_hook_and_its_children_are_killed_at_the_hook_timeout() {
    let Some((pebble, wd, scratch)) = start("deploy-hang") else {
        return;
    };
    let out = scratch.path().join("env.txt");
    // The global hook, for a certificate without its own.
    set_settings(
        &wd,
        &[
            ("hook_timeout", toml::Value::Integer(3)),
            (
                "deploy_hook",
                toml::Value::String(hook_command(&out, "hang")),
            ),
        ],
    );
    wd.run(&["cert", "add", "web", "--name", "www.example.test"])
        .ok();
    let issued = wd.run_dns(&pebble, &["issue", "web"]);
    issued.expect_code(1);
    assert!(
        issued
            .stderr()
            .contains("deploy hook failed (timed out after 3 s, killed)"),
        "{}",
        issued.stderr()
    );
    // Issuance plus a 3 s hook: far less than the sleeper's 300 s.
    assert!(
        issued.elapsed < Duration::from_secs(60),
        "{:?}",
        issued.elapsed
    );
    assert_eq!(recorded(&out)["CERTPILOT_CERT_NAME"], "web");
    let pid = std::fs::read_to_string(side(&out, "pid")).unwrap();
    let stat = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    // Gone, or a zombie waiting for a reaper: either way no longer running.
    wait_for(
        "the hook's background sleeper to die",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(&stat).map_or(true, |s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            })
        },
    );
    assert!(wd.path().join("certificates/web/web.crt").exists());
}
