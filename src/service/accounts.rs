//! Accounts: signup, password login with throttling and timing-safe failure, password
//! change, and the operator's user management (CLI).

use std::sync::Arc;

use serde_json::json;

use super::audit::{self, Event, Kind};
use super::factors::{self, Login, Purpose, SecondProof};
use super::sessions::{self, Issued};
use super::stepup::{self, Proof};
use super::{passkeys, recovery, throttle, Change, Client, Ctx};
use crate::crypto::password::{HashError, Verified};
use crate::domain::{Email, Password, Role, Roles, User, UserId, Username};
use crate::error::{AppError, FieldErrors};
use crate::store::users::NewUser;

/// Longest login identifier worth a lookup: an email's maximum.
const LOGIN_MAX_CHARS: usize = 254;
/// Longest password worth hashing at login; longer ones cannot have been set.
const LOGIN_PASSWORD_MAX_BYTES: usize = 4 * crate::domain::PASSWORD_MAX_CHARS;

/// What a signup form sends; `None` for a field that was left out.
pub struct NewAccount<'a> {
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub password_confirmation: Option<&'a str>,
    pub email: Option<&'a str>,
}

pub(crate) struct ValidAccount {
    username: Username,
    password: Password,
    email: Option<Email>,
}

pub(crate) fn validate(account: &NewAccount<'_>, hasher_is_bcrypt: bool) -> Result<ValidAccount, AppError> {
    let mut fields = FieldErrors::new();
    let username = match account.username {
        None | Some("") => Err("is required"),
        Some(u) => Username::parse(u),
    }
    .map_err(|e| fields.insert("username", e.into()))
    .ok();
    let password = match account.password {
        None | Some("") => Err("is required"),
        Some(p) if hasher_is_bcrypt && p.len() > crate::crypto::password::BCRYPT_MAX_BYTES => {
            Err("must be at most 72 bytes")
        }
        Some(p) => Password::parse(p),
    }
    .map_err(|e| fields.insert("password", e.into()))
    .ok();
    if let (Some(confirmation), Some(p)) = (account.password_confirmation, account.password) {
        if confirmation != p {
            fields.insert("password_confirmation", "does not match the password".into());
        }
    }
    let email = match account.email {
        None | Some("") => Ok(None),
        Some(e) => Email::parse(e).map(Some),
    }
    .map_err(|e| fields.insert("email", e.into()))
    .ok()
    .flatten();
    match (username, password) {
        (Some(username), Some(password)) if fields.is_empty() => Ok(ValidAccount { username, password, email }),
        _ => Err(AppError::Validation(fields)),
    }
}

/// Creates the account and its first session, as one transaction, with the mail that
/// verifies its address. When logins wait for verified addresses
/// (`signup.require_verified_email`), an account with an address gets no session yet.
#[tracing::instrument(skip_all, fields(username = account.username))]
pub async fn signup(ctx: &Ctx, account: NewAccount<'_>, client: &Client) -> Result<(User, Option<Issued>), AppError> {
    if !ctx.config.signup.enabled {
        return Err(AppError::Forbidden);
    }
    let valid = validate(&account, is_bcrypt(ctx))?;
    throttle::reserve_signup(ctx, client).await?;
    // A taken name is refused before the costly hash; the unique index settles races.
    if ctx.store.user_by_username_key(&valid.username.key()).await?.is_some() {
        return Err(AppError::UsernameTaken);
    }
    let hash = ctx.hasher.hash(valid.password.expose().to_string()).await?;
    let mut change = ctx.begin().await?;
    let user = insert_user(&mut change, &valid.username, valid.email.as_ref(), &hash, &Roles::new([])).await?;
    let issued = if must_verify_first(ctx, &user) {
        None
    } else {
        Some(sessions::create(ctx, &mut change, user.id, client).await?)
    };
    audit::record(&mut change, Event::new(Kind::Signup, client).user(user.id).actor(Some(user.id))).await?;
    let mailed = recovery::queue_verification(&mut change, &user, client).await?;
    change.commit().await?;
    if mailed {
        recovery::wake_mailer(ctx);
    }
    Ok((user, issued))
}

pub(super) async fn insert_user(
    change: &mut Change<'_>,
    username: &Username,
    email: Option<&Email>,
    hash: &str,
    roles: &Roles,
) -> Result<User, AppError> {
    let username_key = username.key();
    let email_key = email.map(Email::key);
    let now = change.now;
    let row = change
        .insert_user(&NewUser {
            username: username.as_str(),
            username_key: &username_key,
            email: email.map(Email::as_str),
            email_key: email_key.as_deref(),
            password_hash: hash,
            roles: &roles.to_column(),
            now,
        })
        .await?;
    Ok(row.into_user().0)
}

/// Whether this account may log in only after verifying its address.
pub(super) fn must_verify_first(ctx: &Ctx, user: &User) -> bool {
    ctx.config.signup.require_verified_email && user.email.is_some() && !user.email_verified
}

