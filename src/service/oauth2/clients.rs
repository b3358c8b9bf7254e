//! The apps registered to log in through latchkey: created by an administrator (the
//! `client` commands or the admin API), never by the apps themselves. A confidential
//! client's secret is 256 random bits, shown once and kept as its SHA-256; a public
//! client (an SPA, a native app) has none and proves itself with PKCE alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq;
use url::Url;
use utoipa::ToSchema;

use super::{scope_list, SCOPES};
use crate::crypto::provider_keys::SigningAlg;
use crate::crypto::token::{new_token, token_digest, token_hash};
use crate::domain::rfc3339_seconds;
use crate::error::AppError;
use crate::service::audit::{self, Event, Kind};
use crate::service::{Client, Ctx};
use crate::store::oauth2::{ClientRow, NewClient};

/// What an administrator chooses about a client, kept as JSON beside it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub skip_consent: bool,
    pub id_token_signed_response_alg: SigningAlg,
}

/// A registered client, as the admin API and the CLI show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OAuthClient {
    pub client_id: String,
    pub name: String,
    /// No secret: an SPA or a native app, which proves itself with PKCE alone.
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// The team's own app: users are not asked to consent.
    pub skip_consent: bool,
    #[schema(value_type = String, example = "RS256")]
    pub id_token_signed_response_alg: SigningAlg,
    #[serde(with = "rfc3339_seconds")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::OffsetDateTime,
}

/// A client just created, or just given a new secret: the secret is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WithSecret {
    #[serde(flatten)]
    pub client: OAuthClient,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// A client as the endpoints need it: its settings and whether it has a secret.
pub struct Registered {
    pub client: OAuthClient,
    secret_hash: Option<Vec<u8>>,
}

impl Registered {
    fn from_row(row: ClientRow) -> Result<Registered, AppError> {
        let settings: Settings = serde_json::from_str(&row.settings)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("client settings: {e}")))?;
        Ok(Registered {
            client: OAuthClient {
                public: row.secret_hash.is_none(),
                client_id: row.client_id,
                name: row.name,
                redirect_uris: settings.redirect_uris,
                post_logout_redirect_uris: settings.post_logout_redirect_uris,
                scopes: settings.scopes,
                skip_consent: settings.skip_consent,
                id_token_signed_response_alg: settings.id_token_signed_response_alg,
                created_at: crate::domain::from_unix(row.created_at),
            },
            secret_hash: row.secret_hash,
        })
    }

    pub fn id(&self) -> &str {
        &self.client.client_id
    }

    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    /// Whether `secret` is this client's, compared in constant time.
    pub fn secret_matches(&self, secret: &str) -> bool {
        self.secret_hash.as_deref().is_some_and(|hash| bool::from(token_digest(secret)[..].ct_eq(hash)))
    }

    /// `presented` among the registered redirect URIs, exactly; for a public client a
    /// loopback URI matches on any port (RFC 8252 §7.3: a native app's port is chosen
    /// when it runs).
    pub fn redirect_uri_matches(&self, presented: &str) -> bool {
        if self.client.redirect_uris.iter().any(|r| r == presented) {
            return true;
        }
        self.is_public()
            && self.client.redirect_uris.iter().any(|registered| same_but_loopback_port(registered, presented))
    }

    pub fn post_logout_uri_matches(&self, presented: &str) -> bool {
        self.client.post_logout_redirect_uris.iter().any(|r| r == presented)
    }

    /// Whether the client may ask for `scope`.
    pub fn allows_scope(&self, scope: &str) -> bool {
        self.client.scopes.iter().any(|s| s == scope)
    }
}

fn same_but_loopback_port(registered: &str, presented: &str) -> bool {
    let (Ok(a), Ok(b)) = (Url::parse(registered), Url::parse(presented)) else { return false };
    let loopback = |u: &Url| {
        u.scheme() == "http"
            && (matches!(u.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
                || matches!(u.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback()))
    };
    loopback(&a)
        && loopback(&b)
        && a.host() == b.host()
        && a.path() == b.path()
        && a.query() == b.query()
        && b.fragment().is_none()
}

/// A scope latchkey knows.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeName {
    Openid,
    Email,
    Profile,
    Roles,
    OfflineAccess,
}

impl ScopeName {
    pub fn parse(value: &str) -> Option<ScopeName> {
        serde_json::from_value(serde_json::Value::String(value.to_string())).ok()
    }

