//! Passkeys (WebAuthn, through webauthn-rs): registration on the account page, login
//! with a passkey alone (a discoverable credential: no username typed), and a passkey as
//! the second step of a password login.
//!
//! Every ceremony's state is in the database under the hash of a random token the
//! client holds, valid 5 minutes and taken out atomically when finished, so any instance
//! finishes what another started and no ceremony finishes twice. A passkey login counts
//! as a complete login even for an account with TOTP: passkeys are registered with user
//! verification required (the device's PIN or biometric), which is itself two factors.

use std::net::IpAddr;

use anyhow::Context;
use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;
use url::Host;
use utoipa::ToSchema;
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use super::audit::{self, Event, Kind};
use super::proof::{Method, Proven};
use super::stepup::{self, Proof};
use super::{throttle, users};
use super::{Change, Client, Ctx};
use crate::config::Config;
use crate::crypto::token::{looks_like_token, new_token, token_hash};
use crate::domain::{from_unix, rfc3339_seconds, User, UserId};
use crate::error::AppError;
use crate::store::passkeys::{NewCeremony, NewPasskey, PasskeyRow};

/// The `amr` value and second-step method of a passkey.
pub const METHOD_WEBAUTHN: &str = "webauthn";

/// How long a started ceremony can be finished.
pub const CEREMONY_SECS: i64 = 300;
/// Passkeys one account may hold.
pub const MAX_PER_ACCOUNT: usize = 20;
const NAME_MAX_CHARS: usize = 64;
const REGISTER: &str = "register";
const LOGIN: &str = "login";
const REAUTH: &str = "reauth";

/// Why passkeys are off although enabled.
pub const OFF_ON_AN_IP: &str =
    "passkeys are off: browsers refuse them on an IP address; set passkeys.rp_id to a domain";

/// The relying party: who passkeys are bound to, and the origins that may use them.
pub struct RelyingParty {
    webauthn: Webauthn,
    pub rp_id: String,
}

impl RelyingParty {
    /// `None` when passkeys are off, or `public_url` is on an IP address other than the
    /// loopback's and no `passkeys.rp_id` says which domain to use.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<RelyingParty>> {
        let settings = &config.passkeys;
        if !settings.enabled {
            return Ok(None);
        }
        let public = Url::parse(&config.public_origin()).context("public_url")?;
        let rp_id = match (&settings.rp_id, public.host()) {
            (Some(id), _) => id.to_ascii_lowercase(),
            (None, Some(Host::Domain(domain))) => domain.to_string(),
            (None, Some(Host::Ipv4(ip))) if IpAddr::V4(ip).is_loopback() => "localhost".into(),
            (None, Some(Host::Ipv6(ip))) if IpAddr::V6(ip).is_loopback() => "localhost".into(),
            (None, _) => {
                tracing::warn!(public_url = %config.public_url, "{OFF_ON_AN_IP}");
                return Ok(None);
            }
        };
        let within = |url: &Url| url.domain().is_some_and(|d| d == rp_id || d.ends_with(&format!(".{rp_id}")));
        let origins: Vec<Url> = if settings.origins.is_empty() {
            config.own_origins().iter().filter_map(|o| Url::parse(o).ok()).filter(within).collect()
        } else {
            let parsed = settings
                .origins
                .iter()
                .map(|o| Url::parse(o).with_context(|| format!("passkeys.origins: {o:?} is not a URL")))
                .collect::<anyhow::Result<Vec<Url>>>()?;
            if let Some(outside) = parsed.iter().find(|url| !within(url)) {
                anyhow::bail!("passkeys.origins: {outside} is not on passkeys.rp_id {rp_id:?} or a subdomain of it");
            }
            parsed
        };
        let Some(first) = origins.first() else {
            anyhow::bail!(
                "passkeys.rp_id {rp_id:?} is not the host of public_url {:?}: set passkeys.origins",
                config.public_url
            );
        };
        let mut builder = WebauthnBuilder::new(&rp_id, first)
            .with_context(|| format!("passkeys: {rp_id:?} cannot be the relying party of {first}"))?
            .rp_name(&settings.rp_name);
        for origin in &origins[1..] {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder.build().context("passkeys")?;
        Ok(Some(RelyingParty { webauthn, rp_id }))
    }
}

