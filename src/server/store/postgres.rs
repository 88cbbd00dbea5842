//! The account database on PostgreSQL (tokio-postgres through a deadpool pool), in acme-dns'
//! table layout, shared by every server instance pointed at it.
//!
//! Why several instances act as one server: every write is one transaction that returns only
//! after PostgreSQL committed it (an acknowledged update survives the instance that took it);
//! an update locks the account's two TXT rows (`FOR UPDATE`) before it picks the oldest, so
//! concurrent updates on different instances evict in order; and DNS answers read the
//! database, never a local copy, so each instance serves every other instance's commits at once.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::{genuine, oldest_slot, Account, StoreError};

/// Connections per instance (DNS reads and API writes share them).
const POOL_SIZE: usize = 16;
/// How long a request waits for a connection, or for a new one to be made, before it fails.
const POOL_WAIT: Duration = Duration::from_secs(5);
/// A constant key for `pg_advisory_xact_lock`: instances starting at once create the tables
/// one after the other.
const SCHEMA_LOCK: i64 = 0x6365_7274_7069_6c6f;

/// A pool of connections to one database.
pub(crate) struct PgStore {
    pool: Pool,
    /// Host, port and database name, for messages (never the password).
    target: String,
}

impl PgStore {
    /// Connect to `url`, and create acme-dns' tables if the database has none yet (an existing
    /// acme-dns database is used as it is).
    pub async fn connect(url: &str, password: Option<&str>) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Postgres {
            target: "(the database URL)".into(),
            action: "read the URL",
            message: format!("{e}"),
        })?;
        if let Some(password) = password {
            config.password(password);
        }
        let target = describe(&config);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(POOL_WAIT))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Postgres {
                target: target.clone(),
                action: "set up the connection pool",
                message: e.to_string(),
            })?;
        let store = Self { pool, target };
        store.migrate().await?;
        Ok(store)
    }

    fn error<E: std::fmt::Display>(
        &self,
        action: &'static str,
    ) -> impl FnOnce(E) -> StoreError + '_ {
        move |e| StoreError::Postgres {
            target: self.target.clone(),
            action,
            message: e.to_string(),
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(self.error("connect"))
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(self.error("begin"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(self.error("lock the schema"))?;
        let row = tx
            .query_one(
                "SELECT to_regclass('records') IS NOT NULL, to_regclass('acmedns') IS NOT NULL, \
                 to_regclass('txt') IS NOT NULL",
                &[],
            )
            .await
            .map_err(self.error("read the tables"))?;
        let (records, acmedns, txt): (bool, bool, bool) = (row.get(0), row.get(1), row.get(2));
        if records {
            let version = if acmedns {
                tx.query_opt("SELECT Value FROM acmedns WHERE Name = 'db_version'", &[])
                    .await
                    .map_err(self.error("read acme-dns' db_version"))?
                    .and_then(|row| row.get::<_, Option<String>>(0))
            } else {
                None
            };
            genuine::check_version(&self.target, version.as_deref(), txt)?;
            tx.batch_execute(
                "CREATE INDEX IF NOT EXISTS certpilot_txt_subdomain ON txt (Subdomain);",
            )
            .await
            .map_err(self.error("index the TXT table"))?;
        } else {
            tx.batch_execute(genuine::POSTGRES_SCHEMA)
                .await
                .map_err(self.error("create the tables"))?;
            tx.execute(
                "INSERT INTO acmedns (Name, Value) VALUES ('db_version', $1)",
                &[&genuine::DB_VERSION],
            )
            .await
            .map_err(self.error("write the db_version"))?;
            tracing::info!(database = %self.target, "created the acme-dns tables");
        }
        tx.commit().await.map_err(self.error("commit the schema"))
    }

    /// Insert a new account with two empty slots, in one transaction.
    pub async fn register(&self, account: &Account) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(self.error("begin registration"))?;
        tx.execute(
            "INSERT INTO records (Username, Password, Subdomain, AllowFrom) VALUES ($1, $2, $3, $4)",
            &[
                &account.username,
                &account.password_hash,
                &account.subdomain,
                &account.allowfrom_json(),
            ],
        )
        .await
        .map_err(self.error("register an account"))?;
        tx.execute(
            "INSERT INTO txt (Subdomain, LastUpdate) VALUES ($1, 0), ($1, 0)",
            &[&account.subdomain],
        )
        .await
        .map_err(self.error("create the TXT slots"))?;
        tx.commit()
            .await
            .map_err(self.error("commit the registration"))
    }

    /// The account with this canonical username.
    pub async fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT Username, Password, Subdomain, AllowFrom FROM records \
                 WHERE Username = $1 LIMIT 1",
            )
            .await
            .map_err(self.error("look up an account"))?;
        let row = client
            .query_opt(&statement, &[&username])
            .await
            .map_err(self.error("look up an account"))?;
        Ok(row.map(|row| Account {
            username: row.get(0),
            password_hash: row.get(1),
            subdomain: row.get(2),
            allowfrom: Account::parse_allowfrom(row.get::<_, Option<&str>>(3)),
        }))
    }

    /// Overwrite the slot of `subdomain` that was updated longest ago; returns after commit.
    pub async fn update_txt(&self, subdomain: &str, value: &str) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(self.error("begin an update"))?;
        // Lock both rows first: a concurrent update elsewhere waits, then sees this one.
        let rows = tx
            .query(
                "SELECT rowid::bigint, COALESCE(LastUpdate, 0)::bigint FROM txt \
                 WHERE Subdomain = $1 ORDER BY rowid LIMIT 2 FOR UPDATE",
                &[&subdomain],
            )
            .await
            .map_err(self.error("read the TXT slots"))?;
        let slots: Vec<(i64, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let Some((_, key, stamp)) = oldest_slot(&slots, false) else {
            return Err(StoreError::NoSlots {
                subdomain: subdomain.to_owned(),
            });
        };
        tx.execute(
            "UPDATE txt SET Value = $1, LastUpdate = $2::bigint WHERE rowid = $3::bigint",
            &[&value, &stamp, &key],
        )
        .await
        .map_err(self.error("update a TXT slot"))?;
        tx.commit().await.map_err(self.error("commit an update"))
    }

    /// The non-empty TXT values of `subdomain`, read from the database.
    pub async fn txt_values(&self, subdomain: &str) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT Value FROM txt WHERE Subdomain = $1 ORDER BY rowid LIMIT 2")
            .await
            .map_err(self.error("read TXT values"))?;
        let rows = client
            .query(&statement, &[&subdomain])
            .await
            .map_err(self.error("read TXT values"))?;
        Ok(rows
            .iter()
            .map(|row| row.get::<_, String>(0))
            .filter(|value| !value.is_empty())
            .collect())
    }

    /// Close the pool's connections.
    pub fn close(&self) {
        self.pool.close();
    }
}

/// `host:port/dbname` of a config, for messages.
pub(super) fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("(default)");
    format!("postgres://{host}:{port}/{db}")
}
