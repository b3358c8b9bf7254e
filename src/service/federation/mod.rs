//! Logging in with an account elsewhere: the round trip to a provider (authorization
//! code with PKCE, `state`, `nonce`; RFC 9700 and OpenID Connect Core), kept in the
//! database so any instance may finish what another started, and bound to the browser
//! that began it by a cookie.
//!
//! `start` sends the browser to the provider; the provider sends it back to `callback`,
//! which redeems the code and records who the provider says the person is (or why that
//! failed) and creates nothing; the web app then calls `take_outcome` once, and the
//! outcome goes to the login pipeline (`login::with_provider`), to `link` or to
//! `reauthenticate`.

pub mod exchange;
pub mod id_token;
pub mod identities;
pub mod providers;
pub mod upstream;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::audit::{self, Event, Kind};
use super::{throttle, Client, Ctx};
use crate::crypto::token::{new_token, token_hash};
use crate::domain::UserId;
use crate::error::AppError;
use crate::store::federation::{FlowRow, NewFlow};
use exchange::{Asserted, Redeem};
use providers::Provider;
use upstream::UpstreamError;

pub use providers::Providers;

/// How long a round trip to a provider may take, from start to the web app's continue.
pub const FLOW_SECS: i64 = 600;

/// What a round trip is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Login,
    /// Connecting the identity to this (logged-in) account.
    Link(UserId),
    /// Proving again, for step-up, who this account's owner is.
    Reauthenticate(UserId),
}

impl Intent {
    fn as_str(self) -> &'static str {
        match self {
            Intent::Login => "login",
            Intent::Link(_) => "link",
            Intent::Reauthenticate(_) => "reauth",
        }
    }

    fn user(self) -> Option<UserId> {
        match self {
            Intent::Login => None,
            Intent::Link(id) | Intent::Reauthenticate(id) => Some(id),
        }
    }

    fn of_row(row: &FlowRow) -> Option<Intent> {
        match (row.intent.as_str(), row.user_id) {
            ("login", _) => Some(Intent::Login),
            ("link", Some(id)) => Some(Intent::Link(id)),
            ("reauth", Some(id)) => Some(Intent::Reauthenticate(id)),
            _ => None,
        }
    }
}

/// A round trip begun: where to send the browser, and the secret its cookie keeps.
pub struct Started {
    pub location: String,
    pub binding: String,
}

/// The outcome of a round trip, as the callback records it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Outcome {
    Verified(Asserted),
    /// `unavailable`: the provider could not be reached; else its answer was refused.
    Failed {
        unavailable: bool,
        reason: String,
    },
}

/// A round trip that came back and verified, taken by the web app's continue call.
pub struct Returned {
    pub intent: Intent,
    pub provider: String,
    pub asserted: Asserted,
    pub return_to: String,
    pub started_at: i64,
}

/// `return_to` when it is a path on this site: `/` then anything but a second `/` or a
/// `\` (which browsers read as `//`, another host), no control characters.
pub fn checked_return_to(value: Option<&str>, default: &str) -> Result<String, AppError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else { return Ok(default.to_string()) };
    let bytes = value.as_bytes();
    let relative = bytes[0] == b'/'
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && value.len() <= 2048
        && !value.chars().any(|c| c.is_control() || c.is_whitespace());
    if !relative {
        return Err(AppError::validation("return_to", "must be a path on this site, like /account"));
    }
    Ok(value.to_string())
}

/// The redirect URI registered at the provider.
pub fn callback_uri(ctx: &Ctx, provider: &str) -> String {
    format!("{}/api/federation/{provider}/callback", ctx.config.public_url.trim_end_matches('/'))
}

fn provider<'a>(ctx: &'a Ctx, id: &str) -> Result<&'a Provider, AppError> {
    ctx.federation.get(id).map(|p| p.as_ref()).ok_or(AppError::NotFound)
}

