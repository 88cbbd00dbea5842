//! The OS keyring: one typed entry per secret kind, an explicitly chosen store, clear errors.
//!
//! A [`Keystore`] is one store ([`StoreKind`]) plus a service name (default `certpilot`, see
//! [`Keystore::service_from_env`]). Each secret is addressed by a [`SecretRef`], whose
//! [`SecretRef::user`] string is the keyring "user"; the secret itself never appears in a
//! name, a log line, an error or a `Debug` output.
//!
//! Where the entries end up:
//! - Secret Service: an item in the default collection (for gnome-keyring, `login`) with the
//!   attributes `service`, `username` (the user string), `target=default` and
//!   `application=rust-keyring`.
//! - keyutils: a kernel key of type `user` described `keyring-rs:<user>@<service>`, added to
//!   the caller's session keyring and linked into the user's persistent keyring. Every later
//!   process of the same session finds it through the session keyring; a new login session
//!   finds it through the persistent keyring (linked in again on each access), until that
//!   expires (`/proc/sys/kernel/keys/persistent_keyring_expiry`, 3 days by default) or the
//!   machine reboots. It is a cache, not a vault: keep a way to enter the secret again.
//! - Platform: the macOS Keychain or the Windows Credential Manager.
//!
//! **Every call here blocks** (D-Bus round trips, syscalls, Security.framework or Credential
//! Manager calls). Async code calls them inside `tokio::task::spawn_blocking`; a `Keystore`
//! is cheap to clone into the closure.

mod backend;
mod error;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use keyring::credential::CredentialBuilder;
use keyring::Entry;

pub use error::SecretError;

/// Environment variable that overrides the keyring service name (tests use their own).
pub const SERVICE_ENV: &str = "CERTPILOT_KEYRING_SERVICE";

/// The service name used when [`SERVICE_ENV`] is not set.
pub const DEFAULT_SERVICE: &str = "certpilot";

/// The user string of the entry [`Keystore::open`] reads to see whether the store answers.
/// It is never written; no [`SecretRef`] produces it (they all have a kind prefix).
const PROBE_USER: &str = "probe";

/// Which credential store holds the secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The freedesktop Secret Service over D-Bus (gnome-keyring, `KeePassXC`, `KWallet` ≥ 5.97).
    SecretService,
    /// The Linux kernel key retention service (no daemon, lost on reboot).
    Keyutils,
    /// The macOS Keychain or the Windows Credential Manager.
    Platform,
}

impl StoreKind {
    /// Every kind, in the order the CLI lists them.
    pub const ALL: [StoreKind; 3] = [Self::SecretService, Self::Keyutils, Self::Platform];

    /// The store a fresh installation uses: the Secret Service on Linux and the BSDs (it
    /// persists across reboots), the native keychain elsewhere.
    #[must_use]
    pub fn default_for_os() -> Self {
        if cfg!(any(
            target_os = "linux",
            target_os = "freebsd",
            target_os = "openbsd"
        )) {
            Self::SecretService
        } else {
            Self::Platform
        }
    }

