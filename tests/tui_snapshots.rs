//! Whole-screen snapshots of every screen on ratatui's `TestBackend`, at 80×24 and 120×40,
//! plus the dashboard in every built-in theme.
//!
//! States are reached the way the app reaches them: messages through `update`, job answers
//! fed back by hand. Fixtures use fixed dates; dates, serials, UUIDs and ports are scrubbed
//! anyway so the snapshots only change when a screen does. Regenerate with
//! `INSTA_UPDATE=always cargo test --test tui_snapshots` and review the diff.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::net::IpAddr;
use std::time::Duration;

use certpilot::acme::Step;
use certpilot::acmedns::CnameRecord;
use certpilot::dns::probe::{HopRule, ProbeResult, Status};
use certpilot::dns::report::{HopReport, NameReport};
use certpilot::dns::zone::{NameServer, ServerAddress, Zone};
use certpilot::dns::{Expectation, ProbeEvent, PropagationReport};
use certpilot::domain::renewal::{self, AriWindow, CertStatus, Stored, Wanted};
use certpilot::inventory::CertRow;
use certpilot::jobs::account::DirectoryInfo;
use certpilot::jobs::acmedns::Delegation;
use certpilot::jobs::inventory::{CertDetail, DomainRow, Inventory, Issued};
use certpilot::jobs::issue::IssueFailure;
use certpilot::jobs::logs::{LogLine, Severity};
use certpilot::jobs::{Event, JobId, Tagged};
use certpilot::solver::ChallengeRecord;
use certpilot::tui::action::Action;
use certpilot::tui::state::State;
use certpilot::tui::theme::{Theme, BUILTIN};
use certpilot::tui::update::{update, Effect, Msg};
use certpilot::tui::views;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::Terminal;
use time::macros::datetime;
use time::OffsetDateTime;

// ---------------------------------------------------------------- fixtures

/// A row "as of 2025-05-31" with the next renewal the shared policy gives a 90-day
/// certificate (a names-changed one lacks its last configured name).
fn row(
    name: &str,
    names: &[&str],
    not_after: Option<OffsetDateTime>,
    days: Option<i64>,
    status: CertStatus,
) -> CertRow {
    let configured: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let kept = if status == CertStatus::NamesChanged {
        configured.len() - 1
    } else {
        configured.len()
    };
    let stored = not_after.map(|not_after| Stored {
        names: &configured[..kept],
        key_type: "ecdsa-p256",
        not_before: not_after - time::Duration::days(90),
        not_after,
        revoked: false,
        ari: None,
    });
    let wanted = Wanted {
        names: &configured,
        key_type: "ecdsa-p256",
        renew_days: None,
    };
    let next = renewal::next_renewal(&wanted, stored.as_ref(), datetime!(2025-05-31 00:00 UTC));
    CertRow {
        name: name.to_owned(),
        names: names.iter().map(|n| (*n).to_owned()).collect(),
        not_after,
        days_left: days,
        status,
        issuer: not_after.map(|_| "Test CA".to_owned()),
        serial: not_after.map(|_| "0a1b2c".to_owned()),
        key_type: "ecdsa-p256".to_owned(),
        account: Some("pebble".to_owned()),
        renew_at: next.renew_at(),
        renewal: next.to_string(),
        profile: None,
        ari_explanation_url: None,
    }
}

/// Seven certificates "as of 2025-05-31", deliberately out of order.
fn fixture_rows() -> Vec<CertRow> {
    vec![
        row(
            "www",
            &["example.com", "www.example.com"],
            Some(datetime!(2025-08-03 12:00 UTC)),
            Some(64),
            CertStatus::Valid,
        ),
        row(
            "mail",
            &["mail.example.com", "smtp.example.com", "imap.example.com"],
            Some(datetime!(2025-06-05 08:30 UTC)),
            Some(5),
            CertStatus::Expiring,
        ),
        row(
            "staging",
            &["staging.example.net", "api.staging.example.net"],
            None,
            None,
            CertStatus::Missing,
        ),
        row(
            "legacy",
            &["legacy.example.org"],
            Some(datetime!(2025-05-28 00:00 UTC)),
            Some(-3),
            CertStatus::Expired,
        ),
        row(
            "shop",
            &["shop.example.com", "www.shop.example.com"],
            Some(datetime!(2025-06-21 23:59 UTC)),
            Some(21),
            CertStatus::Expiring,
        ),
        row(
            "wildcard",
            &["*.example.com", "example.com"],
            Some(datetime!(2025-07-10 06:00 UTC)),
            Some(40),
            CertStatus::NamesChanged,
        ),
        row(
            "api-internal-long-name",
            &["api.internal.very-long-subdomain.example.com"],
            Some(datetime!(2025-08-27 00:00 UTC)),
            Some(88),
            CertStatus::Valid,
        ),
    ]
}

fn inventory(rows: Vec<CertRow>) -> Inventory {
    Inventory {
        rows,
        domains: vec![
            DomainRow {
                domain: "example.com".into(),
                solver: "exec".into(),
                target: Some("/usr/local/bin/dns-hook".into()),
                delegation: None,
                config: None,
            },
            DomainRow {
                domain: "example.net".into(),
                solver: "acme-dns".into(),
                target: Some("https://auth.example.org:8443".into()),
                delegation: Some("d420c923-bbd7-4056-ab64-c3ca54c9b3cf.auth.example.org".into()),
                config: None,
            },
            DomainRow {
                domain: "example.org".into(),
                solver: "manual".into(),
                target: None,
                delegation: None,
                config: None,
            },
        ],
        accounts: vec!["pebble".into(), "letsencrypt".into()],
        parallel: 2,
    }
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn typed(state: &mut State, text: &str) {
    for c in text.chars() {
        update(state, key(c));
    }
}

fn reply(id: JobId, event: Event) -> Msg {
    Msg::Job(Tagged { id, event })
}

/// The id of the job `effects` start.
fn job(effects: &[Effect]) -> JobId {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Start { id, .. } => Some(*id),
            _ => None,
        })
        .expect("a job")
}

