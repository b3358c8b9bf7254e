//! API.md "Passkeys": registering, listing and removing passkeys, and logging in with
//! one (session cookie or tokens).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, SchemaType, Type};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cookies::with_cookies;
use super::extract::{CurrentUser, Json, PathId};
use super::AppState;
use crate::domain::User;
use crate::error::{AppError, ErrorBody};
use crate::service::login::{self, Issue};
use crate::service::passkeys::{self, Ceremony, PasskeyInfo, PasskeyList};
use crate::service::reauth::{self, Reauthenticated};
use crate::service::tokens::TokenPair;
use crate::service::Client;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_passkey, my_passkeys))
        .routes(routes!(begin_registration))
        .routes(routes!(remove_passkey))
        .routes(routes!(begin_login))
        .routes(routes!(login_with_passkey))
        .routes(routes!(token_with_passkey))
        .routes(routes!(begin_reauthentication))
        .routes(routes!(reauthenticate_with_passkey))
}

#[derive(Deserialize, ToSchema)]
pub struct AddPasskeyRequest {
    /// The `ceremony` of `POST /api/me/passkeys/registration` (43 characters; 401
    /// `invalid_challenge` when it is not a live one of the caller's).
    #[schema(value_type = String, required = true, min_length = 43, max_length = 43, pattern = r"^[A-Za-z0-9_-]*$")]
    ceremony: Option<String>,
    /// What the owner calls it: 1 to 64 characters once surrounding whitespace is
    /// trimmed, no control characters (422 otherwise).
    #[schema(example = "Laptop", value_type = String, required = true, min_length = 1,
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]{0,62}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    name: Option<String>,
    /// `navigator.credentials.create`'s answer as JSON (422 when it is not that shape).
    #[schema(schema_with = registration_credential, required = true)]
    credential: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
pub struct PasskeyLoginRequest {
    /// The `ceremony` of the matching `…/passkey/options` route (43 characters; 401
    /// `invalid_challenge` when it is not a live one).
    #[schema(value_type = String, required = true, min_length = 43, max_length = 43, pattern = r"^[A-Za-z0-9_-]*$")]
    ceremony: Option<String>,
    /// `navigator.credentials.get`'s answer as JSON (422 when it is not that shape).
    #[schema(schema_with = assertion_credential, required = true)]
    credential: Option<serde_json::Value>,
}

// The shapes of the browser's answers as latchkey reads them (webauthn-rs's
// `PublicKeyCredential` and `RegisterPublicKeyCredential`): binary fields in base64url,
// unknown fields ignored, `extensions` also accepted as `clientExtensionResults`.

/// Base64url without padding; the last character carries no stray bits.
const BASE64URL: &str = r"^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$";

fn typed(types: &[Type]) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(types.iter().cloned().collect::<SchemaType>())
}

fn base64url(nullable: bool) -> ObjectBuilder {
    let types: &[Type] = if nullable { &[Type::String, Type::Null] } else { &[Type::String] };
    typed(types).pattern(Some(BASE64URL))
}

fn object(nullable: bool) -> ObjectBuilder {
    typed(if nullable { &[Type::Object, Type::Null] } else { &[Type::Object] })
}

fn credential(response: ObjectBuilder, extensions: ObjectBuilder, description: &str) -> Object {
    object(false)
        .description(Some(description))
        .property("id", typed(&[Type::String]))
        .required("id")
        .property("rawId", base64url(false))
        .required("rawId")
        .property("type", typed(&[Type::String]).examples([json!("public-key")]))
        .required("type")
        .property("response", response)
        .required("response")
        .property("extensions", extensions)
        .build()
}

/// `navigator.credentials.get`'s answer (`PublicKeyCredential.toJSON()`).
pub(super) fn assertion_credential() -> Object {
    let response = object(false)
        .property("authenticatorData", base64url(false))
        .required("authenticatorData")
        .property("clientDataJSON", base64url(false))
        .required("clientDataJSON")
        .property("signature", base64url(false))
        .required("signature")
        .property("userHandle", base64url(true));
    let hmac =
        object(true).property("output1", base64url(false)).required("output1").property("output2", base64url(true));
    let extensions =
        object(false).property("appid", typed(&[Type::Boolean, Type::Null])).property("hmac_get_secret", hmac);
    credential(response, extensions, "A passkey assertion, binary fields in base64url")
}

