//! HTTPS for the acme-dns server's API, verified by `curl --cacert` (TLS verification on):
//! `tls.mode = "cert"` serves a chain/key pair from files and picks up new files without a
//! restart; `tls.mode = "acme"` gets the certificate from Pebble, which validates the DNS-01
//! challenge by asking the server's own DNS (the server answers `_acme-challenge.<zone>`
//! itself), keeps account and key in the keyring, and renews with an in-place swap while
//! requests keep succeeding. Addresses: 127.0.155.0/24 and 127.0.156.0/24.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

#[path = "common/acmedns_child.rs"]
mod acmedns_child;

use std::path::{Path, PathBuf};
use std::process::Command;

use std::time::Duration;

use acmedns_child::{wait_until, wait_until_within, Served, ZONE};
use common::pebble::{Pebble, PebbleOptions};

/// A throwaway CA (`ca.pem`) and a certificate for the zone signed by it (`cert.pem`,
/// `key.pem`), written into `dir` under `tag`.
fn issue_from_own_ca(dir: &Path, tag: &str) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("certpilot test CA {tag}"),
    );
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(vec![ZONE.to_owned()]).expect("params");
    let leaf = params
        .signed_by(&key, &rcgen::Issuer::new(ca_params, ca_key))
        .expect("leaf");
    let paths = (
        dir.join(format!("ca-{tag}.pem")),
        dir.join(format!("cert-{tag}.pem")),
        dir.join(format!("key-{tag}.pem")),
    );
    std::fs::write(&paths.0, ca.pem()).expect("write");
    std::fs::write(&paths.1, leaf.pem()).expect("write");
    std::fs::write(&paths.2, key.serialize_pem()).expect("write");
    paths
}

/// `curl --cacert CA https://<zone>:PORT/health` (the name resolved to the server's
/// address); the HTTP status, or `None` when curl failed (e.g. verification).
fn curl_health(server: &Served, ca: &Path) -> Option<u16> {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .arg("--cacert")
        .arg(ca)
        .arg("--resolve")
        .arg(format!(
            "{ZONE}:{}:{}",
            server.http.port(),
            server.http.ip()
        ))
        .arg(format!("https://{ZONE}:{}/health", server.http.port()))
        .output()
        .expect("curl");
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// How long Pebble may take for an order (it checks each TXT three times).
const CA_WAIT: Duration = Duration::from_secs(60);

#[test]
fn certificate_files_are_served_and_reloaded_when_they_change() {
    if !common::require_tool("curl") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca_one, cert_one, key_one) = issue_from_own_ca(dir.path(), "one");
    let (ca_two, cert_two, key_two) = issue_from_own_ca(dir.path(), "two");
    let (cert, key) = (dir.path().join("api.crt"), dir.path().join("api.key"));
    std::fs::copy(&cert_one, &cert).expect("copy");
    std::fs::copy(&key_one, &key).expect("copy");
    let tls = format!(
        "[tls]\nmode = \"cert\"\ncert = \"{}\"\nkey = \"{}\"\n",
        cert.display(),
        key.display()
    );
    let server = Served::spawn("127.0.155.1", "acme.db", "", "", &tls, &[]);
    wait_until("HTTPS answers with the first certificate", || {
        curl_health(&server, &ca_one) == Some(200)
    });
    assert_eq!(curl_health(&server, &ca_two), None, "not yet the second");
    // The key first, then the chain: in between the pair does not match and is not served.
    std::fs::copy(&key_two, &key).expect("copy");
    std::fs::copy(&cert_two, &cert).expect("copy");
    wait_until("the new files are served without a restart", || {
        curl_health(&server, &ca_two) == Some(200)
    });
    assert_eq!(curl_health(&server, &ca_one), None);
    assert!(server.log().contains("API certificate reloaded"));
}

#[test]
fn the_api_certificate_comes_from_pebble_through_the_servers_own_zone() {
    if !common::require_tool("curl") {
        return;
    }
    // Pebble validates by asking the acme-dns server's DNS directly (it is authoritative).
    let dns = "127.0.156.1:5300";
    let Some(pebble) = Pebble::start_with_dns(PebbleOptions::default(), dns) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("pebble-root.pem");
    let fetched = Command::new("curl")
        .args(["-s", "--fail", "--max-time", "10", "--cacert"])
        .arg(&pebble.ca_bundle)
        .arg(format!("{}/roots/0", pebble.management))
        .arg("-o")
        .arg(&root)
        .status()
        .expect("curl");
    assert!(fetched.success(), "Pebble's root");
    let chain_file = dir.path().join("api-chain.pem");
    let tls = format!(
        "[tls]\nmode = \"acme\"\ndirectory = \"{}\"\nca_bundle = \"{}\"\nchain_file = \"{}\"\n\
         renew_before_days = 100000\nrenew_check_secs = 2\n",
        pebble.directory,
        pebble.ca_bundle.display(),
        chain_file.display()
    );
    let service = common::unique_service("acmedns-tls");
    let keystore = common::test_keystore();
    let server = Served::spawn(
        "127.0.156.1",
        "acme.db",
        "",
        "",
        &tls,
        &[
            ("CERTPILOT_KEYRING_SERVICE", &service),
            ("CERTPILOT_KEYSTORE", &keystore),
        ],
    );
    wait_until_within("HTTPS answers with Pebble's certificate", CA_WAIT, || {
        curl_health(&server, &root) == Some(200)
    });
    assert!(
        server.log().contains("API certificate obtained"),
        "{}",
        server.log()
    );
    // renew_before_days exceeds Pebble's lifetime: every check renews. Each renewal rewrites
    // the chain and swaps the served certificate; requests keep succeeding throughout.
    let first = std::fs::read_to_string(&chain_file).expect("chain");
    wait_until_within("a renewal swapped the certificate in", CA_WAIT, || {
        assert_eq!(
            curl_health(&server, &root),
            Some(200),
            "HTTPS during renewal"
        );
        std::fs::read_to_string(&chain_file).is_ok_and(|now| now != first)
            && server.log().contains("renewed and swapped in")
    });
    assert_eq!(curl_health(&server, &root), Some(200));
}
