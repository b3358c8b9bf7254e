//! Accounts: signup, password change, and the operator's user management (CLI). Logins
//! are the pipeline's (`login`); password checks and rules are `password`'s.

use serde_json::json;

use super::audit::{self, Event, Kind};
use super::sessions::{self, Issued};
use super::stepup::{self, Proof};
use super::{password, recovery, throttle, users, Change, Client, Ctx};
use crate::domain::{Email, Password, Role, Roles, User, Username};
use crate::error::{AppError, FieldErrors};
use crate::store::users::NewUser;

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
    let password = password::parse_chosen(account.password, hasher_is_bcrypt)
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
    let valid = validate(&account, password::is_bcrypt(ctx))?;
    throttle::reserve_signup(ctx, client).await?;
    // A taken name is refused before the costly hash; the unique index settles races.
    if ctx.store.user_by_username_key(&valid.username.key()).await?.is_some() {
        return Err(AppError::UsernameTaken);
    }
    let hash = ctx.hasher.hash(valid.password.expose().to_string()).await?;
    let mut change = ctx.begin().await?;
    let user = insert_user(&mut change, &valid.username, valid.email.as_ref(), &hash, &Roles::new([])).await?;
    let issued = if users::must_verify_first(ctx, &user) {
        None
    } else {
        Some(sessions::create(ctx, &mut change, user.id, &["pwd".to_string()], client).await?)
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
    let new = password::parse_new(ctx, new_password).map_err(|e| fields.insert("new_password", e.into())).ok();
    let (Some(current), Some(new)) = (current_password, new) else {
        return Err(AppError::Validation(fields));
    };
    if !fields.is_empty() {
        return Err(AppError::Validation(fields));
    }
    stepup::require_recent(ctx, proof).await?;
    // The current password is guessable like any other: same budget as logins.
    password::verify_own(ctx, user.id, current, "current_password").await?;
    let hash = ctx.hasher.hash(new.expose().to_string()).await?;
    let mut change = ctx.begin().await?;
    let now = change.now;
    change.update_password_hash(user.id, &hash, now).await?;
    let ended = sessions::end_all_in(&mut change, user.id, current_session).await?;
    let families = super::tokens::revoke_all_for_user(&mut change, user.id, None).await?;
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
        password::is_bcrypt(ctx),
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
