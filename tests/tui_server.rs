//! The TUI's acme-dns server flow against real DNS: the screen's job starts certpilot's own
//! server in-process, the parent zone (`test.`, served by knot on 127.0.210.1) first lacks
//! and then holds the NS delegation and the nameserver's glue, and the parent-record check
//! reports missing, then served; a domain is registered on the running server through the
//! acme-dns register code path, and the server stops cleanly.
//!
//! Needs knot and port 53 (see `dns_tree`); registration uses the keyring (run under
//! `keyctl session -`).
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;
mod dns_tree;

use std::sync::Arc;
use std::time::Duration;

use certpilot::cli::Cli;
use certpilot::dns::parent::{self, Verdict};
use certpilot::jobs::server::{self, ServerInfo, ServerRequest};
use certpilot::jobs::{Context, Event};
use certpilot::paths::Paths;
use clap::Parser as _;
use dns_tree::{ip, Knot, ZoneFile};
use tokio::sync::{mpsc, watch};

const NET: u8 = 210;

fn parent_zone(serial: u32, delegated: bool) -> ZoneFile {
    let mut zone = ZoneFile::new("test", serial)
        .with("@ NS ns")
        .with(format!("ns A {}", ip(NET, 1)));
    if delegated {
        zone = zone
            .with("acme NS ns1.acme")
            .with(format!("ns1.acme A {}", ip(NET, 5)));
    }
    zone
}

fn context(dir: &std::path::Path) -> Arc<Context> {
    let resolver = ip(NET, 1).to_string();
    let keystore = common::test_keystore();
    let args = [
        "certpilot",
        "--dir",
        dir.to_str().expect("utf-8 path"),
        "--keystore",
        &keystore,
        "--resolver",
        &resolver,
    ];
    let cli = Cli::parse_from(args);
    let paths = Paths::resolve(Some(dir)).expect("paths");
    Arc::new(Context::new(paths, cli.global.into()))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_parent_records_are_reported_missing_then_served() {
    if !dns_tree::available(NET) {
        return;
    }
    let knot = Knot::start(ip(NET, 1), &[parent_zone(1, false)], &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    // A keyring service of its own, so nothing else's secrets are touched.
    std::env::set_var(
        "CERTPILOT_KEYRING_SERVICE",
        format!("certpilot-tui-server-{}", std::process::id()),
    );
    let ctx = context(dir.path());
    let request = ServerRequest {
        config_file: None,
        zone: "acme.test".into(),
        nameserver: "ns1.acme.test".into(),
        address: ip(NET, 5).to_string(),
        dns_listen: "127.0.0.1:0".into(),
        http_listen: "127.0.0.1:0".into(),
    };
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (stop, stopped) = watch::channel(false);
    let job_ctx = Arc::clone(&ctx);
    let job = tokio::spawn(async move {
        let reply = move |event| {
            let _ = events_tx.send(event);
        };
        server::run(&job_ctx, &request, reply, stopped).await
    });
    let started = tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("the server starts in time");
    let Some(Event::ServerStarted(info)) = started else {
        panic!(
            "expected ServerStarted, got {started:?}; job: {:?}",
            job.await
        );
    };
    let ServerInfo { records, url, .. } = info;
    let lines: Vec<String> = records
        .iter()
        .map(parent::ParentRecord::zone_line)
        .collect();
    assert_eq!(
        lines,
        [
            "acme.test. IN NS ns1.acme.test.".to_owned(),
            format!("ns1.acme.test. IN A {}", ip(NET, 5)),
        ]
    );
    let resolvers = [ip(NET, 1).to_string()];

    let before = parent::check(&resolvers, &records).await.expect("check");
    assert_eq!(before.len(), 2);
    for check in &before {
        assert_eq!(check.zone, "test");
        assert!(!check.ok(), "{check:?}");
        let verdicts: Vec<&Verdict> = check.answers.iter().map(|a| &a.verdict).collect();
        assert_eq!(verdicts, [&Verdict::Missing], "{}", check.summary());
    }

    knot.update(&parent_zone(2, true));
    let after = parent::check(&resolvers, &records).await.expect("check");
    for check in &after {
        assert!(
            check.ok(),
            "{}: {}",
            check.record.zone_line(),
            check.summary()
        );
    }
    assert_eq!(after[0].summary(), "served by 1/1 servers of test");

    // One CNAME per domain, registered on this server like `acme-dns register`.
    let delegations = server::register_all(&ctx, &url, &["*.example.test".to_owned()])
        .await
        .expect("registered on the local server");
    assert_eq!(delegations.len(), 1);
    let record = &delegations[0].record;
    assert_eq!(record.owner, "_acme-challenge.example.test");
    assert!(record.target.ends_with(".acme.test"), "{}", record.target);
    // Registered once: a second round shows the same record without registering again.
    let again = server::register_all(&ctx, &url, &[]).await.expect("listed");
    assert_eq!(again, delegations);

    stop.send(true).expect("the job listens");
    let stopped = tokio::time::timeout(Duration::from_secs(30), job)
        .await
        .expect("stops in time")
        .expect("no panic");
    stopped.expect("stops cleanly");
}
