//! The `jwt_keys` table: signing keys shared by every instance (Ed25519 for latchkey's
//! own tokens and, as an OpenID Provider, RSA and Ed25519 for the tokens of other apps).

use sqlx::FromRow;

use super::{in_tx, on_reader, Store, StoreError, Tx};

#[derive(FromRow)]
pub struct KeyRow {
    pub kid: String,
    /// `EdDSA` or `RS256`.
    pub alg: String,
    pub private_key: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

/// The private key never shows in logs or panics, sealed or not.
impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRow")
            .field("kid", &self.kid)
            .field("private_key", &"****")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Keys still worth knowing: current ones, and retired ones retired after `cutoff`.
    pub async fn jwt_keys(&self, cutoff: i64) -> Result<Vec<KeyRow>, StoreError> {
        const SQL: &str = "SELECT kid, alg, private_key, public_key, created_at, retired_at FROM jwt_keys
            WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, kid";
        Ok(on_reader!(self, |pool| sqlx::query_as(SQL).bind(cutoff).fetch_all(pool).await)?)
    }
}

impl Tx {
    pub async fn all_keys(&mut self) -> Result<Vec<KeyRow>, StoreError> {
        const SQL: &str = "SELECT kid, alg, private_key, public_key, created_at, retired_at FROM jwt_keys";
        Ok(in_tx!(self, |conn| sqlx::query_as(SQL).fetch_all(conn).await)?)
    }

    pub async fn set_private_key(&mut self, kid: &str, private_key: &[u8]) -> Result<(), StoreError> {
        in_tx!(self, |conn| sqlx::query("UPDATE jwt_keys SET private_key = $1 WHERE kid = $2")
            .bind(private_key)
            .bind(kid)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn current_key_count(&mut self, alg: &str) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM jwt_keys WHERE retired_at IS NULL AND alg = $1";
        let (n,): (i64,) = in_tx!(self, |conn| sqlx::query_as(SQL).bind(alg).fetch_one(conn).await)?;
        Ok(n)
    }

    pub async fn insert_key(&mut self, row: &KeyRow) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO jwt_keys (kid, alg, private_key, public_key, created_at, retired_at)
            VALUES ($1, $2, $3, $4, $5, $6)";
        in_tx!(self, |conn| sqlx::query(SQL)
            .bind(&row.kid)
            .bind(&row.alg)
            .bind(&row.private_key)
            .bind(&row.public_key)
            .bind(row.created_at)
            .bind(row.retired_at)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Stops every current key of `alg` from signing (they keep verifying).
    pub async fn retire_current_keys(&mut self, alg: &str, now: i64) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE jwt_keys SET retired_at = $1 WHERE retired_at IS NULL AND alg = $2";
        Ok(in_tx!(self, |conn| sqlx::query(SQL).bind(now).bind(alg).execute(conn).await.map(|r| r.rows_affected()))?)
    }

    /// Forgets keys retired at or before `cutoff`: no token they signed is still valid.
    pub async fn delete_keys_retired_before(&mut self, cutoff: i64) -> Result<u64, StoreError> {
        Ok(in_tx!(self, |conn| sqlx::query("DELETE FROM jwt_keys WHERE retired_at IS NOT NULL AND retired_at <= $1")
            .bind(cutoff)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