    fn as_str(self) -> &'static str {
        match self {
            ScopeName::Openid => "openid",
            ScopeName::Email => "email",
            ScopeName::Profile => "profile",
            ScopeName::Roles => "roles",
            ScopeName::OfflineAccess => "offline_access",
        }
    }
}

/// What an administrator asks for.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NewClientRequest {
    #[schema(example = "Grafana", value_type = String, required = true, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Absolute URLs without a fragment: https, http to 127.0.0.1, `[::1]` or localhost, or a
    /// native app's reverse-domain scheme. 1 to 20.
    #[schema(example = json!(["https://grafana.example.com/login/generic_oauth"]), value_type = Vec<String>,
        required = true, min_items = 1, max_items = 20)]
    pub redirect_uris: Option<Vec<String>>,
    /// The same rules; at most 20.
    #[schema(max_items = 20)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// No secret (an SPA or a native app). Default false.
    pub public: Option<bool>,
    /// What the app may ask for. Default (absent or empty): all of them; `openid` is
    /// always included.
    #[schema(example = json!(["openid", "email"]))]
    pub scopes: Option<Vec<ScopeName>>,
    /// Default false.
    pub skip_consent: Option<bool>,
    /// `RS256` (default) or `EdDSA`.
    #[schema(example = "RS256", value_type = Option<String>, pattern = "^(RS256|EdDSA)$")]
    pub id_token_signed_response_alg: Option<String>,
}

pub async fn create(
    ctx: &Ctx,
    req: NewClientRequest,
    actor: Option<i64>,
    client: &Client,
) -> Result<WithSecret, AppError> {
    let mut problems: BTreeMap<&'static str, String> = BTreeMap::new();
    let name = req.name.as_deref().map(str::trim).unwrap_or_default().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        problems.insert("name", "give the app a name of 1 to 100 characters".into());
    }
    let public = req.public.unwrap_or(false);
    let redirect_uris = req.redirect_uris.unwrap_or_default();
    if redirect_uris.is_empty() || redirect_uris.len() > 20 {
        problems.insert("redirect_uris", "give 1 to 20 redirect URIs".into());
    } else if let Some(problem) = redirect_uris.iter().find_map(|u| redirect_uri_problem(u)) {
        problems.insert("redirect_uris", problem);
    }
    let post_logout = req.post_logout_redirect_uris.unwrap_or_default();
    if post_logout.len() > 20 {
        problems.insert("post_logout_redirect_uris", "give at most 20".into());
    } else if let Some(problem) = post_logout.iter().find_map(|u| redirect_uri_problem(u)) {
        problems.insert("post_logout_redirect_uris", problem);
    }
    let mut scopes: Vec<String> = match req.scopes.filter(|list| !list.is_empty()) {
        None => SCOPES.iter().map(|s| s.to_string()).collect(),
        Some(list) => scope_list(&list.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
    };
    if !scopes.iter().any(|s| s == "openid") {
        scopes.push("openid".into());
    }
    let alg = match req.id_token_signed_response_alg.as_deref() {
        None => Some(SigningAlg::RS256),
        Some(value) => SigningAlg::parse(value),
    };
    if alg.is_none() {
        problems.insert("id_token_signed_response_alg", "must be RS256 or EdDSA".into());
    }
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    let settings = Settings {
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        scopes: super::scope_text(&scopes).split(' ').map(str::to_string).collect(),
        skip_consent: req.skip_consent.unwrap_or(false),
        id_token_signed_response_alg: alg.unwrap_or(SigningAlg::RS256),
    };
    let client_id = new_token()[..24].to_string();
    let secret = (!public).then(new_token);
    let secret_hash = secret.as_deref().map(token_hash);
    let settings_json = serde_json::to_string(&settings).map_err(|e| AppError::Internal(e.into()))?;
    let origins = origins_of(&settings.redirect_uris);
    let mut change = ctx.begin().await?;
    let now = change.now;
    change
        .insert_oauth_client(&NewClient {
            client_id: &client_id,
            name: &name,
            secret_hash: secret_hash.as_deref(),
            settings: &settings_json,
            origins: &origins,
            now,
        })
        .await?;
    audit::record(
        &mut change,
        Event::new(Kind::OAuthClientChanged, client)
            .actor(actor)
            .detail(json!({"client_id": client_id, "created": name})),
    )
    .await?;
    change.commit().await?;
    let row = ClientRow { client_id, name, secret_hash, settings: settings_json, created_at: now };
    Ok(WithSecret { client: Registered::from_row(row)?.client, client_secret: secret })
}

