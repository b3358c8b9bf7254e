//! The token endpoint (RFC 6749 §3.2) and its neighbours: a code exchanged once for
//! tokens, refresh tokens rotated with reuse detection (for public clients too), client
//! credentials, revocation (RFC 7009) and introspection (RFC 7662).

use std::collections::HashMap;

use serde_json::{json, Value};

use super::authorize::{pkce_matches, CodeGrant};
use super::clients::{self, Registered};
use super::tokens::{self, Issued, Subject};
use super::{has_scope, scope_list, scope_text, OAuthError};
use crate::crypto::token::{looks_like_token, new_token, token_hash};
use crate::service::audit::{self, Event, Kind};
use crate::service::keys::issuer;
use crate::service::{users, Change, Client, Ctx};
use crate::store::oauth2::NewAppLogin;

/// How a client presented itself: HTTP Basic (both halves already form-decoded) and/or
/// the form's `client_id` and `client_secret`.
#[derive(Default)]
pub struct Presented {
    pub basic: Option<(String, String)>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// The client, authenticated: by its secret (`client_secret_basic` or
/// `client_secret_post`), or for a public client by its id alone.
pub async fn authenticate_client(ctx: &Ctx, presented: &Presented) -> Result<Registered, OAuthError> {
    let (id, secret) = match (&presented.basic, &presented.client_secret) {
        (Some(_), Some(_)) => return Err(OAuthError::invalid_request("use one way to authenticate the client")),
        (Some((id, secret)), None) => {
            if presented.client_id.as_ref().is_some_and(|form_id| form_id != id) {
                return Err(OAuthError::invalid_request("client_id differs from the Authorization header's"));
            }
            (id.as_str(), Some(secret.as_str()))
        }
        (None, secret) => {
            let Some(id) = presented.client_id.as_deref() else { return Err(OAuthError::invalid_client()) };
            (id, secret.as_deref())
        }
    };
    let client = clients::find(ctx, id).await?.ok_or_else(OAuthError::invalid_client)?;
    let ok = match secret {
        Some(secret) => client.secret_matches(secret),
        None => client.is_public(),
    };
    if !ok {
        return Err(OAuthError::invalid_client());
    }
    Ok(client)
}

/// `POST /oauth2/token`.
pub async fn token(
    ctx: &Ctx,
    presented: &Presented,
    form: &HashMap<String, String>,
    who: &Client,
) -> Result<Issued, OAuthError> {
    let get = |key: &str| form.get(key).map(String::as_str).filter(|v| !v.is_empty());
    let grant_type = get("grant_type").ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    if !matches!(grant_type, "authorization_code" | "refresh_token" | "client_credentials") {
        return Err(OAuthError::protocol(400, "unsupported_grant_type", "grant_type is not supported"));
    }
    let client = authenticate_client(ctx, presented).await?;
    match grant_type {
        "authorization_code" => {
            exchange_code(ctx, &client, get("code"), get("redirect_uri"), get("code_verifier"), who).await
        }
        "refresh_token" => refresh(ctx, &client, get("refresh_token"), get("scope"), who).await,
        _ => client_credentials(ctx, &client, get("scope")).await,
    }
}

async fn exchange_code(
    ctx: &Ctx,
    client: &Registered,
    code: Option<&str>,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    who: &Client,
) -> Result<Issued, OAuthError> {
    let code = code.ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let hash = token_hash(code);
    let mut change = ctx.begin().await?;
    let now = change.now;
    let Some(row) = change.spend_oauth_code(&hash, now).await? else {
        // Spent before: whatever that exchange issued is revoked (RFC 6749 §4.1.2).
        if let Some(Some(login)) = change.spent_code_login(&hash).await? {
            change.revoke_family(login, now).await?;
            audit::record(
                &mut change,
                Event::new(Kind::TokenReuseDetected, who)
                    .detail(json!({"client_id": client.id(), "code_replayed": true})),
            )
            .await?;
            change.commit().await?;
            tracing::warn!(client_id = client.id(), login, "authorization code replayed: its tokens are revoked");
        }
        return Err(OAuthError::invalid_grant("the code is not valid (unknown, used or expired)"));
    };
    // From here on the code is spent, whether the exchange succeeds or not.
    let grant: CodeGrant = serde_json::from_str(&row.grant_data).map_err(|e| anyhow::anyhow!("code grant: {e}"))?;
    let refusal = if row.client_id != client.id() {
        Some("the code was issued to another client")
    } else if row.expires_at <= now {
        Some("the code expired")
    } else if redirect_uri != Some(grant.redirect_uri.as_str()) {
        Some("redirect_uri differs from the authorization request's")
    } else if !verifier.is_some_and(|v| pkce_matches(v, &grant.code_challenge)) {
        Some("code_verifier does not match the code_challenge")
    } else {
        None
    };
    // The login the code came from must still stand, and stands until this commits: a
    // logout racing the exchange waits for it and then ends the app login it made.
    let refusal = match refusal {
        None if !change.hold_session(grant.session_id).await? => Some("the login the code came from has ended"),
        other => other,
    };
    if let Some(refusal) = refusal {
        change.commit().await?;
        return Err(OAuthError::invalid_grant(refusal));
    }
    let user = users::user(ctx, row.user_id).await?.ok_or_else(|| OAuthError::invalid_grant("the account is gone"))?;
    let login = change
        .insert_app_login(&NewAppLogin {
            user_id: user.id,
            client_id: client.id(),
            scope: &grant.scope,
            session_id: Some(grant.session_id),
            offline: has_scope(&grant.scope, "offline_access"),
            auth_at: grant.auth_time,
            amr: &grant.amr.join(" "),
            ip: &who.ip.to_string(),
            user_agent: who.stored_user_agent(),
            now,
        })
        .await?;
    change.set_code_login(&hash, login).await?;
    let refresh_token = new_refresh_token(ctx, &mut change, login, now).await?;
    audit::record(
        &mut change,
        Event::new(Kind::TokenIssued, who)
            .user(user.id)
            .actor(Some(user.id))
            .detail(json!({"family": login, "client_id": client.id(), "scope": grant.scope})),
    )
    .await?;
    change.commit().await?;
    let subject = Subject { user: &user, scope: &grant.scope, auth_time: grant.auth_time, amr: &grant.amr, login };
    issue(ctx, client, &subject, grant.nonce.as_deref(), Some(refresh_token)).await
}

/// A refresh token of an app login, valid for the refresh lifetime from the login: a
/// refresh never extends it.
async fn new_refresh_token(
    ctx: &Ctx,
    change: &mut Change<'_>,
    login: i64,
    login_began: i64,
) -> Result<String, OAuthError> {
    let token = new_token();
    let now = change.now;
    let expires_at = login_began + ctx.config.tokens.refresh_ttl.secs();
    change.insert_refresh_token(login, &token_hash(&token), now, expires_at).await?;
    Ok(token)
}

async fn issue(
    ctx: &Ctx,
    client: &Registered,
    subject: &Subject<'_>,
    nonce: Option<&str>,
    refresh_token: Option<String>,
) -> Result<Issued, OAuthError> {
    let sub = subject.user.id.to_string();
    let (access_token, expires_in) =
        tokens::access_token(ctx, client, &sub, subject.scope, Some(subject.login), Some(subject.auth_time)).await?;
    let id_token = if has_scope(subject.scope, "openid") {
        Some(tokens::id_token(ctx, client, subject, nonce, &access_token).await?)
    } else {
        None
    };
    Ok(Issued {
        access_token,
        token_type: "Bearer",
        expires_in,
        id_token,
        refresh_token,
        scope: subject.scope.to_string(),
    })
}

async fn refresh(
    ctx: &Ctx,
    client: &Registered,
    presented: Option<&str>,
    scope: Option<&str>,
    who: &Client,
) -> Result<Issued, OAuthError> {
    let invalid = || OAuthError::invalid_grant("the refresh token is not valid");
    let presented = presented.filter(|t| looks_like_token(t)).ok_or_else(invalid)?;
    let mut change = ctx.begin().await?;
    let now = change.now;
    let row = change.refresh_token(&token_hash(presented)).await?.ok_or_else(invalid)?;
    if row.client_id.as_deref() != Some(client.id()) || row.revoked_at.is_some() || row.expires_at <= now {
        return Err(invalid());
    }
    change
        .family_used(
            row.family_id,
            now,
            &crate::store::refresh::ClientFields {
                ip: who.ip.to_string(),
                user_agent: who.stored_user_agent().map(str::to_string),
            },
        )
        .await?;
    // Of racing refreshes exactly one spends it; a spent token presented again is
    // treated as stolen, and the whole login ends (no grace: an app refreshes from one
    // place).
    if row.used_at.is_some() || !change.spend_refresh_token(row.id, now).await? {
        change.revoke_family(row.family_id, now).await?;
        audit::record(
            &mut change,
            Event::new(Kind::TokenReuseDetected, who)
                .user(row.user_id)
                .detail(json!({"family": row.family_id, "client_id": client.id()})),
        )
        .await?;
        change.commit().await?;
        tracing::warn!(user_id = row.user_id, family = row.family_id, "app refresh token reuse: login revoked");
        return Err(invalid());
    }
    let granted = row.scope.clone().unwrap_or_default();
    let scope = match scope {
        None => granted.clone(),
        Some(asked) => {
            let asked = scope_list(asked);
            if !asked.iter().all(|s| has_scope(&granted, s)) {
                return Err(OAuthError::protocol(400, "invalid_scope", "a refresh may only narrow the scopes"));
            }
            scope_text(&asked)
        }
    };
    let refresh_token = new_refresh_token(ctx, &mut change, row.family_id, row.family_created_at).await?;
    audit::record(
        &mut change,
        Event::new(Kind::TokenRefreshed, who)
            .user(row.user_id)
            .actor(Some(row.user_id))
            .detail(json!({"family": row.family_id, "client_id": client.id()})),
    )
    .await?;
    change.commit().await?;
    let user = users::user(ctx, row.user_id).await?.ok_or_else(invalid)?;
    let amr: Vec<String> = row.amr.split_whitespace().map(str::to_string).collect();
    let subject = Subject { user: &user, scope: &scope, auth_time: row.auth_at, amr: &amr, login: row.family_id };
    issue(ctx, client, &subject, None, Some(refresh_token)).await
}

/// A confidential client acting for itself: an access token whose subject is the
/// client, no ID token, no refresh token.
async fn client_credentials(ctx: &Ctx, client: &Registered, scope: Option<&str>) -> Result<Issued, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::protocol(400, "unauthorized_client", "a public client cannot use client_credentials"));
    }
    let scope = scope_list(scope.unwrap_or_default());
    if let Some(user_scope) =
        scope.iter().find(|s| matches!(s.as_str(), "openid" | "offline_access") || !client.allows_scope(s))
    {
        return Err(OAuthError::protocol(400, "invalid_scope", format!("{user_scope} is not for client credentials")));
    }
    let scope = scope_text(&scope);
    let (access_token, expires_in) = tokens::access_token(ctx, client, client.id(), &scope, None, None).await?;
    Ok(Issued { access_token, token_type: "Bearer", expires_in, id_token: None, refresh_token: None, scope })
}