/// The state after the first load answered with `rows`.
fn loaded(rows: Vec<CertRow>) -> State {
    let mut state = State::new();
    let id = job(&update(&mut state, Msg::Action(Action::Refresh)));
    update(
        &mut state,
        reply(id, Event::InventoryLoaded(Ok(inventory(rows)))),
    );
    state
}

fn select(state: &mut State, name: &str) {
    state.dashboard.selected = state.dashboard.position(name).expect("row");
}

fn ip(last: u8) -> IpAddr {
    IpAddr::from([192, 0, 2, last])
}

fn zone(apex: &str, hosts: &[(&str, u8)]) -> Zone {
    Zone {
        apex: apex.into(),
        servers: hosts
            .iter()
            .map(|(host, last)| NameServer {
                host: (*host).into(),
                addresses: vec![ServerAddress {
                    ip: ip(*last),
                    glue: true,
                }],
                problem: None,
                listing: Default::default(),
            })
            .collect(),
    }
}

fn result(host: &str, last: u8, status: Status, values: &[&str]) -> ProbeResult {
    ProbeResult {
        server: host.into(),
        address: ip(last),
        status,
        values: values.iter().map(|v| (*v).to_owned()).collect(),
        cname: None,
        ttl: (status == Status::Match).then_some(60),
        serial: Some(2_025_053_101),
        primary: None,
        negative_ttl: None,
        rtt_us: Some(2_340),
        tcp: false,
        beside_cname: false,
        detail: None,
    }
}

// ---------------------------------------------------------------- drawing

