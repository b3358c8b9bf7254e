//! Second factors: the `totp_factors`, `recovery_codes` and `login_challenges` tables,
//! and the authentication time of sessions. TOTP secrets come and go as stored: sealed
//! by the service when an encryption key is configured.

use sqlx::FromRow;

use super::{in_tx, on_reader, on_writer, Store, StoreError, Tx};
use crate::domain::UserId;

#[derive(Debug, FromRow)]
pub struct TotpRow {
    pub secret: Vec<u8>,
    pub enabled_at: Option<i64>,
    pub last_step: i64,
}

#[derive(Debug, FromRow)]
pub struct ChallengeRow {
    pub id: i64,
    pub user_id: i64,
    pub purpose: String,
    pub binding_hash: Vec<u8>,
    pub amr: String,
    pub expires_at: i64,
    /// The account's credentials epoch when its password was checked.
    pub credentials_epoch: i64,
    /// The assertion state when a passkey may be the second step.
    pub passkey_state: Option<String>,
}

pub struct NewChallenge<'a> {
    pub token_hash: &'a [u8],
    pub user_id: UserId,
    pub purpose: &'a str,
    pub binding_hash: &'a [u8],
    pub amr: &'a str,
    pub credentials_epoch: i64,
    pub passkey_state: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
}

impl Store {
    pub async fn totp_of_user(&self, user_id: UserId) -> Result<Option<TotpRow>, StoreError> {
        const SQL: &str = "SELECT secret, enabled_at, last_step FROM totp_factors WHERE user_id = $1";
        Ok(on_reader!(self, |pool| sqlx::query_as(SQL).bind(user_id).fetch_optional(pool).await)?)
    }

    pub async fn unused_recovery_codes(&self, user_id: UserId) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";
        let (n,): (i64,) = on_reader!(self, |pool| sqlx::query_as(SQL).bind(user_id).fetch_one(pool).await)?;
        Ok(n)
    }

    pub async fn challenge(&self, token_hash: &[u8]) -> Result<Option<ChallengeRow>, StoreError> {
        const SQL: &str = "SELECT id, user_id, purpose, binding_hash, amr, expires_at, credentials_epoch,
            passkey_state FROM login_challenges WHERE token_hash = $1";
        Ok(on_reader!(self, |pool| sqlx::query_as(SQL).bind(token_hash).fetch_optional(pool).await)?)
    }

    /// When the session last proved who it is (login or re-authentication).
    pub async fn session_auth_at(&self, session_id: i64) -> Result<Option<i64>, StoreError> {
        const SQL: &str = "SELECT auth_at FROM sessions WHERE id = $1";
        let row: Option<(i64,)> =
            on_reader!(self, |pool| sqlx::query_as(SQL).bind(session_id).fetch_optional(pool).await)?;
        Ok(row.map(|(at,)| at))
    }

    /// Drops expired challenges and enrolments never confirmed; how many.
    pub async fn delete_dead_challenges(&self, now: i64, pending_cutoff: i64) -> Result<u64, StoreError> {
        let challenges = on_writer!(self, |pool| sqlx::query("DELETE FROM login_challenges WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        let pending = on_writer!(self, |pool| sqlx::query(
            "DELETE FROM totp_factors WHERE enabled_at IS NULL AND created_at <= $1"
        )
        .bind(pending_cutoff)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(challenges + pending)
    }
}

impl Tx {
    pub async fn totp_of_user(&mut self, user_id: UserId) -> Result<Option<TotpRow>, StoreError> {
        const SQL: &str = "SELECT secret, enabled_at, last_step FROM totp_factors WHERE user_id = $1";
        Ok(in_tx!(self, |conn| sqlx::query_as(SQL).bind(user_id).fetch_optional(conn).await)?)
    }