    /// The name used on the command line and in the config file.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecretService => "secret-service",
            Self::Keyutils => "keyutils",
            Self::Platform => "platform",
        }
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A keystore name that is not one of [`StoreKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown keystore \"{0}\": choose one of secret-service, keyutils, platform")]
pub struct UnknownStoreKind(pub String);

impl FromStr for StoreKind {
    type Err = UnknownStoreKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s.trim())
            .ok_or_else(|| UnknownStoreKind(s.to_owned()))
    }
}

/// What a secret is; determines the keyring "user" string. Never contains the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An ACME account's credentials (instant-acme's JSON), by account name.
    Account(String),
    /// A certificate's PEM private key; `key_id` changes when the key is rotated.
    CertKey {
        /// The certificate's name.
        cert: String,
        /// The key's random identifier (see the certificate metadata).
        key_id: String,
    },
    /// The external account binding HMAC key of an account, by account name.
    EabHmac(String),
    /// The acme-dns password for a domain.
    AcmeDns(String),
    /// The TSIG secret (base64) of a domain mapped to the `rfc2136` solver.
    Tsig(String),
    /// The PowerDNS API key of a domain mapped to the `powerdns` solver.
    PowerDns(String),
    /// The password of the acme-dns server's PostgreSQL database, by `user@host:port/dbname`.
    DbPassword(String),
}

impl SecretRef {
    /// The keyring "user" string: `account:<name>`, `cert-key:<cert>:<key_id>`,
    /// `eab-hmac:<account>`, `acme-dns:<domain>`, `tsig:<domain>` or `powerdns:<domain>`.
    #[must_use]
    pub fn user(&self) -> String {
        match self {
            Self::Account(name) => format!("account:{name}"),
            Self::CertKey { cert, key_id } => format!("cert-key:{cert}:{key_id}"),
            Self::EabHmac(account) => format!("eab-hmac:{account}"),
            Self::AcmeDns(domain) => format!("acme-dns:{domain}"),
            Self::Tsig(domain) => format!("tsig:{domain}"),
            Self::PowerDns(domain) => format!("powerdns:{domain}"),
            Self::DbPassword(database) => format!("db-password:{database}"),
        }
    }
}

/// One opened credential store under one service name. Cloning shares the store.
#[derive(Clone)]
pub struct Keystore {
    kind: StoreKind,
    service: String,
    builder: Arc<CredentialBuilder>,
}

impl Keystore {
    /// Open `kind` for `service` and probe it: reading an entry that is never written must
    /// answer "no entry" (or a value); anything else is [`SecretError::Unreachable`].
    ///
    /// Never falls back to another store: secrets written to a store the user did not pick
    /// would be lost to them. Blocking.
    ///
    /// # Errors
    /// [`SecretError::Unreachable`] when the store does not exist on this OS or does not answer.
    pub fn open(kind: StoreKind, service: &str) -> Result<Self, SecretError> {
        let builder =
            backend::credential_builder(kind).map_err(|detail| SecretError::Unreachable {
                store: kind,
                detail,
            })?;
        let store = Self {
            kind,
            service: service.to_owned(),
            builder: Arc::from(builder),
        };
        // Resolving the store (keyutils: the session keyring) happens when an entry is built.
        let probe = store
            .build(PROBE_USER)
            .map_err(|err| SecretError::Unreachable {
                store: kind,
                detail: error::describe_open(kind, &err),
            })?;
        probe_verdict(kind, probe.get_password())?;
        Ok(store)
    }

    /// The service name: env `CERTPILOT_KEYRING_SERVICE` when set and not empty, else
    /// `certpilot`.
    #[must_use]
    pub fn service_from_env() -> String {
        std::env::var(SERVICE_ENV)
            .ok()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_SERVICE.to_owned())
    }

    /// The store this keystore writes to.
    #[must_use]
    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// The keyring service name of every entry.
    #[must_use]
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Store `secret` for `what`, replacing any previous value. Blocking.
    ///
    /// # Errors
    /// [`SecretError::Backend`] when the store refuses, and for an empty secret (keyutils
    /// cannot hold one, so no store is asked to).
    pub fn put(&self, what: &SecretRef, secret: &str) -> Result<(), SecretError> {
        let user = what.user();
        if secret.is_empty() {
            return Err(self.backend_error(user, "refusing to store an empty secret".to_owned()));
        }
        let entry = self.entry(&user)?;
        entry
            .set_password(secret)
            .map_err(|err| self.backend_error(user, error::describe(self.kind, &err)))
    }

    /// The secret for `what`, or `None` when there is none. Blocking.
    ///
    /// # Errors
    /// [`SecretError::Backend`] when the store fails or holds several matching items.
    pub fn get(&self, what: &SecretRef) -> Result<Option<String>, SecretError> {
        let user = what.user();
        match self.entry(&user)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(self.backend_error(user, error::describe(self.kind, &err))),
        }
    }

    /// Remove the secret for `what`; `false` when there was none. Blocking.
    ///
    /// # Errors
    /// [`SecretError::Backend`] when the store fails or holds several matching items.
    pub fn delete(&self, what: &SecretRef) -> Result<bool, SecretError> {
        let user = what.user();
        match self.entry(&user)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(err) => Err(self.backend_error(user, error::describe(self.kind, &err))),
        }
    }

    /// A keyring entry for `user` in this store; building one does not read or write it.
    fn build(&self, user: &str) -> keyring::Result<Entry> {
        let credential = self.builder.build(None, &self.service, user)?;
        Ok(Entry::new_with_credential(credential))
    }

    /// [`Self::build`] for an operation. A failed build is an error even when keyring calls
    /// it "no entry": keyutils reports an inaccessible session keyring that way, and it must
    /// not read as a missing secret.
    fn entry(&self, user: &str) -> Result<Entry, SecretError> {
        self.build(user).map_err(|err| {
            self.backend_error(user.to_owned(), error::describe_open(self.kind, &err))
        })
    }

    fn backend_error(&self, entry: String, detail: String) -> SecretError {
        SecretError::Backend {
            store: self.kind,
            entry,
            detail,
        }
    }
}

impl fmt::Debug for Keystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore")
            .field("kind", &self.kind)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// Whether the probe read shows a store that answers. A value, "no entry", duplicates or
/// undecodable bytes are all answers; connection, access and platform failures are not.
fn probe_verdict(kind: StoreKind, answer: keyring::Result<String>) -> Result<(), SecretError> {
    match answer {
        Ok(_)
        | Err(
            keyring::Error::NoEntry | keyring::Error::Ambiguous(_) | keyring::Error::BadEncoding(_),
        ) => Ok(()),
        Err(err) => Err(SecretError::Unreachable {
            store: kind,
            detail: error::describe(kind, &err),
        }),
    }
}

/// Run a blocking keyring call off the async workers.
///
/// # Errors
///
/// With `f`'s error, or when the blocking task is cancelled.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SecretError> + Send + 'static,
) -> Result<T, SecretError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(SecretError::Backend {
            store: StoreKind::default_for_os(),
            entry: String::new(),
            detail: format!("keyring task failed: {e}"),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_kind_names_round_trip() {
        for kind in StoreKind::ALL {
            assert_eq!(kind.as_str().parse::<StoreKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(" keyutils ".parse::<StoreKind>(), Ok(StoreKind::Keyutils));
    }

    #[test]
    fn unknown_store_kind_lists_the_choices() {
        let err = "gnome".parse::<StoreKind>().expect_err("not a store");
        assert_eq!(
            err.to_string(),
            "unknown keystore \"gnome\": choose one of secret-service, keyutils, platform"
        );
    }

    #[test]
    fn default_store_matches_the_os() {
        let expected = if cfg!(target_os = "linux") {
            StoreKind::SecretService
        } else if cfg!(any(target_os = "macos", target_os = "windows")) {
            StoreKind::Platform
        } else {
            StoreKind::default_for_os()
        };
        assert_eq!(StoreKind::default_for_os(), expected);
    }

    #[test]
    fn user_strings_per_kind() {
        let cases = [
            (SecretRef::Account("prod".into()), "account:prod"),
            (
                SecretRef::CertKey {
                    cert: "www".into(),
                    key_id: "0123456789abcdef".into(),
                },
                "cert-key:www:0123456789abcdef",
            ),
            (SecretRef::EabHmac("zerossl".into()), "eab-hmac:zerossl"),
            (
                SecretRef::AcmeDns("example.org".into()),
                "acme-dns:example.org",
            ),
            (SecretRef::Tsig("example.org".into()), "tsig:example.org"),
            (
                SecretRef::PowerDns("example.org".into()),
                "powerdns:example.org",
            ),
        ];
        for (what, user) in cases {
            assert_eq!(what.user(), user);
            assert_ne!(what.user(), PROBE_USER);
        }
    }

    #[test]
    fn probe_accepts_answers_and_rejects_failures() {
        let kind = StoreKind::Keyutils;
        assert!(probe_verdict(kind, Ok("x".into())).is_ok());
        assert!(probe_verdict(kind, Err(keyring::Error::NoEntry)).is_ok());
        assert!(probe_verdict(kind, Err(keyring::Error::BadEncoding(vec![0xff]))).is_ok());
        let eperm: Box<dyn std::error::Error + Send + Sync> = "Operation not permitted".into();
        match probe_verdict(kind, Err(keyring::Error::PlatformFailure(eperm))) {
            Err(SecretError::Unreachable { store, detail }) => {
                assert_eq!(store, kind);
                assert!(detail.contains("Operation not permitted"), "{detail}");
            }
            other => panic!("expected Unreachable, got {other:?}"),
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn no_platform_keychain_on_linux() {
        match Keystore::open(StoreKind::Platform, "certpilot-unit") {
            Err(SecretError::Unreachable {
                store: StoreKind::Platform,
                detail,
            }) => {
                assert!(detail.contains("linux"), "{detail}");
            }
            other => panic!("expected Unreachable, got {other:?}"),
        }
    }

    #[test]
    fn keystore_moves_into_blocking_tasks() {
        fn send_sync_static<T: Send + Sync + 'static>() {}
        send_sync_static::<Keystore>();
        send_sync_static::<SecretError>();
    }

    #[test]
    fn debug_shows_kind_and_service_only() {
        let store = Keystore {
            kind: StoreKind::Keyutils,
            service: "svc".into(),
            builder: Arc::from(keyring::mock::default_credential_builder()),
        };
        assert_eq!(
            format!("{store:?}"),
            "Keystore { kind: Keyutils, service: \"svc\", .. }"
        );
    }
}
