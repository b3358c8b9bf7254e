//! The browser's part: an app's authorization request, checked; a login and a consent
//! in the web app when they are needed; then a code sent back to the app.
//!
//! Nothing goes back to an app before the client and its redirect URI are known to be
//! registered (else anyone could use latchkey to redirect anywhere); after that, every
//! refusal goes back to the app with `state` and `iss` (RFC 9207).

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::clients::{self, Registered};
use super::{has_scope, scope_list, scope_text, CODE_SECS, REQUEST_SECS};
use crate::crypto::token::{new_token, token_hash};
use crate::domain::User;
use crate::error::AppError;
use crate::service::audit::{self, Event, Kind};
use crate::service::keys::issuer;
use crate::service::{Change, Client, Ctx};
use crate::store::oauth2::NewCode;

/// The browser's cookie session, when it has one.
pub struct Browser {
    pub user: Arc<User>,
    pub session_id: i64,
}

/// Where the browser goes next.
#[derive(Debug)]
pub enum Next {
    /// Back to the app: a code, or an error.
    ToApp(String),
    /// To the web app's login or consent page.
    ToWebApp(String),
    /// Not sent anywhere: the client or its redirect URI is not registered.
    Refused(String),
}

/// An authorization request waiting for a login or a consent.
#[derive(Debug, Serialize, Deserialize)]
struct Waiting {
    redirect_uri: String,
    scope: Vec<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: String,
    /// `prompt=login`: a login after the request began.
    prompt_login: bool,
    /// A login at most this many seconds old.
    max_age: Option<u32>,
    /// `prompt=consent`: ask even when consent was given before.
    ask_consent: bool,
    login_hint: Option<String>,
    /// An ID token naming the user the app expects: someone else must log in as them.
    id_token_hint: Option<String>,
}

/// What a code was issued for, kept with it.
#[derive(Debug, Serialize, Deserialize)]
pub struct CodeGrant {
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub session_id: i64,
}

/// `GET|POST /oauth2/authorize`. `params` are the request's parameters, each once.
pub async fn authorize(
    ctx: &Ctx,
    params: &HashMap<String, String>,
    browser: Option<Browser>,
) -> Result<Next, AppError> {
    let get = |key: &str| params.get(key).map(String::as_str).filter(|v| !v.is_empty());
    let Some(client_id) = get("client_id") else {
        return Ok(Next::Refused("The app did not say who it is (client_id).".into()));
    };
    let Some(client) = clients::find(ctx, client_id).await? else {
        return Ok(Next::Refused("The app that sent you here is not registered with this server.".into()));
    };
    let Some(redirect_uri) = get("redirect_uri").filter(|uri| client.redirect_uri_matches(uri)) else {
        return Ok(Next::Refused(format!(
            "{} sent you here with a return address (redirect_uri) it has not registered, so you were not sent back.",
            client.client.name
        )));
    };
    let back = Back {
        iss: issuer(&ctx.config),
        redirect_uri: redirect_uri.to_string(),
        state: get("state").map(str::to_string),
    };
    let waiting = match check(&client, &back, get) {
        Ok(waiting) => waiting,
        Err(to_app) => return Ok(Next::ToApp(to_app)),
    };
    let now = ctx.now();
    let prompt: Vec<&str> = get("prompt").unwrap_or_default().split(' ').filter(|p| !p.is_empty()).collect();
    let standing = match &browser {
        Some(b) => standing(ctx, &client, b).await?,
        None => None,
    };
    let fresh = match (&browser, &standing) {
        (Some(b), Some(st)) => login_fresh(ctx, b, st, &waiting, now).await,
        _ => false,
    };
    let consent = waiting.ask_consent || standing.as_ref().is_none_or(|st| consent_needed(&client, st, &waiting.scope));
    if prompt.contains(&"none") {
        if !fresh {
            return Ok(Next::ToApp(back.error("login_required", "The user is not logged in at latchkey")));
        }
        if consent {
            return Ok(Next::ToApp(back.error("consent_required", "The user has not allowed this app yet")));
        }
    }
    if let (true, false, Some(browser), Some(standing)) = (fresh, consent, &browser, &standing) {
        let mut change = ctx.begin().await?;
        let location = issue_code(&mut change, &client, &waiting, browser, standing).await?;
        change.commit().await?;
        return Ok(Next::ToApp(location));
    }
    let id = new_token();
    let params = serde_json::to_string(&waiting).map_err(|e| AppError::Internal(e.into()))?;
    ctx.store.insert_oauth_request(&token_hash(&id), client.id(), &params, now, now + REQUEST_SECS).await?;
    let page = if fresh { "/consent" } else { "/login" };
    Ok(Next::ToWebApp(format!("{page}?oauth={id}")))
}