/// Begins a round trip: records it and answers where the browser goes.
pub async fn start(
    ctx: &Ctx,
    provider_id: &str,
    intent: Intent,
    return_to: Option<&str>,
    client: &Client,
) -> Result<Started, AppError> {
    let provider = provider(ctx, provider_id)?;
    let default = if intent == Intent::Login { "/" } else { "/account" };
    let return_to = checked_return_to(return_to, default)?;
    let endpoints = ctx.federation.endpoints(provider).await.map_err(|e| {
        tracing::warn!(provider = provider_id, error = %e, "provider not reachable at start");
        AppError::ProviderUnavailable
    })?;
    throttle::reserve_login_start(ctx, "federation", client).await?;
    let (state, binding, nonce, verifier) = (new_token(), new_token(), new_token(), new_token());
    let now = ctx.now();
    ctx.store
        .insert_flow(&NewFlow {
            state_hash: &token_hash(&state),
            binding_hash: &token_hash(&binding),
            provider: provider_id,
            intent: intent.as_str(),
            user_id: intent.user(),
            pkce_verifier: &verifier,
            nonce_hash: &token_hash(&nonce),
            return_to: &return_to,
            now,
            expires_at: now + FLOW_SECS,
        })
        .await?;
    let config = &provider.config;
    let mut location = url::Url::parse(&endpoints.authorization)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("authorization endpoint: {e}")))?;
    {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let mut query = location.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &config.client_id)
            .append_pair("redirect_uri", &callback_uri(ctx, provider_id))
            .append_pair("scope", &config.scopes().join(" "))
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if config.kind == crate::config::ProviderKind::Oidc {
            query.append_pair("nonce", &nonce);
        }
        if matches!(intent, Intent::Reauthenticate(_)) {
            query.append_pair("prompt", "login").append_pair("max_age", "0");
        }
    }
    Ok(Started { location: location.into(), binding })
}

/// What the provider sent back to the callback.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// The provider's redirect back: takes the browser's started round trip (once), redeems
/// the code and records the outcome. Creates no session. Answers where the browser goes
/// next: the web app's page that calls `continue`.
pub async fn callback(
    ctx: &Ctx,
    provider_id: &str,
    params: &CallbackParams,
    binding: Option<&str>,
    client: &Client,
) -> Result<String, AppError> {
    let provider = provider(ctx, provider_id)?;
    let (Some(state), Some(binding)) = (params.state.as_deref(), binding) else {
        failed(ctx, provider_id, None, "no state or no binding cookie", client).await?;
        return Ok(continue_page("/"));
    };
    let now = ctx.now();
    let Some(flow) = ctx.store.take_started_flow(&token_hash(state), &token_hash(binding), provider_id, now).await?
    else {
        failed(ctx, provider_id, None, "unknown, used or expired state, or another browser's", client).await?;
        return Ok(continue_page("/"));
    };
    let outcome = match redeem(ctx, provider, &flow, params, now).await {
        Ok(asserted) => Outcome::Verified(asserted),
        Err(e) => {
            let unavailable = matches!(e, UpstreamError::Unreachable(_));
            Outcome::Failed { unavailable, reason: e.to_string() }
        }
    };
    let result = serde_json::to_string(&outcome).map_err(|e| AppError::Internal(e.into()))?;
    ctx.store.finish_flow(flow.id, &result).await?;
    Ok(continue_page(&flow.return_to))
}

/// The web app's page that finishes a round trip, with where to go afterwards.
pub fn continue_page(return_to: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    format!("/login/federated?return_to={encoded}")
}

