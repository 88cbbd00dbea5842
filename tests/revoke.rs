//! Revocation and account key rollover against real Pebble + pebble-challtestsrv.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use certpilot::secrets::{Keystore, SecretRef, StoreKind};
use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Workdir};

fn meta(wd: &Workdir, name: &str) -> serde_json::Value {
    let path = wd.path().join(format!("certificates/{name}/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("metadata")).expect("json")
}

fn keystore(wd: &Workdir) -> Keystore {
    let kind: StoreKind = common::test_keystore().parse().expect("keystore kind");
    Keystore::open(kind, &wd.service).expect("open the test keystore")
}

#[test]
fn revoke_asks_records_refuses_twice_and_renew_replaces() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = Workdir::new("revoke").enrol(&pebble, &hook_path());
    wd.run(&["cert", "add", "web", "--name", "www.example.test"])
        .ok();
    let never = wd.run(&["revoke", "web", "--yes"]);
    never.expect_code(2);
    assert!(
        never.stderr().contains("no stored certificate"),
        "{}",
        never.stderr()
    );
    wd.run_dns(&pebble, &["issue", "web"]).ok();
    let first = meta(&wd, "web");

    // No terminal and no --yes: refused before anything is sent, nothing changed.
    let unconfirmed = wd.run(&["revoke", "web", "--reason", "key-compromise"]);
    unconfirmed.expect_code(2);
    assert!(
        unconfirmed.stderr().contains("--yes"),
        "{}",
        unconfirmed.stderr()
    );
    assert_eq!(meta(&wd, "web"), first);

    let revoked = wd.run(&["revoke", "web", "--yes", "--reason", "key-compromise"]);
    revoked.ok();
    assert!(
        revoked.stdout().contains("revoked") && revoked.stdout().contains("renew"),
        "{}",
        revoked.stdout()
    );
    let after = meta(&wd, "web");
    assert_eq!(after["revoked"]["reason"], "key-compromise", "{after}");
    assert_eq!(after["serial"], first["serial"]);
    // The key stays until a renewal replaces it (export keeps working).
    let key = SecretRef::CertKey {
        cert: "web".into(),
        key_id: after["key_id"].as_str().unwrap().into(),
    };
    assert!(keystore(&wd).get(&key).unwrap().is_some());

    // The CA remembers: a second revocation is refused as alreadyRevoked.
    let again = wd.run(&["revoke", "web", "--yes"]);
    again.expect_code(1);
    eprintln!("second revoke: {}", again.stderr());
    assert!(
        again.stderr().contains("already revoked") && again.stderr().contains("alreadyRevoked"),
        "{}",
        again.stderr()
    );
    assert_eq!(meta(&wd, "web")["revoked"]["reason"], "key-compromise");

    // A revoked certificate is due: plain `renew` replaces it even though it has years left.
    let renew = wd.run_dns(&pebble, &["renew"]);
    renew.ok();
    assert!(
        renew.stdout().contains("web: renewed") && renew.stdout().contains("revoked"),
        "{}",
        renew.stdout()
    );
    let renewed = meta(&wd, "web");
    assert_ne!(renewed["serial"], first["serial"]);
    assert!(renewed.get("revoked").is_none(), "{renewed}");
    // The compromised key went with the renewal.
    assert!(keystore(&wd).get(&key).unwrap().is_none());
}

#[test]
fn rollover_then_issue_works_and_the_old_key_is_refused() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = Workdir::new("rollover").enrol(&pebble, &hook_path());
    wd.run(&["cert", "add", "web", "--name", "www.example.test"])
        .ok();
    let store = keystore(&wd);
    let entry = SecretRef::Account("pebble".into());
    let old = store.get(&entry).unwrap().expect("account credentials");

    let run = wd.run(&["account", "rollover", "pebble"]);
    run.ok();
    assert!(
        run.stdout().contains("new key in place"),
        "{}",
        run.stdout()
    );
    let new = store
        .get(&entry)
        .unwrap()
        .expect("credentials after rollover");
    assert_ne!(new, old);
    assert!(store
        .get(&certpilot::acme::account::rollover_entry("pebble"))
        .unwrap()
        .is_none());
    assert!(!run.stdout().contains("key_pkcs8") && !run.stderr().contains("key_pkcs8"));

    wd.run_dns(&pebble, &["issue", "web"]).ok();

    // The credentials saved before the rollover: the CA refuses their key.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let refused = rt.block_on(async {
        let http = certpilot::acme::http::client(Some(&pebble.ca_bundle)).unwrap();
        let account = certpilot::acme::account::restore(&http, "old", &old)
            .await
            .unwrap();
        certpilot::acme::order::create(&account, &["www.example.test".to_owned()], None, None).await
    });
    let err = refused
        .err()
        .expect("the old key must be refused")
        .to_string();
    eprintln!("old key: {err}");
    assert!(err.contains("creating the order"), "{err}");
}
