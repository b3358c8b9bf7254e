//! One typed configuration: defaults < `latchkey.toml` < `LATCHKEY_*` environment
//! variables < command-line flags, validated once at start-up.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::Role;

/// Top-level keys that `LATCHKEY_<KEY>` variables may set. Other `LATCHKEY_*` variables
/// (a test harness's, say) belong to someone else and are left alone.
const TOP_LEVEL_KEYS: &[&str] = &[
    "listen",
    "public_url",
    "database_url",
    "redis_url",
    "database",
    "redis",
    "server",
    "cache",
    "trusted_proxies",
    "cors",
    "session",
    "tokens",
    "password",
    "throttle",
    "signup",
    "security",
    "tls",
    "keys",
    "audit",
    "metrics",
    "log",
    "smtp",
    "passkeys",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: String,
    pub public_url: String,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub server: ServerConfig,
    pub cache: CacheConfig,
    pub cors: CorsConfig,
    pub session: SessionConfig,
    pub tokens: TokensConfig,
    pub password: PasswordConfig,
    pub throttle: ThrottleConfig,
    pub signup: SignupConfig,
    pub security: SecurityConfig,
    pub passkeys: PasskeysConfig,
    pub tls: TlsConfig,
    pub keys: KeysConfig,
    pub audit: AuditConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub smtp: SmtpConfig,
}

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
pub struct PasswordConfig {
    pub algorithm: PasswordAlgorithm,
    /// Hashing threads; 0 means one per CPU core.
    pub hash_threads: usize,
    /// Hash jobs allowed to wait for a thread before requests are turned away with 503;
    /// 0 (the default) means what the threads hash within `server.request_timeout`.
    pub hash_queue: usize,
    /// argon2id's cost (OWASP's recommendation by default: 19 MiB, 2 passes, 1 lane).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_lanes: u32,
    /// bcrypt's cost (default 12).
    pub bcrypt_cost: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PasswordAlgorithm {
    Argon2id,
    Bcrypt,
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

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            database_url: "sqlite://latchkey.db".into(),
            redis_url: None,
            trusted_proxies: Vec::new(),
            database: DatabaseConfig::default(),
            redis: RedisConfig::default(),
            server: ServerConfig::default(),
            cache: CacheConfig::default(),
            cors: CorsConfig::default(),
            session: SessionConfig::default(),
            tokens: TokensConfig::default(),
            password: PasswordConfig::default(),
            throttle: ThrottleConfig::default(),
            signup: SignupConfig::default(),
            security: SecurityConfig::default(),
            passkeys: PasskeysConfig::default(),
            tls: TlsConfig::default(),
            keys: KeysConfig::default(),
            audit: AuditConfig::default(),
            metrics: MetricsConfig::default(),
            log: LogConfig::default(),
            smtp: SmtpConfig::default(),
        }
    }
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

impl DatabaseConfig {
    pub fn limits(&self) -> crate::store::Limits {
        crate::store::Limits {
            max_connections: self.max_connections,
            acquire_timeout: self.acquire_timeout.0,
            statement_timeout: self.statement_timeout.0,
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

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            algorithm: PasswordAlgorithm::Argon2id,
            hash_threads: 0,
            hash_queue: 0,
            argon2_memory_kib: crate::crypto::password::ARGON2_MEMORY_KIB,
            argon2_iterations: crate::crypto::password::ARGON2_ITERATIONS,
            argon2_lanes: crate::crypto::password::ARGON2_LANES,
            bcrypt_cost: crate::crypto::password::BCRYPT_COST,
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

/// Values given on the command line; they win over every other source.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Loads `file` (or `./latchkey.toml` when it exists), the environment and `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.exists() => return Err(ConfigError::MissingFile(path.into())),
            Some(path) => figment = figment.merge(file_without_secrets(path)?),
            None if Path::new("latchkey.toml").exists() => {
                figment = figment.merge(file_without_secrets(Path::new("latchkey.toml"))?)
            }
            None => {}
        }
        let env = Env::prefixed("LATCHKEY_").split("__").filter(|key| {
            let top = key.as_str().split('.').next().unwrap_or_default().to_ascii_lowercase();
            TOP_LEVEL_KEYS.contains(&top.as_str())
        });
        figment = figment.merge(env).merge(Serialized::defaults(overrides));
        let mut config: Config = figment.extract().map_err(|e| ConfigError::Invalid(describe_figment_error(e)))?;
        config.load_secret_file()?;
        config.validate()?;
        Ok(config)
    }

