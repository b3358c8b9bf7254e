//! The `refresh_families` and `refresh_tokens` tables: single-use refresh tokens,
//! grouped in one family per login, stored as SHA-256 hashes.

use sqlx::FromRow;

use super::{in_tx, Store, StoreError, Tx};
use crate::domain::UserId;

#[derive(Debug, FromRow)]
pub struct RefreshRow {
    pub id: i64,
    pub family_id: i64,
    pub user_id: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// When the login that started the family happened, and how it authenticated.
    pub auth_at: i64,
    pub amr: String,
}

pub(super) const REFRESH_BY_HASH: &str = "SELECT t.id, t.family_id, f.user_id, t.expires_at, t.used_at, f.revoked_at,
        f.auth_at, f.amr
    FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = $1";

impl Tx {
    /// A family for a login made now, authenticated by `amr` (space-separated methods).
    pub async fn insert_family(&mut self, user_id: UserId, now: i64, amr: &str) -> Result<i64, StoreError> {
        let (id,): (i64,) = in_tx!(self, |conn| sqlx::query_as(
            "INSERT INTO refresh_families (user_id, created_at, auth_at, amr) VALUES ($1, $2, $2, $3) RETURNING id"
        )
        .bind(user_id)
        .bind(now)
        .bind(amr)
        .fetch_one(conn)
        .await)?;
        Ok(id)
    }

    pub async fn insert_refresh_token(
        &mut self,
        family_id: i64,
        token_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "INSERT INTO refresh_tokens (family_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)";
        in_tx!(self, |conn| sqlx::query(SQL)
            .bind(family_id)
            .bind(token_hash)
            .bind(now)
            .bind(expires_at)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The token with this hash and its family's state, read inside the transaction
    /// that spends it.
    pub async fn refresh_token(&mut self, token_hash: &[u8]) -> Result<Option<RefreshRow>, StoreError> {
        Ok(in_tx!(self, |conn| sqlx::query_as(REFRESH_BY_HASH).bind(token_hash).fetch_optional(conn).await)?)
    }

    /// Marks the token spent; false if it already was (another request won the race).
    pub async fn spend_refresh_token(&mut self, id: i64, now: i64) -> Result<bool, StoreError> {
        let n = in_tx!(self, |conn| sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL"
        )
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn revoke_family(&mut self, family_id: i64, now: i64) -> Result<(), StoreError> {
        in_tx!(self, |conn| sqlx::query(
            "UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
        )
        .bind(now)
        .bind(family_id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Revokes every refresh-token family of the user; returns how many were live.
    pub async fn revoke_families_of_user(&mut self, user_id: UserId, now: i64) -> Result<u64, StoreError> {
        Ok(in_tx!(self, |conn| sqlx::query(
            "UPDATE refresh_families SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL"
        )
        .bind(now)
        .bind(user_id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?)
    }
}

impl Store {
    /// Drops families whose every token expired before `now` or that were revoked
    /// before `revoked_cutoff`.
    pub async fn delete_dead_refresh_families(&self, now: i64, revoked_cutoff: i64) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM refresh_families WHERE (revoked_at IS NOT NULL AND revoked_at <= $1)
            OR NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.id AND t.expires_at > $2)";
        let mut tx = self.begin().await?;
        let n = in_tx!(tx, |conn| sqlx::query(SQL)
            .bind(revoked_cutoff)
            .bind(now)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(n)
    }
}
