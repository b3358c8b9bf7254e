//! Turning the code a provider sent back into who the person is there: the token
//! request (with the PKCE verifier), then the ID token (OpenID Connect) or GitHub's API.
//! The provider's tokens are used here and dropped: latchkey keeps none of them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::id_token::{self, Expected};
use super::providers::{Endpoints, Provider, Providers};
use super::upstream::UpstreamError;
use crate::config::ProviderKind;

/// Who the provider says the person is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Asserted {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// The provider calls the address verified (whether latchkey trusts that is the
    /// provider's `trust_email_verified`).
    pub email_verified: bool,
    /// A name to derive a username from.
    pub username_hint: Option<String>,
    /// The provider's `amr` (OpenID Connect).
    #[serde(default)]
    pub amr: Vec<String>,
    pub auth_time: Option<i64>,
}

/// What the round trip needs to redeem its code.
pub struct Redeem<'a> {
    pub code: &'a str,
    pub verifier: &'a str,
    pub redirect_uri: &'a str,
    pub nonce_hash: &'a [u8],
    pub now: i64,
    pub started_at: i64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    id_token: Option<String>,
    error: Option<String>,
}

pub async fn redeem(
    providers: &Providers,
    provider: &Provider,
    endpoints: &Endpoints,
    redeem: &Redeem<'_>,
) -> Result<Asserted, UpstreamError> {
    let config = &provider.config;
    let secret = config.client_secret.as_ref().map(|s| s.0.as_str()).unwrap_or_default();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", redeem.code),
        ("redirect_uri", redeem.redirect_uri),
        ("code_verifier", redeem.verifier),
    ];
    let answer: TokenAnswer =
        providers.upstream.post_form(&endpoints.token, &form, (&config.client_id, secret), endpoints.auth).await?;
    if let Some(error) = answer.error {
        // GitHub answers a bad code with 200 and an error field.
        return Err(UpstreamError::Refused(format!(
            "token request refused: {}",
            error.chars().take(64).collect::<String>()
        )));
    }
    let access_token = answer.access_token.ok_or_else(|| UpstreamError::Refused("no access token".into()))?;
    match config.kind {
        ProviderKind::Oidc => {
            let id_token = answer.id_token.ok_or_else(|| UpstreamError::Refused("no ID token".into()))?;
            let issuer = config.issuer();
            let expected = Expected {
                issuer: &issuer,
                client_id: &config.client_id,
                nonce_hash: redeem.nonce_hash,
                now: redeem.now,
                started_at: redeem.started_at,
            };
            let claims = id_token::verify(providers, provider, endpoints, &id_token, &expected).await?;
            let mut asserted = Asserted {
                issuer,
                subject: claims.subject,
                email: claims.email,
                email_verified: claims.email_verified,
                username_hint: claims.preferred_username,
                amr: claims.amr,
                auth_time: claims.auth_time,
            };
            if asserted.email.is_none() {
                if let Some(url) = &endpoints.userinfo {
                    add_userinfo(providers, url, &access_token, &mut asserted).await?;
                }
            }
            Ok(asserted)
        }
        ProviderKind::Github => github_user(providers, &config.api_url(), &config.issuer(), &access_token).await,
    }
}

/// Fills in the address (and a name) from UserInfo, whose `sub` must be the ID token's
/// (OpenID Connect Core §5.3.2).
async fn add_userinfo(
    providers: &Providers,
    url: &str,
    access_token: &str,
    asserted: &mut Asserted,
) -> Result<(), UpstreamError> {
    let info: Map<String, Value> = providers.upstream.get_json(url, Some(access_token)).await?;
    if info.get("sub").and_then(Value::as_str) != Some(asserted.subject.as_str()) {
        return Err(UpstreamError::Refused("UserInfo names another subject".into()));
    }
    asserted.email = info.get("email").and_then(Value::as_str).map(str::to_string);
    asserted.email_verified = id_token::says_verified(&info);
    if asserted.username_hint.is_none() {
        asserted.username_hint = info.get("preferred_username").and_then(Value::as_str).map(str::to_string);
    }
    Ok(())
}

#[derive(Deserialize)]
struct GithubUser {
    id: u64,
    login: Option<String>,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

/// GitHub's user (the numeric id is the identity: logins can be renamed) and its primary
/// address, only when GitHub verified it.
async fn github_user(
    providers: &Providers,
    api: &str,
    issuer: &str,
    access_token: &str,
) -> Result<Asserted, UpstreamError> {
    let user: GithubUser = providers.upstream.get_json(&format!("{api}/user"), Some(access_token)).await?;
    let emails: Vec<GithubEmail> =
        providers.upstream.get_json(&format!("{api}/user/emails"), Some(access_token)).await?;
    let primary = emails.into_iter().find(|e| e.primary && e.verified);
    Ok(Asserted {
        issuer: issuer.to_string(),
        subject: user.id.to_string(),
        email_verified: primary.is_some(),
        email: primary.map(|e| e.email),
        username_hint: user.login,
        amr: Vec::new(),
        auth_time: None,
    })
}
