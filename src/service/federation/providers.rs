//! The configured providers and what latchkey learned of each: an OpenID Connect
//! provider's endpoints from its discovery document, and its signing keys. A provider
//! that cannot be reached at start is reported and tried again later, in the background
//! and whenever someone wants to log in with it; the others work meanwhile.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;

use super::upstream::{ClientAuth, Result, Upstream, UpstreamError};
use crate::config::{FederationConfig, ProviderConfig, ProviderKind};

/// Least time after a failed discovery before a login tries the provider again.
const RETRY_ON_DEMAND: Duration = Duration::from_secs(5);
/// Least time between two fetches of a provider's keys (an unknown `kid` refetches).
const KEYS_REFETCH: Duration = Duration::from_secs(10);

/// Where a provider's endpoints are, and how to talk to it.
#[derive(Debug)]
pub struct Endpoints {
    pub authorization: String,
    pub token: String,
    pub userinfo: Option<String>,
    pub jwks_uri: Option<String>,
    pub auth: ClientAuth,
    /// The provider says it puts `iss` in its authorization responses (RFC 9207): one
    /// without it is then refused.
    pub iss_parameter: bool,
    /// Signing algorithms the provider names for ID tokens (empty: not said).
    pub signing_algs: Vec<String>,
}

pub struct Provider {
    pub config: ProviderConfig,
    endpoints: RwLock<Option<Arc<Endpoints>>>,
    last_failure: RwLock<Option<Instant>>,
    keys: RwLock<Option<(Arc<JwkSet>, Instant)>>,
}

pub struct Providers {
    list: Vec<Arc<Provider>>,
    pub upstream: Upstream,
}

/// The fields of a discovery document latchkey reads (OpenID Connect Discovery 1.0 §3).
#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: Option<String>,
    jwks_uri: String,
    #[serde(default)]
    response_types_supported: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

