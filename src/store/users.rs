//! The `users` table.

use sqlx::FromRow;

use super::keyset::Order;
use super::{in_tx, on_reader, Store, StoreError, Tx};
use crate::domain::{from_unix, Roles, User, UserId};

macro_rules! user_columns {
    () => {
        "id, username, email, email_verified, password_hash, roles, created_at, credentials_epoch"
    };
}
const USER_COLUMNS: &str = user_columns!();
pub(super) const USER_BY_ID: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
pub(super) const USER_BY_LOGIN: &str =
    concat!("SELECT ", user_columns!(), " FROM users WHERE username_key = $1 OR email_key = $1");

#[derive(FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub password_hash: String,
    pub roles: String,
    pub created_at: i64,
    /// Moved forward by every change that ends what the old credentials could do.
    pub credentials_epoch: i64,
}

/// The password hash never shows in logs or panics.
impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password_hash", &"****")
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl UserRow {
    pub fn into_user(self) -> (User, String) {
        let user = User {
            id: self.id,
            username: self.username,
            email: self.email,
            email_verified: self.email_verified,
            roles: Roles::from_column(&self.roles),
            created_at: from_unix(self.created_at),
        };
        (user, self.password_hash)
    }
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub username_key: &'a str,
    pub email: Option<&'a str>,
    pub email_key: Option<&'a str>,
    pub password_hash: &'a str,
    pub roles: &'a str,
    pub now: i64,
}

impl Store {
    pub async fn user_by_id(&self, id: UserId) -> Result<Option<UserRow>, StoreError> {
        Ok(on_reader!(self, |pool| sqlx::query_as(USER_BY_ID).bind(id).fetch_optional(pool).await)?)
    }

    /// By username or email, both compared on their lower-cased keys. A username cannot
    /// contain `@` and an email must, so one value never matches two accounts.
    pub async fn user_by_login(&self, key: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(on_reader!(self, |pool| sqlx::query_as(USER_BY_LOGIN).bind(key).fetch_optional(pool).await)?)
    }

    /// Ordered by id, strictly after `after` when given.
    pub async fn users_page(&self, after: Option<i64>, limit: i64) -> Result<Vec<UserRow>, StoreError> {
        self.keyset_page(&format!("SELECT {USER_COLUMNS} FROM users"), "id", Order::Ascending, after, limit).await
    }

    /// The lexically greatest stored hash of each kind (by its first characters); for
    /// bcrypt and argon2 that is the one with the highest cost.
    pub async fn password_hash_samples(&self) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT MAX(password_hash) FROM users GROUP BY substr(password_hash, 1, 3)";
        let rows: Vec<(Option<String>,)> = on_reader!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?;
        Ok(rows.into_iter().filter_map(|(hash,)| hash).collect())
    }

    pub async fn user_by_username_key(&self, key: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username_key = $1");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(key).fetch_optional(pool).await)?)
    }
}

impl Tx {
    pub async fn insert_user(&mut self, new: &NewUser<'_>) -> Result<UserRow, StoreError> {
        let sql = format!(
            "INSERT INTO users (username, username_key, email, email_key, password_hash, roles, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {USER_COLUMNS}"
        );
        Ok(in_tx!(self, |conn| sqlx::query_as(&sql)
            .bind(new.username)
            .bind(new.username_key)
            .bind(new.email)
            .bind(new.email_key)
            .bind(new.password_hash)
            .bind(new.roles)
            .bind(new.now)
            .fetch_one(conn)
            .await)?)
    }

    /// Sets a new password and moves the credentials epoch forward: logins checked
    /// against the old password mint nothing from now on.
    pub async fn update_password_hash(&mut self, id: UserId, hash: &str, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE users SET password_hash = $1, updated_at = $2,
            credentials_epoch = credentials_epoch + 1 WHERE id = $3";
        in_tx!(self, |conn| sqlx::query(SQL)
            .bind(hash)
            .bind(now)
            .bind(id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Replaces the hash only if it is still `old`: a concurrent password change wins.
    pub async fn upgrade_password_hash(&mut self, id: UserId, old: &str, new: &str) -> Result<(), StoreError> {
        in_tx!(self, |conn| sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
            .bind(new)
            .bind(id)
            .bind(old)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Moves the account's credentials epoch forward (a factor removed, sessions revoked
    /// by an admin), first in its transaction: on PostgreSQL this waits for a login that
    /// holds the row to commit, so what that login minted is then seen and ended.
    pub async fn bump_credentials(&mut self, id: UserId) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE users SET credentials_epoch = credentials_epoch + 1 WHERE id = $1";
        let n = in_tx!(self, |conn| sqlx::query(SQL).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Holds the account's row for the rest of the transaction if its credentials epoch
    /// is still `epoch`; false when it moved on or the account is gone. A login takes
    /// this before it mints anything: a change to the credentials then either committed
    /// first (and this is false) or waits for the login and ends what it minted.
    pub async fn hold_credentials(&mut self, id: UserId, epoch: i64) -> Result<bool, StoreError> {
        const SQL: &str =
            "UPDATE users SET credentials_epoch = credentials_epoch WHERE id = $1 AND credentials_epoch = $2";
        let n =
            in_tx!(self, |conn| sqlx::query(SQL).bind(id).bind(epoch).execute(conn).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// [`Store::user_by_login`], inside the transaction.
    pub async fn user_by_login(&mut self, key: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username_key = $1 OR email_key = $1");
        Ok(in_tx!(self, |conn| sqlx::query_as(&sql).bind(key).fetch_optional(conn).await)?)
    }

    pub async fn user_by_id(&mut self, id: UserId) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(in_tx!(self, |conn| sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)?)
    }

    pub async fn set_roles(&mut self, id: UserId, roles: &str, now: i64) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("UPDATE users SET roles = $1, updated_at = $2 WHERE id = $3 RETURNING {USER_COLUMNS}");
        Ok(in_tx!(self, |conn| sqlx::query_as(&sql).bind(roles).bind(now).bind(id).fetch_optional(conn).await)?)
    }

    pub async fn delete_user(&mut self, id: UserId) -> Result<bool, StoreError> {
        let done = in_tx!(self, |conn| sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    /// Ids of the users holding `admin`, read inside the transaction that changes roles.
    pub async fn admin_ids(&mut self) -> Result<Vec<UserId>, StoreError> {
        let rows: Vec<(i64, String)> =
            in_tx!(self, |conn| sqlx::query_as("SELECT id, roles FROM users WHERE roles LIKE '%admin%'")
                .fetch_all(conn)
                .await)?;
        Ok(rows.into_iter().filter(|(_, roles)| Roles::from_column(roles).is_admin()).map(|(id, _)| id).collect())
    }
}
