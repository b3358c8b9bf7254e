//! The checks a loaded configuration must pass before latchkey starts, each failing with
//! a message that names the setting.

use std::net::SocketAddr;

use super::secrets::mask_url_password;
use super::{origin_of, Config, ConfigError, HashPolicy, JwtAlgorithm, ProviderKind};

impl Config {
    /// Every check that needs the configuration alone; the mail settings are checked by
    /// `service::mail::check_config`, which knows the mail transports and templates.
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
        if let Err(e) = HashPolicy::of(&self.password).check() {
            return invalid(e);
        }
        if self.signup.require_verified_email && self.smtp.url.is_none() {
            return invalid(
                "signup.require_verified_email needs smtp.url: without mail no address can be verified".into(),
            );
        }
        self.validate_federation()?;
        Ok(())
    }
}

impl Config {
    fn validate_federation(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::BTreeSet::new();
        if !self.federation.providers.is_empty() && self.federation.timeout.is_zero() {
            return Err(ConfigError::Invalid("federation.timeout must be greater than 0".into()));
        }
        for (index, p) in self.federation.providers.iter().enumerate() {
            let invalid =
                |msg: &str| Err(ConfigError::Invalid(format!("federation.providers[{index}] ({}): {msg}", p.id)));
            let id_ok = !p.id.is_empty()
                && p.id.len() <= 32
                && p.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !id_ok {
                return invalid("id must be 1 to 32 of a-z, 0-9 and -");
            }
            if !seen.insert(p.id.as_str()) {
                return invalid("id is used by another provider");
            }
            if p.label.trim().is_empty() || p.client_id.trim().is_empty() {
                return invalid("label and client_id are required");
            }
            if p.client_secret.as_ref().is_none_or(|s| s.0.is_empty()) {
                return invalid(&format!(
                    "no client secret: set {} or client_secret_file",
                    super::provider_secret_variable(index)
                ));
            }
            if p.kind == ProviderKind::Oidc && p.issuer.is_empty() {
                return invalid("issuer is required (discovery is at {issuer}/.well-known/openid-configuration)");
            }
            let mut urls = vec![("issuer", p.issuer())];
            if p.kind == ProviderKind::Github {
                urls.push(("api_url", p.api_url()));
            } else if p.api_url.is_some() {
                return invalid("api_url is for kind = \"github\" only");
            }
            for (name, url) in urls {
                if let Err(why) = provider_url_problem(&url) {
                    return invalid(&format!("{name} {url:?}: {why}"));
                }
            }
        }
        Ok(())
    }
}

/// Why a provider's URL may not be used: https only (http on this machine's loopback,
/// for a provider beside latchkey), no credentials, query or fragment.
pub fn provider_url_problem(url: &str) -> Result<(), &'static str> {
    let Some(origin) = origin_of(url) else { return Err("is not an http(s) URL") };
    if url.contains(['?', '#']) {
        return Err("may not have a query or a fragment");
    }
    if origin.starts_with("http://") {
        let host = origin.trim_start_matches("http://");
        let host =
            host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h);
        if !["127.0.0.1", "localhost", "[::1]"].contains(&host) {
            return Err("must be https (http only on 127.0.0.1, localhost or [::1])");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

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
