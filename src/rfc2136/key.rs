//! TSIG keys: the algorithm names certpilot accepts and the secret as read from a file.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name, TSigner};

use super::Rfc2136Error;

/// How far our clock may be from the server's, in seconds (BIND's and Knot's default).
const FUDGE: u16 = 300;

/// The TSIG algorithms certpilot signs with (RFC 8945's recommended HMACs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `hmac-sha256`.
    HmacSha256,
    /// `hmac-sha384`.
    HmacSha384,
    /// `hmac-sha512`.
    HmacSha512,
}

impl Algorithm {
    /// Every algorithm, for help texts.
    pub const ALL: [Algorithm; 3] = [Self::HmacSha256, Self::HmacSha384, Self::HmacSha512];

    /// The name used on the command line, in the config and by BIND and Knot.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha256 => "hmac-sha256",
            Self::HmacSha384 => "hmac-sha384",
            Self::HmacSha512 => "hmac-sha512",
        }
    }

    fn hickory(self) -> TsigAlgorithm {
        match self {
            Self::HmacSha256 => TsigAlgorithm::HmacSha256,
            Self::HmacSha384 => TsigAlgorithm::HmacSha384,
            Self::HmacSha512 => TsigAlgorithm::HmacSha512,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Rfc2136Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == wanted.trim_end_matches('.'))
            .ok_or_else(|| {
                Rfc2136Error::BadKey(format!(
                "unknown TSIG algorithm {s:?}; choose one of hmac-sha256, hmac-sha384, hmac-sha512"
            ))
            })
    }
}

/// The base64 secret from a key file's text: a bare base64 line, BIND's
/// `key "name" { ...; secret "…"; };` (as `tsig-keygen` writes it) or Knot's `secret: …`
/// (as `keymgr -t` writes it). The result is checked to decode.
///
/// # Errors
/// [`Rfc2136Error::BadKey`] when no secret is found or it is not base64; the message never
/// contains the text.
pub fn secret_from_text(text: &str) -> Result<String, Rfc2136Error> {
    let secret = text
        .lines()
        .find_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("secret")
                .or_else(|| line.strip_prefix("- secret"))?;
            let value = rest.trim_start_matches([':', ' ', '\t']);
            Some(
                value
                    .trim_end_matches(';')
                    .trim()
                    .trim_matches('"')
                    .to_owned(),
            )
        })
        .unwrap_or_else(|| text.split_whitespace().collect::<String>());
    if secret.is_empty() {
        return Err(Rfc2136Error::BadKey("the TSIG secret is empty".into()));
    }
    decode(&secret)?;
    Ok(secret)
}

fn decode(secret: &str) -> Result<Vec<u8>, Rfc2136Error> {
    match STANDARD.decode(secret.trim()) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(Rfc2136Error::BadKey(
            "the TSIG secret is not base64 (expected the secret of a tsig-keygen or keymgr key)"
                .into(),
        )),
    }
}

/// A TSIG key ready to sign. `Debug` shows the name and algorithm only.
#[derive(Clone)]
pub struct TsigKey {
    /// The key name, as the server knows it.
    pub name: String,
    /// Its algorithm.
    pub algorithm: Algorithm,
    signer: TSigner,
}

impl TsigKey {
    /// A key from its name, algorithm and base64 secret.
    ///
    /// # Errors
    /// [`Rfc2136Error::BadKey`] for a bad name or secret.
    pub fn new(name: &str, algorithm: Algorithm, secret: &str) -> Result<Self, Rfc2136Error> {
        let key_name = Name::from_ascii(name)
            .map_err(|e| Rfc2136Error::BadKey(format!("TSIG key name {name:?}: {e}")))?;
        let signer = TSigner::new(decode(secret)?, algorithm.hickory(), key_name, FUDGE)
            .map_err(|e| Rfc2136Error::BadKey(e.to_string()))?;
        Ok(Self {
            name: name.trim_end_matches('.').to_owned(),
            algorithm,
            signer,
        })
    }

    /// The hickory signer.
    pub(super) fn signer(&self) -> &TSigner {
        &self.signer
    }
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==";

    #[test]
    fn secrets_from_every_key_file_shape() {
        let cases = [
            (format!("{SECRET}\n"), Ok(SECRET)),
            (
                format!("key \"k\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{SECRET}\";\n}};\n"),
                Ok(SECRET),
            ),
            (
                format!("key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: {SECRET}\n"),
                Ok(SECRET),
            ),
            ("not base64 at all!\n".to_owned(), Err("not base64")),
            ("\n".to_owned(), Err("empty")),
        ];
        for (text, want) in cases {
            match (secret_from_text(&text), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want),
                (Err(e), Err(want)) => {
                    assert!(e.to_string().contains(want), "{e}");
                    let shown = text.trim();
                    assert!(shown.is_empty() || !e.to_string().contains(shown), "{e}");
                }
                (got, want) => panic!("{text:?}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn algorithms_round_trip_and_debug_hides_the_secret() {
        for a in Algorithm::ALL {
            assert_eq!(a.as_str().parse::<Algorithm>().unwrap(), a);
        }
        assert!("hmac-md5".parse::<Algorithm>().is_err());
        let key = TsigKey::new("k.", Algorithm::HmacSha256, SECRET).unwrap();
        assert_eq!(key.name, "k");
        assert!(!format!("{key:?}").contains(SECRET));
    }
}
