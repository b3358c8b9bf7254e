//! What latchkey signs for an app: ID tokens (OpenID Connect Core §2), access tokens
//! (RFC 9068 `at+jwt`, with the app as their audience, so latchkey's own API refuses
//! them), and what UserInfo answers. Claims follow the granted scopes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha512};

use super::clients::Registered;
use super::{has_scope, OAuthError};
use crate::crypto::jwt::VerifyError;
use crate::crypto::provider_keys::SigningAlg;
use crate::crypto::token::new_token;
use crate::domain::User;
use crate::service::keys::issuer;
use crate::service::Ctx;

/// The JWS `typ` of an access token for an app.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The claims of an access token for an app.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The user's id; the client's id for a client-credentials token.
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The app login (refresh-token family) it belongs to; absent for client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

/// Who a login for an app is for, and how it authenticated.
pub struct Subject<'a> {
    pub user: &'a User,
    pub scope: &'a str,
    pub auth_time: i64,
    pub amr: &'a [String],
    pub login: i64,
}

/// The tokens an exchange answers.
#[derive(Debug, Serialize)]
pub struct Issued {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

/// An access token (RS256) for the client, and its lifetime.
pub async fn access_token(
    ctx: &Ctx,
    client: &Registered,
    sub: &str,
    scope: &str,
    login: Option<i64>,
    auth_time: Option<i64>,
) -> Result<(String, i64), OAuthError> {
    let now = ctx.now();
    let ttl = ctx.config.tokens.access_ttl.secs();
    let claims = AccessClaims {
        iss: issuer(&ctx.config),
        sub: sub.to_string(),
        aud: client.id().to_string(),
        client_id: client.id().to_string(),
        scope: scope.to_string(),
        iat: now,
        exp: now + ttl,
        jti: new_token()[..22].to_string(),
        sid: login.map(|l| l.to_string()),
        auth_time,
    };
    let keys = ctx.keys.provider().await?;
    Ok((keys.sign(SigningAlg::RS256, Some(ACCESS_TOKEN_TYP), &claims)?, ttl))
}

/// The ID token for `subject`, for the client, beside `access_token`.
pub async fn id_token(
    ctx: &Ctx,
    client: &Registered,
    subject: &Subject<'_>,
    nonce: Option<&str>,
    access_token: &str,
) -> Result<String, OAuthError> {
    let now = ctx.now();
    let alg = client.client.id_token_signed_response_alg;
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(issuer(&ctx.config)));
    claims.insert("sub".into(), json!(subject.user.id.to_string()));
    claims.insert("aud".into(), json!(client.id()));
    claims.insert("azp".into(), json!(client.id()));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + ctx.config.tokens.access_ttl.secs()));
    claims.insert("auth_time".into(), json!(subject.auth_time));
    claims.insert("sid".into(), json!(subject.login.to_string()));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    if !subject.amr.is_empty() {
        claims.insert("amr".into(), json!(subject.amr));
    }
    claims.insert("at_hash".into(), json!(at_hash(alg, access_token)));
    claims.extend(user_claims(subject.user, subject.scope));
    let keys = ctx.keys.provider().await?;
    Ok(keys.sign(alg, None, &Value::Object(claims))?)
}

/// The claims the scopes grant: `email` → `email`, `email_verified`; `profile` →
/// `preferred_username`; `roles` → `roles`.
pub fn user_claims(user: &User, scope: &str) -> Map<String, Value> {
    let mut claims = Map::new();
    if has_scope(scope, "email") {
        if let Some(email) = &user.email {
            claims.insert("email".into(), json!(email));
            claims.insert("email_verified".into(), json!(user.email_verified));
        }
    }
    if has_scope(scope, "profile") {
        claims.insert("preferred_username".into(), json!(user.username));
    }
    if has_scope(scope, "roles") {
        claims.insert("roles".into(), json!(user.roles.names()));
    }
    claims
}

/// The left half of the access token's hash (Core §3.1.3.6): SHA-256 for RS256,
/// SHA-512 for EdDSA with Ed25519.
fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        SigningAlg::RS256 => Sha256::digest(access_token.as_bytes()).to_vec(),
        SigningAlg::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// An access token latchkey gave an app, verified: signature, `typ`, issuer, expiry,
/// and that the login it belongs to still stands.
pub async fn verify_access_token(ctx: &Ctx, token: &str) -> Result<AccessClaims, OAuthError> {
    let keys = ctx.keys.provider().await?;
    let verified = keys.verify::<AccessClaims>(token, ACCESS_TOKEN_TYP, &issuer(&ctx.config), Some(ctx.now()));
    let claims = match verified {
        Err(VerifyError::UnknownKid) if ctx.keys.reload_for_unknown_kid().await? => {
            ctx.keys.provider().await?.verify(token, ACCESS_TOKEN_TYP, &issuer(&ctx.config), Some(ctx.now()))
        }
        other => other,
    }
    .map_err(|_| OAuthError::invalid_token())?;
    if claims.aud != claims.client_id {
        return Err(OAuthError::invalid_token());
    }
    if let Some(login) = &claims.sid {
        let login: i64 = login.parse().map_err(|_| OAuthError::invalid_token())?;
        if !ctx.store.app_login_live(login).await? {
            return Err(OAuthError::invalid_token());
        }
    }
    Ok(claims)
}

/// An ID token latchkey signed, expired or not (an `id_token_hint`): its subject and
/// audience.
pub async fn verify_id_token_hint(ctx: &Ctx, token: &str) -> Option<(String, String)> {
    let keys = ctx.keys.provider().await.ok()?;
    let claims: Value = keys.verify(token, "JWT", &issuer(&ctx.config), None).ok()?;
    let sub = claims["sub"].as_str()?.to_string();
    let aud = match &claims["aud"] {
        Value::String(a) => a.clone(),
        Value::Array(list) => list.first()?.as_str()?.to_string(),
        _ => return None,
    };
    Some((sub, aud))
}

/// UserInfo: `sub` and the claims of the token's scopes.
pub async fn userinfo(ctx: &Ctx, token: &str) -> Result<Value, OAuthError> {
    let claims = verify_access_token(ctx, token).await?;
    if claims.sid.is_none() {
        // A client-credentials token speaks for no user.
        return Err(OAuthError::invalid_token());
    }
    let user_id: i64 = claims.sub.parse().map_err(|_| OAuthError::invalid_token())?;
    let user = crate::service::users::user(ctx, user_id).await?.ok_or_else(OAuthError::invalid_token)?;
    let mut body = Map::new();
    body.insert("sub".into(), json!(claims.sub));
    body.extend(user_claims(&user, &claims.scope));
    Ok(Value::Object(body))
}
