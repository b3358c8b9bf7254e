//! API.md "Account": password change and the caller's own sessions.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::Router;
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::{CurrentUser, Json};
use crate::app::AppState;
use crate::error::{AppError, ErrorBody};
use crate::service::sessions::SessionInfo;
use crate::service::{accounts, sessions, Client};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/me/password", put(change_password))
        .route("/api/me/sessions", get(list_my_sessions).delete(delete_my_other_sessions))
        .route("/api/me/sessions/{id}", delete(delete_my_session))
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    current_password: Option<String>,
    new_password: Option<String>,
}

/// Changes the password; every other session and all refresh tokens are revoked.
#[utoipa::path(put, path = "/api/me/password", tag = "account", request_body = ChangePasswordRequest,
    security(("session" = []), ("bearer" = [])),
    responses((status = 204, description = "Changed; the current session stays"),
        (status = 401, description = "unauthorized, or invalid_credentials for a wrong current password", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    Json(req): Json<ChangePasswordRequest>,
) -> Result<StatusCode, AppError> {
    accounts::change_password(
        &state.ctx,
        &caller.user,
        caller.session_id,
        req.current_password.as_deref(),
        req.new_password.as_deref(),
        &client,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's live sessions, newest first.
#[utoipa::path(get, path = "/api/me/sessions", tag = "account", security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = ErrorBody)))]
pub async fn list_my_sessions(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<axum::Json<Vec<SessionInfo>>, AppError> {
    Ok(axum::Json(sessions::list(&state.ctx, caller.user.id, caller.session_id).await?))
}

/// Ends one of the caller's sessions (the current one too: that is a logout).
#[utoipa::path(delete, path = "/api/me/sessions/{id}", tag = "account", security(("session" = []), ("bearer" = [])),
    params(("id" = i64, Path, description = "Session id from GET /api/me/sessions")),
    responses((status = 204, description = "Ended"), (status = 401, body = ErrorBody), (status = 404, description = "Not one of yours", body = ErrorBody)))]
pub async fn delete_my_session(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    sessions::revoke_own(&state.ctx, caller.user.id, id, &client).await?;
    if caller.session_id == Some(id) {
        return Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, state.cookie.clear())]).into_response());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Ends every session of the caller but the current one.
#[utoipa::path(delete, path = "/api/me/sessions", tag = "account", security(("session" = []), ("bearer" = [])),
    responses((status = 204, description = "All other sessions ended"), (status = 401, body = ErrorBody)))]
pub async fn delete_my_other_sessions(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
) -> Result<StatusCode, AppError> {
    sessions::revoke_others(&state.ctx, caller.user.id, caller.session_id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