/// Why a redirect URI cannot be registered: it must be absolute, without a fragment,
/// and https — or http to this machine (127.0.0.1, [::1], localhost) for development
/// and native apps, or a native app's private-use scheme (`com.example.app:/callback`).
fn redirect_uri_problem(uri: &str) -> Option<String> {
    // Sent back as a Location header as it is registered: printable ASCII only.
    if !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return Some(format!("{uri:?}: percent-encode spaces and characters outside ASCII"));
    }
    let Ok(url) = Url::parse(uri) else { return Some(format!("{uri:?} is not an absolute URL")) };
    if url.fragment().is_some() {
        return Some(format!("{uri:?} has a fragment (#…), which redirect URIs may not have"));
    }
    match url.scheme() {
        "https" if url.host().is_some() => None,
        "http" if matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost")) => None,
        "http" => Some(format!("{uri:?} uses http: use https (http only to 127.0.0.1, [::1] or localhost)")),
        scheme if scheme.contains('.') => None,
        _ => Some(format!("{uri:?}: use https, http to this machine, or a reverse-domain scheme")),
    }
}

fn origins_of(uris: &[String]) -> Vec<String> {
    let mut origins: Vec<String> = uris
        .iter()
        .filter_map(|u| Url::parse(u).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.origin().ascii_serialization())
        .collect();
    origins.sort();
    origins.dedup();
    origins
}

pub async fn find(ctx: &Ctx, client_id: &str) -> Result<Option<Registered>, AppError> {
    ctx.store.oauth_client(client_id).await?.map(Registered::from_row).transpose()
}

pub async fn list(ctx: &Ctx) -> Result<Vec<OAuthClient>, AppError> {
    ctx.store.oauth_clients().await?.into_iter().map(|r| Registered::from_row(r).map(|r| r.client)).collect()
}

pub async fn get(ctx: &Ctx, client_id: &str) -> Result<OAuthClient, AppError> {
    Ok(find(ctx, client_id).await?.ok_or(AppError::NotFound)?.client)
}

/// Deletes the client: its consents, codes and every login through it end.
pub async fn delete(ctx: &Ctx, client_id: &str, actor: Option<i64>, client: &Client) -> Result<(), AppError> {
    let mut change = ctx.begin().await?;
    if !change.delete_oauth_client(client_id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut change,
        Event::new(Kind::OAuthClientChanged, client)
            .actor(actor)
            .detail(json!({"client_id": client_id, "deleted": true})),
    )
    .await?;
    change.commit().await
}

/// A new secret for a confidential client; the old one stops working at once.
pub async fn rotate_secret(
    ctx: &Ctx,
    client_id: &str,
    actor: Option<i64>,
    client: &Client,
) -> Result<WithSecret, AppError> {
    let registered = find(ctx, client_id).await?.ok_or(AppError::NotFound)?;
    if registered.is_public() {
        return Err(AppError::PublicClient);
    }
    let secret = new_token();
    let mut change = ctx.begin().await?;
    if !change.set_client_secret(client_id, &token_hash(&secret)).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut change,
        Event::new(Kind::OAuthClientChanged, client)
            .actor(actor)
            .detail(json!({"client_id": client_id, "secret_rotated": true})),
    )
    .await?;
    change.commit().await?;
    Ok(WithSecret { client: registered.client, client_secret: Some(secret) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_https_or_this_machine_or_a_native_scheme() {
        for good in [
            "https://app.example/cb",
            "http://127.0.0.1:5175/cb",
            "http://localhost/cb",
            "http://[::1]/cb",
            "com.example.app:/cb",
        ] {
            assert_eq!(redirect_uri_problem(good), None, "{good}");
        }
        for bad in
            ["http://app.example/cb", "https://app.example/cb#x", "/cb", "javascript:alert(1)", "data:text/html,x"]
        {
            assert!(redirect_uri_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn only_loopback_ports_are_free() {
        assert!(same_but_loopback_port("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb"));
        assert!(same_but_loopback_port("http://[::1]:80/cb", "http://[::1]:4000/cb"));
        assert!(!same_but_loopback_port("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb2"));
        assert!(!same_but_loopback_port("http://localhost/cb", "http://localhost:5/cb"), "names can be re-pointed");
        assert!(!same_but_loopback_port("https://app.example/cb", "https://app.example:8443/cb"));
    }
}
