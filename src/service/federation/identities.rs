//! Identities at providers and the accounts they belong to: which account a provider
//! login is (an identity is its issuer and subject, never an email address), a new
//! account for a new identity, joining an existing one only under every safeguard,
//! linking and unlinking from the account page.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::super::audit::{self, Event, Kind};
use super::super::proof::{Method, Proven};
use super::super::reauth::{self, Reauthenticated};
use super::super::stepup::{self, Proof};
use super::super::{accounts, recovery, throttle, users, Change, Client, Ctx};
use super::exchange::Asserted;
use super::{Intent, Returned};
use crate::crypto::password::NO_PASSWORD;
use crate::domain::{from_unix, rfc3339_seconds, Email, Roles, User, UserId, Username};
use crate::error::AppError;
use crate::store::federation::{IdentityRow, NewIdentity};
use crate::store::StoreError;

/// `amr` of a login through a provider.
pub const AMR_FEDERATED: &str = "fed";
/// `amr` values that show the provider checked a second factor itself.
const UPSTREAM_SECOND_FACTOR: &[&str] = &["mfa", "otp", "hwk", "swk", "sms", "fpt", "face", "iris", "sc"];

/// An identity as the account page shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Identity {
    pub id: i64,
    /// The provider's `id` in the configuration.
    pub provider: String,
    /// Its button text; the provider's id when it is no longer configured.
    pub label: String,
    /// The address the provider gave at the last login.
    pub email: Option<String>,
    pub email_verified: bool,
    #[serde(with = "rfc3339_seconds")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "rfc3339_seconds::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<time::OffsetDateTime>,
}

/// `GET /api/me/identities`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Identities {
    pub identities: Vec<Identity>,
    /// Whether the account has a password (one made through a provider has none until
    /// its owner sets one with a reset link).
    pub has_password: bool,
}

fn identity(ctx: &Ctx, row: IdentityRow) -> Identity {
    let label = ctx.federation.get(&row.provider).map_or_else(|| row.provider.clone(), |p| p.config.label.clone());
    Identity {
        id: row.id,
        provider: row.provider,
        label,
        email: row.email,
        email_verified: row.email_verified,
        created_at: from_unix(row.created_at),
        last_used_at: row.last_used_at.map(from_unix),
    }
}

pub async fn list(ctx: &Ctx, user_id: UserId) -> Result<Identities, AppError> {
    let row = ctx.store.user_by_id(user_id).await?.ok_or(AppError::NotFound)?;
    let has_password = row.password_hash != NO_PASSWORD;
    let identities = ctx.store.identities_of_user(user_id).await?.into_iter().map(|r| identity(ctx, r)).collect();
    Ok(Identities { identities, has_password })
}

