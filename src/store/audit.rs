//! The `audit_events` table. Events are written inside the transaction of the change
//! they record and outlive the accounts they name.

use sqlx::FromRow;

use super::{in_tx, on_reader, Store, StoreError, Tx};
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
        const SQL: &str = "SELECT id, at, kind, user_id, actor_id, ip, user_agent, detail
            FROM audit_events WHERE id < $1 ORDER BY id DESC LIMIT $2";
        Ok(on_reader!(self, |pool| sqlx::query_as(SQL)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(pool)
            .await)?)
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