/// `POST /oauth2/revoke`: a refresh or access token of this client ends its login.
/// Unknown tokens, and other clients' tokens, are answered the same (RFC 7009 §2.2).
pub async fn revoke(ctx: &Ctx, presented: &Presented, token: Option<&str>, who: &Client) -> Result<(), OAuthError> {
    let client = authenticate_client(ctx, presented).await?;
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(OAuthError::invalid_request("token is required"));
    };
    let login = if looks_like_token(token) {
        let mut tx = ctx.store.begin().await?;
        let row = tx.refresh_token(&token_hash(token)).await?;
        tx.commit().await?;
        row.filter(|r| r.client_id.as_deref() == Some(client.id())).map(|r| (r.family_id, r.user_id))
    } else {
        match tokens::verify_access_token(ctx, token).await {
            Ok(claims) if claims.client_id == client.id() => {
                claims.sid.and_then(|s| s.parse().ok()).zip(claims.sub.parse().ok())
            }
            _ => None,
        }
    };
    if let Some((login, user_id)) = login {
        let mut change = ctx.begin().await?;
        let now = change.now;
        change.revoke_family(login, now).await?;
        audit::record(
            &mut change,
            Event::new(Kind::Logout, who).user(user_id).detail(json!({"family": login, "client_id": client.id()})),
        )
        .await?;
        change.commit().await?;
    }
    Ok(())
}

