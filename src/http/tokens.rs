//! API.md "Tokens": access and refresh tokens, and the JWKS other services verify with.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Json;
use super::AppState;
use crate::error::{AppError, ErrorBody};
use crate::service::factors::Login;
use crate::service::login::{self, Issue};
use crate::service::tokens::{self, TokenPair};
use crate::service::Client;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(refresh_token))
        .routes(routes!(revoke_token))
        .routes(routes!(jwks))
}

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// The username or the email address.
    #[schema(example = "ada", value_type = String, required = true)]
    pub(crate) username: Option<String>,
    #[schema(example = "correct horse battery", value_type = String, required = true)]
    pub(crate) password: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// A refresh token from `POST /api/token` or an earlier refresh; anything else
    /// (missing included) is 401 `invalid_token`.
    #[schema(value_type = String, required = true)]
    pub(crate) refresh_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct RevokeRequest {
    /// The refresh token whose family ends; unknown, missing or null tokens are a no-op.
    pub(crate) refresh_token: Option<String>,
}

/// Logs in with a password and answers with an access token and a refresh token.
#[utoipa::path(post, path = "/api/token", tag = "tokens", request_body = TokenRequest,
    responses((status = 200, body = TokenPair), (status = 400, body = ErrorBody),
        (status = 401, description = "invalid_credentials; or second_factor_required with `challenge`, `methods` and `expires_in` (the password was right: finish at POST /api/token/second-factor from the same client)", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, description = "rate_limited, with Retry-After", body = ErrorBody)))]
pub async fn token(
    State(state): State<AppState>,
    client: Client,
    Json(req): Json<TokenRequest>,
) -> Result<axum::Json<TokenPair>, AppError> {
    match login::with_password(&state.ctx, req.username.as_deref(), req.password.as_deref(), Issue::Tokens, &client)
        .await?
    {
        Login::Done(minted) => Ok(axum::Json(minted.into_tokens()?)),
        Login::SecondFactor(pending) => Err(pending.into_error()),
    }
}

/// Spends a refresh token for a new pair; the old refresh token is dead afterwards.
#[utoipa::path(post, path = "/api/token/refresh", tag = "tokens", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 400, body = ErrorBody),
        (status = 401, description = "invalid_token: unknown, expired, revoked or reused", body = ErrorBody)))]
pub async fn refresh_token(
    State(state): State<AppState>,
    client: Client,
    Json(req): Json<RefreshRequest>,
) -> Result<axum::Json<TokenPair>, AppError> {
    Ok(axum::Json(tokens::refresh(&state.ctx, req.refresh_token.as_deref(), &client).await?))
}

/// Revokes the refresh token's whole family (a token client's logout).
#[utoipa::path(post, path = "/api/token/revoke", tag = "tokens", request_body = RevokeRequest,
    responses((status = 204, description = "Revoked (also for unknown tokens)"), (status = 400, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    client: Client,
    Json(req): Json<RevokeRequest>,
) -> Result<StatusCode, AppError> {
    tokens::revoke(&state.ctx, req.refresh_token.as_deref(), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The public keys that verify access tokens (none of latchkey's own with HS256, whose
/// key is secret) and, once apps log in through latchkey, its ID tokens (RS256, EdDSA).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "tokens",
    responses((status = 200, description = "{\"keys\": [JWK]}", content_type = "application/json")))]
pub async fn jwks(State(state): State<AppState>) -> Result<Response, AppError> {
    let body = super::oauth2::jwks_keys(&state).await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=60")], axum::Json(body)).into_response())
}
