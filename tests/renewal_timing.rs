//! Renewal timing against Pebble behind a proxy (tests/common/ca_proxy.rs) that adds ARI
//! (RFC 9773) and the CA faults a real CA shows: the ARI window decides and `replaces` names
//! the old certificate; Retry-After is honoured; without ARI the lifetime rule decides; a
//! rate-limited, closed or slow CA fails the run clearly, in bounded time, leaving the old
//! certificate in place, and the next run succeeds.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

#[path = "common/ca_proxy.rs"]
mod ca_proxy;
mod common;

use std::time::{Duration, Instant};

use ca_proxy::CaProxy;
use common::ari::{ari_id, retry_after_passed, rfc3339};
use common::pebble::{Pebble, PebbleOptions};
use common::{hook_path, Workdir};
use time::OffsetDateTime;

/// Pebble, the proxy in front of it, and a workdir whose account talks to the proxy, with
/// `web` (web.example.test) issued once.
struct Setup {
    wd: Workdir,
    proxy: CaProxy,
    pebble: Pebble,
}

impl Setup {
    fn start(tag: &str, ari: bool, window: Option<(i64, i64)>) -> Option<Self> {
        let pebble = Pebble::start(PebbleOptions::default())?;
        let proxy = CaProxy::start(&pebble.directory, &pebble.ca_bundle, ari);
        if let Some((start_hours, end_hours)) = window {
            let now = OffsetDateTime::now_utc();
            proxy.set_window(
                now + time::Duration::hours(start_hours),
                now + time::Duration::hours(end_hours),
                3600,
            );
        }
        let mut wd = Workdir::new(tag);
        wd.env("CHALLTESTSRV", &pebble.challtestsrv)
            .env("CERTPILOT_CA_BUNDLE", pebble.ca_bundle.to_str().unwrap());
        wd.add_pebble_account(&proxy.directory, &[]);
        wd.set_exec_solver(&hook_path());
        wd.run(&["cert", "add", "web", "--name", "web.example.test"])
            .ok();
        let me = Self { wd, proxy, pebble };
        me.run(&["issue", "web"]).ok();
        Some(me)
    }

    fn run(&self, args: &[&str]) -> common::Run {
        self.wd.run_dns(&self.pebble, args)
    }

    fn files(&self) -> (Vec<u8>, Vec<u8>) {
        let dir = self.wd.path().join("certificates/web");
        (
            std::fs::read(dir.join("web.crt")).unwrap(),
            std::fs::read(dir.join("web.json")).unwrap(),
        )
    }

    fn meta(&self) -> serde_json::Value {
        serde_json::from_slice(&self.files().1).unwrap()
    }

    fn list_json(&self) -> serde_json::Value {
        let run = self.wd.run(&["list", "--json"]);
        run.ok();
        let rows: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
        rows[0].clone()
    }
}

#[test]
fn an_ari_window_in_the_past_renews_with_replaces_naming_the_old_certificate() {
    let Some(s) = Setup::start("ari-past", true, Some((-24, 24))) else {
        return;
    };
    assert_eq!(
        s.proxy.replaces(),
        vec![None],
        "first issuance replaces nothing"
    );
    let (old_chain, _) = s.files();
    let old_serial = s.meta()["serial"].clone();

    let run = s.run(&["renew", "--all"]);
    run.ok();
    let out = run.stdout();
    assert!(
        out.contains("web: renewed (in the CA's renewal window (ARI window"),
        "{out}"
    );
    let id = ari_id(&old_chain);
    let (new_chain, _) = s.files();
    // Each certificate's window is asked for once, at its issuance; `renew` used the stored
    // one (within Retry-After).
    assert_eq!(
        s.proxy.renewal_info_requests(),
        vec![id.clone(), ari_id(&new_chain)]
    );
    assert_eq!(s.proxy.replaces().last().unwrap().as_deref(), Some(&*id));
    assert_ne!(
        s.meta()["serial"],
        old_serial,
        "a new certificate is stored"
    );
    // Once Retry-After has passed the next run asks about the new certificate again (a
    // later window this time, so it stays).
    let now = OffsetDateTime::now_utc();
    s.proxy.set_window(
        now + time::Duration::days(30),
        now + time::Duration::days(31),
        3600,
    );
    retry_after_passed(s.wd.path(), "web");
    let run = s.run(&["renew", "--all"]);
    run.ok();
    assert!(
        run.stdout().contains("web: not due; renew at "),
        "{}",
        run.stdout()
    );
    let asked = s.proxy.renewal_info_requests();
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert_eq!(asked[2], ari_id(&new_chain));
    assert_eq!(s.files().0, new_chain);
}

#[test]
fn a_future_ari_window_is_kept_listed_and_not_refetched_before_retry_after() {
    let Some(s) = Setup::start("ari-future", true, Some((240, 288))) else {
        return;
    };
    let run = s.run(&["renew", "--all"]);
    run.ok();
    let out = run.stdout();
    assert!(out.contains("web: not due; renew at "), "{out}");
    assert!(out.contains("(ARI window "), "{out}");
    assert!(out.contains("nothing to renew"), "{out}");
    assert_eq!(s.proxy.renewal_info_requests().len(), 1);
    assert_eq!(s.proxy.new_orders(), 1, "only the first issuance ordered");

    let row = s.list_json();
    let chosen = rfc3339(&row["renew_at"]);
    let now = OffsetDateTime::now_utc();
    assert!(
        chosen > now + time::Duration::hours(239) && chosen < now + time::Duration::hours(289),
        "{row}"
    );
    assert!(
        row["renewal"].as_str().unwrap().contains("ARI window"),
        "{row}"
    );
    assert_eq!(row["status"], "valid");
    let text = s.wd.run(&["list"]);
    assert!(text.stdout().contains("ARI window"), "{}", text.stdout());

    // A second run (cron, hours later) within Retry-After: no request, same chosen time.
    let again = s.run(&["renew", "--all"]);
    again.ok();
    assert_eq!(
        s.proxy.renewal_info_requests().len(),
        1,
        "Retry-After honoured"
    );
    assert_eq!(
        rfc3339(&s.list_json()["renew_at"]),
        chosen,
        "same chosen time"
    );
}

