//! The example protected resource (API.md "Example protected resource"): anyone reads,
//! a logged-in caller writes as themself, only the author or an admin deletes.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{page_of, Ctx};
use crate::domain::{from_unix, rfc3339_seconds, User, UserId};
use crate::error::AppError;

pub const BODY_MAX_CHARS: usize = 10_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct Author {
    pub id: UserId,
    pub username: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Post {
    pub id: i64,
    pub body: String,
    pub author: Author,
    #[serde(with = "rfc3339_seconds")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

pub async fn list(ctx: &Ctx, before: Option<i64>, limit: i64) -> Result<(Vec<Post>, Option<i64>), AppError> {
    let rows = ctx.store.posts(before, limit + 1).await?;
    Ok(page_of(
        rows,
        limit,
        |r| Post {
            id: r.id,
            body: r.body,
            author: Author { id: r.author_id, username: r.author_username },
            created_at: from_unix(r.created_at),
        },
        |p| p.id,
    ))
}

pub async fn create(ctx: &Ctx, author: &User, body: Option<&str>) -> Result<Post, AppError> {
    let body = body.unwrap_or_default();
    let problem = if body.trim().is_empty() {
        Some("is required")
    } else if body.chars().count() > BODY_MAX_CHARS {
        Some("must be at most 10000 characters")
    } else if body.contains('\0') {
        Some("must not contain NUL characters")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(AppError::validation("body", problem));
    }
    let mut change = ctx.begin().await?;
    let now = change.now;
    let id = change.insert_post(author.id, body, now).await?;
    change.commit().await?;
    Ok(Post {
        id,
        body: body.to_string(),
        author: Author { id: author.id, username: author.username.clone() },
        created_at: from_unix(now),
    })
}

pub async fn delete(ctx: &Ctx, caller: &User, id: i64) -> Result<(), AppError> {
    let mut change = ctx.begin().await?;
    let author = change.post_author(id).await?.ok_or(AppError::NotFound)?;
    if author != caller.id && !caller.roles.is_admin() {
        return Err(AppError::Forbidden);
    }
    change.delete_post(id).await?;
    change.commit().await
}
