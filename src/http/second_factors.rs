//! API.md "Second factors": the second step of a login, TOTP enrolment, recovery codes,
//! re-authentication (step-up), and an admin's removal of a user's factors.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cookies::with_cookies;
use super::extract::{AdminUser, CurrentUser, Json, PathId};
use super::AppState;
use crate::domain::User;
use crate::error::{AppError, ErrorBody};
use crate::service::codes::Code;
use crate::service::factors::{self, RecoveryCodes, SecondFactors, SecondProof, TotpEnrolment};
use crate::service::login::{self, Issue};
use crate::service::reauth::{self, Reauthenticated};
use crate::service::tokens::TokenPair;
use crate::service::Client;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login_second_factor))
        .routes(routes!(token_second_factor))
        .routes(routes!(reauthenticate))
        .routes(routes!(my_second_factors))
        .routes(routes!(begin_totp))
        .routes(routes!(confirm_totp))
        .routes(routes!(disable_totp))
        .routes(routes!(regenerate_recovery_codes))
        .routes(routes!(remove_user_second_factors))
}

// As in auth.rs, the schemas state the rules the server enforces; a rule between fields
// (exactly one of, at least one of) is added to the schema in openapi.rs.

/// Exactly one of `code`, `recovery_code` and `credential` (422 otherwise; an empty
/// string counts as absent).
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"challenge": "Qm9vZ2llLXdvb2dpZS1jaGFsbGVuZ2UtdG9rZW4tMDA", "code": "123456"}))]
pub struct SecondFactorRequest {
    /// The `challenge` of the `second_factor_required` answer (43 characters; 401
    /// `invalid_challenge` when it is not a live one).
    #[schema(value_type = String, required = true, min_length = 43, max_length = 43, pattern = r"^[A-Za-z0-9_-]*$")]
    challenge: Option<String>,
    /// A six-digit code from the authenticator app...
    #[schema(value_type = String, required = false, min_length = 1, example = "123456")]
    code: Option<String>,
    /// ...or one of the recovery codes (each works once)...
    #[schema(value_type = String, required = false, min_length = 1, example = "k7m2p-x9qrt")]
    recovery_code: Option<String>,
    /// ...or a passkey: `navigator.credentials.get` with the `webauthn` options of the
    /// `second_factor_required` answer, as JSON (binary fields in base64url).
    #[schema(schema_with = super::passkeys::assertion_credential)]
    credential: Option<serde_json::Value>,
}

/// The password, a code from the authenticator app, or both (at least one; 422
/// otherwise). Each one sent must be right.
#[derive(Deserialize, ToSchema)]
pub struct ReauthenticateRequest {
    #[schema(value_type = String, required = false, min_length = 1)]
    password: Option<String>,
    /// A code from the authenticator app (accounts with TOTP enabled).
    #[schema(value_type = String, required = false, min_length = 1, example = "123456")]
    code: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ConfirmTotpRequest {
    /// The code the authenticator app shows for the new secret.
    #[schema(example = "123456", value_type = String, required = true, min_length = 1)]
    code: Option<String>,
}

/// The password and exactly one of `code` and `recovery_code` (422 otherwise).
#[derive(Deserialize, ToSchema)]
pub struct DisableTotpRequest {
    #[schema(value_type = String, required = true, min_length = 1)]
    password: Option<String>,
    #[schema(value_type = String, required = false, min_length = 1, example = "123456")]
    code: Option<String>,
    #[schema(value_type = String, required = false, min_length = 1)]
    recovery_code: Option<String>,
}

/// Finishes a cookie login that answered `second_factor_required`: sets the session
/// cookie exactly as a one-step login does. Needs the binding cookie set with the challenge.
#[utoipa::path(post, path = "/api/login/second-factor", tag = "second factors", request_body = SecondFactorRequest,
    responses(
        (status = 200, description = "Logged in; sets a new session cookie", body = User),
        (status = 400, body = ErrorBody),
        (status = 401, description = "invalid_challenge (unknown, expired, used, for the token route, or from another browser: log in again); invalid_code (wrong or already used code: try again); invalid_passkey", body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "neither or both of code and recovery_code", body = ErrorBody),
        (status = 429, description = "rate_limited: too many wrong codes for this account, with Retry-After", body = ErrorBody)))]
pub async fn login_second_factor(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Json(req): Json<SecondFactorRequest>,
) -> Result<Response, AppError> {
    let proof = SecondProof::from_fields(req.code.as_deref(), req.recovery_code.as_deref(), req.credential.as_ref())?;
    let binding = state.challenge_cookie.read(&headers);
    let previous = state.cookie.read(&headers);
    let issue = Issue::Session { previous_token: previous };
    let (user, issued) = login::with_second_step(&state.ctx, req.challenge.as_deref(), binding, proof, issue, &client)
        .await?
        .into_session()?;
    Ok(with_cookies(axum::Json(user), [state.cookie.set(&issued.token), state.challenge_cookie.clear()]))
}

/// Finishes a token login that answered `second_factor_required`, from the same client
/// (User-Agent and address) that sent the password.
#[utoipa::path(post, path = "/api/token/second-factor", tag = "second factors", request_body = SecondFactorRequest,
    responses((status = 200, body = TokenPair), (status = 400, body = ErrorBody),
        (status = 401, description = "invalid_challenge, invalid_code or invalid_passkey", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, description = "rate_limited, with Retry-After", body = ErrorBody)))]