fn relying_party(ctx: &Ctx) -> Result<&RelyingParty, AppError> {
    ctx.passkeys.as_deref().ok_or(AppError::NotFound)
}

/// A started ceremony: the token that finishes it and what to pass to
/// `navigator.credentials.create` or `.get`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ceremony {
    /// Send it back with the credential; valid 5 minutes, once.
    pub ceremony: String,
    /// `{"publicKey": {...}}` with binary fields in base64url (no padding).
    #[schema(value_type = Object)]
    pub options: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyInfo {
    pub id: i64,
    #[schema(example = "Laptop")]
    pub name: String,
    #[serde(with = "rfc3339_seconds")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "rfc3339_seconds::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<&PasskeyRow> for PasskeyInfo {
    fn from(row: &PasskeyRow) -> PasskeyInfo {
        PasskeyInfo {
            id: row.id,
            name: row.name.clone(),
            created_at: from_unix(row.created_at),
            last_used_at: row.last_used_at.map(from_unix),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyList {
    pub passkeys: Vec<PasskeyInfo>,
}

pub async fn list(ctx: &Ctx, user_id: UserId) -> Result<PasskeyList, AppError> {
    let rows = ctx.store.passkeys_of_user(user_id).await?;
    Ok(PasskeyList { passkeys: rows.iter().map(PasskeyInfo::from).collect() })
}

fn internal(e: impl Into<anyhow::Error>) -> AppError {
    AppError::Internal(e.into())
}

fn parse_credential<T: serde::de::DeserializeOwned>(credential: Option<&Value>) -> Result<T, AppError> {
    let credential = credential.ok_or_else(|| AppError::validation("credential", "is required"))?;
    serde_json::from_value(credential.clone())
        .map_err(|_| AppError::validation("credential", "is not a WebAuthn public key credential"))
}

fn stored_passkey(row: &PasskeyRow) -> Result<Passkey, AppError> {
    serde_json::from_str(&row.credential).context("a stored passkey does not parse").map_err(AppError::Internal)
}

async fn start_ceremony(
    ctx: &Ctx,
    purpose: &str,
    user_id: Option<UserId>,
    state: &impl Serialize,
    options: Value,
) -> Result<Ceremony, AppError> {
    let ceremony = new_token();
    let now = ctx.now();
    let state = serde_json::to_string(state).map_err(internal)?;
    ctx.store
        .insert_ceremony(&NewCeremony {
            token_hash: &token_hash(&ceremony),
            purpose,
            user_id,
            state: &state,
            now,
            expires_at: now + CEREMONY_SECS,
        })
        .await?;
    Ok(Ceremony { ceremony, options })
}

/// Takes the ceremony out for good (a failed finish spends it too), if it is of this
/// purpose and was started by this user (nobody, for a login): anyone else's attempt
/// with its token is `InvalidChallenge` and leaves it to its owner.
async fn take_ceremony<T: serde::de::DeserializeOwned>(
    ctx: &Ctx,
    token: Option<&str>,
    purpose: &str,
    user_id: Option<UserId>,
) -> Result<T, AppError> {
    let token = token.filter(|t| looks_like_token(t)).ok_or(AppError::InvalidChallenge)?;
    let row = ctx
        .store
        .take_ceremony(&token_hash(token), purpose, user_id, ctx.now())
        .await?
        .ok_or(AppError::InvalidChallenge)?;
    serde_json::from_str(&row.state).context("a ceremony state does not parse").map_err(AppError::Internal)
}

/// Starts registering a passkey for the caller (a sensitive change: needs a recent
/// authentication). The credential is asked to be discoverable, so it can log in
/// without a username.
pub async fn begin_registration(ctx: &Ctx, user: &User, proof: &Proof) -> Result<Ceremony, AppError> {
    let rp = relying_party(ctx)?;
    stepup::require_recent(ctx, proof).await?;
    let existing = ctx.store.passkeys_of_user(user.id).await?;
    if existing.len() >= MAX_PER_ACCOUNT {
        return Err(AppError::validation("passkeys", format!("an account holds at most {MAX_PER_ACCOUNT} passkeys")));
    }
    let exclude =
        existing.iter().map(|row| stored_passkey(row).map(|p| p.cred_id().clone())).collect::<Result<_, _>>()?;
    let handle = ctx.store.ensure_passkey_handle(user.id, Uuid::new_v4().as_bytes()).await?;
    let handle = Uuid::from_slice(&handle).map_err(internal)?;
    let (options, state) = rp
        .webauthn
        .start_passkey_registration(handle, &user.username, &user.username, Some(exclude))
        .map_err(internal)?;
    let mut options = serde_json::to_value(options).map_err(internal)?;
    if let Some(selection) = options.pointer_mut("/publicKey/authenticatorSelection").and_then(Value::as_object_mut) {
        selection.insert("residentKey".into(), json!("required"));
        selection.insert("requireResidentKey".into(), json!(true));
    }
    start_ceremony(ctx, REGISTER, Some(user.id), &state, options).await
}

/// Verifies the new credential against its ceremony and stores it under `name`.
pub async fn finish_registration(
    ctx: &Ctx,
    user: &User,
    ceremony: Option<&str>,
    name: Option<&str>,
    credential: Option<&Value>,
    client: &Client,
) -> Result<PasskeyInfo, AppError> {
    let rp = relying_party(ctx)?;
    let name = name.map(str::trim).unwrap_or("");
    if name.is_empty() || name.chars().count() > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(AppError::validation("name", format!("1 to {NAME_MAX_CHARS} characters, no control characters")));
    }
    let credential: RegisterPublicKeyCredential = parse_credential(credential)?;
    let state: PasskeyRegistration = take_ceremony(ctx, ceremony, REGISTER, Some(user.id)).await?;
    let passkey = rp.webauthn.finish_passkey_registration(&credential, &state).map_err(|e| {
        tracing::info!(user_id = user.id, error = %e, "passkey registration refused");
        AppError::PasskeyRejected
    })?;
    let stored = serde_json::to_string(&passkey).map_err(internal)?;
    let mut change = ctx.begin().await?;
    let now = change.now;
    let id = change
        .insert_passkey(&NewPasskey {
            user_id: user.id,
            credential_id: passkey.cred_id().as_ref(),
            name,
            credential: &stored,
            now,
        })
        .await?
        .ok_or(AppError::PasskeyExists)?;
    audit::record(
        &mut change,
        Event::new(Kind::PasskeyAdded, client)
            .user(user.id)
            .actor(Some(user.id))
            .detail(json!({"passkey_id": id, "name": name})),
    )
    .await?;
    change.commit().await?;
    Ok(PasskeyInfo { id, name: name.to_string(), created_at: from_unix(now), last_used_at: None })
}

/// Removes one of the caller's passkeys (a sensitive change).
pub async fn remove(ctx: &Ctx, user: &User, proof: &Proof, id: i64, client: &Client) -> Result<(), AppError> {
    stepup::require_recent(ctx, proof).await?;
    let mut change = ctx.begin().await?;
    // First: a login with this passkey in flight then either committed before this or
    // mints nothing.
    change.bump_credentials(user.id).await?;
    if !change.delete_passkey(user.id, id).await? {
        return Err(AppError::NotFound);
    }
    if users::ways_in(&mut change, user.id).await? == 0 {
        return Err(AppError::LastCredential);
    }
    audit::record(
        &mut change,
        Event::new(Kind::PasskeyRemoved, client).user(user.id).actor(Some(user.id)).detail(json!({"passkey_id": id})),
    )
    .await?;
    change.commit().await
}

/// Starts a passkey login: no username, the authenticator offers the credentials it
/// holds for this site. Counted per address, since anyone may ask.
pub async fn begin_login(ctx: &Ctx, client: &Client) -> Result<Ceremony, AppError> {
    let rp = relying_party(ctx)?;
    throttle::reserve_login_start(ctx, "passkey", client).await?;
    let (options, state) = rp.webauthn.start_discoverable_authentication().map_err(internal)?;
    let options = serde_json::to_value(options).map_err(internal)?;
    start_ceremony(ctx, LOGIN, None, &state, options).await
}

/// Finishes a passkey login. A failure is `InvalidPasskey`, audited, and keeps a slot of
/// the address's login budget (like a wrong password).
pub async fn finish_login<'c>(
    ctx: &'c Ctx,
    ceremony: Option<&str>,
    credential: Option<&Value>,
    client: &Client,
) -> Result<Proven<'c>, AppError> {
    let rp = relying_party(ctx)?;
    let credential: PublicKeyCredential = parse_credential(credential)?;
    let state: DiscoverableAuthentication = take_ceremony(ctx, ceremony, LOGIN, None).await?;
    let credential_key = format!("passkey:cred:{}", crate::feed::hex(&token_hash(&credential.id)[..16]));
    let slots = throttle::reserve_password_attempt(ctx, credential_key, Some(client)).await??;
    let mut change = ctx.begin().await?;
    let Some((user_id, epoch)) = verify_discoverable(&mut change, rp, &credential, state).await? else {
        drop(change);
        metrics::counter!("latchkey_logins_total", "outcome" => "invalid").increment(1);
        audit::record_alone(ctx, Event::new(Kind::LoginFailed, client).detail(json!({"method": "passkey"}))).await?;
        return Err(AppError::InvalidPasskey);
    };
    let user = change.user_by_id(user_id).await?.ok_or(AppError::InvalidPasskey)?.into_user().0;
    Ok(Proven::new(user, epoch, Method::Passkey, vec![METHOD_WEBAUTHN.into()]).in_change(change).with_slots(slots))
}

