//! Account recovery by mail: verifying an address, resetting a forgotten password, and
//! changing the address. Each flow sends a single-use link: 256 random bits, of which
//! only the SHA-256 is stored; a newer link of the same kind ends the older ones.
//!
//! Links carry their token in the URL fragment (`/reset-password#token=…`): a browser
//! never sends a fragment to any server, so the token stays out of access logs and
//! `Referer` headers; the web app reads it and posts it.

use serde_json::json;

use super::audit::{self, Event, Kind};
use super::mail::{self, Mailer, Template};
use super::stepup::{self, Proof};
use super::{password, sessions, throttle, tokens, Change, Client, Ctx};
use crate::crypto::token::{looks_like_token, new_token, token_hash};
use crate::domain::{Email, User, UserId};
use crate::error::{AppError, FieldErrors};
use crate::feed::FeedEvent;
use crate::store::email::NewEmailToken;

/// How long a verification (or address change) link works.
pub const VERIFY_TTL_SECS: i64 = 24 * 3600;
/// How long a password reset link works.
pub const RESET_TTL_SECS: i64 = 30 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Verify,
    Reset,
    Change,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
            Purpose::Change => "change",
        }
    }
    fn ttl(self) -> i64 {
        match self {
            Purpose::Reset => RESET_TTL_SECS,
            Purpose::Verify | Purpose::Change => VERIFY_TTL_SECS,
        }
    }
    /// The web app's page that takes this link.
    fn page(self) -> &'static str {
        match self {
            Purpose::Reset => "reset-password",
            Purpose::Verify | Purpose::Change => "verify-email",
        }
    }
}

/// Makes a link for `user_id`, ending its older links of the same purpose; returns the
/// URL to mail.
async fn new_link(
    change: &mut Change<'_>,
    user_id: UserId,
    purpose: Purpose,
    email: Option<&str>,
) -> Result<String, AppError> {
    let now = change.now;
    change.expire_email_tokens(user_id, purpose.as_str(), now).await?;
    let token = new_token();
    change
        .insert_email_token(&NewEmailToken {
            user_id,
            purpose: purpose.as_str(),
            token_hash: &token_hash(&token),
            email,
            now,
            expires_at: now + purpose.ttl(),
        })
        .await?;
    let base = change.ctx().config.public_url.trim_end_matches('/').to_string();
    Ok(format!("{base}/{}#token={token}", purpose.page()))
}

/// Wakes the mail worker after a change that queued a mail has committed.
pub fn wake_mailer(ctx: &Ctx) {
    if let Some(mailer) = &ctx.mailer {
        mailer.wake();
    }
}

/// Inside the change that gave `user` an unverified address (signup, `user create`), or
/// for a resend: queues the mail that verifies it, when latchkey sends mail, charged to
/// the account's mail budget like every mail to it. Whether it did.
pub async fn queue_verification(change: &mut Change<'_>, user: &User, client: &Client) -> Result<bool, AppError> {
    let (Some(mailer), Some(email)) = (change.ctx().mailer.clone(), user.email.as_deref()) else {
        return Ok(false);
    };
    if user.email_verified {
        return Ok(false);
    }
    throttle::reserve_mail_for_account(change.ctx(), user.id).await?;
    let link = new_link(change, user.id, Purpose::Verify, Some(email)).await?;
    let values = [("username", user.username.as_str()), ("email", email), ("link", link.as_str())];
    mail::enqueue(change, &mailer, email, Template::VerifyEmail, &values).await?;
    audit::record(change, Event::new(Kind::EmailVerificationSent, client).user(user.id).actor(Some(user.id))).await?;
    Ok(true)
}

/// `POST /api/email/verify/resend`: a new verification link for the caller's address.
pub async fn resend_verification(ctx: &Ctx, user: &User, client: &Client) -> Result<(), AppError> {
    mail::mailer(ctx)?;
    let Some(row) = ctx.store.user_by_id(user.id).await? else { return Err(AppError::Unauthorized) };
    let (current, _) = row.into_user();
    if current.email.is_none() {
        return Err(AppError::validation("email", "is not set: add an address first"));
    }
    if current.email_verified {
        return Err(AppError::validation("email", "is already verified"));
    }
    throttle::reserve_mail_for_ip(ctx, client).await?;
    let mut change = ctx.begin().await?;
    queue_verification(&mut change, &current, client).await?;
    change.commit().await?;
    wake_mailer(ctx);
    Ok(())
}

fn link_token(token: Option<&str>) -> Result<&str, AppError> {
    token.filter(|t| looks_like_token(t)).ok_or(AppError::InvalidLink)
}

