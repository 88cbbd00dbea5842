//! The fuzz targets of `certpilot::fuzz`, run briefly in the test suite: every input of the
//! kept corpus (`fuzz/corpus/<target>/`, shared with `cargo fuzz`) is replayed, then proptest
//! mutates corpus entries (byte flips, insertions, deletions, splices) for a bounded number of
//! cases per target (`PROPTEST_CASES`, default 4096). A failure prints the input; add it to the
//! corpus once fixed.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("corpus file"))
        })
        .collect();
    inputs.sort();
    inputs
}

fn target(name: &str) -> fn(&[u8]) {
    certpilot::fuzz::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no fuzz target {name}"))
}

/// One edit to a seed.
#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        bit: u8,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
    /// Copy a slice of another seed over this one.
    Splice {
        from: usize,
        at: usize,
        len: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to TOML, JSON and DNS names, plus anything at all.
    let interesting = prop_oneof![
        3 => prop::sample::select(b"[]{}\"'=.,:*-_\\\n\t 0aZ\x00\xc3\xff".to_vec()),
        1 => any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), prop::collection::vec(interesting, 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), any::<usize>(), 1usize..64).prop_map(|(from, at, len)| Mutation::Splice {
            from,
            at,
            len
        }),
    ]
}

fn apply(seeds: &[(String, Vec<u8>)], seed: usize, edits: &[Mutation]) -> Vec<u8> {
    let mut data = seeds[seed % seeds.len()].1.clone();
    for edit in edits {
        let pos = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
        match edit {
            Mutation::Flip { at, bit } => {
                if !data.is_empty() {
                    let i = at % data.len();
                    data[i] ^= 1 << bit;
                }
            }
            Mutation::Insert { at, bytes } => {
                let i = pos(*at, data.len());
                data.splice(i..i, bytes.iter().copied());
            }
            Mutation::Delete { at, len } => {
                let i = pos(*at, data.len());
                let end = (i + len).min(data.len());
                data.drain(i..end);
            }
            Mutation::Splice { from, at, len } => {
                let other = &seeds[from % seeds.len()].1;
                if !other.is_empty() {
                    let start = at % other.len();
                    let end = (start + len).min(other.len());
                    let i = pos(*at, data.len());
                    data.splice(i..i, other[start..end].iter().copied());
                }
            }
        }
    }
    data
}

fn replay_and_mutate(name: &str) {
    let run = target(name);
    let seeds = corpus(name);
    assert!(
        seeds.len() >= 5,
        "{name}: the corpus in {} is nearly empty",
        corpus_dir(name).display()
    );
    for (file, data) in &seeds {
        if let Err(panic) = std::panic::catch_unwind(|| run(data)) {
            panic!("{name}: corpus input {file} breaks an invariant: {panic:?}");
        }
    }
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4096);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (any::<usize>(), prop::collection::vec(mutation(), 1..6));
    let result = runner.run(&strategy, |(seed, edits)| {
        let data = apply(&seeds, seed, &edits);
        std::panic::catch_unwind(|| run(&data)).map_err(|_| {
            TestCaseError::fail(format!(
                "input {:?}",
                String::from_utf8_lossy(&data).into_owned()
            ))
        })
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

#[test]
fn config_parser_survives_its_corpus_and_mutations() {
    replay_and_mutate("config");
}

#[test]
fn certs_json_parser_survives_its_corpus_and_mutations() {
    replay_and_mutate("certs_json");
}

#[test]
fn acmedns_import_survives_its_corpus_and_mutations() {
    replay_and_mutate("acmedns_import");
}

#[test]
fn name_normaliser_survives_its_corpus_and_mutations() {
    replay_and_mutate("domain_names");
}

#[test]
fn every_target_has_a_corpus_and_a_cargo_fuzz_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, _) in certpilot::fuzz::TARGETS {
        assert!(corpus_dir(name).is_dir(), "no corpus for {name}");
        let source = root.join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(
            text.contains(&format!("certpilot::fuzz::{name}")),
            "{} does not call the shared target",
            source.display()
        );
    }
}