/// The request's parameters, checked once the redirect URI is trusted: an error goes
/// back to the app.
fn check<'a>(client: &Registered, back: &Back, get: impl Fn(&str) -> Option<&'a str>) -> Result<Waiting, String> {
    let fail = |error: &str, description: &str| back.error(error, description);
    for (param, error) in [
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
        ("registration", "registration_not_supported"),
    ] {
        if get(param).is_some() {
            return Err(fail(error, &format!("latchkey does not take {param}: send the parameters themselves")));
        }
    }
    match get("response_type") {
        None => return Err(fail("invalid_request", "response_type is required (code)")),
        Some("code") => {}
        Some(_) => return Err(fail("unsupported_response_type", "latchkey answers response_type=code only")),
    }
    if get("response_mode").is_some_and(|m| m != "query") {
        return Err(fail("invalid_request", "latchkey answers with response_mode=query only"));
    }
    let scope = scope_list(get("scope").unwrap_or_default());
    if !scope.iter().any(|s| s == "openid") {
        return Err(fail("invalid_scope", "scope must include openid"));
    }
    if let Some(other) = scope.iter().find(|s| !client.allows_scope(s)) {
        return Err(fail("invalid_scope", &format!("this app may not ask for {other}")));
    }
    let Some(code_challenge) = get("code_challenge") else {
        return Err(fail("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256"));
    };
    if get("code_challenge_method") != Some("S256") {
        return Err(fail("invalid_request", "code_challenge_method must be S256"));
    }
    if code_challenge.len() != 43
        || !code_challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(fail("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier"));
    }
    let prompt: Vec<&str> = get("prompt").unwrap_or_default().split(' ').filter(|p| !p.is_empty()).collect();
    if let Some(unknown) = prompt.iter().find(|p| !matches!(**p, "none" | "login" | "consent" | "select_account")) {
        return Err(fail("invalid_request", &format!("prompt={unknown} is not supported")));
    }
    if prompt.contains(&"none") && prompt.len() > 1 {
        return Err(fail("invalid_request", "prompt=none cannot be combined with other values"));
    }
    let max_age = match get("max_age") {
        None => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| fail("invalid_request", "max_age must be a number of seconds"))?),
    };
    Ok(Waiting {
        redirect_uri: back.redirect_uri.clone(),
        scope,
        state: back.state.clone(),
        nonce: get("nonce").map(str::to_string),
        code_challenge: code_challenge.to_string(),
        prompt_login: prompt.iter().any(|p| matches!(*p, "login" | "select_account")),
        max_age,
        ask_consent: prompt.contains(&"consent"),
        login_hint: get("login_hint").map(|h| crate::service::truncate(h, 256).to_string()),
        id_token_hint: get("id_token_hint").map(str::to_string),
    })
}

/// What the browser's session says of its login, and what the user allowed the client:
/// read once per request.
struct Standing {
    auth_at: i64,
    amr: String,
    granted: String,
}

async fn standing(ctx: &Ctx, client: &Registered, browser: &Browser) -> Result<Option<Standing>, AppError> {
    let Some((auth_at, amr)) = ctx.store.session_login(browser.session_id).await? else { return Ok(None) };
    let granted = ctx.store.granted_scope(browser.user.id, client.id()).await?.unwrap_or_default();
    Ok(Some(Standing { auth_at, amr, granted }))
}

