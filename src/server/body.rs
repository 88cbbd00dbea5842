//! Request bodies and values, decoded the way the reference server (Go's `encoding/json` into
//! one struct) decodes them, because existing clients rely on its leniencies:
//! keys match case-insensitively (goacmedns sends `SubDomain`, `Txt`, `AllowFrom`), unknown
//! keys are ignored, the last duplicate wins, `null` leaves a field alone, and invalid UTF-8
//! inside strings becomes U+FFFD instead of an error.
//!
//! `/register` uses `json.Unmarshal` (any error, trailing data included, is
//! `malformed_json_payload`); `/update` uses `json.Decoder.Decode` (only the first JSON value
//! is read; a syntax error in it leaves every field empty; a wrong type leaves that field
//! empty and the others filled).

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The fields of the reference server's request struct.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Fields {
    /// `subdomain`.
    pub subdomain: Option<String>,
    /// `txt`.
    pub txt: Option<String>,
    /// `allowfrom`; `None` when absent or `null`.
    pub allowfrom: Option<Vec<String>>,
    /// Whether any value had the wrong type or was unusable (the decode "failed").
    pub had_error: bool,
}

/// `/register`'s body (already known to be non-empty): the fields, or `None` when the
/// reference server would answer `malformed_json_payload`.
pub(crate) fn register_body(body: &[u8]) -> Option<Fields> {
    let text = String::from_utf8_lossy(body);
    let mut fields = Fields::default();
    let mut de = serde_json::Deserializer::from_str(&text);
    FieldsSeed(&mut fields).deserialize(&mut de).ok()?;
    de.end().ok()?;
    (!fields.had_error).then_some(fields)
}

/// `/update`'s body: whatever the reference server's streaming decoder would have filled in.
pub(crate) fn update_body(body: &[u8]) -> Fields {
    let text = String::from_utf8_lossy(body);
    // Go reads (and syntax-checks) the whole first value before assigning anything.
    let mut first = serde_json::Deserializer::from_str(&text).into_iter::<IgnoredAny>();
    if !matches!(first.next(), Some(Ok(_))) {
        return Fields::default();
    }
    let mut fields = Fields::default();
    let mut de = serde_json::Deserializer::from_str(&text);
    // An error here still leaves the fields decoded before it, as in Go.
    let _partial = FieldsSeed(&mut fields).deserialize(&mut de);
    fields
}

/// Decodes into borrowed `Fields` so that an abort keeps what was assigned before it.
struct FieldsSeed<'a>(&'a mut Fields);

impl<'de> DeserializeSeed<'de> for FieldsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        // `null` into a struct is a no-op in Go.
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let fields = self.0;
        while let Some(key) = map.next_key::<String>()? {
            if fold_eq(&key, "subdomain") {
                set_string(
                    &mut fields.subdomain,
                    &mut fields.had_error,
                    map.next_value()?,
                );
            } else if fold_eq(&key, "txt") {
                set_string(&mut fields.txt, &mut fields.had_error, map.next_value()?);
            } else if fold_eq(&key, "password") {
                let mut ignored = None;
                set_string(&mut ignored, &mut fields.had_error, map.next_value()?);
            } else if fold_eq(&key, "allowfrom") {
                set_list(fields, map.next_value()?);
            } else if fold_eq(&key, "username") {
                match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::Null => {}
                    serde_json::Value::String(s) if uuid::Uuid::parse_str(&s).is_ok() => {}
                    // Go's UUID UnmarshalText error aborts the whole decode.
                    serde_json::Value::String(_) => {
                        fields.had_error = true;
                        return Err(de::Error::custom("invalid UUID"));
                    }
                    _ => fields.had_error = true,
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    // Any other top-level value: a type error in Go, nothing assigned.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.0.had_error = true;
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.0.had_error = true;
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.0.had_error = true;
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.0.had_error = true;
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.0.had_error = true;
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.0.had_error = true;
        Ok(())
    }
}

fn set_string(slot: &mut Option<String>, had_error: &mut bool, value: serde_json::Value) {
    match value {
        serde_json::Value::String(s) => *slot = Some(s),
        serde_json::Value::Null => {}
        _ => *had_error = true,
    }
}

fn set_list(fields: &mut Fields, value: serde_json::Value) {
    match value {
        serde_json::Value::Null => fields.allowfrom = None,
        serde_json::Value::Array(items) => {
            let list = items
                .into_iter()
                .map(|item| match item {
                    serde_json::Value::String(s) => s,
                    // Go leaves a null element as "" (then not a CIDR); other types fail.
                    serde_json::Value::Null => String::new(),
                    _ => {
                        fields.had_error = true;
                        String::new()
                    }
                })
                .collect();
            fields.allowfrom = Some(list);
        }
        _ => fields.had_error = true,
    }
}

/// Go's `strings.EqualFold` for a key against an ASCII field name: simple case folding, so
/// `ſ` matches `s` and the Kelvin sign matches `k`, as in Go.
fn fold_eq(key: &str, field: &str) -> bool {
    key.chars().count() == field.len()
        && key.chars().zip(field.chars()).all(|(a, b)| {
            a == b || a.to_lowercase().eq(b.to_lowercase()) || a.to_uppercase().eq(b.to_uppercase())
        })
}

