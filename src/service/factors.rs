//! Second factors: TOTP enrolment (active only after a correct code), single-use
//! recovery codes, and the second step of a login.
//!
//! A correct password for an account with a factor does not log in: it creates a
//! challenge (random, 5 minutes, only its hash stored, bound to the client) that can do
//! nothing but finish that one login at the second-factor route of the same kind
//! (cookie or token). A code is accepted once: the last accepted time step is kept per
//! account and moved forward by a compare-and-set in the transaction that uses the code.
//! Wrong codes are counted per account like wrong passwords (their own budget).
//! An account with TOTP and passkeys may also finish with a passkey.

use serde::Serialize;
use serde_json::json;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::audit::{self, Event, Kind};
use super::stepup::{self, Proof};
use super::throttle::{self, Slots};
use super::{accounts, passkeys, totp_sealing, Change, Client, Ctx};
use crate::crypto::otp;
use crate::crypto::token::{looks_like_token, new_token, token_hash};
use crate::domain::{User, UserId};
use crate::error::AppError;
use crate::store::factors::NewChallenge;

/// How long a login challenge lives.
pub const CHALLENGE_SECS: i64 = 300;
/// How long an enrolment may wait for its first code before it is dropped.
pub const PENDING_SECS: i64 = 3600;
const RECOVERY_CODES: usize = 10;
pub const METHOD_TOTP: &str = "totp";
pub const METHOD_RECOVERY_CODE: &str = "recovery_code";
pub const METHOD_WEBAUTHN: &str = "webauthn";

/// Which login a challenge finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `POST /api/login`: bound to a cookie set with the challenge.
    Session,
    /// `POST /api/token`: bound to the client's User-Agent and address.
    Token,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Session => "session",
            Purpose::Token => "token",
        }
    }
}

/// A login waiting for its second step.
pub struct Pending {
    pub challenge: String,
    /// For a cookie login: the value of the binding cookie to set with the answer.
    pub binding_cookie: Option<String>,
    pub methods: Vec<&'static str>,
    /// The options of a passkey as the second step.
    pub webauthn: Option<serde_json::Value>,
}

impl Pending {
    pub fn into_error(self) -> AppError {
        AppError::SecondFactorRequired {
            challenge: self.challenge,
            methods: self.methods,
            expires_in: CHALLENGE_SECS,
            webauthn: self.webauthn.map(Box::new),
        }
    }
}

/// The answer to a correct password: logged in, or waiting for the second step.
pub enum Login<T> {
    Done(T),
    SecondFactor(Pending),
}

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

/// What the second step may be, as a client sends it.
pub enum SecondProof<'a> {
    Code(Code<'a>),
    /// A passkey assertion (`navigator.credentials.get`'s answer as JSON).
    Passkey(&'a serde_json::Value),
}

impl SecondProof<'_> {
    /// Exactly one of `code`, `recovery_code` and `credential`.
    pub fn from_fields<'a>(
        code: Option<&'a str>,
        recovery_code: Option<&'a str>,
        credential: Option<&'a serde_json::Value>,
    ) -> Result<SecondProof<'a>, AppError> {
        match credential.filter(|c| !c.is_null()) {
            None => Code::from_fields(code, recovery_code).map(SecondProof::Code),
            Some(credential) if code.is_none_or(str::is_empty) && recovery_code.is_none_or(str::is_empty) => {
                Ok(SecondProof::Passkey(credential))
            }
            Some(_) => Err(AppError::validation("credential", "send one of code, recovery_code and credential")),
        }
    }
}

/// The methods that can finish a login of this account; empty when it has no factor.
/// Passkeys are one of them when TOTP is enabled (without TOTP, a passkey logs in on
/// its own and the password alone still does).
pub async fn methods(ctx: &Ctx, user_id: UserId) -> Result<Vec<&'static str>, AppError> {
    let totp_enabled = ctx.store.totp_of_user(user_id).await?.is_some_and(|t| t.enabled_at.is_some());
    let passkeys = if totp_enabled { ctx.store.count_passkeys(user_id).await? } else { 0 };
    Ok(methods_of(ctx, totp_enabled, passkeys))
}

fn methods_of(ctx: &Ctx, totp_enabled: bool, passkeys: i64) -> Vec<&'static str> {
    match (totp_enabled, ctx.passkeys.is_some() && passkeys > 0) {
        (false, _) => Vec::new(),
        (true, false) => vec![METHOD_TOTP, METHOD_RECOVERY_CODE],
        (true, true) => vec![METHOD_TOTP, METHOD_RECOVERY_CODE, METHOD_WEBAUTHN],
    }
}

