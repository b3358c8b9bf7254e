//! Persistence. One `Store` over SQLite (embedded default) or PostgreSQL (cluster). The
//! SQL is written once with `$1, $2…` placeholders and portable types (i64 ids, Unix
//! seconds, text, bytes), and the `read!`/`write!`/`in_tx!` macros run it on whichever
//! pool is configured. Reads go to a reader pool; on SQLite, every write goes through a
//! single writer connection, so writers queue instead of failing with `SQLITE_BUSY`.
//! Multi-statement changes run in a `Tx`, with their audit event in the same transaction.

pub mod audit;
pub mod avatars;
pub mod email;
pub mod factors;
pub mod federation;
pub mod keys;
mod keyset;
pub mod oauth2;
pub mod passkeys;
pub mod posts;
pub mod redis;
pub mod refresh;
pub mod revocations;
pub mod sessions;
pub mod throttle;
pub mod users;

#[cfg(test)]
mod query_plans;
#[cfg(test)]
pub mod test_support;

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use sqlx::{Postgres, Sqlite, Transaction};

use crate::config::DatabaseConfig;

pub use keyset::Order;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unique constraint {0:?} violated")]
    Conflict(Constraint),
    /// A row this write refers to is gone: deleted by a change that committed first
    /// (an account deleted while one of its logins was in flight).
    #[error("a referenced row is gone")]
    Gone,
    /// PostgreSQL gave up on the transaction to keep it consistent (a serialization
    /// failure or a deadlock): nothing was written, and the same request may be retried.
    #[error("the transaction was aborted by a concurrent one")]
    Contended(#[source] sqlx::Error),
    #[error("the database cannot be reached")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error")]
    Other(#[source] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    Username,
    Email,
    /// An identity at a provider (issuer, subject) that an account has already.
    Identity,
    Other,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                // SQLite names the column in its message, PostgreSQL names the constraint.
                let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
                StoreError::Conflict(if text.contains("username_key") {
                    Constraint::Username
                } else if text.contains("email_key") {
                    Constraint::Email
                } else if text.contains("federated_identities") {
                    Constraint::Identity
                } else {
                    Constraint::Other
                })
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::Gone,
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40001" | "40P01")) => {
                StoreError::Contended(e)
            }
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e),
            sqlx::Error::Database(db) if is_unavailable(db.as_ref()) => StoreError::Unavailable(e),
            _ => StoreError::Other(e),
        }
    }
}

/// SQLite's BUSY/LOCKED/IOERR/FULL/CANTOPEN and PostgreSQL's connection, resource and
/// shutdown classes: the database is there but cannot serve us now.
fn is_unavailable(db: &dyn sqlx::error::DatabaseError) -> bool {
    let code = db.code().unwrap_or_default();
    if db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() {
        return code.starts_with("08") || code.starts_with("53") || code.starts_with("57P");
    }
    matches!(code.parse::<i32>().map(|n| n & 0xff), Ok(5 | 6 | 10 | 13 | 14))
}

#[derive(Clone)]
pub struct Store {
    db: Db,
    /// Bounds every statement, connection wait included: a database that stops answering
    /// (a cut network, a full pool) turns into `Unavailable`, never a hung request.
    timeout: Duration,
}

/// How the store reaches its database, from `[database]` in the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub statement_timeout: Duration,
}

