//! The `revocation_log` table: every feed event of a cluster, written in the transaction
//! of the change that causes it, read back by every instance (see `feed::log`).

use super::{in_tx, on_reader, on_writer, Store, StoreError, Tx};

impl Tx {
    /// Appends an event (as JSON) to the log; it is there if and only if this commits.
    /// Answers its position.
    pub async fn log_revocation(&mut self, event: &str, now: i64) -> Result<i64, StoreError> {
        const SQL: &str = "INSERT INTO revocation_log (event, created_at) VALUES ($1, $2) RETURNING seq";
        let (seq,): (i64,) = in_tx!(self, |conn| sqlx::query_as(SQL).bind(event).bind(now).fetch_one(conn).await)?;
        Ok(seq)
    }
}

impl Store {
    /// The newest position in the log (0 when empty).
    pub async fn revocation_log_head(&self) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COALESCE(MAX(seq), 0) FROM revocation_log";
        let (head,): (i64,) = on_reader!(self, |pool| sqlx::query_as(SQL).fetch_one(pool).await)?;
        Ok(head)
    }

    /// Events after `after` in log order, at most `limit`.
    pub async fn revocations_after(&self, after: i64, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
        const SQL: &str = "SELECT seq, event FROM revocation_log WHERE seq > $1 ORDER BY seq LIMIT $2";
        Ok(on_reader!(self, |pool| sqlx::query_as(SQL).bind(after).bind(limit).fetch_all(pool).await)?)
    }

    /// Events from `first` to `last`, both included: what may have committed late inside
    /// a gap of the log.
    pub async fn revocations_between(&self, first: i64, last: i64) -> Result<Vec<(i64, String)>, StoreError> {
        const SQL: &str = "SELECT seq, event FROM revocation_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq";
        Ok(on_reader!(self, |pool| sqlx::query_as(SQL).bind(first).bind(last).fetch_all(pool).await)?)
    }

    /// Drops events written before `cutoff`; how many.
    pub async fn delete_old_revocations(&self, cutoff: i64) -> Result<u64, StoreError> {
        Ok(on_writer!(self, |pool| sqlx::query("DELETE FROM revocation_log WHERE created_at < $1")
            .bind(cutoff)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
