//! The admin API's rules (API.md "Authorization and the admin API"), also used by the
//! CLI: listing users, changing roles with the last-admin guard, revoking a user's
//! sessions and tokens, deleting a user.

use serde_json::json;

use super::audit::{self, Event, Kind};
use super::{page_of, sessions, tokens, Client, Ctx};
use crate::domain::{Roles, User, UserId};
use crate::error::AppError;
use crate::feed::FeedEvent;

/// Ordered by id, after the `after` cursor; `next` is the last id when more follow.
pub async fn list_users(ctx: &Ctx, after: Option<i64>, limit: i64) -> Result<(Vec<User>, Option<i64>), AppError> {
    let rows = ctx.store.users_page(after, limit + 1).await?;
    Ok(page_of(rows, limit, |r| r.into_user().0, |u| u.id))
}

pub async fn get_user(ctx: &Ctx, id: UserId) -> Result<User, AppError> {
    Ok(ctx.store.user_by_id(id).await?.ok_or(AppError::NotFound)?.into_user().0)
}

/// Replaces a user's roles (`user` is always kept). Refuses to remove the last admin.
pub async fn set_roles(
    ctx: &Ctx,
    user_id: UserId,
    roles: Roles,
    actor: Option<UserId>,
    client: &Client,
) -> Result<User, AppError> {
    let mut change = ctx.begin().await?;
    change.lock_admin_set().await?;
    let admins = change.admin_ids().await?;
    if !roles.is_admin() && admins == [user_id] {
        return Err(AppError::LastAdmin);
    }
    let now = change.now;
    let row = change.set_roles(user_id, &roles.to_column(), now).await?.ok_or(AppError::NotFound)?;
    change.publish(FeedEvent::UserChanged { user_id }).await?;
    audit::record(
        &mut change,
        Event::new(Kind::RolesChanged, client).user(user_id).actor(actor).detail(json!({"roles": roles.names()})),
    )
    .await?;
    change.commit().await?;
    Ok(row.into_user().0)
}

/// Ends all the user's sessions and revokes all their refresh tokens.
pub async fn revoke_user(ctx: &Ctx, user_id: UserId, actor: Option<UserId>, client: &Client) -> Result<(), AppError> {
    let mut change = ctx.begin().await?;
    // First: a login in flight then either committed before this (and is ended below)
    // or mints nothing.
    if !change.bump_credentials(user_id).await? {
        return Err(AppError::NotFound);
    }
    let sessions = sessions::end_all_in(&mut change, user_id, None).await?;
    let families = tokens::revoke_all_for_user(&mut change, user_id, None).await?;
    audit::record(
        &mut change,
        Event::new(Kind::SessionRevoked, client)
            .user(user_id)
            .actor(actor)
            .detail(json!({"sessions_ended": sessions, "token_families_revoked": families})),
    )
    .await?;
    change.commit().await
}

/// Deletes a user with their sessions, tokens, posts and avatar. Refuses to delete
/// the last admin.
pub async fn delete_user(ctx: &Ctx, user_id: UserId, actor: Option<UserId>, client: &Client) -> Result<(), AppError> {
    let mut change = ctx.begin().await?;
    change.lock_admin_set().await?;
    let admins = change.admin_ids().await?;
    if admins == [user_id] {
        return Err(AppError::LastAdmin);
    }
    let Some(row) = change.user_by_id(user_id).await? else { return Err(AppError::NotFound) };
    change.delete_user(user_id).await?;
    change.publish(FeedEvent::UserChanged { user_id }).await?;
    change.publish(FeedEvent::UserSessionsEnded { user_id, keep: None }).await?;
    audit::record(
        &mut change,
        Event::new(Kind::UserDeleted, client).user(user_id).actor(actor).detail(json!({"username": row.username})),
    )
    .await?;
    change.commit().await
}