async fn redeem(
    ctx: &Ctx,
    provider: &Provider,
    flow: &FlowRow,
    params: &CallbackParams,
    now: i64,
) -> Result<Asserted, UpstreamError> {
    let refuse = |why: String| Err(UpstreamError::Refused(why));
    if let Some(error) = &params.error {
        return refuse(format!("the provider answered {:?}", error.chars().take(64).collect::<String>()));
    }
    let endpoints = provider.known_endpoints().ok_or_else(|| UpstreamError::Unreachable("not discovered".into()))?;
    // RFC 9207: the answer names its issuer, which must be this provider's (a mix-up
    // attack sends one provider's answer to another's callback).
    match &params.iss {
        Some(iss) if *iss != provider.config.issuer() => return refuse(format!("iss {iss:?} is another issuer")),
        None if endpoints.iss_parameter => return refuse("no iss in the answer".into()),
        _ => {}
    }
    let Some(code) = params.code.as_deref().filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return refuse("no code".into());
    };
    let redirect_uri = callback_uri(ctx, &provider.config.id);
    let redeem = Redeem {
        code,
        verifier: &flow.pkce_verifier,
        redirect_uri: &redirect_uri,
        nonce_hash: &flow.nonce_hash,
        now,
        started_at: flow.created_at,
    };
    let asserted = exchange::redeem(&ctx.federation, provider, &endpoints, &redeem).await?;
    if flow.intent == "reauth" {
        // Step-up needs a login that happened now, not a provider session reused.
        let fresh = asserted.auth_time.is_some_and(|t| t + 60 >= flow.created_at);
        if provider.config.kind == crate::config::ProviderKind::Oidc && !fresh {
            return refuse("auth_time missing or older than the re-authentication".into());
        }
    }
    Ok(asserted)
}

/// Takes the outcome of the browser's round trip, once. A failure is audited and
/// answered with its code.
pub async fn take_outcome(ctx: &Ctx, binding: Option<&str>, client: &Client) -> Result<Returned, AppError> {
    let Some(binding) = binding else { return Err(AppError::FederationExpired) };
    let Some(flow) = ctx.store.take_finished_flow(&token_hash(binding), ctx.now()).await? else {
        return Err(AppError::FederationExpired);
    };
    let intent = Intent::of_row(&flow).ok_or(AppError::FederationExpired)?;
    let outcome: Outcome = flow
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("federation flow {} without an outcome", flow.id)))?;
    match outcome {
        Outcome::Verified(asserted) => Ok(Returned {
            intent,
            provider: flow.provider,
            asserted,
            return_to: flow.return_to,
            started_at: flow.created_at,
        }),
        Outcome::Failed { unavailable, reason } => {
            failed(ctx, &flow.provider, intent.user(), &reason, client).await?;
            Err(if unavailable { AppError::ProviderUnavailable } else { AppError::FederationFailed })
        }
    }
}

/// Audits a round trip that failed.
async fn failed(
    ctx: &Ctx,
    provider: &str,
    user: Option<UserId>,
    reason: &str,
    client: &Client,
) -> Result<(), AppError> {
    metrics::counter!("latchkey_logins_total", "outcome" => "federation_failed").increment(1);
    tracing::info!(provider, reason, "a login through a provider failed");
    let mut event =
        Event::new(Kind::FederatedLoginFailed, client).detail(json!({"provider": provider, "reason": reason}));
    if let Some(user) = user {
        event = event.user(user);
    }
    audit::record_alone(ctx, event).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_is_a_path_on_this_site() {
        for ok in ["/", "/account", "/posts?page=2#top", "/a/b//c"] {
            assert_eq!(checked_return_to(Some(ok), "/").unwrap(), ok);
        }
        assert_eq!(checked_return_to(None, "/account").unwrap(), "/account");
        assert_eq!(checked_return_to(Some(""), "/").unwrap(), "/");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "javascript:alert(1)",
            "/a b",
            "/\u{0}",
        ] {
            assert!(checked_return_to(Some(bad), "/").is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_continue_page_carries_the_path_encoded() {
        assert_eq!(continue_page("/a?b=c&d"), "/login/federated?return_to=%2Fa%3Fb%3Dc%26d");
    }
}