fn draw(state: &State, theme: &Theme, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| views::render(frame, state, theme))
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The buffer's text, one line per row, trailing blanks trimmed.
fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let line: String = (area.left()..area.right())
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Replace what changes between runs or machines: dates, long hex (serials), UUIDs, ports.
fn scrub(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        let starts_word = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if let Some(n) = date_len(rest) {
            out.push_str("YYYY-MM-DD");
            i += n;
        } else if rest.len() > 36 && starts_word && is_uuid(&rest[..36]) {
            out.push_str("UUID");
            i += 36;
        } else if rest[0] == ':'
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && rest[1..].iter().take_while(|c| c.is_ascii_digit()).count() >= 4
        {
            // A port (four digits or more; times like 12:00 stay).
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            out.push_str(":PORT");
            i += 1 + n;
        } else if starts_word && hex_run(rest) >= 12 {
            let n = hex_run(rest);
            out.push_str("SERIAL");
            i += n;
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    out
}

fn date_len(s: &[char]) -> Option<usize> {
    let digits = |r: std::ops::Range<usize>| {
        r.clone()
            .all(|k| s.get(k).is_some_and(char::is_ascii_digit))
    };
    (digits(0..4)
        && s.get(4) == Some(&'-')
        && digits(5..7)
        && s.get(7) == Some(&'-')
        && digits(8..10))
    .then_some(10)
}

fn is_uuid(s: &[char]) -> bool {
    s.iter().enumerate().all(|(k, c)| {
        if [8, 13, 18, 23].contains(&k) {
            *c == '-'
        } else {
            c.is_ascii_hexdigit()
        }
    })
}

fn hex_run(s: &[char]) -> usize {
    let n = s.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    let has_digit = s[..n].iter().any(char::is_ascii_digit);
    if has_digit && !s.get(n).is_some_and(char::is_ascii_alphanumeric) {
        n
    } else {
        0
    }
}

fn default_theme() -> Theme {
    Theme::builtin("default", false).unwrap()
}

/// Snapshot `state` at 80×24 and 120×40 as `<name>_80x24` and `<name>_120x40`.
fn both_sizes(name: &str, state: &mut State) {
    for (width, height) in [(80, 24), (120, 40)] {
        update(state, Msg::Resize(width, height));
        let screen = scrub(&text(&draw(state, &default_theme(), width, height)));
        insta::assert_snapshot!(format!("{name}_{width}x{height}"), screen);
    }
}

// ---------------------------------------------------------------- dashboard

#[test]
fn dashboard() {
    let mut state = loaded(fixture_rows());
    update(&mut state, Msg::Action(Action::MoveDown));
    update(&mut state, Msg::Action(Action::MoveDown));
    both_sizes("dashboard", &mut state);
}

#[test]
fn dashboard_filtered_with_domains_focused() {
    let mut state = loaded(fixture_rows());
    update(&mut state, key('/'));
    typed(&mut state, "example.com");
    update(&mut state, code(KeyCode::Enter));
    update(&mut state, code(KeyCode::Tab));
    update(&mut state, Msg::Action(Action::MoveDown));
    both_sizes("dashboard_filtered", &mut state);
}

#[test]
fn empty_loading_and_failed() {
    both_sizes("empty", &mut loaded(Vec::new()));
    let mut state = State::new();
    let id = job(&update(&mut state, Msg::Action(Action::Refresh)));
    insta::assert_snapshot!(
        "loading_80x24",
        text(&draw(&state, &default_theme(), 80, 24))
    );
    update(
        &mut state,
        reply(
            id,
            Event::InventoryLoaded(Err(certpilot::ops::Error::Invalid(
                "certpilot.toml:3:1: unknown field `acount`".into(),
            )
            .into())),
        ),
    );
    insta::assert_snapshot!(
        "load_failed_80x24",
        text(&draw(&state, &default_theme(), 80, 24))
    );
}

#[test]
fn too_small_draws_only_the_message() {
    let state = loaded(fixture_rows());
    for (width, height) in [(79, 24), (80, 23)] {
        let screen = text(&draw(&state, &default_theme(), width, height));
        assert!(
            screen.contains("Terminal too small"),
            "{width}×{height}:\n{screen}"
        );
        assert!(
            !screen.contains("legacy"),
            "{width}×{height} drew the table:\n{screen}"
        );
    }
    insta::assert_snapshot!(
        "too_small_60x20",
        text(&draw(&state, &default_theme(), 60, 20))
    );
}

/// Position of the first cell where `needle` starts.
fn find(buffer: &Buffer, needle: &str) -> (u16, u16) {
    let area = buffer.area;
    for y in area.top()..area.bottom() {
        let symbols: Vec<&str> = (area.left()..area.right())
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        if let Some(byte) = symbols.concat().find(needle) {
            let mut seen = 0;
            for (x, symbol) in symbols.iter().enumerate() {
                if seen == byte {
                    return (u16::try_from(x).unwrap(), y);
                }
                seen += symbol.len();
            }
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buffer));
}

#[test]
fn dashboard_in_each_builtin_theme() {
    let mut state = loaded(fixture_rows());
    // Select "staging" so the rows checked for urgency colours are not under the selection.
    update(&mut state, Msg::Action(Action::MoveDown));
    for (name, _) in BUILTIN {
        let theme = Theme::builtin(name, false).unwrap();
        for (width, height) in [(80, 24), (120, 40)] {
            let buffer = draw(&state, &theme, width, height);
            insta::assert_snapshot!(format!("theme_{name}_{width}x{height}"), text(&buffer));
        }
        let buffer = draw(&state, &theme, 80, 24);
        let (x, y) = find(&buffer, "-3");
        assert_eq!(
            buffer[(x, y)].fg,
            theme.error.fg.unwrap_or(Color::Reset),
            "{name}: -3"
        );
        let (x, y) = find(&buffer, "88");
        assert_eq!(
            buffer[(x, y)].fg,
            theme.ok.fg.unwrap_or(Color::Reset),
            "{name}: 88"
        );
        // Due now reads "now" in the urgent colour (RENEWS shows at 120 columns).
        let wide = draw(&state, &theme, 120, 40);
        let (x, y) = find(&wide, "now ");
        assert_eq!(
            wide[(x, y)].fg,
            theme.error.fg.unwrap_or(Color::Reset),
            "{name}: now"
        );
        let (x, y) = find(&buffer, "staging ");
        let cell = &buffer[(x, y)];
        if let Some(bg) = theme.selection.bg {
            assert_eq!(cell.bg, bg, "{name}: selection bg");
        }
        assert!(
            cell.modifier.contains(theme.selection.add_modifier),
            "{name}: selection modifiers"
        );
        if let Some(bg) = theme.text.bg {
            assert_eq!(buffer[(0, 23)].bg, bg, "{name}: status bar background");
        }
    }
}

#[test]
fn no_color_renders_without_any_colour() {
    let state = loaded(fixture_rows());
    for (name, _) in BUILTIN {
        let theme = Theme::builtin(name, true).unwrap();
        let buffer = draw(&state, &theme, 80, 24);
        for cell in &buffer.content {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{name}");
        }
        assert_eq!(text(&buffer), text(&draw(&state, &default_theme(), 80, 24)));
    }
}

// ---------------------------------------------------------------- overlays

#[test]
fn help_overlay() {
    let mut state = loaded(fixture_rows());
    update(&mut state, key('?'));
    both_sizes("help", &mut state);
}

#[test]
fn log_pane_and_popups() {
    let mut state = loaded(fixture_rows());
    update(&mut state, key('l'));
    let lines = [
        (
            Severity::Info,
            "certpilot::jobs::runner",
            "job started job=3 what=issuing www",
        ),
        (
            Severity::Debug,
            "certpilot::dns::visibility",
            "not visible yet owner=_acme-challenge.example.com",
        ),
        (
            Severity::Warn,
            "certpilot::acme::engine",
            "cleanup failed solver=exec /usr/local/bin/dns-hook",
        ),
        (
            Severity::Error,
            "certpilot",
            "command failed message=the CA refused",
        ),
    ];
    for (severity, target, text) in lines {
        update(
            &mut state,
            Msg::Log(LogLine {
                time: "12:00:01".into(),
                severity,
                target: target.into(),
                text: text.into(),
            }),
        );
    }
    both_sizes("log_pane", &mut state);
    update(&mut state, key('l'));
    select(&mut state, "www");
    update(&mut state, key('d'));
    both_sizes("confirm_delete", &mut state);
    update(&mut state, key('n'));
    let mut failed = loaded(fixture_rows());
    let id = job(&update(&mut failed, key('r')));
    update(
        &mut failed,
        reply(id, Event::Panicked("job 2 panicked".into())),
    );
    failed.fail(
        "Saving failed",
        "certpilot.toml: Permission denied (os error 13)\nNothing was changed.",
    );
    both_sizes("error_popup", &mut failed);
}

// ---------------------------------------------------------------- detail

/// `www` as of 2025-05-31, with the renewal sentence the shared policy gives for `renew_days`
/// and for an ARI window.
fn detail(renew_days: Option<u32>, ari: Option<AriWindow>) -> CertDetail {
    let names = vec!["example.com".to_owned(), "www.example.com".to_owned()];
    let wanted = Wanted {
        names: &names,
        key_type: "ecdsa-p256",
        renew_days,
    };
    let stored = Stored {
        names: &names,
        key_type: "ecdsa-p256",
        not_before: datetime!(2025-05-05 12:00 UTC),
        not_after: datetime!(2025-08-03 12:00 UTC),
        revoked: false,
        ari,
    };
    let decision = renewal::next_renewal(&wanted, Some(&stored), datetime!(2025-05-31 00:00 UTC));
    CertDetail {
        name: "www".into(),
        names: names.clone(),
        key_type: "ecdsa-p256".into(),
        account: Some("pebble".into()),
        status: decision.status(),
        days_left: Some(64),
        renewal_due: decision.renew_at().is_none(),
        renewal: decision.to_string(),
        ari,
        ari_explanation: None,
        profile: None,
        issued: Some(Issued {
            sans: vec!["example.com".into(), "www.example.com".into()],
            issuer: "Pebble Intermediate CA 5a1b2c".into(),
            serial: "4f1c2b3a9d8e7f60".into(),
            sha256: "3A:7B:0C:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD".into(),
            not_before: datetime!(2025-05-05 12:00 UTC),
            not_after: datetime!(2025-08-03 12:00 UTC),
            key_type: "ecdsa-p256".into(),
            key_entry: "cert-key:www:7d2f4c".into(),
            chain: vec![
                (String::new(), "Pebble Intermediate CA 5a1b2c".into(), datetime!(2025-08-03 12:00 UTC)),
                ("Pebble Intermediate CA 5a1b2c".into(), "Pebble Root CA 0f0e0d".into(), datetime!(2055-05-05 12:00 UTC)),
            ],
            history: vec![(datetime!(2025-05-05 12:01 UTC), "pebble".into(), "https://127.0.0.1:14000/my-order/Xy12".into())],
        }),
        key_store: "keyutils keyring, service \"certpilot\"".into(),
        chain_path: "/srv/certs/certificates/www/www.crt".into(),
        leftovers: Vec::new(),
    }
}

#[test]
fn detail_screen() {
    let mut state = loaded(fixture_rows());
    select(&mut state, "www");
    let id = job(&update(&mut state, code(KeyCode::Enter)));
    both_sizes("detail_loading", &mut state);
    update(
        &mut state,
        reply(
            id,
            Event::DetailLoaded(Ok(Box::new(detail(Some(30), None)))),
        ),
    );
    both_sizes("detail", &mut state);
}

#[test]
fn detail_screen_names_records_a_failed_cleanup_left_in_dns() {
    let mut state = loaded(fixture_rows());
    select(&mut state, "www");
    let id = job(&update(&mut state, code(KeyCode::Enter)));
    let mut left = detail(Some(30), None);
    left.leftovers = vec!["_acme-challenge.www.example.com. 60 IN TXT \"tok\"".into()];
    update(
        &mut state,
        reply(id, Event::DetailLoaded(Ok(Box::new(left)))),
    );
    let screen = text(&draw(&state, &default_theme(), 120, 40));
    assert!(
        screen.contains("Left in DNS")
            && screen.contains("_acme-challenge.www.example.com. 60 IN TXT \"tok\""),
        "{screen}"
    );
}

#[test]
fn detail_screen_with_an_ari_window() {
    let window = AriWindow {
        start: datetime!(2025-07-02 00:00 UTC),
        end: datetime!(2025-07-04 00:00 UTC),
        chosen: datetime!(2025-07-03 09:12 UTC),
    };
    let loaded_detail = detail(None, Some(window));
    assert!(
        loaded_detail.renewal.starts_with("renew at ")
            && loaded_detail.renewal.contains("(ARI window "),
        "{}",
        loaded_detail.renewal
    );
    let mut state = loaded(fixture_rows());
    select(&mut state, "www");
    let id = job(&update(&mut state, code(KeyCode::Enter)));
    update(
        &mut state,
        reply(id, Event::DetailLoaded(Ok(Box::new(loaded_detail)))),
    );
    both_sizes("detail_ari", &mut state);
}

// ---------------------------------------------------------------- account wizard

#[test]
fn account_wizard() {
    let mut state = loaded(fixture_rows());
    update(&mut state, key('A'));
    update(&mut state, code(KeyCode::Tab));
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "ops@example.com");
    both_sizes("account_wizard", &mut state);
    let id = job(&update(&mut state, code(KeyCode::Enter)));
    let info = DirectoryInfo {
        url: "https://acme.example.net/directory".into(),
        terms: Some("https://acme.example.net/terms-2025.pdf".into()),
        website: None,
        eab_required: true,
    };
    update(&mut state, reply(id, Event::DirectoryFetched(Ok(info))));
    typed(&mut state, "kid-123");
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "c2VjcmV0");
    both_sizes("account_wizard_terms", &mut state);
}

