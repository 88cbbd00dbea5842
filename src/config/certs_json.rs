//! Import of dnscontrol's `get-certs` `certs.json`: a JSON array of
//! `{"cert_name": "...", "names": ["...", ...]}` entries.
//!
//! Parsing only; the caller reads the file and merges the result into the config.
//! Entries are numbered from 1 in messages, as a person counts them.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::domain::names::{self, NameError};

/// One certificate from `certs.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedCert {
    /// The certificate name (`cert_name`), valid as a folder name.
    pub name: String,
    /// Its names, normalised with [`names::normalize_set`].
    pub names: Vec<String>,
}

/// What is wrong with a `certs.json`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertsJsonError {
    /// Not JSON at all.
    #[error("certs.json is not valid JSON (line {line}, column {column}): {message}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// `serde_json`'s description, without its own position suffix.
        message: String,
    },
    /// Valid JSON, but not an array at the top.
    #[error(
        "certs.json must be a JSON array of {{\"cert_name\", \"names\"}} entries, found {found}"
    )]
    NotAnArray {
        /// The JSON type found.
        found: &'static str,
    },
    /// An entry that is not an object.
    #[error("certs.json entry {entry}: must be an object, found {found}")]
    EntryNotObject {
        /// 1-based entry number.
        entry: usize,
        /// The JSON type found.
        found: &'static str,
    },
    /// An entry without `cert_name` or `names`.
    #[error("certs.json entry {entry}{}: missing \"{field}\"", cert_label(.cert_name.as_deref()))]
    MissingField {
        /// 1-based entry number.
        entry: usize,
        /// The entry's `cert_name`, when it has a usable one.
        cert_name: Option<String>,
        /// `cert_name` or `names`.
        field: &'static str,
    },
    /// A field of the wrong JSON type.
    #[error("certs.json entry {entry}{}: \"{field}\" must be {expected}, found {found}", cert_label(.cert_name.as_deref()))]
    WrongType {
        /// 1-based entry number.
        entry: usize,
        /// The entry's `cert_name`, when it has a usable one.
        cert_name: Option<String>,
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A `cert_name` that cannot be a folder name.
    #[error("certs.json entry {entry}: invalid cert_name: {source}")]
    InvalidCertName {
        /// 1-based entry number.
        entry: usize,
        /// Why (names the `cert_name`).
        source: NameError,
    },
    /// A name that cannot go into a certificate (or a bad name list).
    #[error("certs.json entry {entry} ({cert_name:?}): {source}")]
    InvalidName {
        /// 1-based entry number.
        entry: usize,
        /// The entry's `cert_name`.
        cert_name: String,
        /// Why (names the offending name).
        source: NameError,
    },
    /// Two entries with the same `cert_name` (compared case-insensitively, because the
    /// names become folders and some file systems ignore case).
    #[error("certs.json entries {first_entry} and {entry}: duplicate cert_name {}", duplicate_label(.first, .second))]
    DuplicateCertName {
        /// The first entry's number.
        first_entry: usize,
        /// The later entry's number.
        entry: usize,
        /// The first spelling.
        first: String,
        /// The later spelling.
        second: String,
    },
}

/// ` ("name")` after an entry number when the `cert_name` is known.
fn cert_label(cert_name: Option<&str>) -> String {
    cert_name.map_or_else(String::new, |name| format!(" ({name:?})"))
}

/// `"a"`, or `"a" / "A"` when the spellings differ only in case.
fn duplicate_label(first: &str, second: &str) -> String {
    if first == second {
        format!("{first:?}")
    } else {
        format!("{first:?} / {second:?}")
    }
}

/// The JSON type of a value, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parse a `certs.json`. Unknown fields in an entry are ignored, as dnscontrol does; an
/// empty array gives an empty list.
///
/// # Errors
/// The first problem found, as a [`CertsJsonError`] naming the entry.
pub fn parse(text: &str) -> Result<Vec<ImportedCert>, CertsJsonError> {
    let value: Value = serde_json::from_str(text).map_err(|e| syntax_error(&e))?;
    let Value::Array(entries) = value else {
        return Err(CertsJsonError::NotAnArray {
            found: kind(&value),
        });
    };
    let mut seen: HashMap<String, (usize, String)> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let number = index + 1;
        let cert = parse_entry(number, entry)?;
        let key = cert.name.to_ascii_lowercase();
        if let Some((first_entry, first)) = seen.get(&key) {
            return Err(CertsJsonError::DuplicateCertName {
                first_entry: *first_entry,
                entry: number,
                first: first.clone(),
                second: cert.name,
            });
        }
        seen.insert(key, (number, cert.name.clone()));
        out.push(cert);
    }
    Ok(out)
}

