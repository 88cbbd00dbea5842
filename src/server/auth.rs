//! Credentials: new accounts (version-4 UUID names, 40-character passwords, bcrypt hashes) and the
//! login check, which costs one bcrypt comparison whether or not the user exists.

use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock};

use rand_core::{OsRng, RngCore};
use tokio::sync::Semaphore;
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

/// Run bcrypt `work` on the blocking pool, at most one at a time per core.
///
/// Unbounded, 1,000 logins at once become hundreds of blocking threads sharing the cores:
/// every one finishes late, together, and past `request_timeout_secs` (the client got 408
/// while its hash kept running, and so did its retry). Queued here, they finish in arrival
/// order, and a request whose deadline passes while it waits never starts hashing. The turn
/// is held until the hash is done, even if the request is dropped meanwhile.
async fn bcrypt_turn<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    static TURNS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    let turns = TURNS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Arc::new(Semaphore::new(cores))
    });
    // Never closed, so acquiring only waits.
    let turn = Arc::clone(turns).acquire_owned().await.ok();
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        work()
    })
    .await
}

/// Create and store an account (bcrypt runs on the blocking pool, see [`bcrypt_turn`]).
pub(crate) async fn register(
    store: &Store,
    cost: u32,
    allowfrom: Vec<String>,
) -> Result<NewAccount, RegisterError> {
    let created = bcrypt_turn(move || {
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
        let verified = bcrypt_turn(move || bcrypt::verify(key, &hash));
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn bcrypt_work_runs_at_most_one_per_core() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs = (0..16).map(|_| {
            let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
            bcrypt_turn(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
            })
        });
        for done in futures::future::join_all(jobs).await {
            done.expect("the job ran");
        }
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let peak = peak.load(Ordering::SeqCst);
        assert!(peak <= cores, "{peak} hashes at once on {cores} cores");
        assert!(peak >= 1);
    }

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