/// `navigator.credentials.create`'s answer (`PublicKeyCredential.toJSON()`).
fn registration_credential() -> Object {
    let response = object(false)
        .property("attestationObject", base64url(false))
        .required("attestationObject")
        .property("clientDataJSON", base64url(false))
        .required("clientDataJSON")
        .property(
            "transports",
            ArrayBuilder::new()
                .schema_type([Type::Array, Type::Null].into_iter().collect::<SchemaType>())
                .items(typed(&[Type::String])),
        );
    let policies =
        ["userVerificationOptional", "userVerificationOptionalWithCredentialIDList", "userVerificationRequired"];
    // `minPinLength` is only described: JSON Schema's integers include 4.0, which the
    // server (serde, a `u32`) refuses; browsers never write a number that way.
    let extensions = object(false)
        .description(Some("Also `minPinLength`: a whole number from 0 to 4294967295, written without a fraction"))
        .property("appid", typed(&[Type::Boolean, Type::Null]))
        .property("credProps", object(true).property("rk", typed(&[Type::Boolean, Type::Null])))
        .property("hmacSecret", typed(&[Type::Boolean, Type::Null]))
        .property(
            "credProtect",
            typed(&[Type::String, Type::Null]).enum_values(Some(policies.map(Some).into_iter().chain([None]))),
        );
    credential(response, extensions, "A new passkey's attestation, binary fields in base64url")
}

/// The caller's passkeys.
#[utoipa::path(get, path = "/api/me/passkeys", tag = "passkeys", security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = PasskeyList), (status = 401, body = ErrorBody)))]
pub async fn my_passkeys(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<axum::Json<PasskeyList>, AppError> {
    Ok(axum::Json(passkeys::list(&state.ctx, caller.user.id).await?))
}

/// Starts registering a passkey: the options for `navigator.credentials.create` and the
/// ceremony to finish at `POST /api/me/passkeys` within 5 minutes.
#[utoipa::path(post, path = "/api/me/passkeys/registration", tag = "passkeys", security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = Ceremony), (status = 401, body = ErrorBody),
        (status = 403, description = "reauthentication_required, or csrf_rejected", body = ErrorBody),
        (status = 404, description = "passkeys are off on this server", body = ErrorBody),
        (status = 422, description = "the account holds 20 passkeys already", body = ErrorBody)))]
pub async fn begin_registration(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<axum::Json<Ceremony>, AppError> {
    Ok(axum::Json(passkeys::begin_registration(&state.ctx, &caller.user, &caller.proof).await?))
}

/// Finishes a registration: verifies the new credential and keeps it under its name.
#[utoipa::path(post, path = "/api/me/passkeys", tag = "passkeys", request_body = AddPasskeyRequest,
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, description = "Registered", body = PasskeyInfo),
        (status = 400, description = "invalid_passkey (the credential does not verify), or a malformed body", body = ErrorBody),
        (status = 401, description = "unauthorized; invalid_challenge (the ceremony is unknown, expired, used or another account's)", body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody),
        (status = 404, description = "passkeys are off on this server", body = ErrorBody),
        (status = 409, description = "passkey_exists", body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn add_passkey(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    Json(req): Json<AddPasskeyRequest>,
) -> Result<(StatusCode, axum::Json<PasskeyInfo>), AppError> {
    let added = passkeys::finish_registration(
        &state.ctx,
        &caller.user,
        req.ceremony.as_deref(),
        req.name.as_deref(),
        req.credential.as_ref(),
        &client,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(added)))
}

/// Removes one of the caller's passkeys.
#[utoipa::path(delete, path = "/api/me/passkeys/{id}", tag = "passkeys", security(("session" = []), ("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody),
        (status = 403, description = "reauthentication_required, or csrf_rejected", body = ErrorBody),
        (status = 404, description = "no such passkey of the caller's", body = ErrorBody)))]
pub async fn remove_passkey(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    PathId(id): PathId,
) -> Result<StatusCode, AppError> {
    passkeys::remove(&state.ctx, &caller.user, &caller.proof, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts a login with a passkey, no username needed: the options for
/// `navigator.credentials.get` and the ceremony to finish at `POST /api/login/passkey`
/// or `POST /api/token/passkey` within 5 minutes.
#[utoipa::path(post, path = "/api/login/passkey/options", tag = "passkeys",
    responses((status = 200, body = Ceremony), (status = 403, description = "csrf_rejected", body = ErrorBody),
        (status = 404, description = "passkeys are off on this server", body = ErrorBody),
        (status = 429, description = "rate_limited, with Retry-After", body = ErrorBody)))]
