//! The `avatars` table: one image per user, kept byte for byte.

use super::{in_tx, on_reader, Store, StoreError, Tx};
use crate::domain::UserId;

impl Store {
    /// `(content type, bytes)` of the user's avatar.
    pub async fn avatar(&self, user_id: UserId) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        Ok(on_reader!(self, |pool| sqlx::query_as("SELECT content_type, data FROM avatars WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(pool)
            .await)?)
    }
}

impl Tx {
    pub async fn put_avatar(
        &mut self,
        user_id: UserId,
        content_type: &str,
        data: &[u8],
        now: i64,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO avatars (user_id, content_type, data, updated_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (user_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data,
            updated_at = excluded.updated_at";
        in_tx!(self, |conn| sqlx::query(SQL)
            .bind(user_id)
            .bind(content_type)
            .bind(data)
            .bind(now)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