/// The proof a verified provider login gives for the pipeline: the account the identity
/// belongs to, joined or made as the rules allow.
pub async fn login_proof(ctx: &Ctx, returned: &Returned, client: &Client) -> Result<Proven<'static>, AppError> {
    let provider = ctx.federation.get(&returned.provider).ok_or(AppError::FederationFailed)?;
    let config = &provider.config;
    let asserted = &returned.asserted;
    let email_trusted = config.trust_email_verified && asserted.email_verified;
    let (user, epoch) = match known_account(ctx, asserted).await? {
        Some(known) => known,
        None => match existing_by_email(ctx, asserted).await? {
            Some((existing, epoch)) => {
                let may_join = ctx.config.federation.link_existing_by_email && email_trusted && existing.email_verified;
                // The same person's other login may have made the account with this
                // identity since it was looked up.
                if let Some(known) = known_account(ctx, asserted).await? {
                    known
                } else if !may_join {
                    audit::record_alone(
                        ctx,
                        Event::new(Kind::FederatedLoginFailed, client)
                            .user(existing.id)
                            .detail(json!({"provider": config.id, "reason": "account_exists"})),
                    )
                    .await?;
                    return Err(AppError::AccountExists);
                } else {
                    let mut change = ctx.begin().await?;
                    match add_identity(&mut change, existing.id, &returned.provider, asserted, "email", client).await {
                        Ok(_) => {
                            change.commit().await?;
                            (existing, epoch)
                        }
                        // A racing login of the same person joined it first.
                        Err(AppError::IdentityInUse) => {
                            drop(change);
                            known_account(ctx, asserted).await?.ok_or(AppError::IdentityInUse)?
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            None => match register(ctx, &returned.provider, asserted, email_trusted, client).await {
                Ok(user) => (user, 0),
                // The same person's other login made the account a moment ago.
                Err(AppError::IdentityInUse | AppError::AccountExists) => {
                    known_account(ctx, asserted).await?.ok_or(AppError::AccountExists)?
                }
                Err(e) => return Err(e),
            },
        },
    };
    let upstream_mfa =
        config.trust_upstream_mfa && asserted.amr.iter().any(|m| UPSTREAM_SECOND_FACTOR.contains(&m.as_str()));
    let mut amr = vec![AMR_FEDERATED.to_string()];
    if upstream_mfa {
        amr.push("mfa".into());
    }
    Ok(Proven::new(user, epoch, Method::Provider { second_factor: upstream_mfa }, amr).from_provider(&config.id))
}

/// The account the identity belongs to, if any, and its credentials epoch; the
/// identity's use is recorded.
async fn known_account(ctx: &Ctx, asserted: &Asserted) -> Result<Option<(User, i64)>, AppError> {
    let Some((identity_id, account)) = ctx.store.account_by_identity(&asserted.issuer, &asserted.subject).await? else {
        return Ok(None);
    };
    let epoch = account.credentials_epoch;
    let mut change = ctx.begin().await?;
    let now = change.now;
    change.identity_used(identity_id, asserted.email.as_deref(), asserted.email_verified, now).await?;
    change.commit().await?;
    Ok(Some((account.into_user().0, epoch)))
}

/// The local account with the provider's address, if any, and its credentials epoch.
async fn existing_by_email(ctx: &Ctx, asserted: &Asserted) -> Result<Option<(User, i64)>, AppError> {
    let Some(email) = asserted.email.as_deref().and_then(|e| Email::parse(e).ok()) else { return Ok(None) };
    let Some(row) = ctx.store.user_by_login(&email.key()).await? else { return Ok(None) };
    let epoch = row.credentials_epoch;
    Ok(Some((row.into_user().0, epoch)))
}

/// A new account for a new identity: a username from the provider's name for the
/// person (made unique), its address (verified when the provider is trusted to say so),
/// no password.
async fn register(
    ctx: &Ctx,
    provider: &str,
    asserted: &Asserted,
    email_trusted: bool,
    client: &Client,
) -> Result<User, AppError> {
    if !ctx.config.federation.registers(&ctx.config.signup) {
        return Err(AppError::SignupDisabled);
    }
    throttle::reserve_signup(ctx, client).await?;
    let email = asserted.email.as_deref().and_then(|e| Email::parse(e).ok());
    let base = username_base(asserted);
    for attempt in 0..20u32 {
        let candidate = match attempt {
            0 => base.clone(),
            1..=9 => format!("{base}{}", attempt + 1),
            _ => format!("{base}-{}", &crate::crypto::token::new_token()[..6]),
        };
        let Ok(username) = Username::parse(&candidate) else { continue };
        let mut change = ctx.begin().await?;
        let user =
            match accounts::insert_user(&mut change, &username, email.as_ref(), NO_PASSWORD, &Roles::new([])).await {
                Ok(user) => user,
                Err(AppError::UsernameTaken) => continue,
                // Taken since it was looked up: an account exists after all.
                Err(AppError::EmailTaken) => return Err(AppError::AccountExists),
                Err(e) => return Err(e),
            };
        let user = match (&email, email_trusted) {
            (Some(email), true) => {
                let now = change.now;
                change.set_email_verified(user.id, &email.key(), now).await?;
                User { email_verified: true, ..user }
            }
            _ => user,
        };
        add_identity(&mut change, user.id, provider, asserted, "signup", client).await?;
        audit::record(
            &mut change,
            Event::new(Kind::Signup, client).user(user.id).actor(Some(user.id)).detail(json!({"provider": provider})),
        )
        .await?;
        let mailed = recovery::queue_verification(&mut change, &user, client).await?;
        change.commit().await?;
        if mailed {
            recovery::wake_mailer(ctx);
        }
        return Ok(user);
    }
    Err(AppError::UsernameTaken)
}

/// The name a new account starts from: the provider's username for the person, or their
/// address's local part, cut to the characters and length usernames allow.
fn username_base(asserted: &Asserted) -> String {
    let hint = asserted
        .username_hint
        .as_deref()
        .or_else(|| asserted.email.as_deref().and_then(|e| e.split('@').next()))
        .unwrap_or("user");
    let mut name: String = hint
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' })
        .take(24)
        .collect();
    while name.len() < 3 {
        name.push('_');
    }
    name
}

async fn add_identity(
    change: &mut Change<'_>,
    user_id: UserId,
    provider: &str,
    asserted: &Asserted,
    how: &str,
    client: &Client,
) -> Result<IdentityRow, AppError> {
    let now = change.now;
    let row = change
        .insert_identity(&NewIdentity {
            user_id,
            provider,
            issuer: &asserted.issuer,
            subject: &asserted.subject,
            email: asserted.email.as_deref(),
            email_verified: asserted.email_verified,
            now,
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => AppError::IdentityInUse,
            e => e.into(),
        })?;
    audit::record(
        change,
        Event::new(Kind::IdentityLinked, client)
            .user(user_id)
            .actor(Some(user_id))
            .detail(json!({"provider": provider, "identity_id": row.id, "how": how})),
    )
    .await?;
    Ok(row)
}

/// Finishes a link round trip: the identity joins the account that started it, unless
/// another account has it. `caller` is whoever is logged in now in this browser, if
/// anyone: it must be the account that started the round trip.
pub async fn link(
    ctx: &Ctx,
    returned: &Returned,
    caller: Option<UserId>,
    client: &Client,
) -> Result<Identity, AppError> {
    let Intent::Link(user_id) = returned.intent else { return Err(AppError::FederationExpired) };
    if caller.is_some_and(|c| c != user_id) {
        return Err(AppError::Forbidden);
    }
    let asserted = &returned.asserted;
    if let Some(row) = ctx.store.identity_by_subject(&asserted.issuer, &asserted.subject).await? {
        return if row.user_id == user_id { Ok(identity(ctx, row)) } else { Err(AppError::IdentityInUse) };
    }
    let mut change = ctx.begin().await?;
    let row = add_identity(&mut change, user_id, &returned.provider, asserted, "link", client).await?;
    change.commit().await?;
    Ok(identity(ctx, row))
}

/// Finishes a step-up round trip: the provider's fresh login renews the caller's
/// step-up window, when the identity is one of the caller's.
pub async fn reauthenticate(
    ctx: &Ctx,
    returned: &Returned,
    user: &User,
    proof: &Proof,
    client: &Client,
) -> Result<Reauthenticated, AppError> {
    let Intent::Reauthenticate(user_id) = returned.intent else { return Err(AppError::FederationExpired) };
    let asserted = &returned.asserted;
    let owned = ctx.store.identity_by_subject(&asserted.issuer, &asserted.subject).await?;
    if user_id != user.id || owned.is_none_or(|row| row.user_id != user.id) {
        return Err(AppError::FederationFailed);
    }
    reauth::reauthenticate_with_provider(ctx, user, proof, client).await
}

/// `DELETE /api/me/identities/{id}`: refused when it would leave no way to log in.
pub async fn unlink(ctx: &Ctx, user: &User, proof: &Proof, id: i64, client: &Client) -> Result<(), AppError> {
    stepup::require_recent(ctx, proof).await?;
    remove(ctx, user.id, id, Some(user.id), client).await
}

/// An admin's removal of a user's identity.
pub async fn remove_for_user(
    ctx: &Ctx,
    admin: &User,
    user_id: UserId,
    id: i64,
    client: &Client,
) -> Result<(), AppError> {
    remove(ctx, user_id, id, Some(admin.id), client).await
}

async fn remove(ctx: &Ctx, user_id: UserId, id: i64, actor: Option<UserId>, client: &Client) -> Result<(), AppError> {
    let mut change = ctx.begin().await?;
    // First, as every credential change: logins through this identity in flight either
    // committed before this or mint nothing; and two removals of the last two ways in
    // queue here, so one of them sees the other's result.
    if !change.bump_credentials(user_id).await? {
        return Err(AppError::NotFound);
    }
    let Some(removed) = change.delete_identity(user_id, id).await? else { return Err(AppError::NotFound) };
    if users::ways_in(&mut change, user_id).await? == 0 {
        return Err(AppError::LastCredential);
    }
    audit::record(
        &mut change,
        Event::new(Kind::IdentityUnlinked, client)
            .user(user_id)
            .actor(actor)
            .detail(json!({"provider": removed.provider, "identity_id": id})),
    )
    .await?;
    change.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asserted(hint: Option<&str>, email: Option<&str>) -> Asserted {
        Asserted {
            issuer: "https://idp.example".into(),
            subject: "1".into(),
            email: email.map(str::to_string),
            email_verified: false,
            username_hint: hint.map(str::to_string),
            amr: Vec::new(),
            auth_time: None,
        }
    }

    #[test]
    fn usernames_come_from_the_provider_and_follow_the_rules() {
        assert_eq!(username_base(&asserted(Some("ada"), None)), "ada");
        assert_eq!(username_base(&asserted(None, Some("grace.hopper@example.com"))), "grace.hopper");
        assert_eq!(username_base(&asserted(Some("Zoë Ø"), None)), "Zo___");
        assert_eq!(username_base(&asserted(Some("x"), None)), "x__");
        assert_eq!(username_base(&asserted(None, None)), "user");
        assert_eq!(username_base(&asserted(Some(&"a".repeat(40)), None)).len(), 24);
        for hint in ["ada", "Zoë Ø", "x", "ab@c"] {
            assert!(Username::parse(&username_base(&asserted(Some(hint), None))).is_ok());
        }
    }
}
