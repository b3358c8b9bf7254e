//! Server-side sessions (API.md "Cookie sessions"): an opaque 256-bit token in the
//! cookie, its SHA-256 in the store, idle and absolute expiry, revocation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::audit::{self, Event, Kind};
use super::{tokens, users, Change, Client, Ctx};
use crate::cache::CachedSession;
use crate::crypto::token::{looks_like_token, new_token, token_digest, token_hash};
use crate::domain::{from_unix, rfc3339_seconds, Roles, User, UserId};
use crate::error::AppError;
use crate::feed::FeedEvent;
use crate::store::sessions::NewSession;

/// `last_seen_at` is written at most this often per session: idle expiry is counted in
/// days, and a write on every request would make every read a write. The writes are
/// batched by [`Touches`], off the request path.
const TOUCH_EVERY_SECS: i64 = 60;

/// The caller of a request authenticated by a session cookie.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: Arc<User>,
    pub session_id: i64,
}

/// A new session: the token goes into the cookie and nowhere else.
pub struct Issued {
    pub token: String,
    pub id: i64,
}

/// A login the user can see and end: a cookie session or a token login.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// Unique within its kind.
    pub id: i64,
    /// `cookie`: a browser session (end it with `DELETE /api/me/sessions/{id}`);
    /// `token`: a login with tokens by an app or script (`DELETE /api/me/token-logins/{id}`).
    #[schema(example = "cookie")]
    pub kind: &'static str,
    #[serde(with = "rfc3339_seconds")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "rfc3339_seconds")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: OffsetDateTime,
    /// The first of the absolute expiry and the idle expiry.
    #[serde(with = "rfc3339_seconds")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session or token login this request was made with.
    pub current: bool,
}

fn idle_secs(ctx: &Ctx) -> i64 {
    ctx.config.session.idle_timeout.secs()
}

/// The absolute lifetime, which is also the cookie's `Max-Age`.
pub fn absolute_secs(ctx: &Ctx) -> i64 {
    ctx.config.session.absolute_timeout.secs()
}

/// The live session holding `token`, with its user; `None` for anything else. Answered
/// from the auth cache when it may, else from the database (and cached).
pub async fn authenticate(ctx: &Ctx, token: &str) -> Result<Option<SessionUser>, AppError> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    let hash = token_digest(token);
    let now = ctx.now();
    let idle = idle_secs(ctx);
    if let Some(session) = ctx.cache.session(&hash) {
        if session.expires_at > now && session.last_seen_at.load(Ordering::Relaxed) + idle > now {
            touch(ctx, &session, now);
            if let Some(user) = users::user(ctx, session.user_id).await? {
                return Ok(Some(SessionUser { user, session_id: session.session_id }));
            }
        }
        // Past its time here, but another instance may have used it since: ask the database.
        ctx.cache.forget_session(&hash);
    }
    let fill = ctx.cache.begin_fill();
    let Some(row) = ctx.store.session_with_user(&hash).await? else {
        return Ok(None);
    };
    let last_seen = row.last_seen_at.max(ctx.touches.pending(row.session_id).unwrap_or(0));
    if row.expires_at <= now || last_seen + idle <= now {
        return Ok(None);
    }
    let session = Arc::new(CachedSession {
        session_id: row.session_id,
        user_id: row.id,
        expires_at: row.expires_at,
        last_seen_at: AtomicI64::new(last_seen),
    });
    touch(ctx, &session, now);
    let user = Arc::new(User {
        id: row.id,
        username: row.username,
        email: row.email,
        email_verified: row.email_verified,
        roles: Roles::from_column(&row.roles),
        created_at: from_unix(row.created_at),
    });
    ctx.cache.put_session(fill, hash, session);
    ctx.cache.put_user(fill, Arc::clone(&user));
    Ok(Some(SessionUser { user, session_id: row.session_id }))
}

/// Notes a use of the session, at most once a minute; the write happens later, batched.
fn touch(ctx: &Ctx, session: &CachedSession, now: i64) {
    let last = session.last_seen_at.load(Ordering::Relaxed);
    if now - last >= TOUCH_EVERY_SECS
        && session.last_seen_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        ctx.touches.record(session.session_id, now);
    }
}

/// Uses of sessions not yet written to the database: `session id → last seen`.
#[derive(Default)]
pub struct Touches {
    pending: Mutex<HashMap<i64, i64>>,
}

impl Touches {
    fn record(&self, session_id: i64, at: i64) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let seen = pending.entry(session_id).or_insert(at);
        *seen = (*seen).max(at);
    }

    fn pending(&self, session_id: i64) -> Option<i64> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).get(&session_id).copied()
    }

    fn take(&self) -> Vec<(i64, i64)> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).drain().collect()
    }
}

/// Writes the pending uses of sessions in one transaction; run every few seconds and at
/// shutdown. Returns how many sessions were touched.
pub async fn flush_touches(ctx: &Ctx) -> Result<usize, AppError> {
    let touched = ctx.touches.take();
    if touched.is_empty() {
        return Ok(0);
    }
    let mut tx = ctx.store.begin().await?;
    for (id, at) in &touched {
        tx.touch_session(*id, *at).await?;
    }
    tx.commit().await?;
    Ok(touched.len())
}

/// Starts a session for `user_id` as part of `change`.
/// `amr` says how the login behind it authenticated (for the ID tokens it leads to).
pub async fn create(
    ctx: &Ctx,
    change: &mut Change<'_>,
    user_id: UserId,
    amr: &[String],
    client: &Client,
) -> Result<Issued, AppError> {
    let token = new_token();
    let now = change.now;
    let ip = client.ip.to_string();
    let user_agent = client.stored_user_agent();
    let id = change
        .insert_session(&NewSession {
            user_id,
            token_hash: &token_hash(&token),
            now,
            expires_at: now + absolute_secs(ctx),
            ip: Some(&ip),
            user_agent,
            amr: &amr.join(" "),
        })
        .await?;
    Ok(Issued { token, id })
}

