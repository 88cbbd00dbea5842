//! Accounts and their two TXT slots in `SQLite`, plus the in-memory copy of the TXT values the
//! DNS side answers from.
//!
//! `SQLite` is the truth: every write is one transaction (WAL, `synchronous=FULL`), and the
//! in-memory map is changed only after the commit, under the same lock, so it always equals
//! what a restart would load. Slots are ordered by a nanosecond stamp that never repeats or
//! goes back, so two updates within one second still evict the older value.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// A storage failure; the message names the database file.
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
    /// The file could not be created with owner-only permissions.
    #[error("cannot create the acme-dns database {path}: {source}")]
    Create {
        /// The database file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    username   TEXT PRIMARY KEY NOT NULL,
    password   TEXT NOT NULL,
    subdomain  TEXT NOT NULL UNIQUE,
    allowfrom  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS txt (
    subdomain  TEXT NOT NULL REFERENCES accounts(subdomain),
    slot       INTEGER NOT NULL CHECK (slot IN (0, 1)),
    value      TEXT NOT NULL DEFAULT '',
    updated_ns INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subdomain, slot)
);
";

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

/// An account's two TXT values in memory, by slot ("" = empty).
type Slots = [String; 2];

struct Writer {
    conn: Connection,
    /// The newest stamp handed out (or loaded); the next one is strictly greater.
    last_stamp: i64,
}

/// The account database.
pub(crate) struct Store {
    path: PathBuf,
    writer: Mutex<Writer>,
    txt: RwLock<HashMap<String, Slots>>,
}

