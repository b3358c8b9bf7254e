//! latchkey as an OpenID Provider: the `oauth_clients`, `oauth_client_origins`,
//! `oauth_requests`, `oauth_codes` and `oauth_grants` tables, and the apps' logins in
//! `refresh_families`.

use sqlx::FromRow;

use super::{in_tx, on_reader, on_writer, Store, StoreError, Tx};
use crate::domain::UserId;

#[derive(Debug, Clone, FromRow)]
pub struct ClientRow {
    pub client_id: String,
    pub name: String,
    pub secret_hash: Option<Vec<u8>>,
    pub settings: String,
    pub created_at: i64,
}

pub struct NewClient<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    pub secret_hash: Option<&'a [u8]>,
    pub settings: &'a str,
    pub origins: &'a [String],
    pub now: i64,
}

#[derive(Debug, FromRow)]
pub struct RequestRow {
    pub client_id: String,
    pub params: String,
    pub created_at: i64,
}

#[derive(Debug, FromRow)]
pub struct CodeRow {
    pub client_id: String,
    pub user_id: i64,
    pub grant_data: String,
    pub expires_at: i64,
}

pub struct NewCode<'a> {
    pub code_hash: &'a [u8],
    pub client_id: &'a str,
    pub user_id: UserId,
    pub grant_data: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

#[derive(Debug, FromRow)]
pub struct GrantRow {
    pub id: i64,
    pub client_id: String,
    pub client_name: String,
    pub scope: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An app's login: a refresh-token family that belongs to a client.
pub struct NewAppLogin<'a> {
    pub user_id: UserId,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub session_id: Option<i64>,
    pub offline: bool,
    pub auth_at: i64,
    pub amr: &'a str,
    pub ip: &'a str,
    pub user_agent: Option<&'a str>,
    pub now: i64,
}

const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, settings, created_at";

impl Store {
    pub async fn oauth_client(&self, client_id: &str) -> Result<Option<ClientRow>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = $1");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(client_id).fetch_optional(pool).await)?)
    }

    pub async fn oauth_clients(&self) -> Result<Vec<ClientRow>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients ORDER BY id");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?)
    }

    pub async fn has_oauth_clients(&self) -> Result<bool, StoreError> {
        let row: Option<(i64,)> =
            on_reader!(self, |pool| sqlx::query_as("SELECT id FROM oauth_clients LIMIT 1").fetch_optional(pool).await)?;
        Ok(row.is_some())
    }

    /// Whether `origin` is the origin of a redirect URI of some client.
    pub async fn is_client_origin(&self, origin: &str) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT client_id FROM oauth_client_origins WHERE origin = $1 LIMIT 1";
        let row: Option<(String,)> =
            on_reader!(self, |pool| sqlx::query_as(SQL).bind(origin).fetch_optional(pool).await)?;
        Ok(row.is_some())
    }

    pub async fn insert_oauth_request(
        &self,
        id_hash: &[u8],
        client_id: &str,
        params: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "INSERT INTO oauth_requests (id_hash, client_id, params, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
        on_writer!(self, |pool| sqlx::query(SQL)
            .bind(id_hash)
            .bind(client_id)
            .bind(params)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn oauth_request(&self, id_hash: &[u8], now: i64) -> Result<Option<RequestRow>, StoreError> {
        const SQL: &str =
            "SELECT client_id, params, created_at FROM oauth_requests WHERE id_hash = $1 AND expires_at > $2";
        Ok(on_reader!(self, |pool| sqlx::query_as(SQL).bind(id_hash).bind(now).fetch_optional(pool).await)?)
    }

    /// The user's consents, with the apps' names.
    pub async fn grants_of_user(&self, user_id: UserId) -> Result<Vec<GrantRow>, StoreError> {
        const SQL: &str = "SELECT g.id, g.client_id, c.name AS client_name, g.scope, g.created_at, g.updated_at
            FROM oauth_grants g JOIN oauth_clients c ON c.client_id = g.client_id
            WHERE g.user_id = $1 ORDER BY g.id";
        Ok(on_reader!(self, |pool| sqlx::query_as(SQL).bind(user_id).fetch_all(pool).await)?)
    }

    /// The scopes the user allowed the client, if any.
    pub async fn granted_scope(&self, user_id: UserId, client_id: &str) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT scope FROM oauth_grants WHERE user_id = $1 AND client_id = $2";
        let row: Option<(String,)> =
            on_reader!(self, |pool| sqlx::query_as(SQL).bind(user_id).bind(client_id).fetch_optional(pool).await)?;
        Ok(row.map(|(s,)| s))
    }

    /// Whether the app login (refresh-token family) an access token belongs to is live.
    pub async fn app_login_live(&self, family_id: i64) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT id FROM refresh_families WHERE id = $1 AND revoked_at IS NULL";
        let row: Option<(i64,)> =
            on_reader!(self, |pool| sqlx::query_as(SQL).bind(family_id).fetch_optional(pool).await)?;
        Ok(row.is_some())
    }

    /// When a browser session's login (or its last re-authentication) happened, and how
    /// it authenticated.
    pub async fn session_login(&self, session_id: i64) -> Result<Option<(i64, String)>, StoreError> {
        const SQL: &str = "SELECT auth_at, amr FROM sessions WHERE id = $1";
        Ok(on_reader!(self, |pool| sqlx::query_as(SQL).bind(session_id).fetch_optional(pool).await)?)
    }

    /// Drops authorization requests and codes past their time.
    pub async fn delete_dead_oauth_rows(&self, now: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let mut n = 0;
        for sql in
            ["DELETE FROM oauth_requests WHERE expires_at <= $1", "DELETE FROM oauth_codes WHERE expires_at <= $1"]
        {
            n += in_tx!(tx, |conn| sqlx::query(sql).bind(now).execute(conn).await.map(|r| r.rows_affected()))?;
        }
        tx.commit().await?;
        Ok(n)
    }
}

