//! The `refresh_families` and `refresh_tokens` tables: single-use refresh tokens,
//! grouped in one family per login, stored as SHA-256 hashes.

use sqlx::FromRow;

use super::{in_tx, on_reader, Store, StoreError, Tx};
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
    /// The app the family belongs to (latchkey as an OpenID Provider); `None` for
    /// latchkey's own token logins.
    pub client_id: Option<String>,
    pub scope: Option<String>,
    /// When the family began: an app's refresh tokens never outlive it by more than
    /// their lifetime.
    pub family_created_at: i64,
}

/// A new token login: who, when, how it authenticated (space-separated `amr` values)
/// and the client that made it.
pub struct NewFamily<'a> {
    pub user_id: UserId,
    pub now: i64,
    pub amr: &'a str,
    pub client: ClientFields,
}

/// Where a token login was last used from, as listed beside cookie sessions.
pub struct ClientFields {
    pub ip: String,
    pub user_agent: Option<String>,
}

/// A live token login, as listed beside cookie sessions.
#[derive(Debug, FromRow)]
pub struct FamilyRow {
    pub id: i64,
    pub created_at: i64,
    pub last_used_at: i64,
    /// When its newest refresh token expires.
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub(super) const FAMILIES_OF_USER: &str =
    "SELECT f.id, f.created_at, COALESCE(f.last_used_at, f.created_at) AS last_used_at,
        MAX(t.expires_at) AS expires_at, f.ip, f.user_agent
    FROM refresh_families f JOIN refresh_tokens t ON t.family_id = f.id
    WHERE f.user_id = $1 AND f.revoked_at IS NULL AND f.client_id IS NULL
    GROUP BY f.id, f.created_at, f.last_used_at, f.ip, f.user_agent
    HAVING MAX(t.expires_at) > $2
    ORDER BY f.id DESC";

pub(super) const REFRESH_BY_HASH: &str = "SELECT t.id, t.family_id, f.user_id, t.expires_at, t.used_at, f.revoked_at,
        f.auth_at, f.amr, f.client_id, f.scope, f.created_at AS family_created_at
    FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = $1";

impl Tx {
    /// A family for a login made now.
    pub async fn insert_family(&mut self, new: &NewFamily<'_>) -> Result<i64, StoreError> {
        const SQL: &str =
            "INSERT INTO refresh_families (user_id, created_at, auth_at, amr, last_used_at, ip, user_agent)
            VALUES ($1, $2, $2, $3, $2, $4, $5) RETURNING id";
        let (id,): (i64,) = in_tx!(self, |conn| sqlx::query_as(SQL)
            .bind(new.user_id)
            .bind(new.now)
            .bind(new.amr)
            .bind(&new.client.ip)
            .bind(&new.client.user_agent)
            .fetch_one(conn)
            .await)?;
        Ok(id)
    }

    /// Notes a refresh: when, and from where.
    pub async fn family_used(&mut self, family_id: i64, now: i64, client: &ClientFields) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE refresh_families SET last_used_at = $1, ip = $2, user_agent = $3 WHERE id = $4";
        in_tx!(self, |conn| sqlx::query(SQL)
            .bind(now)
            .bind(&client.ip)
            .bind(&client.user_agent)
            .bind(family_id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Revokes one live family of the user; false if there is no such live family.
    pub async fn revoke_family_of_user(
        &mut self,
        user_id: UserId,
        family_id: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        const SQL: &str =
            "UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL";
        let n = in_tx!(self, |conn| sqlx::query(SQL)
            .bind(now)
            .bind(family_id)
            .bind(user_id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
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

    /// Revokes every refresh-token family of the user but `keep`; returns how many were
    /// live.
    pub async fn revoke_families_of_user(
        &mut self,
        user_id: UserId,
        keep: Option<i64>,
        now: i64,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE refresh_families SET revoked_at = $1
            WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3";
        Ok(in_tx!(self, |conn| sqlx::query(SQL)
            .bind(now)
            .bind(user_id)
            .bind(keep.unwrap_or(0))
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?)
    }
}

impl Store {
    /// The user's live token logins, newest first.
    pub async fn families_of_user(&self, user_id: UserId, now: i64) -> Result<Vec<FamilyRow>, StoreError> {
        Ok(on_reader!(self, |pool| sqlx::query_as(FAMILIES_OF_USER).bind(user_id).bind(now).fetch_all(pool).await)?)
    }

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
