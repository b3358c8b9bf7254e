//! Passkeys: the `passkeys`, `passkey_handles` and `passkey_ceremonies` tables, and the
//! assertion state a login challenge may carry.

use sqlx::FromRow;

use super::{in_tx, on_reader, on_writer, Store, StoreError, Tx};
use crate::domain::UserId;

#[derive(Debug, FromRow)]
pub struct PasskeyRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// webauthn-rs's serialised `Passkey` (public key, algorithm, counter).
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A ceremony as it was started: for whom (a registration) and its state.
#[derive(Debug, FromRow)]
pub struct CeremonyRow {
    pub purpose: String,
    pub user_id: Option<i64>,
    pub state: String,
}

pub struct NewPasskey<'a> {
    pub user_id: UserId,
    pub credential_id: &'a [u8],
    pub name: &'a str,
    pub credential: &'a str,
    pub now: i64,
}

pub struct NewCeremony<'a> {
    pub token_hash: &'a [u8],
    pub purpose: &'a str,
    pub user_id: Option<UserId>,
    pub state: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

const PASSKEY_COLUMNS: &str = "id, user_id, name, credential, created_at, last_used_at";

impl Store {
    pub async fn passkeys_of_user(&self, user_id: UserId) -> Result<Vec<PasskeyRow>, StoreError> {
        let sql = format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY id");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(user_id).fetch_all(pool).await)?)
    }

    pub async fn passkey_by_credential_id(&self, credential_id: &[u8]) -> Result<Option<PasskeyRow>, StoreError> {
        let sql = format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(credential_id).fetch_optional(pool).await)?)
    }

    pub async fn count_passkeys(&self, user_id: UserId) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM passkeys WHERE user_id = $1";
        let (n,): (i64,) = on_reader!(self, |pool| sqlx::query_as(SQL).bind(user_id).fetch_one(pool).await)?;
        Ok(n)
    }

    /// The account a WebAuthn user handle names, and its credentials epoch.
    pub async fn account_by_passkey_handle(&self, handle: &[u8]) -> Result<Option<(UserId, i64)>, StoreError> {
        const SQL: &str = "SELECT u.id, u.credentials_epoch FROM passkey_handles h JOIN users u ON u.id = h.user_id
            WHERE h.handle = $1";
        Ok(on_reader!(self, |pool| sqlx::query_as(SQL).bind(handle).fetch_optional(pool).await)?)
    }

    /// The handle for the user, made with `candidate` unless one exists: of two racing
    /// first registrations, both end up with the same handle.
    pub async fn ensure_passkey_handle(&self, user_id: UserId, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        const INSERT: &str =
            "INSERT INTO passkey_handles (user_id, handle) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING";
        on_writer!(self, |pool| sqlx::query(INSERT)
            .bind(user_id)
            .bind(candidate)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        const SQL: &str = "SELECT handle FROM passkey_handles WHERE user_id = $1";
        let (handle,): (Vec<u8>,) = on_writer!(self, |pool| sqlx::query_as(SQL).bind(user_id).fetch_one(pool).await)?;
        Ok(handle)
    }

    pub async fn insert_ceremony(&self, new: &NewCeremony<'_>) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO passkey_ceremonies (token_hash, purpose, user_id, state, created_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6)";
        on_writer!(self, |pool| sqlx::query(SQL)
            .bind(new.token_hash)
            .bind(new.purpose)
            .bind(new.user_id)
            .bind(new.state)
            .bind(new.now)
            .bind(new.expires_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Takes the ceremony out (it finishes at most once, on whichever instance) if it is
    /// of `purpose` and was started by `user_id` (`None`: nobody logged in): `None` when it
    /// is unknown, expired, someone else's or of another purpose (and then it stays for
    /// its owner), or was taken first by another request.
    pub async fn take_ceremony(
        &self,
        token_hash: &[u8],
        purpose: &str,
        user_id: Option<UserId>,
        now: i64,
    ) -> Result<Option<CeremonyRow>, StoreError> {
        const SQL: &str = "DELETE FROM passkey_ceremonies WHERE token_hash = $1 AND expires_at > $2
            AND purpose = $3 AND COALESCE(user_id, 0) = $4 RETURNING purpose, user_id, state";
        Ok(on_writer!(self, |pool| sqlx::query_as(SQL)
            .bind(token_hash)
            .bind(now)
            .bind(purpose)
            .bind(user_id.unwrap_or(0))
            .fetch_optional(pool)
            .await)?)
    }

    /// Drops ceremonies nobody finished in time; how many.
    pub async fn delete_dead_ceremonies(&self, now: i64) -> Result<u64, StoreError> {
        Ok(on_writer!(self, |pool| sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?)
    }
}

impl Tx {
    /// How many passkeys the user has, read in the transaction.
    pub async fn count_passkeys(&mut self, user_id: UserId) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM passkeys WHERE user_id = $1";
        let (n,): (i64,) = in_tx!(self, |conn| sqlx::query_as(SQL).bind(user_id).fetch_one(conn).await)?;
        Ok(n)
    }

    /// False when the credential is registered already (to this or another account).
    pub async fn insert_passkey(&mut self, new: &NewPasskey<'_>) -> Result<Option<i64>, StoreError> {
        const SQL: &str = "INSERT INTO passkeys (user_id, credential_id, name, credential, created_at)
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT (credential_id) DO NOTHING RETURNING id";
        let row: Option<(i64,)> = in_tx!(self, |conn| sqlx::query_as(SQL)
            .bind(new.user_id)
            .bind(new.credential_id)
            .bind(new.name)
            .bind(new.credential)
            .bind(new.now)
            .fetch_optional(conn)
            .await)?;
        Ok(row.map(|(id,)| id))
    }

    /// Records a use: the credential with its new counter, and when.
    pub async fn passkey_used(&mut self, id: i64, credential: Option<&str>, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE passkeys SET last_used_at = $1, credential = COALESCE($2, credential) WHERE id = $3";
        in_tx!(self, |conn| sqlx::query(SQL)
            .bind(now)
            .bind(credential)
            .bind(id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Whether the user had a passkey `id`.
    pub async fn delete_passkey(&mut self, user_id: UserId, id: i64) -> Result<bool, StoreError> {
        let n = in_tx!(self, |conn| sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Removes every passkey of the user; how many there were.
    pub async fn delete_passkeys_of_user(&mut self, user_id: UserId) -> Result<u64, StoreError> {
        Ok(in_tx!(self, |conn| sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
            .bind(user_id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