/// `serde_json`'s message ends in " at line L column C"; keep the position as fields only.
fn syntax_error(err: &serde_json::Error) -> CertsJsonError {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    CertsJsonError::Syntax {
        line: err.line(),
        column: err.column(),
        message,
    }
}

/// One entry: an object with a string `cert_name` and an array of strings `names`.
fn parse_entry(entry: usize, value: &Value) -> Result<ImportedCert, CertsJsonError> {
    let Value::Object(object) = value else {
        return Err(CertsJsonError::EntryNotObject {
            entry,
            found: kind(value),
        });
    };
    let name = match field(object, entry, None, "cert_name")? {
        Value::String(name) => name.clone(),
        other => return Err(wrong_type(entry, None, "cert_name", "a string", other)),
    };
    names::validate_cert_name(&name)
        .map_err(|source| CertsJsonError::InvalidCertName { entry, source })?;
    let items = match field(object, entry, Some(&name), "names")? {
        Value::Array(items) => items,
        other => {
            return Err(wrong_type(
                entry,
                Some(&name),
                "names",
                "an array of strings",
                other,
            ));
        }
    };
    let raw = items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            other => Err(wrong_type(
                entry,
                Some(&name),
                "names",
                "an array of strings",
                other,
            )),
        })
        .collect::<Result<Vec<String>, _>>()?;
    let names = names::normalize_set(&raw).map_err(|source| CertsJsonError::InvalidName {
        entry,
        cert_name: name.clone(),
        source,
    })?;
    Ok(ImportedCert { name, names })
}

/// A required field; `null` counts as missing.
fn field<'v>(
    object: &'v Map<String, Value>,
    entry: usize,
    cert_name: Option<&String>,
    name: &'static str,
) -> Result<&'v Value, CertsJsonError> {
    match object.get(name) {
        None | Some(Value::Null) => Err(CertsJsonError::MissingField {
            entry,
            cert_name: cert_name.cloned(),
            field: name,
        }),
        Some(value) => Ok(value),
    }
}

