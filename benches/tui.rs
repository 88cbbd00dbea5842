//! TUI benchmark (figures, not pass/fail): run with
//! `cargo test --release --bench tui -- --nocapture --test-threads=1`.
//! (`cargo bench` would skip these: the crate has no `harness = false` bench target.)
//!
//! - first frame with 1,000 certificates: reading the inventory from disk (config +
//!   1,000 metadata files), `update` (sort, filter) and the first render (target ≤ 100 ms);
//! - one frame with 1,000 rows (target ≤ 5 ms);
//! - key-to-screen latency while an issuance and a propagation watch stream events, through
//!   the same channels, batching, `update` and render as the app loop (target ≤ 50 ms).
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use certpilot::acme::Step;
use certpilot::cert::store::{CertMeta, CertStore};
use certpilot::cli::GlobalArgs;
use certpilot::config::{CertConfig, Config, DomainConfig};
use certpilot::dns::probe::{HopRule, ProbeResult, Status};
use certpilot::dns::zone::{NameServer, ServerAddress, Zone};
use certpilot::dns::ProbeEvent;
use certpilot::jobs::inventory::{self, Inventory};
use certpilot::jobs::logs::{LogLine, Severity};
use certpilot::jobs::{Context, Event, JobId, Tagged};
use certpilot::paths::Paths;
use certpilot::tui::action::Action;
use certpilot::tui::state::State;
use certpilot::tui::theme::Theme;
use certpilot::tui::update::{update, Effect, Msg};
use certpilot::tui::views;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use time::OffsetDateTime;
use tokio::sync::mpsc;

const CERTS: usize = 1_000;

fn global() -> GlobalArgs {
    GlobalArgs {
        dir: None,
        keystore: None,
        resolvers: Vec::new(),
        ca_bundle: None,
        propagation_timeout: None,
        ca_timeout: 180,
        propagation: None,
        theme: None,
        ignore_servers: Vec::new(),
    }
}

/// A working directory with 1,000 configured certificates, 900 of them issued.
fn workdir() -> (tempfile::TempDir, Context) {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = Paths::working_dir(dir.path());
    let mut config = Config::default();
    config
        .domains
        .insert("example.com".into(), DomainConfig::Manual);
    let store = CertStore::new(&paths.certificates);
    let now = OffsetDateTime::now_utc();
    for i in 0..CERTS {
        let name = format!("cert-{i:04}");
        let names = vec![
            format!("{name}.example.com"),
            format!("www.{name}.example.com"),
        ];
        config.certificates.insert(
            name.clone(),
            CertConfig {
                names: names.clone(),
                account: None,
                key_type: certpilot::config::KeyType::default(),
                renew_days: None,
                deploy_hook: None,
                export: None,
                profile: None,
            },
        );
        if i % 10 != 0 {
            let days = i64::try_from(i % 120).unwrap_or(0) - 10;
            let meta = CertMeta {
                name: name.clone(),
                names,
                account: "acme".into(),
                key_type: "ecdsa-p256".into(),
                key_id: format!("k{i}"),
                issued_at: now,
                not_before: now - time::Duration::days(30),
                not_after: now + time::Duration::days(days),
                order_url: "https://ca.example/order/1".into(),
                serial: format!("{i:032x}"),
                issuer: "Bench CA".into(),
                history: Vec::new(),
                revoked: None,
            };
            store
                .save(
                    &meta,
                    "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
                )
                .expect("save");
        }
    }
    certpilot::config::save(&paths.config_file, &config).expect("config");
    (dir, Context::new(paths, global().into()))
}

fn terminal(width: u16, height: u16) -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(width, height)).expect("terminal")
}

#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn stats(name: &str, mut samples: Vec<Duration>, target: Duration) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "{name:<48} n={:<5} median {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms  (target ≤ {} ms)",
        samples.len(),
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3,
        target.as_millis()
    );
}

/// The state once `inventory` arrived, on a `width`×`height` terminal.
fn loaded(inventory: Inventory, width: u16, height: u16) -> State {
    let mut state = State::new();
    update(&mut state, Msg::Resize(width, height));
    let id = match update(&mut state, Msg::Action(Action::Refresh)).as_slice() {
        [Effect::Start { id, .. }] => *id,
        other => panic!("{other:?}"),
    };
    let event = Event::InventoryLoaded(Ok(inventory));
    update(&mut state, Msg::Job(Tagged { id, event }));
    state
}

