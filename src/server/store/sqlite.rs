//! Accounts and their two TXT slots in a `SQLite` file, plus the in-memory copy of the TXT
//! values the DNS side answers from. Two table layouts ([`Layout`]): certpilot's own, and the
//! one acme-dns 1.x/2.x writes, used in place when a file already has it (drop-in).
//!
//! `SQLite` is the truth: every write is one transaction (`synchronous=FULL`), and the
//! in-memory map is changed only after the commit, under the same lock, so it always equals
//! what a restart would load. Within an account, stamps never repeat or go back, so two
//! updates within one clock tick still evict the older value.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{genuine, Account, StoreError};

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

/// The SQL of one table layout. Each TXT slot is a row with a key (`slot` or acme-dns'
/// `rowid`) and a stamp; the oldest stamp is overwritten.
struct Layout {
    insert_account: &'static str,
    insert_slots: &'static str,
    select_account: &'static str,
    /// `?1` = subdomain; the account's (key, stamp) rows in key order.
    slots_of: &'static str,
    /// `?1` value, `?2` stamp, `?3` subdomain, `?4` key.
    update_slot: &'static str,
    /// (subdomain, value) for every slot, grouped by subdomain in key order.
    load: &'static str,
    /// Stamp unit: nanoseconds (certpilot) or seconds (acme-dns' `LastUpdate`).
    nanos: bool,
}

const OWN: Layout = Layout {
    insert_account: "INSERT INTO accounts (username, password, subdomain, allowfrom) \
                     VALUES (?1, ?2, ?3, ?4)",
    insert_slots: "INSERT INTO txt (subdomain, slot) VALUES (?1, 0), (?1, 1)",
    select_account: "SELECT username, password, subdomain, allowfrom FROM accounts \
                     WHERE username = ?1",
    slots_of: "SELECT slot, updated_ns FROM txt WHERE subdomain = ?1 ORDER BY slot",
    update_slot: "UPDATE txt SET value = ?1, updated_ns = ?2 WHERE subdomain = ?3 AND slot = ?4",
    load: "SELECT subdomain, value FROM txt ORDER BY subdomain, slot",
    nanos: true,
};

const ACME_DNS: Layout = Layout {
    insert_account: "INSERT INTO records (Username, Password, Subdomain, AllowFrom) \
                     VALUES (?1, ?2, ?3, ?4)",
    insert_slots: "INSERT INTO txt (Subdomain, LastUpdate) VALUES (?1, 0), (?1, 0)",
    select_account: "SELECT Username, Password, Subdomain, AllowFrom FROM records \
                     WHERE Username = ?1 LIMIT 1",
    slots_of: "SELECT rowid, COALESCE(LastUpdate, 0) FROM txt WHERE Subdomain = ?1 \
               ORDER BY rowid LIMIT 2",
    update_slot: "UPDATE txt SET Value = ?1, LastUpdate = ?2 WHERE Subdomain = ?3 AND rowid = ?4",
    load: "SELECT Subdomain, Value FROM txt ORDER BY Subdomain, rowid",
    nanos: false,
};

/// An account's two TXT values in memory, by slot ("" = empty).
type Slots = [String; 2];

/// The account database in one `SQLite` file.
pub(crate) struct SqliteStore {
    path: PathBuf,
    layout: &'static Layout,
    conn: Mutex<Connection>,
    txt: RwLock<HashMap<String, Slots>>,
}