fn is_bcrypt(ctx: &Ctx) -> bool {
    ctx.hasher.algorithm() == crate::config::PasswordAlgorithm::Bcrypt
}

/// Checks a username (or email) and password, with API.md's throttling: over the limit
/// the answer is 429 before the password is looked at; a failure costs the same whether
/// or not the account exists. Upgrades an outdated hash on success.
#[tracing::instrument(skip_all)]
pub async fn check_password(
    ctx: &Ctx,
    username: Option<&str>,
    password: Option<&str>,
    client: &Client,
) -> Result<User, AppError> {
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
    let (user, stored) = match row {
        Some(row) => {
            let (user, hash) = row.into_user();
            (Some(user), Some(hash))
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
            throttle::password_accepted(ctx, slots).await;
            if let Some(new) = upgraded {
                let mut change = ctx.begin().await?;
                change.upgrade_password_hash(user.id, &old, &new).await?;
                change.commit().await?;
                tracing::info!(user_id = user.id, "password hash upgraded");
            }
            // Told only to whoever knows the password, so it reveals nothing to others.
            if must_verify_first(ctx, &user) {
                return Err(AppError::EmailNotVerified);
            }
            Ok(user)
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
    sessions::truncate(username, LOGIN_MAX_CHARS * 4).to_lowercase()
}

/// Password login for a cookie session. Always a NEW session; the one the browser held
/// before (if any) is ended, so re-logins do not pile up sessions. An account with a
/// second factor gets a challenge instead, and no session yet.
pub async fn login(
    ctx: &Ctx,
    username: Option<&str>,
    password: Option<&str>,
    previous_token: Option<&str>,
    client: &Client,
) -> Result<Login<(User, Issued)>, AppError> {
    let user = check_password(ctx, username, password, client).await?;
    if let Some(pending) = factors::challenge_if_needed(ctx, &user, Purpose::Session, client).await? {
        return Ok(Login::SecondFactor(pending));
    }
    let mut change = ctx.begin().await?;
    let issued = start_session(ctx, &mut change, &user, previous_token, &["pwd"], client).await?;
    change.commit().await?;
    metrics::counter!("latchkey_logins_total", "outcome" => "success").increment(1);
    Ok(Login::Done((user, issued)))
}

/// The second step of a cookie login: the challenge, its binding cookie and a code or
/// passkey.
pub async fn login_second_step(
    ctx: &Ctx,
    challenge: Option<&str>,
    binding: Option<&str>,
    proof: SecondProof<'_>,
    previous_token: Option<&str>,
    client: &Client,
) -> Result<(User, Issued), AppError> {
    let step = factors::second_step(ctx, Purpose::Session, challenge, binding, proof, client).await?;
    let mut change = step.change;
    let amr: Vec<&str> = step.amr.iter().map(String::as_str).collect();
    let issued = start_session(ctx, &mut change, &step.user, previous_token, &amr, client).await?;
    change.commit().await?;
    throttle::password_accepted(ctx, step.slots).await;
    metrics::counter!("latchkey_logins_total", "outcome" => "success").increment(1);
    Ok((step.user, issued))
}

/// A cookie login with a passkey alone, finishing the ceremony `ceremony`.
pub async fn login_with_passkey(
    ctx: &Ctx,
    ceremony: Option<&str>,
    credential: Option<&serde_json::Value>,
    previous_token: Option<&str>,
    client: &Client,
) -> Result<(User, Issued), AppError> {
    let login = passkeys::finish_login(ctx, ceremony, credential, client).await?;
    if must_verify_first(ctx, &login.user) {
        return Err(AppError::EmailNotVerified);
    }
    let mut change = login.change;
    let issued = start_session(ctx, &mut change, &login.user, previous_token, &["webauthn"], client).await?;
    change.commit().await?;
    throttle::password_accepted(ctx, login.slots).await;
    metrics::counter!("latchkey_logins_total", "outcome" => "success").increment(1);
    Ok((login.user, issued))
}

async fn start_session(
    ctx: &Ctx,
    change: &mut Change<'_>,
    user: &User,
    previous_token: Option<&str>,
    amr: &[&str],
    client: &Client,
) -> Result<Issued, AppError> {
    if let Some(previous) = previous_token {
        sessions::end_in(change, previous).await?;
    }
    let issued = sessions::create(ctx, change, user.id, client).await?;
    audit::record(
        change,
        Event::new(Kind::LoginSucceeded, client)
            .user(user.id)
            .actor(Some(user.id))
            .detail(json!({"session_id": issued.id, "amr": amr})),
    )
    .await?;
    Ok(issued)
}

/// Checks the password of a logged-in user (password change, disabling a factor,
/// re-authentication), on the same per-account budget as logins. A wrong one is
/// `InvalidCredentials` naming `field`.
pub async fn verify_own_password(
    ctx: &Ctx,
    user_id: UserId,
    password: &str,
    field: &'static str,
) -> Result<(), AppError> {
    let slots = throttle::reserve_password_attempt(ctx, throttle::account_key(Some(user_id), ""), None).await??;
    let stored = ctx.store.user_by_id(user_id).await?.ok_or(AppError::Unauthorized)?.password_hash;
    let attempt = if password.len() > LOGIN_PASSWORD_MAX_BYTES { "" } else { password };
    let (verdict, _) = ctx.hasher.verify(attempt.to_string(), Some(stored)).await?;
    if verdict == Verified::Mismatch {
        let message = if field == "current_password" { "is not your current password" } else { "is not your password" };
        return Err(AppError::InvalidCredentials { fields: Some(FieldErrors::from([(field, message.to_string())])) });
    }
    throttle::password_accepted(ctx, slots).await;
    Ok(())
}

/// Changes the password after checking the current one; every other session ends.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn change_password(
    ctx: &Ctx,
    user: &User,
    proof: &Proof,
    current_session: Option<i64>,
    current_password: Option<&str>,
    new_password: Option<&str>,
    client: &Client,
) -> Result<(), AppError> {
    let mut fields = FieldErrors::new();
    if current_password.is_none_or(str::is_empty) {
        fields.insert("current_password", "is required".into());
    }
    let new = parse_new_password(ctx, new_password).map_err(|e| fields.insert("new_password", e.into())).ok();
    let (Some(current), Some(new)) = (current_password, new) else {
        return Err(AppError::Validation(fields));
    };
    if !fields.is_empty() {
        return Err(AppError::Validation(fields));
    }
    stepup::require_recent(ctx, proof).await?;
    // The current password is guessable like any other: same budget as logins.
    verify_own_password(ctx, user.id, current, "current_password").await?;
    let hash = ctx.hasher.hash(new.expose().to_string()).await?;
    let mut change = ctx.begin().await?;
    let now = change.now;
    change.update_password_hash(user.id, &hash, now).await?;
    let ended = sessions::end_all_in(&mut change, user.id, current_session).await?;
    let families = super::tokens::revoke_all_for_user(&mut change, user.id).await?;
    audit::record(
        &mut change,
        Event::new(Kind::PasswordChanged, client)
            .user(user.id)
            .actor(Some(user.id))
            .detail(json!({"sessions_ended": ended, "token_families_revoked": families})),
    )
    .await?;
    change.commit().await
}

/// The new password of a change or reset, under the password rules.
pub(super) fn parse_new_password(ctx: &Ctx, new_password: Option<&str>) -> Result<Password, &'static str> {
    match new_password {
        None | Some("") => Err("is required"),
        Some(p) if is_bcrypt(ctx) && p.len() > crate::crypto::password::BCRYPT_MAX_BYTES => {
            Err("must be at most 72 bytes")
        }
        Some(p) => Password::parse(p),
    }
}

