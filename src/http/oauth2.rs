//! latchkey as an OpenID Provider (README "Log your other apps in with latchkey"): the
//! endpoints apps call (`/oauth2/*`, discovery), the JSON the web app's login and consent
//! pages use, the consents on the account page, and the admin API for clients.
//!
//! The app-facing endpoints speak OAuth's own error format (`{"error",
//! "error_description"}`), read form bodies, ignore cookies (but `authorize` and
//! `logout`, which are the browser's), and answer CORS to the clients' origins.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cookies::with_cookies;
use super::extract::{bearer_token, AdminUser, CurrentUser, Json, PathId};
use super::redirect;
use super::AppState;
use crate::error::{AppError, ErrorBody};
use crate::service::oauth2::authorize::{self, Browser, Next, RedirectTo, RequestInfo};
use crate::service::oauth2::clients::{self, NewClientRequest, OAuthClient, WithSecret};
use crate::service::oauth2::consents::{self, Consent};
use crate::service::oauth2::grants::{self, Presented};
use crate::service::oauth2::{self, logout, tokens, OAuthError};
use crate::service::stepup::Proof;
use crate::service::{html_escape, sessions, Client};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(discovery))
        .routes(routes!(authorization_server_metadata))
        .routes(routes!(authorize_page, authorize_form))
        .routes(routes!(token))
        .routes(routes!(userinfo, userinfo_form))
        .routes(routes!(revoke))
        .routes(routes!(introspect))
        .routes(routes!(end_session, end_session_form))
        .routes(routes!(request_info))
        .routes(routes!(accept))
        .routes(routes!(deny))
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, delete_client))
        .routes(routes!(rotate_secret))
        .routes(routes!(my_grants))
        .routes(routes!(revoke_grant))
}

/// The paths apps call from anywhere: no cookies, no CSRF origin check, CORS to the
/// registered clients' origins without credentials.
pub fn is_app_endpoint(path: &str) -> bool {
    matches!(
        path,
        "/oauth2/token"
            | "/oauth2/userinfo"
            | "/oauth2/revoke"
            | "/oauth2/introspect"
            | "/.well-known/openid-configuration"
            | "/.well-known/oauth-authorization-server"
            | "/.well-known/jwks.json"
    )
}

/// OpenID Connect Discovery 1.0 and RFC 8414 metadata.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "openid provider",
    responses((status = 200, description = "The provider's metadata (OpenID Connect Discovery)", content_type = "application/json")))]
pub async fn discovery(State(state): State<AppState>) -> Response {
    let body = oauth2::discovery(&state.ctx.config);
    ([(header::CACHE_CONTROL, "public, max-age=300")], axum::Json(body)).into_response()
}

/// The same metadata where OAuth 2.0 clients look for it (RFC 8414).
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "openid provider",
    responses((status = 200, description = "The provider's metadata (RFC 8414)", content_type = "application/json")))]
pub async fn authorization_server_metadata(state: State<AppState>) -> Response {
    discovery(state).await
}

/// The request's body as it came (a form, for the endpoints that take one).
pub struct RawBody(Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for RawBody {
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        Bytes::from_request(req, state).await.map(RawBody).map_err(|_| AppError::PayloadTooLarge { limit: "1 MiB" })
    }
}

