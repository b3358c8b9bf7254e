//! One typed configuration: defaults < `latchkey.toml` < `LATCHKEY_*` environment
//! variables < command-line flags, validated once at start-up.
//!
//! `sections` holds the `[table]`s, `hashing` the `[password]` table with its policy,
//! `values` the value types (durations, IP blocks, origins), `secrets` the settings that
//! never go in the file, and `validate` the checks. This module depends on no other part
//! of latchkey: the others read their settings from it.

mod hashing;
#[cfg(test)]
mod reference;
mod secrets;
mod sections;
mod validate;
mod values;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Serialized};
use figment::Figment;
use serde::{Deserialize, Serialize};

pub use hashing::*;
pub use secrets::{mask_url_password, provider_secret_variable, Secret};
pub use sections::*;
pub use validate::provider_url_problem;
pub use values::*;

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
    "federation",
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
    pub federation: FederationConfig,
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
            federation: FederationConfig::default(),
        }
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
            Some(path) => figment = figment.merge(secrets::file_without_secrets(path)?),
            None if Path::new("latchkey.toml").exists() => {
                figment = figment.merge(secrets::file_without_secrets(Path::new("latchkey.toml"))?)
            }
            None => {}
        }
        let env = Env::prefixed("LATCHKEY_").split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            let top = key.split('.').next().unwrap_or_default();
            // The providers are an array, which variables cannot index: their secrets are
            // read by `load_provider_secrets`.
            TOP_LEVEL_KEYS.contains(&top) && !key.starts_with("federation.providers")
        });
        figment = figment.merge(env).merge(Serialized::defaults(overrides));
        let mut config: Config = figment.extract().map_err(|e| ConfigError::Invalid(describe_figment_error(e)))?;
        config.load_secret_files()?;
        config.load_provider_secrets(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
