//! Ways back on track after the world changed under certpilot, against real Pebble and a real
//! keyring: a CA that forgot the account (Pebble restarted) is fixed by registering again
//! under the same name; an account can be removed once its certificates have moved; a deploy
//! interrupted by `kill -9` while its hook runs is retried by the next `renew`.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::pebble::{Pebble, PebbleOptions};
use common::{
    deploy_hook_command as hook_command, hook_path, side_file as side, wait_for, Workdir,
};

fn account_url(wd: &Workdir, name: &str) -> String {
    let path = wd.path().join(format!("accounts/{name}.json"));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    meta["account_url"].as_str().unwrap().to_owned()
}

fn config(wd: &Workdir) -> toml::Table {
    std::fs::read_to_string(wd.path().join("certpilot.toml"))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_forgotten_account_is_registered_again_under_its_name_and_can_be_removed() {
    let Some(mut pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = Workdir::new("reregister").enrol(&pebble, &hook_path());
    wd.add_cert("web", &["www.example.test"], &[]);
    wd.run_dns(&pebble, &["issue", "web"]).ok();
    let first_url = account_url(&wd, "pebble");

    // Pebble keeps nothing: after a restart it no longer knows the account.
    pebble.restart();
    let failed = wd.run_dns(&pebble, &["renew", "--all", "--force"]);
    failed.expect_code(1);
    let text = format!("{}{}", failed.stdout(), failed.stderr());
    assert!(text.contains("accountDoesNotExist"), "{text}");
    assert!(
        text.contains("--replace"),
        "the hint names the working command: {text}"
    );
    assert!(
        wd.log().contains("renewal failed") && wd.log().contains("accountDoesNotExist"),
        "the reason is in the log file too:\n{}",
        wd.log()
    );

    let add_account = |name: &str, extra: &[&str]| {
        let mut args = vec!["account", "add", name, "--directory", &pebble.directory];
        args.push("--agree-tos");
        args.extend_from_slice(extra);
        wd.run(&args)
    };
    // The plain add says what to do instead of a dead end.
    let again = add_account("pebble", &[]);
    again.expect_code(2);
    assert!(again.stderr().contains("--replace"), "{}", again.stderr());
    let nothing = add_account("nobody", &["--replace"]);
    nothing.expect_code(2);

    let replaced = add_account("pebble", &["--replace"]);
    replaced.ok();
    assert!(
        replaced.stdout().contains("registered again"),
        "{}",
        replaced.stdout()
    );
    assert_ne!(
        account_url(&wd, "pebble"),
        first_url,
        "a new account at the CA"
    );
    let renewed = wd.run_dns(&pebble, &["renew", "--all", "--force"]);
    renewed.ok();
    assert!(
        renewed.stdout().contains("web: renewed"),
        "{}",
        renewed.stdout()
    );

    // A second account: the certificate that named none is pinned to the first.
    let second = add_account("other", &[]);
    second.ok();
    assert_eq!(
        config(&wd)["certificates"]["web"]["account"].as_str(),
        Some("pebble")
    );
    wd.run_dns(&pebble, &["issue", "web"]).ok();

    // Removing an account its certificates use is refused until they move.
    let refused = wd.run(&["account", "remove", "pebble"]);
    refused.expect_code(2);
    assert!(
        refused.stderr().contains("web") && refused.stderr().contains("--reassign"),
        "{}",
        refused.stderr()
    );
    wd.run(&["account", "remove", "pebble", "--reassign", "nope"])
        .expect_code(2);
    let removed = wd.run(&["account", "remove", "pebble", "--reassign", "other"]);
    removed.ok();
    let cfg = config(&wd);
    assert_eq!(
        cfg["certificates"]["web"]["account"].as_str(),
        Some("other")
    );
    assert!(!cfg["accounts"].as_table().unwrap().contains_key("pebble"));
    assert!(!wd.path().join("accounts/pebble.json").exists());
    let listed = wd.run(&["account", "list"]);
    assert!(!listed.stdout().contains("pebble\t"), "{}", listed.stdout());
    let issued = wd.run_dns(&pebble, &["issue", "web"]);
    issued.ok();
    // The remaining account is in use too.
    wd.run(&["account", "remove", "other"]).expect_code(2);
}

#[test]
fn a_deploy_killed_during_its_hook_is_retried_by_the_next_renew() {
    let Some(pebble) = Pebble::start(PebbleOptions::default()) else {
        return;
    };
    let wd = Workdir::new("deploy-kill").enrol(&pebble, &hook_path());
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("env.txt");
    wd.add_cert(
        "web",
        &["www.example.test"],
        &["--deploy-hook", &hook_command(&out, "hang")],
    );
    let mut cmd = wd.command(&[
        "--resolver",
        &pebble.dns,
        "--propagation",
        "recursive",
        "issue",
        "web",
    ]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    // The hook is running once its sleeper's pid is written.
    let pid_file = side(&out, "pid");
    wait_for("the deploy hook to start", Duration::from_secs(120), || {
        std::fs::read_to_string(&pid_file).is_ok_and(|t| t.ends_with('\n'))
    });
    child.kill().unwrap(); // SIGKILL: no cleanup code runs.
    child.wait().unwrap();
    let sleeper = std::fs::read_to_string(&pid_file).unwrap();
    let _ = Command::new("kill").arg(sleeper.trim()).status();

    // The web server is fine now; the next timer run deploys though nothing is due.
    common::expect_deploy_retry(&wd, &pebble, &out);
    let runs = std::fs::read_to_string(side(&out, "runs")).unwrap();
    assert_eq!(runs.lines().count(), 2, "killed run + retry");
    let quiet = wd.run_dns(&pebble, &["renew", "--all"]);
    assert!(
        quiet.stdout().contains("nothing to renew"),
        "{}",
        quiet.stdout()
    );
}