#[test]
fn without_ari_the_lifetime_rule_decides_and_renew_days_overrides_it() {
    let Some(s) = Setup::start("no-ari", false, None) else {
        return;
    };
    let run = s.run(&["renew", "--all"]);
    run.ok();
    let out = run.stdout();
    assert!(out.contains("(1/3 of lifetime left)"), "{out}");
    assert!(out.contains("nothing to renew"), "{out}");
    assert!(s.proxy.renewal_info_requests().is_empty());
    let meta = s.meta();
    let (nb, na) = (rfc3339(&meta["not_before"]), rfc3339(&meta["not_after"]));
    let row = s.list_json();
    assert_eq!(rfc3339(&row["renew_at"]), na - (na - nb) / 3, "{row}");
    assert!(
        row["renewal"]
            .as_str()
            .unwrap()
            .ends_with("(1/3 of lifetime left)"),
        "{row}"
    );

    // Pebble issues 5-year certificates: 2,000 days puts this one inside the window.
    let run = s.run(&["renew", "--all", "--days", "2000"]);
    run.ok();
    assert!(
        run.stdout().contains("web: renewed (expires in ")
            && run.stdout().contains("(renewing within 2000)"),
        "{}",
        run.stdout()
    );
    assert_eq!(s.proxy.replaces(), vec![None, None], "no ARI, no replaces");
}

#[test]
fn rate_limited_names_retry_after_keeps_the_old_certificate_and_the_next_run_succeeds() {
    let Some(s) = Setup::start("ratelimit", false, None) else {
        return;
    };
    let before = s.files();
    s.proxy.rate_limit_new_orders(1, 3600);
    let run = s.run(&["renew", "--all", "--force"]);
    run.expect_code(1);
    let out = format!("{}{}", run.stdout(), run.stderr());
    assert!(out.contains("web: FAILED (forced)"), "{out}");
    assert!(out.contains("rateLimited (HTTP 429)"), "{out}");
    assert!(out.contains("Retry-After: 3600 s, until "), "{out}");
    assert!(
        out.contains("hint: the CA's rate limit was reached"),
        "{out}"
    );
    assert_eq!(s.files(), before, "the old certificate is untouched");

    let next = s.run(&["renew", "--all", "--force"]);
    next.ok();
    assert!(
        next.stdout().contains("web: renewed (forced)"),
        "{}",
        next.stdout()
    );
    assert_ne!(s.files().0, before.0);
}

#[test]
fn a_ca_that_refuses_connections_fails_fast_and_the_next_run_succeeds() {
    let Some(mut s) = Setup::start("ca-down", true, Some((240, 288))) else {
        return;
    };
    let before = s.files();
    s.proxy.pause();
    let started = Instant::now();
    let run = s.run(&["renew", "--all", "--force"]);
    run.expect_code(1);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let out = format!("{}{}", run.stdout(), run.stderr());
    assert!(out.contains("web: FAILED (forced)"), "{out}");
    assert!(out.contains("Connection refused"), "{out}");
    assert_eq!(s.files(), before, "the old certificate is untouched");

    // Not forced, CA still down, and no window stored (as for a certificate issued while
    // the CA's ARI did not answer): ARI cannot be asked, the lifetime rule says not due.
    std::fs::remove_file(s.wd.path().join("state/ari/web.json")).unwrap();
    let quiet = s.run(&["renew", "--all"]);
    quiet.ok();
    assert!(
        quiet.stderr().contains("web: the ARI request failed")
            && quiet.stderr().contains("using the lifetime rule"),
        "{}",
        quiet.stderr()
    );
    assert!(
        quiet.stdout().contains("(1/3 of lifetime left)"),
        "{}",
        quiet.stdout()
    );

    s.proxy.resume();
    s.run(&["renew", "--all", "--force"]).ok();
    assert_ne!(s.files().0, before.0);
}

#[test]
fn a_slow_ca_hits_ca_timeout_and_the_next_run_succeeds() {
    let Some(s) = Setup::start("ca-slow", false, None) else {
        return;
    };
    let before = s.files();
    s.proxy.set_delay(Duration::from_secs(30));
    let started = Instant::now();
    let run = s.run(&["--ca-timeout", "2", "renew", "--all", "--force"]);
    run.expect_code(1);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let out = format!("{}{}", run.stdout(), run.stderr());
    assert!(out.contains("web: FAILED (forced)"), "{out}");
    assert!(out.contains("no answer from the CA within 2 s"), "{out}");
    assert_eq!(s.files(), before, "the old certificate is untouched");

    s.proxy.set_delay(Duration::ZERO);
    s.run(&["--ca-timeout", "20", "renew", "--all", "--force"])
        .ok();
    assert_ne!(s.files().0, before.0);
}
