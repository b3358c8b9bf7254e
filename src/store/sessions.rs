//! The `sessions` table: server-side sessions, keyed by the SHA-256 of their token.

use sqlx::FromRow;

use super::{in_tx, on_reader, on_writer, Store, StoreError, Tx};
use crate::domain::UserId;

#[derive(Debug, FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A session with its user, read in one query on every authenticated request.
#[derive(Debug, FromRow)]
pub struct SessionUserRow {
    pub session_id: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub roles: String,
    pub created_at: i64,
}

pub struct NewSession<'a> {
    pub user_id: UserId,
    pub token_hash: &'a [u8],
    pub now: i64,
    pub expires_at: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// RFC 8176 values, space-separated.
    pub amr: &'a str,
}

pub(super) const SESSION_WITH_USER: &str = "SELECT s.id AS session_id, s.last_seen_at, s.expires_at,
        u.id, u.username, u.email, u.email_verified, u.roles, u.created_at
    FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1";
pub(super) const DEAD_SESSIONS: &str = "DELETE FROM sessions WHERE id IN \
    (SELECT id FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2 LIMIT $3)";

impl Store {
    pub async fn session_with_user(&self, token_hash: &[u8]) -> Result<Option<SessionUserRow>, StoreError> {
        Ok(on_reader!(self, |pool| sqlx::query_as(SESSION_WITH_USER).bind(token_hash).fetch_optional(pool).await)?)
    }

    /// Live sessions of a user: not past their absolute expiry, used since `idle_cutoff`.
    pub async fn sessions_of_user(
        &self,
        user_id: UserId,
        now: i64,
        idle_cutoff: i64,
    ) -> Result<Vec<SessionRow>, StoreError> {
        const SQL: &str = "SELECT id, user_id, created_at, last_seen_at, expires_at, ip, user_agent
            FROM sessions WHERE user_id = $1 AND expires_at > $2 AND last_seen_at > $3 ORDER BY id DESC";
        Ok(on_reader!(self, |pool| sqlx::query_as(SQL)
            .bind(user_id)
            .bind(now)
            .bind(idle_cutoff)
            .fetch_all(pool)
            .await)?)
    }

    pub async fn count_live_sessions(&self, now: i64, idle_cutoff: i64) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM sessions WHERE expires_at > $1 AND last_seen_at > $2";
        let (n,): (i64,) =
            on_reader!(self, |pool| sqlx::query_as(SQL).bind(now).bind(idle_cutoff).fetch_one(pool).await)?;
        Ok(n)
    }

    /// Removes up to `limit` sessions past either expiry; returns how many. The caller
    /// repeats it, so that a large clean-up never holds the writer for long.
    pub async fn delete_dead_sessions(&self, now: i64, idle_cutoff: i64, limit: i64) -> Result<u64, StoreError> {
        let done = on_writer!(self, |pool| sqlx::query(DEAD_SESSIONS)
            .bind(now)
            .bind(idle_cutoff)
            .bind(limit)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done)
    }
}

impl Tx {
    /// Moves `last_seen_at` forward (never back: another instance may have been later).
    pub async fn touch_session(&mut self, id: i64, at: i64) -> Result<(), StoreError> {
        in_tx!(self, |conn| sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1")
            .bind(at)
            .bind(id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn insert_session(&mut self, new: &NewSession<'_>) -> Result<i64, StoreError> {
        const SQL: &str =
            "INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, expires_at, ip, user_agent, auth_at, amr)
            VALUES ($1, $2, $3, $3, $4, $5, $6, $3, $7) RETURNING id";
        let (id,): (i64,) = in_tx!(self, |conn| sqlx::query_as(SQL)
            .bind(new.user_id)
            .bind(new.token_hash)
            .bind(new.now)
            .bind(new.expires_at)
            .bind(new.ip)
            .bind(new.user_agent)
            .bind(new.amr)
            .fetch_one(conn)
            .await)?;
        Ok(id)
    }

    /// Deletes the session holding this token; returns its id and user.
    pub async fn delete_session_by_hash(&mut self, token_hash: &[u8]) -> Result<Option<(i64, UserId)>, StoreError> {
        const SQL: &str = "DELETE FROM sessions WHERE token_hash = $1 RETURNING id, user_id";
        Ok(in_tx!(self, |conn| sqlx::query_as(SQL).bind(token_hash).fetch_optional(conn).await)?)
    }

    /// Deletes one session of the user; returns its token hash if it existed.
    pub async fn delete_session_of_user(&mut self, user_id: UserId, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        const SQL: &str = "DELETE FROM sessions WHERE id = $1 AND user_id = $2 RETURNING token_hash";
        let row: Option<(Vec<u8>,)> =
            in_tx!(self, |conn| sqlx::query_as(SQL).bind(id).bind(user_id).fetch_optional(conn).await)?;
        Ok(row.map(|(hash,)| hash))
    }

    /// Ends every session of the user but `keep`; returns how many ended.
    pub async fn delete_sessions_of_user(&mut self, user_id: UserId, keep: Option<i64>) -> Result<u64, StoreError> {
        let done = in_tx!(self, |conn| sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or(-1))
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done)
    }
}
