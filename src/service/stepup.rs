//! Step-up: a sensitive change (the password, the email, a second factor) needs an
//! authentication within `security.step_up_window`; `reauth` renews it.
//!
//! A cookie session keeps the time in the database (`sessions.auth_at`), read at the
//! check, so a re-authentication on one instance counts on every other at once. An
//! access token carries it in its `auth_time` claim; re-authenticating with a token
//! answers a new access token carrying the new time.

use super::Ctx;
use crate::error::AppError;

/// How the caller of a request proved who it is.
#[derive(Debug, Clone)]
pub enum Proof {
    /// A cookie session, by id.
    Session(i64),
    /// An access token, with its `auth_time` and `amr` claims and the token login it
    /// belongs to.
    Token { auth_time: i64, amr: Vec<String>, family: Option<i64> },
}

/// `Ok` when the caller authenticated within the step-up window, else
/// `ReauthenticationRequired`.
pub async fn require_recent(ctx: &Ctx, proof: &Proof) -> Result<(), AppError> {
    let at = match proof {
        Proof::Session(id) => ctx.store.session_auth_at(*id).await?.unwrap_or(0),
        Proof::Token { auth_time, .. } => *auth_time,
    };
    if ctx.now() - at > ctx.config.security.step_up_window.secs() {
        return Err(AppError::ReauthenticationRequired);
    }
    Ok(())
}