/// The account whose stored passkey the assertion names, and its credentials epoch,
/// when the assertion verifies against it (and the user handle the authenticator
/// returned is that account's); the use is recorded in `change`. The epoch is read
/// before the passkey, so a removal that commits in between is seen one way or the
/// other.
async fn verify_discoverable(
    change: &mut Change<'_>,
    rp: &RelyingParty,
    credential: &PublicKeyCredential,
    state: DiscoverableAuthentication,
) -> Result<Option<(UserId, i64)>, AppError> {
    let Ok((handle, credential_id)) = rp.webauthn.identify_discoverable_authentication(credential) else {
        return Ok(None);
    };
    let store = &change.ctx().store;
    let Some((user_id, epoch)) = store.account_by_passkey_handle(handle.as_bytes()).await? else { return Ok(None) };
    let Some(row) = store.passkey_by_credential_id(credential_id).await? else { return Ok(None) };
    if row.user_id != user_id {
        return Ok(None);
    }
    let mut passkey = stored_passkey(&row)?;
    let Ok(result) = rp.webauthn.finish_discoverable_authentication_v2(credential, state, &passkey) else {
        return Ok(None);
    };
    // The account's row before the passkey's, in the order its removal takes them.
    if !change.hold_credentials(user_id, epoch).await? {
        return Err(Method::Passkey.stale());
    }
    record_use(change, &row, &mut passkey, &result).await?;
    Ok(Some((user_id, epoch)))
}