#[test]
fn first_frame_with_1000_certificates() {
    let (_dir, ctx) = workdir();
    let theme = Theme::builtin("default", false).expect("theme");
    let mut firsts = Vec::new();
    let mut loads = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let inventory = inventory::load(&ctx, OffsetDateTime::now_utc()).expect("load");
        loads.push(started.elapsed());
        let state = loaded(inventory, 120, 40);
        let mut term = terminal(120, 40);
        term.draw(|f| views::render(f, &state, &theme))
            .expect("draw");
        firsts.push(started.elapsed());
    }
    let target = Duration::from_millis(100);
    stats("inventory load (1,000 certificates, disk)", loads, target);
    stats(
        "first frame (load + update + render 120x40)",
        firsts,
        target,
    );
}

#[test]
fn frames_with_1000_rows() {
    let (_dir, ctx) = workdir();
    let theme = Theme::builtin("default", false).expect("theme");
    let inventory = inventory::load(&ctx, OffsetDateTime::now_utc()).expect("load");
    for (width, height) in [(80, 24), (120, 40), (200, 60)] {
        let mut state = loaded(inventory.clone(), width, height);
        let mut term = terminal(width, height);
        let mut frames = Vec::new();
        for n in 0..500 {
            let key = if n % 100 < 50 { 'j' } else { 'k' };
            let key = KeyEvent::new(KeyCode::Char(key), KeyModifiers::NONE);
            update(&mut state, Msg::Key(key));
            let started = Instant::now();
            term.draw(|f| views::render(f, &state, &theme))
                .expect("draw");
            frames.push(started.elapsed());
        }
        let name = format!("frame, 1,000 rows, {width}x{height}");
        stats(&name, frames, Duration::from_millis(5));
    }
}

fn ip(last: u8) -> IpAddr {
    IpAddr::from([192, 0, 2, last])
}

fn zone() -> Zone {
    Zone {
        apex: "example.com".into(),
        servers: (1..=4)
            .map(|n| NameServer {
                host: format!("ns{n}.example.com"),
                addresses: vec![ServerAddress {
                    ip: ip(n),
                    glue: true,
                }],
                problem: None,
                listing: Default::default(),
            })
            .collect(),
    }
}

fn answer(owner: &str, n: u8) -> ProbeEvent {
    ProbeEvent::NameserverAnswered {
        owner: owner.into(),
        hop: 0,
        result: ProbeResult {
            server: format!("ns{n}.example.com"),
            address: ip(n),
            status: if n % 2 == 0 {
                Status::Match
            } else {
                Status::Missing
            },
            values: vec!["tok".into()],
            cname: None,
            ttl: Some(60),
            serial: Some(7),
            primary: None,
            negative_ttl: None,
            rtt_us: Some(1_500),
            tcp: false,
            beside_cname: false,
            detail: None,
        },
    }
}

