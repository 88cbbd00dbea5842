//! Registering an account from the CLI (`certpilot account add`) and from the TUI's job
//! (`jobs::account::register`) is one operation: both write the same config entry (directory,
//! email, CA bundle, EAB key id) and keep the same keyring entries. Pebble requires external
//! account binding here, so the EAB path is the one compared.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::sync::Arc;

use base64::Engine;
use certpilot::jobs::account::{self, AccountRequest};
use certpilot::jobs::Context;
use certpilot::paths::Paths;
use certpilot::secrets::{Keystore, SecretRef, StoreKind};
use certpilot::session::Overrides;
use common::pebble::{Pebble, PebbleOptions};
use common::Workdir;

#[test]
fn cli_and_job_registrations_store_the_same_account() {
    let hmac = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0x3cu8; 32]);
    let Some(pebble) = Pebble::start(PebbleOptions {
        eab_keys: vec![("kid-both".into(), hmac.clone())],
        ..PebbleOptions::default()
    }) else {
        return;
    };
    let bundle = pebble.ca_bundle.to_str().unwrap().to_owned();

    // The CLI.
    let mut cli = Workdir::new("acct-cli");
    cli.env("CERTPILOT_CA_BUNDLE", &bundle);
    let eab = ["--eab-kid", "kid-both", "--eab-hmac-key", &hmac];
    let email = ["--email", "ops@example.test"];
    cli.add_pebble_account(&pebble.directory, &[&eab[..], &email[..]].concat());

    // The job, in this process, on its own directory and keyring service.
    let job = Workdir::new("acct-job");
    // The only test in this binary: nothing else reads the environment concurrently.
    std::env::set_var("CERTPILOT_KEYRING_SERVICE", &job.service);
    let overrides = Overrides {
        keystore: Some(common::test_keystore()),
        ca_bundle: Some(pebble.ca_bundle.clone()),
        ..Overrides::default()
    };
    let ctx = Arc::new(Context::new(
        Paths::resolve(Some(job.path())).unwrap(),
        overrides,
    ));
    let request = AccountRequest {
        name: "pebble".into(),
        url: pebble.directory.clone(),
        email: Some("ops@example.test".into()),
        eab: Some(("kid-both".into(), hmac.clone())),
        terms: None,
        replace: false,
        ca_bundle: None,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let registered = runtime
        .block_on(account::register(&ctx, request))
        .unwrap_or_else(|e| panic!("job registration: {e}"));
    assert_eq!(registered.name, "pebble");

    let load = |wd: &Workdir| {
        certpilot::config::load(&wd.path().join("certpilot.toml"))
            .unwrap()
            .accounts["pebble"]
            .clone()
    };
    let (from_cli, from_job) = (load(&cli), load(&job));
    assert_eq!(from_cli, from_job);
    assert_eq!(from_job.eab_kid.as_deref(), Some("kid-both"));
    assert_eq!(from_job.ca_bundle, Some(pebble.ca_bundle.clone()));
    assert_eq!(from_job.email.as_deref(), Some("ops@example.test"));

    // Both keep the account key and the EAB HMAC key in the keyring.
    let kind: StoreKind = common::test_keystore().parse().unwrap();
    for wd in [&cli, &job] {
        let store = Keystore::open(kind, &wd.service).unwrap();
        assert!(store
            .get(&SecretRef::Account("pebble".into()))
            .unwrap()
            .is_some());
        assert_eq!(
            store.get(&SecretRef::EabHmac("pebble".into())).unwrap(),
            Some(hmac.clone())
        );
    }
}
