//! Persistence. One `Store` over SQLite (embedded default) or PostgreSQL (cluster). The
//! SQL is written once with `$1, $2…` placeholders and portable types (i64 ids, Unix
//! seconds, text, bytes), and the `read!`/`write!`/`in_tx!` macros run it on whichever
//! pool is configured. Reads go to a reader pool; on SQLite, every write goes through a
//! single writer connection, so writers queue instead of failing with `SQLITE_BUSY`.
//! Multi-statement changes run in a `Tx`, with their audit event in the same transaction.

pub mod audit;
pub mod avatars;
pub mod keys;
pub mod posts;
pub mod refresh;
pub mod sessions;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use sqlx::{Postgres, Sqlite, Transaction};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unique constraint {0:?} violated")]
    Conflict(Constraint),
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
                } else {
                    Constraint::Other
                })
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
}

#[derive(Clone)]
enum Db {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// A transaction on either backend; dropped without `commit`, it rolls back.
pub struct Tx(TxInner);

enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$pool` bound to the reader pool of the configured backend.
macro_rules! on_reader {
    ($store:expr, |$pool:ident| $body:expr) => {
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
    };
}

/// Runs `$body` with `$pool` bound to the writer pool of the configured backend.
macro_rules! on_writer {
    ($store:expr, |$pool:ident| $body:expr) => {
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
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection.
macro_rules! in_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
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
    };
}

pub(crate) use {in_tx, on_reader, on_writer};

impl Store {
    /// Opens (and for SQLite, creates) the database. Does not migrate.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a write that answered 2xx survives power loss too, not only a crash.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            let in_memory = options.get_filename().to_string_lossy().contains(":memory:");
            let write = PoolOptions::<Sqlite>::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.clone())
                .await?;
            let read = if in_memory {
                write.clone()
            } else {
                let readers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8);
                PoolOptions::<Sqlite>::new()
                    .max_connections(readers as u32)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options.read_only(true))
                    .await?
            };
            Ok(Store { db: Db::Sqlite { read, write } })
        } else {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PoolOptions::<Postgres>::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await?;
            Ok(Store { db: Db::Postgres(pool) })
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
        Ok(Tx(match &self.db {
            Db::Sqlite { write, .. } => TxInner::Sqlite(write.begin().await?),
            Db::Postgres(pg) => TxInner::Postgres(pg.begin().await?),
        }))
    }

    /// Answers when the database does; for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_reader!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
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
        match self.0 {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}
