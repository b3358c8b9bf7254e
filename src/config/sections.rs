//! The `[table]`s of `latchkey.toml`, each with its defaults (DESIGN.md "Configuration").
//! `[password]` lives in `hashing.rs`, beside the policy it makes.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::secrets::Secret;
use super::values::Dur;

/// How latchkey uses its database connections.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// PostgreSQL pool size per instance (SQLite: one writer and a reader per core).
    pub max_connections: u32,
    /// Longest wait for a free connection before a request answers 503.
    pub acquire_timeout: Dur,
    /// Longest a statement may run (PostgreSQL `statement_timeout` and `lock_timeout`).
    pub statement_timeout: Dur,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// Put before every key and channel name, so deployments can share a Redis.
    pub key_prefix: String,
    /// Longest wait for any Redis command; past it, the database takes over.
    pub timeout: Dur,
}

/// The in-process auth cache (sessions, verified access tokens, users), kept only
/// while the revocation feed is up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    pub enabled: bool,
    /// Longest an entry lives, even if a revocation message were lost.
    pub ttl: Dur,
    /// Entries kept at most, per kind.
    pub sessions: u64,
    pub tokens: u64,
    pub users: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig { enabled: true, ttl: Dur::from_secs(30), sessions: 100_000, tokens: 100_000, users: 100_000 }
    }
}

/// The HTTP server's own limits against slow and abusive clients.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Connections held at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// A client must send a request's headers within this time (slowloris).
    pub header_timeout: Dur,
    /// A request (body included) must be answered within this time, else 503.
    pub request_timeout: Dur,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    pub allowed_origins: Vec<String>,
    pub allowed_headers: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    pub cookie_name: String,
    pub same_site: SameSite,
    pub idle_timeout: Dur,
    pub absolute_timeout: Dur,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SameSite {
    Lax,
    Strict,
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {
    pub algorithm: JwtAlgorithm,
    pub access_ttl: Dur,
    pub refresh_ttl: Dur,
    pub audience: String,
    pub refresh_reuse_grace: Dur,
    /// Only from the environment (`LATCHKEY_TOKENS__HS256_SECRET`) or `hs256_secret_file`.
    pub hs256_secret: Option<Secret>,
    pub hs256_secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JwtAlgorithm {
    EdDSA,
    HS256,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    pub login_per_account: u32,
    pub login_per_ip: u32,
    pub signup_per_ip: u32,
    pub window: Dur,
    /// Verification and reset mails per account, and requests for them per address,
    /// in any hour.
    pub email_per_account: u32,
    pub email_per_ip: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignupConfig {
    pub enabled: bool,
    /// Accounts that have an email address log in only once it is verified.
    pub require_verified_email: bool,
}

/// The mail server that sends verification, reset and notice mails. Without `url`,
/// latchkey sends no mail and the email endpoints answer 503 `email_unavailable`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// `smtp://host:port` (plain), `smtp://host:587?tls=required` (STARTTLS) or
    /// `smtps://user@host:465` (TLS from the start).
    pub url: Option<String>,
    /// The sender, `Name <address>` or a bare address.
    pub from: Option<String>,
    pub reply_to: Option<String>,
    /// Only from the environment (`LATCHKEY_SMTP__PASSWORD`) or `password_file`.
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    /// Overrides for the built-in templates (`<name>.subject`, `<name>.txt`, `<name>.html`).
    pub templates_dir: Option<PathBuf>,
    /// Longest one delivery may take, connection included.
    pub timeout: Dur,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            url: None,
            from: None,
            reply_to: None,
            password: None,
            password_file: None,
            templates_dir: None,
            timeout: Dur::from_secs(10),
        }
    }
}

/// Second factors and recent-authentication checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// How recent an authentication must be for a sensitive change (password, email,
    /// second factors).
    pub step_up_window: Dur,
    /// The issuer authenticator apps show beside the account name.
    pub totp_issuer: String,
}

/// Passkeys (WebAuthn). The relying party is derived from `public_url`: its host is the
/// RP id (`localhost` for a loopback address) and its origin the one allowed origin.
/// Browsers refuse passkeys on IP addresses, so a `public_url` on another IP needs `rp_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasskeysConfig {
    pub enabled: bool,
    /// The domain passkeys are bound to; it can never change without losing them.
    pub rp_id: Option<String>,
    /// The name authenticators show.
    pub rp_name: String,
    /// Origins allowed to use them (`https://app.example.com`); default: `public_url`'s.
    pub origins: Vec<String>,
}

impl Default for PasskeysConfig {
    fn default() -> Self {
        PasskeysConfig { enabled: true, rp_id: None, rp_name: "latchkey".into(), origins: Vec::new() }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// How long audit events are kept; older ones are deleted in the background.
/// `"0s"` keeps them forever.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    pub retention: Dur,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig { retention: Dur::from_secs(180 * 86_400) }
    }
}

/// Who may read `/metrics`: anyone who reaches the main listener (the default), only
/// holders of a bearer secret, and/or only clients of a separate listen address.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics` on this address only (e.g. "127.0.0.1:9100"), not on `listen`.
    pub listen: Option<String>,
    pub bearer_token: Option<Secret>,
    pub bearer_token_file: Option<PathBuf>,
}

