//! The `email_tokens` table (single-use links sent by mail) and the `outbox` the mail
//! worker sends from.

use sqlx::FromRow;

use super::{in_tx, on_reader, on_writer, Db, Store, StoreError, Tx};
use crate::domain::UserId;

/// A live link: unused and not expired.
#[derive(Debug, FromRow)]
pub struct EmailTokenRow {
    pub id: i64,
    pub user_id: i64,
    pub email: Option<String>,
}

pub struct NewEmailToken<'a> {
    pub user_id: UserId,
    pub purpose: &'a str,
    pub token_hash: &'a [u8],
    pub email: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
}

/// A mail as the worker sends it.
#[derive(Debug, Clone, FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i64,
}

pub struct NewMail<'a> {
    pub recipient: &'a str,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: &'a str,
    pub now: i64,
}

/// A `forgot` request waiting for the worker.
#[derive(Debug, FromRow)]
pub struct ResetRequestRow {
    pub id: i64,
    pub login_key: String,
    pub ip: String,
    pub user_agent: Option<String>,
}

const OUTBOX_COLUMNS: &str = "id, recipient, subject, text_body, html_body, attempts";

impl Store {
    pub async fn live_email_token(
        &self,
        token_hash: &[u8],
        purpose: &str,
        now: i64,
    ) -> Result<Option<EmailTokenRow>, StoreError> {
        const SQL: &str = "SELECT id, user_id, email FROM email_tokens
            WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3";
        Ok(on_reader!(self, |pool| sqlx::query_as(SQL)
            .bind(token_hash)
            .bind(purpose)
            .bind(now)
            .fetch_optional(pool)
            .await)?)
    }