/// `latchkey user create`: an account made by the operator.
pub async fn create_user(
    ctx: &Ctx,
    username: &str,
    email: Option<&str>,
    password: &str,
    admin: bool,
) -> Result<User, AppError> {
    let valid = validate(
        &NewAccount { username: Some(username), password: Some(password), password_confirmation: None, email },
        is_bcrypt(ctx),
    )?;
    let hash = ctx.hasher.hash(valid.password.expose().to_string()).await?;
    let roles = Roles::new(admin.then(Role::admin));
    let client = Client::local();
    let mut change = ctx.begin().await?;
    let user = insert_user(&mut change, &valid.username, valid.email.as_ref(), &hash, &roles).await?;
    audit::record(
        &mut change,
        Event::new(Kind::Signup, &client).user(user.id).detail(json!({"by": "cli", "roles": roles.names()})),
    )
    .await?;
    // Sent by the server's mail worker: the outbox outlives this command.
    recovery::queue_verification(&mut change, &user, &client).await?;
    change.commit().await?;
    Ok(user)
}

/// The user with this id, from the auth cache when it may answer.
pub async fn user(ctx: &Ctx, id: UserId) -> Result<Option<Arc<User>>, AppError> {
    if let Some(user) = ctx.cache.user(id) {
        return Ok(Some(user));
    }
    let fill = ctx.cache.begin_fill();
    let Some(row) = ctx.store.user_by_id(id).await? else { return Ok(None) };
    let user = Arc::new(row.into_user().0);
    ctx.cache.put_user(fill, Arc::clone(&user));
    Ok(Some(user))
}

/// The id of the account with this username, for the CLI.
pub async fn user_id_by_username(ctx: &Ctx, username: &str) -> Result<UserId, AppError> {
    let row = ctx.store.user_by_username_key(&username.to_ascii_lowercase()).await?;
    row.map(|r| r.id).ok_or(AppError::NotFound)
}
