//! DNS names as they go into a certificate: normalisation (IDN, case, trailing dot),
//! wildcard rules, certificate/account folder names and the `_acme-challenge` owner.
//!
//! Everything here is pure: no I/O, no DNS lookups.

use std::collections::HashMap;
use std::net::IpAddr;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

/// Longest label, in octets (RFC 1035 §2.3.4).
const MAX_LABEL_OCTETS: usize = 63;
/// Longest name in presentation form without the root dot (RFC 1035 §2.3.4: 255 on the wire).
const MAX_NAME_OCTETS: usize = 253;
/// Most names per certificate: Let's Encrypt's (and Pebble's) limit.
const MAX_NAMES: usize = 100;
/// Longest certificate or account name; it becomes a folder and file name.
const MAX_CERT_NAME_CHARS: usize = 64;

/// A name that cannot go into a certificate, or a certificate name that cannot be a folder.
///
/// Every message names the offending input so that it can be shown as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing but whitespace (or a lone dot).
    #[error("{input:?}: empty name")]
    Empty {
        /// The input as given.
        input: String,
    },
    /// Two dots in a row, or a leading dot.
    #[error("{input:?}: empty label")]
    EmptyLabel {
        /// The input as given.
        input: String,
    },
    /// A label longer than 63 octets (after punycode conversion).
    #[error("{input:?}: label {label:?} is {len} octets long (at most 63)")]
    LabelTooLong {
        /// The input as given.
        input: String,
        /// The label, in its ASCII form.
        label: String,
        /// Its length in octets.
        len: usize,
    },
    /// A name longer than 253 octets (after punycode conversion).
    #[error("{input:?}: name is {len} octets long (at most 253)")]
    NameTooLong {
        /// The input as given.
        input: String,
        /// Its length in octets, in ASCII form.
        len: usize,
    },
    /// A character outside letters, digits and hyphen in an ASCII label.
    #[error(
        "{input:?}: character {ch:?} is not allowed in a certificate name \
         (letters, digits and hyphens only)"
    )]
    InvalidChar {
        /// The input as given.
        input: String,
        /// The first offending character.
        ch: char,
    },
    /// A label that starts or ends with a hyphen.
    #[error("{input:?}: label {label:?} starts or ends with a hyphen")]
    HyphenAtEdge {
        /// The input as given.
        input: String,
        /// The offending label.
        label: String,
    },
    /// `ab--cd`: hyphens in positions 3 and 4 are reserved for IDN (`xn--`) labels.
    #[error("{input:?}: label {label:?} has \"--\" in positions 3-4, which is reserved for \"xn--\" labels")]
    ReservedHyphens {
        /// The input as given.
        input: String,
        /// The offending label.
        label: String,
    },
    /// IDNA (UTS-46, strict) refused a label, e.g. bad punycode after `xn--`.
    #[error("{input:?}: {label:?} is not a valid internationalised domain name (IDNA)")]
    InvalidIdn {
        /// The input as given.
        input: String,
        /// The offending label, or the whole name when no single label is to blame.
        label: String,
    },
    /// A `*` anywhere but as the whole left-most label.
    #[error("{input:?}: a wildcard must be the whole left-most label of a longer name, as in \"*.example.com\"")]
    Wildcard {
        /// The input as given.
        input: String,
    },
    /// One label only (a bare TLD), or a wildcard directly over a TLD.
    #[error("{input:?}: needs at least two labels below any wildcard (no certificate for a bare top-level domain)")]
    TooFewLabels {
        /// The input as given.
        input: String,
    },
    /// The top-level label is all digits: an IP address in disguise, never a DNS name.
    #[error("{input:?}: the top-level label is all digits, so this is not a DNS name")]
    NumericTld {
        /// The input as given.
        input: String,
    },
    /// An IPv4 or IPv6 address.
    #[error("{input:?}: IP identifiers are not supported for DNS-01; use a DNS name")]
    IpAddress {
        /// The input as given.
        input: String,
    },
    /// A name that fits DNS, but whose `_acme-challenge.` owner does not: its DNS-01
    /// record could never be created (RFC 1035 §2.3.4 limits the owner to 253 octets).
    #[error(
        "{input:?}: its challenge name _acme-challenge.{base} would be {len} octets long \
         (at most 253), so no DNS-01 record can prove it; shorten the name to at most 237 octets"
    )]
    ChallengeOwnerTooLong {
        /// The input as given.
        input: String,
        /// The name the owner is built from (without any wildcard label).
        base: String,
        /// The owner's length in octets.
        len: usize,
    },
    /// An empty name list.
    #[error("a certificate needs at least one name")]
    NoNames,
    /// More than 100 names.
    #[error("{count} names given; a certificate holds at most 100")]
    TooManyNames {
        /// How many names were given.
        count: usize,
    },
    /// The same name twice once normalised.
    #[error("duplicate name {name:?}{}", spellings(.first, .second))]
    Duplicate {
        /// The normalised name.
        name: String,
        /// The first spelling, as given.
        first: String,
        /// The second spelling, as given.
        second: String,
    },
    /// A certificate or account name that cannot be used as a folder/file name.
    #[error("{name:?}: not usable as a certificate or account name: {reason}")]
    InvalidCertName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The "(given as …)" part of a duplicate message, only when the spellings differ.
