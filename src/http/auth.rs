//! API.md "Cookie sessions": signup, login, check_session, logout, me.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cookies::with_cookies;
use super::extract::{CurrentUser, Json};
use super::AppState;
use crate::domain::User;
use crate::error::{AppError, ErrorBody};
use crate::service::accounts::{self, NewAccount};
use crate::service::factors::{Login, Pending};
use crate::service::login::{self, Issue};
use crate::service::{sessions, Client};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(check_session))
        .routes(routes!(logout))
        .routes(routes!(me))
}

// The request schemas state the rules the server enforces, so that a generator producing
// schema-valid bodies is never refused with 400 or 422. Fields are `Option` in Rust so a
// missing one is a 422 naming it, not serde's 400; the schema still says "required".

#[derive(Deserialize, ToSchema)]
pub struct SignupRequest {
    /// 3 to 32 ASCII letters, digits, `_`, `.` and `-`; unique, compared case-insensitively.
    #[schema(example = "ada", value_type = String, required = true, min_length = 3, max_length = 32, pattern = r"^[A-Za-z0-9_.-]*$")]
    pub(crate) username: Option<String>,
    /// 8 to 256 characters, no NUL, and not one of the 11,611 most common passwords (422).
    /// With `password.algorithm = "bcrypt"` also at most 72 bytes.
    #[schema(example = "correct horse battery", value_type = String, required = true, min_length = 8, max_length = 256, pattern = r"^[^\x00]*$")]
    pub(crate) password: Option<String>,
    /// When sent, must equal `password` (422 otherwise).
    #[schema(example = "correct horse battery")]
    pub(crate) password_confirmation: Option<String>,
    /// At most 254 characters, one `@` with text on both sides, no whitespace or control
    /// characters, and an address mail can be sent to (RFC 5322: a local part of at most
    /// 64 bytes, a domain name); 422 otherwise. Unique, compared
    /// case-insensitively. Empty or null: no email.
    #[schema(
        example = "ada@example.com",
        max_length = 254,
        pattern = r"^([^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+@[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+)?$"
    )]
    pub(crate) email: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The username or the email address.
    #[schema(example = "ada", value_type = String, required = true)]
    pub(crate) username: Option<String>,
    #[schema(example = "correct horse battery", value_type = String, required = true)]
    pub(crate) password: Option<String>,
}

/// Creates an account and logs it in.
#[utoipa::path(post, path = "/api/signup", tag = "sessions", request_body = SignupRequest,
    responses(
        (status = 201, description = "Signed up; sets the session cookie (not when signup.require_verified_email holds and an email was given: log in after verifying it)", body = User),
        (status = 400, body = ErrorBody), (status = 403, description = "csrf_rejected, or signup disabled", body = ErrorBody),
        (status = 409, description = "username_taken or email_taken", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn signup(
    State(state): State<AppState>,
    client: Client,
    Json(req): Json<SignupRequest>,
) -> Result<Response, AppError> {
    let account = NewAccount {
        username: req.username.as_deref(),
        password: req.password.as_deref(),
        password_confirmation: req.password_confirmation.as_deref(),
        email: req.email.as_deref(),
    };
    let (user, issued) = accounts::signup(&state.ctx, account, &client).await?;
    match issued {
        Some(issued) => Ok(with_cookies((StatusCode::CREATED, axum::Json(user)), [state.cookie.set(&issued.token)])),
        // Logins wait for the address to be verified: no session yet.
        None => Ok((StatusCode::CREATED, axum::Json(user)).into_response()),
    }
}

/// Logs in with a username (or email) and password; always starts a new session.
#[utoipa::path(post, path = "/api/login", tag = "sessions", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; sets a new session cookie", body = User),
        (status = 400, body = ErrorBody),
        (status = 401, description = "invalid_credentials; or second_factor_required with `challenge`, `methods` and `expires_in` (the password was right: finish at POST /api/login/second-factor; sets the challenge's binding cookie, no session)", body = ErrorBody),
        (status = 403, description = "csrf_rejected, or email_not_verified (signup.require_verified_email)", body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, description = "rate_limited, with Retry-After", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response, AppError> {
    let previous = state.cookie.read(&headers);
    let issue = Issue::Session { previous_token: previous };
    match login::with_password(&state.ctx, req.username.as_deref(), req.password.as_deref(), issue, &client).await? {
        Login::Done(minted) => {
            let (user, issued) = minted.into_session()?;
            Ok(with_cookies(axum::Json(user), [state.cookie.set(&issued.token)]))
        }
        Login::SecondFactor(pending) => Ok(second_factor_required(&state, pending)),
    }
}

/// 401 `second_factor_required` with the challenge, and the cookie that binds it to
/// this browser.
pub(super) fn second_factor_required(state: &AppState, pending: Pending) -> Response {
    let binding = pending.binding_cookie.as_deref().map(|b| state.challenge_cookie.set(b));
    with_cookies(pending.into_error(), binding)
}

/// The logged-in user, or 204 when there is none. Never 401: SPAs call it on every load.
#[utoipa::path(get, path = "/api/check_session", tag = "sessions",
    responses((status = 200, body = User), (status = 204, description = "Not logged in")))]
pub async fn check_session(caller: Option<CurrentUser>) -> Response {
    match caller {
        Some(caller) => axum::Json(caller.user).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Ends the session: the cookie is cleared and its value is dead even if replayed.
#[utoipa::path(delete, path = "/api/logout", tag = "sessions",
    responses((status = 204, description = "Logged out; cookie cleared"), (status = 403, description = "csrf_rejected", body = ErrorBody)))]
pub async fn logout(State(state): State<AppState>, client: Client, headers: HeaderMap) -> Result<Response, AppError> {
    if let Some(token) = state.cookie.read(&headers) {
        sessions::end(&state.ctx, token, &client).await?;
    }
    Ok(with_cookies(StatusCode::NO_CONTENT, [state.cookie.clear()]))
}

/// The caller, by session cookie or Bearer token.
#[utoipa::path(get, path = "/api/me", tag = "sessions", security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(caller: CurrentUser) -> axum::Json<std::sync::Arc<User>> {
    axum::Json(caller.user)
}