impl SqliteStore {
    /// Open (creating with mode 0600 if needed) and migrate the database, then load the TXT
    /// values into memory. A file with acme-dns' tables is used as it is.
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
        let foreign: bool = conn
            .query_row(
                "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'records'",
                [],
                |row| row.get(0),
            )
            .map_err(sql("read the tables"))?;
        let layout = if foreign {
            // acme-dns' file: keep its journal mode, so acme-dns can be put back on it.
            conn.execute_batch("PRAGMA synchronous = FULL;")
                .map_err(sql("configure"))?;
            genuine::check_sqlite(&conn, path)?;
            tracing::info!(database = %path.display(), "using an acme-dns database in place");
            &ACME_DNS
        } else {
            // WAL + FULL: a commit that returned is on disk, and a crash mid-write leaves the
            // previous state; foreign keys keep TXT rows tied to accounts.
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
            )
            .map_err(sql("configure"))?;
            migrate(&mut conn, path)?;
            &OWN
        };
        let txt = load_txt(&conn, layout).map_err(sql("load the TXT records"))?;
        Ok(Self {
            path: path.to_path_buf(),
            layout,
            conn: Mutex::new(conn),
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

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic elsewhere while holding the lock left no open transaction behind (it rolls
        // back on drop), so the connection is still sound.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Insert a new account with two empty slots, in one transaction.
    pub fn register(&self, account: &Account) -> Result<(), StoreError> {
        let allowfrom = account.allowfrom_json();
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.error("begin registration"))?;
        tx.execute(
            self.layout.insert_account,
            params![
                account.username,
                account.password_hash,
                account.subdomain,
                allowfrom
            ],
        )
        .map_err(self.error("register an account"))?;
        tx.execute(self.layout.insert_slots, params![account.subdomain])
            .map_err(self.error("create the TXT slots"))?;
        tx.commit().map_err(self.error("commit the registration"))?;
        self.txt_write()
            .insert(account.subdomain.clone(), Default::default());
        Ok(())
    }

    /// The account with this canonical username.
    pub fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let conn = self.conn();
        conn.query_row(self.layout.select_account, params![username], |row| {
            // acme-dns stores the bcrypt hash as a blob (Go's []byte); certpilot as text.
            let hash = match row.get_ref(1)? {
                ValueRef::Blob(bytes) | ValueRef::Text(bytes) => {
                    String::from_utf8_lossy(bytes).into_owned()
                }
                _ => String::new(),
            };
            let allowfrom: Option<String> = row.get(3)?;
            Ok(Account {
                username: row.get(0)?,
                password_hash: hash,
                subdomain: row.get(2)?,
                allowfrom: Account::parse_allowfrom(allowfrom.as_deref()),
            })
        })
        .optional()
        .map_err(self.error("look up an account"))
    }

    /// Overwrite the slot of `subdomain` that was updated longest ago.
    pub fn update_txt(&self, subdomain: &str, value: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.error("begin an update"))?;
        let slots = {
            let mut stmt = tx
                .prepare(self.layout.slots_of)
                .map_err(self.error("read the TXT slots"))?;
            let rows = stmt
                .query_map(params![subdomain], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
                })
                .map_err(self.error("read the TXT slots"))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(self.error("read the TXT slots"))?
        };
        let Some((index, key, stamp)) = super::oldest_slot(&slots, self.layout.nanos) else {
            return Err(StoreError::NoSlots {
                subdomain: subdomain.to_owned(),
            });
        };
        tx.execute(
            self.layout.update_slot,
            params![value, stamp, subdomain, key],
        )
        .map_err(self.error("update a TXT slot"))?;
        tx.commit().map_err(self.error("commit an update"))?;
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
        if !std::ptr::eq(self.layout, &OWN) {
            return Ok(());
        }
        self.conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(self.error("checkpoint"))
    }
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

/// Every account's slots (the first two rows of each subdomain, in key order).
fn load_txt(conn: &Connection, layout: &Layout) -> Result<TxtMap, rusqlite::Error> {
    let mut map: TxtMap = HashMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut stmt = conn.prepare(layout.load)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let subdomain: String = row.get(0)?;
        let value: Option<String> = row.get(1)?;
        let index = seen.entry(subdomain.clone()).or_insert(0);
        if *index < 2 {
            map.entry(subdomain).or_default()[*index] = value.unwrap_or_default();
        }
        *index += 1;
    }
    Ok(map)
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

    pub(crate) fn account(n: u8) -> Account {
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
        let store = SqliteStore::open(&path).expect("open");
        let a = account(1);
        store.register(&a).expect("register");
        assert!(store.txt_values(&a.subdomain).is_empty());
        for value in ["one", "two", "three"] {
            store.update_txt(&a.subdomain, value).expect("update");
        }
        assert_eq!(store.txt_values(&a.subdomain), ["three", "two"]);
        drop(store);
        let store = SqliteStore::open(&path).expect("reopen");
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
        let store = SqliteStore::open(&dir.path().join("db")).expect("open");
        store.register(&account(2)).expect("register");
        assert!(store.register(&account(2)).is_err());
        let conn = Connection::open(dir.path().join("db")).expect("open");
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM txt", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, 2);
    }
}
