//! Load driver for certpilot's acme-dns server (run by `scripts/bench-acmedns.sh`): registers
//! accounts, runs concurrent `/update` calls (each account's in order) while DNS workers query
//! the TXT records over UDP, then queries alone, then checks that every account serves exactly
//! its last two values. Prints `key=value` lines; exits 1 if anything was lost or a
//! registration failed (a failed one is counted and replaced, so the run goes on). Options:
//! `[--http URL --dns ADDR] [--accounts 40] [--updates 6] [--concurrency 16] [--queries 20000]
//! [--bcrypt-cost 10] [--tcp-queries 20000] [--http-timeout 60]` (seconds per HTTP request:
//! at bcrypt cost 10 a 1,000-deep queue takes longer than 60 s to drain); without
//! `--http`/`--dns` the server runs in-process. Latencies are reported as p50/p99 per phase;
//! DNS over TCP keeps one connection per worker (`--concurrency` of them at once).
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[path = "acmedns_load/measure.rs"]
mod measure;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};

struct Options {
    http: Option<String>,
    dns: Option<SocketAddr>,
    accounts: usize,
    updates: usize,
    concurrency: usize,
    queries: u64,
    tcp_queries: u64,
    bcrypt_cost: u32,
    http_timeout: u64,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct Account {
    username: String,
    password: String,
    fulldomain: String,
    subdomain: String,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        http: None,
        dns: None,
        accounts: 40,
        updates: 6,
        concurrency: 16,
        queries: 20_000,
        tcp_queries: 20_000,
        bcrypt_cost: 10,
        http_timeout: 60,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--http" => options.http = Some(value.trim_end_matches('/').to_owned()),
            "--dns" => options.dns = Some(value.parse().map_err(|e| bad(&e))?),
            "--accounts" => options.accounts = value.parse().map_err(|e| bad(&e))?,
            "--updates" => options.updates = value.parse().map_err(|e| bad(&e))?,
            "--concurrency" => options.concurrency = value.parse().map_err(|e| bad(&e))?,
            "--queries" => options.queries = value.parse().map_err(|e| bad(&e))?,
            "--tcp-queries" => options.tcp_queries = value.parse().map_err(|e| bad(&e))?,
            "--bcrypt-cost" => options.bcrypt_cost = value.parse().map_err(|e| bad(&e))?,
            "--http-timeout" => options.http_timeout = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    options.concurrency = options.concurrency.max(1);
    Ok(options)
}

/// A distinct 43-character value per (account, sequence number).
fn value(account: usize, seq: usize) -> String {
    format!("a{account:06}-s{seq:06}-{}", "x".repeat(27))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(message) => {
            eprintln!("acmedns_load: {message}");
            std::process::ExitCode::from(2)
        }
    }
}

type Target = (Option<certpilot::server::RunningServer>, String, SocketAddr);

/// The server to load: the one given, or a fresh in-process one.
async fn target(options: &Options, dir: &std::path::Path) -> Result<Target, String> {
    match (&options.http, options.dns) {
        (Some(http), Some(dns)) => Ok((None, http.clone(), dns)),
        (None, None) => {
            let db = dir.join("load.db");
            let mut config = certpilot::server::ServerConfig::new("auth.example.test", db);
            config.bcrypt_cost = options.bcrypt_cost;
            let server = certpilot::server::start(config)
                .await
                .map_err(|e| e.to_string())?;
            let http = format!("http://{}", server.http_addr());
            let dns = server.dns_udp_addrs()[0];
            Ok((Some(server), http, dns))
        }
        _ => Err("give both --http and --dns, or neither".into()),
    }
}

async fn run() -> Result<bool, String> {
    let options = parse_options()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (server, http, dns) = target(&options, dir.path()).await?;
    println!("in_process={}", server.is_some());
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(options.concurrency)
        .timeout(Duration::from_secs(options.http_timeout))
        .build()
        .map_err(|e| e.to_string())?;
    let (accounts, registrations_failed) = register_all(&client, &http, &options).await?;
    let names: Vec<String> = accounts
        .iter()
        .map(|a| format!("{}.", a.fulldomain))
        .collect();
    let names = Arc::new(names);

    let (updates, mixed) = mixed_phase(&client, &http, dns, &accounts, &names, &options).await;
    let workers = options.concurrency;
    let per_worker = options.queries.div_ceil(workers as u64);
    let never = Arc::new(AtomicBool::new(false));
    let alone = queries(dns, Arc::clone(&names), workers, Some(per_worker), never).await;
    let mut tcp = measure::tcp_queries(dns, Arc::clone(&names), workers, options.tcp_queries).await;
    let lost = verify(dns, &accounts, options.updates).await;

    let (ok, failed, per_s) = (
        updates.ok,
        updates.failed,
        rate(updates.ok, updates.elapsed),
    );
    println!("updates_ok={ok} updates_failed={failed} updates_per_s={per_s:.1}");
    let mut update_latencies = updates.latencies;
    measure::report_latency("updates", &mut update_latencies);
    mixed.report("mixed_queries");
    let mut alone = alone;
    alone.report("queries");
    measure::report_latency("queries", &mut alone.latencies);
    println!(
        "tcp_queries={} tcp_queries_per_s={:.0} tcp_queries_failed={} tcp_reconnects={}",
        tcp.answered,
        rate(tcp.answered, tcp.elapsed),
        tcp.failed,
        tcp.reconnects
    );
    measure::report_latency("tcp_queries", &mut tcp.latencies);
    println!(
        "accounts_checked={} accounts_lost_values={lost}",
        accounts.len()
    );
    if let Some(server) = server {
        server.shutdown().await.map_err(|e| e.to_string())?;
    }
    Ok(registrations_failed == 0
        && lost == 0
        && updates.failed == 0
        && alone.unanswered == 0
        && tcp.failed == 0)
}

