//! `certpilot check NAME`: are the challenge records on every authoritative server yet?
//!
//! ```text
//! _acme-challenge.example.com  want TXT "abc"
//!   example.com: TXT at _acme-challenge.example.com
//!   SERVER            ADDRESS     STATUS   VALUES  TTL  SERIAL      RTT
//!   ns1.example.com   192.0.2.1   match    "abc"   60   2024010102  12.1ms
//!   ns2.example.com   192.0.2.2   missing  -       -    2024010101  30.4ms
//! hint: servers of example.com disagree on the SOA serial: ...
//! NOT propagated (1/2 address(es) ready): _acme-challenge.example.com waits on ns2.example.com ...
//! ```

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Env, Failure, Outcome};
use crate::acme::journal::JournalFile;
use crate::cli::CheckArgs;
use crate::dns::expect::{self, plain, Expectation};
use crate::dns::horizon::{CacheWait, Ledger};
use crate::dns::probe::{HopRule, ProbeResult};
use crate::dns::report::HopReport;
use crate::dns::visibility::Checker;
use crate::dns::{Mode, Prober, PropagationReport};
use crate::domain::names;

/// Pauses between `--watch` rounds grow from this...
const WATCH_FIRST: Duration = Duration::from_secs(1);
/// ...to this.
const WATCH_MAX: Duration = Duration::from_secs(15);
/// TXT values shown per cell before "+N more".
const VALUES_SHOWN: usize = 3;

/// One round's rendering and outcome.
struct Round {
    text: String,
    json: serde_json::Value,
    done: bool,
    permanent: Option<String>,
}

pub(super) async fn run(env: &Env, args: CheckArgs) -> Outcome {
    let mode = match &env.session.overrides().propagation {
        Some(text) => text
            .parse::<Mode>()
            .map_err(|e| Failure::Usage(e.to_string()))?,
        None => Mode::Authoritative,
    };
    let expectations = expectations(env, &args)?;
    let writers = writers(env, &expectations);
    let with_writers = |mut round: Round| {
        round.text.insert_str(0, &writers);
        round
    };
    let owners: Vec<String> = expectations.iter().map(|e| e.owner.clone()).collect();
    let ledger = Ledger::new(&env.paths.state);
    let cap = Duration::from_secs(env.config.settings.max_cache_wait);
    let caches = || ledger.horizon(&owners, OffsetDateTime::now_utc(), cap);
    match mode {
        Mode::Authoritative => {
            let ignored: Vec<String> = env
                .global
                .ignore_servers
                .iter()
                .chain(&env.config.settings.ignore_servers)
                .cloned()
                .collect();
            let prober = Prober::new(&env.resolvers())
                .map_err(|e| Failure::Usage(e.to_string()))?
                .ignoring(&ignored)
                .on_port(env.config.settings.authoritative_port);
            rounds(&args, || async {
                let report = prober.check(&expectations).await;
                with_writers(authoritative_round(&report, &caches()))
            })
            .await
        }
        Mode::Recursive => {
            let checker = env.checker()?;
            rounds(&args, || async {
                with_writers(recursive_round(&checker, &expectations).await)
            })
            .await
        }
        Mode::Wait(_) | Mode::Skip => Err(Failure::Usage(format!(
            "`check` checks; --propagation {mode} only applies to issuance (use authoritative or recursive)"
        ))),
    }
}

/// Which solver writes the records: one line per configured domain the names fall under.
fn writers(env: &Env, expectations: &[Expectation]) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let mut text = String::new();
    for e in expectations {
        let owner = e.owner.trim_end_matches('.');
        let base = owner.strip_prefix("_acme-challenge.").unwrap_or(owner);
        if let Some((domain, cfg)) = env.config.solver_for(base) {
            if seen.insert(domain) {
                let target = cfg.target().map(|t| format!(" {t}")).unwrap_or_default();
                let _ = writeln!(text, "writer: {domain} records by {}{target}", cfg.kind());
            }
        }
    }
    text
}