pub async fn begin_login(State(state): State<AppState>, client: Client) -> Result<axum::Json<Ceremony>, AppError> {
    Ok(axum::Json(passkeys::begin_login(&state.ctx, &client).await?))
}

/// Logs in with a passkey and sets the session cookie, exactly as `POST /api/login`
/// does. A passkey login is complete even for an account with TOTP.
#[utoipa::path(post, path = "/api/login/passkey", tag = "passkeys", request_body = PasskeyLoginRequest,
    responses((status = 200, description = "Logged in; sets a new session cookie", body = User),
        (status = 400, body = ErrorBody),
        (status = 401, description = "invalid_passkey (unknown or removed passkey, or it does not verify); invalid_challenge", body = ErrorBody),
        (status = 403, description = "csrf_rejected, or email_not_verified", body = ErrorBody),
        (status = 404, description = "passkeys are off on this server", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "rate_limited, with Retry-After", body = ErrorBody)))]
pub async fn login_with_passkey(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Json(req): Json<PasskeyLoginRequest>,
) -> Result<Response, AppError> {
    let previous = state.cookie.read(&headers);
    let issue = Issue::Session { previous_token: previous };
    let (user, issued) =
        login::with_passkey(&state.ctx, req.ceremony.as_deref(), req.credential.as_ref(), issue, &client)
            .await?
            .into_session()?;
    Ok(with_cookies(axum::Json(user), [state.cookie.set(&issued.token)]))
}

/// Logs in with a passkey and answers tokens, exactly as `POST /api/token` does.
#[utoipa::path(post, path = "/api/token/passkey", tag = "passkeys", request_body = PasskeyLoginRequest,
    responses((status = 200, body = TokenPair), (status = 400, body = ErrorBody),
        (status = 401, description = "invalid_passkey; invalid_challenge", body = ErrorBody),
        (status = 403, description = "email_not_verified", body = ErrorBody),
        (status = 404, description = "passkeys are off on this server", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "rate_limited, with Retry-After", body = ErrorBody)))]
pub async fn token_with_passkey(
    State(state): State<AppState>,
    client: Client,
    Json(req): Json<PasskeyLoginRequest>,
) -> Result<axum::Json<TokenPair>, AppError> {
    let minted =
        login::with_passkey(&state.ctx, req.ceremony.as_deref(), req.credential.as_ref(), Issue::Tokens, &client)
            .await?;
    Ok(axum::Json(minted.into_tokens()?))
}

/// Starts a re-authentication (step-up) with one of the caller's passkeys: the options
/// for `navigator.credentials.get` and the ceremony to finish at
/// `POST /api/reauthenticate/passkey` within 5 minutes.
#[utoipa::path(post, path = "/api/reauthenticate/passkey/options", tag = "passkeys",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = Ceremony), (status = 401, body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody),
        (status = 404, description = "passkeys are off on this server, or the caller has none", body = ErrorBody)))]
pub async fn begin_reauthentication(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<axum::Json<Ceremony>, AppError> {
    Ok(axum::Json(passkeys::begin_reauthentication(&state.ctx, &caller.user).await?))
}

/// Proves again who the caller is with a passkey, as `POST /api/reauthenticate` does
/// with the password: sensitive changes are allowed for `security.step_up_window`.
#[utoipa::path(post, path = "/api/reauthenticate/passkey", tag = "passkeys", request_body = PasskeyLoginRequest,
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, description = "Renewed; with a Bearer token, carries a new access token", body = Reauthenticated),
        (status = 400, body = ErrorBody),
        (status = 401, description = "unauthorized; invalid_passkey; invalid_challenge (the ceremony is unknown, expired, used or another account's)", body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody),
        (status = 404, description = "passkeys are off on this server", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reauthenticate_with_passkey(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    Json(req): Json<PasskeyLoginRequest>,
) -> Result<axum::Json<Reauthenticated>, AppError> {
    let done = reauth::reauthenticate_with_passkey(
        &state.ctx,
        &caller.user,
        &caller.proof,
        req.ceremony.as_deref(),
        req.credential.as_ref(),
        &client,
    )
    .await?;
    Ok(axum::Json(done))
}