    fn load_secret_file(&mut self) -> Result<(), ConfigError> {
        if let Some(path) = &self.metrics.bearer_token_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError::Invalid(format!("metrics.bearer_token_file {}: {e}", path.display())))?;
            self.metrics.bearer_token = Some(Secret(text.trim().into()));
        }
        if let Some(path) = &self.tokens.hs256_secret_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError::Invalid(format!("tokens.hs256_secret_file {}: {e}", path.display())))?;
            self.tokens.hs256_secret = Some(Secret(text.trim_end_matches(['\r', '\n']).into()));
        }
        if let Some(path) = &self.smtp.password_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError::Invalid(format!("smtp.password_file {}: {e}", path.display())))?;
            self.smtp.password = Some(Secret(text.trim_end_matches(['\r', '\n']).into()));
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| Err(ConfigError::Invalid(msg));
        if self.listen.parse::<SocketAddr>().is_err() {
            return invalid(format!("listen: {:?} is not an address like 127.0.0.1:8080", self.listen));
        }
        if origin_of(&self.public_url).is_none() {
            return invalid(format!(
                "public_url: {:?} is not an http(s) URL like http://127.0.0.1:8080",
                self.public_url
            ));
        }
        if !self.database_url.starts_with("sqlite:") && !self.database_url.starts_with("postgres") {
            return invalid("database_url: must start with sqlite:// or postgres://".into());
        }
        if let Some(url) = &self.redis_url {
            if !url.starts_with("redis://") && !url.starts_with("unix://") {
                return invalid(format!(
                    "redis_url: {:?} must start with redis:// (TLS to Redis: use a local TLS tunnel)",
                    mask_url_password(url)
                ));
            }
        }
        if self.database.max_connections == 0
            || self.database.acquire_timeout.is_zero()
            || self.database.statement_timeout.is_zero()
        {
            return invalid("database.max_connections and the database timeouts must be greater than 0".into());
        }
        if self.cache.ttl.is_zero() {
            return invalid(
                "cache.ttl must be longer than 0s (set cache.enabled = false to turn the cache off)".into(),
            );
        }
        if self.redis.timeout.is_zero() {
            return invalid("redis.timeout must be longer than 0s".into());
        }
        if self.server.max_connections == 0
            || self.server.header_timeout.is_zero()
            || self.server.request_timeout.is_zero()
        {
            return invalid("server.max_connections and the server timeouts must be greater than 0".into());
        }
        for o in &self.cors.allowed_origins {
            if origin_of(o).as_deref() != Some(o.as_str()) {
                return invalid(format!(
                    "cors.allowed_origins: {o:?} is not an origin like https://app.example.com (scheme, host, optional port; no path or trailing slash)"
                ));
            }
        }
        for h in &self.cors.allowed_headers {
            if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return invalid(format!("cors.allowed_headers: {h:?} is not a header name"));
            }
        }
        let name = &self.session.cookie_name;
        if name.is_empty()
            || name.len() > 64
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return invalid(format!("session.cookie_name: {name:?} must be 1-64 letters, digits, '_' or '-'"));
        }
        if self.session.idle_timeout.is_zero() || self.session.absolute_timeout.is_zero() {
            return invalid("session timeouts must be longer than 0s".into());
        }
        if self.tokens.access_ttl.is_zero() || self.tokens.refresh_ttl.is_zero() {
            return invalid("tokens.access_ttl and tokens.refresh_ttl must be longer than 0s".into());
        }
        if self.tokens.audience.is_empty() {
            return invalid("tokens.audience must not be empty".into());
        }
        if self.security.step_up_window.is_zero() {
            return invalid("security.step_up_window must be longer than 0s".into());
        }
        let issuer = &self.security.totp_issuer;
        if issuer.is_empty() || issuer.len() > 64 || issuer.contains(':') || issuer.chars().any(char::is_control) {
            return invalid(format!("security.totp_issuer: {issuer:?} must be 1-64 characters without ':'"));
        }
        match (&self.tokens.algorithm, &self.tokens.hs256_secret) {
            (JwtAlgorithm::HS256, None) => {
                return invalid(
                    "tokens.algorithm = \"HS256\" needs LATCHKEY_TOKENS__HS256_SECRET or tokens.hs256_secret_file"
                        .into(),
                )
            }
            (JwtAlgorithm::HS256, Some(s)) if s.0.len() < 32 => {
                return invalid("tokens.hs256_secret must be at least 32 bytes".into())
            }
            _ => {}
        }
        if self.throttle.login_per_account == 0
            || self.throttle.login_per_ip == 0
            || self.throttle.signup_per_ip == 0
            || self.throttle.window.is_zero()
        {
            return invalid("throttle limits and window must be greater than 0".into());
        }
        if let Some(addr) = &self.metrics.listen {
            if addr.parse::<SocketAddr>().is_err() {
                return invalid(format!("metrics.listen: {addr:?} is not an address like 127.0.0.1:9100"));
            }
        }
        if self.metrics.bearer_token.as_ref().is_some_and(|t| t.0.len() < 16) {
            return invalid("metrics.bearer_token must be at least 16 characters".into());
        }
        if self.keys.encryption_key.is_some() && self.keys.encryption_key_file.is_some() {
            return invalid("give keys.encryption_key or keys.encryption_key_file, not both".into());
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return invalid("tls.cert and tls.key must be given together".into());
        }
        if self.throttle.email_per_account == 0 || self.throttle.email_per_ip == 0 {
            return invalid("throttle.email_per_account and throttle.email_per_ip must be greater than 0".into());
        }
        if let Err(e) = crate::service::mail::check_config(&self.smtp) {
            return invalid(e);
        }
        if let Err(e) = crate::crypto::password::HashPolicy::of(&self.password).check() {
            return invalid(e);
        }
        if self.signup.require_verified_email && self.smtp.url.is_none() {
            return invalid(
                "signup.require_verified_email needs smtp.url: without mail no address can be verified".into(),
            );
        }
        Ok(())
    }

    /// `scheme://host[:port]` of the public URL.
    pub fn public_origin(&self) -> String {
        origin_of(&self.public_url).unwrap_or_default()
    }

    pub fn is_https(&self) -> bool {
        self.public_url.to_ascii_lowercase().starts_with("https://")
    }

    /// The configuration as TOML with secrets masked, for `latchkey config check`.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = mask_url_password(&shown.database_url);
        shown.redis_url = shown.redis_url.as_deref().map(mask_url_password);
        shown.smtp.url = shown.smtp.url.as_deref().map(mask_url_password);
        toml_string(&shown)
    }

    /// Origins that are this server too: the public URL's origin and, when it names the
    /// loopback interface, the same scheme and port on the loopback's other names (a
    /// browser on `localhost` reaching a server published as `127.0.0.1`). Derived from
    /// `public_url` only, never from a request's `Host` header.
    pub fn own_origins(&self) -> BTreeSet<String> {
        let origin = self.public_origin();
        let mut own = BTreeSet::from([origin.clone()]);
        let Some((scheme, authority)) = origin.split_once("://") else { return own };
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => v6
                .split_once(']')
                .map_or((authority, ""), |(_, port)| (&authority[..authority.len() - port.len()], port)),
            None => authority.find(':').map_or((authority, ""), |i| authority.split_at(i)),
        };
        const LOOPBACK: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];
        if LOOPBACK.contains(&host) {
            for alias in LOOPBACK {
                own.insert(format!("{scheme}://{alias}{port}"));
            }
        }
        own
    }

    /// The origins allowed to make credentialed cross-origin calls.
    pub fn allowed_origins(&self) -> BTreeSet<String> {
        self.cors.allowed_origins.iter().cloned().collect()
    }
}