fn rate(count: u64, elapsed: Duration) -> f64 {
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let count = count as f64;
    count / elapsed.as_secs_f64().max(1e-9)
}

async fn register_all(
    client: &reqwest::Client,
    http: &str,
    options: &Options,
) -> Result<(Vec<Account>, u64), String> {
    let started = Instant::now();
    let (mut accounts, mut failed) = (Vec::with_capacity(options.accounts), 0u64);
    while accounts.len() < options.accounts {
        let batch = options.concurrency.min(options.accounts - accounts.len());
        let requests = (0..batch).map(|_| async {
            let sent = client
                .post(format!("{http}/register"))
                .body("{}")
                .send()
                .await;
            match sent {
                Ok(r) if r.status().as_u16() == 201 => {
                    r.json::<Account>().await.map_err(|e| e.to_string())
                }
                Ok(r) => Err(format!("status {}", r.status())),
                Err(e) => Err(format!("{e:?}")),
            }
        });
        // A failed registration is counted and replaced by one more in the next batch; only a
        // batch with no success at all ends the run.
        let mut any = false;
        for account in futures::future::join_all(requests).await {
            match account {
                Ok(account) => {
                    accounts.push(account);
                    any = true;
                }
                Err(e) => {
                    failed += 1;
                    if failed <= 3 {
                        eprintln!("acmedns_load: a registration failed: {e}");
                    }
                }
            }
        }
        if !any {
            return Err("a whole batch of registrations failed".into());
        }
    }
    println!(
        "registrations={} registrations_per_s={:.1} registrations_failed={failed}",
        accounts.len(),
        rate(accounts.len() as u64, started.elapsed())
    );
    Ok((accounts, failed))
}

