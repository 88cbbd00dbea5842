//! The dependency rule of STYLE.md, checked on the source tree: no import cycles between the
//! top-level modules of `src/` (nor between the sub-modules of `acme/`), the front-end-free
//! layers import no CLI, and only `tui` draws.
//!
//! An import is a `crate::X` path or a `super::…` path that climbs out of the file's own
//! module; inline `mod name { … }` blocks are followed so a test module's `use super::*` stays
//! where it is.
// Test scaffolding, not product code: a panic here is a failed test/run (STYLE.md allows `unwrap`
// in tests), and pedantic style is not enforced on harness code.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One source file: its module path (`["acme", "engine"]`) and its text without comments
/// and string literals.
struct Source {
    module: Vec<String>,
    file: PathBuf,
    code: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    assert!(out.len() > 50, "found only {} files under src/", out.len());
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<Source>) {
    for entry in fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under src/");
            let mut module: Vec<String> = rel
                .with_extension("")
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            if module == ["lib"] || module == ["main"] {
                module.clear();
            }
            let text = fs::read_to_string(&path).expect("read source");
            out.push(Source {
                module,
                file: path.clone(),
                code: strip(&text),
            });
        }
    }
}

/// The code without comments, string and char literals (their braces and `crate::` words
/// are not code).
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&chars, i) {
            // Raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A char literal ('x', '\n', '{') or a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every module path a source file names, resolved to absolute paths (`["acme", "engine"]`).
fn imports(source: &Source) -> Vec<Vec<String>> {
    let chars: Vec<char> = source.code.chars().collect();
    let mut out = Vec::new();
    // Inline modules: (name, brace depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            depth += 1;
        } else if c == '}' {
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
        }
        if is_ident(c) && !ident_before(&chars, i) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if word == "mod" {
                // `mod name {` opens an inline module.
                let rest: String = chars[i..chars.len().min(i + 80)].iter().collect();
                let rest = rest.trim_start();
                let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
                let after = rest[name.len()..].trim_start();
                if !name.is_empty() && after.starts_with('{') {
                    inline.push((name, depth + 1));
                }
            } else if word == "crate" || word == "super" {
                let mut here: Vec<String> = source.module.clone();
                here.extend(inline.iter().map(|(n, _)| n.clone()));
                let (paths, end) = path_at(&chars, start, &here);
                out.extend(paths);
                i = end.max(i);
            }
            continue;
        }
        i += 1;
    }
    out
}

/// Parse the path starting at `start` (`crate::a::b`, `super::super::x`, `crate::{a, b::c}`)
/// into absolute module paths.
fn path_at(chars: &[char], start: usize, here: &[String]) -> (Vec<Vec<String>>, usize) {
    let mut i = start;
    let mut base: Vec<String> = Vec::new();
    let mut first = true;
    loop {
        let s = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        let word: String = chars[s..i].iter().collect();
        if word.is_empty() {
            break;
        }
        if first && word == "crate" {
            base.clear();
        } else if first && word == "super" {
            base = here.to_vec();
            base.pop();
        } else if word == "super" && base.len() <= here.len() {
            base.pop();
        } else {
            base.push(word);
        }
        first = false;
        if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
            i += 2;
            if chars.get(i) == Some(&'{') {
                // A group: each item's first segment.
                let mut j = i + 1;
                let mut level = 1;
                let mut items = Vec::new();
                let mut item = String::new();
                while j < chars.len() && level > 0 {
                    match chars[j] {
                        '{' => level += 1,
                        '}' => level -= 1,
                        ',' if level == 1 => items.push(std::mem::take(&mut item)),
                        ch if level == 1 => item.push(ch),
                        _ => {}
                    }
                    j += 1;
                }
                items.push(item);
                let paths = items
                    .iter()
                    .map(|it| {
                        let seg: String = it.trim().chars().take_while(|c| is_ident(*c)).collect();
                        let mut p = base.clone();
                        if !seg.is_empty() && seg != "self" {
                            p.push(seg);
                        }
                        p
                    })
                    .collect();
                return (paths, j);
            }
            continue;
        }
        break;
    }
    (vec![base], i)
}

/// Edges `from → to` between the children of `parent` (`[]`: the top level).
fn graph(sources: &[Source], parent: &[String]) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in sources {
        if source.module.len() <= parent.len() || !source.module.starts_with(parent) {
            continue;
        }
        let from = source.module[parent.len()].clone();
        edges.entry(from.clone()).or_default();
        for path in imports(source) {
            if path.len() > parent.len() && path.starts_with(parent) {
                let to = &path[parent.len()];
                if *to != from {
                    edges.entry(from.clone()).or_default().insert(to.clone());
                }
            }
        }
    }
    // Only real children (a path segment can be an item, not a module).
    let children: BTreeSet<String> = edges.keys().cloned().collect();
    for targets in edges.values_mut() {
        targets.retain(|t| children.contains(t));
    }
    edges
}

