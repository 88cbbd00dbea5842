//! No CA sees more requests in flight than `settings.ca_max_requests`, nor more a second
//! than `settings.ca_max_rate` allows, while an order's authorizations are fetched and its
//! challenges answered concurrently and `renew --all` works on several certificates at once;
//! those certificates share one pool of nonces and one directory. The proxy in front of Pebble (tests/common/
//! ca_proxy.rs) counts the requests it is handling and holds each a little, as a distant CA
//! would, so that requests overlap whenever certpilot lets them.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[path = "common/ca_proxy.rs"]
mod ca_proxy;
mod common;

use std::time::Duration;

use ca_proxy::CaProxy;
use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Workdir};

/// Pebble (5 % of nonces rejected), the proxy holding every answer `delay`, and a workdir
/// with `settings` whose account talks to the proxy.
fn start(tag: &str, settings: &str, delay: Duration) -> Option<(Pebble, CaProxy, Workdir)> {
    let pebble = Pebble::start(PebbleOptions {
        nonce_reject: 5,
        ..PebbleOptions::default()
    })?;
    let proxy = CaProxy::start(&pebble.directory, &pebble.ca_bundle, false);
    proxy.set_delay(delay);
    let mut wd = Workdir::new(tag);
    wd.env("CHALLTESTSRV", &pebble.challtestsrv)
        .env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
    std::fs::write(wd.path().join("certpilot.toml"), settings).unwrap();
    wd.add_pebble_account(&proxy.directory, &[]);
    wd.set_exec_solver(&hook_path());
    Some((pebble, proxy, wd))
}

fn add_cert(wd: &Workdir, name: &str, names: usize) {
    let names: Vec<String> = (0..names)
        .map(|j| format!("h{j}.{name}.example.test"))
        .collect();
    let mut args = vec!["cert", "add", name];
    for n in &names {
        args.extend(["--name", n.as_str()]);
    }
    wd.run(&args).ok();
}

fn valid(wd: &Workdir) -> usize {
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&wd.run(&["list", "--json"]).stdout()).unwrap();
    rows.iter().filter(|r| r["status"] == "valid").count()
}

#[test]
fn one_order_of_many_names_keeps_to_the_configured_bound() {
    let settings = "[settings]\nca_max_requests = 3\n";
    let Some((pebble, proxy, wd)) = start("ca-limit-one", settings, Duration::from_millis(40))
    else {
        return;
    };
    add_cert(&wd, "big", 24);
    proxy.reset_counts();
    wd.run_dns(&pebble, &["issue", "big"]).ok();
    assert_eq!(valid(&wd), 1);
    let (peak, requests) = (proxy.peak_in_flight(), proxy.requests());
    // 24 authorizations fetched and 24 challenges answered at least.
    assert!(requests >= 48, "only {requests} requests");
    // And not many more: the order is polled, not each authorization, and nonces come with
    // the answers, not from newNonce before each request. What is left is a fixed few
    // (directory, the first nonces, order, finalize, certificate: 17 here, plus the odd
    // rejected nonce). Polling every authorization would add 24, newNonce before each
    // request 48.
    assert!(requests <= 48 + 24, "{requests} requests for 24 names");
    assert!(peak <= 3, "the CA saw {peak} requests at once (bound 3)");
    // The bound is what holds them back: without concurrency the peak would be 1.
    assert_eq!(peak, 3, "authorizations were not fetched concurrently");
}

#[test]
fn renew_all_with_parallel_certificates_keeps_to_the_default_bound() {
    let settings = "[settings]\nparallel = 4\n";
    let Some((pebble, proxy, wd)) = start("ca-limit-all", settings, Duration::from_millis(40))
    else {
        return;
    };
    for i in 0..4 {
        add_cert(&wd, &format!("c{i}"), 10);
    }
    proxy.reset_counts();
    let run = wd.run_dns(&pebble, &["renew", "--all"]);
    run.ok();
    assert_eq!(valid(&wd), 4, "{}", run.stdout());
    let peak = proxy.peak_in_flight();
    let bound = certpilot::config::DEFAULT_CA_MAX_REQUESTS;
    assert!(
        peak <= bound,
        "the CA saw {peak} requests at once (bound {bound})"
    );
    assert!(
        peak > 4,
        "certificates and authorizations did not overlap: peak {peak}"
    );
    // One process, one directory: not one per account restore, signer and CAA check.
    let directories = proxy.count("GET", "/dir");
    assert_eq!(
        directories, 1,
        "the directory was fetched {directories} times"
    );
    // The nonces that come back with the answers serve all four orders and instant-acme's
    // own requests: newNonce is asked for about one round of requests in flight (19-25 of
    // ~128 requests, depending on when answers come back against newNonce's turns), not for
    // most requests, as it is when every request waits for a nonce of its own.
    let (nonces, requests) = (proxy.new_nonces(), proxy.requests());
    eprintln!(
        "renew --all of 4 × 10: {requests} requests, {nonces} newNonce, peak {peak} in flight"
    );
    assert!(
        nonces * 4 <= requests,
        "{nonces} newNonce requests for 4 orders ({requests} requests in all)"
    );
}

#[test]
fn one_order_keeps_to_the_configured_request_rate() {
    // 40 names: about 100 requests, which on loopback would all go within a second.
    let rate = 40;
    let settings = format!("[settings]\nca_max_rate = {rate}\nca_max_requests = 16\n");
    let Some((pebble, proxy, wd)) = start("ca-limit-rate", &settings, Duration::ZERO) else {
        return;
    };
    add_cert(&wd, "many", 40);
    proxy.reset_counts();
    wd.run_dns(&pebble, &["issue", "many"]).ok();
    assert_eq!(valid(&wd), 1);
    let requests = proxy.requests();
    assert!(requests >= 80, "only {requests} requests");
    // A token bucket lets through at most its burst (half a second's worth) plus the rate
    // in any second; a quarter more for arrival jitter at the proxy on a busy machine (a
    // request delayed on its way arrives closer to the next). Without the limit, 105 of the
    // 107 requests arrive within one second.
    let most = proxy.most_within(Duration::from_secs(1));
    eprintln!("one order of 40 names: {requests} requests, at most {most} within a second");
    let allowed = (rate + rate / 2) * 5 / 4;
    assert!(
        most <= allowed,
        "{most} requests within one second (rate {rate}/s, burst {})",
        rate / 2
    );
}
