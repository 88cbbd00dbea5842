//! End to end through acme-dns: certpilot's own acme-dns server (`certpilot acme-dns serve`),
//! knot holding the customer zone with the `_acme-challenge` CNAMEs, unbound as the recursive
//! resolver Pebble validates through (it follows the CNAME into the acme-dns zone), and
//! Pebble issuing apex + wildcard + www via the `acme-dns` solver. Registration, import of a
//! credential file and renewal are covered on the way.
//!
//! Addresses: 127.0.200.1 knot (example.test), .2 certpilot's acme-dns server (acme.test,
//! DNS on :53, HTTP on :80), .3 unbound. Needs root (port 53), knot and unbound.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[path = "common/acmedns_tree.rs"]
mod acmedns_tree;
mod common;
mod dns_tree;

use std::process::Command;

use acmedns_tree::{
    api_url, customer_zone, resolver, start_acmedns_server, start_knot, start_unbound,
};
use common::pebble::{Pebble, PebbleOptions};
use common::Workdir;

const NET: u8 = 200;

fn fulldomain(wd: &Workdir, domain: &str) -> String {
    let run = wd.run(&["acme-dns", "list", "--json"]);
    run.ok();
    let list: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["domain"] == domain)
        .unwrap_or_else(|| panic!("{domain} not in {list}"));
    assert!(
        entry.get("password").is_none(),
        "list --json shows a password"
    );
    entry["fulldomain"].as_str().unwrap().to_owned()
}

#[test]
fn issue_apex_wildcard_and_www_through_certpilots_acme_dns_server() {
    if !dns_tree::available(NET) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if !common::require_tool("unbound") {
        return;
    }
    let _server = start_acmedns_server(NET, dir.path());
    let server_url = api_url(NET);
    let resolver = resolver(NET).to_string();

    // Pebble validates through unbound, which follows the CNAME into the acme-dns zone.
    let Some(pebble) = Pebble::start_with_dns(PebbleOptions::default(), &format!("{resolver}:53"))
    else {
        return;
    };
    let mut wd = Workdir::new("acmedns-e2e");
    wd.env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
    wd.add_pebble_account(&pebble.directory, &[]);

    // Register example.test (its wildcard shares it) with the CLI...
    let reg = wd.run(&[
        "acme-dns",
        "register",
        "example.test",
        "--server",
        &server_url,
    ]);
    reg.ok();
    let apex_target = fulldomain(&wd, "example.test");
    assert!(
        reg.stdout().contains(&format!(
            "_acme-challenge.example.test. IN CNAME {apex_target}."
        )),
        "{}",
        reg.stdout()
    );
    // ...and www.example.test by importing a certbot-style file made from a raw /register.
    let raw = Command::new("curl")
        .args(["-sSf", "-X", "POST", &format!("{server_url}/register")])
        .output()
        .unwrap();
    assert!(raw.status.success());
    let body: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    let www_target = body["fulldomain"].as_str().unwrap().to_owned();
    let file = wd.path().join("acmedns.json");
    std::fs::write(
        &file,
        serde_json::json!({ "www.example.test": body }).to_string(),
    )
    .unwrap();
    let import = wd.run(&[
        "acme-dns",
        "import",
        file.to_str().unwrap(),
        "--server",
        &server_url,
    ]);
    import.ok();
    assert_eq!(fulldomain(&wd, "www.example.test"), www_target);
    let password = body["password"].as_str().unwrap().to_owned();

    wd.run(&[
        "domain",
        "set",
        "example.test",
        "--solver",
        "acme-dns",
        "--server",
        &server_url,
    ])
    .ok();
    wd.run(&[
        "cert",
        "add",
        "web",
        "--name",
        "example.test",
        "--name",
        "*.example.test",
        "--name",
        "www.example.test",
    ])
    .ok();

    // Before the CNAMEs exist certpilot refuses to order, naming the record to create.
    let knot = start_knot(NET, customer_zone(NET, 1, &[]));
    let _unbound = start_unbound(NET, dir.path());
    let refused = wd.run(&["--resolver", &resolver, "issue", "web"]);
    refused.expect_code(1);
    assert!(
        refused.stderr().contains(&format!(
            "_acme-challenge.example.test. IN CNAME {apex_target}."
        )),
        "{}",
        refused.stderr()
    );
    assert!(!wd.path().join("certificates/web").exists());

    knot.update(&customer_zone(
        NET,
        2,
        &[
            ("_acme-challenge", apex_target.as_str()),
            ("_acme-challenge.www", www_target.as_str()),
        ],
    ));
    let issued = wd.run(&["--resolver", &resolver, "issue", "web"]);
    issued.ok();
    let pem = std::fs::read_to_string(wd.path().join("certificates/web/web.crt")).unwrap();
    let mut names = certpilot::cert::inspect::inspect_chain_pem(&pem)
        .unwrap()
        .names;
    names.sort();
    assert_eq!(
        names,
        vec!["*.example.test", "example.test", "www.example.test"]
    );

    let renewed = wd.run(&["--resolver", &resolver, "renew", "--force"]);
    renewed.ok();
    assert!(
        renewed.stdout().contains("web: renewed (forced)"),
        "{}",
        renewed.stdout()
    );

    // The imported plaintext password is now only in the keyring.
    std::fs::remove_file(&file).unwrap();
    for entry in common::files_under(wd.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(
            !text.contains(&password),
            "acme-dns password in {}",
            entry.display()
        );
    }
    assert!(!issued.stderr().contains(&password) && !issued.stdout().contains(&password));
}
