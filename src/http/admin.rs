//! API.md "Authorization and the admin API" (role `admin`).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminUser, Json, Page, PathId};
use super::AppState;
use crate::domain::{Role, Roles, User};
use crate::error::{AppError, ErrorBody};
use crate::service::audit::{self, AuditEvent};
use crate::service::{admin, Client};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(get_user, delete_user))
        .routes(routes!(set_user_roles))
        .routes(routes!(revoke_user_sessions))
        .routes(routes!(list_audit_events))
}

#[derive(Serialize, ToSchema)]
pub struct UsersResponse {
    users: Vec<User>,
    /// Cursor for the next page (`after`), or null.
    next: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditResponse {
    events: Vec<AuditEvent>,
    /// Cursor for the next page (`before`), or null.
    next: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct RolesRequest {
    /// The new roles; `user` is kept whether listed or not.
    #[schema(example = json!(["user", "admin"]), schema_with = role_names)]
    roles: Vec<String>,
}

/// `[a-z][a-z0-9_-]{0,31}` each (422 otherwise).
fn role_names() -> utoipa::openapi::Array {
    let name = utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(r"^[a-z][a-z0-9_-]{0,31}$"));
    utoipa::openapi::ArrayBuilder::new().items(name).build()
}

/// Users ordered by id, `limit` (1..=200, default 50) after the `after` id.
#[utoipa::path(get, path = "/api/users", tag = "admin", security(("session" = []), ("bearer" = [])),
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Page size, default 50"),
        ("after" = Option<i64>, Query, description = "Exclusive cursor: the `next` of the previous page")),
    responses((status = 200, body = UsersResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: AdminUser,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<UsersResponse>, AppError> {
    let page = Page::parse(query.as_deref(), "after", 50, 200)?;
    let (users, next) = admin::list_users(&state.ctx, page.cursor, page.limit).await?;
    Ok(axum::Json(UsersResponse { users, next }))
}

#[utoipa::path(get, path = "/api/users/{id}", tag = "admin", security(("session" = []), ("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    _admin: AdminUser,
    PathId(id): PathId,
) -> Result<axum::Json<User>, AppError> {
    Ok(axum::Json(admin::get_user(&state.ctx, id).await?))
}

/// Replaces the user's roles (`user` is always kept).
#[utoipa::path(put, path = "/api/users/{id}/roles", tag = "admin", security(("session" = []), ("bearer" = [])), params(("id" = i64, Path)),
    request_body = RolesRequest,
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "last_admin", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_user_roles(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    client: Client,
    PathId(id): PathId,
    Json(req): Json<RolesRequest>,
) -> Result<axum::Json<User>, AppError> {
    let roles =
        req.roles.iter().map(|r| Role::parse(r).map_err(|e| AppError::validation("roles", format!("{r:?} {e}"))));
    let roles = Roles::new(roles.collect::<Result<Vec<_>, _>>()?);
    Ok(axum::Json(admin::set_roles(&state.ctx, id, roles, Some(caller.user.id), &client).await?))
}

/// Ends all the user's sessions and revokes their refresh tokens.
#[utoipa::path(delete, path = "/api/users/{id}/sessions", tag = "admin", security(("session" = []), ("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_user_sessions(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    client: Client,
    PathId(id): PathId,
) -> Result<StatusCode, AppError> {
    admin::revoke_user(&state.ctx, id, Some(caller.user.id), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the user with their sessions, tokens, posts and avatar.
#[utoipa::path(delete, path = "/api/users/{id}", tag = "admin", security(("session" = []), ("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "last_admin", body = ErrorBody)))]
pub async fn delete_user(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    client: Client,
    PathId(id): PathId,
) -> Result<StatusCode, AppError> {
    admin::delete_user(&state.ctx, id, Some(caller.user.id), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log, newest first: `limit` (1..=200, default 100) before the `before` id.
#[utoipa::path(get, path = "/api/audit", tag = "admin", security(("session" = []), ("bearer" = [])),
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Page size, default 100"),
        ("before" = Option<i64>, Query, description = "Exclusive cursor: the `next` of the previous page")),
    responses((status = 200, body = AuditResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_audit_events(
    State(state): State<AppState>,
    _admin: AdminUser,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<AuditResponse>, AppError> {
    let page = Page::parse(query.as_deref(), "before", 100, 200)?;
    let (events, next) = audit::list(&state.ctx, page.cursor, page.limit).await?;
    Ok(axum::Json(AuditResponse { events, next }))
}
