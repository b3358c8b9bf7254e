//! README "Account recovery by email": verifying an address, forgotten passwords, and
//! changing the address; and which of these this server offers.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{CurrentUser, Json};
use super::AppState;
use crate::domain::User;
use crate::error::{AppError, ErrorBody};
use crate::service::{recovery, Client};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(features))
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
        .routes(routes!(change_email))
}

/// What this server offers, for a client deciding which links to show.
#[derive(Serialize, ToSchema)]
pub struct Features {
    /// Signups are open.
    signup: bool,
    /// Mail is configured: verification, forgotten passwords and address changes work.
    email: bool,
    /// Accounts with an address log in only once it is verified.
    require_verified_email: bool,
    /// Passkeys can be registered and used.
    passkeys: bool,
    /// The domain passkeys are bound to: the app must be opened on it (or a subdomain).
    #[schema(example = "auth.example.com")]
    passkey_rp_id: Option<String>,
    /// Providers people may log in with ("Continue with {label}" at
    /// `/api/federation/{id}/start`).
    providers: Vec<ProviderButton>,
}

#[derive(Serialize, ToSchema)]
pub struct ProviderButton {
    #[schema(example = "google")]
    id: String,
    #[schema(example = "Google")]
    label: String,
}

/// Which optional features this server has. Public.
#[utoipa::path(get, path = "/api/features", tag = "recovery", responses((status = 200, body = Features)))]
pub async fn features(State(state): State<AppState>) -> axum::Json<Features> {
    let config = &state.ctx.config;
    axum::Json(Features {
        signup: config.signup.enabled,
        email: state.ctx.mailer.is_some(),
        require_verified_email: config.signup.require_verified_email,
        passkeys: state.ctx.passkeys.is_some(),
        passkey_rp_id: state.ctx.passkeys.as_ref().map(|rp| rp.rp_id.clone()),
        providers: config
            .federation
            .providers
            .iter()
            .map(|p| ProviderButton { id: p.id.clone(), label: p.label.clone() })
            .collect(),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyEmailRequest {
    /// The token from the link's `#token=` fragment: 43 characters (400 `invalid_link`
    /// otherwise, and for a token that is unknown, used, expired or replaced).
    #[schema(value_type = String, required = true, min_length = 43, max_length = 43, pattern = r"^[A-Za-z0-9_-]*$")]
    token: Option<String>,
}

/// Follows a verification link (after signup, or to confirm a new address). Needs no
/// session: holding the mail is the proof.
#[utoipa::path(post, path = "/api/email/verify", tag = "recovery", request_body = VerifyEmailRequest,
    responses((status = 200, description = "Verified; the account as it now is", body = User),
        (status = 400, description = "invalid_link (unknown, used, expired or replaced), or bad_request", body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody),
        (status = 409, description = "email_taken: the new address was taken meanwhile", body = ErrorBody),
        (status = 415, body = ErrorBody)))]
pub async fn verify_email(
    State(state): State<AppState>,
    client: Client,
    Json(req): Json<VerifyEmailRequest>,
) -> Result<axum::Json<User>, AppError> {
    Ok(axum::Json(recovery::verify_email(&state.ctx, req.token.as_deref(), &client).await?))
}

/// Mails a new verification link to the caller's unverified address; older links end.
#[utoipa::path(post, path = "/api/email/verify/resend", tag = "recovery", security(("session" = []), ("bearer" = [])),
    responses((status = 202, description = "A link is on its way"), (status = 401, body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody),
        (status = 422, description = "no address, or already verified", body = ErrorBody),
        (status = 429, description = "rate_limited (per account and per address, hourly)", body = ErrorBody),
        (status = 503, description = "email_unavailable: this server sends no mail", body = ErrorBody)))]