/// `[A-Za-z0-9_-]` exactly `len` characters long.
fn is_token(value: &str, len: usize) -> bool {
    value.len() == len
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A TXT value acme-dns accepts: 43 characters of unpadded base64url (a SHA-256 digest).
pub(crate) fn valid_txt(value: &str) -> bool {
    is_token(value, 43)
}

/// An API key of the form the server issues (40 characters of `[A-Za-z0-9_-]`).
pub(crate) fn valid_key(value: &str) -> bool {
    is_token(value, 40)
}

/// An allowfrom entry as the reference server keeps it: brackets removed, otherwise as given
/// (`[::1]/128` → `::1/128`, `192.0.2.7/24` stays), with the network it denotes.
pub(crate) fn parse_cidr(entry: &str) -> Option<(String, IpNet)> {
    let cleaned: String = entry.chars().filter(|c| *c != '[' && *c != ']').collect();
    let (addr, prefix) = cleaned.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    // Go accepts leading zeros in the prefix length but nothing else.
    if prefix.is_empty() || prefix.len() > 6 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let net = IpNet::new(addr, prefix).ok()?.trunc();
    Some((cleaned, unmap_v4(net)))
}

/// An IPv4-mapped IPv6 network matches IPv4 clients in Go; make it an IPv4 network.
fn unmap_v4(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
            Some(v4) => IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).unwrap_or(net),
            None => net,
        },
        _ => net,
    }
}

/// Whether an account with these allowfrom entries may update from any of `clients`
/// (an empty allowfrom allows everyone, even when no client address is known).
pub(crate) fn allowed_from(allowfrom: &[String], clients: &[IpAddr]) -> bool {
    let nets: Vec<IpNet> = allowfrom
        .iter()
        .filter_map(|entry| parse_cidr(entry).map(|(_, net)| net))
        .collect();
    if nets.is_empty() {
        return true;
    }
    clients.iter().any(|client| {
        let client = client.to_canonical();
        nets.iter().any(|net| net.contains(&client))
    })
}

/// Addresses in a forwarded-for header: comma-separated, trimmed; unparsable ones dropped.
pub(crate) fn forwarded_addresses(header: &str) -> Vec<IpAddr> {
    header
        .split(',')
        .filter_map(|part| part.trim().parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_bodies_decode_like_go() {
        let ok = |body: &str| register_body(body.as_bytes());
        assert_eq!(ok("{}"), Some(Fields::default()));
        assert_eq!(ok("null"), Some(Fields::default()));
        assert_eq!(ok(" {} \n"), Some(Fields::default()));
        let af = ok(r#"{"AllowFrom":["::1/128"],"extra":{"x":[1]}}"#).expect("ok");
        assert_eq!(af.allowfrom, Some(vec!["::1/128".to_string()]));
        let last = ok(r#"{"allowfrom":["a"],"ALLOWFROM":["b"]}"#).expect("ok");
        assert_eq!(last.allowfrom, Some(vec!["b".to_string()]));
        for bad in [
            "{} x",
            "{",
            "[]",
            "\"s\"",
            "5",
            "   ",
            r#"{"allowfrom":"x"}"#,
            r#"{"allowfrom":[1]}"#,
            r#"{"username":"nope"}"#,
            r#"{"password":5}"#,
        ] {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }

    #[test]
    fn update_bodies_decode_like_a_streaming_go_decoder() {
        let f = update_body(br#"{"SubDomain":"s","Txt":"t"} trailing"#);
        assert_eq!(
            (f.subdomain.as_deref(), f.txt.as_deref()),
            (Some("s"), Some("t"))
        );
        let f = update_body(br#"{"subdomain":"s","txt":"t""#);
        assert_eq!(f, Fields::default());
        let f = update_body(br#"{"subdomain":"s","txt":5}"#);
        assert_eq!((f.subdomain.as_deref(), f.txt), (Some("s"), None));
        let f = update_body(br#"{"subdomain":"s","username":"bad","txt":"t"}"#);
        assert_eq!((f.subdomain.as_deref(), f.txt), (Some("s"), None));
        let f = update_body(b"{\"subdomain\":\"s\",\"txt\":\"\xff\"}");
        assert_eq!(f.txt.as_deref(), Some("\u{fffd}"));
        assert!(fold_eq("\u{17f}ubdomain", "subdomain"));
        assert!(!fold_eq("subdomains", "subdomain"));
    }

    #[test]
    fn cidrs_and_client_addresses() {
        assert_eq!(parse_cidr("[::1]/128").map(|c| c.0), Some("::1/128".into()));
        assert_eq!(
            parse_cidr("192.0.2.7/024").map(|c| c.0),
            Some("192.0.2.7/024".into())
        );
        for bad in [
            "1.2.3.4",
            "1.2.3.4/33",
            "01.2.3.4/8",
            "/8",
            "1.2.3.4/+8",
            "",
            "x/1",
        ] {
            assert!(parse_cidr(bad).is_none(), "{bad}");
        }
        let list = vec![
            "192.0.2.0/24".to_string(),
            "::ffff:198.51.100.0/120".to_string(),
        ];
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert!(allowed_from(&list, &[ip("192.0.2.9")]));
        assert!(allowed_from(&list, &[ip("::ffff:192.0.2.9")]));
        assert!(allowed_from(&list, &[ip("198.51.100.1")]));
        assert!(!allowed_from(&list, &[ip("203.0.113.1")]));
        assert!(!allowed_from(&list, &[]));
        assert!(allowed_from(&[], &[]));
        assert_eq!(
            forwarded_addresses(" 1.2.3.4 , ,x, ::1"),
            [ip("1.2.3.4"), ip("::1")]
        );
    }

    #[test]
    fn tokens() {
        assert!(valid_txt(&"a".repeat(43)));
        assert!(!valid_txt(&"a".repeat(42)));
        assert!(!valid_txt(&format!("{}=", "a".repeat(42))));
        assert!(valid_key(&"-_aZ09".repeat(7)[..40]));
    }
}