// ---------------------------------------------------------------- editor

#[test]
fn certificate_editor() {
    let mut state = loaded(fixture_rows());
    let profiles = job(&update(&mut state, key('a')));
    typed(&mut state, "blog");
    update(&mut state, code(KeyCode::Tab));
    typed(
        &mut state,
        "blog.example.dev, *.blog.example.dev, bad..name",
    );
    both_sizes("editor_error", &mut state);
    for _ in 0..", bad..name".len() {
        update(&mut state, code(KeyCode::Backspace));
    }
    both_sizes("editor", &mut state);
    // The CA's profiles arrive; the 6-day one is picked, its description shown.
    let listed = vec![
        (
            "classic".to_owned(),
            "The same profile you've been getting".to_owned(),
        ),
        (
            "shortlived".to_owned(),
            "Six-day certificates, renew often".to_owned(),
        ),
    ];
    let offered = [("pebble".to_owned(), Ok(listed))].into_iter().collect();
    update(&mut state, reply(profiles, Event::ProfilesLoaded(offered)));
    for _ in 0..3 {
        update(&mut state, code(KeyCode::Tab));
    }
    update(&mut state, code(KeyCode::Left));
    both_sizes("editor_profiles", &mut state);
}

// ---------------------------------------------------------------- issuance

fn records() -> Vec<ChallengeRecord> {
    vec![
        ChallengeRecord {
            identifier: "staging.example.net".into(),
            fqdn: "_acme-challenge.staging.example.net.".into(),
            value: "q9W3pZ1xVb7Rk0sLmN2cYhT5aEoUjFgDiHrKtB6lPwA".into(),
        },
        ChallengeRecord {
            identifier: "api.staging.example.net".into(),
            fqdn: "_acme-challenge.api.staging.example.net.".into(),
            value: "Zx8Cv7Bn6Mq5Wl4Ek3Rj2Th1Yg0Uf9Id8Os7Pa6Sd5F".into(),
        },
    ]
}