/// After a correct password: the challenge of the second step, when the account has a
/// factor; `None` when the login is complete as it is.
pub async fn challenge_if_needed(
    ctx: &Ctx,
    user: &User,
    purpose: Purpose,
    client: &Client,
) -> Result<Option<Pending>, AppError> {
    let methods = methods(ctx, user.id).await?;
    if methods.is_empty() {
        return Ok(None);
    }
    let challenge = new_token();
    let (binding_cookie, binding_hash) = match purpose {
        Purpose::Session => {
            let secret = new_token();
            let hash = token_hash(&secret);
            (Some(secret), hash)
        }
        Purpose::Token => (None, client_binding(client)),
    };
    let passkey = match methods.contains(&METHOD_WEBAUTHN) {
        true => passkeys::second_step_options(ctx, user.id).await?,
        false => None,
    };
    let (webauthn, passkey_state) = passkey.unzip();
    let mut change = ctx.begin().await?;
    let now = change.now;
    change
        .insert_challenge(&NewChallenge {
            token_hash: &token_hash(&challenge),
            user_id: user.id,
            purpose: purpose.as_str(),
            binding_hash: &binding_hash,
            amr: "pwd",
            passkey_state: passkey_state.as_deref(),
            now,
            expires_at: now + CHALLENGE_SECS,
        })
        .await?;
    audit::record(
        &mut change,
        Event::new(Kind::SecondFactorRequired, client)
            .user(user.id)
            .actor(Some(user.id))
            .detail(json!({"purpose": purpose.as_str(), "methods": methods})),
    )
    .await?;
    change.commit().await?;
    metrics::counter!("latchkey_logins_total", "outcome" => "second_factor_required").increment(1);
    Ok(Some(Pending { challenge, binding_cookie, methods, webauthn }))
}

/// What a token challenge is bound to: the User-Agent and the address (IPv6 by /64).
fn client_binding(client: &Client) -> Vec<u8> {
    let ua = client.user_agent.as_deref().unwrap_or("");
    token_hash(&format!("token\u{0}{ua}\u{0}{}", throttle::ip_key("bind", client.ip)))
}

/// A second step that passed: the change it must commit in (the challenge and the code
/// are spent in it), the user and the methods used.
pub struct SecondStep<'c> {
    pub change: Change<'c>,
    pub user: User,
    /// RFC 8176 values for the `amr` claim: `pwd`, then `otp` or `webauthn`.
    pub amr: Vec<String>,
    pub slots: Slots,
}

/// Checks the challenge (its route's kind, not expired, the same client) and the code
/// or passkey. `binding` is the binding cookie's value for a cookie login.
pub async fn second_step<'c>(
    ctx: &'c Ctx,
    purpose: Purpose,
    challenge: Option<&str>,
    binding: Option<&str>,
    proof: SecondProof<'_>,
    client: &Client,
) -> Result<SecondStep<'c>, AppError> {
    let challenge = challenge.filter(|c| looks_like_token(c)).ok_or(AppError::InvalidChallenge)?;
    let row = ctx.store.challenge(&token_hash(challenge)).await?.ok_or(AppError::InvalidChallenge)?;
    let expected = match purpose {
        Purpose::Session => binding.map(token_hash),
        Purpose::Token => Some(client_binding(client)),
    };
    let bound = expected.is_some_and(|hash| bool::from(hash.as_slice().ct_eq(row.binding_hash.as_slice())));
    if row.purpose != purpose.as_str() || row.expires_at <= ctx.now() || !bound {
        return Err(AppError::InvalidChallenge);
    }
    let (mut change, slots, method) = match proof {
        SecondProof::Code(code) => {
            let (change, slots) = check_code(ctx, row.user_id, &code, client).await?;
            (change, slots, "otp")
        }
        SecondProof::Passkey(credential) => {
            let slots = reserve_code_attempt(ctx, row.user_id, client).await?;
            let mut change = ctx.begin().await?;
            if !passkeys::verify_second_step(&mut change, row.user_id, row.passkey_state.as_deref(), credential).await?
            {
                drop(change);
                failed(ctx, row.user_id, METHOD_WEBAUTHN, client).await?;
                return Err(AppError::InvalidPasskey);
            }
            (change, slots, METHOD_WEBAUTHN)
        }
    };
    if !change.spend_challenge(row.id).await? {
        // Another request finished this login first; what this one spent rolls back.
        return Err(AppError::InvalidChallenge);
    }
    let user = change.user_by_id(row.user_id).await?.ok_or(AppError::InvalidChallenge)?.into_user().0;
    let mut amr: Vec<String> = row.amr.split_whitespace().map(str::to_string).collect();
    amr.push(method.into());
    Ok(SecondStep { change, user, amr, slots })
}

