//! The operator's command line around the edges: a closed stdout ends quietly, a config or
//! working directory that cannot be read is bad input (exit 2, path named), a name too long
//! for its `_acme-challenge` owner is refused up front, and shell completions and man pages
//! are generated from the real command definitions.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::Workdir;

/// Run certpilot with stdout on a pipe whose read end is already closed: every write to it
/// fails with EPIPE, as after `| head -1` has exited.
fn run_into_closed_pipe(wd: &Workdir, args: &[&str]) -> (std::process::ExitStatus, String) {
    let (reader, writer) = rustix::pipe::pipe().expect("pipe");
    drop(reader);
    let mut cmd = wd.command(args);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run certpilot");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    (child.wait().expect("wait"), err)
}

#[test]
fn no_command_panics_on_a_closed_stdout() {
    let wd = Workdir::new("epipe");
    // Something to print in every listing.
    wd.run(&["domain", "set", "example.test", "--solver", "manual"])
        .ok();
    let cases: &[&[&str]] = &[
        &["account", "list"],
        &["account", "list", "--json"],
        &["list"],
        &["list", "--json"],
        &["domain", "list"],
        &["acme-dns", "list"],
        &["timer", "install", "--print"],
        &["completions", "bash"],
        &["manpage"],
        // A command that changes state: its work is done even though nobody reads.
        &["cert", "add", "web", "--name", "www.example.test"],
    ];
    for args in cases {
        let (status, err) = run_into_closed_pipe(&wd, args);
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        assert_eq!(status.code(), Some(0), "{args:?}: {status}\n{err}");
    }
    let config = std::fs::read_to_string(wd.path().join("certpilot.toml")).unwrap();
    assert!(config.contains("www.example.test"), "{config}");
}

#[test]
fn an_unreadable_config_or_working_directory_is_bad_input_naming_the_path() {
    let wd = Workdir::new("unreadable");
    let config = wd.path().join("certpilot.toml");

    // Latin-1 text where UTF-8 is required.
    std::fs::write(&config, b"[settings]\n# caf\xe9\nparallel = 2\n").unwrap();
    let run = wd.run(&["list"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains(&config.display().to_string()),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("not UTF-8"), "{}", run.stderr());
    assert_eq!(
        std::fs::read(&config).unwrap(),
        b"[settings]\n# caf\xe9\nparallel = 2\n",
        "the file was left as it was"
    );

    // The config path is a directory.
    std::fs::remove_file(&config).unwrap();
    std::fs::create_dir(&config).unwrap();
    let run = wd.run(&["cert", "add", "web", "--name", "www.example.test"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains(&config.display().to_string()),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("is a directory"), "{}", run.stderr());

    // --dir names a file.
    let file = wd.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_certpilot"))
        .arg("--dir")
        .arg(&file)
        .arg("list")
        .env_remove("CERTPILOT_DIR")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A valid DNS name of exactly `len` octets.
fn name_of_len(len: usize) -> String {
    let mut labels = Vec::new();
    let mut left = len - ".test".len();
    while left > 0 {
        let mut take = left.min(60);
        if left - take == 1 {
            take -= 1;
        }
        labels.push("a".repeat(take));
        left -= take;
        left = left.saturating_sub(1);
    }
    labels.push("test".into());
    let name = labels.join(".");
    assert_eq!(name.len(), len);
    name
}

#[test]
fn a_name_too_long_for_its_challenge_owner_is_refused_at_cert_add() {
    let wd = Workdir::new("long-name");
    let (longest, just_over) = (name_of_len(253), name_of_len(238));
    // A wildcard shares its base's owner: `*.` does not count.
    let cases = [
        (longest.clone(), 253 + 16),
        (just_over.clone(), 238 + 16),
        (format!("*.{just_over}"), 238 + 16),
    ];
    for (spelling, owner_len) in cases {
        let run = wd.run(&["cert", "add", "long", "--name", &spelling]);
        run.expect_code(2);
        let err = run.stderr();
        assert!(err.contains(&spelling), "{err}");
        assert!(err.contains("_acme-challenge."), "{err}");
        assert!(err.contains(&format!("{owner_len} octets")), "{err}");
    }
    assert!(
        !wd.path().join("certpilot.toml").exists(),
        "nothing was written"
    );
    // The longest name whose owner fits (237 + 16 = 253) is accepted.
    wd.run(&["cert", "add", "long", "--name", &name_of_len(237)])
        .ok();
}

#[test]
fn bash_completion_completes_commands_and_options() {
    let wd = Workdir::new("completions");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = wd.run(&["completions", shell]);
        run.ok();
        let script = run.stdout();
        for word in ["certpilot", "rollover", "acme-dns", "propagation-timeout"] {
            assert!(script.contains(word), "{shell}: no {word:?} in\n{script}");
        }
    }
    let script = wd.path().join("certpilot.bash");
    std::fs::write(&script, wd.run(&["completions", "bash"]).stdout()).unwrap();
    // Ask bash's completion function, as the shell does on Tab.
    let complete =
        |line: &str| {
            let words: Vec<&str> = line.split(' ').collect();
            let probe =
                format!(
            "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT={}; \
             _certpilot certpilot '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
            words.len() - 1,
            line.len(),
            words[words.len() - 1],
            words[words.len().saturating_sub(2)],
        );
            let out = Command::new("bash").arg("-c").arg(probe).output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
    assert_eq!(complete("certpilot acc"), ["account"]);
    let sub = complete("certpilot account ");
    for want in ["add", "list", "rollover"] {
        assert!(sub.iter().any(|w| w == want), "{sub:?}");
    }
    assert!(complete("certpilot renew --fo")
        .iter()
        .any(|w| w == "--force"));
}

#[test]
fn man_pages_are_generated_for_every_command() {
    if !common::require_tool("man") {
        return;
    }
    let wd = Workdir::new("manpage");
    let page = wd.run(&["manpage"]);
    page.ok();
    assert!(
        page.stdout().starts_with(".ie") || page.stdout().contains(".TH certpilot"),
        "{}",
        page.stdout()
    );
    let out = wd.path().join("man");
    wd.run(&["manpage", "--out", out.to_str().unwrap()]).ok();
    for file in [
        "certpilot.1",
        "certpilot-account.1",
        "certpilot-account-add.1",
        "certpilot-renew.1",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    // man itself renders them: the options are there in words.
    let rendered = Command::new("man")
        .arg("-l")
        .arg(out.join("certpilot-renew.1"))
        .env("MANWIDTH", "100")
        .env("PAGER", "cat")
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&rendered.stdout);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    for want in ["--force", "--only", "--ca-bundle"] {
        assert!(text.contains(want), "no {want} in\n{text}");
    }
}