/// Records a verified use: when, and the passkey's new counter if it moved.
async fn record_use(
    change: &mut Change<'_>,
    row: &PasskeyRow,
    passkey: &mut Passkey,
    result: &AuthenticationResult,
) -> Result<(), AppError> {
    let updated = match passkey.update_credential(result) {
        Some(true) => Some(serde_json::to_string(passkey).map_err(internal)?),
        _ => None,
    };
    let now = change.now;
    change.passkey_used(row.id, updated.as_deref(), now).await?;
    Ok(())
}

/// The options and state of an assertion by one of `rows` (a user's passkeys).
fn assertion(rp: &RelyingParty, rows: &[PasskeyRow]) -> Result<(Value, PasskeyAuthentication), AppError> {
    let passkeys = rows.iter().map(stored_passkey).collect::<Result<Vec<_>, _>>()?;
    let (options, state) = rp.webauthn.start_passkey_authentication(&passkeys).map_err(internal)?;
    Ok((serde_json::to_value(options).map_err(internal)?, state))
}

/// For a password login of an account with passkeys: the options of a passkey as its
/// second step, and the state to keep with the challenge. `None` without passkeys.
pub async fn second_step_options(ctx: &Ctx, user_id: UserId) -> Result<Option<(Value, String)>, AppError> {
    let Some(rp) = ctx.passkeys.as_deref() else { return Ok(None) };
    let rows = ctx.store.passkeys_of_user(user_id).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let (options, state) = assertion(rp, &rows)?;
    Ok(Some((options, serde_json::to_string(&state).map_err(internal)?)))
}