/// NAME as a certificate (all its challenge owners) or a domain (its `_acme-challenge`).
fn expectations(env: &Env, args: &CheckArgs) -> Result<Vec<Expectation>, Failure> {
    let cname = match &args.expect_cname {
        Some(target) => {
            let target = plain(target);
            hickory_proto::rr::Name::from_ascii(&target).map_err(|e| {
                Failure::Usage(format!("--expect-cname {target:?} is not a DNS name: {e}"))
            })?;
            Some(target)
        }
        None => None,
    };
    if let Some(cert) = env.config.certificates.get(&args.name) {
        if args.expect_txt.is_empty() && cname.is_none() {
            if let Some(pending) = pending_values(env, &args.name) {
                return Ok(pending);
            }
        }
        let mut list = expect::for_names(&env.config, &cert.names, &args.expect_txt);
        if cname.is_some() {
            if list.len() > 1 {
                return Err(Failure::Usage(format!(
                    "certificate {:?} has {} challenge names: --expect-cname applies to one domain; check them one by one",
                    args.name,
                    list.len()
                )));
            }
            for e in &mut list {
                e.cname.clone_from(&cname);
            }
        }
        return Ok(list);
    }
    let domain = args
        .name
        .strip_prefix("_acme-challenge.")
        .unwrap_or(&args.name);
    let domain = names::normalize(domain).map_err(|e| {
        Failure::Usage(format!(
            "{:?} is neither a configured certificate nor a domain: {e}",
            args.name
        ))
    })?;
    let cname = cname.or_else(|| expect::configured_cname(&env.config, &domain));
    Ok(vec![Expectation::new(
        &names::challenge_owner(&domain),
        args.expect_txt.clone(),
        cname.as_deref(),
    )])
}

/// The values an issuance of `cert` in progress (or interrupted) waits for, from its journal.
fn pending_values(env: &Env, cert: &str) -> Option<Vec<Expectation>> {
    let journal = JournalFile::new(&env.paths.state, cert).load().ok()??;
    if journal.records.is_empty() {
        return None;
    }
    eprintln!(
        "{cert}: checking the values of the pending issuance ({})",
        journal
            .order_url
            .as_deref()
            .unwrap_or("order not created yet")
    );
    let records = journal
        .records
        .iter()
        .map(|r| (r.identifier.as_str(), r.value.as_str()));
    Some(expect::for_records(&env.config, records))
}

/// Run one round, or (`--watch`) rounds with growing pauses until done or Ctrl-C.
async fn rounds<F, Fut>(args: &CheckArgs, round: F) -> Outcome
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Round>,
{
    let redraw = args.watch && !args.json && std::io::stdout().is_terminal();
    let mut delay = WATCH_FIRST;
    loop {
        let this = tokio::select! {
            this = round() => this,
            _ = tokio::signal::ctrl_c() => return Err(interrupted()),
        };
        show(&this, args, redraw);
        if this.done {
            return Ok(());
        }
        if let Some(error) = this.permanent {
            return Err(Failure::Failed(error));
        }
        if !args.watch {
            return Err(Failure::Failed("not propagated yet".into()));
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = tokio::signal::ctrl_c() => return Err(interrupted()),
        }
        delay = (delay * 3 / 2).min(WATCH_MAX);
    }
}

fn interrupted() -> Failure {
    Failure::Failed("interrupted: not propagated yet".into())
}