fn spellings(first: &str, second: &str) -> String {
    if first == second {
        String::new()
    } else {
        format!(" (given as {first:?} and {second:?})")
    }
}

/// Normalise one DNS name for a certificate: trim, strip one trailing dot, IDN → punycode
/// (UTS-46, strict), lower case.
///
/// A wildcard is allowed only as the whole left-most label (`*.example.com`). Labels are
/// 1..=63 octets of letters, digits and hyphens (not at either end); the whole name is at
/// most 253 octets and has at least two labels. IP addresses are rejected: DNS-01 cannot
/// validate them.
///
/// # Errors
/// One [`NameError`] variant per mistake, naming the input.
pub fn normalize(input: &str) -> Result<String, NameError> {
    let trimmed = input.trim();
    let name = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if name.is_empty() {
        return Err(NameError::Empty {
            input: input.to_string(),
        });
    }
    let owned = || trimmed.to_string();
    let (wildcard, base) = match name.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    if is_ip(name) || is_ip(base) {
        return Err(NameError::IpAddress { input: owned() });
    }
    if base.contains('*') {
        return Err(NameError::Wildcard { input: owned() });
    }
    // Plain ASCII labels are checked here, before IDNA, because IDNA only says "invalid"
    // while the operator needs to know which character or hyphen is wrong.
    for label in base.split('.') {
        if label.is_empty() {
            return Err(NameError::EmptyLabel { input: owned() });
        }
        if label.is_ascii() {
            check_ascii_label(trimmed, label)?;
        }
    }
    let ascii = to_ascii(trimmed, base)?;
    check_structure(trimmed, &ascii)?;
    let full = if wildcard {
        format!("*.{ascii}")
    } else {
        ascii
    };
    if full.len() > MAX_NAME_OCTETS {
        return Err(NameError::NameTooLong {
            input: owned(),
            len: full.len(),
        });
    }
    Ok(full)
}

/// Whether `name` (optionally in brackets) parses as an IPv4 or IPv6 address.
fn is_ip(name: &str) -> bool {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    bare.parse::<IpAddr>().is_ok()
}

/// LDH rules for one ASCII label, with a precise message.
fn check_ascii_label(input: &str, label: &str) -> Result<(), NameError> {
    if let Some(ch) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(NameError::InvalidChar {
            input: input.to_string(),
            ch,
        });
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(NameError::HyphenAtEdge {
            input: input.to_string(),
            label: label.to_string(),
        });
    }
    let reserved = label.get(2..4) == Some("--");
    if reserved && !label.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("xn")) {
        return Err(NameError::ReservedHyphens {
            input: input.to_string(),
            label: label.to_string(),
        });
    }
    Ok(())
}