/// Whether the browser's login satisfies a request that began at `began`: after it for
/// `prompt=login`, within `max_age`, and as the user an `id_token_hint` names.
async fn login_fresh(ctx: &Ctx, browser: &Browser, standing: &Standing, waiting: &Waiting, began: i64) -> bool {
    if waiting.prompt_login && standing.auth_at < began {
        return false;
    }
    if waiting.max_age.is_some_and(|age| ctx.now() - standing.auth_at > i64::from(age)) {
        return false;
    }
    if let Some(hint) = &waiting.id_token_hint {
        if let Some((sub, _)) = super::tokens::verify_id_token_hint(ctx, hint).await {
            return sub == browser.user.id.to_string();
        }
    }
    true
}

/// Whether the user must be asked: not for scopes allowed before, not for the team's own
/// apps (`skip_consent`), except for `offline_access` never allowed.
fn consent_needed(client: &Registered, standing: &Standing, scope: &[String]) -> bool {
    let covered = scope.iter().all(|s| has_scope(&standing.granted, s));
    let offline_new = scope.iter().any(|s| s == "offline_access") && !has_scope(&standing.granted, "offline_access");
    !covered && (!client.client.skip_consent || offline_new)
}

/// Issues a code for the browser's user and remembers what they allowed; the address to
/// send the browser back to.
async fn issue_code(
    change: &mut Change<'_>,
    client: &Registered,
    waiting: &Waiting,
    browser: &Browser,
    standing: &Standing,
) -> Result<String, AppError> {
    let code = new_token();
    let now = change.now;
    let scope = scope_text(&waiting.scope);
    let grant = CodeGrant {
        redirect_uri: waiting.redirect_uri.clone(),
        scope: scope.clone(),
        nonce: waiting.nonce.clone(),
        code_challenge: waiting.code_challenge.clone(),
        auth_time: standing.auth_at,
        amr: standing.amr.split_whitespace().map(str::to_string).collect(),
        session_id: browser.session_id,
    };
    let grant_data = serde_json::to_string(&grant).map_err(|e| AppError::Internal(e.into()))?;
    change
        .insert_oauth_code(&NewCode {
            code_hash: &token_hash(&code),
            client_id: client.id(),
            user_id: browser.user.id,
            grant_data: &grant_data,
            now,
            expires_at: now + CODE_SECS,
        })
        .await?;
    let granted = &standing.granted;
    let mut all = scope_list(granted);
    all.extend(waiting.scope.iter().cloned());
    let all = scope_text(&scope_list(&all.join(" ")));
    if all != *granted {
        change.upsert_grant(browser.user.id, client.id(), &all, now).await?;
    }
    let back = Back {
        iss: issuer(&change.ctx().config),
        redirect_uri: waiting.redirect_uri.clone(),
        state: waiting.state.clone(),
    };
    Ok(back.with(&[("code", &code)]))
}

/// A waiting request, as the web app's login and consent pages show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestInfo {
    pub id: String,
    pub client: AppSummary,
    /// What the app asks for: `openid`, `email`, `profile`, `roles`, `offline_access`.
    pub scopes: Vec<String>,
    /// The browser must log in (again) first: no session, or one older than the app asks.
    pub login_required: bool,
    /// The user has not allowed these scopes to this app yet (or the app asks again).
    pub consent_required: bool,
    pub login_hint: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppSummary {
    pub client_id: String,
    pub name: String,
}

/// Where the web app sends the browser after an accept or a deny.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedirectTo {
    pub redirect_to: String,
}

async fn waiting_request(ctx: &Ctx, id: &str) -> Result<(Registered, Waiting, i64), AppError> {
    let row = ctx.store.oauth_request(&token_hash(id), ctx.now()).await?.ok_or(AppError::NotFound)?;
    let waiting = serde_json::from_str(&row.params).map_err(|e| AppError::Internal(e.into()))?;
    let client = clients::find(ctx, &row.client_id).await?.ok_or(AppError::NotFound)?;
    Ok((client, waiting, row.created_at))
}