/// An issuance of "staging" that published its records; the live matrix has half its answers.
fn issuing() -> (State, JobId) {
    let mut state = loaded(fixture_rows());
    select(&mut state, "staging");
    let id = job(&update(&mut state, key('i')));
    let steps = [
        (Step::AccountReady, 120),
        (
            Step::OrderCreated {
                url: "https://127.0.0.1:14000/my-order/1".into(),
                pending: 2,
            },
            480,
        ),
        (Step::RecordsPublished { records: records() }, 1_630),
    ];
    for (step, ms) in steps {
        // The UI's clock moves with the engine's, as the ticks of a running issuance do.
        update(&mut state, Msg::Tick(Duration::from_millis(ms)));
        update(
            &mut state,
            reply(
                id,
                Event::IssueProgress {
                    step,
                    elapsed: Duration::from_millis(ms),
                },
            ),
        );
    }
    let watch = job(&update(&mut state, Msg::Tick(Duration::from_millis(4_700))));
    let zone = zone(
        "example.net",
        &[("ns1.example.net", 1), ("ns2.example.net", 2)],
    );
    for owner in [
        "_acme-challenge.staging.example.net",
        "_acme-challenge.api.staging.example.net",
    ] {
        let event = ProbeEvent::ZoneDiscovered {
            owner: owner.into(),
            hop: 0,
            name: owner.into(),
            zone: zone.clone(),
            rule: HopRule::Txt { values: Vec::new() },
        };
        update(&mut state, reply(watch, Event::Probe(event)));
    }
    let answer = result(
        "ns1.example.net",
        1,
        Status::Match,
        &["q9W3pZ1xVb7Rk0sLmN2cYhT5aEoUjFgDiHrKtB6lPwA"],
    );
    let event = ProbeEvent::NameserverAnswered {
        owner: "_acme-challenge.staging.example.net".into(),
        hop: 0,
        result: answer,
    };
    update(&mut state, reply(watch, Event::Probe(event)));
    update(&mut state, Msg::Tick(Duration::from_millis(6_100)));
    (state, id)
}

#[test]
fn issuance_progress() {
    let (mut state, _) = issuing();
    both_sizes("issuance_running", &mut state);
}

#[test]
fn manual_records_popup_keeps_each_record_on_one_line() {
    let mut state = loaded(fixture_rows());
    select(&mut state, "staging");
    let id = job(&update(&mut state, key('i')));
    let order = Step::OrderCreated {
        url: "https://127.0.0.1:14000/my-order/1".into(),
        pending: 2,
    };
    for (step, ms) in [(Step::AccountReady, 120), (order, 480)] {
        let elapsed = Duration::from_millis(ms);
        update(
            &mut state,
            reply(id, Event::IssueProgress { step, elapsed }),
        );
    }
    // The manual solver asks before anything is published.
    update(&mut state, reply(id, Event::RecordsToCreate(records())));
    both_sizes("manual_records", &mut state);
    // At 120 columns each zone-file line is on one screen line, as the operator copies it.
    let screen = text(&draw(&state, &default_theme(), 120, 40));
    for record in records() {
        let line = record.zone_line();
        assert!(
            screen.lines().any(|l| l.contains(&line)),
            "{line} wrapped:\n{screen}"
        );
    }
}

#[test]
fn issuance_failed_with_problem_document() {
    let (mut state, id) = issuing();
    update(
        &mut state,
        reply(
            id,
            Event::IssueProgress {
                step: Step::RecordsVisible,
                elapsed: Duration::from_millis(4_200),
            },
        ),
    );
    update(
        &mut state,
        reply(
            id,
            Event::IssueProgress {
                step: Step::ChallengesAnswered,
                elapsed: Duration::from_millis(4_400),
            },
        ),
    );
    let failure = IssueFailure {
        message: "the CA could not validate:\napi.staging.example.net: urn:ietf:params:acme:error:unauthorized (HTTP 403): Incorrect TXT record \"old\" found at _acme-challenge.api.staging.example.net\n  hint: the CA did not find the expected TXT value: check that every authoritative nameserver serves it (`certpilot check`)".into(),
        hint: None,
        cancelled: false,
    };
    update(&mut state, reply(id, Event::IssueFinished(Err(failure))));
    both_sizes("issuance_failed", &mut state);
}

// ---------------------------------------------------------------- propagation matrix

