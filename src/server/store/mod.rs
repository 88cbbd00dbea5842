//! The account database behind the server: a `SQLite` file (certpilot's own layout, or an
//! acme-dns file used in place) or a PostgreSQL database shared by several instances (acme-dns'
//! layout, so the reference server can use it too).
//!
//! Each account owns two TXT slots; an update overwrites the slot with the oldest stamp. Stamps
//! of one account only grow (`max(now, newest + 1)`), so updates within one clock tick still
//! evict the older value, in either layout and from any instance.

mod genuine;
mod postgres;
mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) use postgres::PgStore;
pub(crate) use sqlite::SqliteStore;

/// A storage failure; the message names the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `SQLite` failed; `action` says what certpilot was doing.
    #[error("acme-dns database {path}: {action}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What was being done, e.g. "register an account".
        action: &'static str,
        /// `SQLite`'s error.
        source: rusqlite::Error,
    },
    /// PostgreSQL failed; `action` says what certpilot was doing.
    #[error("acme-dns database {target}: {action}: {message}")]
    Postgres {
        /// Host, port and database name (never the password).
        target: String,
        /// What was being done.
        action: &'static str,
        /// The driver's or the server's message.
        message: String,
    },
    /// The database was written by a newer certpilot.
    #[error("acme-dns database {path} has schema version {found}; this certpilot knows {known}")]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The newest version this build understands.
        known: i64,
    },
    /// An acme-dns database in a state certpilot does not use in place.
    #[error("acme-dns database {database}: {message}")]
    Foreign {
        /// The file or the server.
        database: String,
        /// What is unusual and what to do.
        message: String,
    },
    /// The file could not be created with owner-only permissions.
    #[error("cannot create the acme-dns database {path}: {source}")]
    Create {
        /// The database file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// An account has no TXT rows (a damaged database).
    #[error("acme-dns database: account {subdomain} has no TXT slots")]
    NoSlots {
        /// The account's subdomain.
        subdomain: String,
    },
    /// A blocking database task could not finish.
    #[error("acme-dns database task failed: {0}")]
    Task(String),
}

/// A stored account.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    /// Canonical (lowercase, hyphenated) UUID.
    pub username: String,
    /// bcrypt hash of the password.
    pub password_hash: String,
    /// Lowercase UUID label under the zone.
    pub subdomain: String,
    /// CIDRs as registered (brackets removed); empty means anywhere.
    pub allowfrom: Vec<String>,
}

impl Account {
    /// `allowfrom` as stored: a JSON array of strings (acme-dns' format too).
    pub fn allowfrom_json(&self) -> String {
        serde_json::to_string(&self.allowfrom).unwrap_or_else(|_| "[]".into())
    }

    /// A stored `allowfrom`: acme-dns writes `null` (or leaves NULL) for "anywhere".
    pub fn parse_allowfrom(stored: Option<&str>) -> Vec<String> {
        stored
            .and_then(|text| serde_json::from_str::<Option<Vec<String>>>(text).ok())
            .flatten()
            .unwrap_or_default()
    }
}

/// The database, whichever kind.
pub(crate) enum Store {
    /// One file, one server.
    Sqlite(Arc<SqliteStore>),
    /// Shared by every instance on it.
    Postgres(PgStore),
}

fn joined<T>(
    result: Result<Result<T, StoreError>, tokio::task::JoinError>,
) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Task(e.to_string()))?
}

impl Store {
    /// Open `database`: a `postgres://` or `postgresql://` URL, otherwise a `SQLite` file.
    /// `password`: PostgreSQL's, from the keyring (never in the URL).
    pub async fn open(
        database: &std::path::Path,
        password: Option<&str>,
    ) -> Result<Self, StoreError> {
        if let Some(url) = postgres_url(database) {
            return Ok(Self::Postgres(PgStore::connect(url, password).await?));
        }
        let path = database.to_path_buf();
        let opened = tokio::task::spawn_blocking(move || SqliteStore::open(&path)).await;
        Ok(Self::Sqlite(Arc::new(joined(opened)?)))
    }

