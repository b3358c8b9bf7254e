//! API.md "Tokens": short-lived JWT access tokens and single-use, rotating refresh
//! tokens grouped in one family per login. A spent refresh token presented again after
//! the grace period is treated as theft: the whole family is revoked.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::audit::{self, Event, Kind};
use super::{users, Change, Client, Ctx};
use crate::cache::CachedToken;
use crate::crypto::jwt::{check_times, Claims, VerifyError};
use crate::crypto::token::{looks_like_token, new_token, token_digest, token_hash};
use crate::domain::User;
use crate::error::AppError;
use crate::store::refresh::{ClientFields, NewFamily};

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: User,
}

/// Starts a token login (a refresh-token family) for `user` as part of `change`: the
/// first refresh token and an access token.
pub(super) async fn start_family(
    ctx: &Ctx,
    change: &mut Change<'_>,
    user: User,
    amr: &[String],
    client: &Client,
) -> Result<TokenPair, AppError> {
    let now = change.now;
    let amr_text = amr.join(" ");
    let new = NewFamily { user_id: user.id, now, amr: &amr_text, client: client_fields(client) };
    let family = change.insert_family(&new).await?;
    let refresh_token = new_refresh_token(ctx, change, family).await?;
    audit::record(
        change,
        Event::new(Kind::TokenIssued, client)
            .user(user.id)
            .actor(Some(user.id))
            .detail(json!({"family": family, "amr": amr})),
    )
    .await?;
    pair(ctx, user, refresh_token, now, amr, family)
}

/// `POST /api/token/refresh`: spends a refresh token for a new pair. A token whose
/// account is deleted meanwhile is just an invalid token.
pub async fn refresh(ctx: &Ctx, presented: Option<&str>, client: &Client) -> Result<TokenPair, AppError> {
    match spend_for_pair(ctx, presented, client).await {
        Err(AppError::NotFound) => Err(AppError::InvalidToken),
        other => other,
    }
}

async fn spend_for_pair(ctx: &Ctx, presented: Option<&str>, client: &Client) -> Result<TokenPair, AppError> {
    let presented = presented.filter(|t| looks_like_token(t)).ok_or(AppError::InvalidToken)?;
    let mut tx = ctx.begin().await?;
    let now = tx.now;
    let row = tx.refresh_token(&token_hash(presented)).await?.ok_or(AppError::InvalidToken)?;
    // An app's refresh token is spent at /oauth2/token, never here.
    if row.revoked_at.is_some() || row.expires_at <= now || row.client_id.is_some() {
        return Err(AppError::InvalidToken);
    }
    // The family's row before the token's, in the order a deletion's cascade takes them
    // (else the two deadlock on PostgreSQL).
    tx.family_used(row.family_id, now, &client_fields(client)).await?;
    // A compare-and-set: of racing requests (on any instance) exactly one spends it; on
    // PostgreSQL the others wait for that row and then see it spent.
    let spent_now = row.used_at.is_none() && tx.spend_refresh_token(row.id, now).await?;
    if !spent_now {
        // Already spent (or spent by a request racing this one, which the writer
        // serialised before us): a second tab within the grace gets its own pair.
        let used_at = row.used_at.unwrap_or(now);
        if now - used_at > ctx.config.tokens.refresh_reuse_grace.secs()
            || ctx.config.tokens.refresh_reuse_grace.is_zero()
        {
            tx.revoke_family(row.family_id, now).await?;
            audit::record(
                &mut tx,
                Event::new(Kind::TokenReuseDetected, client).user(row.user_id).detail(json!({"family": row.family_id})),
            )
            .await?;
            tx.commit().await?;
            tracing::warn!(user_id = row.user_id, family = row.family_id, "refresh token reuse: family revoked");
            return Err(AppError::InvalidToken);
        }
    }
    let refresh_token = new_refresh_token(ctx, &mut tx, row.family_id).await?;
    audit::record(
        &mut tx,
        Event::new(Kind::TokenRefreshed, client)
            .user(row.user_id)
            .actor(Some(row.user_id))
            .detail(json!({"family": row.family_id, "within_grace": !spent_now})),
    )
    .await?;
    tx.commit().await?;
    let user = ctx.store.user_by_id(row.user_id).await?.ok_or(AppError::InvalidToken)?.into_user().0;
    let amr: Vec<String> = row.amr.split_whitespace().map(str::to_string).collect();
    pair(ctx, user, refresh_token, row.auth_at, &amr, row.family_id)
}