fn matrix_report() -> PropagationReport {
    let owner = "_acme-challenge.example.com";
    let mut name = NameReport::new(&Expectation::new(owner, Vec::new(), None));
    name.hops.push(HopReport {
        name: owner.into(),
        zone: zone(
            "example.com",
            &[
                ("ns1.example.com", 1),
                ("ns2.example.com", 2),
                ("ns3.example.com", 3),
            ],
        ),
        rule: HopRule::Txt { values: Vec::new() },
        leads_to: None,
        results: vec![
            result("ns1.example.com", 1, Status::Match, &["tok-1"]),
            result("ns2.example.com", 2, Status::Match, &["tok-1"]),
            result("ns3.example.com", 3, Status::Missing, &[]),
        ],
    });
    PropagationReport::new(vec![name], Vec::new(), 6, 48)
}

#[test]
fn propagation_matrix() {
    let mut state = loaded(fixture_rows());
    select(&mut state, "wildcard");
    let id = job(&update(&mut state, key('c')));
    let zone = zone(
        "example.com",
        &[
            ("ns1.example.com", 1),
            ("ns2.example.com", 2),
            ("ns3.example.com", 3),
        ],
    );
    let owner = "_acme-challenge.example.com";
    let event = ProbeEvent::ZoneDiscovered {
        owner: owner.into(),
        hop: 0,
        name: owner.into(),
        zone,
        rule: HopRule::Txt { values: Vec::new() },
    };
    update(&mut state, reply(id, Event::Probe(event)));
    both_sizes("propagation_pending", &mut state);
    let answer = result("ns1.example.com", 1, Status::Match, &["tok-1"]);
    update(
        &mut state,
        reply(
            id,
            Event::Probe(ProbeEvent::NameserverAnswered {
                owner: owner.into(),
                hop: 0,
                result: answer,
            }),
        ),
    );
    update(
        &mut state,
        reply(id, Event::PropagationChecked(Ok(Box::new(matrix_report())))),
    );
    update(&mut state, Msg::Tick(Duration::from_millis(3_200)));
    update(&mut state, key('j'));
    update(&mut state, key('j'));
    both_sizes("propagation", &mut state);
}

#[test]
fn propagation_matrix_marks_servers_only_one_side_of_the_delegation_lists() {
    let mut state = loaded(fixture_rows());
    select(&mut state, "wildcard");
    let id = job(&update(&mut state, key('c')));
    let mut zone = zone(
        "example.com",
        &[
            ("ns1.example.com", 1),
            ("ns3.example.com", 3),
            ("ns4.example.com", 4),
        ],
    );
    zone.servers[1].listing.parent = Some(true);
    zone.servers[1].listing.child = Some(false);
    zone.servers[2].listing.parent = Some(false);
    zone.servers[2].listing.child = Some(true);
    let owner = "_acme-challenge.example.com";
    let event = ProbeEvent::ZoneDiscovered {
        owner: owner.into(),
        hop: 0,
        name: owner.into(),
        zone,
        rule: HopRule::Txt { values: Vec::new() },
    };
    update(&mut state, reply(id, Event::Probe(event)));
    let screen = text(&draw(&state, &default_theme(), 120, 40));
    assert!(screen.contains("ns3.example.com (parent only)"), "{screen}");
    assert!(screen.contains("ns4.example.com (child only)"), "{screen}");
    assert!(!screen.contains("ns1.example.com ("), "{screen}");
}

/// A certificate of 100 names in one zone of twelve nameservers: more rows and columns than
/// an 80×24 terminal shows; some names could not be checked, a few addresses lag.
fn hundred_names() -> State {
    let names: Vec<String> = (0..100)
        .map(|i| format!("host{i:02}.example.com"))
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut rows = fixture_rows();
    rows.push(row(
        "big",
        &refs,
        Some(datetime!(2025-08-03 12:00 UTC)),
        Some(64),
        CertStatus::Valid,
    ));
    let mut state = loaded(rows);
    select(&mut state, "big");
    let id = job(&update(&mut state, key('c')));
    let hosts: Vec<(String, u8)> = (1..=12)
        .map(|n| (format!("ns{n:02}.example.com"), n))
        .collect();
    let listed: Vec<(&str, u8)> = hosts.iter().map(|(h, l)| (h.as_str(), *l)).collect();
    let mut reports = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let owner = format!("_acme-challenge.{name}");
        if i % 17 == 5 {
            let failed = ProbeEvent::DiscoveryFailed {
                owner: owner.clone(),
                hop: 0,
                error: "no SOA record found up to the root".into(),
            };
            update(&mut state, reply(id, Event::Probe(failed)));
            continue;
        }
        let found = ProbeEvent::ZoneDiscovered {
            owner: owner.clone(),
            hop: 0,
            name: owner.clone(),
            zone: zone("example.com", &listed),
            rule: HopRule::Txt { values: Vec::new() },
        };
        update(&mut state, reply(id, Event::Probe(found)));
        let mut results = Vec::new();
        for (n, (host, last)) in listed.iter().enumerate() {
            let status = if (i + n) % 23 == 0 {
                Status::Missing
            } else {
                Status::Match
            };
            let answer = result(host, *last, status, &["tok"]);
            results.push(answer.clone());
            let answered = ProbeEvent::NameserverAnswered {
                owner: owner.clone(),
                hop: 0,
                result: answer,
            };
            update(&mut state, reply(id, Event::Probe(answered)));
        }
        let mut report = NameReport::new(&Expectation::new(&owner, Vec::new(), None));
        report.hops.push(HopReport {
            name: owner.clone(),
            zone: zone("example.com", &listed),
            rule: HopRule::Txt { values: Vec::new() },
            leads_to: None,
            results,
        });
        reports.push(report);
    }
    let report = PropagationReport::new(reports, Vec::new(), 1_100, 900);
    update(
        &mut state,
        reply(id, Event::PropagationChecked(Ok(Box::new(report)))),
    );
    state
}

