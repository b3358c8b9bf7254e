//! Logging in with an account elsewhere (README "Log in with Google, GitHub or any
//! OpenID Connect provider"): the round trip to a provider, the web app's continue call,
//! and the identities an account has.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::second_factor_required;
use super::cookies::with_cookies;
use super::extract::{AdminUser, CurrentUser, Json, PathId};
use super::redirect;
use super::AppState;
use crate::domain::User;
use crate::error::{AppError, ErrorBody};
use crate::service::factors::Login;
use crate::service::federation::identities::{self, Identities, Identity};
use crate::service::federation::{self, CallbackParams, Intent, Started};
use crate::service::login::{self, Issue};
use crate::service::reauth::Reauthenticated;
use crate::service::tokens::TokenPair;
use crate::service::Client;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(callback))
        .routes(routes!(continue_login))
        .routes(routes!(link))
        .routes(routes!(reauthenticate))
        .routes(routes!(my_identities))
        .routes(routes!(unlink_my_identity))
        .routes(routes!(user_identities))
        .routes(routes!(remove_user_identity))
}

#[derive(Deserialize, IntoParams)]
pub struct StartParams {
    /// Where the web app goes once logged in: a path on this site (`/posts`), never
    /// `//host` or a URL (422). Default `/`.
    return_to: Option<String>,
}

/// Sends the browser to the provider (authorization code with PKCE, `state`, `nonce`)
/// and sets the cookie that binds the round trip to this browser. A browser's page
/// navigation that cannot begin (the provider is down, too many attempts) is sent to the
/// web app's `/login/federated?error=<code>` instead of a JSON error page.
#[utoipa::path(get, path = "/api/federation/{provider}/start", tag = "federation",
    params(("provider" = String, Path, description = "The provider's id, as in `GET /api/features`"), StartParams),
    responses((status = 302, description = "To the provider's authorization endpoint; sets the federation cookie"),
        (status = 303, description = "A browser navigation (`Sec-Fetch-Mode: navigate`) that cannot begin: to `/login/federated?error=<code>`"),
        (status = 404, description = "No such provider", body = ErrorBody),
        (status = 422, description = "return_to is not a path on this site", body = ErrorBody),
        (status = 429, body = ErrorBody),
        (status = 503, description = "provider_unavailable", body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(params): Query<StartParams>,
    headers: HeaderMap,
    client: Client,
) -> Result<Response, AppError> {
    let return_to = params.return_to.as_deref();
    let started = match federation::start(&state.ctx, &provider, Intent::Login, return_to, &client).await {
        Ok(started) => started,
        Err(e @ (AppError::ProviderUnavailable | AppError::RateLimited { .. })) if is_navigation(&headers) => {
            let back = federation::checked_return_to(return_to, "/").unwrap_or_else(|_| "/".into());
            return redirect(
                StatusCode::SEE_OTHER,
                &(federation::continue_page(&back) + "&error=" + e.code().as_str()),
            );
        }
        Err(e) => return Err(e),
    };
    let Started { location, binding } = started;
    Ok(with_cookies(redirect(StatusCode::FOUND, &location)?, [state.federation_cookie.set(&binding)]))
}

#[derive(Deserialize, IntoParams)]
pub struct CallbackQuery {
    /// The authorization code.
    code: Option<String>,
    state: Option<String>,
    /// The issuer of the answer (RFC 9207), when the provider sends it.
    iss: Option<String>,
    /// The provider's error (`access_denied`, …) instead of a code.
    error: Option<String>,
}

/// The provider's redirect back. Records the outcome and sends the browser to the web
/// app's `/login/federated`, which calls `POST /api/federation/continue`; creates no
/// session itself.
#[utoipa::path(get, path = "/api/federation/{provider}/callback", tag = "federation",
    params(("provider" = String, Path), CallbackQuery),
    responses((status = 303, description = "To `/login/federated?return_to=…` (the outcome waits there for the continue call)"),
        (status = 404, description = "No such provider", body = ErrorBody)))]
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(query): Query<CallbackQuery>,
    headers: HeaderMap,
    client: Client,
) -> Result<Response, AppError> {
    let params = CallbackParams { code: query.code, state: query.state, iss: query.iss, error: query.error };
    let binding = state.federation_cookie.read(&headers);
    let location = federation::callback(&state.ctx, &provider, &params, binding, &client).await?;
    redirect(StatusCode::SEE_OTHER, &location)
}