/// The parameters of a GET's query or a POST's form body; a parameter given twice is
/// refused (RFC 6749 §3.1).
fn parameters(
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<HashMap<String, String>, String> {
    let raw: &[u8] = if method == Method::POST {
        let form = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            v.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
        if !form {
            return Err("send the parameters as application/x-www-form-urlencoded".into());
        }
        body
    } else {
        query.unwrap_or_default().as_bytes()
    };
    let mut params = HashMap::new();
    for (key, value) in url::form_urlencoded::parse(raw) {
        if params.insert(key.to_string(), value.to_string()).is_some() {
            return Err(format!("{key} was given more than once"));
        }
    }
    Ok(params)
}

/// The browser's cookie session, if any (only `authorize`, `logout` and the web app's
/// routes look at it).
async fn browser(state: &AppState, headers: &HeaderMap) -> Result<Option<Browser>, AppError> {
    let Some(token) = state.cookie.read(headers) else { return Ok(None) };
    Ok(sessions::authenticate(&state.ctx, token).await?.map(|s| Browser { user: s.user, session_id: s.session_id }))
}

/// An app sends the browser here to log in. Answers a redirect: back to the app (a code
/// or an error, with `state` and `iss`), or to the web app's `/login?oauth=<id>` or
/// `/consent?oauth=<id>`; for an unknown client or redirect URI, a page of its own.
#[utoipa::path(get, path = "/oauth2/authorize", tag = "openid provider",
    params(("client_id" = String, Query), ("redirect_uri" = String, Query), ("response_type" = String, Query, description = "code"),
        ("scope" = String, Query, description = "openid, and any of email profile roles offline_access"),
        ("state" = Option<String>, Query), ("nonce" = Option<String>, Query),
        ("code_challenge" = String, Query, description = "PKCE, S256"), ("code_challenge_method" = String, Query, description = "S256"),
        ("prompt" = Option<String>, Query, description = "none, login or consent"), ("max_age" = Option<u32>, Query),
        ("login_hint" = Option<String>, Query), ("id_token_hint" = Option<String>, Query)),
    responses((status = 302, description = "To the app's redirect URI (code or error, state, iss), or to the web app's login or consent page"),
        (status = 400, description = "A page: the client or its redirect URI is not registered (nobody is redirected)", content_type = "text/html")))]
pub async fn authorize_page(
    State(state): State<AppState>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, AppError> {
    let params = match parameters(&method, query.as_deref(), &headers, &body) {
        Ok(params) => params,
        Err(problem) => return Ok(page(StatusCode::BAD_REQUEST, "This sign-in link is broken", &problem, None)),
    };
    let browser = browser(&state, &headers).await?;
    Ok(match authorize::authorize(&state.ctx, &params, browser).await? {
        Next::ToApp(location) | Next::ToWebApp(location) => redirect(StatusCode::FOUND, &location)?,
        Next::Refused(why) => page(StatusCode::BAD_REQUEST, "This sign-in link is broken", &why, None),
    })
}

/// `POST /oauth2/authorize`: the same request as a form (Core §3.1.2.1); an app's page
/// posts it, so it skips the CSRF origin check.
#[utoipa::path(post, path = "/oauth2/authorize", tag = "openid provider",
    request_body(content_type = "application/x-www-form-urlencoded", content = String, description = "The parameters of GET /oauth2/authorize"),
    responses((status = 302, description = "As GET /oauth2/authorize"),
        (status = 400, description = "A page: the client or its redirect URI is not registered, or the body is not a form", content_type = "text/html")))]
pub async fn authorize_form(
    state: State<AppState>,
    method: Method,
    query: RawQuery,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, AppError> {
    authorize_page(state, method, query, headers, body).await
}

/// The token endpoint: `authorization_code` (with the PKCE verifier), `refresh_token`
/// (rotated; a reused one ends the login), `client_credentials` (confidential clients).
#[utoipa::path(post, path = "/oauth2/token", operation_id = "oauth2_token", tag = "openid provider",
    request_body(content_type = "application/x-www-form-urlencoded", content = String,
        description = "grant_type, code, redirect_uri, code_verifier, refresh_token, scope, client_id, client_secret"),
    responses((status = 200, description = "access_token, token_type, expires_in, id_token, refresh_token, scope", content_type = "application/json"),
        (status = 400, description = "invalid_request, invalid_grant, unsupported_grant_type, unauthorized_client, invalid_scope", content_type = "application/json"),
        (status = 401, description = "invalid_client", content_type = "application/json")))]
