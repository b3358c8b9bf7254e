//! The `posts` table: the example protected resource.

use sqlx::FromRow;

use super::{in_tx, Order, Store, StoreError, Tx};
use crate::domain::UserId;

#[derive(Debug, FromRow)]
pub struct PostRow {
    pub id: i64,
    pub body: String,
    pub author_id: i64,
    pub author_username: String,
    pub created_at: i64,
}

const POST_COLUMNS: &str = "p.id, p.body, p.author_id, u.username AS author_username, p.created_at";

impl Store {
    /// Newest first, strictly before `before` when given.
    pub async fn posts(&self, before: Option<i64>, limit: i64) -> Result<Vec<PostRow>, StoreError> {
        let select = format!("SELECT {POST_COLUMNS} FROM posts p JOIN users u ON u.id = p.author_id");
        self.keyset_page(&select, "p.id", Order::Descending, before, limit).await
    }
}

impl Tx {
    pub async fn insert_post(&mut self, author_id: UserId, body: &str, now: i64) -> Result<i64, StoreError> {
        let (id,): (i64,) = in_tx!(self, |conn| sqlx::query_as(
            "INSERT INTO posts (author_id, body, created_at) VALUES ($1, $2, $3) RETURNING id"
        )
        .bind(author_id)
        .bind(body)
        .bind(now)
        .fetch_one(conn)
        .await)?;
        Ok(id)
    }

    pub async fn post_author(&mut self, id: i64) -> Result<Option<UserId>, StoreError> {
        let row: Option<(i64,)> = in_tx!(self, |conn| sqlx::query_as("SELECT author_id FROM posts WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await)?;
        Ok(row.map(|(author,)| author))
    }

    pub async fn delete_post(&mut self, id: i64) -> Result<(), StoreError> {
        in_tx!(self, |conn| sqlx::query("DELETE FROM posts WHERE id = $1")
            .bind(id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
