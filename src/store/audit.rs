//! The `audit_events` table. Events are written inside the transaction of the change
//! they record and outlive the accounts they name.

use sqlx::FromRow;

use super::{in_tx, on_writer, Order, Store, StoreError, Tx};
use crate::domain::UserId;

#[derive(Debug, FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub user_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: String,
}

pub struct NewAuditEvent<'a> {
    pub at: i64,
    pub kind: &'a str,
    pub user_id: Option<UserId>,
    pub actor_id: Option<UserId>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub detail: &'a str,
}

impl Store {
    /// Newest first, strictly before the `before` id when given.
    pub async fn audit_events(&self, before: Option<i64>, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        const SELECT: &str = "SELECT id, at, kind, user_id, actor_id, ip, user_agent, detail FROM audit_events";
        self.keyset_page(SELECT, "id", Order::Descending, before, limit).await
    }
}

impl Store {
    /// Deletes up to `limit` of the oldest events from before `cutoff`; returns how many.
    /// Ids grow with time, so walking them in order stops at the first young event.
    pub async fn delete_audit_before(&self, cutoff: i64, limit: i64) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM audit_events WHERE id IN \
            (SELECT id FROM audit_events WHERE at < $1 ORDER BY id LIMIT $2)";
        Ok(on_writer!(self, |pool| sqlx::query(SQL)
            .bind(cutoff)
            .bind(limit)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?)
    }
}

impl Tx {
    pub async fn insert_audit(&mut self, e: &NewAuditEvent<'_>) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO audit_events (at, kind, user_id, actor_id, ip, user_agent, detail)
            VALUES ($1, $2, $3, $4, $5, $6, $7)";
        in_tx!(self, |conn| sqlx::query(SQL)
            .bind(e.at)
            .bind(e.kind)
            .bind(e.user_id)
            .bind(e.actor_id)
            .bind(e.ip)
            .bind(e.user_agent)
            .bind(e.detail)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