pub async fn resend_verification(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
) -> Result<StatusCode, AppError> {
    recovery::resend_verification(&state.ctx, &caller.user, &client).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct ForgotPasswordRequest {
    /// The username or the email address: once surrounding whitespace is trimmed, 1 to
    /// 254 characters and no control characters (422 otherwise).
    #[schema(example = "ada@example.com", value_type = String, required = true, min_length = 1,
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]{0,252}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    username: Option<String>,
}

/// Mails a password reset link (valid 30 minutes) if the account exists and has an
/// address. The answer is the same, in the same time, either way.
#[utoipa::path(post, path = "/api/password/forgot", tag = "recovery", request_body = ForgotPasswordRequest,
    responses((status = 202, description = "Accepted; a link is mailed if the account has an address"),
        (status = 400, body = ErrorBody), (status = 403, description = "csrf_rejected", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "rate_limited (per client address, hourly)", body = ErrorBody),
        (status = 503, description = "email_unavailable: this server sends no mail", body = ErrorBody)))]
pub async fn forgot_password(
    State(state): State<AppState>,
    client: Client,
    Json(req): Json<ForgotPasswordRequest>,
) -> Result<StatusCode, AppError> {
    recovery::forgot_password(&state.ctx, req.username.as_deref(), &client).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    /// The token from the link's `#token=` fragment: 43 characters (400 `invalid_link`
    /// otherwise, and for a token that is unknown, used, expired or replaced).
    #[schema(value_type = String, required = true, min_length = 43, max_length = 43, pattern = r"^[A-Za-z0-9_-]*$")]
    token: Option<String>,
    /// The same rules as at signup: 8 to 256 characters, no NUL, not a common password
    /// (422 otherwise, checked before the token).
    #[schema(value_type = String, required = true, min_length = 8, max_length = 256, pattern = r"^[^\x00]*$")]
    new_password: Option<String>,
}

/// Sets a new password with a reset link; every session and refresh token of the
/// account ends. Works without mail too, with a link from `latchkey user reset-link`.
#[utoipa::path(post, path = "/api/password/reset", tag = "recovery", request_body = ResetPasswordRequest,
    responses((status = 204, description = "Password set; log in with it"),
        (status = 400, description = "invalid_link (unknown, used, expired or replaced), or bad_request", body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "the new password breaks the password rules", body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    client: Client,
    Json(req): Json<ResetPasswordRequest>,
) -> Result<StatusCode, AppError> {
    recovery::reset_password(&state.ctx, req.token.as_deref(), req.new_password.as_deref(), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ChangeEmailRequest {
    /// The password in use now (401 `invalid_credentials` when wrong).
    #[schema(value_type = String, required = true, min_length = 1)]
    current_password: Option<String>,
    /// The same rules as at signup: at most 254 characters, one `@` with text on both
    /// sides, no whitespace or control characters, an address mail can be sent to; and
    /// not the account's address already (422 otherwise).
    #[schema(
        example = "ada@example.org",
        value_type = String,
        required = true,
        max_length = 254,
        pattern = r"^[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+@[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$"
    )]
    new_email: Option<String>,
}

/// Asks to change the caller's address: a link goes to the new address, which becomes
/// the account's (and its login) once followed; the old address is then told.
#[utoipa::path(put, path = "/api/me/email", tag = "recovery", request_body = ChangeEmailRequest,
    security(("session" = []), ("bearer" = [])),
    responses((status = 202, description = "A link is on its way to the new address"),
        (status = 401, description = "unauthorized, or invalid_credentials for a wrong current password", body = ErrorBody),
        (status = 403, description = "csrf_rejected, or reauthentication_required (no login in the last security.step_up_window)", body = ErrorBody),
        (status = 409, description = "email_taken", body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, description = "email_unavailable: this server sends no mail", body = ErrorBody)))]
pub async fn change_email(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    Json(req): Json<ChangeEmailRequest>,
) -> Result<StatusCode, AppError> {
    recovery::change_email(
        &state.ctx,
        &caller.user,
        &caller.proof,
        req.current_password.as_deref(),
        req.new_email.as_deref(),
        &client,
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}
