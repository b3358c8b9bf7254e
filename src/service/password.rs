//! Passwords as proofs: the login check (throttled, timing-safe, upgrading outdated
//! hashes), the check of a logged-in user's own password, and the rules a new password
//! must follow. Below factors, step-up and the login pipeline, which all use it.

use serde_json::json;

use super::audit::{self, Event, Kind};
use super::proof::{Method, Proven};
use super::{throttle, Client, Ctx};
use crate::crypto::password::{HashError, Verified, NO_PASSWORD};
use crate::domain::{Password, UserId};
use crate::error::{AppError, FieldErrors};

/// Longest login identifier worth a lookup: an email's maximum.
const LOGIN_MAX_CHARS: usize = 254;
/// Longest password worth hashing at login; longer ones cannot have been set.
const LOGIN_PASSWORD_MAX_BYTES: usize = 4 * crate::domain::PASSWORD_MAX_CHARS;

/// Checks a username (or email) and password, with API.md's throttling: over the limit
/// the answer is 429 before the password is looked at; a failure costs the same whether
/// or not the account exists. Upgrades an outdated hash on success. The proof names the
/// credentials epoch read with the hash, so a login it leads to mints nothing once the
/// password changed meanwhile.
#[tracing::instrument(skip_all)]
pub async fn check(
    ctx: &Ctx,
    username: Option<&str>,
    password: Option<&str>,
    client: &Client,
) -> Result<Proven<'static>, AppError> {
    let (Some(username), Some(password)) = (username, password) else {
        let mut fields = FieldErrors::new();
        if username.is_none() {
            fields.insert("username", "is required".into());
        }
        if password.is_none() {
            fields.insert("password", "is required".into());
        }
        return Err(AppError::Validation(fields));
    };
    let key = login_key(username);
    // Neither a username nor an email can be this long or hold control characters.
    let could_exist = username.chars().count() <= LOGIN_MAX_CHARS && !username.chars().any(char::is_control);
    let row = if could_exist { ctx.store.user_by_login(&key).await? } else { None };
    let account_key = throttle::account_key(row.as_ref().map(|r| r.id), &key);
    let slots = match throttle::reserve_password_attempt(ctx, account_key, Some(client)).await? {
        Ok(slots) => slots,
        Err(throttled) => {
            metrics::counter!("latchkey_logins_total", "outcome" => "throttled").increment(1);
            if throttled.first_denial {
                let mut event = Event::new(Kind::LoginThrottled, client).detail(json!({"username": key}));
                if let Some(row) = &row {
                    event = event.user(row.id);
                }
                audit::record_alone(ctx, event).await?;
            }
            return Err(throttled.into());
        }
    };
    let epoch = row.as_ref().map_or(0, |r| r.credentials_epoch);
    let (user, stored) = match row {
        Some(row) => {
            let (user, hash) = row.into_user();
            // An account without a password costs what an unknown one does.
            (Some(user), Some(hash).filter(|h| h != NO_PASSWORD))
        }
        None => (None, None),
    };
    let attempt = if password.len() > LOGIN_PASSWORD_MAX_BYTES { "" } else { password };
    let verdict = match ctx.hasher.verify(attempt.to_string(), stored.clone()).await {
        Ok(v) => v,
        Err(e @ (HashError::UnknownFormat | HashError::TooCostly)) => {
            tracing::warn!(user_id = user.as_ref().map(|u| u.id), error = %e, "stored password hash refused");
            (Verified::Mismatch, None)
        }
        Err(e) => return Err(e.into()),
    };
    match (verdict, user, stored) {
        ((Verified::Match { .. }, upgraded), Some(user), Some(old)) => {
            if let Some(new) = upgraded {
                let mut change = ctx.begin().await?;
                change.upgrade_password_hash(user.id, &old, &new).await?;
                change.commit().await?;
                tracing::info!(user_id = user.id, "password hash upgraded");
            }
            Ok(Proven::new(user, epoch, Method::Password, vec!["pwd".into()]).with_slots(slots))
        }
        (_, user, _) => {
            metrics::counter!("latchkey_logins_total", "outcome" => "invalid").increment(1);
            let mut event = Event::new(Kind::LoginFailed, client).detail(json!({"username": key}));
            if let Some(user) = user {
                event = event.user(user.id);
            }
            audit::record_alone(ctx, event).await?;
            Err(AppError::InvalidCredentials { fields: None })
        }
    }
}

/// The throttling and lookup key of a login name: lower-cased and bounded.
fn login_key(username: &str) -> String {
    super::truncate(username, LOGIN_MAX_CHARS * 4).to_lowercase()
}

/// Checks the password of a logged-in user (password change, disabling a factor,
/// re-authentication), on the same per-account budget as logins. A wrong one is
/// `InvalidCredentials` naming `field`.
pub async fn verify_own(ctx: &Ctx, user_id: UserId, password: &str, field: &'static str) -> Result<(), AppError> {
    let slots = throttle::reserve_password_attempt(ctx, throttle::account_key(Some(user_id), ""), None).await??;
    let stored = ctx.store.user_by_id(user_id).await?.ok_or(AppError::Unauthorized)?.password_hash;
    let stored = Some(stored).filter(|h| h != NO_PASSWORD);
    let attempt = if password.len() > LOGIN_PASSWORD_MAX_BYTES { "" } else { password };
    let (verdict, _) = ctx.hasher.verify(attempt.to_string(), stored).await?;
    if verdict == Verified::Mismatch {
        let message = if field == "current_password" { "is not your current password" } else { "is not your password" };
        return Err(AppError::InvalidCredentials { fields: Some(FieldErrors::from([(field, message.to_string())])) });
    }
    throttle::password_accepted(ctx, slots).await;
    Ok(())
}

/// Whether the account has a password (one made through a provider has none until its
/// owner sets one with a reset link): where it has none, a sensitive change asks for a
/// recent authentication (at the provider) instead of the password.
pub async fn has_password(ctx: &Ctx, user_id: UserId) -> Result<bool, AppError> {
    let row = ctx.store.user_by_id(user_id).await?.ok_or(AppError::Unauthorized)?;
    Ok(row.password_hash != NO_PASSWORD)
}

/// Whether passwords are hashed with bcrypt, whose input stops at 72 bytes.
pub fn is_bcrypt(ctx: &Ctx) -> bool {
    ctx.hasher.algorithm() == crate::config::PasswordAlgorithm::Bcrypt
}

/// A password a user chooses (change, reset), under the password rules.
pub fn parse_new(ctx: &Ctx, new_password: Option<&str>) -> Result<Password, &'static str> {
    parse_chosen(new_password, is_bcrypt(ctx))
}

/// The password rules, for a hasher that is bcrypt (whose input stops at 72 bytes) or not.
pub fn parse_chosen(password: Option<&str>, bcrypt: bool) -> Result<Password, &'static str> {
    match password {
        None | Some("") => Err("is required"),
        Some(p) if bcrypt && p.len() > crate::crypto::password::BCRYPT_MAX_BYTES => Err("must be at most 72 bytes"),
        Some(p) => Password::parse(p),
    }
}