/// The TOML file as a provider, refusing a secret written into it: secrets come from
/// the environment or a file of their own, so the configuration can be shared.
fn file_without_secrets(path: &Path) -> Result<figment::providers::Data<Toml>, ConfigError> {
    let file = Figment::from(Toml::file_exact(path));
    for (key, env, key_file) in [
        ("tokens.hs256_secret", "LATCHKEY_TOKENS__HS256_SECRET", "tokens.hs256_secret_file"),
        ("keys.encryption_key", "LATCHKEY_KEYS__ENCRYPTION_KEY", "keys.encryption_key_file"),
        ("metrics.bearer_token", "LATCHKEY_METRICS__BEARER_TOKEN", "metrics.bearer_token_file"),
    ] {
        if file.find_value(key).is_ok() {
            return Err(ConfigError::Invalid(format!(
                "{key} may not be written in the configuration file: set {env} or {key_file}"
            )));
        }
    }
    if Figment::from(Toml::file_exact(path)).find_value("smtp.password").is_ok() {
        return Err(ConfigError::Invalid(
            "smtp.password may not be written in the configuration file: set LATCHKEY_SMTP__PASSWORD or smtp.password_file".into(),
        ));
    }
    Ok(Toml::file_exact(path))
}

fn toml_string(config: &Config) -> String {
    // figment's serializer is not a TOML writer; serde_json → toml-like is enough here
    // because every value is a string, number, bool or list of them.
    let value = serde_json::to_value(config).unwrap_or_default();
    let mut out = String::new();
    let mut tables = String::new();
    if let serde_json::Value::Object(map) = value {
        for (key, v) in map {
            match v {
                serde_json::Value::Object(inner) => {
                    tables.push_str(&format!("\n[{key}]\n"));
                    for (k, v) in inner {
                        if !v.is_null() {
                            tables.push_str(&format!("{k} = {v}\n"));
                        }
                    }
                }
                serde_json::Value::Null => out.push_str(&format!("# {key} unset\n")),
                v => out.push_str(&format!("{key} = {v}\n")),
            }
        }
    }
    out + &tables
}