pub async fn token(State(state): State<AppState>, client: Client, form: ClientForm) -> Response {
    answer(grants::token(&state.ctx, &form.presented, &form.params, &client).await.map(axum::Json))
}

/// UserInfo: the user's claims for the access token's scopes. The token comes in the
/// `Authorization` header, or (POST) as the form's `access_token`.
#[utoipa::path(get, path = "/oauth2/userinfo", tag = "openid provider",
    responses((status = 200, description = "sub, and email, email_verified, preferred_username, roles by scope", content_type = "application/json"),
        (status = 401, description = "No valid access token (WWW-Authenticate: Bearer error=\"invalid_token\")", content_type = "application/json")))]
pub async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let from_body = if method == Method::POST && !body.is_empty() {
        parameters(&method, None, &headers, &body).ok().and_then(|mut f| f.remove("access_token"))
    } else {
        None
    };
    let token = bearer_token(&headers).map(str::to_string).or(from_body);
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "invalid_request", "error_description": "send an access token"})),
        )
            .into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"latchkey\""));
        return response;
    };
    answer(tokens::userinfo(&state.ctx, &token).await.map(axum::Json))
}

/// UserInfo by POST: the token in the `Authorization` header or the form's `access_token`.
#[utoipa::path(post, path = "/oauth2/userinfo", tag = "openid provider",
    request_body(content_type = "application/x-www-form-urlencoded", content = String, description = "access_token (or send it in the Authorization header)"),
    responses((status = 200, description = "As GET /oauth2/userinfo", content_type = "application/json"),
        (status = 401, description = "No valid access token", content_type = "application/json")))]
pub async fn userinfo_form(state: State<AppState>, method: Method, headers: HeaderMap, body: RawBody) -> Response {
    userinfo(state, method, headers, body).await
}

/// RFC 7009: ends the login of a refresh or access token the client holds. 200 for
/// unknown tokens too.
#[utoipa::path(post, path = "/oauth2/revoke", tag = "openid provider",
    request_body(content_type = "application/x-www-form-urlencoded", content = String, description = "token, token_type_hint, client authentication"),
    responses((status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, description = "invalid_request: no token, or the body is not a form", content_type = "application/json"),
        (status = 401, description = "invalid_client", content_type = "application/json")))]
pub async fn revoke(State(state): State<AppState>, client: Client, form: ClientForm) -> Response {
    answer(grants::revoke(&state.ctx, &form.presented, form.token(), &client).await.map(|()| StatusCode::OK))
}

/// RFC 7662, for confidential clients: whether a token is active, and what it says.
#[utoipa::path(post, path = "/oauth2/introspect", tag = "openid provider",
    request_body(content_type = "application/x-www-form-urlencoded", content = String, description = "token, client authentication"),
    responses((status = 200, description = "{\"active\": bool, …}", content_type = "application/json"),
        (status = 400, description = "invalid_request: the body is not a form", content_type = "application/json"),
        (status = 401, description = "invalid_client (public clients too)", content_type = "application/json")))]
pub async fn introspect(State(state): State<AppState>, form: ClientForm) -> Response {
    answer(grants::introspect(&state.ctx, &form.presented, form.token()).await.map(axum::Json))
}

/// RP-initiated logout: with an `id_token_hint` naming the browser's user the session
/// ends at once; otherwise a page asks first. Then back to the app's registered
/// `post_logout_redirect_uri` (with `state`), or to latchkey's home page.
#[utoipa::path(get, path = "/oauth2/logout", tag = "openid provider",
    params(("id_token_hint" = Option<String>, Query), ("post_logout_redirect_uri" = Option<String>, Query),
        ("state" = Option<String>, Query), ("client_id" = Option<String>, Query)),
    responses((status = 302, description = "Logged out (or nothing to log out): to the post-logout redirect URI"),
        (status = 200, description = "A page asking to confirm the logout", content_type = "text/html"),
        (status = 400, description = "A page: the post-logout redirect URI is not registered", content_type = "text/html")))]