    /// Insert a new account with two empty slots, atomically.
    pub async fn register(&self, account: &Account) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(store) => {
                let (store, account) = (Arc::clone(store), account.clone());
                joined(tokio::task::spawn_blocking(move || store.register(&account)).await)
            }
            Self::Postgres(store) => store.register(account).await,
        }
    }

    /// The account with this canonical username.
    pub async fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        match self {
            Self::Sqlite(store) => {
                let (store, username) = (Arc::clone(store), username.to_owned());
                joined(tokio::task::spawn_blocking(move || store.account(&username)).await)
            }
            Self::Postgres(store) => store.account(username).await,
        }
    }

    /// Overwrite the slot of `subdomain` that was updated longest ago; durable on return.
    pub async fn update_txt(&self, subdomain: &str, value: &str) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(store) => {
                let store = Arc::clone(store);
                let (subdomain, value) = (subdomain.to_owned(), value.to_owned());
                joined(
                    tokio::task::spawn_blocking(move || store.update_txt(&subdomain, &value)).await,
                )
            }
            Self::Postgres(store) => store.update_txt(subdomain, value).await,
        }
    }

    /// The non-empty TXT values of `subdomain` (lowercase), in slot order. `SQLite` answers
    /// from memory; PostgreSQL reads the database, so every instance sees every commit.
    pub async fn txt_values(&self, subdomain: &str) -> Result<Vec<String>, StoreError> {
        match self {
            Self::Sqlite(store) => Ok(store.txt_values(subdomain)),
            Self::Postgres(store) => store.txt_values(subdomain).await,
        }
    }

    /// Tidy up on shutdown (`SQLite`: fold the write-ahead log into the file).
    pub async fn close(&self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(store) => {
                let store = Arc::clone(store);
                joined(tokio::task::spawn_blocking(move || store.checkpoint()).await)
            }
            Self::Postgres(store) => {
                store.close();
                Ok(())
            }
        }
    }
}

/// The URL when `database` names a PostgreSQL server.
pub(crate) fn postgres_url(database: &std::path::Path) -> Option<&str> {
    let text = database.to_str()?;
    (text.starts_with("postgres://") || text.starts_with("postgresql://")).then_some(text)
}

/// The keyring entry of a PostgreSQL `database`'s password (`user@host:port/dbname`), and
/// whether the URL itself holds a password (refused: it would sit in a plain file).
pub(crate) fn password_entry(database: &std::path::Path) -> Option<(String, bool)> {
    let config = postgres_url(database)?
        .parse::<tokio_postgres::Config>()
        .ok()?;
    let user = config.get_user().unwrap_or("postgres");
    let place = postgres::describe(&config);
    let place = place.trim_start_matches("postgres://");
    Some((format!("{user}@{place}"), config.get_password().is_some()))
}

/// How to name `database` in logs: the file, or the server without its password.
pub(crate) fn describe(database: &std::path::Path) -> String {
    match postgres_url(database) {
        Some(url) => url
            .parse::<tokio_postgres::Config>()
            .map_or_else(|_| "(a PostgreSQL URL)".into(), |c| postgres::describe(&c)),
        None => database.display().to_string(),
    }
}

/// The next stamp after `newest`: the wall clock in nanoseconds or seconds, bumped when the
/// clock has not moved past `newest` (same tick, or a step back).
fn next_stamp(nanos: bool, newest: i64) -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
        if nanos {
            i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
        } else {
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
        }
    });
    now.max(newest.saturating_add(1))
}

/// Of an account's (key, stamp) slots in key order: the position and key of the one to
/// overwrite (the oldest; the first on a tie) and the stamp to give it.
fn oldest_slot(slots: &[(i64, i64)], nanos: bool) -> Option<(usize, i64, i64)> {
    let newest = slots.iter().map(|&(_, stamp)| stamp).max()?;
    let (index, &(key, _)) = slots
        .iter()
        .enumerate()
        .min_by_key(|&(index, &(_, stamp))| (stamp, index))?;
    Some((index, key, next_stamp(nanos, newest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_grow_per_account_and_the_oldest_slot_is_chosen() {
        assert_eq!(next_stamp(true, i64::MAX - 1), i64::MAX);
        let far = i64::MAX / 2;
        assert_eq!(
            next_stamp(false, far),
            far + 1,
            "a same-second update still grows"
        );
        assert!(next_stamp(false, 0) > 1_600_000_000);
        assert_eq!(
            oldest_slot(&[(7, 5), (9, 3)], false).map(|s| (s.0, s.1)),
            Some((1, 9))
        );
        assert_eq!(
            oldest_slot(&[(7, 0), (9, 0)], false).map(|s| (s.0, s.1)),
            Some((0, 7))
        );
        assert!(oldest_slot(&[], true).is_none());
    }

    #[test]
    fn allowfrom_reads_acme_dns_spellings() {
        assert!(Account::parse_allowfrom(Some("null")).is_empty());
        assert!(Account::parse_allowfrom(None).is_empty());
        assert_eq!(
            Account::parse_allowfrom(Some("[\"10.0.0.0/8\"]")),
            ["10.0.0.0/8"]
        );
        assert!(postgres_url(std::path::Path::new("postgres://h/db")).is_some());
        assert!(postgres_url(std::path::Path::new("/var/lib/acme.db")).is_none());
    }
}
