//! The apps a user allowed, as the account page lists them; revoking one forgets the
//! consent and ends every login of the user at that app.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::scope_list;
use crate::domain::{from_unix, rfc3339_seconds, UserId};
use crate::error::AppError;
use crate::service::audit::{self, Event, Kind};
use crate::service::{Client, Ctx};

#[derive(Debug, Serialize, ToSchema)]
pub struct Consent {
    pub id: i64,
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    #[serde(with = "rfc3339_seconds")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "rfc3339_seconds")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: time::OffsetDateTime,
}

pub async fn list(ctx: &Ctx, user_id: UserId) -> Result<Vec<Consent>, AppError> {
    Ok(ctx
        .store
        .grants_of_user(user_id)
        .await?
        .into_iter()
        .map(|g| Consent {
            id: g.id,
            client_id: g.client_id,
            client_name: g.client_name,
            scopes: scope_list(&g.scope),
            created_at: from_unix(g.created_at),
            updated_at: from_unix(g.updated_at),
        })
        .collect())
}

pub async fn revoke(ctx: &Ctx, user_id: UserId, id: i64, client: &Client) -> Result<(), AppError> {
    let mut change = ctx.begin().await?;
    let Some(client_id) = change.delete_grant(user_id, id).await? else { return Err(AppError::NotFound) };
    let now = change.now;
    let ended = change.revoke_app_logins(user_id, &client_id, now).await?;
    audit::record(
        &mut change,
        Event::new(Kind::AppAccessRevoked, client)
            .user(user_id)
            .actor(Some(user_id))
            .detail(json!({"client_id": client_id, "logins_ended": ended})),
    )
    .await?;
    change.commit().await
}
