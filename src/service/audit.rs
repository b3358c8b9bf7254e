//! Audit events (API.md "Authorization and the admin API"): what happened, to whom, by
//! whom, from where. Never a password, token or hash.

use serde_json::Value;

use super::{now, Client, Ctx};
use crate::domain::UserId;
use crate::error::AppError;
use crate::store::audit::NewAuditEvent;
use crate::store::Tx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Signup,
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    Logout,
    PasswordChanged,
    SessionRevoked,
    RolesChanged,
    UserDeleted,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Signup => "signup",
            Kind::LoginSucceeded => "login_succeeded",
            Kind::LoginFailed => "login_failed",
            Kind::LoginThrottled => "login_throttled",
            Kind::Logout => "logout",
            Kind::PasswordChanged => "password_changed",
            Kind::SessionRevoked => "session_revoked",
            Kind::RolesChanged => "roles_changed",
            Kind::UserDeleted => "user_deleted",
        }
    }
}

/// One event about to be written.
pub struct Event<'a> {
    pub kind: Kind,
    pub user_id: Option<UserId>,
    pub actor_id: Option<UserId>,
    pub client: &'a Client,
    pub detail: Value,
}

impl<'a> Event<'a> {
    pub fn new(kind: Kind, client: &'a Client) -> Event<'a> {
        Event { kind, user_id: None, actor_id: None, client, detail: Value::Object(Default::default()) }
    }
    pub fn user(mut self, id: UserId) -> Self {
        self.user_id = Some(id);
        self
    }
    pub fn actor(mut self, id: Option<UserId>) -> Self {
        self.actor_id = id;
        self
    }
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

/// Writes the event in `tx`, the transaction of the change it records.
pub async fn record(tx: &mut Tx, event: Event<'_>) -> Result<(), AppError> {
    let ip = event.client.ip.to_string();
    let detail = event.detail.to_string();
    tx.insert_audit(&NewAuditEvent {
        at: now(),
        kind: event.kind.as_str(),
        user_id: event.user_id,
        actor_id: event.actor_id,
        ip: Some(&ip),
        user_agent: event.client.user_agent.as_deref(),
        detail: &detail,
    })
    .await?;
    Ok(())
}

/// Writes an event that records no other change (a failed or throttled login).
pub async fn record_alone(ctx: &Ctx, event: Event<'_>) -> Result<(), AppError> {
    let mut tx = ctx.store.begin().await?;
    record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(())
}
