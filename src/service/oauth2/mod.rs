//! latchkey as an OpenID Provider (README "Log your other apps in with latchkey"):
//! other apps send their users here to log in, and get an authorization code, then ID,
//! access and refresh tokens. A login here is a normal latchkey login (the web app's,
//! second factor and passkeys included); the user's consent is asked once per app and
//! set of scopes. Every piece of state lives in the database, so any instance finishes
//! what another began.
//!
//! `clients` the registered apps; `authorize` the browser's part (requests, consent,
//! codes); `grants` the token endpoint; `tokens` what is signed; `consents` what users
//! allowed; `logout` RP-initiated logout.

pub mod authorize;
pub mod clients;
pub mod consents;
pub mod grants;
pub mod logout;
pub mod tokens;

use crate::error::AppError;
use crate::store::StoreError;

/// How long an authorization code lives.
pub const CODE_SECS: i64 = 60;
/// How long an authorization request waits for its login and consent.
pub const REQUEST_SECS: i64 = 600;

/// The scopes latchkey knows, in the order the consent page lists them.
pub const SCOPES: [&str; 5] = ["openid", "email", "profile", "roles", "offline_access"];

/// An answer of the OAuth 2.0 endpoints (RFC 6749 §5.2, RFC 6750 §3): a status, an
/// `error` code, a description; or an internal failure.
#[derive(Debug)]
pub enum OAuthError {
    Protocol { status: u16, error: &'static str, description: String },
    Internal(AppError),
}

impl OAuthError {
    pub fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::protocol(400, "invalid_request", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> OAuthError {
        OAuthError::protocol(400, "invalid_grant", description)
    }

    pub fn invalid_client() -> OAuthError {
        OAuthError::protocol(401, "invalid_client", "The client could not be authenticated")
    }

    pub fn invalid_token() -> OAuthError {
        OAuthError::protocol(401, "invalid_token", "The access token is not valid")
    }

    pub fn protocol(status: u16, error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError::Protocol { status, error, description: description.into() }
    }
}

impl From<AppError> for OAuthError {
    fn from(e: AppError) -> Self {
        OAuthError::Internal(e)
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        OAuthError::Internal(e.into())
    }
}

impl From<anyhow::Error> for OAuthError {
    fn from(e: anyhow::Error) -> Self {
        OAuthError::Internal(AppError::Internal(e))
    }
}

/// A space-separated scope parameter as a list, each scope once, in the order given.
pub fn scope_list(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// The scopes as one parameter, in [`SCOPES`] order.
pub fn scope_text(scopes: &[String]) -> String {
    let mut sorted: Vec<&String> = scopes.iter().collect();
    sorted.sort_by_key(|s| SCOPES.iter().position(|k| k == s).unwrap_or(SCOPES.len()));
    sorted.into_iter().map(String::as_str).collect::<Vec<_>>().join(" ")
}

pub fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split(' ').any(|s| s == wanted)
}

/// OpenID Connect Discovery 1.0 and RFC 8414 metadata: the issuer is `public_url`.
pub fn discovery(config: &crate::config::Config) -> serde_json::Value {
    let iss = config.public_url.trim_end_matches('/');
    serde_json::json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth2/authorize"),
        "token_endpoint": format!("{iss}/oauth2/token"),
        "userinfo_endpoint": format!("{iss}/oauth2/userinfo"),
        "revocation_endpoint": format!("{iss}/oauth2/revoke"),
        "introspection_endpoint": format!("{iss}/oauth2/introspect"),
        "end_session_endpoint": format!("{iss}/oauth2/logout"),
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": SCOPES,
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp", "at_hash", "sid",
            "email", "email_verified", "preferred_username", "roles"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "EdDSA"],
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    })
}