fn show(round: &Round, args: &CheckArgs, redraw: bool) {
    let mut out = std::io::stdout().lock();
    let text = if args.json {
        // One document per round; `--watch --json` gives JSON lines.
        let json = if args.watch {
            round.json.to_string()
        } else {
            serde_json::to_string_pretty(&round.json).unwrap_or_default()
        };
        format!("{json}\n")
    } else if redraw {
        // Home and clear: the table is redrawn in place.
        format!("\x1b[H\x1b[2J{}", round.text)
    } else {
        round.text.clone()
    };
    // A closed stdout (a pager quit) is not the check's failure.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// One authoritative round, and the names whose previous answer resolvers may still hold:
/// until those expire the CA may not see the records, propagated or not.
fn authoritative_round(report: &PropagationReport, caches: &[CacheWait]) -> Round {
    let mut text = render(report);
    let now = OffsetDateTime::now_utc();
    for wait in caches {
        let _ = writeln!(text, "cache: {}", wait.reason(now));
    }
    let mut json = serde_json::to_value(report).unwrap_or_default();
    if let Some(object) = json.as_object_mut() {
        let rows: Vec<serde_json::Value> = caches
            .iter()
            .map(|w| {
                serde_json::json!({
                    "owner": w.owner, "ttl": w.ttl, "until": w.until.format(&Rfc3339).unwrap_or_default(),
                    "remaining_s": w.remaining(now).as_secs(), "capped": w.capped, "reason": w.reason(now),
                })
            })
            .collect();
        object.insert("cache_horizon".into(), rows.into());
    }
    Round {
        text,
        json,
        done: report.propagated && caches.is_empty(),
        permanent: report.permanent_error().map(str::to_owned),
    }
}

async fn recursive_round(checker: &Checker, expectations: &[Expectation]) -> Round {
    let mut text = String::new();
    let mut rows = Vec::new();
    let mut done = true;
    for e in expectations {
        let (values, error) = match checker.txt_values(&e.owner).await {
            Ok(values) => (values.into_iter().collect::<Vec<_>>(), None),
            Err(error) => (Vec::new(), Some(error)),
        };
        let visible = if e.txt.is_empty() {
            !values.is_empty()
        } else {
            e.txt.iter().all(|v| values.contains(v))
        };
        done &= visible;
        let shown = error.clone().unwrap_or_else(|| quoted(&values));
        let word = if visible { "visible" } else { "NOT visible" };
        let _ = writeln!(text, "{}: {word} through the resolvers: {shown}", e.owner);
        rows.push(serde_json::json!({
            "owner": e.owner, "expected": e.txt, "values": values, "visible": visible, "error": error,
        }));
    }
    Round {
        text,
        json: serde_json::json!({ "mode": "recursive", "propagated": done, "names": rows }),
        done,
        permanent: None,
    }
}

fn quoted(values: &[String]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let mut shown: Vec<String> = values
        .iter()
        .take(VALUES_SHOWN)
        .map(|v| format!("{v:?}"))
        .collect();
    if values.len() > VALUES_SHOWN {
        shown.push(format!("+{} more", values.len() - VALUES_SHOWN));
    }
    shown.join(" ")
}

/// The human report: per name, per hop, a table of server × address; hints; the verdict.
fn render(report: &PropagationReport) -> String {
    let mut out = String::new();
    for name in &report.names {
        let e = &name.expected;
        let mut want = Vec::new();
        if let Some(target) = &e.cname {
            want.push(format!("CNAME {target}"));
        }
        want.push(if e.txt.is_empty() {
            "TXT (any value, on every server)".to_owned()
        } else {
            format!("TXT {}", quoted(&e.txt))
        });
        let _ = writeln!(out, "{}  want {}", e.owner, want.join(", then "));
        for hop in &name.hops {
            render_hop(&mut out, hop);
        }
        if let Some(error) = &name.error {
            let _ = writeln!(out, "  error: {error}");
        }
    }
    for hint in report.all_hints() {
        let _ = writeln!(out, "hint: {hint}");
    }
    let _ = writeln!(
        out,
        "{} [{} queries, {} ms]",
        report.verdict(),
        report.queries,
        report.elapsed_ms
    );
    out
}

fn render_hop(out: &mut String, hop: &HopReport) {
    let what = match (&hop.rule, &hop.leads_to) {
        (HopRule::Cname { target }, _) => format!("CNAME {} -> {target}", hop.name),
        (HopRule::Txt { .. }, Some(target)) => format!("{} is a CNAME -> {target}", hop.name),
        (HopRule::Txt { .. }, None) => format!("TXT at {}", hop.name),
    };
    let servers = hop.zone.servers.len();
    let _ = writeln!(out, "  {}: {what} ({servers} server(s))", hop.zone.apex);
    let mut rows = vec![[
        "SERVER", "ADDRESS", "STATUS", "VALUES", "TTL", "SERIAL", "RTT",
    ]
    .map(str::to_owned)];
    rows.extend(hop.results.iter().map(|r| {
        let mut cells = row(r);
        let label = hop
            .zone
            .servers
            .iter()
            .find(|s| s.host == r.server)
            .and_then(|s| s.listing.label());
        if let Some(label) = label {
            cells[0] = format!("{} ({label})", cells[0]);
        }
        cells
    }));
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
}

fn row(r: &ProbeResult) -> [String; 7] {
    let dash = || "-".to_owned();
    let values = match (&r.cname, &r.detail) {
        (Some(target), _) if r.values.is_empty() => format!("-> {target}"),
        (Some(target), _) => format!("-> {target} + {}", quoted(&r.values)),
        (None, Some(detail)) if r.values.is_empty() => format!("({detail})"),
        _ => quoted(&r.values),
    };
    let rtt = r.rtt_us.map_or_else(dash, |us| {
        #[allow(clippy::cast_precision_loss)] // microseconds of one query fit f64 exactly
        let ms = us as f64 / 1000.0;
        format!("{ms:.1}ms{}", if r.tcp { " tcp" } else { "" })
    });
    [
        r.server.clone(),
        r.address.to_string(),
        r.status.to_string(),
        values,
        r.ttl.map_or_else(dash, |t| t.to_string()),
        r.serial.map_or_else(dash, |s| s.to_string()),
        rtt,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::probe::Status;
    use crate::dns::report::NameReport;
    use crate::dns::zone::{NameServer, ServerAddress, Zone};

    fn result(
        server: &str,
        ip: [u8; 4],
        status: Status,
        values: &[&str],
        serial: u32,
    ) -> ProbeResult {
        ProbeResult {
            server: server.into(),
            address: ip.into(),
            status,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            cname: None,
            ttl: (!values.is_empty()).then_some(60),
            serial: Some(serial),
            primary: None,
            negative_ttl: None,
            rtt_us: Some(1250),
            tcp: false,
            beside_cname: false,
            detail: None,
        }
    }

    fn report(results: Vec<ProbeResult>) -> PropagationReport {
        let expected = Expectation::new("_acme-challenge.example.com", vec!["abc".into()], None);
        let zone = Zone {
            apex: "example.com".into(),
            servers: results
                .iter()
                .map(|r| NameServer {
                    host: r.server.clone(),
                    addresses: vec![ServerAddress {
                        ip: r.address,
                        glue: true,
                    }],
                    problem: None,
                    listing: crate::dns::delegation::Listing::default(),
                })
                .collect(),
        };
        let mut name = NameReport::new(&expected);
        name.hops.push(HopReport {
            name: expected.owner.clone(),
            zone,
            rule: expected.first_rule(),
            leads_to: None,
            results,
        });
        PropagationReport::new(vec![name], Vec::new(), 4, 3)
    }

    #[test]
    fn the_table_shows_every_address_and_the_verdict() {
        let cases = [
            (
                vec![
                    result("ns1.example.com", [192, 0, 2, 1], Status::Match, &["abc"], 2),
                    result("ns2.example.com", [192, 0, 2, 2], Status::Missing, &[], 1),
                ],
                vec![
                    "_acme-challenge.example.com  want TXT \"abc\"",
                    "  example.com: TXT at _acme-challenge.example.com (2 server(s))",
                    "  SERVER           ADDRESS    STATUS   VALUES  TTL  SERIAL  RTT",
                    "  ns1.example.com  192.0.2.1  match    \"abc\"   60   2       1.2ms",
                    "  ns2.example.com  192.0.2.2  missing  -       -    1       1.2ms",
                    "NOT propagated (1/2 address(es) ready): _acme-challenge.example.com waits on ns2.example.com 192.0.2.2 missing [4 queries, 3 ms]",
                ],
            ),
            (
                vec![result("ns1.example.com", [192, 0, 2, 1], Status::Match, &["abc", "d", "e", "f"], 2)],
                vec![
                    "_acme-challenge.example.com  want TXT \"abc\"",
                    "  example.com: TXT at _acme-challenge.example.com (1 server(s))",
                    "  SERVER           ADDRESS    STATUS  VALUES                 TTL  SERIAL  RTT",
                    "  ns1.example.com  192.0.2.1  match   \"abc\" \"d\" \"e\" +1 more  60   2       1.2ms",
                    "propagated: all 1 address(es) of every authoritative server serve the expected records [4 queries, 3 ms]",
                ],
            ),
        ];
        for (results, want) in cases {
            let got = render(&report(results));
            assert_eq!(got.lines().collect::<Vec<_>>(), want);
        }
    }
}