pub async fn end_session(
    State(state): State<AppState>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    client: Client,
    RawBody(body): RawBody,
) -> Result<Response, AppError> {
    let params = match parameters(&method, query.as_deref(), &headers, &body) {
        Ok(params) => params,
        Err(problem) => return Ok(page(StatusCode::BAD_REQUEST, "This logout link is broken", &problem, None)),
    };
    let checked = match logout::check(&state.ctx, &params).await? {
        Ok(checked) => checked,
        Err(why) => return Ok(page(StatusCode::BAD_REQUEST, "This logout link is broken", &why, None)),
    };
    let Some(token) = state.cookie.read(&headers) else { return redirect(StatusCode::FOUND, &checked.back_to) };
    let Some(session) = sessions::authenticate(&state.ctx, token).await? else {
        return redirect(StatusCode::FOUND, &checked.back_to);
    };
    let confirmed = method == Method::POST && params.get("confirm").map(String::as_str) == Some("yes");
    if confirmed || checked.hinted_user.as_deref() == Some(session.user.id.to_string().as_str()) {
        sessions::end(&state.ctx, token, &client).await?;
        return Ok(with_cookies(redirect(StatusCode::FOUND, &checked.back_to)?, [state.cookie.clear()]));
    }
    let mut hidden: Vec<(String, String)> = params.into_iter().filter(|(k, _)| k != "confirm").collect();
    hidden.sort();
    hidden.push(("confirm".into(), "yes".into()));
    let text = format!("You are logged in to latchkey as {}. Log out?", session.user.username);
    Ok(page(StatusCode::OK, "Log out of latchkey?", &text, Some(&hidden)))
}

/// The logout page's confirmation (and apps' form posts of the same parameters).
#[utoipa::path(post, path = "/oauth2/logout", tag = "openid provider",
    request_body(content_type = "application/x-www-form-urlencoded", content = String,
        description = "The parameters of GET /oauth2/logout, and `confirm=yes` from the confirmation page"),
    responses((status = 302, description = "Logged out (or nothing to log out): to the post-logout redirect URI"),
        (status = 200, description = "A page asking to confirm the logout", content_type = "text/html"),
        (status = 400, description = "A page: the post-logout redirect URI is not registered, or the body is not a form", content_type = "text/html"),
        (status = 403, description = "csrf_rejected: a confirmation posted from another origin", content_type = "application/json")))]
pub async fn end_session_form(
    state: State<AppState>,
    method: Method,
    query: RawQuery,
    headers: HeaderMap,
    client: Client,
    body: RawBody,
) -> Result<Response, AppError> {
    end_session(state, method, query, headers, client, body).await
}

/// A waiting authorization request, for the web app's login and consent pages.
#[utoipa::path(get, path = "/api/oauth2/requests/{id}", tag = "openid provider",
    params(("id" = String, Path, description = "The `oauth` parameter of /login?oauth=… or /consent?oauth=…")),
    responses((status = 200, body = RequestInfo), (status = 404, description = "Unknown or expired (10 minutes)", body = ErrorBody)))]
pub async fn request_info(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<axum::Json<RequestInfo>, AppError> {
    let browser = browser(&state, &headers).await?;
    Ok(axum::Json(authorize::request_info(&state.ctx, &id, browser).await?))
}

/// The user allows the app: the web app sends the browser to `redirect_to` (the app's
/// redirect URI with a code). Needs the browser's cookie session.
#[utoipa::path(post, path = "/api/oauth2/requests/{id}/accept", tag = "openid provider",
    params(("id" = String, Path)),
    responses((status = 200, body = RedirectTo),
        (status = 401, description = "unauthorized (no session), login_required (the app asks for a newer login)", body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody),
        (status = 404, description = "Unknown, expired or already answered", body = ErrorBody)))]