/// `POST /api/email/verify`: follows a verification or address-change link. Answers the
/// account as it now is. Works for anyone holding the link: the mail is the proof.
pub async fn verify_email(ctx: &Ctx, token: Option<&str>, client: &Client) -> Result<User, AppError> {
    let hash = token_hash(link_token(token)?);
    let mut change = ctx.begin().await?;
    let now = change.now;
    let user_id = if let Some(link) = change.use_email_token(&hash, Purpose::Verify.as_str(), now).await? {
        let email = link.email.as_deref().map(|e| e.to_lowercase()).unwrap_or_default();
        // The account's address changed since the link was sent: it verifies nothing.
        if !change.set_email_verified(link.user_id, &email, now).await? {
            return Err(AppError::InvalidLink);
        }
        audit::record(&mut change, Event::new(Kind::EmailVerified, client).user(link.user_id)).await?;
        link.user_id
    } else if let Some(link) = change.use_email_token(&hash, Purpose::Change.as_str(), now).await? {
        let new = Email::parse(link.email.as_deref().unwrap_or_default()).map_err(|_| AppError::InvalidLink)?;
        let before = change.user_by_id(link.user_id).await?.ok_or(AppError::InvalidLink)?.into_user().0;
        change.replace_email(link.user_id, new.as_str(), &new.key(), now).await?;
        // Other pending changes and the old address's verification links are moot now.
        change.expire_email_tokens(link.user_id, Purpose::Change.as_str(), now).await?;
        change.expire_email_tokens(link.user_id, Purpose::Verify.as_str(), now).await?;
        if let (Some(old), Some(mailer)) = (before.email.as_deref(), ctx.mailer.as_deref()) {
            let values = [("username", before.username.as_str()), ("email", new.as_str())];
            mail::enqueue(&mut change, mailer, old, Template::EmailChanged, &values).await?;
        }
        audit::record(
            &mut change,
            Event::new(Kind::EmailChanged, client)
                .user(link.user_id)
                .detail(json!({"from": before.email, "to": new.as_str()})),
        )
        .await?;
        link.user_id
    } else {
        return Err(AppError::InvalidLink);
    };
    let user = change.user_by_id(user_id).await?.ok_or(AppError::InvalidLink)?.into_user().0;
    change.publish(FeedEvent::UserChanged { user_id }).await?;
    change.commit().await?;
    wake_mailer(ctx);
    Ok(user)
}

/// `POST /api/password/forgot`. Only what does not depend on the account happens while
/// answering: the shape of the input, the address's budget, and one row written for the
/// mail worker, which looks the account up and mails a link if it has an address
/// ([`carry_out_reset_requests`]). So the answer is the same, and takes the same time,
/// whether the account exists, has an address, or is out of mails for the hour; and
/// once answered, the request survives a crash.
pub async fn forgot_password(ctx: &Ctx, login: Option<&str>, client: &Client) -> Result<(), AppError> {
    let login = login.map(str::trim).filter(|l| !l.is_empty());
    let Some(login) = login else { return Err(AppError::validation("username", "is required")) };
    if login.chars().count() > 254 || login.chars().any(char::is_control) {
        return Err(AppError::validation("username", "is not a username or an email address"));
    }
    let mailer = mail::mailer(ctx)?;
    throttle::reserve_mail_for_ip(ctx, client).await?;
    let ip = client.ip.to_string();
    ctx.store.insert_reset_request(&login.to_lowercase(), &ip, client.user_agent.as_deref(), ctx.now()).await?;
    mailer.wake();
    Ok(())
}

/// The mail worker: turns `forgot` requests into mails, sends what is due, then waits
/// to be woken or for the next poll. Runs until the server stops (its task is aborted; a
/// mail it was sending stays leased and is sent again once the lease passes).
pub async fn run_mail_worker(ctx: &Ctx, mailer: &Mailer) {
    loop {
        carry_out_reset_requests(ctx, mailer).await;
        mail::deliver_due(ctx, mailer).await;
        mailer.wait_for_work().await;
    }
}

/// The worker's half of `forgot`: each waiting request becomes a link and a mail (or
/// nothing, for an account without an address) in the transaction that removes it.
pub async fn carry_out_reset_requests(ctx: &Ctx, mailer: &Mailer) {
    loop {
        match carry_out_one(ctx, mailer).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(error = %e, "password reset requests not handled; trying again shortly");
                return;
            }
        }
    }
}

/// One request; whether there was one.
async fn carry_out_one(ctx: &Ctx, mailer: &Mailer) -> Result<bool, AppError> {
    let mut change = ctx.begin().await?;
    let Some(request) = change.claim_reset_request().await? else { return Ok(false) };
    change.delete_reset_request(request.id).await?;
    let client = Client {
        ip: request.ip.parse().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
        user_agent: request.user_agent.clone(),
    };
    let user = change.user_by_login(&request.login_key).await?.map(|row| row.into_user().0);
    if let Some(user) = user.filter(|u| u.email.is_some()) {
        let email = user.email.as_deref().unwrap_or_default();
        match throttle::reserve_mail_for_account(ctx, user.id).await {
            Ok(()) => {
                let link = new_link(&mut change, user.id, Purpose::Reset, None).await?;
                let values = [("username", user.username.as_str()), ("email", email), ("link", link.as_str())];
                mail::enqueue(&mut change, mailer, email, Template::ResetPassword, &values).await?;
                audit::record(&mut change, Event::new(Kind::PasswordResetRequested, &client).user(user.id)).await?;
            }
            Err(AppError::RateLimited { .. }) => {
                tracing::info!(user_id = user.id, "password reset not mailed: the account's hourly budget is spent");
            }
            Err(e) => return Err(e),
        }
    }
    change.commit().await?;
    Ok(true)
}

