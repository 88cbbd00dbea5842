//! Failures that name what happened and the next step, against real Pebble: a CA whose TLS
//! certificate comes from an unknown issuer (hint: --ca-bundle), and a CA that refuses
//! connections (not "is the directory URL an ACME CA?", which sends people the wrong way).
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Workdir};

#[test]
fn an_untrusted_ca_certificate_points_to_ca_bundle() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    // No CA bundle: Pebble's certificate comes from a throwaway test CA.
    let wd = Workdir::new("unknown-issuer");
    let run = wd.run(&[
        "account",
        "add",
        "p",
        "--directory",
        &pebble.directory,
        "--agree-tos",
    ]);
    run.expect_code(1);
    let err = run.stderr();
    assert!(err.contains("UnknownIssuer"), "{err}");
    assert!(
        err.contains("hint:") && err.contains("--ca-bundle"),
        "{err}"
    );
}

#[test]
fn a_ca_refusing_connections_says_so_and_what_to_check() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = Workdir::new("ca-refused").enrol(&pebble, &hook_path());
    wd.add_cert("web", &["www.example.test"], &[]);
    let (directory, dns) = (pebble.directory.clone(), pebble.dns.clone());
    // Pebble's TLS root outlives Pebble: the failure must be the refused connection.
    let bundle = wd.path().join("pebble-ca.pem");
    std::fs::copy(&pebble.ca_bundle, &bundle).unwrap();
    drop(pebble);
    for args in [
        vec![
            "--resolver",
            dns.as_str(),
            "--propagation",
            "recursive",
            "issue",
            "web",
        ],
        vec![
            "account",
            "add",
            "again",
            "--directory",
            directory.as_str(),
            "--agree-tos",
        ],
    ] {
        let mut args = args;
        args.splice(0..0, ["--ca-bundle", bundle.to_str().unwrap()]);
        let run = wd.run(&args);
        run.expect_code(1);
        let out = format!("{}{}", run.stdout(), run.stderr());
        assert!(out.contains("Connection refused"), "{args:?}: {out}");
        assert!(
            out.contains("nothing accepts connections at the CA's address"),
            "{args:?}: {out}"
        );
        assert!(
            !out.contains("is the directory URL an ACME CA"),
            "{args:?}: {out}"
        );
    }
}
