//! Looking up accounts: by id through the auth cache, and by username for the CLI.

use std::sync::Arc;

use super::{Change, Ctx};
use crate::crypto::password::NO_PASSWORD;
use crate::domain::{User, UserId};
use crate::error::AppError;

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

/// Whether this account may log in only after verifying its address.
pub fn must_verify_first(ctx: &Ctx, user: &User) -> bool {
    ctx.config.signup.require_verified_email && user.email.is_some() && !user.email_verified
}

/// How many ways the account has to log in, counted in `change` (which holds the
/// account's row): its password, its passkeys, its identities at providers.
pub async fn ways_in(change: &mut Change<'_>, user_id: UserId) -> Result<i64, AppError> {
    let row = change.user_by_id(user_id).await?.ok_or(AppError::NotFound)?;
    let password = i64::from(row.password_hash != NO_PASSWORD);
    let passkeys = change.count_passkeys(user_id).await?;
    let identities = change.count_identities(user_id).await?;
    Ok(password + passkeys + identities)
}
