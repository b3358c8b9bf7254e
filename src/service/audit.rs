//! Audit events (API.md "Authorization and the admin API"): what happened, to whom, by
//! whom, from where. Never a password, token or hash.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{page_of, Change, Client, Ctx};
use crate::domain::{from_unix, rfc3339_seconds, UserId};
use crate::error::AppError;
use crate::store::audit::NewAuditEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Signup,
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    Logout,
    TokenIssued,
    TokenRefreshed,
    TokenReuseDetected,
    PasswordChanged,
    SessionRevoked,
    RolesChanged,
    UserDeleted,
    SecondFactorRequired,
    SecondFactorFailed,
    TotpEnabled,
    TotpDisabled,
    RecoveryCodesRegenerated,
    RecoveryCodeUsed,
    SecondFactorRemoved,
    Reauthenticated,
    EmailVerificationSent,
    EmailVerified,
    PasswordResetRequested,
    PasswordReset,
    EmailChangeRequested,
    EmailChanged,
    PasskeyAdded,
    PasskeyRemoved,
    FederatedLoginFailed,
    IdentityLinked,
    IdentityUnlinked,
    AppAuthorized,
    AppAccessRevoked,
    OAuthClientChanged,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Signup => "signup",
            Kind::LoginSucceeded => "login_succeeded",
            Kind::LoginFailed => "login_failed",
            Kind::LoginThrottled => "login_throttled",
            Kind::Logout => "logout",
            Kind::TokenIssued => "token_issued",
            Kind::TokenRefreshed => "token_refreshed",
            Kind::TokenReuseDetected => "token_reuse_detected",
            Kind::PasswordChanged => "password_changed",
            Kind::SessionRevoked => "session_revoked",
            Kind::RolesChanged => "roles_changed",
            Kind::UserDeleted => "user_deleted",
            Kind::SecondFactorRequired => "second_factor_required",
            Kind::SecondFactorFailed => "second_factor_failed",
            Kind::TotpEnabled => "totp_enabled",
            Kind::TotpDisabled => "totp_disabled",
            Kind::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Kind::RecoveryCodeUsed => "recovery_code_used",
            Kind::SecondFactorRemoved => "second_factor_removed",
            Kind::Reauthenticated => "reauthenticated",
            Kind::EmailVerificationSent => "email_verification_sent",
            Kind::EmailVerified => "email_verified",
            Kind::PasswordResetRequested => "password_reset_requested",
            Kind::PasswordReset => "password_reset",
            Kind::EmailChangeRequested => "email_change_requested",
            Kind::EmailChanged => "email_changed",
            Kind::PasskeyAdded => "passkey_added",
            Kind::PasskeyRemoved => "passkey_removed",
            Kind::FederatedLoginFailed => "federated_login_failed",
            Kind::IdentityLinked => "identity_linked",
            Kind::IdentityUnlinked => "identity_unlinked",
            Kind::AppAuthorized => "app_authorized",
            Kind::AppAccessRevoked => "app_access_revoked",
            Kind::OAuthClientChanged => "oauth_client_changed",
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

/// Writes the event as part of the change it records.
pub async fn record(change: &mut Change<'_>, event: Event<'_>) -> Result<(), AppError> {
    let ip = event.client.ip.to_string();
    let detail = event.detail.to_string();
    let at = change.now;
    change
        .insert_audit(&NewAuditEvent {
            at,
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
    let mut change = ctx.begin().await?;
    record(&mut change, event).await?;
    change.commit().await
}

/// An audit event as `GET /api/audit` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: i64,
    #[serde(with = "rfc3339_seconds")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    #[schema(example = "login_failed")]
    pub kind: String,
    /// The account the event is about.
    pub user_id: Option<UserId>,
    /// Who acted; null when anonymous or the CLI.
    pub actor_id: Option<UserId>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub detail: Value,
}

/// Newest first, strictly before the `before` id; `next` is the cursor of the next page.
pub async fn list(ctx: &Ctx, before: Option<i64>, limit: i64) -> Result<(Vec<AuditEvent>, Option<i64>), AppError> {
    let rows = ctx.store.audit_events(before, limit + 1).await?;
    Ok(page_of(
        rows,
        limit,
        |r| AuditEvent {
            id: r.id,
            at: from_unix(r.at),
            kind: r.kind,
            user_id: r.user_id,
            actor_id: r.actor_id,
            ip: r.ip,
            user_agent: r.user_agent,
            detail: serde_json::from_str(&r.detail).unwrap_or(Value::Null),
        },
        |e| e.id,
    ))
}

/// Events deleted per statement by the retention clean-up.
const PRUNE_BATCH: i64 = 1_000;

/// Deletes events older than `audit.retention`, a batch at a time so that the database
/// writer is never held for long; run periodically. Returns how many.
pub async fn prune(ctx: &Ctx) -> Result<u64, AppError> {
    let retention = ctx.config.audit.retention.secs();
    if retention == 0 {
        return Ok(0);
    }
    let cutoff = ctx.now() - retention;
    let mut deleted = 0;
    loop {
        let n = ctx.store.delete_audit_before(cutoff, PRUNE_BATCH).await?;
        deleted += n;
        if n < PRUNE_BATCH as u64 {
            return Ok(deleted);
        }
        tokio::task::yield_now().await;
    }
}