pub fn mask_url_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:****{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn describe_figment_error(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let path = e.path.join(".");
            let kind = e.kind.to_string();
            if path.is_empty() {
                kind
            } else {
                format!("{path}: {kind}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `scheme://host[:port]`, lower-cased, of an http(s) URL; `None` for anything else.
pub fn origin_of(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') || authority.contains(char::is_whitespace) {
        return None;
    }
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(authority);
    Some(format!("{scheme}://{authority}"))
}

/// A duration written as `"30s"`, `"15m"`, `"7d"` (units ms, s, m, h, d).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl Dur {
    pub const fn from_secs(secs: u64) -> Dur {
        Dur(Duration::from_secs(secs))
    }
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
    pub fn secs(&self) -> i64 {
        i64::try_from(self.0.as_secs()).unwrap_or(i64::MAX)
    }
}

impl fmt::Debug for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        let (value, unit) = if !ms.is_multiple_of(1000) {
            (ms, "ms")
        } else {
            let s = ms / 1000;
            match s {
                0 => (0, "s"),
                s if s.is_multiple_of(86_400) => (s / 86_400, "d"),
                s if s.is_multiple_of(3600) => (s / 3600, "h"),
                s if s.is_multiple_of(60) => (s / 60, "m"),
                s => (s, "s"),
            }
        };
        write!(f, "{value}{unit}")
    }
}