    /// A new pending enrolment, replacing an earlier pending one; none while a factor is
    /// enabled (false then).
    pub async fn put_pending_totp(&mut self, user_id: UserId, secret: &[u8], now: i64) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO totp_factors (user_id, secret, enabled_at, last_step, created_at)
            VALUES ($1, $2, NULL, 0, $3)
            ON CONFLICT (user_id) DO UPDATE SET secret = $2, last_step = 0, created_at = $3
            WHERE totp_factors.enabled_at IS NULL";
        let n = in_tx!(self, |conn| sqlx::query(SQL)
            .bind(user_id)
            .bind(secret)
            .bind(now)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Accepts a code of time step `step`: a compare-and-set on the last accepted step,
    /// so of two requests presenting the same code (on any instance) exactly one wins.
    /// `enable` also turns a pending enrolment on. False: a replay, or no such factor.
    pub async fn accept_totp_step(
        &mut self,
        user_id: UserId,
        step: i64,
        enable: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = if enable {
            const SQL: &str = "UPDATE totp_factors SET last_step = $1, enabled_at = $3
                WHERE user_id = $2 AND last_step < $1 AND enabled_at IS NULL";
            in_tx!(self, |conn| sqlx::query(SQL)
                .bind(step)
                .bind(user_id)
                .bind(now)
                .execute(conn)
                .await
                .map(|r| r.rows_affected()))?
        } else {
            const SQL: &str = "UPDATE totp_factors SET last_step = $1
                WHERE user_id = $2 AND last_step < $1 AND enabled_at IS NOT NULL";
            in_tx!(self, |conn| sqlx::query(SQL)
                .bind(step)
                .bind(user_id)
                .execute(conn)
                .await
                .map(|r| r.rows_affected()))?
        };
        Ok(n == 1)
    }

    /// Every stored TOTP secret (sealed or not), by user.
    pub async fn all_totp_secrets(&mut self) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        Ok(in_tx!(self, |conn| sqlx::query_as("SELECT user_id, secret FROM totp_factors ORDER BY user_id")
            .fetch_all(conn)
            .await)?)
    }

    /// The stored TOTP secrets that do not start with `prefix` (the sealed ones do).
    pub async fn totp_secrets_without(&mut self, prefix: &[u8]) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        const SQL: &str = "SELECT user_id, secret FROM totp_factors WHERE substr(secret, 1, $2) <> $1 ORDER BY user_id";
        let len = prefix.len() as i32;
        Ok(in_tx!(self, |conn| sqlx::query_as(SQL).bind(prefix).bind(len).fetch_all(conn).await)?)
    }

    pub async fn set_totp_secret(&mut self, user_id: UserId, secret: &[u8]) -> Result<(), StoreError> {
        in_tx!(self, |conn| sqlx::query("UPDATE totp_factors SET secret = $1 WHERE user_id = $2")
            .bind(secret)
            .bind(user_id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Removes the user's TOTP factor and recovery codes; whether there was a factor.
    pub async fn delete_second_factors(&mut self, user_id: UserId) -> Result<bool, StoreError> {
        let n = in_tx!(self, |conn| sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
            .bind(user_id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        self.delete_recovery_codes(user_id).await?;
        Ok(n == 1)
    }

    pub async fn delete_recovery_codes(&mut self, user_id: UserId) -> Result<(), StoreError> {
        in_tx!(self, |conn| sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn insert_recovery_code(
        &mut self,
        user_id: UserId,
        code_hash: &[u8],
        now: i64,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)";
        in_tx!(self, |conn| sqlx::query(SQL)
            .bind(user_id)
            .bind(code_hash)
            .bind(now)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Spends one unused recovery code of the user; false if there is no such code.
    pub async fn spend_recovery_code(
        &mut self,
        user_id: UserId,
        code_hash: &[u8],
        now: i64,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE recovery_codes SET used_at = $1
            WHERE id = (SELECT id FROM recovery_codes WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL LIMIT 1)
            AND used_at IS NULL";
        let n = in_tx!(self, |conn| sqlx::query(SQL)
            .bind(now)
            .bind(user_id)
            .bind(code_hash)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn insert_challenge(&mut self, new: &NewChallenge<'_>) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO login_challenges
            (token_hash, user_id, purpose, binding_hash, amr, created_at, expires_at, passkey_state, credentials_epoch)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        in_tx!(self, |conn| sqlx::query(SQL)
            .bind(new.token_hash)
            .bind(new.user_id)
            .bind(new.purpose)
            .bind(new.binding_hash)
            .bind(new.amr)
            .bind(new.now)
            .bind(new.expires_at)
            .bind(new.passkey_state)
            .bind(new.credentials_epoch)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Deletes the challenge, as the login it finishes commits; false if another request
    /// spent it first.
    pub async fn spend_challenge(&mut self, id: i64) -> Result<bool, StoreError> {
        let n = in_tx!(self, |conn| sqlx::query("DELETE FROM login_challenges WHERE id = $1")
            .bind(id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Records a fresh proof of identity for the session (step-up).
    pub async fn set_session_auth_at(&mut self, session_id: i64, at: i64) -> Result<(), StoreError> {
        in_tx!(self, |conn| sqlx::query("UPDATE sessions SET auth_at = $1 WHERE id = $2")
            .bind(at)
            .bind(session_id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
