//! Keyset pagination: a page is the rows past a cursor id, in id order, so a deep page
//! costs what the first does (no `OFFSET`) and rows added meanwhile never shift a page.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::FromRow;

use super::{on_reader, Store, StoreError};

/// Which way a list walks its ids; its cursor is the last id of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Oldest first: the next page is after the cursor.
    Ascending,
    /// Newest first: the next page is before the cursor.
    Descending,
}

impl Store {
    /// Up to `limit` rows of `select` (`SELECT … FROM …`, without `WHERE`) past `cursor`,
    /// or from the first one without it, in `order` of the column `id`.
    pub async fn keyset_page<R>(
        &self,
        select: &str,
        id: &str,
        order: Order,
        cursor: Option<i64>,
        limit: i64,
    ) -> Result<Vec<R>, StoreError>
    where
        R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let (past, direction, first) = match order {
            Order::Ascending => (">", "", 0),
            Order::Descending => ("<", " DESC", i64::MAX),
        };
        let sql = format!("{select} WHERE {id} {past} $1 ORDER BY {id}{direction} LIMIT $2");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql)
            .bind(cursor.unwrap_or(first))
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }
}