/// `POST /api/password/reset`: sets a new password with a reset link. Every session
/// and refresh token of the account ends; the link and any older ones are spent.
pub async fn reset_password(
    ctx: &Ctx,
    token: Option<&str>,
    new_password: Option<&str>,
    client: &Client,
) -> Result<(), AppError> {
    let new = password::parse_new(ctx, new_password)
        .map_err(|e| AppError::Validation(FieldErrors::from([("new_password", e.to_string())])))?;
    let hash = token_hash(link_token(token)?);
    // A dead link is refused before the costly hash; using it below settles races.
    if ctx.store.live_email_token(&hash, Purpose::Reset.as_str(), ctx.now()).await?.is_none() {
        return Err(AppError::InvalidLink);
    }
    let password_hash = ctx.hasher.hash(new.expose().to_string()).await?;
    let mut change = ctx.begin().await?;
    let now = change.now;
    let link = change.use_email_token(&hash, Purpose::Reset.as_str(), now).await?.ok_or(AppError::InvalidLink)?;
    change.update_password_hash(link.user_id, &password_hash, now).await?;
    change.expire_email_tokens(link.user_id, Purpose::Reset.as_str(), now).await?;
    let ended = sessions::end_all_in(&mut change, link.user_id, None).await?;
    let families = tokens::revoke_all_for_user(&mut change, link.user_id, None).await?;
    audit::record(
        &mut change,
        Event::new(Kind::PasswordReset, client)
            .user(link.user_id)
            .detail(json!({"sessions_ended": ended, "token_families_revoked": families})),
    )
    .await?;
    change.publish(FeedEvent::UserChanged { user_id: link.user_id }).await?;
    change.commit().await
}

/// `PUT /api/me/email`: after the current password, mails a link to the new address;
/// the address becomes the account's (and its login) only when that link is followed.
pub async fn change_email(
    ctx: &Ctx,
    user: &User,
    proof: &Proof,
    current_password: Option<&str>,
    new_email: Option<&str>,
    client: &Client,
) -> Result<(), AppError> {
    let mailer = mail::mailer(ctx)?;
    // Like a password change: a recent authentication, not just any live session.
    stepup::require_recent(ctx, proof).await?;
    let mut fields = FieldErrors::new();
    // An account without a password has just proven itself at its provider (step-up).
    let with_password = password::has_password(ctx, user.id).await?;
    if with_password && current_password.is_none_or(str::is_empty) {
        fields.insert("current_password", "is required".into());
    }
    let new = match new_email {
        None | Some("") => Err("is required"),
        Some(e) => Email::parse(e),
    }
    .map_err(|e| fields.insert("new_email", e.into()))
    .ok();
    let Some(new) = new else { return Err(AppError::Validation(fields)) };
    if !fields.is_empty() {
        return Err(AppError::Validation(fields));
    }
    if user.email.as_deref().map(str::to_lowercase) == Some(new.key()) {
        return Err(AppError::validation("new_email", "is already your address"));
    }
    if let (true, Some(current)) = (with_password, current_password) {
        password::verify_own(ctx, user.id, current, "current_password").await?;
    }
    if ctx.store.user_by_login(&new.key()).await?.is_some() {
        return Err(AppError::EmailTaken);
    }
    throttle::reserve_mail_for_ip(ctx, client).await?;
    throttle::reserve_mail_for_account(ctx, user.id).await?;
    let mut change = ctx.begin().await?;
    let link = new_link(&mut change, user.id, Purpose::Change, Some(new.as_str())).await?;
    let values = [("username", user.username.as_str()), ("email", new.as_str()), ("link", link.as_str())];
    mail::enqueue(&mut change, mailer, new.as_str(), Template::ChangeEmail, &values).await?;
    audit::record(
        &mut change,
        Event::new(Kind::EmailChangeRequested, client)
            .user(user.id)
            .actor(Some(user.id))
            .detail(json!({"to": new.as_str()})),
    )
    .await?;
    change.commit().await?;
    mailer.wake();
    Ok(())
}

/// `latchkey user reset-link`: a reset link for the operator to hand over, for servers
/// without mail (or users without an address).
pub async fn reset_link(ctx: &Ctx, user_id: UserId) -> Result<String, AppError> {
    let client = Client::local();
    let mut change = ctx.begin().await?;
    let link = new_link(&mut change, user_id, Purpose::Reset, None).await?;
    audit::record(
        &mut change,
        Event::new(Kind::PasswordResetRequested, &client).user(user_id).detail(json!({"by": "cli"})),
    )
    .await?;
    change.commit().await?;
    Ok(link)
}

/// Deletes links that are used or expired; run periodically.
pub async fn forget_dead_links(ctx: &Ctx) {
    if let Err(e) = ctx.store.delete_dead_email_tokens(ctx.now()).await {
        tracing::warn!(error = %e, "dead email links not deleted");
    }
}