pub async fn token_second_factor(
    State(state): State<AppState>,
    client: Client,
    Json(req): Json<SecondFactorRequest>,
) -> Result<axum::Json<TokenPair>, AppError> {
    let proof = SecondProof::from_fields(req.code.as_deref(), req.recovery_code.as_deref(), req.credential.as_ref())?;
    let minted =
        login::with_second_step(&state.ctx, req.challenge.as_deref(), None, proof, Issue::Tokens, &client).await?;
    Ok(axum::Json(minted.into_tokens()?))
}

/// Proves again who the caller is (password, TOTP code, or both) so that sensitive
/// changes are allowed for `security.step_up_window`.
#[utoipa::path(post, path = "/api/reauthenticate", tag = "second factors", request_body = ReauthenticateRequest,
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, description = "Renewed; with a Bearer token, carries a new access token", body = Reauthenticated),
        (status = 401, description = "unauthorized; invalid_credentials (wrong password); invalid_code", body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn reauthenticate(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    Json(req): Json<ReauthenticateRequest>,
) -> Result<axum::Json<Reauthenticated>, AppError> {
    let done = reauth::reauthenticate(
        &state.ctx,
        &caller.user,
        &caller.proof,
        req.password.as_deref(),
        req.code.as_deref(),
        &client,
    )
    .await?;
    Ok(axum::Json(done))
}

/// The caller's second factors.
#[utoipa::path(get, path = "/api/me/second-factors", tag = "second factors", security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = SecondFactors), (status = 401, body = ErrorBody)))]
pub async fn my_second_factors(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<axum::Json<SecondFactors>, AppError> {
    Ok(axum::Json(factors::status(&state.ctx, caller.user.id).await?))
}

/// Starts enrolling an authenticator app: a new secret, inactive until confirmed with a
/// code. Starting again replaces a pending (never an enabled) secret.
#[utoipa::path(post, path = "/api/me/totp", tag = "second factors", security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = TotpEnrolment), (status = 401, body = ErrorBody),
        (status = 403, description = "reauthentication_required, or csrf_rejected", body = ErrorBody),
        (status = 409, description = "second_factor_enabled", body = ErrorBody)))]
pub async fn begin_totp(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<axum::Json<TotpEnrolment>, AppError> {
    Ok(axum::Json(factors::begin_totp(&state.ctx, &caller.user, &caller.proof).await?))
}

/// Enables the pending authenticator app with its first code; answers ten recovery
/// codes, shown this once.
#[utoipa::path(post, path = "/api/me/totp/confirm", tag = "second factors", request_body = ConfirmTotpRequest,
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = RecoveryCodes), (status = 401, description = "unauthorized, or invalid_code", body = ErrorBody),
        (status = 403, description = "reauthentication_required, or csrf_rejected", body = ErrorBody),
        (status = 404, description = "no enrolment pending", body = ErrorBody),
        (status = 409, description = "second_factor_enabled", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    Json(req): Json<ConfirmTotpRequest>,
) -> Result<axum::Json<RecoveryCodes>, AppError> {
    let codes = factors::confirm_totp(&state.ctx, &caller.user, &caller.proof, req.code.as_deref(), &client).await?;
    Ok(axum::Json(codes))
}

/// Turns the authenticator app off (and its recovery codes): needs the password and a
/// code or a recovery code.
#[utoipa::path(post, path = "/api/me/totp/disable", tag = "second factors", request_body = DisableTotpRequest,
    security(("session" = []), ("bearer" = [])),
    responses((status = 204, description = "Disabled"),
        (status = 401, description = "unauthorized; invalid_credentials (wrong password); invalid_code", body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody),
        (status = 404, description = "no authenticator app enabled", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn disable_totp(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    Json(req): Json<DisableTotpRequest>,
) -> Result<StatusCode, AppError> {
    let code = Code::from_fields(req.code.as_deref(), req.recovery_code.as_deref())?;
    factors::disable_totp(&state.ctx, &caller.user, &caller.proof, req.password.as_deref(), code, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ten new recovery codes; the previous ones stop working.
#[utoipa::path(post, path = "/api/me/recovery-codes", tag = "second factors", security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = RecoveryCodes), (status = 401, body = ErrorBody),
        (status = 403, description = "reauthentication_required, or csrf_rejected", body = ErrorBody),
        (status = 404, description = "no authenticator app enabled", body = ErrorBody)))]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
) -> Result<axum::Json<RecoveryCodes>, AppError> {
    Ok(axum::Json(factors::regenerate_recovery_codes(&state.ctx, &caller.user, &caller.proof, &client).await?))
}

/// Removes a user's second factors and passkeys (a lost phone and lost recovery codes)
/// and, like a password reset, ends all their sessions and token logins. Admin only;
/// audited as `second_factor_removed`.
#[utoipa::path(delete, path = "/api/users/{id}/second-factors", tag = "admin", security(("session" = []), ("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204, description = "Removed (also when there were none); every session and token login of the user ended"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_user_second_factors(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: Client,
    PathId(id): PathId,
) -> Result<StatusCode, AppError> {
    factors::remove_for_user(&state.ctx, id, Some(admin.user.id), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