/// `POST /api/token/revoke`: ends the token's family. Unknown tokens are fine too.
pub async fn revoke(ctx: &Ctx, presented: Option<&str>, client: &Client) -> Result<(), AppError> {
    let Some(presented) = presented.filter(|t| looks_like_token(t)) else { return Ok(()) };
    let mut tx = ctx.begin().await?;
    if let Some(row) = tx.refresh_token(&token_hash(presented)).await? {
        if row.revoked_at.is_none() {
            let now = tx.now;
            tx.revoke_family(row.family_id, now).await?;
            audit::record(
                &mut tx,
                Event::new(Kind::Logout, client)
                    .user(row.user_id)
                    .actor(Some(row.user_id))
                    .detail(json!({"family": row.family_id})),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The user an access token speaks for. Expired → `TokenExpired`; anything else that
/// is not our valid token → `InvalidToken`. The user must still exist. A token whose
/// signature was verified is remembered (by its hash) while the auth cache may answer;
/// its times are checked on every use. Answers the user and what the token says of its
/// login (`auth_time`, `amr`).
pub async fn authenticate(ctx: &Ctx, token: &str) -> Result<(Arc<User>, Arc<CachedToken>), AppError> {
    let hash = token_digest(token);
    let verified = match ctx.cache.token(&hash) {
        Some(cached) => {
            check_times(ctx.now(), cached.nbf, cached.exp).map_err(verify_error)?;
            cached
        }
        None => {
            let fill = ctx.cache.begin_fill();
            let claims = verify(ctx, token).await?;
            let user_id: i64 = claims.sub.parse().map_err(|_| AppError::InvalidToken)?;
            let verified = Arc::new(CachedToken {
                user_id,
                nbf: claims.nbf,
                exp: claims.exp,
                auth_time: claims.auth_time,
                amr: claims.amr,
                family: claims.sid.and_then(|sid| sid.parse().ok()),
            });
            ctx.cache.put_token(fill, hash, Arc::clone(&verified));
            verified
        }
    };
    let user = users::user(ctx, verified.user_id).await?.ok_or(AppError::InvalidToken)?;
    Ok((user, verified))
}

async fn verify(ctx: &Ctx, token: &str) -> Result<Claims, AppError> {
    let now = ctx.now();
    match ctx.keys.current().verify(token, now) {
        Err(VerifyError::UnknownKid) if ctx.keys.reload_for_unknown_kid().await.map_err(AppError::Internal)? => {
            ctx.keys.current().verify(token, now)
        }
        other => other,
    }
    .map_err(verify_error)
}

fn verify_error(e: VerifyError) -> AppError {
    match e {
        VerifyError::Expired => AppError::TokenExpired,
        VerifyError::UnknownKid | VerifyError::Invalid => AppError::InvalidToken,
    }
}

async fn new_refresh_token(ctx: &Ctx, change: &mut Change<'_>, family: i64) -> Result<String, AppError> {
    let token = new_token();
    let now = change.now;
    change.insert_refresh_token(family, &token_hash(&token), now, now + ctx.config.tokens.refresh_ttl.secs()).await?;
    Ok(token)
}

fn pair(
    ctx: &Ctx,
    user: User,
    refresh_token: String,
    auth_time: i64,
    amr: &[String],
    family: i64,
) -> Result<TokenPair, AppError> {
    let (access_token, expires_in) = access_token(ctx, &user, auth_time, amr, Some(family))?;
    Ok(TokenPair { access_token, token_type: "Bearer", expires_in, refresh_token, user })
}

/// A signed access token for `user` and its lifetime in seconds; `family` is the token
/// login it belongs to (its `sid` claim), so the sessions list can tell the caller's own.
pub fn access_token(
    ctx: &Ctx,
    user: &User,
    auth_time: i64,
    amr: &[String],
    family: Option<i64>,
) -> Result<(String, i64), AppError> {
    let now = ctx.now();
    let ttl = ctx.config.tokens.access_ttl.secs();
    let claims = Claims {
        iss: super::keys::issuer(&ctx.config),
        aud: ctx.config.tokens.audience.clone(),
        sub: user.id.to_string(),
        username: user.username.clone(),
        roles: user.roles.names(),
        iat: now,
        nbf: now,
        exp: now + ttl,
        jti: new_token()[..22].to_string(),
        amr: amr.to_vec(),
        auth_time,
        sid: family.map(|f| f.to_string()),
    };
    let token = ctx.keys.current().sign(&claims).map_err(|e| AppError::Internal(e.into()))?;
    Ok((token, ttl))
}

/// Revokes every token login of the user but `keep`, as part of the caller's change.
pub async fn revoke_all_for_user(change: &mut Change<'_>, user_id: i64, keep: Option<i64>) -> Result<u64, AppError> {
    let now = change.now;
    Ok(change.revoke_families_of_user(user_id, keep, now).await?)
}

/// Ends one of the user's own token logins; `NotFound` if it is not theirs (or over).
pub async fn revoke_own(ctx: &Ctx, user_id: i64, family: i64, client: &Client) -> Result<(), AppError> {
    let mut change = ctx.begin().await?;
    let now = change.now;
    if !change.revoke_family_of_user(user_id, family, now).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut change,
        Event::new(Kind::SessionRevoked, client).user(user_id).actor(Some(user_id)).detail(json!({"family": family})),
    )
    .await?;
    change.commit().await
}

/// What a token login records of the client that made or last refreshed it.
fn client_fields(client: &Client) -> ClientFields {
    ClientFields { ip: client.ip.to_string(), user_agent: client.stored_user_agent().map(str::to_string) }
}