pub async fn request_info(ctx: &Ctx, id: &str, browser: Option<Browser>) -> Result<RequestInfo, AppError> {
    let (client, waiting, began) = waiting_request(ctx, id).await?;
    let standing = match &browser {
        Some(b) => standing(ctx, &client, b).await?,
        None => None,
    };
    let (login_required, consent_required) = match (&browser, &standing) {
        (Some(b), Some(st)) => (
            !login_fresh(ctx, b, st, &waiting, began).await,
            waiting.ask_consent || consent_needed(&client, st, &waiting.scope),
        ),
        _ => (true, true),
    };
    Ok(RequestInfo {
        id: id.to_string(),
        client: AppSummary { client_id: client.client.client_id.clone(), name: client.client.name.clone() },
        scopes: waiting.scope,
        login_required,
        consent_required,
        login_hint: waiting.login_hint,
    })
}

/// The user allows the app: a code, and the consent remembered.
pub async fn accept(ctx: &Ctx, id: &str, browser: Browser, client_info: &Client) -> Result<RedirectTo, AppError> {
    let (client, waiting, began) = waiting_request(ctx, id).await?;
    let standing = standing(ctx, &client, &browser).await?.ok_or(AppError::LoginRequired)?;
    if !login_fresh(ctx, &browser, &standing, &waiting, began).await {
        return Err(AppError::LoginRequired);
    }
    let mut change = ctx.begin().await?;
    let now = change.now;
    if change.take_oauth_request(&token_hash(id), now).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let redirect_to = issue_code(&mut change, &client, &waiting, &browser, &standing).await?;
    audit::record(
        &mut change,
        Event::new(Kind::AppAuthorized, client_info)
            .user(browser.user.id)
            .actor(Some(browser.user.id))
            .detail(json!({"client_id": client.id(), "scope": scope_text(&waiting.scope)})),
    )
    .await?;
    change.commit().await?;
    Ok(RedirectTo { redirect_to })
}

/// The user refuses: the app hears `access_denied`.
pub async fn deny(ctx: &Ctx, id: &str) -> Result<RedirectTo, AppError> {
    let (_, waiting, _) = waiting_request(ctx, id).await?;
    let mut change = ctx.begin().await?;
    let now = change.now;
    if change.take_oauth_request(&token_hash(id), now).await?.is_none() {
        return Err(AppError::NotFound);
    }
    change.commit().await?;
    let back = Back { iss: issuer(&ctx.config), redirect_uri: waiting.redirect_uri, state: waiting.state };
    Ok(RedirectTo { redirect_to: back.error("access_denied", "The user did not allow the app") })
}

/// The app's redirect URI with the answer's parameters, `state` and `iss` added.
struct Back {
    iss: String,
    redirect_uri: String,
    state: Option<String>,
}

impl Back {
    fn with(&self, pairs: &[(&str, &str)]) -> String {
        let mut url = self.redirect_uri.clone();
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        if let Some(state) = &self.state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &self.iss);
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query.finish());
        url
    }

    fn error(&self, error: &str, description: &str) -> String {
        self.with(&[("error", error), ("error_description", description)])
    }
}

/// Whether `verifier` is the PKCE verifier of `challenge` (S256, RFC 7636 §4.6).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed && URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_verifies() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_matches("short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_matches(&verifier.replace('d', "e"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    }

    #[test]
    fn answers_carry_state_and_iss_after_the_apps_own_query() {
        let back = Back {
            iss: "https://id.example".into(),
            redirect_uri: "https://app/cb?x=1".into(),
            state: Some("s t".into()),
        };
        assert_eq!(back.with(&[("code", "abc")]), "https://app/cb?x=1&code=abc&state=s+t&iss=https%3A%2F%2Fid.example");
    }
}