/// A cycle, if any (as `a → b → a`).
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(node.to_owned(), Mark::Open);
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            match marks.get(next).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let at = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut found = stack[at..].to_vec();
                    found.push(next.clone());
                    return Some(found);
                }
                Mark::New => {
                    if let Some(found) = visit(next, edges, marks, stack) {
                        return Some(found);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in edges.keys() {
        if marks.get(node).copied().unwrap_or(Mark::New) == Mark::New {
            if let Some(found) = visit(node, edges, &mut marks, &mut Vec::new()) {
                return Some(found);
            }
        }
    }
    None
}

fn top(source: &Source) -> &str {
    source.module.first().map_or("", String::as_str)
}

/// Whether the code names the crate `krate` (`krate::…` not preceded by `::` or an ident).
fn names_crate(code: &str, krate: &str) -> bool {
    let needle = format!("{krate}::");
    code.match_indices(&needle).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        !before.is_some_and(|c| is_ident(c) || c == ':')
    })
}

fn all_cycles_text(edges: &BTreeMap<String, BTreeSet<String>>) -> String {
    edges
        .iter()
        .map(|(from, to)| {
            format!(
                "  {from} → {}",
                to.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn top_level_modules_form_no_cycle() {
    let sources = sources();
    let edges = graph(&sources, &[]);
    assert!(
        edges.contains_key("acme") && edges.contains_key("jobs"),
        "{edges:?}"
    );
    if let Some(found) = cycle(&edges) {
        panic!(
            "import cycle between top-level modules: {}\nthe graph:\n{}",
            found.join(" → "),
            all_cycles_text(&edges)
        );
    }
}

#[test]
fn acme_sub_modules_form_no_cycle() {
    let sources = sources();
    let edges = graph(&sources, &["acme".to_owned()]);
    assert!(edges.contains_key("engine"), "{edges:?}");
    if let Some(found) = cycle(&edges) {
        panic!(
            "import cycle inside acme/: {}\nthe graph:\n{}",
            found.join(" → "),
            all_cycles_text(&edges)
        );
    }
}

#[test]
fn the_application_layer_imports_no_cli() {
    let sources = sources();
    let edges = graph(&sources, &[]);
    for layer in ["jobs", "ops", "session"] {
        let to = edges.get(layer).cloned().unwrap_or_default();
        assert!(!to.contains("cli"), "{layer} imports cli: {to:?}");
        for source in sources.iter().filter(|s| top(s) == layer) {
            assert!(
                !names_crate(&source.code, "clap"),
                "{} names clap",
                source.file.display()
            );
        }
    }
    assert!(edges.contains_key("ops") && edges.contains_key("session"));
}

#[test]
fn only_tui_draws() {
    for source in sources() {
        if top(&source) == "tui" {
            continue;
        }
        for krate in ["ratatui", "crossterm"] {
            assert!(
                !names_crate(&source.code, krate),
                "{} imports {krate}: only tui/ draws",
                source.file.display()
            );
        }
    }
}

#[test]
fn pure_layers_know_no_runtime_or_terminal() {
    for source in sources() {
        if !["domain", "config", "cert"].contains(&top(&source)) {
            continue;
        }
        for krate in ["tokio", "ratatui", "crossterm"] {
            assert!(
                !names_crate(&source.code, krate),
                "{} imports {krate}",
                source.file.display()
            );
        }
    }
}

#[test]
fn the_checker_sees_imports() {
    // Its own parser, on a known text: a grouped import (first segments), a climbing super,
    // a string that is not code, a test module.
    let source = Source {
        module: vec!["acme".into(), "engine".into()],
        file: PathBuf::from("x.rs"),
        code: strip(
            "use crate::{dns::Waiter, solver};\nuse super::super::config::Config;\n\
             use super::order;\nlet s = \"crate::cli\";\nmod tests { use super::*; }",
        ),
    };
    let found = imports(&source);
    let want: Vec<Vec<String>> = vec![
        vec!["dns".into()],
        vec!["solver".into()],
        vec!["config".into(), "Config".into()],
        vec!["acme".into(), "order".into()],
        vec!["acme".into(), "engine".into(), "*".into()],
    ];
    // `super::*` inside `mod tests` resolves to the file's own module.
    assert_eq!(found[..4], want[..4], "{found:?}");
    assert_eq!(found[4][..2], want[4][..2], "{found:?}");
    assert_eq!(found.len(), 5, "{found:?}");
}