/// UTS-46 `ToASCII` with the strict settings (STD3 rules, hyphen checks); lengths are checked
/// afterwards by [`check_structure`] so that the message can name the label.
fn to_ascii(input: &str, base: &str) -> Result<String, NameError> {
    let uts46 = Uts46::new();
    let convert = |s: &str| {
        uts46
            .to_ascii(
                s.as_bytes(),
                AsciiDenyList::STD3,
                Hyphens::Check,
                DnsLength::Ignore,
            )
            .map(std::borrow::Cow::into_owned)
    };
    convert(base).map_err(|_| {
        // Blame the first label that fails on its own; bidi rules span labels, so
        // possibly none does, and then the whole name is named.
        let label = base
            .split('.')
            .find(|l| convert(l).is_err())
            .unwrap_or(base);
        NameError::InvalidIdn {
            input: input.to_string(),
            label: label.to_string(),
        }
    })
}

/// Checks on the ASCII form: UTS-46 may map other dots (`。`) to `.`, so labels are
/// counted and measured only now.
fn check_structure(input: &str, ascii: &str) -> Result<(), NameError> {
    let labels: Vec<&str> = ascii.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err(NameError::EmptyLabel {
                input: input.to_string(),
            });
        }
        if label.len() > MAX_LABEL_OCTETS {
            return Err(NameError::LabelTooLong {
                input: input.to_string(),
                label: (*label).to_string(),
                len: label.len(),
            });
        }
    }
    if labels.len() < 2 {
        return Err(NameError::TooFewLabels {
            input: input.to_string(),
        });
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(NameError::NumericTld {
            input: input.to_string(),
        });
    }
    Ok(())
}

/// Normalise a certificate's name list: 1..=100 names, each through [`normalize`] and short
/// enough for its `_acme-challenge.` owner, no duplicates after normalisation; order is kept.
///
/// # Errors
/// [`NameError::NoNames`], [`NameError::TooManyNames`], [`NameError::Duplicate`], or the
/// first name's own error.
pub fn normalize_set(inputs: &[String]) -> Result<Vec<String>, NameError> {
    if inputs.is_empty() {
        return Err(NameError::NoNames);
    }
    if inputs.len() > MAX_NAMES {
        return Err(NameError::TooManyNames {
            count: inputs.len(),
        });
    }
    let mut seen: HashMap<String, &str> = HashMap::with_capacity(inputs.len());
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        let name = normalize(input)?;
        check_challenge_owner(input, &name)?;
        if let Some(first) = seen.get(name.as_str()) {
            return Err(NameError::Duplicate {
                name,
                first: (*first).to_string(),
                second: input.clone(),
            });
        }
        seen.insert(name.clone(), input);
        out.push(name);
    }
    Ok(out)
}

/// A certificate name must also leave room for its DNS-01 owner, `_acme-challenge.<base>`.
fn check_challenge_owner(input: &str, name: &str) -> Result<(), NameError> {
    let owner = challenge_owner(name);
    if owner.len() > MAX_NAME_OCTETS {
        return Err(NameError::ChallengeOwnerTooLong {
            input: input.to_string(),
            base: base_domain(name).to_string(),
            len: owner.len(),
        });
    }
    Ok(())
}

