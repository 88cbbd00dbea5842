//! What can go wrong with a keystore, worded so the user knows which store failed and what to do.

use super::StoreKind;

/// A keystore failure. Messages name the store and (for [`SecretError::Backend`]) the entry's
/// user string; they never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The store cannot be reached at all; the message names the store and says how to fix it.
    #[error("{}", unreachable_message(*store, detail))]
    Unreachable {
        /// The store that was asked for (there is never a silent fallback to another one).
        store: StoreKind,
        /// What the platform said.
        detail: String,
    },
    /// A single operation failed; the store itself answered.
    #[error("the {store} keystore failed on entry \"{entry}\": {detail}")]
    Backend {
        /// The store the operation ran against.
        store: StoreKind,
        /// The entry's user string (see [`super::SecretRef::user`]).
        entry: String,
        /// What the platform said, with a hint where one is known.
        detail: String,
    },
}

/// The full text of [`SecretError::Unreachable`] for one store.
fn unreachable_message(store: StoreKind, detail: &str) -> String {
    match store {
        StoreKind::SecretService => format!(
            "the Secret Service (org.freedesktop.secrets on D-Bus) is not reachable: {detail}. \
             Start one (e.g. gnome-keyring-daemon --unlock --components=secrets inside a D-Bus \
             session) or choose --keystore keyutils"
        ),
        StoreKind::Keyutils => format!(
            "the kernel keyring (keyutils) is not usable: {detail}. It needs a Linux kernel with \
             key management and a sandbox that allows the keyctl and add_key system calls \
             (container seccomp profiles often forbid them), or choose --keystore secret-service"
        ),
        StoreKind::Platform => format!(
            "the platform keychain (macOS Keychain / Windows Credential Manager) is not \
             reachable: {detail}. Unlock the login keychain, or on Linux choose \
             --keystore secret-service or --keystore keyutils"
        ),
    }
}

/// Describe a failed operation for [`SecretError::Backend`], adding a hint for the causes that
/// have a known fix. Never includes secret bytes: `BadEncoding` and `Ambiguous` carry data
/// from the store, so they get their own wording instead of keyring's `Display`.
pub(super) fn describe(store: StoreKind, err: &keyring::Error) -> String {
    match err {
        keyring::Error::NoStorageAccess(inner) => match store {
            StoreKind::SecretService => format!(
                "{inner} (the collection is locked, or there is no default collection: unlock \
                 it, e.g. with gnome-keyring-daemon --unlock)"
            ),
            StoreKind::Keyutils | StoreKind::Platform => format!("no access to the store: {inner}"),
        },
        keyring::Error::BadEncoding(_) => "the stored value is not UTF-8 text".to_owned(),
        keyring::Error::Ambiguous(items) => format!(
            "{} items in the store match this entry; delete the duplicates with the store's own \
             tool",
            items.len()
        ),
        // gnome-keyring refuses writes to a locked collection as a plain D-Bus error.
        other if store == StoreKind::SecretService && other.to_string().contains("locked") => {
            format!("{other} (unlock it, e.g. with gnome-keyring-daemon --unlock)")
        }
        other => other.to_string(),
    }
}

/// Describe why an entry could not even be created, which happens before the store is asked
/// anything (keyutils resolves the session keyring here).
pub(super) fn describe_open(store: StoreKind, err: &keyring::Error) -> String {
    match store {
        // keyring folds "access denied", "revoked" and "expired" into NoEntry; here they
        // all mean the session keyring itself is out of reach.
        StoreKind::Keyutils => match err {
            keyring::Error::NoEntry => "the session keyring is not accessible (access denied, \
                                        revoked or expired)"
                .to_owned(),
            other => format!("the session keyring is not accessible ({other})"),
        },
        StoreKind::SecretService | StoreKind::Platform => {
            format!("cannot create an entry ({})", describe(store, err))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_messages_name_the_store_and_a_fix() {
        let cases = [
            (
                StoreKind::SecretService,
                "org.freedesktop.secrets",
                "--keystore keyutils",
            ),
            (StoreKind::Keyutils, "keyutils", "--keystore secret-service"),
            (StoreKind::Platform, "Keychain", "--keystore keyutils"),
        ];
        for (store, names, fix) in cases {
            let err = SecretError::Unreachable {
                store,
                detail: "boom".into(),
            };
            let text = err.to_string();
            assert!(text.contains(names), "{text}");
            assert!(text.contains(fix), "{text}");
            assert!(text.contains(": boom."), "{text}");
        }
    }

    #[test]
    fn backend_message_names_store_and_entry() {
        let err = SecretError::Backend {
            store: StoreKind::Keyutils,
            entry: "account:prod".into(),
            detail: "quota exceeded".into(),
        };
        assert_eq!(
            err.to_string(),
            "the keyutils keystore failed on entry \"account:prod\": quota exceeded"
        );
    }

    #[test]
    fn bad_encoding_detail_does_not_echo_the_bytes() {
        let err = keyring::Error::BadEncoding(b"sekrit\xff".to_vec());
        let text = describe(StoreKind::SecretService, &err);
        assert!(!text.contains("sekrit"), "{text}");
    }

    #[test]
    fn locked_secret_service_gets_an_unlock_hint() {
        let inner: Box<dyn std::error::Error + Send + Sync> = "Locked".into();
        let text = describe(
            StoreKind::SecretService,
            &keyring::Error::NoStorageAccess(inner),
        );
        assert!(text.contains("gnome-keyring-daemon --unlock"), "{text}");
    }
}