    /// Claims up to `limit` due mails for this worker until `lease_until`: a mail leased
    /// by a worker that died is due again once its lease has passed. On PostgreSQL,
    /// `SKIP LOCKED` lets instances claim side by side without waiting on each other;
    /// SQLite's single writer makes the statement atomic by itself.
    pub async fn claim_mails(&self, now: i64, lease_until: i64, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let lock = match self.db {
            Db::Postgres(_) => "FOR UPDATE SKIP LOCKED",
            Db::Sqlite { .. } => "",
        };
        let sql = format!(
            "UPDATE outbox SET leased_until = $1, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox
                 WHERE failed_at IS NULL AND next_attempt_at <= $2 AND (leased_until IS NULL OR leased_until <= $2)
                 ORDER BY next_attempt_at, id LIMIT $3 {lock})
             RETURNING {OUTBOX_COLUMNS}"
        );
        Ok(on_writer!(self, |pool| sqlx::query_as(&sql).bind(lease_until).bind(now).bind(limit).fetch_all(pool).await)?)
    }

    /// A sent mail leaves the outbox, and with it the link it carried.
    pub async fn delete_mail(&self, id: i64) -> Result<(), StoreError> {
        on_writer!(self, |pool| sqlx::query("DELETE FROM outbox WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A failed attempt: due again at `next_attempt_at`.
    pub async fn retry_mail(&self, id: i64, next_attempt_at: i64, error: &str) -> Result<(), StoreError> {
        on_writer!(self, |pool| sqlx::query(
            "UPDATE outbox SET leased_until = NULL, next_attempt_at = $1, last_error = $2 WHERE id = $3"
        )
        .bind(next_attempt_at)
        .bind(error)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The worker gave up: the row stays for the operator, without the link it carried.
    pub async fn give_up_mail(&self, id: i64, now: i64, error: &str) -> Result<(), StoreError> {
        on_writer!(self, |pool| sqlx::query(
            "UPDATE outbox SET leased_until = NULL, failed_at = $1, last_error = $2, text_body = '', html_body = ''
             WHERE id = $3"
        )
        .bind(now)
        .bind(error)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Mails waiting to be sent (not given up on).
    pub async fn count_queued_mails(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) =
            on_reader!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE failed_at IS NULL")
                .fetch_one(pool)
                .await)?;
        Ok(n)
    }

    pub async fn insert_reset_request(
        &self,
        login_key: &str,
        ip: &str,
        user_agent: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        on_writer!(self, |pool| sqlx::query(
            "INSERT INTO reset_requests (login_key, ip, user_agent, created_at) VALUES ($1, $2, $3, $4)"
        )
        .bind(login_key)
        .bind(ip)
        .bind(user_agent)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Forgets links that can no longer be used.
    pub async fn delete_dead_email_tokens(&self, now: i64) -> Result<u64, StoreError> {
        Ok(on_writer!(self, |pool| sqlx::query(
            "DELETE FROM email_tokens WHERE expires_at <= $1 OR used_at IS NOT NULL"
        )
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
    }
}

impl Tx {
    /// The oldest waiting `forgot` request, held by this transaction: on PostgreSQL
    /// other instances' workers skip it; SQLite's transactions run one at a time.
    pub async fn claim_reset_request(&mut self) -> Result<Option<ResetRequestRow>, StoreError> {
        let sql = match self.0 {
            super::TxInner::Postgres(_) => {
                "SELECT id, login_key, ip, user_agent FROM reset_requests ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
            }
            super::TxInner::Sqlite(_) => "SELECT id, login_key, ip, user_agent FROM reset_requests ORDER BY id LIMIT 1",
        };
        Ok(in_tx!(self, |conn| sqlx::query_as(sql).fetch_optional(conn).await)?)
    }

    pub async fn delete_reset_request(&mut self, id: i64) -> Result<(), StoreError> {
        in_tx!(self, |conn| sqlx::query("DELETE FROM reset_requests WHERE id = $1")
            .bind(id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Ends every live link of the user for `purpose`: a new link replaces the older ones.
    pub async fn expire_email_tokens(&mut self, user_id: UserId, purpose: &str, now: i64) -> Result<u64, StoreError> {
        Ok(in_tx!(self, |conn| sqlx::query(
            "UPDATE email_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL"
        )
        .bind(now)
        .bind(user_id)
        .bind(purpose)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?)
    }

    pub async fn insert_email_token(&mut self, new: &NewEmailToken<'_>) -> Result<(), StoreError> {
        in_tx!(self, |conn| sqlx::query(
            "INSERT INTO email_tokens (user_id, purpose, token_hash, email, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(new.user_id)
        .bind(new.purpose)
        .bind(new.token_hash)
        .bind(new.email)
        .bind(new.now)
        .bind(new.expires_at)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Uses the link if it is still live; `None` when it is unknown, used or expired. Of
    /// two requests racing with one link, exactly one gets it.
    pub async fn use_email_token(
        &mut self,
        token_hash: &[u8],
        purpose: &str,
        now: i64,
    ) -> Result<Option<EmailTokenRow>, StoreError> {
        const SQL: &str = "UPDATE email_tokens SET used_at = $1
            WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
            RETURNING id, user_id, email";
        Ok(in_tx!(self, |conn| sqlx::query_as(SQL)
            .bind(now)
            .bind(token_hash)
            .bind(purpose)
            .fetch_optional(conn)
            .await)?)
    }

    pub async fn enqueue_mail(&mut self, mail: &NewMail<'_>) -> Result<(), StoreError> {
        in_tx!(self, |conn| sqlx::query(
            "INSERT INTO outbox (recipient, subject, text_body, html_body, created_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $5)"
        )
        .bind(mail.recipient)
        .bind(mail.subject)
        .bind(mail.text_body)
        .bind(mail.html_body)
        .bind(mail.now)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Marks the user's current address verified, if it is still `email`.
    pub async fn set_email_verified(&mut self, user_id: UserId, email_key: &str, now: i64) -> Result<bool, StoreError> {
        let n = in_tx!(self, |conn| sqlx::query(
            "UPDATE users SET email_verified = TRUE, updated_at = $1 WHERE id = $2 AND email_key = $3"
        )
        .bind(now)
        .bind(user_id)
        .bind(email_key)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Makes `email` the user's (verified) address.
    pub async fn replace_email(
        &mut self,
        user_id: UserId,
        email: &str,
        email_key: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = in_tx!(self, |conn| sqlx::query(
            "UPDATE users SET email = $1, email_key = $2, email_verified = TRUE, updated_at = $3 WHERE id = $4"
        )
        .bind(email)
        .bind(email_key)
        .bind(now)
        .bind(user_id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}