#[test]
fn propagation_matrix_of_100_names_scrolls_both_ways() {
    let mut state = hundred_names();
    both_sizes("propagation_100_names_top", &mut state);
    // 10 rows down and 42 names to the right: both out of the first screen.
    for _ in 0..10 {
        update(&mut state, key('j'));
    }
    for _ in 0..42 {
        update(&mut state, code(KeyCode::Right));
    }
    for (width, height) in [(80, 24), (120, 40)] {
        update(&mut state, Msg::Resize(width, height));
        let screen = text(&draw(&state, &default_theme(), width, height));
        assert!(screen.contains("row 11/12 · name 43/100"), "{screen}");
        assert!(screen.contains("ns11.example.com"), "{screen}");
        assert!(screen.contains("host42"), "{screen}");
        assert!(
            screen.contains("NOT propagated"),
            "the result line stays: {screen}"
        );
        // At 80×24 failures make way for the result, and say so.
        assert_eq!(screen.contains("more line(s)"), height == 24, "{screen}");
        let header = screen.lines().nth(1).unwrap_or_default();
        assert!(
            header.contains('‹') && !header.contains("host00"),
            "{header}"
        );
    }
    both_sizes("propagation_100_names_scrolled", &mut state);
}

// ---------------------------------------------------------------- palette and accounts

#[test]
fn command_palette() {
    let mut state = loaded(fixture_rows());
    update(&mut state, key(':'));
    both_sizes("palette", &mut state);
    typed(&mut state, "acc");
    both_sizes("palette_filtered", &mut state);
}

#[test]
fn accounts_view() {
    use certpilot::jobs::accounts::AccountRow;
    let mut state = loaded(fixture_rows());
    let id = job(&update(&mut state, key('u')));
    both_sizes("accounts_loading", &mut state);
    let rows = vec![
        AccountRow {
            name: "pebble".into(),
            directory: "https://localhost:14000/dir".into(),
            email: Some("ops@example.com".into()),
            ca_bundle: Some("/etc/certpilot/pebble.minica.pem".into()),
            eab_kid: None,
            certificates: vec!["www".into(), "mail".into(), "shop".into(), "legacy".into()],
        },
        AccountRow {
            name: "le-staging".into(),
            directory: "https://acme-staging-v02.api.letsencrypt.org/directory".into(),
            email: None,
            ca_bundle: None,
            eab_kid: None,
            certificates: Vec::new(),
        },
        AccountRow {
            name: "zerossl-with-a-long-account-name".into(),
            directory: "https://acme.zerossl.com/v2/DV90".into(),
            email: Some("certificates-and-renewals@a-very-long-domain.example.org".into()),
            ca_bundle: None,
            eab_kid: Some("kid-0123456789".into()),
            certificates: vec!["api-internal-long-name".into()],
        },
    ];
    update(&mut state, reply(id, Event::AccountsLoaded(Ok(rows))));
    both_sizes("accounts", &mut state);
    update(&mut state, key('d'));
    both_sizes("accounts_remove", &mut state);
}

// ---------------------------------------------------------------- acme-dns wizard

#[test]
fn acme_dns_wizard() {
    let mut state = loaded(fixture_rows());
    update(&mut state, code(KeyCode::Tab));
    update(&mut state, key('a'));
    typed(&mut state, "example.net");
    both_sizes("acme_dns_form", &mut state);
    // The server of the domain already on acme-dns is filled in.
    let id = job(&update(&mut state, code(KeyCode::Enter)));
    let fulldomain = "d420c923-bbd7-4056-ab64-c3ca54c9b3cf.auth.example.org";
    let delegation = Delegation {
        server: "https://auth.example.org:8443".into(),
        record: CnameRecord::new("example.net", fulldomain),
        mapped: true,
    };
    update(
        &mut state,
        reply(id, Event::AcmeDnsSaved(Ok(vec![delegation]))),
    );
    let watch = job(&update(&mut state, Msg::Tick(Duration::from_millis(100))));
    let owner = "_acme-challenge.example.net";
    let zone = zone(
        "example.net",
        &[("ns1.example.net", 1), ("ns2.example.net", 2)],
    );
    let event = ProbeEvent::ZoneDiscovered {
        owner: owner.into(),
        hop: 0,
        name: owner.into(),
        zone,
        rule: HopRule::Cname {
            target: fulldomain.into(),
        },
    };
    update(&mut state, reply(watch, Event::Probe(event)));
    let mut answer = result("ns1.example.net", 1, Status::Match, &[]);
    answer.cname = Some(fulldomain.into());
    update(
        &mut state,
        reply(
            watch,
            Event::Probe(ProbeEvent::NameserverAnswered {
                owner: owner.into(),
                hop: 0,
                result: answer,
            }),
        ),
    );
    both_sizes("acme_dns_live", &mut state);
}

// ---------------------------------------------------------------- acme-dns server