struct UpdateStats {
    ok: u64,
    failed: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

struct QueryStats {
    answered: u64,
    unanswered: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl QueryStats {
    fn report(&self, label: &str) {
        let per_s = rate(self.answered, self.elapsed);
        println!(
            "{label}={} {label}_per_s={per_s:.0} {label}_unanswered={}",
            self.answered, self.unanswered
        );
    }
}

/// Updates (each account in order; accounts spread over `concurrency` tasks) with DNS
/// workers querying until the updates are done.
async fn mixed_phase(
    client: &reqwest::Client,
    http: &str,
    dns: SocketAddr,
    accounts: &[Account],
    names: &Arc<Vec<String>>,
    options: &Options,
) -> (UpdateStats, QueryStats) {
    let done = Arc::new(AtomicBool::new(false));
    let query_workers = (options.concurrency / 4).max(1);
    let queries = tokio::spawn(queries(
        dns,
        Arc::clone(names),
        query_workers,
        None,
        Arc::clone(&done),
    ));
    let started = Instant::now();
    let tasks = (0..options.concurrency).map(|worker| {
        let mine: Vec<(usize, Account)> = accounts
            .iter()
            .cloned()
            .enumerate()
            .filter(|(i, _)| i % options.concurrency == worker)
            .collect();
        tokio::spawn(update_worker(
            client.clone(),
            http.to_owned(),
            mine,
            options.updates,
        ))
    });
    let results = futures::future::join_all(tasks).await;
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
    for result in results {
        match result {
            Ok((o, f, l)) => {
                ok += o;
                failed += f;
                latencies.extend(l);
            }
            Err(_) => failed += 1,
        }
    }
    let query_stats = queries.await.unwrap_or(QueryStats {
        answered: 0,
        unanswered: 1,
        elapsed,
        latencies: Vec::new(),
    });
    (
        UpdateStats {
            ok,
            failed,
            elapsed,
            latencies,
        },
        query_stats,
    )
}

/// `updates` rounds over `mine`, one update per account per round: (ok, failed).
async fn update_worker(
    client: reqwest::Client,
    http: String,
    mine: Vec<(usize, Account)>,
    updates: usize,
) -> (u64, u64, Vec<Duration>) {
    let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
    for seq in 0..updates {
        for (index, account) in &mine {
            let txt = value(*index, seq);
            let body = format!(r#"{{"subdomain":"{}","txt":"{txt}"}}"#, account.subdomain);
            let started = Instant::now();
            let sent = client
                .post(format!("{http}/update"))
                .header("X-Api-User", &account.username)
                .header("X-Api-Key", &account.password)
                .body(body)
                .send()
                .await;
            if sent.is_ok_and(|r| r.status().as_u16() == 200) {
                ok += 1;
                latencies.push(started.elapsed());
            } else {
                failed += 1;
            }
        }
    }
    (ok, failed, latencies)
}

/// One TXT query over UDP with up to three tries of 1 s each.
async fn ask(
    socket: &tokio::net::UdpSocket,
    dns: SocketAddr,
    name: &str,
    buf: &mut [u8],
) -> Option<Message> {
    let mut message = Message::query();
    message.add_query(Query::query(Name::from_ascii(name).ok()?, RecordType::TXT));
    let bytes = message.to_vec().ok()?;
    for _ in 0..3 {
        socket.send_to(&bytes, dns).await.ok()?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, socket.recv(buf)).await {
            match Message::from_vec(&buf[..n]) {
                Ok(reply) if reply.metadata.id == message.metadata.id => return Some(reply),
                _ => {} // a late answer to an earlier try
            }
        }
    }
    None
}

async fn query_worker(
    dns: SocketAddr,
    names: Arc<Vec<String>>,
    worker: usize,
    limit: Option<u64>,
    done: Arc<AtomicBool>,
) -> (u64, u64, Vec<Duration>) {
    let Ok(socket) = tokio::net::UdpSocket::bind("127.0.0.1:0").await else {
        return (0, 1, Vec::new());
    };
    let (mut answered, mut unanswered, mut latencies) = (0, 0, Vec::new());
    let mut buf = vec![0u8; 4096];
    let mut i = worker;
    while limit.map_or(!done.load(Ordering::Relaxed), |l| answered + unanswered < l) {
        let name = &names[i % names.len()];
        i += 7;
        let started = Instant::now();
        if ask(&socket, dns, name, &mut buf).await.is_some() {
            answered += 1;
            latencies.push(started.elapsed());
        } else {
            unanswered += 1;
        }
    }
    (answered, unanswered, latencies)
}

/// `workers` query tasks, each sending `per_worker` queries, or until `done` when `None`.
async fn queries(
    dns: SocketAddr,
    names: Arc<Vec<String>>,
    workers: usize,
    per_worker: Option<u64>,
    done: Arc<AtomicBool>,
) -> QueryStats {
    let started = Instant::now();
    let tasks = (0..workers).map(|w| {
        let (names, done) = (Arc::clone(&names), Arc::clone(&done));
        tokio::spawn(query_worker(dns, names, w, per_worker, done))
    });
    let results = futures::future::join_all(tasks).await;
    let elapsed = started.elapsed();
    let mut stats = QueryStats {
        answered: 0,
        unanswered: 0,
        elapsed,
        latencies: Vec::new(),
    };
    for result in results {
        let (answered, unanswered, latencies) = result.unwrap_or((0, 1, Vec::new()));
        stats.answered += answered;
        stats.unanswered += unanswered;
        stats.latencies.extend(latencies);
    }
    stats
}

/// The TXT values in a reply, sorted.
fn txt_values(reply: Option<Message>) -> Vec<String> {
    let mut values: Vec<String> = reply.map_or_else(Vec::new, |reply| {
        let txt = |r: &hickory_proto::rr::Record| match &r.data {
            RData::TXT(txt) => Some(txt.to_string()),
            _ => None,
        };
        reply.answers.iter().filter_map(txt).collect()
    });
    values.sort();
    values
}

/// Accounts whose served TXT set is not the last two values written (the first few named).
async fn verify(dns: SocketAddr, accounts: &[Account], updates: usize) -> usize {
    let Ok(socket) = tokio::net::UdpSocket::bind("127.0.0.1:0").await else {
        return accounts.len();
    };
    let mut buf = vec![0u8; 4096];
    let mut lost = 0;
    for (index, account) in accounts.iter().enumerate() {
        let mut expected: Vec<String> = (updates.saturating_sub(2)..updates)
            .map(|seq| value(index, seq))
            .collect();
        expected.sort();
        let name = format!("{}.", account.fulldomain);
        let served = txt_values(ask(&socket, dns, &name, &mut buf).await);
        if served != expected {
            lost += 1;
            if lost <= 5 {
                eprintln!("acmedns_load: {name} serves {served:?}, expected {expected:?}");
            }
        }
    }
    lost
}