/// Verifies a passkey assertion as the second step of `user_id`'s login, against the
/// state kept with the challenge; records the use in `change`. False: it does not verify.
pub async fn verify_second_step(
    change: &mut Change<'_>,
    user_id: UserId,
    state: Option<&str>,
    credential: &Value,
) -> Result<bool, AppError> {
    let (Some(rp), Some(state)) = (change.ctx().passkeys.clone(), state) else { return Ok(false) };
    let Ok(credential) = serde_json::from_value::<PublicKeyCredential>(credential.clone()) else { return Ok(false) };
    let state: PasskeyAuthentication = serde_json::from_str(state)
        .context("a challenge's passkey state does not parse")
        .map_err(AppError::Internal)?;
    verify_assertion(change, &rp, user_id, &state, &credential).await
}

/// Starts a re-authentication (step-up) with one of the caller's passkeys.
pub async fn begin_reauthentication(ctx: &Ctx, user: &User) -> Result<Ceremony, AppError> {
    let rp = relying_party(ctx)?;
    let rows = ctx.store.passkeys_of_user(user.id).await?;
    if rows.is_empty() {
        return Err(AppError::NotFound);
    }
    let (options, state) = assertion(rp, &rows)?;
    start_ceremony(ctx, REAUTH, Some(user.id), &state, options).await
}

/// Finishes a re-authentication: the change the renewal commits in (with the passkey's
/// use recorded), or `InvalidPasskey`.
pub async fn verify_reauthentication<'c>(
    ctx: &'c Ctx,
    user_id: UserId,
    ceremony: Option<&str>,
    credential: Option<&Value>,
) -> Result<Change<'c>, AppError> {
    let rp = relying_party(ctx)?;
    let credential: PublicKeyCredential = parse_credential(credential)?;
    let state: PasskeyAuthentication = take_ceremony(ctx, ceremony, REAUTH, Some(user_id)).await?;
    let mut change = ctx.begin().await?;
    if !verify_assertion(&mut change, rp, user_id, &state, &credential).await? {
        return Err(AppError::InvalidPasskey);
    }
    Ok(change)
}

/// Whether the assertion verifies against `state` with a passkey of `user_id`'s; if so
/// its use (and new counter) is recorded in `change`.
async fn verify_assertion(
    change: &mut Change<'_>,
    rp: &RelyingParty,
    user_id: UserId,
    state: &PasskeyAuthentication,
    credential: &PublicKeyCredential,
) -> Result<bool, AppError> {
    let Ok(result) = rp.webauthn.finish_passkey_authentication(credential, state) else { return Ok(false) };
    let Some(row) = change.ctx().store.passkey_by_credential_id(result.cred_id()).await? else { return Ok(false) };
    if row.user_id != user_id {
        return Ok(false);
    }
    record_use(change, &row, &mut stored_passkey(&row)?, &result).await?;
    Ok(true)
}