impl Providers {
    pub fn new(config: &FederationConfig) -> anyhow::Result<Providers> {
        let list = config
            .providers
            .iter()
            .map(|p| {
                let endpoints = match p.kind {
                    ProviderKind::Github => Some(Arc::new(github_endpoints(p))),
                    ProviderKind::Oidc => None,
                };
                Arc::new(Provider {
                    config: p.clone(),
                    endpoints: RwLock::new(endpoints),
                    last_failure: RwLock::new(None),
                    keys: RwLock::new(None),
                })
            })
            .collect();
        Ok(Providers { list, upstream: Upstream::new(config.timeout.0)? })
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Provider>> {
        self.list.iter().find(|p| p.config.id == id)
    }

    pub fn all(&self) -> &[Arc<Provider>] {
        &self.list
    }

    /// The provider's endpoints, discovering them now when they are not known yet
    /// (unless discovery failed in the last few seconds: a provider that is down is not
    /// asked again by every login).
    pub async fn endpoints(&self, provider: &Provider) -> Result<Arc<Endpoints>> {
        if let Some(known) = provider.known_endpoints() {
            return Ok(known);
        }
        let failed = provider.last_failure.read().expect("lock").is_some_and(|at| at.elapsed() < RETRY_ON_DEMAND);
        if failed {
            return Err(UpstreamError::Unreachable("its discovery failed a moment ago".into()));
        }
        self.discover(provider).await
    }

    /// Fetches and checks the provider's discovery document.
    pub async fn discover(&self, provider: &Provider) -> Result<Arc<Endpoints>> {
        let issuer = provider.config.issuer();
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let found = match self.upstream.get_json::<Discovery>(&url, None).await {
            Ok(doc) => check_discovery(doc, &issuer),
            Err(e) => Err(e),
        };
        let endpoints = match found {
            Ok(endpoints) => Arc::new(endpoints),
            Err(e) => {
                *provider.last_failure.write().expect("lock") = Some(Instant::now());
                return Err(e);
            }
        };
        *provider.endpoints.write().expect("lock") = Some(endpoints.clone());
        Ok(endpoints)
    }

    /// Discovers every provider not discovered yet, again and again with growing pauses
    /// until all are; runs for the life of the process.
    pub async fn discover_in_background(self: Arc<Self>) {
        let mut pause = Duration::from_secs(15);
        loop {
            let mut missing = 0;
            for provider in &self.list {
                if provider.known_endpoints().is_some() {
                    continue;
                }
                if let Err(e) = self.discover(provider).await {
                    missing += 1;
                    tracing::warn!(provider = %provider.config.id, error = %e, "provider discovery failed; trying again later");
                } else {
                    tracing::info!(provider = %provider.config.id, "provider discovered");
                }
            }
            if missing == 0 {
                return;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(300));
        }
    }

    /// The provider's signing keys; fetched again when `refresh` asks (a token named a
    /// key the set lacks) and the last fetch is not too recent.
    pub async fn keys(&self, provider: &Provider, endpoints: &Endpoints, refresh: bool) -> Result<Arc<JwkSet>> {
        if let Some((set, fetched)) = provider.keys.read().expect("lock").as_ref() {
            if !refresh || fetched.elapsed() < KEYS_REFETCH {
                return Ok(set.clone());
            }
        }
        let Some(uri) = endpoints.jwks_uri.as_deref() else {
            return Err(UpstreamError::Refused("the provider publishes no keys".into()));
        };
        let set: JwkSet = self.upstream.get_json(uri, None).await?;
        let set = Arc::new(set);
        *provider.keys.write().expect("lock") = Some((set.clone(), Instant::now()));
        Ok(set)
    }
}

impl Provider {
    pub fn known_endpoints(&self) -> Option<Arc<Endpoints>> {
        self.endpoints.read().expect("lock").clone()
    }
}

fn check_discovery(doc: Discovery, issuer: &str) -> Result<Endpoints> {
    let refuse = |why: String| Err(UpstreamError::Refused(why));
    // OpenID Connect Discovery §4.3: the document's issuer is exactly the one asked about.
    if doc.issuer != issuer {
        return refuse(format!("the discovery document names issuer {:?}, not {issuer:?}", doc.issuer));
    }
    if !doc.response_types_supported.is_empty() && !doc.response_types_supported.iter().any(|t| t == "code") {
        return refuse("the provider does not offer the authorization code flow".into());
    }
    if let Some(methods) = &doc.code_challenge_methods_supported {
        if !methods.iter().any(|m| m == "S256") {
            return refuse("the provider does not offer PKCE with S256".into());
        }
    }
    let auth = match &doc.token_endpoint_auth_methods_supported {
        None => ClientAuth::Basic,
        Some(methods) if methods.iter().any(|m| m == "client_secret_basic") => ClientAuth::Basic,
        Some(methods) if methods.iter().any(|m| m == "client_secret_post") => ClientAuth::Post,
        Some(_) => return refuse("the provider offers neither client_secret_basic nor client_secret_post".into()),
    };
    for url in
        [&doc.authorization_endpoint, &doc.token_endpoint, &doc.jwks_uri].into_iter().chain(&doc.userinfo_endpoint)
    {
        if let Err(why) = crate::config::provider_url_problem(url) {
            return refuse(format!("endpoint {url:?} {why}"));
        }
    }
    Ok(Endpoints {
        authorization: doc.authorization_endpoint,
        token: doc.token_endpoint,
        userinfo: doc.userinfo_endpoint,
        jwks_uri: Some(doc.jwks_uri),
        auth,
        iss_parameter: doc.authorization_response_iss_parameter_supported,
        signing_algs: doc.id_token_signing_alg_values_supported,
    })
}

/// GitHub has no discovery: its endpoints follow from its web address.
fn github_endpoints(config: &ProviderConfig) -> Endpoints {
    let web = config.issuer();
    let web = web.trim_end_matches('/');
    Endpoints {
        authorization: format!("{web}/login/oauth/authorize"),
        token: format!("{web}/login/oauth/access_token"),
        userinfo: None,
        jwks_uri: None,
        auth: ClientAuth::Post,
        iss_parameter: false,
        signing_algs: Vec::new(),
    }
}
