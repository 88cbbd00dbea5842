//! ARI (RFC 9773) and ACME profiles against a CA that has both: Debian unstable's Pebble 2.10
//! (scripts/test-deps.sh unpacks it into target/pebble-2.10), with a 90-day `default` and a
//! 6-day `shortlived` profile. Its management endpoint `set-renewal-info` makes it answer
//! with any window (inverted, past, after expiry, with an `explanationURL`). The test proxy
//! (tests/common/ca_proxy.rs, ARI pass-through) records each newOrder's `replaces`.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[path = "common/ca_proxy.rs"]
mod ca_proxy;
mod common;

use ca_proxy::CaProxy;
use common::ari::{ari_id, retry_after_passed, rfc3339};
use common::pebble::{unstable_binary, Pebble, PebbleOptions};
use common::{hook_path, Workdir};
use time::{Duration, OffsetDateTime};

const DAY: u64 = 86_400;

/// Pebble 2.10, the proxy in front of it, and a workdir whose account talks to the proxy,
/// with `web` (web.example.test, profile `default`) issued once.
struct Setup {
    wd: Workdir,
    proxy: CaProxy,
    pebble: Pebble,
}

impl Setup {
    fn start(tag: &str) -> Option<Self> {
        let me = Self::bare(tag)?;
        me.wd
            .run(&[
                "cert",
                "add",
                "web",
                "--name",
                "web.example.test",
                "--profile",
                "default",
            ])
            .ok();
        me.run(&["issue", "web"]).ok();
        Some(me)
    }

    /// Pebble, proxy, account and solver; no certificate.
    fn bare(tag: &str) -> Option<Self> {
        let pebble = Pebble::start(PebbleOptions {
            binary: Some(unstable_binary()?),
            profiles: vec![
                ("default".into(), "90 days".into(), 90 * DAY),
                ("shortlived".into(), "6 days, renew often".into(), 6 * DAY),
            ],
            ..PebbleOptions::default()
        })?;
        // ARI off in the proxy: Pebble's own renewalInfo passes through untouched.
        let proxy = CaProxy::start(&pebble.directory, &pebble.ca_bundle, false);
        let mut wd = Workdir::new(tag);
        wd.env("CHALLTESTSRV", &pebble.challtestsrv)
            .env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
        wd.add_pebble_account(&proxy.directory, &[]);
        wd.set_exec_solver(&hook_path());
        Some(Self { wd, proxy, pebble })
    }

    fn run(&self, args: &[&str]) -> common::Run {
        self.wd.run_dns(&self.pebble, args)
    }

    fn chain(&self, name: &str) -> String {
        let path = self
            .wd
            .path()
            .join(format!("certificates/{name}/{name}.crt"));
        std::fs::read_to_string(path).unwrap()
    }

