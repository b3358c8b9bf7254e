//! The `throttle` table (PostgreSQL only): the database limiter's sliding-window logs,
//! one row per key holding the slots taken inside the window. Each slot id carries its
//! time in the high bits (`slot >> 20` is milliseconds since the epoch), so the window is
//! applied inside the statement.
//!
//! A reservation is one `INSERT … ON CONFLICT DO UPDATE … WHERE`: the conflicting row is
//! locked and its latest committed version re-read even at READ COMMITTED, so
//! concurrent reservations on any number of instances never take more than `limit`.

use std::time::Duration;

use sqlx::postgres::PgPool;

use super::{bounded, StoreError};

const RESERVE: &str = "INSERT INTO throttle (key, hits, touched_at) VALUES ($1, ARRAY[$2::BIGINT], $3)
    ON CONFLICT (key) DO UPDATE
        SET hits = ARRAY(SELECT h FROM unnest(throttle.hits) h WHERE (h >> 20) > $4) || $2::BIGINT,
            touched_at = $3
        WHERE (SELECT count(*) FROM unnest(throttle.hits) h WHERE (h >> 20) > $4) < $5
    RETURNING key";

/// Marks the first denial of a window; returns the slots when it was the first.
const MARK_DENIAL: &str = "UPDATE throttle SET denied_at = $2
    WHERE key = $1 AND (denied_at IS NULL OR denied_at <= $3) RETURNING hits";

#[derive(Clone)]
pub struct ThrottleTable {
    pool: PgPool,
    timeout: Duration,
}

/// What a refused reservation learned: the slots in the row, and whether this was the
/// first refusal of the window.
pub struct Denial {
    pub slots: Vec<i64>,
    pub first: bool,
}

impl ThrottleTable {
    pub(super) fn new(pool: PgPool, timeout: Duration) -> ThrottleTable {
        ThrottleTable { pool, timeout }
    }

    /// Takes `slot` unless `limit` slots newer than `cutoff_ms` are already there.
    pub async fn reserve(
        &self,
        key: &str,
        slot: i64,
        now_ms: i64,
        cutoff_ms: i64,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let row: Option<(String,)> = bounded(self.timeout, async {
            sqlx::query_as(RESERVE)
                .bind(key)
                .bind(slot)
                .bind(now_ms)
                .bind(cutoff_ms)
                .bind(i64::from(limit))
                .fetch_optional(&self.pool)
                .await
        })
        .await?;
        Ok(row.is_some())
    }

    pub async fn denial(&self, key: &str, now_ms: i64, cutoff_ms: i64) -> Result<Denial, StoreError> {
        let marked: Option<(Vec<i64>,)> = bounded(self.timeout, async {
            sqlx::query_as(MARK_DENIAL).bind(key).bind(now_ms).bind(cutoff_ms).fetch_optional(&self.pool).await
        })
        .await?;
        if let Some((slots,)) = marked {
            return Ok(Denial { slots, first: true });
        }
        let row: Option<(Vec<i64>,)> = bounded(self.timeout, async {
            sqlx::query_as("SELECT hits FROM throttle WHERE key = $1").bind(key).fetch_optional(&self.pool).await
        })
        .await?;
        Ok(Denial { slots: row.map(|(s,)| s).unwrap_or_default(), first: false })
    }

    pub async fn refund(&self, key: &str, slot: i64) -> Result<(), StoreError> {
        bounded(self.timeout, async {
            sqlx::query("UPDATE throttle SET hits = array_remove(hits, $2) WHERE key = $1")
                .bind(key)
                .bind(slot)
                .execute(&self.pool)
                .await
        })
        .await?;
        Ok(())
    }

    pub async fn reset(&self, key: &str) -> Result<(), StoreError> {
        bounded(self.timeout, async {
            sqlx::query("UPDATE throttle SET hits = '{}' WHERE key = $1").bind(key).execute(&self.pool).await
        })
        .await?;
        Ok(())
    }

    /// Deletes rows untouched and undenied since `horizon_ms`.
    pub async fn prune(&self, horizon_ms: i64) -> Result<u64, StoreError> {
        let done = bounded(self.timeout, async {
            sqlx::query("DELETE FROM throttle WHERE touched_at <= $1 AND (denied_at IS NULL OR denied_at <= $1)")
                .bind(horizon_ms)
                .execute(&self.pool)
                .await
        })
        .await?;
        Ok(done.rows_affected())
    }
}