#[derive(Deserialize, ToSchema)]
pub struct ContinueRequest {
    /// What a login hands out: a session cookie (as `POST /api/login`) or a token pair
    /// (as `POST /api/token`).
    #[schema(value_type = String, required = true, pattern = "^(session|token)$")]
    mode: Option<String>,
}

/// A connected account, after a link round trip.
#[derive(Serialize, ToSchema)]
pub struct Linked {
    linked: Identity,
    return_to: String,
}

/// A renewed step-up window, after a re-authentication round trip.
#[derive(Serialize, ToSchema)]
pub struct ReauthenticatedByProvider {
    reauthenticated: bool,
    return_to: String,
    #[serde(flatten)]
    renewal: Reauthenticated,
}

/// Finishes the browser's round trip, once. A login answers exactly as `POST /api/login`
/// (mode `session`) or `POST /api/token` (mode `token`); a link answers the identity; a
/// re-authentication the renewed step-up window.
#[utoipa::path(post, path = "/api/federation/continue", tag = "federation", request_body = ContinueRequest,
    responses(
        (status = 200, description = "Logged in (mode session: the User, and the session cookie; mode token: a TokenPair), or `Linked`, or `ReauthenticatedByProvider`", body = User),
        (status = 401, description = "second_factor_required (finish at /api/login/second-factor or /api/token/second-factor); federation_expired (no finished round trip for this browser); federation_failed (the provider refused, or its answer did not verify)", body = ErrorBody),
        (status = 403, description = "csrf_rejected, email_not_verified, signup_disabled", body = ErrorBody),
        (status = 409, description = "account_exists (log in to that account, then connect the provider from the account page), identity_in_use", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, description = "provider_unavailable", body = ErrorBody)))]
pub async fn continue_login(
    State(state): State<AppState>,
    caller: Option<CurrentUser>,
    client: Client,
    headers: HeaderMap,
    Json(req): Json<ContinueRequest>,
) -> Result<Response, AppError> {
    let token_mode = match req.mode.as_deref() {
        Some("session") => false,
        Some("token") => true,
        _ => return Err(AppError::validation("mode", "must be \"session\" or \"token\"")),
    };
    let binding = state.federation_cookie.read(&headers);
    let done = state.federation_cookie.clear();
    let outcome = async {
        let returned = federation::take_outcome(&state.ctx, binding, &client).await?;
        let return_to = returned.return_to.clone();
        match returned.intent {
            Intent::Login if token_mode => {
                match login::with_provider(&state.ctx, &returned, Issue::Tokens, &client).await? {
                    Login::Done(minted) => Ok(axum::Json::<TokenPair>(minted.into_tokens()?).into_response()),
                    Login::SecondFactor(pending) => Err(pending.into_error()),
                }
            }
            Intent::Login => {
                let issue = Issue::Session { previous_token: state.cookie.read(&headers) };
                match login::with_provider(&state.ctx, &returned, issue, &client).await? {
                    Login::Done(minted) => {
                        let (user, issued) = minted.into_session()?;
                        Ok(with_cookies(axum::Json(user), [state.cookie.set(&issued.token)]))
                    }
                    Login::SecondFactor(pending) => Ok(second_factor_required(&state, pending)),
                }
            }
            Intent::Link(_) => {
                let caller_id = caller.as_ref().map(|c| c.user.id);
                let linked = identities::link(&state.ctx, &returned, caller_id, &client).await?;
                Ok(axum::Json(Linked { linked, return_to }).into_response())
            }
            Intent::Reauthenticate(_) => {
                let caller = caller.as_ref().ok_or(AppError::Unauthorized)?;
                let renewal =
                    identities::reauthenticate(&state.ctx, &returned, &caller.user, &caller.proof, &client).await?;
                Ok(axum::Json(ReauthenticatedByProvider { reauthenticated: true, return_to, renewal }).into_response())
            }
        }
    }
    .await;
    // The round trip is over whatever the answer: its cookie goes.
    Ok(with_cookies(outcome.unwrap_or_else(IntoResponse::into_response), [done]))
}

#[derive(Deserialize, ToSchema)]
pub struct RoundTripRequest {
    /// Where the web app goes afterwards: a path on this site. Default `/account`.
    #[schema(example = "/account")]
    return_to: Option<String>,
}

/// Where the browser goes next: the provider.
#[derive(Serialize, ToSchema)]
pub struct Redirect {
    redirect: String,
}