fn wrong_type(
    entry: usize,
    cert_name: Option<&String>,
    field: &'static str,
    expected: &'static str,
    found: &Value,
) -> CertsJsonError {
    CertsJsonError::WrongType {
        entry,
        cert_name: cert_name.cloned(),
        field,
        expected,
        found: kind(found),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copy of `shared/samples/certs.json` (CI does not have `shared/`).
    const SAMPLE: &str = r#"[
  {
    "cert_name": "mainCert",
    "names": ["example.test", "www.example.test"]
  },
  {
    "cert_name": "wildcardCert",
    "names": ["example.test", "*.example.test", "*.foo.example.test", "other.test", "*.other.test"]
  }
]
"#;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn parses_the_sample() {
        let certs = parse(SAMPLE).expect("sample parses");
        assert_eq!(
            certs,
            vec![
                ImportedCert {
                    name: "mainCert".into(),
                    names: strings(&["example.test", "www.example.test"]),
                },
                ImportedCert {
                    name: "wildcardCert".into(),
                    names: strings(&[
                        "example.test",
                        "*.example.test",
                        "*.foo.example.test",
                        "other.test",
                        "*.other.test",
                    ]),
                },
            ]
        );
    }

    #[test]
    fn accepts_and_normalises() {
        let cases: &[(&str, Vec<ImportedCert>)] = &[
            ("[]", vec![]),
            (
                r#"[{"cert_name": "a", "names": ["WWW.Bücher.example."], "extra": {"x": 1}}]"#,
                vec![ImportedCert {
                    name: "a".into(),
                    names: strings(&["www.xn--bcher-kva.example"]),
                }],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).as_ref(), Ok(want), "input {text}");
        }
    }

    /// Each row: input, the error, its message.
    type Row = (&'static str, CertsJsonError, &'static str);

    fn check_rejects(cases: Vec<Row>) {
        for (text, want, message) in cases {
            let err = parse(text).expect_err(text);
            assert_eq!(err, want, "input {text}");
            assert_eq!(err.to_string(), message, "input {text}");
        }
    }

    #[test]
    fn rejects_bad_structure() {
        check_rejects(vec![
            (
                "[\n  {\"cert_name\": \"a\" \"names\": []}\n]",
                CertsJsonError::Syntax {
                    line: 2,
                    column: 21,
                    message: "expected `,` or `}`".into(),
                },
                "certs.json is not valid JSON (line 2, column 21): expected `,` or `}`",
            ),
            (
                r#"{"cert_name": "a"}"#,
                CertsJsonError::NotAnArray { found: "an object" },
                "certs.json must be a JSON array of {\"cert_name\", \"names\"} entries, found an object",
            ),
            (
                r#"[{"cert_name": "a", "names": ["a.test"]}, "b"]"#,
                CertsJsonError::EntryNotObject { entry: 2, found: "a string" },
                "certs.json entry 2: must be an object, found a string",
            ),
            (
                r#"[{"names": ["a.test"]}]"#,
                CertsJsonError::MissingField { entry: 1, cert_name: None, field: "cert_name" },
                "certs.json entry 1: missing \"cert_name\"",
            ),
            (
                r#"[{"cert_name": null, "names": ["a.test"]}]"#,
                CertsJsonError::MissingField { entry: 1, cert_name: None, field: "cert_name" },
                "certs.json entry 1: missing \"cert_name\"",
            ),
            (
                r#"[{"cert_name": "main"}]"#,
                CertsJsonError::MissingField {
                    entry: 1,
                    cert_name: Some("main".into()),
                    field: "names",
                },
                "certs.json entry 1 (\"main\"): missing \"names\"",
            ),
            (
                r#"[{"cert_name": 7, "names": ["a.test"]}]"#,
                CertsJsonError::WrongType {
                    entry: 1,
                    cert_name: None,
                    field: "cert_name",
                    expected: "a string",
                    found: "a number",
                },
                "certs.json entry 1: \"cert_name\" must be a string, found a number",
            ),
            (
                r#"[{"cert_name": "main", "names": "a.test"}]"#,
                CertsJsonError::WrongType {
                    entry: 1,
                    cert_name: Some("main".into()),
                    field: "names",
                    expected: "an array of strings",
                    found: "a string",
                },
                "certs.json entry 1 (\"main\"): \"names\" must be an array of strings, found a string",
            ),
            (
                r#"[{"cert_name": "main", "names": ["a.test", 3]}]"#,
                CertsJsonError::WrongType {
                    entry: 1,
                    cert_name: Some("main".into()),
                    field: "names",
                    expected: "an array of strings",
                    found: "a number",
                },
                "certs.json entry 1 (\"main\"): \"names\" must be an array of strings, found a number",
            ),
        ]);
    }

    #[test]
    fn rejects_bad_content() {
        let dup = names::normalize_set(&strings(&["a.test", "A.test"])).expect_err("dup");
        let bad_cert_name = names::validate_cert_name("bad/name").expect_err("bad");
        check_rejects(vec![
            (
                r#"[{"cert_name": "bad/name", "names": ["a.test"]}]"#,
                CertsJsonError::InvalidCertName { entry: 1, source: bad_cert_name },
                "certs.json entry 1: invalid cert_name: \"bad/name\": not usable as a certificate \
                 or account name: only letters, digits, '.', '_' and '-' are allowed",
            ),
            (
                r#"[{"cert_name": "main", "names": ["a_b.test"]}]"#,
                CertsJsonError::InvalidName {
                    entry: 1,
                    cert_name: "main".into(),
                    source: NameError::InvalidChar { input: "a_b.test".into(), ch: '_' },
                },
                "certs.json entry 1 (\"main\"): \"a_b.test\": character '_' is not allowed in a \
                 certificate name (letters, digits and hyphens only)",
            ),
            (
                r#"[{"cert_name": "main", "names": ["a.test", "A.test"]}]"#,
                CertsJsonError::InvalidName { entry: 1, cert_name: "main".into(), source: dup },
                "certs.json entry 1 (\"main\"): duplicate name \"a.test\" (given as \"a.test\" and \"A.test\")",
            ),
            (
                r#"[{"cert_name": "main", "names": []}]"#,
                CertsJsonError::InvalidName {
                    entry: 1,
                    cert_name: "main".into(),
                    source: NameError::NoNames,
                },
                "certs.json entry 1 (\"main\"): a certificate needs at least one name",
            ),
            (
                r#"[{"cert_name": "main", "names": ["a.test"]}, {"cert_name": "x", "names": ["x.test"]},
                   {"cert_name": "Main", "names": ["b.test"]}]"#,
                CertsJsonError::DuplicateCertName {
                    first_entry: 1,
                    entry: 3,
                    first: "main".into(),
                    second: "Main".into(),
                },
                "certs.json entries 1 and 3: duplicate cert_name \"main\" / \"Main\"",
            ),
            (
                r#"[{"cert_name": "main", "names": ["a.test"]}, {"cert_name": "main", "names": ["b.test"]}]"#,
                CertsJsonError::DuplicateCertName {
                    first_entry: 1,
                    entry: 2,
                    first: "main".into(),
                    second: "main".into(),
                },
                "certs.json entries 1 and 2: duplicate cert_name \"main\"",
            ),
        ]);
    }
}
