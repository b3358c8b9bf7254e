//! Federation: the `federated_identities` and `federation_flows` tables.

use sqlx::FromRow;

use super::users::UserRow;
use super::{in_tx, on_reader, on_writer, Store, StoreError, Tx};
use crate::domain::UserId;

#[derive(Debug, Clone, FromRow)]
pub struct IdentityRow {
    pub id: i64,
    pub user_id: i64,
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub struct NewIdentity<'a> {
    pub user_id: UserId,
    pub provider: &'a str,
    pub issuer: &'a str,
    pub subject: &'a str,
    pub email: Option<&'a str>,
    pub email_verified: bool,
    pub now: i64,
}

#[derive(Debug, FromRow)]
pub struct FlowRow {
    pub id: i64,
    pub provider: String,
    pub intent: String,
    pub user_id: Option<i64>,
    pub pkce_verifier: String,
    pub nonce_hash: Vec<u8>,
    pub return_to: String,
    pub result: Option<String>,
    pub created_at: i64,
}

pub struct NewFlow<'a> {
    pub state_hash: &'a [u8],
    pub binding_hash: &'a [u8],
    pub provider: &'a str,
    pub intent: &'a str,
    pub user_id: Option<UserId>,
    pub pkce_verifier: &'a str,
    pub nonce_hash: &'a [u8],
    pub return_to: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

#[derive(FromRow)]
struct AccountByIdentity {
    identity_id: i64,
    #[sqlx(flatten)]
    user: UserRow,
}

const USER_COLUMNS_OF_U: &str =
    "u.id, u.username, u.email, u.email_verified, u.password_hash, u.roles, u.created_at, u.credentials_epoch";

const IDENTITY_COLUMNS: &str =
    "id, user_id, provider, issuer, subject, email, email_verified, created_at, last_used_at";
const FLOW_COLUMNS: &str = "id, provider, intent, user_id, pkce_verifier, nonce_hash, return_to, result, created_at";

