//! The propagation checker against a real delegation tree on loopback (see `dns_tree`):
//! knotd for `test.` (the configured resolver: discovery follows its referrals), two servers
//! for `example.test.` of which one may lag, `acme.test.` for CNAME targets, and scripted
//! servers for silence and answers knot will not give.
//!
//! Each test owns `127.0.N.0/24`, N in 28..=39.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;
mod dns_tree;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use certpilot::dns::hints::Hint;
use certpilot::dns::probe::{ProbeResult, Status};
use certpilot::dns::report::{HopReport, NameReport};
use certpilot::dns::{Expectation, Mode, ProbeEvent, Prober, PropagationReport, WaitError, Waiter};
use common::recording::{expect_line, recording_workdir, spawn_with_lines, wait_exit};
use dns_tree::{ip, reply, Knot, Scripted, ZoneFile};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{CNAME, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

const APEX_TOKEN: &str = "apex-token-0123456789";
const WILD_TOKEN: &str = "wildcard-token-0123456789";

/// `test.`: delegates `example.test` to ns1/ns2 (.2/.3) plus `extra` NS lines, and
/// `acme.test` to .4.
fn parent(net: u8, extra: &[String]) -> ZoneFile {
    let mut zone = ZoneFile::new("test", 1)
        .with("@ NS ns")
        .with(format!("ns A {}", ip(net, 1)))
        .with("example NS ns1.example")
        .with("example NS ns2.example")
        .with(format!("ns1.example A {}", ip(net, 2)))
        .with(format!("ns2.example A {}", ip(net, 3)))
        .with("acme NS ns.acme")
        .with(format!("ns.acme A {}", ip(net, 4)));
    for line in extra {
        zone = zone.with(line.clone());
    }
    zone
}

/// `example.test` as ns1 and ns2 serve it, with `records`.
fn example(net: u8, serial: u32, records: &[String]) -> ZoneFile {
    let mut zone = ZoneFile::new("example.test", serial)
        .with("@ NS ns1")
        .with("@ NS ns2")
        .with(format!("ns1 A {}", ip(net, 2)))
        .with(format!("ns2 A {}", ip(net, 3)));
    for line in records {
        zone = zone.with(line.clone());
    }
    zone
}

fn acme(net: u8, records: &[String]) -> ZoneFile {
    let mut zone = ZoneFile::new("acme.test", 1)
        .with("@ NS ns")
        .with(format!("ns A {}", ip(net, 4)));
    for line in records {
        zone = zone.with(line.clone());
    }
    zone
}

fn lines(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn prober(net: u8) -> Prober {
    Prober::new(&[ip(net, 1).to_string()]).expect("resolver")
}

fn owner_txt(owner: &str, values: &[&str]) -> Expectation {
    Expectation::new(
        owner,
        values.iter().map(|v| (*v).to_owned()).collect(),
        None,
    )
}

fn result(hop: &HopReport, address: IpAddr) -> &ProbeResult {
    hop.results
        .iter()
        .find(|r| r.address == address)
        .unwrap_or_else(|| panic!("no result for {address} in {hop:#?}"))
}

fn name<'a>(report: &'a PropagationReport, owner: &str) -> &'a NameReport {
    report
        .names
        .iter()
        .find(|n| n.expected.owner == owner)
        .unwrap_or_else(|| panic!("no report for {owner}"))
}

/// ns1 serves `example.test` serial 2 with both tokens, ns2 lags at serial 1 without them.
/// Returns the servers, ns2 apart, and the zone ns2 should serve.
fn lagging_tree(net: u8) -> (Vec<Knot>, Knot, ZoneFile) {
    let records = lines(&[
        &format!("_acme-challenge TXT \"{APEX_TOKEN}\""),
        &format!("_acme-challenge TXT \"{WILD_TOKEN}\""),
    ]);
    let current = example(net, 2, &records);
    let others = vec![
        Knot::start(ip(net, 1), &[parent(net, &[])], &[]),
        Knot::start(ip(net, 2), std::slice::from_ref(&current), &[]),
    ];
    let lagging = Knot::start(ip(net, 3), &[example(net, 1, &[])], &[]);
    (others, lagging, current)
}

