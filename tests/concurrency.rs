//! `renew --all` over 50 certificates with bounded parallelism against Pebble (with its
//! default 5 % of nonces rejected): every certificate ends valid, every key is in the
//! keyring under the id its metadata names, and each key matches its certificate.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use certpilot::secrets::{Keystore, SecretRef, StoreKind};
use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Workdir};

const CERTS: usize = 50;
const NAMES_PER_CERT: usize = 3;

#[test]
fn renew_all_over_fifty_certificates_leaves_every_one_valid_with_its_key() {
    if common::test_keystore() != "keyutils" {
        eprintln!("SKIP: this test reads keys back from the keyutils store");
        return;
    }
    let Some(pebble) = Pebble::start(PebbleOptions {
        nonce_reject: 5,
        ..PebbleOptions::default()
    }) else {
        return;
    };
    let wd = Workdir::new("fifty");
    std::fs::write(
        wd.path().join("certpilot.toml"),
        "[settings]\nparallel = 4\n",
    )
    .unwrap();
    let wd = wd.enrol(&pebble, &hook_path());
    for i in 0..CERTS {
        let names: Vec<String> = (0..NAMES_PER_CERT)
            .map(|j| format!("h{j}.c{i}.example.test"))
            .collect();
        let mut args = vec!["cert".to_owned(), "add".to_owned(), format!("c{i}")];
        for name in &names {
            args.extend(["--name".to_owned(), name.clone()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        wd.run(&args).ok();
    }

    let run = wd.run_dns(&pebble, &["renew", "--all"]);
    run.ok();
    let out = run.stdout();
    assert_eq!(
        out.lines().filter(|l| l.contains(": renewed")).count(),
        CERTS,
        "one summary line per certificate:\n{out}"
    );

    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&wd.run(&["list", "--json"]).stdout()).unwrap();
    assert_eq!(rows.len(), CERTS);
    let keystore = Keystore::open(StoreKind::Keyutils, &wd.service).unwrap();
    for i in 0..CERTS {
        let name = format!("c{i}");
        let row = rows.iter().find(|r| r["name"] == name.as_str()).unwrap();
        assert_eq!(row["status"], "valid", "{name}: {row}");
        let dir = wd.path().join("certificates").join(&name);
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["names"].as_array().unwrap().len(), NAMES_PER_CERT);
        let key = keystore
            .get(&SecretRef::CertKey {
                cert: name.clone(),
                key_id: meta["key_id"].as_str().unwrap().to_owned(),
            })
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: no key in the keyring"));
        let chain = std::fs::read_to_string(dir.join(format!("{name}.crt"))).unwrap();
        assert!(
            key_matches(&key, &chain),
            "{name}: the key in the keyring does not match the certificate"
        );
    }

    // Nothing due any more: a second run does no work and says so.
    let again = wd.run_dns(&pebble, &["renew", "--all"]);
    again.ok();
    assert!(
        again.stdout().contains("nothing to renew"),
        "{}",
        again.stdout()
    );
}

/// Whether the PEM private key's public half is the leaf certificate's public key.
fn key_matches(key_pem: &str, chain_pem: &str) -> bool {
    let key = rcgen::KeyPair::from_pem(key_pem).expect("key parses");
    let leaf = x509_parser::pem::parse_x509_pem(chain_pem.as_bytes())
        .expect("chain parses")
        .1;
    let cert = leaf.parse_x509().expect("leaf parses");
    cert.public_key().subject_public_key.data.as_ref() == key.public_key_raw()
}
