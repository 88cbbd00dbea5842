//! Bad input from the user or from another tool's files: each case gets a clear error that
//! names what is wrong, exit status 2, and leaves every file of the working directory as it
//! was (the log aside). Configs have their own table in `config_errors.rs`; parsers are
//! fuzzed in `fuzz_parsers.rs`.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{Run, Workdir};

/// A config with one account and one certificate, so commands have something to break.
const CONFIG: &str = r#"[accounts.main]
directory = "https://127.0.0.1:14000/dir"

[certificates.web]
names = ["example.com", "www.example.com"]

[domains."example.com"]
solver = "manual"
"#;

/// Every file under `dir` with its bytes, except the log (which records the attempt).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    common::files_under(dir)
        .into_iter()
        .filter(|path| {
            !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("certpilot.log"))
        })
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path.strip_prefix(dir).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

fn workdir() -> Workdir {
    let wd = Workdir::new("bad-input");
    std::fs::write(wd.path().join("certpilot.toml"), CONFIG).unwrap();
    wd
}

/// Runs `args`, then checks exit 2, every needle in stderr, nothing on stdout that looks
/// like success, no secret echoed, and no file changed.
fn refused(wd: &Workdir, args: &[&str], needles: &[&str], secret: Option<&str>) -> Run {
    let before = snapshot(wd.path());
    let run = wd.run(args);
    let err = run.stderr();
    assert_eq!(run.code(), 2, "{args:?}: exit {}\n{err}", run.code());
    for needle in needles {
        assert!(err.contains(needle), "{args:?}: want {needle:?} in: {err}");
    }
    if let Some(secret) = secret {
        let all = format!("{}{}{}", run.stdout(), err, wd.log());
        assert!(!all.contains(secret), "{args:?}: the secret was printed");
    }
    assert_eq!(
        snapshot(wd.path()),
        before,
        "{args:?}: a file of the working directory changed"
    );
    run
}

fn case_file(group: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/bad_input")
        .join(group)
        .join(name)
}

/// Every file of `tests/bad_input/<group>` must have a row in `table`.
fn assert_table_covers(group: &str, table: &[(&str, &[&str])]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/bad_input")
        .join(group);
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = table.iter().map(|(f, _)| (*f).to_owned()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "tests/bad_input/{group} and its table differ"
    );
}

#[test]
fn malformed_certs_json_is_refused_with_the_entry_at_fault() {
    const TABLE: &[(&str, &[&str])] = &[
        ("double_wildcard.json", &["entry 1", "*.*.example.com"]),
        ("duplicate_cert.json", &["entries 1 and 2", "MAIN"]),
        ("empty_label.json", &["entry 1", "a..example.com"]),
        ("ip_address.json", &["entry 1", "192.0.2.7"]),
        ("no_names.json", &["entry 1"]),
        ("not_array.json", &["array"]),
        ("path_name.json", &["entry 1", "../escape"]),
        ("too_many.json", &["entry 1", "101"]),
        ("truncated.json", &["line 1"]),
    ];
    assert_table_covers("certs_json", TABLE);
    let wd = workdir();
    for (file, needles) in TABLE {
        let path = case_file("certs_json", file);
        refused(
            &wd,
            &[
                "cert",
                "import",
                path.to_str().unwrap(),
                "--account",
                "main",
            ],
            needles,
            None,
        );
    }
}

#[test]
fn malformed_credential_files_are_refused_without_quoting_the_password() {
    const SECRET: &str = "Bad1nputPassw0rdNeverPrinted";
    const TABLE: &[(&str, &[&str])] = &[
        ("array.json", &["array.json", "object"]),
        ("bad_domain.json", &["bad_domain.json", "bad..example"]),
        ("empty.json", &["empty.json", "no accounts"]),
        ("fulldomain_number.json", &["example.com", "fulldomain"]),
        ("no_fulldomain.json", &["example.com", "fulldomain"]),
        ("plain_http.json", &["http://"]),
        ("truncated.json", &["truncated.json", "not JSON"]),
    ];
    assert_table_covers("credentials", TABLE);
    let wd = workdir();
    for (file, needles) in TABLE {
        let path = case_file("credentials", file);
        let path = path.to_str().unwrap();
        // goacmedns entries carry their server; certbot files need --server.
        let args: Vec<&str> = if *file == "plain_http.json" {
            vec!["acme-dns", "import", path]
        } else {
            vec![
                "acme-dns",
                "import",
                path,
                "--server",
                "https://auth.example.net",
            ]
        };
        refused(&wd, &args, needles, Some(SECRET));
    }
}

#[test]
fn invalid_names_are_refused_by_every_command_that_takes_one() {
    let wd = workdir();
    let long_label = format!("{}.example.com", "a".repeat(64));
    let bad_names = [
        "a..example.com",
        "-a.example.com",
        "*.*.example.com",
        "foo.*.example.com",
        "192.0.2.1",
        "localhost",
        "under_score.example.com",
        long_label.as_str(),
    ];
    for name in bad_names {
        // `--name=` so that a name starting with '-' is a value, not an option.
        let flag = format!("--name={name}");
        refused(
            &wd,
            &["cert", "add", "new", "--name", "ok.example.com", &flag],
            &[name],
            None,
        );
        refused(
            &wd,
            &["domain", "set", "--solver", "manual", "--", name],
            &[name],
            None,
        );
    }
    for cert_name in ["../up", "a/b", "", ".hidden"] {
        refused(
            &wd,
            &["cert", "add", cert_name, "--name", "ok.example.com"],
            &["certificate name"],
            None,
        );
    }
}

#[test]
fn bad_arguments_to_existing_commands_change_nothing() {
    let wd = workdir();
    refused(&wd, &["issue", "nope"], &["nope", "not configured"], None);
    refused(&wd, &["renew", "--only", "nope"], &["nope"], None);
    refused(&wd, &["export", "nope", "--out", "out"], &["nope"], None);
    refused(
        &wd,
        &["--propagation", "sometimes", "issue", "web"],
        &["sometimes"],
        None,
    );
    refused(
        &wd,
        &["--propagation", "sometimes", "renew", "--all"],
        &["sometimes"],
        None,
    );
    refused(
        &wd,
        &[
            "acme-dns",
            "register",
            "example.com",
            "--server",
            "http://198.51.100.7",
        ],
        &["http://"],
        None,
    );
}