/// Reserves a slot of the account's code budget, then checks the code and spends it in
/// a new change (a TOTP step, or a recovery code), returned open with the slot. A wrong
/// or replayed code is `InvalidCode`, audited, and keeps its slot.
pub(super) async fn check_code<'c>(
    ctx: &'c Ctx,
    user_id: UserId,
    code: &Code<'_>,
    client: &Client,
) -> Result<(Change<'c>, Slots), AppError> {
    let slots = reserve_code_attempt(ctx, user_id, client).await?;
    let mut change = ctx.begin().await?;
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
                audit::record(
                    &mut change,
                    Event::new(Kind::RecoveryCodeUsed, client).user(user_id).actor(Some(user_id)),
                )
                .await?;
            }
            spent
        }
    };
    if !accepted {
        drop(change);
        failed(ctx, user_id, code.method(), client).await?;
        return Err(AppError::InvalidCode);
    }
    Ok((change, slots))
}

/// A slot of the account's second-factor budget, shared by codes and passkeys.
async fn reserve_code_attempt(ctx: &Ctx, user_id: UserId, client: &Client) -> Result<Slots, AppError> {
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
async fn failed(ctx: &Ctx, user_id: UserId, method: &str, client: &Client) -> Result<(), AppError> {
    metrics::counter!("latchkey_second_factor_total", "outcome" => "invalid").increment(1);
    let event = Event::new(Kind::SecondFactorFailed, client).user(user_id).detail(json!({"method": method}));
    audit::record_alone(ctx, event).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecondFactors {
    /// An authenticator app is enabled: logins need a second step.
    pub totp_enabled: bool,
    /// An enrolment waits for its first code.
    pub totp_pending: bool,
    pub recovery_codes_left: i64,
    /// Passkeys registered (each logs in on its own, and is a second step with TOTP).
    pub passkeys: i64,
    /// What can finish this account's logins (empty: none needed).
    #[schema(example = json!(["totp", "recovery_code", "webauthn"]))]
    pub methods: Vec<&'static str>,
}

pub async fn status(ctx: &Ctx, user_id: UserId) -> Result<SecondFactors, AppError> {
    let totp = ctx.store.totp_of_user(user_id).await?;
    let totp_enabled = totp.as_ref().is_some_and(|t| t.enabled_at.is_some());
    let recovery_codes_left = if totp_enabled { ctx.store.unused_recovery_codes(user_id).await? } else { 0 };
    let passkeys = ctx.store.count_passkeys(user_id).await?;
    Ok(SecondFactors {
        totp_enabled,
        totp_pending: totp.is_some() && !totp_enabled,
        recovery_codes_left,
        passkeys,
        methods: methods_of(ctx, totp_enabled, passkeys),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// The secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://totp/...` URI to show as a QR code.
    pub otpauth_url: String,
}

/// Starts (or restarts) an enrolment: a new secret, inactive until confirmed.
pub async fn begin_totp(ctx: &Ctx, user: &User, proof: &Proof) -> Result<TotpEnrolment, AppError> {
    stepup::require_recent(ctx, proof).await?;
    let secret = otp::new_secret();
    let stored = totp_sealing::seal(ctx, user.id, &secret)?;
    let mut change = ctx.begin().await?;
    let now = change.now;
    if !change.put_pending_totp(user.id, &stored, now).await? {
        return Err(AppError::SecondFactorEnabled);
    }
    change.commit().await?;
    let (secret, otpauth_url) =
        otp::provisioning(&secret, &ctx.config.security.totp_issuer, &user.username).map_err(AppError::Internal)?;
    Ok(TotpEnrolment { secret, otpauth_url })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes, shown this once; each can replace one TOTP code.
    #[schema(example = json!(["k7m2p-x9qrt", "..."]))]
    pub recovery_codes: Vec<String>,
}

/// Enables the pending enrolment with its first correct code; answers the recovery codes.
pub async fn confirm_totp(
    ctx: &Ctx,
    user: &User,
    proof: &Proof,
    code: Option<&str>,
    client: &Client,
) -> Result<RecoveryCodes, AppError> {
    let code = code.filter(|c| !c.is_empty()).ok_or_else(|| AppError::validation("code", "is required"))?;
    stepup::require_recent(ctx, proof).await?;
    match ctx.store.totp_of_user(user.id).await? {
        None => return Err(AppError::NotFound),
        Some(totp) if totp.enabled_at.is_some() => return Err(AppError::SecondFactorEnabled),
        Some(_) => {}
    }
    let slots = match throttle::reserve_password_attempt(ctx, format!("otp:acct:{}", user.id), Some(client)).await? {
        Ok(slots) => slots,
        Err(throttled) => return Err(throttled.into()),
    };
    let mut change = ctx.begin().await?;
    let now = change.now;
    let enabled = match change.totp_of_user(user.id).await? {
        Some(totp) if totp.enabled_at.is_none() => {
            let secret = totp_sealing::open(ctx, user.id, &totp.secret)?;
            match otp::matching_step(&secret, code, now).map_err(AppError::Internal)? {
                Some(step) => change.accept_totp_step(user.id, step, true, now).await?,
                None => false,
            }
        }
        _ => false,
    };
    if !enabled {
        drop(change);
        let event =
            Event::new(Kind::SecondFactorFailed, client).user(user.id).detail(json!({"method": "totp_enrolment"}));
        audit::record_alone(ctx, event).await?;
        return Err(AppError::InvalidCode);
    }
    let codes = replace_recovery_codes(&mut change, user.id).await?;
    audit::record(&mut change, Event::new(Kind::TotpEnabled, client).user(user.id).actor(Some(user.id))).await?;
    change.commit().await?;
    throttle::password_accepted(ctx, slots).await;
    Ok(RecoveryCodes { recovery_codes: codes })
}

async fn replace_recovery_codes(change: &mut Change<'_>, user_id: UserId) -> Result<Vec<String>, AppError> {
    change.delete_recovery_codes(user_id).await?;
    let now = change.now;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let code = otp::new_recovery_code();
        change.insert_recovery_code(user_id, &token_hash(&otp::normalise_recovery_code(&code)), now).await?;
        codes.push(code);
    }
    Ok(codes)
}

/// New recovery codes; the old ones stop working.
pub async fn regenerate_recovery_codes(
    ctx: &Ctx,
    user: &User,
    proof: &Proof,
    client: &Client,
) -> Result<RecoveryCodes, AppError> {
    stepup::require_recent(ctx, proof).await?;
    if methods(ctx, user.id).await?.is_empty() {
        return Err(AppError::NotFound);
    }
    let mut change = ctx.begin().await?;
    let codes = replace_recovery_codes(&mut change, user.id).await?;
    audit::record(&mut change, Event::new(Kind::RecoveryCodesRegenerated, client).user(user.id).actor(Some(user.id)))
        .await?;
    change.commit().await?;
    Ok(RecoveryCodes { recovery_codes: codes })
}

/// Turns the authenticator app off. Needs the password and a code (TOTP or recovery):
/// a fresh proof of both, so no step-up window applies.
pub async fn disable_totp(
    ctx: &Ctx,
    user: &User,
    password: Option<&str>,
    code: Code<'_>,
    client: &Client,
) -> Result<(), AppError> {
    let password = password.filter(|p| !p.is_empty()).ok_or_else(|| AppError::validation("password", "is required"))?;
    if methods(ctx, user.id).await?.is_empty() {
        return Err(AppError::NotFound);
    }
    accounts::verify_own_password(ctx, user.id, password, "password").await?;
    let (mut change, slots) = check_code(ctx, user.id, &code, client).await?;
    change.delete_second_factors(user.id).await?;
    audit::record(&mut change, Event::new(Kind::TotpDisabled, client).user(user.id).actor(Some(user.id))).await?;
    change.commit().await?;
    throttle::password_accepted(ctx, slots).await;
    Ok(())
}

/// An admin removes a user's second factors and passkeys (a lost phone, lost codes).
pub async fn remove_for_user(
    ctx: &Ctx,
    user_id: UserId,
    actor: Option<UserId>,
    client: &Client,
) -> Result<(), AppError> {
    let mut change = ctx.begin().await?;
    if change.user_by_id(user_id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let removed = change.delete_second_factors(user_id).await?;
    let passkeys = change.delete_passkeys_of_user(user_id).await?;
    audit::record(
        &mut change,
        Event::new(Kind::SecondFactorRemoved, client)
            .user(user_id)
            .actor(actor)
            .detail(json!({"totp": removed, "passkeys": passkeys})),
    )
    .await?;
    change.commit().await
}