/// `POST /oauth2/introspect`, for confidential clients (resource servers): whether a
/// token is active, and what it says.
pub async fn introspect(ctx: &Ctx, presented: &Presented, token: Option<&str>) -> Result<Value, OAuthError> {
    let client = authenticate_client(ctx, presented).await?;
    if client.is_public() {
        return Err(OAuthError::invalid_client());
    }
    let inactive = json!({"active": false});
    let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(inactive) };
    if looks_like_token(token) {
        let mut tx = ctx.store.begin().await?;
        let row = tx.refresh_token(&token_hash(token)).await?;
        tx.commit().await?;
        let Some(row) = row else { return Ok(inactive) };
        let live = row.client_id.as_deref() == Some(client.id())
            && row.revoked_at.is_none()
            && row.used_at.is_none()
            && row.expires_at > ctx.now();
        if !live {
            return Ok(inactive);
        }
        let username = users::user(ctx, row.user_id).await?.map(|u| u.username.clone());
        return Ok(json!({
            "active": true, "token_type": "refresh_token", "client_id": row.client_id, "scope": row.scope,
            "sub": row.user_id.to_string(), "username": username, "exp": row.expires_at, "iss": issuer(&ctx.config),
        }));
    }
    let Ok(claims) = tokens::verify_access_token(ctx, token).await else { return Ok(inactive) };
    let username = match claims.sid {
        Some(_) => users::user(ctx, claims.sub.parse().unwrap_or(0)).await?.map(|u| u.username.clone()),
        None => None,
    };
    Ok(json!({
        "active": true, "token_type": "Bearer", "client_id": claims.client_id, "scope": claims.scope,
        "sub": claims.sub, "username": username, "aud": claims.aud, "exp": claims.exp, "iat": claims.iat,
        "iss": claims.iss,
    }))
}
