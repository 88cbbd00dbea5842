//! One invalid config file per mistake: each is reported with the file, the line where the
//! mistake is, and what is wrong; exit 2; the file is never rewritten.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use common::Workdir;

/// (file, line reported or 0 for a whole-file check, text the message must contain)
const CASES: &[(&str, usize, &str)] = &[
    ("unclosed_table.toml", 4, "certpilot.toml:4:"),
    ("unknown_setting.toml", 2, "unknown field `resolverz`"),
    ("wrong_type.toml", 3, "invalid type"),
    (
        "unknown_account.toml",
        0,
        "uses account \"nope\", which is not configured",
    ),
    ("invalid_name.toml", 0, "bad_name.example.com"),
    ("bad_key_type.toml", 3, "dsa-1024"),
    ("http_directory.toml", 0, "must be an https:// URL"),
    ("unknown_solver.toml", 2, "carrier-pigeon"),
    ("exec_without_command.toml", 1, "missing field `command`"),
    (
        "rfc2136_without_key_name.toml",
        1,
        "missing field `tsig_name`",
    ),
    // The API key belongs in the keyring: a key in the file is refused, not used.
    ("powerdns_key_in_file.toml", 1, "unknown field `api_key`"),
    ("no_names.toml", 0, "certificate \"web\""),
    ("duplicate_names.toml", 0, "a.example.com"),
];

#[test]
fn every_invalid_config_is_reported_precisely_and_left_untouched() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid_configs");
    let mut seen = 0;
    for (file, line, needle) in CASES {
        let original = std::fs::read(dir.join(file)).unwrap();
        let wd = Workdir::new("cfg");
        let config = wd.path().join("certpilot.toml");
        std::fs::write(&config, &original).unwrap();
        for args in [
            &["list"][..],
            &["cert", "add", "x", "--name", "x.example.com"][..],
            &["domain", "list"][..],
        ] {
            let run = wd.run(args);
            let err = run.stderr();
            assert_eq!(run.code(), 2, "{file} {args:?}: exit {}\n{err}", run.code());
            assert!(
                err.contains("certpilot.toml"),
                "{file}: message names no file: {err}"
            );
            assert!(err.contains(needle), "{file}: want {needle:?} in {err}");
            if *line > 0 {
                assert!(
                    err.contains(&format!("certpilot.toml:{line}:")),
                    "{file}: want line {line} in {err}"
                );
            }
            assert_eq!(
                std::fs::read(&config).unwrap(),
                original,
                "{file}: the config was rewritten"
            );
            assert!(run.stdout().is_empty(), "{file}: printed {}", run.stdout());
        }
        seen += 1;
    }
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        seen, on_disk,
        "every file in tests/invalid_configs has a case"
    );
}

#[test]
fn a_valid_config_round_trips_through_cli_edits() {
    let wd = Workdir::new("cfg-ok");
    wd.run(&["domain", "set", "Example.COM", "--solver", "manual"])
        .ok();
    wd.run(&[
        "cert",
        "add",
        "web",
        "--name",
        "B\u{fc}cher.example.com",
        "--name",
        "*.example.com",
        "--key-type",
        "rsa-2048",
    ])
    .ok();
    let text = std::fs::read_to_string(wd.path().join("certpilot.toml")).unwrap();
    assert!(text.contains("xn--bcher-kva.example.com"), "{text}");
    assert!(text.contains("[domains.\"example.com\"]"), "{text}");
    let list = wd.run(&["list", "--json"]);
    list.ok();
    let rows: serde_json::Value = serde_json::from_str(&list.stdout()).unwrap();
    assert_eq!(rows[0]["key_type"], "rsa-2048");
    assert_eq!(rows[0]["status"], "missing");
    assert!(rows[0]["not_after"].is_null());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(wd.path().join("certpilot.toml"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    // A second cert add with the same name is refused without --replace.
    wd.run(&["cert", "add", "web", "--name", "example.com"])
        .expect_code(2);
    let too_many: Vec<String> = (0..101).map(|i| format!("h{i}.example.com")).collect();
    let mut args = vec!["cert", "add", "big"];
    for n in &too_many {
        args.extend(["--name", n.as_str()]);
    }
    let run = wd.run(&args);
    run.expect_code(2);
    assert!(run.stderr().contains("101"), "{}", run.stderr());
}
