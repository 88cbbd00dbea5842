//! The test CA proxy (tests/common/ca_proxy.rs) as a program, for `scripts/bench.sh`'s
//! latency scenario: an HTTPS proxy in front of Pebble that holds every answer `DELAY_MS`, as
//! a CA 50 ms away would, and counts the requests it handles at once.
//!
//! `ca_delay_proxy PEBBLE_DIRECTORY CA_BUNDLE DELAY_MS`: serves Pebble's certificate and key
//! from next to `CA_BUNDLE` (`cert.pem`, `key.pem`), prints `directory=URL`, then, once per
//! line read on standard input (and at its end), `peak=N requests=M` since the last line,
//! counting afresh.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[path = "../tests/common/ca_proxy.rs"]
mod ca_proxy;

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [directory, bundle, delay] = args.as_slice() else {
        eprintln!("usage: ca_delay_proxy PEBBLE_DIRECTORY CA_BUNDLE DELAY_MS");
        std::process::exit(2);
    };
    let Ok(delay) = delay.parse::<u64>() else {
        eprintln!("DELAY_MS must be a number of milliseconds");
        std::process::exit(2);
    };
    let proxy = ca_proxy::CaProxy::start(directory, Path::new(bundle), false);
    proxy.set_delay(Duration::from_millis(delay));
    println!("directory={}", proxy.directory);
    let report = || {
        println!(
            "peak={} requests={}",
            proxy.peak_in_flight(),
            proxy.requests()
        );
        proxy.reset_counts();
    };
    for _ in std::io::stdin().lock().lines().map_while(Result::ok) {
        report();
    }
    report();
}