fn both_tokens() -> Vec<Expectation> {
    vec![owner_txt(
        "_acme-challenge.example.test",
        &[APEX_TOKEN, WILD_TOKEN],
    )]
}

#[tokio::test]
async fn a_lagging_server_is_named_and_holds_propagation_back() {
    let net = 31;
    if !dns_tree::available(net) {
        return;
    }
    let (_others, _lagging, _) = lagging_tree(net);
    let report = prober(net).check(&both_tokens()).await;
    assert!(!report.propagated, "{report:#?}");
    let hop = &report.names[0].hops[0];
    assert_eq!(hop.zone.apex, "example.test");
    assert!(
        hop.zone
            .servers
            .iter()
            .all(|s| s.addresses.iter().all(|a| a.glue)),
        "{hop:#?}"
    );
    let ns1 = result(hop, ip(net, 2).into());
    assert_eq!(
        (ns1.status, ns1.values.len(), ns1.ttl, ns1.serial),
        (Status::Match, 2, Some(60), Some(2))
    );
    let lagging = result(hop, ip(net, 3).into());
    // The older zone has no such name at all.
    assert_eq!(
        (lagging.server.as_str(), lagging.status, lagging.serial),
        ("ns2.example.test", Status::Nxdomain, Some(1))
    );
    let verdict = report.verdict();
    assert!(
        verdict
            .contains("_acme-challenge.example.test waits on ns2.example.test 127.0.31.3 nxdomain"),
        "{verdict}"
    );
    assert!(
        report.hints.iter().any(|h| matches!(h, Hint::SerialsDisagree { zone, serials }
            if zone == "example.test" && serials.iter().any(|s| s.serial == 1 && s.server == "ns2.example.test"))),
        "{:#?}",
        report.hints
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiter_polls_until_the_lagging_server_catches_up() {
    let net = 30;
    if !dns_tree::available(net) {
        return;
    }
    let (_others, lagging, current) = lagging_tree(net);
    let waiter = Waiter::authoritative(prober(net));

    // A name nobody serves: the wait ends at the timeout, naming every server.
    let nobody = [owner_txt("_acme-challenge.nothing.example.test", &["x"])];
    let err = waiter
        .wait(&nobody, Duration::from_millis(700), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, WaitError::NotPropagated { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("ns1.example.test 127.0.30.2 nxdomain"),
        "{text}"
    );
    assert!(
        text.contains("ns2.example.test 127.0.30.3 nxdomain"),
        "{text}"
    );

    let (tx, mut rounds) = tokio::sync::mpsc::unbounded_channel::<Box<PropagationReport>>();
    let task = tokio::spawn(async move {
        let progress = move |r| {
            let _ = tx.send(r);
        };
        waiter
            .wait(&both_tokens(), Duration::from_secs(30), &progress)
            .await
    });
    let first = rounds.recv().await.expect("a first round");
    assert!(!first.propagated);
    tokio::task::block_in_place(|| lagging.update(&current.clone().serial(2)));
    let took = tokio::time::timeout(Duration::from_secs(25), task)
        .await
        .expect("the waiter finishes once propagated")
        .expect("task")
        .expect("propagated");
    let mut last = first;
    while let Ok(report) = rounds.try_recv() {
        last = report;
    }
    assert!(last.propagated, "{}", last.verdict());
    assert!(last.all_hints().next().is_none(), "{:#?}", last.hints);
    assert!(took < Duration::from_secs(25));
}

/// A tree whose `example.test` (on .2 and .3) holds `records`, `acme.test` (on .4) `d420`
/// and `other` with TXT "tok".
fn cname_tree(net: u8, records: &[String]) -> Vec<Knot> {
    let targets = acme(net, &lines(&["d420 TXT \"tok\"", "other TXT \"tok\""]));
    vec![
        Knot::start(ip(net, 1), &[parent(net, &[])], &[]),
        Knot::start(ip(net, 2), &[example(net, 5, records)], &[]),
        Knot::start(ip(net, 3), &[example(net, 5, records)], &[]),
        Knot::start(ip(net, 4), &[targets], &[]),
    ]
}

fn via_acme_dns(owner: &str) -> Expectation {
    Expectation::new(owner, vec!["tok".into()], Some("d420.acme.test"))
}

#[tokio::test]
async fn cname_paths_are_checked_on_each_zones_own_servers() {
    let net = 32;
    if !dns_tree::available(net) {
        return;
    }
    let records = lines(&[
        "_acme-challenge CNAME d420.acme.test.",
        "_acme-challenge.txt TXT \"tok\"",
    ]);
    let _tree = cname_tree(net, &records);
    let want = [
        via_acme_dns("_acme-challenge.example.test"),
        // No expected value: whatever one server serves, all must serve.
        owner_txt("_acme-challenge.txt.example.test", &[]),
    ];
    let report = prober(net).check(&want).await;
    assert!(report.propagated, "{report:#?}");

    let good = &report.names[0];
    assert_eq!(good.hops.len(), 2);
    let (source, target) = (&good.hops[0], &good.hops[1]);
    assert_eq!(
        (source.zone.apex.as_str(), source.results.len()),
        ("example.test", 2)
    );
    assert!(source
        .results
        .iter()
        .all(|r| r.cname.as_deref() == Some("d420.acme.test")));
    assert_eq!(source.leads_to.as_deref(), Some("d420.acme.test"));
    assert_eq!(
        (target.name.as_str(), target.zone.apex.as_str()),
        ("d420.acme.test", "acme.test")
    );
    let asked: Vec<IpAddr> = target.results.iter().map(|r| r.address).collect();
    assert_eq!(
        asked,
        vec![IpAddr::from(ip(net, 4))],
        "the target zone's own server only"
    );
    assert_eq!(target.results[0].values, vec!["tok".to_owned()]);
}

#[tokio::test]
async fn mistakes_in_the_records_show_as_hints() {
    let net = 37;
    if !dns_tree::available(net) {
        return;
    }
    let records = lines(&[
        "_acme-challenge.www CNAME other.acme.test.",
        "_acme-challenge.txt TXT \"tok\"",
        // Relative target: the zone gets appended (d420.acme.test.example.test.).
        "_acme-challenge.dbl CNAME d420.acme.test",
        // A full name without the dot: _acme-challenge.twice.example.test.example.test.
        "_acme-challenge.twice.example.test TXT \"tok\"",
        // The name exists, but without TXT.
        "_acme-challenge.empty A 127.0.0.1",
    ]);
    let _tree = cname_tree(net, &records);
    let want = [
        via_acme_dns("_acme-challenge.www.example.test"),
        via_acme_dns("_acme-challenge.txt.example.test"),
        via_acme_dns("_acme-challenge.dbl.example.test"),
        owner_txt("_acme-challenge.twice.example.test", &["tok"]),
        owner_txt("_acme-challenge.empty.example.test", &["tok"]),
    ];
    let report = prober(net).check(&want).await;
    assert!(!report.propagated);
    let statuses =
        |n: &NameReport| -> Vec<Status> { n.hops[0].results.iter().map(|r| r.status).collect() };

    let www = name(&report, "_acme-challenge.www.example.test");
    assert_eq!(statuses(www), [Status::Mismatch; 2]);
    assert_eq!(
        www.hops[1].name, "other.acme.test",
        "the served CNAME is followed"
    );
    assert!(www.hints.contains(&Hint::CnameTargetDiffers {
        name: "_acme-challenge.www.example.test".into(),
        expected: "d420.acme.test".into(),
        found: "other.acme.test".into(),
    }));

    let txt = name(&report, "_acme-challenge.txt.example.test");
    assert_eq!(statuses(txt), [Status::Mismatch; 2]);
    assert!(
        txt.hints.iter().any(
            |h| matches!(h, Hint::TxtWhereCnameExpected { servers, .. } if servers.len() == 2)
        ),
        "{:#?}",
        txt.hints
    );

    let dbl = name(&report, "_acme-challenge.dbl.example.test");
    assert!(dbl.hints.contains(&Hint::ZoneAppendedTwice {
        name: "d420.acme.test".into(),
        found_at: "d420.acme.test.example.test".into(),
    }));

    let twice = name(&report, "_acme-challenge.twice.example.test");
    assert_eq!(statuses(twice), [Status::Nxdomain; 2]);
    assert!(twice.hints.contains(&Hint::ZoneAppendedTwice {
        name: "_acme-challenge.twice.example.test".into(),
        found_at: "_acme-challenge.twice.example.test.example.test".into(),
    }));

    let empty = name(&report, "_acme-challenge.empty.example.test");
    assert_eq!(statuses(empty), [Status::Missing; 2]);
}

#[tokio::test]
async fn silent_refusing_failing_and_lame_servers_are_reported_without_hanging() {
    let net = 33;
    if !dns_tree::available(net) {
        return;
    }
    let servers = [
        ("silent", 99),
        ("refusing", 5),
        ("lame", 1),
        ("broken", 6),
        ("gone", 98),
    ];
    let mut delegation = Vec::new();
    let mut child = Vec::new();
    for (host, last) in servers {
        delegation.push(format!("example NS {host}.example"));
        delegation.push(format!("{host}.example A {}", ip(net, last)));
        child.push(format!("@ NS {host}"));
        child.push(format!("{host} A {}", ip(net, last)));
    }
    // An IPv6-only server nothing listens for: the family hint.
    delegation.extend(lines(&["example NS v6.example", "v6.example AAAA ::1"]));
    child.extend(lines(&[
        "@ NS v6",
        "v6 AAAA ::1",
        "_acme-challenge TXT \"tok\"",
    ]));
    let _parent = Knot::start(ip(net, 1), &[parent(net, &delegation)], &[]);
    let _ns1 = Knot::start(ip(net, 2), &[example(net, 1, &child)], &[]);
    let _ns2 = Knot::start(ip(net, 3), &[example(net, 1, &child)], &[]);
    let _refusing = Knot::start(
        ip(net, 5),
        &[ZoneFile::new("other.test", 1).with("@ NS ns.other.test.")],
        &[],
    );
    let _broken = Knot::start(ip(net, 6), &[], &["example.test"]);
    let _silent = Scripted::silent(SocketAddr::from((ip(net, 99), 53)));

    let started = Instant::now();
    let report = prober(net)
        .check(&[owner_txt("_acme-challenge.example.test", &["tok"])])
        .await;
    let took = started.elapsed();
    // Two attempts of 1.5 s for the silent server, everything else in parallel.
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!report.propagated);
    let hop = &report.names[0].hops[0];
    let status = |last: u8| result(hop, ip(net, last).into()).status;
    assert_eq!(status(2), Status::Match);
    assert_eq!(status(3), Status::Match);
    assert_eq!(status(99), Status::Timeout);
    assert_eq!(status(5), Status::Refused);
    assert_eq!(status(1), Status::Lame);
    assert_eq!(status(6), Status::Servfail);
    assert_eq!(status(98), Status::Unreachable);
    let v6 = result(hop, "::1".parse().unwrap());
    assert_eq!(
        (v6.server.as_str(), v6.status),
        ("v6.example.test", Status::Unreachable)
    );
    assert!(result(hop, ip(net, 1).into())
        .detail
        .as_deref()
        .unwrap_or("")
        .contains("referral"));
    assert!(report.hints.contains(&Hint::FamilySilent {
        family: "IPv6".into(),
        addresses: 1
    }));
    assert!(!report
        .hints
        .iter()
        .any(|h| matches!(h, Hint::FamilySilent { family, .. } if family == "IPv4")));
}

#[tokio::test]
async fn truncated_answers_are_fetched_again_over_tcp() {
    let net = 34;
    if !dns_tree::available(net) {
        return;
    }
    // 40 values of 60 characters: about 2.5 KB, beyond the 1232-byte EDNS payload.
    let values: Vec<String> = (0..40)
        .map(|i| format!("{i:02}{}", "x".repeat(58)))
        .collect();
    let records: Vec<String> = values
        .iter()
        .map(|v| format!("_acme-challenge TXT \"{v}\""))
        .collect();
    let _parent = Knot::start(ip(net, 1), &[parent(net, &[])], &[]);
    let _ns1 = Knot::start(ip(net, 2), &[example(net, 1, &records)], &[]);
    let _ns2 = Knot::start(ip(net, 3), &[example(net, 1, &records)], &[]);
    let want = Expectation::new("_acme-challenge.example.test", values.clone(), None);
    let report = prober(net).check(&[want]).await;
    assert!(report.propagated, "{}", report.verdict());
    for r in &report.names[0].hops[0].results {
        assert!(r.tcp, "{r:?}");
        assert_eq!(r.values.len(), 40);
    }
}

#[tokio::test]
async fn a_hundred_names_are_checked_in_one_parallel_round() {
    let net = 35;
    if !dns_tree::available(net) {
        return;
    }
    let records: Vec<String> = (0..100)
        .map(|i| format!("_acme-challenge.h{i} TXT \"tok-{i}\""))
        .collect();
    let _parent = Knot::start(ip(net, 1), &[parent(net, &[])], &[]);
    let _ns1 = Knot::start(ip(net, 2), &[example(net, 1, &records)], &[]);
    let _ns2 = Knot::start(ip(net, 3), &[example(net, 1, &records)], &[]);
    let want: Vec<Expectation> = (0..100)
        .map(|i| {
            owner_txt(
                &format!("_acme-challenge.h{i}.example.test"),
                &[&format!("tok-{i}")],
            )
        })
        .collect();
    let prober = prober(net);
    let (tx, mut events) = tokio::sync::mpsc::channel(64);
    let collector = tokio::spawn(async move {
        let mut answered = 0;
        while let Some(event) = events.recv().await {
            answered += usize::from(matches!(event, ProbeEvent::NameserverAnswered { .. }));
        }
        answered
    });
    let started = Instant::now();
    let report = prober.check_streaming(&want, &tx).await;
    let took = started.elapsed();
    drop(tx);
    assert!(report.propagated, "{}", report.verdict());
    assert_eq!(
        collector.await.unwrap(),
        200,
        "one event per name and address"
    );
    eprintln!(
        "100 names × 2 servers: {took:?}, {} queries",
        report.queries
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// Answers like a server holding `_acme-challenge.both` as CNAME *and* TXT, and
/// `_acme-challenge.one` with both in one answer; serves `example.test` SOA serial 5.
fn cname_beside_txt(query: &Message) -> Option<Message> {
    let (qname, qtype) = dns_tree::question(query)?;
    let name = Name::from_ascii(&qname).ok()?;
    let apex = Name::from_ascii("example.test.").ok()?;
    let soa = Record::from_rdata(
        apex.clone(),
        60,
        RData::SOA(SOA::new(
            Name::from_ascii("ns.invalid.").ok()?,
            Name::from_ascii("h.invalid.").ok()?,
            5,
            60,
            60,
            600,
            60,
        )),
    );
    let cname = Record::from_rdata(
        name.clone(),
        60,
        RData::CNAME(CNAME(Name::from_ascii("d420.acme.test.").ok()?)),
    );
    let txt = Record::from_rdata(name.clone(), 60, RData::TXT(TXT::new(vec!["tok".into()])));
    let mut answer = reply(query, ResponseCode::NoError);
    match (qname.as_str(), qtype) {
        ("example.test.", RecordType::SOA) => answer.add_answer(soa),
        ("_acme-challenge.both.example.test.", RecordType::TXT) => answer.add_answer(txt),
        ("_acme-challenge.both.example.test.", RecordType::CNAME) => answer.add_answer(cname),
        ("_acme-challenge.one.example.test.", _) => answer.add_answer(cname).add_answer(txt),
        _ => answer.add_authority(soa),
    };
    Some(answer)
}

#[tokio::test]
async fn a_cname_beside_other_records_is_reported() {
    let net = 36;
    if !dns_tree::available(net) {
        return;
    }
    let records = lines(&[
        "_acme-challenge.both CNAME d420.acme.test.",
        "_acme-challenge.one CNAME d420.acme.test.",
    ]);
    let _parent = Knot::start(ip(net, 1), &[parent(net, &[])], &[]);
    let _ns1 = Knot::start(ip(net, 2), &[example(net, 5, &records)], &[]);
    let _ns2 = Scripted::start(
        SocketAddr::from((ip(net, 3), 53)),
        Box::new(cname_beside_txt),
    );
    let _acme = Knot::start(ip(net, 4), &[acme(net, &lines(&["d420 TXT \"tok\""]))], &[]);
    let want: Vec<Expectation> = ["both", "one"]
        .iter()
        .map(|n| {
            Expectation::new(
                &format!("_acme-challenge.{n}.example.test"),
                vec!["tok".into()],
                Some("d420.acme.test"),
            )
        })
        .collect();
    let report = prober(net).check(&want).await;
    for name in &report.names {
        let hop = &name.hops[0];
        assert_eq!(result(hop, ip(net, 2).into()).status, Status::Match);
        let scripted = result(hop, ip(net, 3).into());
        assert_eq!(
            (scripted.status, scripted.beside_cname),
            (Status::Mismatch, true),
            "{scripted:?}"
        );
        assert!(
            name.hints.iter().any(
                |h| matches!(h, Hint::CnameBesideOtherRecords { servers, .. }
                if servers == &["ns2.example.test 127.0.36.3".to_owned()])
            ),
            "{:#?}",
            name.hints
        );
    }
    assert!(!report
        .hints
        .iter()
        .any(|h| matches!(h, Hint::SerialsDisagree { .. })));
}

#[tokio::test]
async fn resolvers_that_cannot_answer_soa_fail_at_once_with_a_way_out() {
    // Like pebble-challtestsrv: NOTIMP to SOA and NS. Any port works: no root needed.
    let notimp = Scripted::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Box::new(|q| {
            let (_, qtype) = dns_tree::question(q)?;
            let rcode = if matches!(qtype, RecordType::SOA | RecordType::NS) {
                ResponseCode::NotImp
            } else {
                ResponseCode::NXDomain
            };
            Some(reply(q, rcode))
        }),
    );
    let resolver = notimp.addr.to_string();
    let want = [owner_txt("_acme-challenge.example.test", &["tok"])];
    let prober = Prober::new(std::slice::from_ref(&resolver)).unwrap();
    let report = prober.check(&want).await;
    let error = report.permanent_error().expect("a permanent error");
    let expected = format!(
        "zone discovery for _acme-challenge.example.test failed: {resolver} answered NOTIMP to SOA; use --propagation recursive"
    );
    assert!(error.starts_with(&expected), "{error}");

    let waiter = Waiter::new(Mode::Authoritative, &[resolver]).unwrap();
    let started = Instant::now();
    let err = waiter
        .wait(&want, Duration::from_secs(60), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, WaitError::Discovery(_)), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no waiting on a permanent error"
    );
}

/// A workdir whose config has certificate `web` (example.test, its wildcard, www).
fn check_workdir() -> common::Workdir {
    let wd = common::Workdir::new("check");
    std::fs::write(
        wd.path().join("certpilot.toml"),
        "[certificates.web]\nnames = [\"example.test\", \"*.example.test\", \"www.example.test\"]\n\n[domains.\"example.test\"]\nsolver = \"manual\"\n",
    )
    .unwrap();
    wd
}

#[test]
fn the_check_command_prints_tables_and_json_with_exit_codes() {
    let net = 38;
    if !dns_tree::available(net) {
        return;
    }
    let (_others, lagging, current) = lagging_tree(net);
    let wd = check_workdir();
    let resolver = ip(net, 1).to_string();
    let check = |args: &[&str]| {
        let mut all = vec!["--resolver", resolver.as_str(), "check"];
        all.extend_from_slice(args);
        wd.run(&all)
    };
    for bad in [
        vec!["bad name!"],
        vec!["example.test", "--expect-cname", "bad name!"],
        vec!["web", "--expect-cname", "x.acme.test"],
    ] {
        let run = check(&bad);
        run.expect_code(2);
        assert!(run.stderr().contains("error:"), "{}", run.stderr());
    }
    for global in [
        ["--resolver", "nope"],
        ["--propagation", "often"],
        ["--propagation", "skip"],
    ] {
        let mut args = vec!["--resolver", resolver.as_str()];
        args.extend(global);
        args.extend(["check", "example.test"]);
        wd.run(&args).expect_code(2);
    }

    let run = check(&["example.test", "--expect-txt", APEX_TOKEN]);
    run.expect_code(1);
    let out = run.stdout();
    for needle in [
        "SERVER",
        "ns1.example.test  127.0.38.2  match",
        "ns2.example.test  127.0.38.3  nxdomain",
        "NOT propagated",
        "hint: servers of example.test disagree",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
    let run = check(&[
        "_acme-challenge.example.test",
        "--expect-txt",
        APEX_TOKEN,
        "--json",
    ]);
    run.expect_code(1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).expect("JSON");
    assert_eq!(json["propagated"], false);
    let results = json["names"][0]["hops"][0]["results"].as_array().unwrap();
    let statuses: Vec<(&str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["address"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [("127.0.38.2", "match"), ("127.0.38.3", "nxdomain")]
    );
    let run = check(&["web"]);
    run.expect_code(1);
    assert!(
        run.stdout()
            .contains("_acme-challenge.www.example.test  want"),
        "{}",
        run.stdout()
    );

    lagging.update(&current.clone().serial(2));
    check(&["example.test", "--expect-txt", APEX_TOKEN]).expect_code(0);
    let run = check(&["example.test", "--json"]);
    run.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).expect("JSON");
    assert_eq!(json["propagated"], true);
}

#[test]
fn check_in_recursive_mode_asks_only_the_resolver() {
    let net = 28;
    if !dns_tree::available(net) {
        return;
    }
    let (_others, _lagging, _) = lagging_tree(net);
    let wd = check_workdir();
    // Each server of the tree in turn plays "the resolver" (it answers for its own zone).
    for (server, code, word) in [(2, 0, "visible"), (3, 1, "NOT visible")] {
        let resolver = ip(net, server).to_string();
        let run = wd.run(&[
            "--resolver",
            &resolver,
            "--propagation",
            "recursive",
            "check",
            "example.test",
            "--expect-txt",
            APEX_TOKEN,
        ]);
        run.expect_code(code);
        let line = format!("_acme-challenge.example.test: {word} through the resolvers");
        assert!(run.stdout().contains(&line), "{}", run.stdout());
    }
    let resolver = ip(net, 2).to_string();
    let run = wd.run(&[
        "--resolver",
        &resolver,
        "--propagation",
        "recursive",
        "check",
        "example.test",
        "--json",
    ]);
    run.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).expect("JSON");
    assert_eq!(
        (json["mode"].as_str(), json["propagated"].as_bool()),
        (Some("recursive"), Some(true))
    );
    assert_eq!(json["names"][0]["values"][0], APEX_TOKEN);
}

#[test]
fn check_watch_polls_until_propagated() {
    let net = 39;
    if !dns_tree::available(net) {
        return;
    }
    let (_others, lagging, current) = lagging_tree(net);
    let wd = check_workdir();
    let resolver = ip(net, 1).to_string();
    let dir = wd.path().to_str().unwrap();
    let mut watch = std::process::Command::new(env!("CARGO_BIN_EXE_certpilot"))
        .args([
            "--dir",
            dir,
            "--resolver",
            &resolver,
            "check",
            "example.test",
        ])
        .args(["--expect-txt", APEX_TOKEN, "--watch"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(watch.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("NOT propagated") {
        let read = std::io::BufRead::read_line(&mut stdout, &mut seen).unwrap();
        assert!(read > 0, "--watch ended early:\n{seen}");
    }
    lagging.update(&current.clone().serial(2));
    let reader = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
        rest
    });
    let mut status = None;
    common::wait_for("check --watch to exit", Duration::from_secs(30), || {
        status = watch.try_wait().unwrap();
        status.is_some()
    });
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    assert!(reader
        .join()
        .unwrap()
        .contains("propagated: all 2 address(es)"));
}

#[test]
fn issuing_through_challtestsrv_in_the_default_mode_fails_at_once_with_a_way_out() {
    // pebble-challtestsrv answers NOTIMP to SOA: authoritative discovery cannot work there,
    // and the run must say so at once (not after the propagation timeout).
    if !common::require_tool("pebble") {
        return;
    }
    let Some(pebble) = common::pebble::Pebble::start(common::pebble::PebbleOptions::default())
    else {
        return;
    };
    let mut wd = common::Workdir::new("notimp");
    wd.env("CHALLTESTSRV", &pebble.challtestsrv)
        .env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
    wd.add_pebble_account(&pebble.directory, &[]);
    wd.set_exec_solver(&common::hook_path());
    wd.run(&["cert", "add", "web", "--name", "web.example.test"])
        .ok();
    let run = wd.run(&["--resolver", &pebble.dns, "issue", "web"]);
    run.expect_code(1);
    let want = format!(
        "zone discovery for _acme-challenge.web.example.test failed: {} answered NOTIMP to SOA; use --propagation recursive",
        pebble.dns
    );
    assert!(run.stderr().contains(&want), "{}", run.stderr());
    assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
    assert!(!wd.path().join("certificates/web").exists());
}

/// Whether the lines show these steps in this order.
fn in_order(seen: &[String], steps: &[&str]) -> bool {
    let positions: Vec<Option<usize>> = steps
        .iter()
        .map(|step| seen.iter().position(|l| l.contains(step)))
        .collect();
    positions.iter().all(Option::is_some) && positions.windows(2).all(|w| w[0] < w[1])
}

#[test]
fn issuance_answers_the_ca_only_once_every_authoritative_server_has_the_record() {
    let net = 29;
    if !dns_tree::available(net) || !common::require_tool("pebble") {
        return;
    }
    let empty = example(net, 1, &[]);
    let _parent = Knot::start(ip(net, 1), &[parent(net, &[])], &[]);
    let ns1 = Knot::start(ip(net, 2), std::slice::from_ref(&empty), &[]);
    let ns2 = Knot::start(ip(net, 3), std::slice::from_ref(&empty), &[]);
    // The CA asks ns1 directly (authoritative answers need no recursion).
    let options = common::pebble::PebbleOptions::default();
    let Some(pebble) =
        common::pebble::Pebble::start_with_dns(options, &format!("{}:53", ip(net, 2)))
    else {
        return;
    };
    let (wd, published) = recording_workdir(
        &pebble,
        "authoritative",
        &["example.test", "*.example.test"],
    );
    let resolver = ip(net, 1).to_string();
    let (mut issue, lines) = spawn_with_lines(&wd, &["--resolver", &resolver, "issue", "web"]);
    let mut seen = Vec::new();

    expect_line(&lines, &mut seen, "nothing ready", |l| {
        l.contains("NOT propagated (0/2")
    });
    let records = std::fs::read_to_string(&published).unwrap();
    assert_eq!(
        records.lines().count(),
        2,
        "apex and wildcard share one owner: {records}"
    );
    let zone = records.lines().fold(empty.serial(2), ZoneFile::with);
    ns1.update(&zone);
    expect_line(&lines, &mut seen, "ns2 alone holding back", |l| {
        l.contains("NOT propagated (1/2") && l.contains("waits on ns2.example.test")
    });
    assert!(
        !seen.iter().any(|l| l.contains("challenges answered")),
        "{seen:#?}"
    );
    ns2.update(&zone);
    expect_line(&lines, &mut seen, "stored", |l| {
        l.contains("stored (serial")
    });
    assert_eq!(
        wait_exit(&mut issue),
        Some(0),
        "{seen:#?}\n{}",
        pebble.log()
    );
    let steps = [
        "record(s) published",
        "propagated: all 2",
        "records visible",
        "challenges answered",
    ];
    assert!(in_order(&seen, &steps), "{seen:#?}");
}