/// The key that seals the JWT private keys in the database (32 bytes, base64): given
/// directly (`LATCHKEY_KEYS__ENCRYPTION_KEY`) or in a file. Without either, an SQLite
/// deployment keeps one in `<database file>.key`, made on first start; a PostgreSQL one
/// stores the keys unsealed and warns.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    pub encryption_key: Option<Secret>,
    pub encryption_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            max_connections: 16,
            acquire_timeout: Dur::from_secs(5),
            statement_timeout: Dur::from_secs(10),
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig { key_prefix: "latchkey:".into(), timeout: Dur(Duration::from_millis(250)) }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: 10_000,
            header_timeout: Dur::from_secs(10),
            request_timeout: Dur::from_secs(30),
        }
    }
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            allowed_origins: Vec::new(),
            allowed_headers: ["content-type", "authorization", "x-requested-with", "x-request-id"]
                .map(String::from)
                .to_vec(),
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            cookie_name: "latchkey_session".into(),
            same_site: SameSite::Lax,
            idle_timeout: Dur::from_secs(7 * 86_400),
            absolute_timeout: Dur::from_secs(30 * 86_400),
        }
    }
}

impl Default for TokensConfig {
    fn default() -> Self {
        TokensConfig {
            algorithm: JwtAlgorithm::EdDSA,
            access_ttl: Dur::from_secs(15 * 60),
            refresh_ttl: Dur::from_secs(30 * 86_400),
            audience: "latchkey".into(),
            refresh_reuse_grace: Dur::from_secs(10),
            hs256_secret: None,
            hs256_secret_file: None,
        }
    }
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            login_per_account: 10,
            login_per_ip: 100,
            signup_per_ip: 20,
            window: Dur::from_secs(15 * 60),
            email_per_account: 5,
            email_per_ip: 20,
        }
    }
}

impl Default for SignupConfig {
    fn default() -> Self {
        SignupConfig { enabled: true, require_verified_email: false }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig { step_up_window: Dur::from_secs(5 * 60), totp_issuer: "latchkey".into() }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: LogFormat::Pretty }
    }
}

/// Logging in with an account elsewhere (OpenID Connect providers, GitHub).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FederationConfig {
    /// Whether a first login through a provider makes an account; default: whether
    /// signup is open.
    pub auto_register: Option<bool>,
    /// Whether a provider login may join the local account with the same email address.
    /// Only with a provider that has `trust_email_verified`, an address that provider says
    /// it verified, and a local address verified too.
    pub link_existing_by_email: bool,
    /// Longest one request to a provider may take.
    pub timeout: Dur,
    pub providers: Vec<ProviderConfig>,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            auto_register: None,
            link_existing_by_email: false,
            timeout: Dur::from_secs(10),
            providers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenID Connect, configured by discovery at `{issuer}/.well-known/openid-configuration`.
    #[default]
    Oidc,
    /// GitHub's OAuth 2.0 (no OpenID Connect): the identity is the numeric user id.
    Github,
}

/// One provider people may log in with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// `[a-z0-9-]+`: names the provider in URLs (`/api/federation/{id}/start`).
    pub id: String,
    #[serde(default)]
    pub kind: ProviderKind,
    /// The button's text ("Continue with {label}").
    pub label: String,
    /// OpenID Connect: the issuer, exactly as its ID tokens name it. GitHub: its web
    /// address (default `https://github.com`; GitHub Enterprise: the server's).
    #[serde(default)]
    pub issuer: String,
    /// GitHub only: its REST API (default `https://api.github.com`; GitHub Enterprise:
    /// `https://HOST/api/v3`).
    #[serde(default)]
    pub api_url: Option<String>,
    pub client_id: String,
    /// Only from the environment (`LATCHKEY_FEDERATION__PROVIDERS__<N>__CLIENT_SECRET`,
    /// N counting from 0 in the file's order) or `client_secret_file`.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// Default: `openid email profile` (OpenID Connect), `read:user user:email` (GitHub).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Whether an address this provider calls verified counts as verified here.
    #[serde(default)]
    pub trust_email_verified: bool,
    /// Whether a second factor the provider reports (`amr`) stands in for the account's
    /// own second step.
    #[serde(default)]
    pub trust_upstream_mfa: bool,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            id: String::new(),
            kind: ProviderKind::Oidc,
            label: String::new(),
            issuer: String::new(),
            api_url: None,
            client_id: String::new(),
            client_secret: None,
            client_secret_file: None,
            scopes: Vec::new(),
            trust_email_verified: false,
            trust_upstream_mfa: false,
        }
    }
}

impl ProviderConfig {
    /// The scopes asked for: the configured ones or the kind's default.
    pub fn scopes(&self) -> Vec<String> {
        if !self.scopes.is_empty() {
            return self.scopes.clone();
        }
        let default: &[&str] = match self.kind {
            ProviderKind::Oidc => &["openid", "email", "profile"],
            ProviderKind::Github => &["read:user", "user:email"],
        };
        default.iter().map(|s| s.to_string()).collect()
    }

    /// The issuer exactly as configured (ID tokens must name it so), with GitHub's
    /// default filled in.
    pub fn issuer(&self) -> String {
        match (self.kind, self.issuer.is_empty()) {
            (ProviderKind::Github, true) => "https://github.com".into(),
            _ => self.issuer.clone(),
        }
    }

    /// GitHub's API base, without a trailing `/`.
    pub fn api_url(&self) -> String {
        self.api_url.as_deref().unwrap_or("https://api.github.com").trim_end_matches('/').into()
    }
}

impl FederationConfig {
    /// Whether a first provider login makes an account.
    pub fn registers(&self, signup: &SignupConfig) -> bool {
        self.auto_register.unwrap_or(signup.enabled)
    }

    pub fn provider(&self, id: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.id == id)
    }
}
