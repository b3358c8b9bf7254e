//! The login pipeline. Every way of logging in ends here: a proof that verified (a
//! password, the second step of a challenge, a passkey) goes in with what the client
//! asked for (a cookie session or a token pair); the second-factor policy, the
//! verified-email rule, the credentials-epoch check, minting, the audit event,
//! `amr`/`auth_time`, the throttle refund and the login metrics come out of this one
//! place.
//!
//! Minting happens in a transaction that first holds the account's row at the
//! credentials epoch the proof was checked against. A password reset or change, a
//! factor removed, an admin's revocation or a deletion moves that epoch (or removes the
//! row) in its own transaction before it ends the account's sessions and tokens: so a
//! login either commits first and is ended by that change, or finds the epoch moved and
//! mints nothing (401). No login outlives the change, on any instance.

use serde_json::json;

use super::audit::{self, Event, Kind};
use super::factors::{self, Login, Pending, Purpose, SecondProof};
use super::proof::Proven;
use super::sessions::{self, Issued};
use super::tokens::{self, TokenPair};
use super::{federation, passkeys, password, throttle, users, Client, Ctx};
use crate::domain::User;
use crate::error::AppError;

/// What a login hands out.
#[derive(Debug, Clone, Copy)]
pub enum Issue<'a> {
    /// A cookie session; the session the browser held before (if any) is ended, so
    /// re-logins do not pile up sessions.
    Session { previous_token: Option<&'a str> },
    /// An access token and a refresh token (a new token login).
    Tokens,
}

impl Issue<'_> {
    fn purpose(self) -> Purpose {
        match self {
            Issue::Session { .. } => Purpose::Session,
            Issue::Tokens => Purpose::Token,
        }
    }
}

/// What a login handed out.
pub enum Minted {
    Session(User, Issued),
    Tokens(TokenPair),
}

impl Minted {
    /// The session of a login that asked for `Issue::Session`.
    pub fn into_session(self) -> Result<(User, Issued), AppError> {
        match self {
            Minted::Session(user, issued) => Ok((user, issued)),
            Minted::Tokens(_) => Err(AppError::Internal(anyhow::anyhow!("a session login minted tokens"))),
        }
    }

    /// The token pair of a login that asked for `Issue::Tokens`.
    pub fn into_tokens(self) -> Result<TokenPair, AppError> {
        match self {
            Minted::Tokens(pair) => Ok(pair),
            Minted::Session(..) => Err(AppError::Internal(anyhow::anyhow!("a token login minted a session"))),
        }
    }
}

/// `POST /api/login` and `POST /api/token`.
pub async fn with_password(
    ctx: &Ctx,
    username: Option<&str>,
    password: Option<&str>,
    issue: Issue<'_>,
    client: &Client,
) -> Result<Login<Minted>, AppError> {
    let proven = password::check(ctx, username, password, client).await?;
    finish(ctx, proven, issue, client).await
}

/// `POST /api/login/second-factor` and `POST /api/token/second-factor`. `binding` is the
/// binding cookie's value for a cookie login.
pub async fn with_second_step(
    ctx: &Ctx,
    challenge: Option<&str>,
    binding: Option<&str>,
    proof: SecondProof<'_>,
    issue: Issue<'_>,
    client: &Client,
) -> Result<Minted, AppError> {
    let proven = factors::second_step(ctx, issue.purpose(), challenge, binding, proof, client).await?;
    done(finish(ctx, proven, issue, client).await?)
}

/// `POST /api/login/passkey` and `POST /api/token/passkey`: a passkey alone, finishing
/// the ceremony `ceremony`.
pub async fn with_passkey(
    ctx: &Ctx,
    ceremony: Option<&str>,
    credential: Option<&serde_json::Value>,
    issue: Issue<'_>,
    client: &Client,
) -> Result<Minted, AppError> {
    let proven = passkeys::finish_login(ctx, ceremony, credential, client).await?;
    done(finish(ctx, proven, issue, client).await?)
}

/// `POST /api/federation/continue` for a login: the provider's verified answer, as the
/// account it is (found, joined or made).
pub async fn with_provider(
    ctx: &Ctx,
    returned: &federation::Returned,
    issue: Issue<'_>,
    client: &Client,
) -> Result<Login<Minted>, AppError> {
    let proven = federation::identities::login_proof(ctx, returned, client).await?;
    finish(ctx, proven, issue, client).await
}

/// A proof that completes a login never asks for another step.
fn done(login: Login<Minted>) -> Result<Minted, AppError> {
    match login {
        Login::Done(minted) => Ok(minted),
        Login::SecondFactor(pending) => Err(Pending::into_error(pending)),
    }
}

/// Takes a verified proof to its end: a second step asked for, or a session or token
/// pair minted.
async fn finish(ctx: &Ctx, proven: Proven<'_>, issue: Issue<'_>, client: &Client) -> Result<Login<Minted>, AppError> {
    let Proven { user, epoch, method, amr, change, slots, provider } = proven;
    // Told only to whoever proved who they are, so it reveals nothing to others.
    if users::must_verify_first(ctx, &user) {
        if let Some(slots) = slots {
            throttle::password_accepted(ctx, slots).await;
        }
        return Err(AppError::EmailNotVerified);
    }
    if !method.completes_login() {
        if let Some(pending) =
            factors::challenge_if_needed(ctx, &user, epoch, method, &amr, issue.purpose(), client).await?
        {
            if let Some(slots) = slots {
                throttle::password_accepted(ctx, slots).await;
            }
            return Ok(Login::SecondFactor(pending));
        }
    }
    let mut change = match change {
        // It holds the account at the proof's epoch already.
        Some(change) => change,
        None => {
            let mut change = ctx.begin().await?;
            if !change.hold_credentials(user.id, epoch).await? {
                metrics::counter!("latchkey_logins_total", "outcome" => "stale").increment(1);
                tracing::info!(
                    user_id = user.id,
                    "a login proven against credentials that changed meanwhile minted nothing"
                );
                return Err(method.stale());
            }
            change
        }
    };
    let minted = match issue {
        Issue::Session { previous_token } => {
            if let Some(previous) = previous_token {
                sessions::end_in(&mut change, previous).await?;
            }
            let issued = sessions::create(ctx, &mut change, user.id, &amr, client).await?;
            audit::record(
                &mut change,
                Event::new(Kind::LoginSucceeded, client)
                    .user(user.id)
                    .actor(Some(user.id))
                    .detail(json!({"session_id": issued.id, "amr": amr, "provider": provider})),
            )
            .await?;
            Minted::Session(user, issued)
        }
        Issue::Tokens => Minted::Tokens(tokens::start_family(ctx, &mut change, user, &amr, client).await?),
    };
    change.commit().await?;
    if let Some(slots) = slots {
        throttle::password_accepted(ctx, slots).await;
    }
    metrics::counter!("latchkey_logins_total", "outcome" => "success").increment(1);
    Ok(Login::Done(minted))
}
