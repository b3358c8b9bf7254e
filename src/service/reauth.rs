//! Re-authentication: a logged-in caller proves again who they are (the password, a
//! TOTP code, or a passkey) to renew the step-up window (`stepup`).

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::audit::{self, Event, Kind};
use super::codes::{self, Code};
use super::stepup::Proof;
use super::{passkeys, password, tokens, Change, Client, Ctx};
use crate::domain::User;
use crate::error::{AppError, FieldErrors};

#[derive(Debug, Serialize, ToSchema)]
pub struct Reauthenticated {
    /// Seconds from now during which sensitive changes are allowed.
    pub step_up_expires_in: i64,
    /// For a caller authenticated by an access token: a new one that carries the new
    /// authentication time. Absent for a cookie session (the session itself was renewed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
}

/// Proves again who the caller is, with the password, a TOTP code, or both (each one
/// sent must be right), and renews the caller's authentication time.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn reauthenticate(
    ctx: &Ctx,
    user: &User,
    proof: &Proof,
    password: Option<&str>,
    code: Option<&str>,
    client: &Client,
) -> Result<Reauthenticated, AppError> {
    let password = password.filter(|p| !p.is_empty());
    let code = code.filter(|c| !c.is_empty());
    if password.is_none() && code.is_none() {
        let mut fields = FieldErrors::new();
        fields.insert("password", "send the password, a code from the authenticator app, or both".into());
        return Err(AppError::Validation(fields));
    }
    if let Some(password) = password {
        password::verify_own(ctx, user.id, password, "password").await?;
    }
    let mut methods = Vec::new();
    if password.is_some() {
        methods.push("pwd");
    }
    let (change, slots) = match code {
        Some(code) => {
            let (change, slots) = codes::check(ctx, user.id, &Code::Totp(code), client).await?;
            methods.push("otp");
            (change, Some(slots))
        }
        None => (ctx.begin().await?, None),
    };
    let renewed = renew(change, user, proof, &methods, client).await?;
    if let Some(slots) = slots {
        super::throttle::password_accepted(ctx, slots).await;
    }
    Ok(renewed)
}

/// Proves again who the caller is with one of their passkeys, finishing the ceremony of
/// `passkeys::begin_reauthentication`.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn reauthenticate_with_passkey(
    ctx: &Ctx,
    user: &User,
    proof: &Proof,
    ceremony: Option<&str>,
    credential: Option<&serde_json::Value>,
    client: &Client,
) -> Result<Reauthenticated, AppError> {
    let change = passkeys::verify_reauthentication(ctx, user.id, ceremony, credential).await?;
    renew(change, user, proof, &["webauthn"], client).await
}

/// Proves again who the caller is with a fresh login at one of their providers
/// (`federation::identities::reauthenticate` checked it).
pub async fn reauthenticate_with_provider(
    ctx: &Ctx,
    user: &User,
    proof: &Proof,
    client: &Client,
) -> Result<Reauthenticated, AppError> {
    renew(ctx.begin().await?, user, proof, &["fed"], client).await
}

/// Records the new authentication time (a cookie session's, or a new access token with
/// `methods` added to its `amr`) in `change`, audited, and commits.
async fn renew(
    mut change: Change<'_>,
    user: &User,
    proof: &Proof,
    methods: &[&str],
    client: &Client,
) -> Result<Reauthenticated, AppError> {
    let ctx = change.ctx();
    let mut amr = match proof {
        Proof::Token { amr, .. } => amr.clone(),
        Proof::Session(_) => Vec::new(),
    };
    for method in methods {
        if !amr.iter().any(|m| m == method) {
            amr.push(method.to_string());
        }
    }
    let step_up_expires_in = ctx.config.security.step_up_window.secs();
    let now = change.now;
    let (access_token, expires_in) = match proof {
        Proof::Session(id) => {
            change.set_session_auth_at(*id, now).await?;
            (None, None)
        }
        Proof::Token { family, .. } => {
            let (token, ttl) = tokens::access_token(ctx, user, now, &amr, *family)?;
            (Some(token), Some(ttl))
        }
    };
    audit::record(
        &mut change,
        Event::new(Kind::Reauthenticated, client)
            .user(user.id)
            .actor(Some(user.id))
            .detail(json!({"methods": methods})),
    )
    .await?;
    change.commit().await?;
    Ok(Reauthenticated { step_up_expires_in, access_token, expires_in })
}