/// Starts connecting an identity at the provider to the caller's account (needs a recent
/// authentication). The browser goes to `redirect`; the round trip ends at
/// `POST /api/federation/continue`, which answers `Linked`.
#[utoipa::path(post, path = "/api/federation/{provider}/link", tag = "federation", request_body = RoundTripRequest,
    security(("session" = []), ("bearer" = [])), params(("provider" = String, Path)),
    responses((status = 200, description = "Go to `redirect`; sets the federation cookie", body = Redirect),
        (status = 401, body = ErrorBody), (status = 403, description = "reauthentication_required, csrf_rejected", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, description = "provider_unavailable", body = ErrorBody)))]
pub async fn link(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    caller: CurrentUser,
    client: Client,
    Json(req): Json<RoundTripRequest>,
) -> Result<Response, AppError> {
    crate::service::stepup::require_recent(&state.ctx, &caller.proof).await?;
    let intent = Intent::Link(caller.user.id);
    round_trip(&state, &provider, intent, req.return_to.as_deref(), &client).await
}

/// Starts a re-authentication at one of the caller's providers (`prompt=login`,
/// `max_age=0`): the step-up of an account without a password. Ends at
/// `POST /api/federation/continue`, which answers `ReauthenticatedByProvider`.
#[utoipa::path(post, path = "/api/federation/{provider}/reauthenticate", operation_id = "reauthenticate_with_provider", tag = "federation", request_body = RoundTripRequest,
    security(("session" = []), ("bearer" = [])), params(("provider" = String, Path)),
    responses((status = 200, description = "Go to `redirect`; sets the federation cookie", body = Redirect),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, description = "provider_unavailable", body = ErrorBody)))]
pub async fn reauthenticate(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    caller: CurrentUser,
    client: Client,
    Json(req): Json<RoundTripRequest>,
) -> Result<Response, AppError> {
    let intent = Intent::Reauthenticate(caller.user.id);
    round_trip(&state, &provider, intent, req.return_to.as_deref(), &client).await
}

async fn round_trip(
    state: &AppState,
    provider: &str,
    intent: Intent,
    return_to: Option<&str>,
    client: &Client,
) -> Result<Response, AppError> {
    let Started { location, binding } = federation::start(&state.ctx, provider, intent, return_to, client).await?;
    Ok(with_cookies(axum::Json(Redirect { redirect: location }), [state.federation_cookie.set(&binding)]))
}

/// The caller's identities at providers, and whether the account has a password.
#[utoipa::path(get, path = "/api/me/identities", tag = "federation", security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = Identities), (status = 401, body = ErrorBody)))]
pub async fn my_identities(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<axum::Json<Identities>, AppError> {
    Ok(axum::Json(identities::list(&state.ctx, caller.user.id).await?))
}

/// Disconnects one of the caller's identities (needs a recent authentication).
#[utoipa::path(delete, path = "/api/me/identities/{id}", tag = "federation", security(("session" = []), ("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204, description = "Disconnected"), (status = 401, body = ErrorBody),
        (status = 403, description = "reauthentication_required, csrf_rejected", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "last_credential: the account would have no way to log in", body = ErrorBody)))]
pub async fn unlink_my_identity(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    PathId(id): PathId,
) -> Result<StatusCode, AppError> {
    identities::unlink(&state.ctx, &caller.user, &caller.proof, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's identities at providers (admin).
#[utoipa::path(get, path = "/api/users/{id}/identities", tag = "admin", security(("session" = []), ("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Identities), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn user_identities(
    State(state): State<AppState>,
    _admin: AdminUser,
    PathId(id): PathId,
) -> Result<axum::Json<Identities>, AppError> {
    Ok(axum::Json(identities::list(&state.ctx, id).await?))
}

/// Removes a user's identity (admin).
#[utoipa::path(delete, path = "/api/users/{id}/identities/{identity_id}", tag = "admin",
    security(("session" = []), ("bearer" = [])), params(("id" = i64, Path), ("identity_id" = i64, Path)),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "last_credential", body = ErrorBody)))]
pub async fn remove_user_identity(
    State(state): State<AppState>,
    admin: AdminUser,
    client: Client,
    Path((id, identity_id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let (Ok(id), Ok(identity_id)) = (id.parse::<i64>(), identity_id.parse::<i64>()) else {
        return Err(AppError::NotFound);
    };
    identities::remove_for_user(&state.ctx, &admin.0.user, id, identity_id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A browser's page navigation (a clicked button), not a script's request.
fn is_navigation(headers: &HeaderMap) -> bool {
    headers.get("sec-fetch-mode").is_some_and(|v| v.as_bytes() == b"navigate")
}