/// Background work as the runner would send it: a propagation watch answering 4 addresses ×
/// 8 names per round every 20 ms (~1,600 events/s), issuance progress, and log lines.
async fn produce(
    tx: mpsc::UnboundedSender<Tagged>,
    logs: mpsc::Sender<LogLine>,
    watch: JobId,
    issue: JobId,
) {
    let owners: Vec<String> = (0..8)
        .map(|i| format!("_acme-challenge.n{i}.example.com"))
        .collect();
    let mut round = 0_u64;
    loop {
        for owner in &owners {
            let discovered = ProbeEvent::ZoneDiscovered {
                owner: owner.clone(),
                hop: 0,
                name: owner.clone(),
                zone: zone(),
                rule: HopRule::Txt { values: Vec::new() },
            };
            let _ = tx.send(Tagged {
                id: watch,
                event: Event::Probe(discovered),
            });
            for n in 1..=4 {
                let _ = tx.send(Tagged {
                    id: watch,
                    event: Event::Probe(answer(owner, n)),
                });
            }
        }
        if round % 10 == 0 {
            let step = Step::RecordsVisible;
            let _ = tx.send(Tagged {
                id: issue,
                event: Event::IssueProgress {
                    step,
                    elapsed: Duration::from_millis(round),
                },
            });
        }
        let line = LogLine {
            time: "00:00:00".into(),
            severity: Severity::Debug,
            target: "bench".into(),
            text: format!("round {round}"),
        };
        let _ = logs.try_send(line);
        round += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A state with a running issuance (of the first certificate, its screen closed) and the
/// propagation matrix of that certificate open, the log pane shown.
fn busy(inventory: Inventory) -> (State, JobId, JobId) {
    let mut state = loaded(inventory, 120, 40);
    let key = |c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    let started = |effects: Vec<Effect>| match effects.as_slice() {
        [Effect::Start { id, .. }] => *id,
        other => panic!("{other:?}"),
    };
    let issue = started(update(&mut state, key('i')));
    // Esc asks the issuance to stop (the effect is not run here), Esc again leaves it.
    update(&mut state, Msg::Action(Action::Back));
    update(&mut state, Msg::Action(Action::Back));
    let watch = started(update(&mut state, key('c')));
    update(&mut state, key('l'));
    (state, issue, watch)
}

/// 400 keys, 7-11 ms apart, each stamped with when it was pressed.
async fn type_keys(tx: mpsc::Sender<(Instant, KeyEvent)>) {
    for n in 0..400_u64 {
        tokio::time::sleep(Duration::from_millis(7 + n % 5)).await;
        let code = if n % 2 == 0 {
            KeyCode::Char('j')
        } else {
            KeyCode::Char('k')
        };
        let key = KeyEvent::new(code, KeyModifiers::NONE);
        if tx.send((Instant::now(), key)).await.is_err() {
            break;
        }
    }
}

struct Inputs {
    jobs: mpsc::UnboundedReceiver<Tagged>,
    logs: mpsc::Receiver<LogLine>,
    keys: mpsc::Receiver<(Instant, KeyEvent)>,
}

/// The app loop's shape: wait for one message, drain what is ready, update, draw once.
/// Returns the key latencies and the number of messages and frames.
async fn run_loop(mut state: State, mut inputs: Inputs) -> (Vec<Duration>, usize, usize) {
    let theme = Theme::builtin("default", false).expect("theme");
    let mut term = terminal(120, 40);
    let (mut latencies, mut events, mut frames) = (Vec::new(), 0, 0);
    while latencies.len() < 400 {
        let mut pending = VecDeque::new();
        let mut pressed = Vec::new();
        tokio::select! {
            Some((at, key)) = inputs.keys.recv() => {
                pressed.push(at);
                pending.push_back(Msg::Key(key));
            }
            Some(t) = inputs.jobs.recv() => pending.push_back(Msg::Job(t)),
            Some(l) = inputs.logs.recv() => pending.push_back(Msg::Log(l)),
        }
        while let Ok(t) = inputs.jobs.try_recv() {
            pending.push_back(Msg::Job(t));
        }
        while let Ok(l) = inputs.logs.try_recv() {
            pending.push_back(Msg::Log(l));
        }
        while let Ok((at, key)) = inputs.keys.try_recv() {
            pressed.push(at);
            pending.push_back(Msg::Key(key));
        }
        events += pending.len();
        for msg in pending {
            update(&mut state, msg);
        }
        term.draw(|f| views::render(f, &state, &theme))
            .expect("draw");
        frames += 1;
        let drawn = Instant::now();
        latencies.extend(pressed.into_iter().map(|at| drawn - at));
    }
    (latencies, events, frames)
}

#[test]
#[allow(clippy::cast_precision_loss)]
fn key_to_screen_latency_under_an_issuance_and_a_propagation_watch() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (_dir, ctx) = workdir();
        let inventory = inventory::load(&ctx, OffsetDateTime::now_utc()).expect("load");
        let (state, issue, watch) = busy(inventory);
        let (job_tx, jobs) = mpsc::unbounded_channel();
        let (log_tx, logs) = mpsc::channel(certpilot::jobs::logs::CAPACITY);
        let (key_tx, keys) = mpsc::channel(64);
        let producer = tokio::spawn(produce(job_tx, log_tx, watch, issue));
        let typist = tokio::spawn(type_keys(key_tx));
        let started = Instant::now();
        let (latencies, events, frames) = run_loop(state, Inputs { jobs, logs, keys }).await;
        let elapsed = started.elapsed().as_secs_f64();
        producer.abort();
        typist.abort();
        println!(
            "background load: {:.0} messages/s, {:.0} frames/s",
            events as f64 / elapsed,
            frames as f64 / elapsed
        );
        let name = "key-to-screen, issuance + propagation watch";
        stats(name, latencies, Duration::from_millis(50));
    });
}