impl FromStr for Dur {
    type Err = String;
    fn from_str(s: &str) -> Result<Dur, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(split);
        let n: u64 = digits.parse().map_err(|_| format!("{s:?} is not a duration like \"30s\", \"15m\" or \"7d\""))?;
        let millis = match unit {
            "ms" => Some(n),
            "s" => n.checked_mul(1000),
            "m" => n.checked_mul(60_000),
            "h" => n.checked_mul(3_600_000),
            "d" => n.checked_mul(86_400_000),
            _ => return Err(format!("{s:?} is not a duration like \"30s\", \"15m\" or \"7d\"")),
        };
        millis
            .filter(|&ms| ms <= 10 * 365 * 86_400_000)
            .map(|ms| Dur(Duration::from_millis(ms)))
            .ok_or_else(|| format!("{s:?} is longer than ten years"))
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A secret that never shows in `Debug` output or `config check`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"****\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("****")
    }
}

/// An IP address or CIDR block, for `trusted_proxies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) compare as the IPv4 address they carry.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl FromStr for IpNet {
    type Err = String;
    fn from_str(s: &str) -> Result<IpNet, String> {
        let bad = || format!("{s:?} is not an IP address or CIDR block");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let addr = canonical(addr.parse::<IpAddr>().map_err(|_| bad())?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(IpNet { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for IpNet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpNet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IpNet, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// Role names a config or CLI may mention are checked with the same rule as the API's.
pub fn parse_roles(names: &[String]) -> Result<Vec<Role>, String> {
    names.iter().map(|n| Role::parse(n).map_err(|e| format!("role {n:?}: {e}"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_in_their_units() {
        assert_eq!("30s".parse::<Dur>().unwrap(), Dur::from_secs(30));
        assert_eq!("15m".parse::<Dur>().unwrap(), Dur::from_secs(900));
        assert_eq!("7d".parse::<Dur>().unwrap(), Dur::from_secs(7 * 86_400));
        assert_eq!("250ms".parse::<Dur>().unwrap(), Dur(Duration::from_millis(250)));
        assert_eq!(Dur::from_secs(900).to_string(), "15m");
        assert_eq!(Dur::from_secs(86_400 * 30).to_string(), "30d");
        for bad in ["", "15", "m", "1w", "-1s", "1.5h", "99999999999999d"] {
            assert!(bad.parse::<Dur>().is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_are_normalised() {
        assert_eq!(origin_of("http://127.0.0.1:8080/x").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of("HTTPS://App.Example.com:443").as_deref(), Some("https://app.example.com"));
        assert_eq!(origin_of("ftp://x"), None);
        assert_eq!(origin_of("http://"), None);
    }

    #[test]
    fn loopback_public_urls_own_their_aliases_and_others_only_themselves() {
        let mut config = Config::default();
        let own = config.own_origins();
        assert!(own.contains("http://127.0.0.1:8080") && own.contains("http://localhost:8080"), "{own:?}");
        assert!(own.contains("http://[::1]:8080") && !own.contains("http://localhost:8081"), "{own:?}");
        config.public_url = "https://auth.example.com/".into();
        assert_eq!(config.own_origins(), BTreeSet::from(["https://auth.example.com".to_string()]));
        config.public_url = "http://localhost".into();
        assert!(config.own_origins().contains("http://127.0.0.1"));
    }

    #[test]
    fn cidr_blocks_match_their_addresses() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let one: IpNet = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
    }

    #[test]
    fn defaults_are_valid_and_secrets_are_masked() {
        let mut config = Config::default();
        config.validate().unwrap();
        config.database_url = "postgres://app:hunter2@db/latchkey".into();
        config.tokens.hs256_secret = Some(Secret("x".repeat(40)));
        let shown = config.to_masked_toml();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains(&"x".repeat(40)), "{shown}");
        assert!(shown.contains("[session]"), "{shown}");
    }

    #[test]
    fn hs256_needs_a_long_secret() {
        let mut config = Config::default();
        config.tokens.algorithm = JwtAlgorithm::HS256;
        assert!(config.validate().is_err());
        config.tokens.hs256_secret = Some(Secret("short".into()));
        assert!(config.validate().is_err());
        config.tokens.hs256_secret = Some(Secret("k".repeat(32)));
        config.validate().unwrap();
    }
}
