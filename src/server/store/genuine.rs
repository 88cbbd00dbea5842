//! acme-dns' own table layout (its `db.go`, database version 1), which certpilot uses in
//! place: `acmedns (Name, Value)` holds `db_version`, `records (Username, Password, Subdomain,
//! AllowFrom)` the accounts (bcrypt hash; `AllowFrom` a JSON array or `null`), and `txt
//! (Subdomain, Value, LastUpdate)` two rows per account, `LastUpdate` in Unix seconds (on
//! `PostgreSQL` with a `rowid SERIAL` column; `SQLite` has its implicit rowid).
//!
//! certpilot writes exactly what acme-dns writes, so acme-dns can be put back on the database.
//! It adds one index (on `txt.Subdomain`, which acme-dns leaves unindexed) and nothing else.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::StoreError;

/// The acme-dns database version this layout is (its `DBVersion`).
pub(super) const DB_VERSION: &str = "1";

/// acme-dns' PostgreSQL tables, as its `Init` creates them, plus certpilot's index.
pub(super) const POSTGRES_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS acmedns(
    Name TEXT,
    Value TEXT
);
CREATE TABLE IF NOT EXISTS records(
    Username TEXT UNIQUE NOT NULL PRIMARY KEY,
    Password TEXT UNIQUE NOT NULL,
    Subdomain TEXT UNIQUE NOT NULL,
    AllowFrom TEXT
);
CREATE TABLE IF NOT EXISTS txt(
    rowid SERIAL,
    Subdomain TEXT NOT NULL,
    Value   TEXT NOT NULL DEFAULT '',
    LastUpdate INT
);
CREATE INDEX IF NOT EXISTS certpilot_txt_subdomain ON txt (Subdomain);
";

/// Check that an acme-dns `SQLite` file is at the version certpilot reads, and index it.
pub(super) fn check_sqlite(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let sql = |action| {
        move |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    let has_txt: bool = conn
        .query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'txt'",
            [],
            |row| row.get(0),
        )
        .map_err(sql("read the tables"))?;
    let version: Option<String> = conn
        .query_row(
            "SELECT Value FROM acmedns WHERE Name = 'db_version'",
            [],
            |row| row.get(0),
        )
        .optional()
        .map_err(sql("read acme-dns' db_version"))?;
    check_version(&path.display().to_string(), version.as_deref(), has_txt)?;
    conn.execute_batch("CREATE INDEX IF NOT EXISTS certpilot_txt_subdomain ON txt (Subdomain);")
        .map_err(sql("index the TXT table"))
}

/// acme-dns upgrades older layouts itself; certpilot reads only the current one.
pub(super) fn check_version(
    database: &str,
    version: Option<&str>,
    has_txt: bool,
) -> Result<(), StoreError> {
    match version {
        Some(DB_VERSION) if has_txt => Ok(()),
        found => Err(StoreError::Foreign {
            database: database.to_owned(),
            message: format!(
                "acme-dns database version {} (certpilot reads version {DB_VERSION}); \
                 start acme-dns once on it to upgrade it, then certpilot",
                found.unwrap_or("0")
            ),
        }),
    }
}