impl Tx {
    /// Holds a browser session until the transaction ends (its logout waits); false if
    /// it has ended.
    pub async fn hold_session(&mut self, session_id: i64) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE sessions SET auth_at = auth_at WHERE id = $1";
        let n = in_tx!(self, |conn| sqlx::query(SQL).bind(session_id).execute(conn).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn insert_oauth_client(&mut self, new: &NewClient<'_>) -> Result<(), StoreError> {
        const SQL: &str =
            "INSERT INTO oauth_clients (client_id, name, secret_hash, settings, created_at) VALUES ($1, $2, $3, $4, $5)";
        in_tx!(self, |conn| sqlx::query(SQL)
            .bind(new.client_id)
            .bind(new.name)
            .bind(new.secret_hash)
            .bind(new.settings)
            .bind(new.now)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        for origin in new.origins {
            const ORIGIN: &str = "INSERT INTO oauth_client_origins (origin, client_id) VALUES ($1, $2)";
            in_tx!(self, |conn| sqlx::query(ORIGIN)
                .bind(origin)
                .bind(new.client_id)
                .execute(conn)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(())
    }

    /// Deletes the client; its origins, requests, codes, consents and logins go with it.
    pub async fn delete_oauth_client(&mut self, client_id: &str) -> Result<bool, StoreError> {
        let n = in_tx!(self, |conn| sqlx::query("DELETE FROM oauth_clients WHERE client_id = $1")
            .bind(client_id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// A new secret for a confidential client; false if there is no such client.
    pub async fn set_client_secret(&mut self, client_id: &str, secret_hash: &[u8]) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE oauth_clients SET secret_hash = $1 WHERE client_id = $2 AND secret_hash IS NOT NULL";
        let n = in_tx!(self, |conn| sqlx::query(SQL)
            .bind(secret_hash)
            .bind(client_id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Takes a waiting authorization request, once.
    pub async fn take_oauth_request(&mut self, id_hash: &[u8], now: i64) -> Result<Option<RequestRow>, StoreError> {
        const SQL: &str = "DELETE FROM oauth_requests WHERE id_hash = $1 AND expires_at > $2
            RETURNING client_id, params, created_at";
        Ok(in_tx!(self, |conn| sqlx::query_as(SQL).bind(id_hash).bind(now).fetch_optional(conn).await)?)
    }

    pub async fn insert_oauth_code(&mut self, new: &NewCode<'_>) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO oauth_codes (code_hash, client_id, user_id, grant_data, created_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6)";
        in_tx!(self, |conn| sqlx::query(SQL)
            .bind(new.code_hash)
            .bind(new.client_id)
            .bind(new.user_id)
            .bind(new.grant_data)
            .bind(new.now)
            .bind(new.expires_at)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Spends a code, once: of racing exchanges (on any instance) exactly one gets it.
    pub async fn spend_oauth_code(&mut self, code_hash: &[u8], now: i64) -> Result<Option<CodeRow>, StoreError> {
        const SQL: &str = "UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL
            RETURNING client_id, user_id, grant_data, expires_at";
        Ok(in_tx!(self, |conn| sqlx::query_as(SQL).bind(now).bind(code_hash).fetch_optional(conn).await)?)
    }

    /// The login a spent code started, when the code exists: `Some(None)` for a code
    /// spent by an exchange that failed.
    pub async fn spent_code_login(&mut self, code_hash: &[u8]) -> Result<Option<Option<i64>>, StoreError> {
        const SQL: &str = "SELECT family_id FROM oauth_codes WHERE code_hash = $1";
        let row: Option<(Option<i64>,)> =
            in_tx!(self, |conn| sqlx::query_as(SQL).bind(code_hash).fetch_optional(conn).await)?;
        Ok(row.map(|(f,)| f))
    }

    pub async fn set_code_login(&mut self, code_hash: &[u8], family_id: i64) -> Result<(), StoreError> {
        in_tx!(self, |conn| sqlx::query("UPDATE oauth_codes SET family_id = $1 WHERE code_hash = $2")
            .bind(family_id)
            .bind(code_hash)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Remembers that the user allowed the client `scope` (replacing what was allowed).
    pub async fn upsert_grant(
        &mut self,
        user_id: UserId,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO oauth_grants (user_id, client_id, scope, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $4)
            ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at";
        in_tx!(self, |conn| sqlx::query(SQL)
            .bind(user_id)
            .bind(client_id)
            .bind(scope)
            .bind(now)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Forgets one of the user's consents; the client it was for, if it existed.
    pub async fn delete_grant(&mut self, user_id: UserId, id: i64) -> Result<Option<String>, StoreError> {
        const SQL: &str = "DELETE FROM oauth_grants WHERE id = $1 AND user_id = $2 RETURNING client_id";
        let row: Option<(String,)> =
            in_tx!(self, |conn| sqlx::query_as(SQL).bind(id).bind(user_id).fetch_optional(conn).await)?;
        Ok(row.map(|(c,)| c))
    }

    pub async fn insert_app_login(&mut self, new: &NewAppLogin<'_>) -> Result<i64, StoreError> {
        const SQL: &str =
            "INSERT INTO refresh_families (user_id, created_at, auth_at, amr, last_used_at, ip, user_agent,
                client_id, scope, session_id, offline)
            VALUES ($1, $2, $3, $4, $2, $5, $6, $7, $8, $9, $10) RETURNING id";
        let (id,): (i64,) = in_tx!(self, |conn| sqlx::query_as(SQL)
            .bind(new.user_id)
            .bind(new.now)
            .bind(new.auth_at)
            .bind(new.amr)
            .bind(new.ip)
            .bind(new.user_agent)
            .bind(new.client_id)
            .bind(new.scope)
            .bind(new.session_id)
            .bind(new.offline)
            .fetch_one(conn)
            .await)?;
        Ok(id)
    }

    /// Ends the user's logins at the client.
    pub async fn revoke_app_logins(&mut self, user_id: UserId, client_id: &str, now: i64) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE refresh_families SET revoked_at = $1
            WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL";
        Ok(in_tx!(self, |conn| sqlx::query(SQL)
            .bind(now)
            .bind(user_id)
            .bind(client_id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?)
    }

    /// Ends the app logins that came from browser sessions of the user other than `keep`
    /// (or from the one session `only`), unless they were granted `offline_access`.
    pub async fn revoke_app_logins_of_sessions(
        &mut self,
        user_id: UserId,
        only: Option<i64>,
        keep: Option<i64>,
        now: i64,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE refresh_families SET revoked_at = $1
            WHERE user_id = $2 AND client_id IS NOT NULL AND NOT offline AND revoked_at IS NULL
              AND session_id IS NOT NULL AND ($3 = 0 OR session_id = $3) AND session_id <> $4";
        Ok(in_tx!(self, |conn| sqlx::query(SQL)
            .bind(now)
            .bind(user_id)
            .bind(only.unwrap_or(0))
            .bind(keep.unwrap_or(0))
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