impl Store {
    pub async fn identity_by_subject(&self, issuer: &str, subject: &str) -> Result<Option<IdentityRow>, StoreError> {
        let sql = format!("SELECT {IDENTITY_COLUMNS} FROM federated_identities WHERE issuer = $1 AND subject = $2");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(issuer).bind(subject).fetch_optional(pool).await)?)
    }

    /// The account an identity belongs to, read in one statement with the identity: its
    /// credentials epoch is the one the identity was found under, so a login through an
    /// identity that is being removed mints nothing.
    pub async fn account_by_identity(&self, issuer: &str, subject: &str) -> Result<Option<(i64, UserRow)>, StoreError> {
        let sql = format!(
            "SELECT i.id AS identity_id, {} FROM federated_identities i JOIN users u ON u.id = i.user_id
             WHERE i.issuer = $1 AND i.subject = $2",
            USER_COLUMNS_OF_U
        );
        let row: Option<AccountByIdentity> =
            on_reader!(self, |pool| sqlx::query_as(&sql).bind(issuer).bind(subject).fetch_optional(pool).await)?;
        Ok(row.map(|r| (r.identity_id, r.user)))
    }

    pub async fn identities_of_user(&self, user_id: UserId) -> Result<Vec<IdentityRow>, StoreError> {
        let sql = format!("SELECT {IDENTITY_COLUMNS} FROM federated_identities WHERE user_id = $1 ORDER BY id");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(user_id).fetch_all(pool).await)?)
    }

    pub async fn insert_flow(&self, new: &NewFlow<'_>) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO federation_flows (state_hash, binding_hash, provider, intent, user_id,
            pkce_verifier, nonce_hash, return_to, status, created_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'started', $9, $10)";
        on_writer!(self, |pool| sqlx::query(SQL)
            .bind(new.state_hash)
            .bind(new.binding_hash)
            .bind(new.provider)
            .bind(new.intent)
            .bind(new.user_id)
            .bind(new.pkce_verifier)
            .bind(new.nonce_hash)
            .bind(new.return_to)
            .bind(new.now)
            .bind(new.expires_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Takes a started flow back from its provider, once: its state, the browser that
    /// started it (the binding) and the provider whose callback it came to must all
    /// match. A request that does not match leaves the flow to its owner.
    pub async fn take_started_flow(
        &self,
        state_hash: &[u8],
        binding_hash: &[u8],
        provider: &str,
        now: i64,
    ) -> Result<Option<FlowRow>, StoreError> {
        let sql = format!(
            "UPDATE federation_flows SET status = 'returned' WHERE state_hash = $1 AND binding_hash = $2
             AND provider = $3 AND status = 'started' AND expires_at > $4 RETURNING {FLOW_COLUMNS}"
        );
        Ok(on_writer!(self, |pool| sqlx::query_as(&sql)
            .bind(state_hash)
            .bind(binding_hash)
            .bind(provider)
            .bind(now)
            .fetch_optional(pool)
            .await)?)
    }

    /// Records what the provider's answer came to.
    pub async fn finish_flow(&self, id: i64, result: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE federation_flows SET status = 'done', result = $1 WHERE id = $2";
        on_writer!(self, |pool| sqlx::query(SQL).bind(result).bind(id).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Takes the outcome of the browser's flow out, once, on whichever instance.
    pub async fn take_finished_flow(&self, binding_hash: &[u8], now: i64) -> Result<Option<FlowRow>, StoreError> {
        let sql = format!(
            "DELETE FROM federation_flows WHERE binding_hash = $1 AND status = 'done' AND expires_at > $2
             RETURNING {FLOW_COLUMNS}"
        );
        Ok(on_writer!(self, |pool| sqlx::query_as(&sql).bind(binding_hash).bind(now).fetch_optional(pool).await)?)
    }

    /// Drops flows nobody finished in time; how many.
    pub async fn delete_dead_flows(&self, now: i64) -> Result<u64, StoreError> {
        Ok(on_writer!(self, |pool| sqlx::query("DELETE FROM federation_flows WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?)
    }
}

impl Tx {
    /// `Conflict(Identity)` when an account has the identity already.
    pub async fn insert_identity(&mut self, new: &NewIdentity<'_>) -> Result<IdentityRow, StoreError> {
        let sql = format!(
            "INSERT INTO federated_identities
             (user_id, provider, issuer, subject, email, email_verified, created_at, last_used_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {IDENTITY_COLUMNS}"
        );
        Ok(in_tx!(self, |conn| sqlx::query_as(&sql)
            .bind(new.user_id)
            .bind(new.provider)
            .bind(new.issuer)
            .bind(new.subject)
            .bind(new.email)
            .bind(new.email_verified)
            .bind(new.now)
            .fetch_one(conn)
            .await)?)
    }

    /// Records a login with the identity and what the provider said about its address.
    pub async fn identity_used(
        &mut self,
        id: i64,
        email: Option<&str>,
        email_verified: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "UPDATE federated_identities SET email = $1, email_verified = $2, last_used_at = $3 WHERE id = $4";
        in_tx!(self, |conn| sqlx::query(SQL)
            .bind(email)
            .bind(email_verified)
            .bind(now)
            .bind(id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn count_identities(&mut self, user_id: UserId) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM federated_identities WHERE user_id = $1";
        let (n,): (i64,) = in_tx!(self, |conn| sqlx::query_as(SQL).bind(user_id).fetch_one(conn).await)?;
        Ok(n)
    }

    /// The removed identity, when the user had one of that id.
    pub async fn delete_identity(&mut self, user_id: UserId, id: i64) -> Result<Option<IdentityRow>, StoreError> {
        let sql =
            format!("DELETE FROM federated_identities WHERE id = $1 AND user_id = $2 RETURNING {IDENTITY_COLUMNS}");
        Ok(in_tx!(self, |conn| sqlx::query_as(&sql).bind(id).bind(user_id).fetch_optional(conn).await)?)
    }
}