impl Store {
    /// Open (creating with mode 0600 if needed) and migrate the database, then load the TXT
    /// values into memory.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        create_private(path)?;
        let sql = |action| {
            let path = path.to_path_buf();
            move |source| StoreError::Sqlite {
                path,
                action,
                source,
            }
        };
        let mut conn = Connection::open(path).map_err(sql("open"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql("set the busy timeout"))?;
        // WAL + FULL: a commit that returned is on disk, and a crash mid-write leaves the
        // previous state; foreign keys keep TXT rows tied to accounts.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(sql("configure"))?;
        migrate(&mut conn, path)?;
        let (txt, last_stamp) = load_txt(&conn).map_err(sql("load the TXT records"))?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Mutex::new(Writer { conn, last_stamp }),
            txt: RwLock::new(txt),
        })
    }

    fn error(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite {
            path: self.path.clone(),
            action,
            source,
        }
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        // A panic elsewhere while holding the lock left no open transaction behind (it rolls
        // back on drop), so the connection is still sound.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Insert a new account with two empty slots, in one transaction.
    pub fn register(&self, account: &Account) -> Result<(), StoreError> {
        let allowfrom = serde_json::to_string(&account.allowfrom).unwrap_or_else(|_| "[]".into());
        let mut writer = self.writer();
        let tx = writer
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.error("begin registration"))?;
        tx.execute(
            "INSERT INTO accounts (username, password, subdomain, allowfrom) VALUES (?1, ?2, ?3, ?4)",
            params![account.username, account.password_hash, account.subdomain, allowfrom],
        )
        .map_err(self.error("register an account"))?;
        tx.execute(
            "INSERT INTO txt (subdomain, slot) VALUES (?1, 0), (?1, 1)",
            params![account.subdomain],
        )
        .map_err(self.error("create the TXT slots"))?;
        tx.commit().map_err(self.error("commit the registration"))?;
        self.txt_write()
            .insert(account.subdomain.clone(), Default::default());
        Ok(())
    }

    /// The account with this canonical username.
    pub fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let writer = self.writer();
        let row = writer
            .conn
            .query_row(
                "SELECT username, password, subdomain, allowfrom FROM accounts WHERE username = ?1",
                params![username],
                |row| {
                    let allowfrom: String = row.get(3)?;
                    Ok(Account {
                        username: row.get(0)?,
                        password_hash: row.get(1)?,
                        subdomain: row.get(2)?,
                        allowfrom: serde_json::from_str(&allowfrom).map_err(|e| {
                            rusqlite::Error::FromSqlConversionFailure(
                                3,
                                rusqlite::types::Type::Text,
                                Box::new(e),
                            )
                        })?,
                    })
                },
            )
            .optional()
            .map_err(self.error("look up an account"))?;
        Ok(row)
    }

    /// Overwrite the slot of `subdomain` that was updated longest ago.
    pub fn update_txt(&self, subdomain: &str, value: &str) -> Result<(), StoreError> {
        let mut writer = self.writer();
        let stamp = next_stamp(writer.last_stamp);
        let tx = writer
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.error("begin an update"))?;
        let slot: i64 = tx
            .query_row(
                "SELECT slot FROM txt WHERE subdomain = ?1 ORDER BY updated_ns, slot LIMIT 1",
                params![subdomain],
                |row| row.get(0),
            )
            .map_err(self.error("find the oldest TXT slot"))?;
        tx.execute(
            "UPDATE txt SET value = ?1, updated_ns = ?2 WHERE subdomain = ?3 AND slot = ?4",
            params![value, stamp, subdomain, slot],
        )
        .map_err(self.error("update a TXT slot"))?;
        tx.commit().map_err(self.error("commit an update"))?;
        writer.last_stamp = stamp;
        let index = usize::from(slot == 1);
        value.clone_into(&mut self.txt_write().entry(subdomain.to_owned()).or_default()[index]);
        Ok(())
    }

    /// The non-empty TXT values of `subdomain` (lowercase), in slot order.
    pub fn txt_values(&self, subdomain: &str) -> Vec<String> {
        let map = self.txt.read().unwrap_or_else(PoisonError::into_inner);
        map.get(subdomain)
            .map(|slots| {
                slots
                    .iter()
                    .filter(|value| !value.is_empty())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn txt_write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Slots>> {
        self.txt.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fold the WAL back into the main file (on shutdown, so the directory is tidy).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let writer = self.writer();
        writer
            .conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(self.error("checkpoint"))
    }
}

/// A stamp after `last`: wall-clock nanoseconds, bumped when the clock stalls or steps back.
fn next_stamp(last: i64) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    now.max(last.saturating_add(1))
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let error = |action| {
        move |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(error("begin the migration"))?;
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(error("read the schema version"))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    tx.execute_batch(SCHEMA)
        .map_err(error("create the tables"))?;
    tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
        .map_err(error("write the schema version"))?;
    tx.commit().map_err(error("commit the migration"))
}

type TxtMap = HashMap<String, Slots>;

/// Every account's slots, and the newest stamp in the file.
fn load_txt(conn: &Connection) -> Result<(TxtMap, i64), rusqlite::Error> {
    let mut map: TxtMap = HashMap::new();
    let mut last = 0;
    let mut stmt = conn.prepare(
        "SELECT a.subdomain, t.slot, t.value, t.updated_ns FROM accounts a \
         LEFT JOIN txt t ON t.subdomain = a.subdomain",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let subdomain: String = row.get(0)?;
        let slots = map.entry(subdomain).or_default();
        if let Some(slot) = row.get::<_, Option<i64>>(1)? {
            let stamp: i64 = row.get(3)?;
            last = last.max(stamp);
            slots[usize::from(slot == 1)] = row.get(2)?;
        }
    }
    Ok((map, last))
}

/// Create the file with owner-only permissions before `SQLite` does (it holds password hashes;
/// `SQLite` gives the -wal and -shm files the same mode).
fn create_private(path: &Path) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
    let error = |source| StoreError::Create {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(error)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(n: u8) -> Account {
        Account {
            username: format!("00000000-0000-4000-8000-0000000000{n:02}"),
            password_hash: "x".into(),
            subdomain: format!("10000000-0000-4000-8000-0000000000{n:02}"),
            allowfrom: vec!["192.0.2.0/24".into()],
        }
    }

    #[test]
    fn the_oldest_slot_is_overwritten_and_everything_survives_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite");
        let store = Store::open(&path).expect("open");
        let a = account(1);
        store.register(&a).expect("register");
        assert!(store.txt_values(&a.subdomain).is_empty());
        for value in ["one", "two", "three"] {
            store.update_txt(&a.subdomain, value).expect("update");
        }
        assert_eq!(store.txt_values(&a.subdomain), ["three", "two"]);
        drop(store);
        let store = Store::open(&path).expect("reopen");
        assert_eq!(store.txt_values(&a.subdomain), ["three", "two"]);
        store.update_txt(&a.subdomain, "four").expect("update");
        assert_eq!(store.txt_values(&a.subdomain), ["three", "four"]);
        let found = store.account(&a.username).expect("lookup").expect("found");
        assert_eq!(found.allowfrom, a.allowfrom);
        assert!(store.account("nobody").expect("lookup").is_none());
    }

    #[test]
    fn a_duplicate_registration_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("db")).expect("open");
        store.register(&account(2)).expect("register");
        assert!(store.register(&account(2)).is_err());
        let conn = Connection::open(dir.path().join("db")).expect("open");
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM txt", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, 2);
    }

    #[test]
    fn stamps_never_repeat() {
        let mut last = i64::MAX - 1;
        last = next_stamp(last);
        assert_eq!(last, i64::MAX);
        assert_eq!(next_stamp(0).signum(), 1);
    }
}
