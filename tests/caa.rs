//! The CAA audit on a real DNS tree (knot on 127.0.170.0/24): tree climbing, a CNAME to
//! another zone, RFC 8657 accounturi, and an order refused (nothing sent to the CA) while a
//! CAA record names another CA, with the record to fix.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;
mod dns_tree;

use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Workdir};
use dns_tree::{ip, Knot, ZoneFile};

const NET: u8 = 170;

fn tree() -> Knot {
    let caa = ZoneFile::new("caa.test", 1)
        .with("@ CAA 0 issue \"other-ca.example\"")
        .with("allowed CAA 0 issue \"pebble.test\"")
        .with("alias CNAME target.other.test.")
        .with("acct CAA 0 issue \"pebble.test; accounturi=https://ca.invalid/acct/1\"")
        .with("methods CAA 0 issue \"pebble.test; validationmethods=http-01\"");
    let other = ZoneFile::new("other.test", 1).with("target CAA 0 issue \"pebble.test\"");
    Knot::start(ip(NET, 1), &[caa, other], &[])
}

#[test]
fn caa_records_are_audited_and_an_order_they_forbid_is_refused() {
    if !dns_tree::available(NET) {
        return;
    }
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let _knot = tree();
    let wd = Workdir::new("caa").enrol(&pebble, &hook_path());
    // Pebble's directory has no caaIdentities: the account says which name is Pebble's.
    let config = wd.path().join("certpilot.toml");
    let mut doc: toml::Table = std::fs::read_to_string(&config).unwrap().parse().unwrap();
    doc["accounts"]["pebble"].as_table_mut().unwrap().insert(
        "caa_identities".into(),
        toml::Value::Array(vec!["pebble.test".into()]),
    );
    std::fs::write(&config, toml::to_string(&doc).unwrap()).unwrap();
    let resolver = format!("{}", ip(NET, 1));
    let caa = |name: &str| wd.run(&["--resolver", &resolver, "caa", name]);

    let climbed = caa("deep.allowed.caa.test");
    climbed.ok();
    assert!(
        climbed.stdout().contains("CAA at allowed.caa.test:")
            && climbed
                .stdout()
                .contains("allowed by `CAA 0 issue \"pebble.test\"`"),
        "{}",
        climbed.stdout()
    );
    let aliased = caa("alias.caa.test");
    aliased.ok();
    assert!(
        aliased.stdout().contains("CNAME → target.other.test"),
        "{}",
        aliased.stdout()
    );
    let other = caa("www.caa.test");
    other.expect_code(1);
    assert!(
        other
            .stdout()
            .contains("FORBIDDEN: `CAA 0 issue \"other-ca.example\"`"),
        "{}",
        other.stdout()
    );
    let account = caa("x.acct.caa.test");
    account.expect_code(1);
    assert!(
        account.stdout().contains("accounturi"),
        "{}",
        account.stdout()
    );
    let methods = caa("methods.caa.test");
    methods.expect_code(1);
    assert!(
        methods.stdout().contains("exclude dns-01"),
        "{}",
        methods.stdout()
    );

    // The order is refused before anything reaches the CA, naming the record to fix.
    wd.run(&[
        "domain",
        "set",
        "caa.test",
        "--solver",
        "exec",
        "--command",
        hook_path().to_str().unwrap(),
    ])
    .ok();
    wd.add_cert("web", &["www.caa.test"], &[]);
    let issued = wd.run(&[
        "--resolver",
        &resolver,
        "--propagation",
        "recursive",
        "issue",
        "web",
    ]);
    issued.expect_code(1);
    let err = issued.stderr();
    assert!(err.contains("CAA records forbid this CA"), "{err}");
    assert!(err.contains("www.caa.test: CAA at caa.test"), "{err}");
    assert!(
        err.contains("fix: add `caa.test CAA 0 issue \"pebble.test\"`"),
        "{err}"
    );
    assert!(
        !wd.path().join("state/journal/web.json").exists(),
        "no order was created"
    );
    assert!(
        !pebble.log().contains("www.caa.test"),
        "Pebble never heard of the name"
    );
}