    fn meta(&self, name: &str) -> serde_json::Value {
        let path = self
            .wd
            .path()
            .join(format!("certificates/{name}/{name}.json"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn row(&self, name: &str) -> serde_json::Value {
        let run = self.wd.run(&["list", "--json"]);
        run.ok();
        let rows: Vec<serde_json::Value> = serde_json::from_str(&run.stdout()).unwrap();
        rows.into_iter().find(|r| r["name"] == name).expect("row")
    }

    fn ari_state_path(&self) -> std::path::PathBuf {
        self.wd.path().join("state/ari/web.json")
    }

    /// Make Pebble answer `renewalInfo` for web's certificate with `response`, and let the
    /// stored window's Retry-After (Pebble says 6 hours) pass, so the next run asks.
    fn ca_says(&self, response: &str) {
        self.pebble.set_renewal_info(&self.chain("web"), response);
        self.retry_after_passed();
    }

    fn retry_after_passed(&self) {
        retry_after_passed(self.wd.path(), "web");
    }

    /// [`Setup::ca_says`] a window from `start` to `end` days from now.
    fn ca_window(&self, start: i64, end: i64, explanation: Option<&str>) {
        let now = OffsetDateTime::now_utc();
        let (start, end) = (now + Duration::days(start), now + Duration::days(end));
        self.ca_says(&window(start, end, explanation));
    }

    /// Whether `list --json` says the lifetime rule decides for `name`.
    fn lifetime_rule_decides(&self, name: &str) -> bool {
        let row = self.row(name);
        row["renewal"]
            .as_str()
            .is_some_and(|r| r.ends_with("(1/3 of lifetime left)"))
    }
}

fn format_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn window(start: OffsetDateTime, end: OffsetDateTime, explanation: Option<&str>) -> String {
    let mut doc = serde_json::json!({
        "suggestedWindow": { "start": format_time(start), "end": format_time(end) },
    });
    if let Some(url) = explanation {
        doc["explanationURL"] = url.into();
    }
    doc.to_string()
}

fn lifetime(meta: &serde_json::Value) -> Duration {
    rfc3339(&meta["not_after"]) - rfc3339(&meta["not_before"])
}

#[test]
fn the_window_is_fetched_at_issuance_and_listed_with_the_profile() {
    let Some(s) = Setup::start("ari-issue") else {
        return;
    };
    assert!(s.ari_state_path().is_file(), "issue stored the window");
    let meta = s.meta("web");
    let (nb, na) = (rfc3339(&meta["not_before"]), rfc3339(&meta["not_after"]));
    // Pebble's window: 2 days around the point a third of the lifetime before expiry.
    let ideal = na - (na - nb) / 3;
    let row = s.row("web");
    assert!(
        row["renewal"].as_str().unwrap().contains("ARI window"),
        "{row}"
    );
    let at = rfc3339(&row["renew_at"]);
    assert!(
        at >= ideal - Duration::days(1) - Duration::seconds(2)
            && at <= ideal + Duration::days(1) + Duration::seconds(2),
        "{row}"
    );
    assert_eq!(row["profile"], "default", "{row}");
    assert!(row["ari_explanation_url"].is_null(), "{row}");
    let text = s.wd.run(&["list"]);
    assert!(text.stdout().contains("ARI window"), "{}", text.stdout());
    // A run within Pebble's Retry-After (6 hours) uses the stored window.
    let out = s.run(&["renew", "--all"]).ok().stdout();
    assert!(out.contains("web: not due; renew at "), "{out}");
    assert_eq!(s.proxy.new_orders(), 1);
}

#[test]
fn an_inverted_window_is_ignored_with_a_warning_and_the_lifetime_rule_decides() {
    let Some(s) = Setup::start("ari-inverted") else {
        return;
    };
    // Inverted, and all in the past: trusted, it would renew at once.
    s.ca_window(-1, -3, None);
    let run = s.run(&["renew", "--all"]);
    run.ok();
    let (out, err) = (run.stdout(), run.stderr());
    assert!(
        err.contains("web: warning: the CA's ARI window")
            && err.contains("is ignored: it ends before it starts")
            && err.contains("using the lifetime rule"),
        "{err}"
    );
    assert!(out.contains("web: not due; renew from "), "{out}");
    assert!(out.contains("(1/3 of lifetime left)"), "{out}");
    assert_eq!(s.proxy.new_orders(), 1, "nothing renewed");
    assert!(
        s.wd.log().contains("ARI window ignored"),
        "the log has the warning"
    );
    // The window stored at issuance is forgotten too: list agrees with renew.
    assert!(!s.ari_state_path().exists());
    assert!(s.lifetime_rule_decides("web"), "{}", s.row("web"));
}

#[test]
fn a_past_window_renews_with_replaces_naming_the_old_certificate() {
    let Some(s) = Setup::start("ari-past") else {
        return;
    };
    let old = s.chain("web");
    s.ca_window(-2, -1, None);
    let run = s.run(&["renew", "--all"]);
    run.ok();
    assert!(
        run.stdout()
            .contains("web: renewed (in the CA's renewal window (ARI window"),
        "{}",
        run.stdout()
    );
    assert_eq!(s.proxy.replaces(), vec![None, Some(ari_id(old.as_bytes()))]);
    assert_ne!(s.chain("web"), old);
    // The new certificate's window was fetched right away: Pebble's ordinary one.
    let row = s.row("web");
    assert_eq!(row["status"], "valid", "{row}");
    assert!(
        row["renewal"].as_str().unwrap().contains("ARI window"),
        "{row}"
    );
}

#[test]
fn a_ca_error_on_renewal_info_is_shown_verbatim() {
    let Some(mut s) = Setup::start("ari-error") else {
        return;
    };
    // A CA that lost its state and issuing keys: it does not know the certificate's issuer.
    s.pebble.restart();
    s.retry_after_passed();
    let run = s.run(&["renew", "--all"]);
    run.ok();
    let err = run.stderr();
    assert!(err.contains("web: the ARI request failed: "), "{err}");
    assert!(
        err.contains("urn:ietf:params:acme:error:malformed")
            && err.contains("HTTP 400")
            && err.contains("no known issuer matches the provided Authority Key Identifier"),
        "{err}"
    );
    assert!(!err.contains("Retry-After header"), "{err}");
    assert!(err.contains("using the window it gave last"), "{err}");
}

#[test]
fn forced_renewal_and_issue_right_after_issuance_send_replaces() {
    let Some(s) = Setup::start("ari-forced") else {
        return;
    };
    let first = s.chain("web");
    s.run(&["renew", "--all", "--force"]).ok();
    let second = s.chain("web");
    assert_ne!(second, first);
    s.run(&["issue", "web"]).ok();
    assert_eq!(
        s.proxy.replaces(),
        vec![
            None,
            Some(ari_id(first.as_bytes())),
            Some(ari_id(second.as_bytes()))
        ]
    );
}

#[test]
fn the_explanation_url_is_shown_by_renew_list_and_the_detail_screen() {
    let Some(s) = Setup::start("ari-explain") else {
        return;
    };
    let url = "https://ca.example.test/incidents/42";
    s.ca_window(10, 11, Some(url));
    let run = s.run(&["renew", "--all"]);
    run.ok();
    assert!(
        run.stdout()
            .contains(&format!("web: the CA explains its renewal window: {url}")),
        "{}",
        run.stdout()
    );
    assert_eq!(s.row("web")["ari_explanation_url"], url);
    let screen = detail_screen(&s.wd, "web");
    assert!(
        screen.contains(&format!("the CA explains: {url}")),
        "{screen}"
    );
    assert!(screen.contains("│ Profile    default "), "{screen}");
}

#[test]
fn a_window_after_expiry_is_not_trusted() {
    let Some(s) = Setup::start("ari-late") else {
        return;
    };
    let na = rfc3339(&s.meta("web")["not_after"]);
    s.ca_says(&window(
        na + Duration::days(700),
        na + Duration::days(701),
        None,
    ));
    let run = s.run(&["renew", "--all"]);
    run.ok();
    let err = run.stderr();
    assert!(
        err.contains("is ignored: it starts after the certificate expires"),
        "{err}"
    );
    let row = s.row("web");
    assert!(s.lifetime_rule_decides("web"), "{row}");
    assert!(rfc3339(&row["renew_at"]) < na, "{row}");
}

#[test]
fn profiles_choose_the_lifetime_and_unknown_ones_are_refused_with_the_list() {
    let Some(s) = Setup::bare("profiles") else {
        return;
    };
    let config = s.wd.path().join("certpilot.toml");
    let before = std::fs::read(&config).unwrap();
    let refused = s.wd.run(&[
        "cert",
        "add",
        "bad",
        "--name",
        "bad.example.test",
        "--profile",
        "longlived",
    ]);
    refused.expect_code(2);
    let err = refused.stderr();
    assert!(err.contains("no such profile"), "{err}");
    assert!(
        err.contains("  default: 90 days") && err.contains("  shortlived: 6 days, renew often"),
        "{err}"
    );
    assert_eq!(std::fs::read(&config).unwrap(), before, "nothing saved");

    for (name, profile) in [("short", "shortlived"), ("long", "default")] {
        let host = format!("{name}.example.test");
        s.wd.run(&["cert", "add", name, "--name", &host, "--profile", profile])
            .ok();
        s.run(&["issue", name]).ok();
    }
    let short = lifetime(&s.meta("short"));
    let long = lifetime(&s.meta("long"));
    let near = |got: Duration, days: i64| (got - Duration::days(days)).abs() < Duration::minutes(5);
    assert!(near(short, 6), "shortlived: {short}");
    assert!(near(long, 90), "default: {long}");
    assert_eq!(s.row("short")["profile"], "shortlived");
    // The 6-day certificate's own window comes from the CA; without it, the lifetime rule
    // would renew at half its lifetime.
    let row = s.row("short");
    let at = rfc3339(&row["renew_at"]);
    let na = rfc3339(&s.meta("short")["not_after"]);
    assert!(at <= na - Duration::days(1), "{row}");
    assert!(
        row["renewal"].as_str().unwrap().contains("ARI window"),
        "{row}"
    );
}

/// The detail screen as the TUI draws it for the certificate `name` in `wd`.
fn detail_screen(wd: &Workdir, name: &str) -> String {
    use certpilot::jobs::{inventory, Context, Event, Tagged};
    use certpilot::tui::action::Action;
    use certpilot::tui::state::State;
    use certpilot::tui::theme::Theme;
    use certpilot::tui::update::{update, Effect, Msg};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    let paths = certpilot::paths::Paths::resolve(Some(wd.path())).unwrap();
    let global = <certpilot::cli::Cli as clap::Parser>::parse_from(["certpilot"]).global;
    let ctx = Context::new(paths, global.into());
    let now = OffsetDateTime::now_utc();
    // What the job runner does: answer the job the effects started with `event`.
    let answer = |state: &mut State, effects: Vec<Effect>, event: Event| {
        let started = effects.into_iter().find_map(|effect| {
            if let Effect::Start { id, .. } = effect {
                Some(id)
            } else {
                None
            }
        });
        let id = started.expect("a job started");
        update(state, Msg::Job(Tagged { id, event }));
    };
    let mut state = State::new();
    let refresh = update(&mut state, Msg::Action(Action::Refresh));
    let rows = inventory::load(&ctx, now).unwrap();
    answer(&mut state, refresh, Event::InventoryLoaded(Ok(rows)));
    state.dashboard.selected = state.dashboard.position(name).expect("row");
    let enter = Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let open = update(&mut state, enter);
    let detail = inventory::detail(&ctx, name, now).unwrap();
    answer(&mut state, open, Event::DetailLoaded(Ok(Box::new(detail))));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let theme = Theme::builtin("default", false).unwrap();
    terminal
        .draw(|frame| certpilot::tui::views::render(frame, &state, &theme))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    let area = buffer.area;
    (area.top()..area.bottom())
        .map(|y| {
            (area.left()..area.right())
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