#[test]
fn acme_dns_server_screen() {
    use certpilot::dns::parent::{parent_records, Answer, RecordCheck, Verdict};
    use certpilot::jobs::server::ServerInfo;

    let mut state = loaded(fixture_rows());
    update(&mut state, key('S'));
    typed(&mut state, "acme.example.com");
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "ns1.acme.example.com");
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "203.0.113.5");
    both_sizes("acme_dns_server_form", &mut state);
    let server = job(&update(&mut state, code(KeyCode::Enter)));
    let address: IpAddr = "203.0.113.5".parse().unwrap();
    let records = parent_records("acme.example.com", "ns1.acme.example.com", address).unwrap();
    let info = ServerInfo {
        zone: "acme.example.com".into(),
        nameserver: "ns1.acme.example.com".into(),
        address,
        dns: vec!["0.0.0.0:53".parse().unwrap()],
        url: "http://127.0.0.1:8053".into(),
        records: records.clone(),
    };
    let effects = update(&mut state, reply(server, Event::ServerStarted(info)));
    let ids: Vec<JobId> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Start { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    let answer = |host: &str, last: u8, verdict: Verdict| Answer {
        server: host.into(),
        address: ip(last),
        verdict,
    };
    let checks = vec![
        RecordCheck {
            record: records[0].clone(),
            zone: "example.com".into(),
            answers: vec![
                answer("ns1.example.com", 1, Verdict::Served),
                answer("ns2.example.com", 2, Verdict::Served),
            ],
        },
        RecordCheck {
            record: records[1].clone(),
            zone: "example.com".into(),
            answers: vec![
                answer("ns1.example.com", 1, Verdict::Served),
                answer("ns2.example.com", 2, Verdict::Missing),
            ],
        },
    ];
    update(&mut state, reply(ids[0], Event::ParentChecked(Ok(checks))));
    let delegation = Delegation {
        server: "http://127.0.0.1:8053".into(),
        record: CnameRecord::new(
            "example.net",
            "d420c923-bbd7-4056-ab64-c3ca54c9b3cf.acme.example.com",
        ),
        mapped: true,
    };
    update(
        &mut state,
        reply(ids[1], Event::ServerRegistered(Ok(vec![delegation]))),
    );
    update(&mut state, key('j'));
    both_sizes("acme_dns_server_running", &mut state);
}

// ---------------------------------------------------------------- DNS provider wizard

#[test]
fn dns_provider_wizard() {
    let mut state = loaded(fixture_rows());
    update(&mut state, code(KeyCode::Tab));
    update(&mut state, key('e'));
    update(&mut state, code(KeyCode::Tab));
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "ns1.example.com:53");
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "certpilot-key");
    both_sizes("dns_provider_form", &mut state);
    update(&mut state, code(KeyCode::Tab));
    update(&mut state, code(KeyCode::Tab));
    typed(&mut state, "/root/tsig.key");
    let id = job(&update(&mut state, code(KeyCode::Enter)));
    let refused = "rfc2136 solver for example.com (key certpilot-key, ns1.example.com:53): update \
                   of zone example.com at 192.0.2.53:53 failed: NOTAUTH/BADSIG. The server knows \
                   the key certpilot-key but the signature does not match: the TSIG secret differs \
                   from the server's.";
    update(
        &mut state,
        reply(
            id,
            Event::ProviderSaved(Err(certpilot::ops::Error::Invalid(refused.into()).into())),
        ),
    );
    both_sizes("dns_provider_refused", &mut state);
}

// ---------------------------------------------------------------- background work

fn progress(state: &mut State, id: JobId, step: Step, ms: u64) {
    update(
        state,
        reply(
            id,
            Event::IssueProgress {
                step,
                elapsed: Duration::from_millis(ms),
            },
        ),
    );
}

/// staging failed; legacy, mail and shop renewed in bulk (`settings.parallel` = 2: two run,
/// one waits); wildcard and www marked for the next bulk renewal.
fn background_work() -> State {
    let mut state = loaded(fixture_rows());
    update(&mut state, Msg::Tick(Duration::from_secs(1)));
    select(&mut state, "staging");
    let staging = job(&update(&mut state, key('i')));
    update(&mut state, code(KeyCode::Esc));
    progress(&mut state, staging, Step::AccountReady, 300);
    update(&mut state, Msg::Tick(Duration::from_secs(3)));
    let failure = IssueFailure {
        message: "urn:ietf:params:acme:error:rejectedIdentifier: staging.example.net is blocked"
            .into(),
        hint: None,
        cancelled: false,
    };
    update(
        &mut state,
        reply(staging, Event::IssueFinished(Err(failure))),
    );
    for name in ["legacy", "mail", "shop"] {
        select(&mut state, name);
        update(&mut state, key(' '));
    }
    update(&mut state, key('R'));
    let effects = update(&mut state, key('y'));
    let ids: Vec<JobId> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Start {
                id,
                job: certpilot::jobs::Job::Issue { .. },
            } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2, "{effects:?}");
    update(&mut state, Msg::Tick(Duration::from_secs(4)));
    progress(&mut state, ids[0], Step::AccountReady, 200);
    let order = Step::OrderCreated {
        url: "https://127.0.0.1:14000/my-order/7".into(),
        pending: 1,
    };
    progress(&mut state, ids[0], order, 600);
    update(&mut state, Msg::Tick(Duration::from_secs(5)));
    let records = vec![ChallengeRecord {
        identifier: "legacy.example.org".into(),
        fqdn: "_acme-challenge.legacy.example.org.".into(),
        value: "q9W3pZ1xVb7Rk0sLmN2cYhT5aEoUjFgDiHrKtB6lPwA".into(),
    }];
    progress(
        &mut state,
        ids[0],
        Step::RecordsPublished { records },
        1_100,
    );
    progress(&mut state, ids[1], Step::AccountReady, 250);
    for name in ["wildcard", "www"] {
        select(&mut state, name);
        update(&mut state, key(' '));
    }
    // Past the notices: the status bar shows the running work.
    update(&mut state, Msg::Tick(Duration::from_millis(12_400)));
    state
}

#[test]
fn dashboard_with_marks_and_work_running() {
    let mut state = background_work();
    both_sizes("dashboard_marked_running", &mut state);
}

#[test]
fn jobs_view() {
    let mut state = background_work();
    update(&mut state, key('J'));
    update(&mut state, key('j'));
    update(&mut state, key('j'));
    both_sizes("jobs_view", &mut state);
}