/// Ends the session holding `token`, if any (logout). The token is dead afterwards.
pub async fn end(ctx: &Ctx, token: &str, client: &Client) -> Result<(), AppError> {
    if !looks_like_token(token) {
        return Ok(());
    }
    let mut change = ctx.begin().await?;
    if let Some((id, user_id)) = end_in(&mut change, token).await? {
        let now = change.now;
        change.revoke_app_logins_of_sessions(user_id, Some(id), None, now).await?;
        audit::record(
            &mut change,
            Event::new(Kind::Logout, client).user(user_id).actor(Some(user_id)).detail(json!({"session_id": id})),
        )
        .await?;
    }
    change.commit().await
}

/// Ends the session holding `token` as part of `change`; its id and user, if it existed.
pub async fn end_in(change: &mut Change<'_>, token: &str) -> Result<Option<(i64, UserId)>, AppError> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    let hash = token_hash(token);
    let ended = change.delete_session_by_hash(&hash).await?;
    if ended.is_some() {
        change.publish(FeedEvent::session_ended(&hash)).await?;
    }
    Ok(ended)
}

/// Ends every session of the user but `keep`, as part of `change`; how many ended.
pub async fn end_all_in(change: &mut Change<'_>, user_id: UserId, keep: Option<i64>) -> Result<u64, AppError> {
    let ended = change.delete_sessions_of_user(user_id, keep).await?;
    let now = change.now;
    change.revoke_app_logins_of_sessions(user_id, None, keep, now).await?;
    change.publish(FeedEvent::UserSessionsEnded { user_id, keep }).await?;
    Ok(ended)
}

/// Which of the user's logins a request was made with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Current {
    pub session: Option<i64>,
    pub token_login: Option<i64>,
}

/// The user's live cookie sessions, then their live token logins, newest first in each.
pub async fn list(ctx: &Ctx, user_id: UserId, current: Current) -> Result<Vec<SessionInfo>, AppError> {
    let now = ctx.now();
    let idle = idle_secs(ctx);
    let sessions = ctx.store.sessions_of_user(user_id, now, now - idle).await?;
    let families = ctx.store.families_of_user(user_id, now).await?;
    let cookies = sessions.into_iter().map(|r| SessionInfo {
        id: r.id,
        kind: "cookie",
        created_at: from_unix(r.created_at),
        last_seen_at: from_unix(r.last_seen_at),
        expires_at: from_unix(r.expires_at.min(r.last_seen_at + idle)),
        ip: r.ip,
        user_agent: r.user_agent,
        current: Some(r.id) == current.session,
    });
    let token_logins = families.into_iter().map(|f| SessionInfo {
        id: f.id,
        kind: "token",
        created_at: from_unix(f.created_at),
        last_seen_at: from_unix(f.last_used_at),
        expires_at: from_unix(f.expires_at),
        ip: f.ip,
        user_agent: f.user_agent,
        current: Some(f.id) == current.token_login,
    });
    Ok(cookies.chain(token_logins).collect())
}

/// Ends one of the user's own sessions; `NotFound` if it is not theirs.
pub async fn revoke_own(ctx: &Ctx, user_id: UserId, session_id: i64, client: &Client) -> Result<(), AppError> {
    let mut change = ctx.begin().await?;
    let Some(hash) = change.delete_session_of_user(user_id, session_id).await? else {
        return Err(AppError::NotFound);
    };
    let now = change.now;
    change.revoke_app_logins_of_sessions(user_id, Some(session_id), None, now).await?;
    change.publish(FeedEvent::session_ended(&hash)).await?;
    audit::record(
        &mut change,
        Event::new(Kind::SessionRevoked, client)
            .user(user_id)
            .actor(Some(user_id))
            .detail(json!({"session_id": session_id})),
    )
    .await?;
    change.commit().await
}

/// Ends all the user's sessions and token logins but the caller's own ("log out other
/// sessions": a lost phone's app is signed out too).
pub async fn revoke_others(ctx: &Ctx, user_id: UserId, keep: Current, client: &Client) -> Result<(), AppError> {
    let mut change = ctx.begin().await?;
    let ended = end_all_in(&mut change, user_id, keep.session).await?;
    let families = tokens::revoke_all_for_user(&mut change, user_id, keep.token_login).await?;
    audit::record(
        &mut change,
        Event::new(Kind::SessionRevoked, client)
            .user(user_id)
            .actor(Some(user_id))
            .detail(json!({"sessions_ended": ended, "token_families_revoked": families})),
    )
    .await?;
    change.commit().await
}

/// Sessions deleted per statement by the periodic clean-up.
const CLEANUP_BATCH: i64 = 1_000;

/// Deletes sessions past their expiry, a batch at a time, yielding between batches so
/// that requests waiting for the writer get it; run periodically.
pub async fn delete_dead(ctx: &Ctx) -> Result<u64, AppError> {
    let now = ctx.now();
    let mut deleted = 0;
    loop {
        let n = ctx.store.delete_dead_sessions(now, now - idle_secs(ctx), CLEANUP_BATCH).await?;
        deleted += n;
        if n < CLEANUP_BATCH as u64 {
            return Ok(deleted);
        }
        tokio::task::yield_now().await;
    }
}

pub async fn count_live(ctx: &Ctx) -> Result<i64, AppError> {
    let now = ctx.now();
    Ok(ctx.store.count_live_sessions(now, now - idle_secs(ctx)).await?)
}
