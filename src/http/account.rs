//! API.md "Account": password change, the caller's own sessions, avatars.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::cookies::with_cookies;
use super::extract::{CurrentUser, Json, PathId};
use super::AppState;
use crate::error::{AppError, ErrorBody};
use crate::service::sessions::SessionInfo;
use crate::service::{accounts, avatars, sessions, tokens, Client};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(change_password))
        .routes(routes!(list_my_sessions, delete_my_other_sessions))
        .routes(routes!(delete_my_session))
        .routes(routes!(delete_my_token_login))
        .routes(routes!(put_my_avatar).layer(DefaultBodyLimit::max(avatars::MAX_BYTES)))
        .routes(routes!(get_avatar))
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    /// The password in use now (401 `invalid_credentials` when wrong).
    #[schema(value_type = String, required = true, min_length = 1)]
    current_password: Option<String>,
    /// The same rules as at signup: 8 to 256 characters, no NUL, not a common password.
    #[schema(value_type = String, required = true, min_length = 8, max_length = 256, pattern = r"^[^\x00]*$")]
    new_password: Option<String>,
}

/// Changes the password; every other session and all refresh tokens are revoked.
#[utoipa::path(put, path = "/api/me/password", tag = "account", request_body = ChangePasswordRequest,
    security(("session" = []), ("bearer" = [])),
    responses((status = 204, description = "Changed; the current session stays"),
        (status = 401, description = "unauthorized, or invalid_credentials for a wrong current password", body = ErrorBody),
        (status = 403, description = "reauthentication_required: no login or re-authentication within security.step_up_window; or csrf_rejected", body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    Json(req): Json<ChangePasswordRequest>,
) -> Result<StatusCode, AppError> {
    accounts::change_password(
        &state.ctx,
        &caller.user,
        &caller.proof,
        caller.session_id,
        req.current_password.as_deref(),
        req.new_password.as_deref(),
        &client,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's live cookie sessions and token logins, newest first in each kind.
#[utoipa::path(get, path = "/api/me/sessions", tag = "account", security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = ErrorBody)))]
pub async fn list_my_sessions(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<axum::Json<Vec<SessionInfo>>, AppError> {
    Ok(axum::Json(sessions::list(&state.ctx, caller.user.id, caller.current()).await?))
}

/// Ends one of the caller's sessions (the current one too: that is a logout).
#[utoipa::path(delete, path = "/api/me/sessions/{id}", tag = "account", security(("session" = []), ("bearer" = [])),
    params(("id" = i64, Path, description = "Session id from GET /api/me/sessions")),
    responses((status = 204, description = "Ended"), (status = 401, body = ErrorBody), (status = 404, description = "Not one of yours", body = ErrorBody)))]
pub async fn delete_my_session(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    PathId(id): PathId,
) -> Result<Response, AppError> {
    sessions::revoke_own(&state.ctx, caller.user.id, id, &client).await?;
    if caller.session_id == Some(id) {
        return Ok(with_cookies(StatusCode::NO_CONTENT, [state.cookie.clear()]));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Ends one of the caller's token logins (`kind: "token"` in the list): its refresh
/// token stops working; access tokens already issued run until they expire.
#[utoipa::path(delete, path = "/api/me/token-logins/{id}", tag = "account", security(("session" = []), ("bearer" = [])),
    params(("id" = i64, Path, description = "Token login id from GET /api/me/sessions")),
    responses((status = 204, description = "Ended"), (status = 401, body = ErrorBody), (status = 404, description = "Not one of yours, or over already", body = ErrorBody)))]
pub async fn delete_my_token_login(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    PathId(id): PathId,
) -> Result<StatusCode, AppError> {
    tokens::revoke_own(&state.ctx, caller.user.id, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session and token login of the caller but the one this request is made
/// with.
#[utoipa::path(delete, path = "/api/me/sessions", tag = "account", security(("session" = []), ("bearer" = [])),
    responses((status = 204, description = "All other sessions and token logins ended"), (status = 401, body = ErrorBody)))]
pub async fn delete_my_other_sessions(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
) -> Result<StatusCode, AppError> {
    sessions::revoke_others(&state.ctx, caller.user.id, caller.current(), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stores the caller's avatar: the raw image as the body, with its Content-Type.
#[utoipa::path(put, path = "/api/me/avatar", tag = "account", security(("session" = []), ("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "image/png", description = "PNG, JPEG or GIF, at most 5 MiB"),
    responses((status = 204, description = "Stored"), (status = 400, description = "The body could not be read", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, description = "Not PNG, JPEG or GIF, or the bytes are not the declared type", body = ErrorBody)))]
pub async fn put_my_avatar(
    State(state): State<AppState>,
    caller: CurrentUser,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, AppError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge { limit: "5 MiB" },
        _ => AppError::BadRequest("The request body could not be read".into()),
    })?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    avatars::put(&state.ctx, caller.user.id, content_type, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's avatar: the exact bytes uploaded, with their type. Public.
#[utoipa::path(get, path = "/api/users/{id}/avatar", tag = "account", params(("id" = i64, Path)),
    responses((status = 200, description = "The image", content_type = "image/png"), (status = 404, body = ErrorBody)))]
pub async fn get_avatar(State(state): State<AppState>, PathId(id): PathId) -> Result<Response, AppError> {
    let (content_type, bytes) = avatars::get(&state.ctx, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache".to_string()),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'".to_string()),
        ],
        bytes,
    )
        .into_response())
}