impl From<&DatabaseConfig> for Limits {
    fn from(config: &DatabaseConfig) -> Limits {
        Limits {
            max_connections: config.max_connections,
            acquire_timeout: config.acquire_timeout.0,
            statement_timeout: config.statement_timeout.0,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// Runs a database future under the store's bound; running out of time is `Unavailable`.
pub(crate) async fn bounded<T>(
    limit: Duration,
    f: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(limit, f).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
    }
}

#[derive(Clone)]
enum Db {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// A transaction on either backend; dropped without `commit`, it rolls back.
pub struct Tx(TxInner, Duration);

enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$pool` bound to the reader pool of the configured backend.
macro_rules! on_reader {
    ($store:expr, |$pool:ident| $body:expr) => {
        $crate::store::bounded($store.timeout, async {
            match &$store.db {
                $crate::store::Db::Sqlite { read, .. } => {
                    let $pool = read;
                    $body
                }
                $crate::store::Db::Postgres(pg) => {
                    let $pool = pg;
                    $body
                }
            }
        })
        .await
    };
}

/// Runs `$body` with `$pool` bound to the writer pool of the configured backend.
macro_rules! on_writer {
    ($store:expr, |$pool:ident| $body:expr) => {
        $crate::store::bounded($store.timeout, async {
            match &$store.db {
                $crate::store::Db::Sqlite { write, .. } => {
                    let $pool = write;
                    $body
                }
                $crate::store::Db::Postgres(pg) => {
                    let $pool = pg;
                    $body
                }
            }
        })
        .await
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection.
macro_rules! in_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {{
        let limit = $tx.1;
        $crate::store::bounded(limit, async {
            match &mut $tx.0 {
                $crate::store::TxInner::Sqlite(t) => {
                    let $conn = &mut **t;
                    $body
                }
                $crate::store::TxInner::Postgres(t) => {
                    let $conn = &mut **t;
                    $body
                }
            }
        })
        .await
    }};
}

pub(crate) use {in_tx, on_reader, on_writer};

impl Store {
    /// The file of a file-backed SQLite database URL; `None` for PostgreSQL and memory.
    pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
        if !url.starts_with("sqlite:") {
            return None;
        }
        let options = SqliteConnectOptions::from_str(url).ok()?;
        let file = options.get_filename();
        (!file.to_string_lossy().contains(":memory:") && !file.as_os_str().is_empty()).then(|| file.to_path_buf())
    }

    /// Opens (and for SQLite, creates) the database. Does not migrate.
    pub async fn connect(url: &str, limits: Limits) -> Result<Store, StoreError> {
        let timeout = limits.acquire_timeout + limits.statement_timeout;
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a write that answered 2xx survives power loss too, not only a crash.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(limits.acquire_timeout)
                .foreign_keys(true);
            let in_memory = options.get_filename().to_string_lossy().contains(":memory:");
            let write = PoolOptions::<Sqlite>::new()
                .max_connections(1)
                .acquire_timeout(limits.acquire_timeout)
                .connect_with(options.clone())
                .await?;
            let read = if in_memory {
                write.clone()
            } else {
                let readers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8);
                PoolOptions::<Sqlite>::new()
                    .max_connections(readers as u32)
                    .min_connections(1)
                    .acquire_timeout(limits.acquire_timeout)
                    .connect_with(options.read_only(true))
                    .await?
            };
            Ok(Store { db: Db::Sqlite { read, write }, timeout })
        } else {
            let statement_ms = limits.statement_timeout.as_millis().to_string();
            let options = PgConnectOptions::from_str(url)?
                .options([("statement_timeout", statement_ms.as_str()), ("lock_timeout", statement_ms.as_str())]);
            let pool = PoolOptions::<Postgres>::new()
                .max_connections(limits.max_connections)
                .acquire_timeout(limits.acquire_timeout)
                // A connection killed under us (a failover, a proxy) is found before use.
                .test_before_acquire(true)
                .connect_with(options)
                .await?;
            Ok(Store { db: Db::Postgres(pool), timeout })
        }
    }

    /// The database limiter's table; PostgreSQL only (SQLite is one instance).
    pub fn throttle_table(&self) -> Option<throttle::ThrottleTable> {
        match &self.db {
            Db::Postgres(pg) => Some(throttle::ThrottleTable::new(pg.clone(), self.timeout)),
            Db::Sqlite { .. } => None,
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite { write, .. } => sqlx::migrate!("migrations/sqlite").run(write).await?,
            Db::Postgres(pg) => sqlx::migrate!("migrations/postgres").run(pg).await?,
        }
        Ok(())
    }

    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let inner = bounded(self.timeout, async {
            Ok(match &self.db {
                // IMMEDIATE takes the write lock at once: a transaction that reads, then
                // writes cannot be overtaken by another process's writer (the CLI) between
                // the two, and waits for it (busy_timeout) instead of failing at the write.
                Db::Sqlite { write, .. } => TxInner::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
                Db::Postgres(pg) => TxInner::Postgres(pg.begin().await?),
            })
        })
        .await?;
        Ok(Tx(inner, self.timeout))
    }

    /// Answers when the database does; for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_reader!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Sends a PostgreSQL notification at once (outside any change); nothing on SQLite.
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        if let Db::Postgres(pg) = &self.db {
            bounded(self.timeout, async {
                sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(pg).await
            })
            .await?;
        }
        Ok(())
    }

    /// Ends the feed listener connections of this database (all, or the one of the
    /// instance named `origin`): an operator's or a test's way to cut the feed; how
    /// many. Nothing on SQLite.
    pub async fn terminate_feed_listeners(&self, origin: Option<&str>) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name LIKE $1";
        let name = match origin {
            Some(origin) => format!("latchkey feed {origin}"),
            None => "latchkey feed %".into(),
        };
        match &self.db {
            Db::Postgres(pg) => {
                let (n,): (i64,) =
                    bounded(self.timeout, async { sqlx::query_as(SQL).bind(&name).fetch_one(pg).await }).await?;
                Ok(n as u64)
            }
            Db::Sqlite { .. } => Ok(0),
        }
    }

    /// The PostgreSQL pool, for a component that opens a connection of its own with the
    /// same options (the feed's listener).
    pub fn postgres_pool(&self) -> Option<PgPool> {
        match &self.db {
            Db::Postgres(pg) => Some(pg.clone()),
            Db::Sqlite { .. } => None,
        }
    }

    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pg) => pg.close().await,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        bounded(self.1, async {
            match self.0 {
                TxInner::Sqlite(t) => t.commit().await,
                TxInner::Postgres(t) => t.commit().await,
            }
        })
        .await
    }

    /// Serialises every change to the set of admins (the last-admin rule reads that set,
    /// then writes): on PostgreSQL, at READ COMMITTED, two transactions demoting two
    /// different admins would otherwise both see two admins. SQLite's writer is already
    /// one transaction at a time.
    pub async fn lock_admin_set(&mut self) -> Result<(), StoreError> {
        self.advisory_lock("latchkey:admin-set").await
    }

    /// A transaction-scoped lock on `name` (PostgreSQL; nothing to do on SQLite).
    pub async fn advisory_lock(&mut self, name: &str) -> Result<(), StoreError> {
        let limit = self.1;
        if let TxInner::Postgres(t) = &mut self.0 {
            bounded(limit, async {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))").bind(name).execute(&mut **t).await
            })
            .await?;
        }
        Ok(())
    }

    /// Queues a PostgreSQL notification, delivered if and only if this transaction
    /// commits (nothing on SQLite, whose feed is in-process).
    pub async fn notify(&mut self, channel: &str, payload: &str) -> Result<(), StoreError> {
        let limit = self.1;
        if let TxInner::Postgres(t) = &mut self.0 {
            bounded(limit, async {
                sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(&mut **t).await
            })
            .await?;
        }
        Ok(())
    }
}
