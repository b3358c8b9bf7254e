//! One-time codes: a TOTP code or a recovery code, checked on the account's own budget
//! of second-factor attempts and spent in the change that uses it. Used by the second
//! step of a login, by step-up and by turning the authenticator app off.

use serde_json::json;

use super::audit::{self, Event, Kind};
use super::throttle::{self, Slots};
use super::{totp_sealing, Change, Client, Ctx};
use crate::crypto::otp;
use crate::crypto::token::token_hash;
use crate::domain::UserId;
use crate::error::AppError;

pub const METHOD_TOTP: &str = "totp";
pub const METHOD_RECOVERY_CODE: &str = "recovery_code";

/// A one-time code as sent by the client.
pub enum Code<'a> {
    Totp(&'a str),
    Recovery(&'a str),
}

impl Code<'_> {
    fn method(&self) -> &'static str {
        match self {
            Code::Totp(_) => METHOD_TOTP,
            Code::Recovery(_) => METHOD_RECOVERY_CODE,
        }
    }

    /// `code` or `recovery_code`, exactly one of them.
    pub fn from_fields<'a>(code: Option<&'a str>, recovery_code: Option<&'a str>) -> Result<Code<'a>, AppError> {
        match (code.filter(|c| !c.is_empty()), recovery_code.filter(|c| !c.is_empty())) {
            (Some(code), None) => Ok(Code::Totp(code)),
            (None, Some(recovery)) => Ok(Code::Recovery(recovery)),
            (None, None) => {
                Err(AppError::validation("code", "send a code from the authenticator app or a recovery code"))
            }
            (Some(_), Some(_)) => Err(AppError::validation("code", "send either code or recovery_code, not both")),
        }
    }
}

/// Reserves a slot of the account's code budget, then checks the code and spends it in
/// a new change (a TOTP step, or a recovery code), returned open with the slot. A wrong
/// or replayed code is `InvalidCode`, audited, and keeps its slot.
pub async fn check<'c>(
    ctx: &'c Ctx,
    user_id: UserId,
    code: &Code<'_>,
    client: &Client,
) -> Result<(Change<'c>, Slots), AppError> {
    let slots = reserve_attempt(ctx, user_id, client).await?;
    let change = spend_or_refuse(ctx.begin().await?, user_id, code, client).await?;
    Ok((change, slots))
}

/// Spends the code in `change` (whose caller reserved its slot) and hands the change
/// back; a wrong or replayed code is `InvalidCode`, audited once the change is dropped
/// (on SQLite the audit needs the one writer the change holds).
pub async fn spend_or_refuse<'c>(
    mut change: Change<'c>,
    user_id: UserId,
    code: &Code<'_>,
    client: &Client,
) -> Result<Change<'c>, AppError> {
    if spend(&mut change, user_id, code, client).await? {
        return Ok(change);
    }
    let ctx = change.ctx();
    drop(change);
    failed(ctx, user_id, code.method(), client).await?;
    Err(AppError::InvalidCode)
}

/// Whether the code is right and not used yet; if so, it is spent in `change`.
async fn spend(change: &mut Change<'_>, user_id: UserId, code: &Code<'_>, client: &Client) -> Result<bool, AppError> {
    let ctx = change.ctx();
    let now = change.now;
    let accepted = match code {
        Code::Totp(code) => match change.totp_of_user(user_id).await? {
            Some(totp) if totp.enabled_at.is_some() => {
                let secret = totp_sealing::open(ctx, user_id, &totp.secret)?;
                match otp::matching_step(&secret, code, now).map_err(AppError::Internal)? {
                    Some(step) => change.accept_totp_step(user_id, step, false, now).await?,
                    None => false,
                }
            }
            _ => false,
        },
        Code::Recovery(code) => {
            let hash = token_hash(&otp::normalise_recovery_code(code));
            let spent = change.spend_recovery_code(user_id, &hash, now).await?;
            if spent {
                audit::record(change, Event::new(Kind::RecoveryCodeUsed, client).user(user_id).actor(Some(user_id)))
                    .await?;
            }
            spent
        }
    };
    Ok(accepted)
}

/// A slot of the account's second-factor budget, shared by codes and passkeys.
pub async fn reserve_attempt(ctx: &Ctx, user_id: UserId, client: &Client) -> Result<Slots, AppError> {
    match throttle::reserve_password_attempt(ctx, format!("otp:acct:{user_id}"), Some(client)).await? {
        Ok(slots) => Ok(slots),
        Err(throttled) => {
            if throttled.first_denial {
                let event =
                    Event::new(Kind::LoginThrottled, client).user(user_id).detail(json!({"second_factor": true}));
                audit::record_alone(ctx, event).await?;
            }
            Err(throttled.into())
        }
    }
}

/// A wrong second step: counted and audited; its slot stays spent.
pub async fn failed(ctx: &Ctx, user_id: UserId, method: &str, client: &Client) -> Result<(), AppError> {
    metrics::counter!("latchkey_second_factor_total", "outcome" => "invalid").increment(1);
    let event = Event::new(Kind::SecondFactorFailed, client).user(user_id).detail(json!({"method": method}));
    audit::record_alone(ctx, event).await
}
