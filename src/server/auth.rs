//! Credentials: new accounts (version-4 UUID names, 40-character passwords, bcrypt hashes) and the
//! login check, which costs one bcrypt comparison whether or not the user exists.

use std::sync::Arc;

use rand_core::{OsRng, RngCore};
use uuid::Uuid;

use super::body;
use super::store::{Account, Store, StoreError};

/// Why a registration could not be completed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RegisterError {
    /// The OS random source failed.
    #[error("no randomness for new credentials: {0}")]
    Random(#[from] rand_core::Error),
    /// bcrypt refused (it does not for a 40-character password and a valid cost).
    #[error("cannot hash the new password: {0}")]
    Hash(#[from] bcrypt::BcryptError),
    /// The database refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A freshly registered account with its plaintext password (shown once, never stored).
#[derive(Debug)]
pub(crate) struct NewAccount {
    /// The stored account.
    pub account: Account,
    /// The password, returned to the client.
    pub password: String,
}

const PASSWORD_ALPHABET: &[u8; 64] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

/// A version-4 UUID from the OS random source (fallible, unlike `Uuid::new_v4`).
fn random_uuid() -> Result<Uuid, rand_core::Error> {
    let mut bytes = [0u8; 16];
    OsRng.try_fill_bytes(&mut bytes)?;
    Ok(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// 40 characters from a 64-letter alphabet: six uniform bits per byte.
fn random_password() -> Result<String, rand_core::Error> {
    let mut bytes = [0u8; 40];
    OsRng.try_fill_bytes(&mut bytes)?;
    Ok(bytes
        .iter()
        .map(|b| char::from(PASSWORD_ALPHABET[usize::from(b & 63)]))
        .collect())
}

/// Create and store an account (bcrypt runs on the blocking pool).
pub(crate) async fn register(
    store: &Store,
    cost: u32,
    allowfrom: Vec<String>,
) -> Result<NewAccount, RegisterError> {
    let created = tokio::task::spawn_blocking(move || {
        let password = random_password()?;
        let account = Account {
            username: random_uuid()?.hyphenated().to_string(),
            password_hash: bcrypt::hash(&password, cost)?,
            subdomain: random_uuid()?.hyphenated().to_string(),
            allowfrom,
        };
        Ok::<_, RegisterError>(NewAccount { account, password })
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))??;
    store.register(&created.account).await?;
    Ok(created)
}

/// Checks `X-Api-User`/`X-Api-Key` pairs.
pub(crate) struct Authenticator {
    store: Arc<Store>,
    /// Compared against when the user does not exist, so that case costs the same time.
    dummy_hash: String,
}

impl Authenticator {
    /// Blocking: hashes a dummy password at `cost` (the cost of new accounts).
    pub fn new(store: Arc<Store>, cost: u32) -> Result<Self, RegisterError> {
        let dummy_hash = bcrypt::hash(random_password()?, cost)?;
        Ok(Self { store, dummy_hash })
    }

    /// The account if the credentials are right. Malformed names or keys fail at once, as in
    /// the reference server: their shape says nothing about whether an account exists.
    pub async fn check(self: &Arc<Self>, user: &str, key: &str) -> Option<Account> {
        let username = Uuid::parse_str(user).ok()?.hyphenated().to_string();
        if !body::valid_key(key) {
            tracing::info!(%username, "update refused: malformed API key");
            return None;
        }
        let account = match self.store.account(&username).await {
            Ok(account) => account,
            Err(error) => {
                tracing::error!(%error, "account lookup failed");
                None
            }
        };
        let hash = account
            .as_ref()
            .map_or_else(|| self.dummy_hash.clone(), |a| a.password_hash.clone());
        let key = key.to_owned();
        let verified = tokio::task::spawn_blocking(move || bcrypt::verify(key, &hash));
        let matches = matches!(verified.await, Ok(Ok(true)));
        match account {
            Some(account) if matches => Some(account),
            Some(_) => {
                tracing::info!(%username, "update refused: wrong API key");
                None
            }
            None => {
                tracing::info!(%username, "update refused: unknown user");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_have_the_reference_shapes() {
        let password = random_password().expect("random");
        assert!(body::valid_key(&password), "{password}");
        let id = random_uuid().expect("random");
        assert_eq!(id.get_version_num(), 4);
    }

    #[tokio::test]
    async fn logins_need_the_right_key_for_an_existing_user() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(
            Store::open(&dir.path().join("db"), None)
                .await
                .expect("open"),
        );
        let new = register(&store, 4, vec![]).await.expect("register");
        let auth = Arc::new(Authenticator::new(Arc::clone(&store), 4).expect("auth"));
        let user = new.account.username.to_uppercase();
        assert!(auth.check(&user, &new.password).await.is_some());
        // Change the last character (to one it is not) to get a wrong key of the right shape.
        let last = if new.password.ends_with('x') {
            'y'
        } else {
            'x'
        };
        let wrong = format!("{}{last}", &new.password[..39]);
        assert!(auth.check(&user, &wrong).await.is_none());
        assert!(auth.check(&user, &new.password[..39]).await.is_none());
        let stranger = random_uuid().expect("random").to_string();
        assert!(auth.check(&stranger, &new.password).await.is_none());
        assert!(auth.check("not-a-uuid", &new.password).await.is_none());
    }
}