/// Check a certificate or account name used as a folder/file name: 1..=64 characters of
/// `[A-Za-z0-9._-]`, not starting with `.` or `-`.
///
/// # Errors
/// [`NameError::InvalidCertName`] with the reason.
pub fn validate_cert_name(name: &str) -> Result<(), NameError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.chars().count() > MAX_CERT_NAME_CHARS {
        Some("it is longer than 64 characters")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Some("only letters, digits, '.', '_' and '-' are allowed")
    } else if name.starts_with('.') || name.starts_with('-') {
        // A leading dot hides the folder; a leading hyphen reads as an option to tools.
        Some("it must not start with '.' or '-'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(NameError::InvalidCertName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The name a wildcard covers: `*.example.com` → `example.com`; other names unchanged.
#[must_use]
pub fn base_domain(name: &str) -> &str {
    name.strip_prefix("*.").unwrap_or(name)
}

/// The DNS-01 owner name: `_acme-challenge.<base>` without a trailing dot (RFC 8555 §8.4);
/// a wildcard and its base share one owner.
#[must_use]
pub fn challenge_owner(name: &str) -> String {
    format!("_acme-challenge.{}", base_domain(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(c: char, n: usize) -> String {
        std::iter::repeat_n(c, n).collect()
    }

    #[test]
    fn normalize_accepts() {
        let long_label = format!("{}.com", label('a', 63));
        // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 octets.
        let longest = format!(
            "{}.{}.{}.{}",
            label('a', 63),
            label('b', 63),
            label('c', 63),
            label('d', 61)
        );
        let cases: &[(&str, &str)] = &[
            ("Example.COM.", "example.com"),
            ("  example.com  ", "example.com"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("BÜCHER.example", "xn--bcher-kva.example"),
            ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
            ("*.Example.com", "*.example.com"),
            ("*.bücher.example.", "*.xn--bcher-kva.example"),
            ("bücher。example", "xn--bcher-kva.example"),
            ("a-b.example.com", "a-b.example.com"),
            ("123.example.com", "123.example.com"),
            ("example.xn--p1ai", "example.xn--p1ai"),
            (&long_label, &long_label),
            (&longest, &longest),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input).as_deref(), Ok(*want), "input {input:?}");
        }
    }

    /// Builds the expected error from the input, so each table row stays one line.
    type Expect = fn(String) -> NameError;

    fn check_rejects(cases: &[(&str, Expect)]) {
        for (input, make) in cases {
            assert_eq!(
                normalize(input),
                Err(make((*input).to_string())),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn normalize_rejects_structure() {
        check_rejects(&[
            ("", |input| NameError::Empty { input }),
            ("   ", |input| NameError::Empty { input }),
            (".", |input| NameError::Empty { input }),
            ("a..b", |input| NameError::EmptyLabel { input }),
            (".a.com", |input| NameError::EmptyLabel { input }),
            ("a.com..", |input| NameError::EmptyLabel { input }),
            ("a。。com", |input| NameError::EmptyLabel { input }),
            ("com", |input| NameError::TooFewLabels { input }),
            ("com.", |input| NameError::TooFewLabels { input }),
            ("*.com", |input| NameError::TooFewLabels { input }),
            ("10.0.1", |input| NameError::NumericTld { input }),
        ]);
    }

    #[test]
    fn normalize_rejects_characters() {
        check_rejects(&[
            ("a_b.com", |input| NameError::InvalidChar { input, ch: '_' }),
            ("a b.com", |input| NameError::InvalidChar { input, ch: ' ' }),
            ("a.com:443", |input| NameError::InvalidChar {
                input,
                ch: ':',
            }),
            ("-a.com", |input| NameError::HyphenAtEdge {
                input,
                label: "-a".into(),
            }),
            ("a-.com", |input| NameError::HyphenAtEdge {
                input,
                label: "a-".into(),
            }),
            ("ab--c.com", |input| NameError::ReservedHyphens {
                input,
                label: "ab--c".into(),
            }),
            ("xn--zz.com", |input| NameError::InvalidIdn {
                input,
                label: "xn--zz".into(),
            }),
            ("a.xn--a.com", |input| NameError::InvalidIdn {
                input,
                label: "xn--a".into(),
            }),
            ("a_ü.com", |input| NameError::InvalidIdn {
                input,
                label: "a_ü".into(),
            }),
        ]);
    }

    #[test]
    fn normalize_rejects_wildcards_and_ips() {
        check_rejects(&[
            ("*", |input| NameError::Wildcard { input }),
            ("*.", |input| NameError::Wildcard { input }),
            ("a*.x.com", |input| NameError::Wildcard { input }),
            ("x.*.com", |input| NameError::Wildcard { input }),
            ("*.*.x", |input| NameError::Wildcard { input }),
            ("**.x.com", |input| NameError::Wildcard { input }),
            ("192.0.2.1", |input| NameError::IpAddress { input }),
            ("192.0.2.1.", |input| NameError::IpAddress { input }),
            ("::1", |input| NameError::IpAddress { input }),
            ("[2001:db8::1]", |input| NameError::IpAddress { input }),
            ("*.192.0.2.1", |input| NameError::IpAddress { input }),
        ]);
    }

    #[test]
    fn normalize_rejects_lengths() {
        let long_label = format!("{}.com", label('a', 64));
        // 63 + 1 + 63 + 1 + 63 + 1 + 62 = 254 octets.
        let too_long = format!(
            "{}.{}.{}.{}",
            label('a', 63),
            label('b', 63),
            label('c', 63),
            label('d', 62)
        );
        // The "*." counts: 2 + 63 + 1 + 63 + 1 + 63 + 1 + 60 = 254.
        let wildcard_too_long = format!(
            "*.{}.{}.{}.{}",
            label('a', 63),
            label('b', 63),
            label('c', 63),
            label('d', 60)
        );
        // Punycode counts, not characters: 60 × "ü" is far over 63 octets.
        let idn_label = format!("{}.com", label('ü', 60));
        let cases = [
            (
                long_label.clone(),
                NameError::LabelTooLong {
                    input: long_label,
                    label: label('a', 64),
                    len: 64,
                },
            ),
            (
                too_long.clone(),
                NameError::NameTooLong {
                    input: too_long,
                    len: 254,
                },
            ),
            (
                wildcard_too_long.clone(),
                NameError::NameTooLong {
                    input: wildcard_too_long,
                    len: 254,
                },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(&input), Err(want), "input {input:?}");
        }
        assert!(
            matches!(normalize(&idn_label), Err(NameError::LabelTooLong { len, .. }) if len > 63),
            "{:?}",
            normalize(&idn_label)
        );
    }

    #[test]
    fn messages_name_the_input() {
        let cases: &[(&str, &str)] = &[
            ("a..b", "\"a..b\": empty label"),
            ("", "\"\": empty name"),
            (
                "192.0.2.1",
                "\"192.0.2.1\": IP identifiers are not supported for DNS-01; use a DNS name",
            ),
            (
                "::1",
                "\"::1\": IP identifiers are not supported for DNS-01; use a DNS name",
            ),
            (
                "a_b.com",
                "\"a_b.com\": character '_' is not allowed in a certificate name \
                 (letters, digits and hyphens only)",
            ),
            (
                "-a.com",
                "\"-a.com\": label \"-a\" starts or ends with a hyphen",
            ),
        ];
        for (input, want) in cases {
            let err = normalize(input).expect_err(input);
            assert_eq!(err.to_string(), *want);
        }
        let long = format!("{}.com", label('a', 64));
        let msg = normalize(&long).expect_err("too long").to_string();
        assert!(msg.contains("is 64 octets long (at most 63)"), "{msg}");
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(ToString::to_string).collect()
    }

    type SetCase = (Vec<String>, Result<Vec<String>, NameError>);

    /// A valid name of exactly `len` octets (labels of up to 63 octets, ending in `.com`).
    fn owner_base(len: usize) -> String {
        let mut labels = Vec::new();
        let mut left = len - ".com".len();
        while left > 0 {
            let take = left.min(63);
            // Leave no room for a lone dot: a label needs at least one octet after it.
            let take = if left > take && left - take == 1 {
                take - 1
            } else {
                take
            };
            labels.push(label('x', take));
            left -= take;
            left = left.saturating_sub(1);
        }
        labels.push("com".into());
        let name = labels.join(".");
        assert_eq!(name.len(), len, "{name}");
        name
    }

    #[test]
    fn normalize_set_cases() {
        let hundred: Vec<String> = (0..100).map(|i| format!("h{i}.example.com")).collect();
        let too_many: Vec<String> = (0..101).map(|i| format!("h{i}.example.com")).collect();
        let cases: Vec<SetCase> = vec![
            (
                strings(&["www.Example.com", "*.example.com", "example.com."]),
                Ok(strings(&[
                    "www.example.com",
                    "*.example.com",
                    "example.com",
                ])),
            ),
            (hundred.clone(), Ok(hundred)),
            (vec![], Err(NameError::NoNames)),
            (too_many, Err(NameError::TooManyNames { count: 101 })),
            (
                strings(&["A.com", "b.com", "a.com"]),
                Err(NameError::Duplicate {
                    name: "a.com".into(),
                    first: "A.com".into(),
                    second: "a.com".into(),
                }),
            ),
            (
                strings(&["a.com", "a.com"]),
                Err(NameError::Duplicate {
                    name: "a.com".into(),
                    first: "a.com".into(),
                    second: "a.com".into(),
                }),
            ),
            (
                strings(&["ok.com", "a..b"]),
                Err(NameError::EmptyLabel {
                    input: "a..b".into(),
                }),
            ),
            // 237 octets: `_acme-challenge.` (16) + 237 = 253, the longest owner.
            (vec![owner_base(237)], Ok(vec![owner_base(237)])),
            (
                vec![owner_base(238)],
                Err(NameError::ChallengeOwnerTooLong {
                    input: owner_base(238),
                    base: owner_base(238),
                    len: 254,
                }),
            ),
            // A wildcard shares its base's owner, so `*.` does not count.
            (
                vec![format!("*.{}", owner_base(237))],
                Ok(vec![format!("*.{}", owner_base(237))]),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_set(&input), want, "input {input:?}");
        }
    }

    #[test]
    fn normalize_set_messages() {
        let cases: Vec<(Vec<String>, &str)> = vec![
            (
                strings(&["A.com", "a.com"]),
                "duplicate name \"a.com\" (given as \"A.com\" and \"a.com\")",
            ),
            (strings(&["a.com", "a.com"]), "duplicate name \"a.com\""),
            (
                (0..101).map(|i| format!("h{i}.example.com")).collect(),
                "101 names given; a certificate holds at most 100",
            ),
            (vec![], "a certificate needs at least one name"),
        ];
        for (input, want) in cases {
            let err = normalize_set(&input).expect_err("must fail");
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn cert_names() {
        let max = label('a', 64);
        let over = label('a', 65);
        let ok = [
            "main",
            "mainCert",
            "a",
            "example.com",
            "wild_card-1",
            "x.",
            &max,
        ];
        for name in ok {
            assert_eq!(validate_cert_name(name), Ok(()), "name {name:?}");
        }
        let bad: &[(&str, &str)] = &[
            ("", "it is empty"),
            (&over, "it is longer than 64 characters"),
            ("a/b", "only letters, digits, '.', '_' and '-' are allowed"),
            ("..", "it must not start with '.' or '-'"),
            (".hidden", "it must not start with '.' or '-'"),
            ("-rf", "it must not start with '.' or '-'"),
            ("a b", "only letters, digits, '.', '_' and '-' are allowed"),
            (
                "bücher",
                "only letters, digits, '.', '_' and '-' are allowed",
            ),
            (
                "*.example.com",
                "only letters, digits, '.', '_' and '-' are allowed",
            ),
        ];
        for (name, reason) in bad {
            assert_eq!(
                validate_cert_name(name),
                Err(NameError::InvalidCertName {
                    name: (*name).to_string(),
                    reason,
                }),
                "name {name:?}"
            );
        }
        let msg = validate_cert_name("a/b").expect_err("bad").to_string();
        assert_eq!(
            msg,
            "\"a/b\": not usable as a certificate or account name: \
             only letters, digits, '.', '_' and '-' are allowed"
        );
    }

    #[test]
    fn base_and_owner() {
        let cases = [
            (
                "*.example.com",
                "example.com",
                "_acme-challenge.example.com",
            ),
            ("example.com", "example.com", "_acme-challenge.example.com"),
            (
                "www.example.com",
                "www.example.com",
                "_acme-challenge.www.example.com",
            ),
            (
                "*.a.b.example",
                "a.b.example",
                "_acme-challenge.a.b.example",
            ),
        ];
        for (name, base, owner) in cases {
            assert_eq!(base_domain(name), base);
            assert_eq!(challenge_owner(name), owner);
        }
    }
}
