//! API.md "Example protected resource": posts.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{CurrentUser, Json, Page, PathId};
use super::AppState;
use crate::error::{AppError, ErrorBody};
use crate::service::posts::{self, Post};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_posts, create_post)).routes(routes!(delete_post))
}

#[derive(Serialize, ToSchema)]
pub struct PostsResponse {
    posts: Vec<Post>,
    /// Cursor for the next page (`before`), or null.
    next: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewPostRequest {
    /// 1 to 10000 characters, not only whitespace, no NUL.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 10000, pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00]*$")]
    body: Option<String>,
}

/// Posts, newest first: `limit` (1..=200, default 50) before the `before` id. Public.
#[utoipa::path(get, path = "/api/posts", tag = "posts", params(("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Page size, default 50"),
        ("before" = Option<i64>, Query, description = "Exclusive cursor: the `next` of the previous page")),
    responses((status = 200, body = PostsResponse), (status = 400, body = ErrorBody)))]
pub async fn list_posts(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<PostsResponse>, AppError> {
    let page = Page::parse(query.as_deref(), "before", 50, 200)?;
    let (posts, next) = posts::list(&state.ctx, page.cursor, page.limit).await?;
    Ok(axum::Json(PostsResponse { posts, next }))
}

/// Writes a post as the caller.
#[utoipa::path(post, path = "/api/posts", tag = "posts", security(("session" = []), ("bearer" = [])), request_body = NewPostRequest,
    responses((status = 201, body = Post), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_post(
    State(state): State<AppState>,
    caller: CurrentUser,
    Json(req): Json<NewPostRequest>,
) -> Result<(StatusCode, axum::Json<Post>), AppError> {
    let post = posts::create(&state.ctx, &caller.user, req.body.as_deref()).await?;
    Ok((StatusCode::CREATED, axum::Json(post)))
}

/// Deletes a post: its author or an admin.
#[utoipa::path(delete, path = "/api/posts/{id}", tag = "posts", security(("session" = []), ("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_post(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathId(id): PathId,
) -> Result<StatusCode, AppError> {
    posts::delete(&state.ctx, &caller.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
