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
use super::codes::{self, Code};
use super::proof::{Method, Proven};
use super::stepup::{self, Proof};
use super::{passkeys, password, sessions, throttle, tokens, totp_sealing, Change, Client, Ctx};
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
pub use super::codes::{METHOD_RECOVERY_CODE, METHOD_TOTP};
pub use super::passkeys::METHOD_WEBAUTHN;

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

/// After a proof that is not a whole login on its own (a password, a provider login): the
/// challenge of the second step, when the account has a factor; `None` when the login is
/// complete as it is.
pub async fn challenge_if_needed(
    ctx: &Ctx,
    user: &User,
    epoch: i64,
    method: Method,
    amr: &[String],
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
    // A challenge is a login half made: minted, like a whole one, only from a proof
    // checked against the account's credentials as they still are.
    if !change.hold_credentials(user.id, epoch).await? {
        return Err(method.stale());
    }
    let now = change.now;
    change
        .insert_challenge(&NewChallenge {
            token_hash: &token_hash(&challenge),
            user_id: user.id,
            purpose: purpose.as_str(),
            binding_hash: &binding_hash,
            amr: &amr.join(" "),
            credentials_epoch: epoch,
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

/// Checks the challenge (its route's kind, not expired, the same client) and the code
/// or passkey. `binding` is the binding cookie's value for a cookie login.
/// The proof it answers carries the credentials epoch of the password that started the
/// challenge, so a challenge made before a password reset finishes nothing after it.
pub async fn second_step<'c>(
    ctx: &'c Ctx,
    purpose: Purpose,
    challenge: Option<&str>,
    binding: Option<&str>,
    proof: SecondProof<'_>,
    client: &Client,
) -> Result<Proven<'c>, AppError> {
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
    let slots = codes::reserve_attempt(ctx, row.user_id, client).await?;
    let mut change = ctx.begin().await?;
    // The account's row first, as every change to its credentials takes it first: the
    // login then either sees a reset or factor removal that committed before, or holds
    // it off until this commits (and is ended by it).
    if !change.hold_credentials(row.user_id, row.credentials_epoch).await? {
        return Err(Method::SecondStep.stale());
    }
    let method = match proof {
        SecondProof::Code(code) => {
            change = codes::spend_or_refuse(change, row.user_id, &code, client).await?;
            "otp"
        }
        SecondProof::Passkey(credential) => {
            if !passkeys::verify_second_step(&mut change, row.user_id, row.passkey_state.as_deref(), credential).await?
            {
                drop(change);
                codes::failed(ctx, row.user_id, METHOD_WEBAUTHN, client).await?;
                return Err(AppError::InvalidPasskey);
            }
            METHOD_WEBAUTHN
        }
    };
    if !change.spend_challenge(row.id).await? {
        // Another request finished this login first; what this one spent rolls back.
        return Err(AppError::InvalidChallenge);
    }
    let user = change.user_by_id(row.user_id).await?.ok_or(AppError::InvalidChallenge)?.into_user().0;
    let mut amr: Vec<String> = row.amr.split_whitespace().map(str::to_string).collect();
    amr.push(method.into());
    Ok(Proven::new(user, row.credentials_epoch, Method::SecondStep, amr).in_change(change).with_slots(slots))
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
    proof: &Proof,
    password: Option<&str>,
    code: Code<'_>,
    client: &Client,
) -> Result<(), AppError> {
    let password = password.filter(|p| !p.is_empty());
    // An account without a password proves itself by a recent login at its provider.
    let with_password = password::has_password(ctx, user.id).await?;
    if with_password && password.is_none() {
        return Err(AppError::validation("password", "is required"));
    }
    if methods(ctx, user.id).await?.is_empty() {
        return Err(AppError::NotFound);
    }
    match password {
        Some(password) if with_password => password::verify_own(ctx, user.id, password, "password").await?,
        _ => stepup::require_recent(ctx, proof).await?,
    }
    let (mut change, slots) = codes::check(ctx, user.id, &code, client).await?;
    change.bump_credentials(user.id).await?;
    change.delete_second_factors(user.id).await?;
    audit::record(&mut change, Event::new(Kind::TotpDisabled, client).user(user.id).actor(Some(user.id))).await?;
    change.commit().await?;
    throttle::password_accepted(ctx, slots).await;
    Ok(())
}

/// An admin removes a user's second factors and passkeys (a lost or stolen device):
/// like a password reset, every session and token login of the account ends too, since
/// any of them may be in the hands of whoever has the device.
pub async fn remove_for_user(
    ctx: &Ctx,
    user_id: UserId,
    actor: Option<UserId>,
    client: &Client,
) -> Result<(), AppError> {
    let mut change = ctx.begin().await?;
    // First: a login in flight then either committed before this (and is ended below)
    // or mints nothing.
    if !change.bump_credentials(user_id).await? {
        return Err(AppError::NotFound);
    }
    let removed = change.delete_second_factors(user_id).await?;
    let passkeys = change.delete_passkeys_of_user(user_id).await?;
    let sessions = sessions::end_all_in(&mut change, user_id, None).await?;
    let families = tokens::revoke_all_for_user(&mut change, user_id, None).await?;
    audit::record(
        &mut change,
        Event::new(Kind::SecondFactorRemoved, client).user(user_id).actor(actor).detail(json!({
            "totp": removed,
            "passkeys": passkeys,
            "sessions_ended": sessions,
            "token_families_revoked": families,
        })),
    )
    .await?;
    change.commit().await
}