pub async fn accept(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: CurrentUser,
    client: Client,
) -> Result<axum::Json<RedirectTo>, AppError> {
    let Proof::Session(session_id) = caller.proof else { return Err(AppError::Unauthorized) };
    let browser = Browser { user: caller.user, session_id };
    Ok(axum::Json(authorize::accept(&state.ctx, &id, browser, &client).await?))
}

/// The user refuses: `redirect_to` tells the app `access_denied`.
#[utoipa::path(post, path = "/api/oauth2/requests/{id}/deny", tag = "openid provider",
    params(("id" = String, Path)),
    responses((status = 200, body = RedirectTo), (status = 404, description = "Unknown, expired or already answered", body = ErrorBody)))]
pub async fn deny(State(state): State<AppState>, Path(id): Path<String>) -> Result<axum::Json<RedirectTo>, AppError> {
    Ok(axum::Json(authorize::deny(&state.ctx, &id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ClientList {
    clients: Vec<OAuthClient>,
}

#[utoipa::path(get, path = "/api/oauth2/clients", tag = "openid provider",
    responses((status = 200, body = ClientList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_clients(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> Result<axum::Json<ClientList>, AppError> {
    Ok(axum::Json(ClientList { clients: clients::list(&state.ctx).await? }))
}

/// Registers an app. A confidential client's `client_secret` is in this answer only.
#[utoipa::path(post, path = "/api/oauth2/clients", tag = "openid provider", request_body = NewClientRequest,
    responses((status = 201, body = WithSecret), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_client(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    client: Client,
    Json(req): Json<NewClientRequest>,
) -> Result<(StatusCode, axum::Json<WithSecret>), AppError> {
    let created = clients::create(&state.ctx, req, Some(admin.user.id), &client).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

#[utoipa::path(get, path = "/api/oauth2/clients/{client_id}", tag = "openid provider",
    params(("client_id" = String, Path)),
    responses((status = 200, body = OAuthClient), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_client(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(client_id): Path<String>,
) -> Result<axum::Json<OAuthClient>, AppError> {
    Ok(axum::Json(clients::get(&state.ctx, &client_id).await?))
}

/// Deletes an app: its consents, codes and every login through it end.
#[utoipa::path(delete, path = "/api/oauth2/clients/{client_id}", tag = "openid provider",
    params(("client_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_client(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(client_id): Path<String>,
    client: Client,
) -> Result<StatusCode, AppError> {
    clients::delete(&state.ctx, &client_id, Some(admin.user.id), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret for a confidential client, shown in this answer only; the old one stops
/// working at once.
#[utoipa::path(post, path = "/api/oauth2/clients/{client_id}/secret", tag = "openid provider",
    params(("client_id" = String, Path)),
    responses((status = 200, body = WithSecret), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "public_client: a public client has no secret", body = ErrorBody)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(client_id): Path<String>,
    client: Client,
) -> Result<axum::Json<WithSecret>, AppError> {
    Ok(axum::Json(clients::rotate_secret(&state.ctx, &client_id, Some(admin.user.id), &client).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ConsentList {
    grants: Vec<Consent>,
}

/// The apps the caller allowed.
#[utoipa::path(get, path = "/api/me/grants", tag = "openid provider",
    responses((status = 200, body = ConsentList), (status = 401, body = ErrorBody)))]
pub async fn my_grants(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<axum::Json<ConsentList>, AppError> {
    Ok(axum::Json(ConsentList { grants: consents::list(&state.ctx, caller.user.id).await? }))
}

/// Revokes an app's access: the consent is forgotten and the app's logins end.
#[utoipa::path(delete, path = "/api/me/grants/{id}", tag = "openid provider",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_grant(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathId(id): PathId,
    client: Client,
) -> Result<StatusCode, AppError> {
    consents::revoke(&state.ctx, caller.user.id, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A client's form post to an app endpoint: its parameters and its credentials. A body
/// that is not a form is answered `invalid_request`.
pub struct ClientForm {
    params: HashMap<String, String>,
    presented: Presented,
}

impl ClientForm {
    fn token(&self) -> Option<&str> {
        self.params.get("token").map(String::as_str)
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for ClientForm {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let (method, headers) = (req.method().clone(), req.headers().clone());
        let RawBody(body) = RawBody::from_request(req, state).await.map_err(IntoResponse::into_response)?;
        let params = parameters(&method, None, &headers, &body)
            .map_err(|problem| oauth_error(OAuthError::invalid_request(problem)))?;
        let presented = presented(&headers, &params).map_err(oauth_error)?;
        Ok(ClientForm { params, presented })
    }
}

/// An app endpoint's answer: never cached, errors in OAuth's format.
fn answer(result: Result<impl IntoResponse, OAuthError>) -> Response {
    match result {
        Ok(body) => no_store(body),
        Err(e) => oauth_error(e),
    }
}

/// The client's credentials from the `Authorization: Basic` header (each half
/// form-decoded, RFC 6749 §2.3.1) and the form.
fn presented(headers: &HeaderMap, form: &HashMap<String, String>) -> Result<Presented, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(value) if value.len() > 6 && value[..6].eq_ignore_ascii_case("basic ") => {
            let decoded = STANDARD.decode(value[6..].trim()).map_err(|_| OAuthError::invalid_client())?;
            let text = String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client())?;
            let (id, secret) = text.split_once(':').ok_or_else(OAuthError::invalid_client)?;
            Some((form_decode(id), form_decode(secret)))
        }
        _ => None,
    };
    Ok(Presented {
        basic,
        client_id: form.get("client_id").cloned(),
        client_secret: form.get("client_secret").cloned(),
    })
}

fn form_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn oauth_error(e: OAuthError) -> Response {
    match e {
        OAuthError::Internal(e) => e.into_response(),
        OAuthError::Protocol { status, error, description } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            let body = serde_json::json!({"error": error, "error_description": description});
            let mut response = no_store((status, axum::Json(body)));
            let challenge = match error {
                "invalid_client" => Some("Basic realm=\"latchkey\"".to_string()),
                "invalid_token" => Some(format!(
                    "Bearer realm=\"latchkey\", error=\"invalid_token\", error_description=\"{description}\""
                )),
                _ => None,
            };
            if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
    }
}

/// A page of latchkey's own (no script, no third-party asset, never framed): a refusal,
/// or with `form` a confirmation that posts those fields back.
fn page(status: StatusCode, title: &str, text: &str, form: Option<&[(String, String)]>) -> Response {
    let mut html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t}</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2937}}\
         button{{font:inherit;padding:.5rem 1rem}}</style></head><body><main><h1>{t}</h1><p>{x}</p>",
        t = html_escape(title),
        x = html_escape(text)
    );
    if let Some(fields) = form {
        html.push_str("<form method=\"post\" action=\"/oauth2/logout\">");
        for (k, v) in fields {
            html.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", html_escape(k), html_escape(v)));
        }
        html.push_str("<button type=\"submit\">Log out</button> <a href=\"/\">Stay logged in</a></form>");
    } else {
        html.push_str("<p>Go back to the app and try again, or tell its administrator.</p>");
    }
    html.push_str("</main></body></html>");
    let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The JWKS: latchkey's own token keys, and the OpenID Provider's once it has clients.
pub async fn jwks_keys(state: &AppState) -> Result<Value, AppError> {
    let mut body = state.ctx.keys.current().jwks();
    if state.ctx.keys.provider_loaded() || state.ctx.store.has_oauth_clients().await? {
        let provider = state.ctx.keys.provider().await.map_err(AppError::Internal)?;
        if let Some(keys) = body["keys"].as_array_mut() {
            for jwk in provider.jwks() {
                if !keys.iter().any(|k| k["kid"] == jwk["kid"]) {
                    keys.push(jwk);
                }
            }
        }
    }
    Ok(body)
}
