//! The session cookie (API.md "Cookie sessions"): HttpOnly, Path=/, SameSite from the
//! configuration, Secure under https (and with SameSite=None), `__Host-` prefixed when
//! Secure, Max-Age = the absolute session lifetime.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::config::{Config, SameSite};

pub struct SessionCookie {
    name: String,
    attributes: String,
    max_age: i64,
}

impl SessionCookie {
    pub fn new(config: &Config) -> SessionCookie {
        SessionCookie::named(
            config,
            &config.session.cookie_name,
            config.session.absolute_timeout.secs(),
            config.session.same_site,
        )
    }

    /// The cookie that binds a login challenge to the browser that got it: same
    /// attributes, its own name, and the challenge's lifetime.
    pub fn challenge(config: &Config) -> SessionCookie {
        let name = format!("{}_challenge", config.session.cookie_name);
        SessionCookie::named(config, &name, crate::service::factors::CHALLENGE_SECS, config.session.same_site)
    }

    /// The cookie that binds a round trip to a provider to the browser that began it:
    /// `SameSite=Lax` whatever the session's, since the provider's redirect back is a
    /// cross-site navigation that must carry it.
    pub fn federation(config: &Config) -> SessionCookie {
        let name = format!("{}_federation", config.session.cookie_name);
        let same_site = match config.session.same_site {
            SameSite::None => SameSite::None,
            _ => SameSite::Lax,
        };
        SessionCookie::named(config, &name, crate::service::federation::FLOW_SECS, same_site)
    }

    fn named(config: &Config, base: &str, max_age: i64, same_site: SameSite) -> SessionCookie {
        let secure = config.is_https() || same_site == SameSite::None;
        let name = if secure { format!("__Host-{base}") } else { base.to_string() };
        let same_site = match same_site {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
            SameSite::None => "None",
        };
        let secure = if secure { "; Secure" } else { "" };
        SessionCookie { name, attributes: format!("Path=/; HttpOnly; SameSite={same_site}{secure}"), max_age }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn set(&self, token: &str) -> HeaderValue {
        self.header(token, self.max_age)
    }

    /// Tells the browser to drop the cookie at once.
    pub fn clear(&self) -> HeaderValue {
        self.header("", 0)
    }

    fn header(&self, value: &str, max_age: i64) -> HeaderValue {
        let text = format!("{}={value}; Max-Age={max_age}; {}", self.name, self.attributes);
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The session token a request carries, if any. With several cookies of our name (a
    /// sibling subdomain may plant one), the first that looks like a token wins.
    pub fn read<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == self.name)
            .map(|(_, value)| value.trim_matches('"'))
            .find(|value| !value.is_empty())
    }
}

/// `response` with a `Set-Cookie` header for each of `cookies`.
pub fn with_cookies(response: impl IntoResponse, cookies: impl IntoIterator<Item = HeaderValue>) -> Response {
    let mut response = response.into_response();
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_follow_the_public_url_and_same_site() {
        let mut config = Config::default();
        let c = SessionCookie::new(&config);
        assert_eq!(
            c.set("tok").to_str().unwrap(),
            "latchkey_session=tok; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax"
        );
        assert_eq!(c.clear().to_str().unwrap(), "latchkey_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax");

        config.public_url = "https://auth.example.com".into();
        let c = SessionCookie::new(&config);
        assert!(c.set("tok").to_str().unwrap().starts_with("__Host-latchkey_session=tok;"));
        assert!(c.set("tok").to_str().unwrap().ends_with("; Secure"));

        config.public_url = "http://127.0.0.1:8080".into();
        config.session.same_site = SameSite::None;
        assert!(SessionCookie::new(&config).set("t").to_str().unwrap().ends_with("SameSite=None; Secure"));
    }

    #[test]
    fn reads_its_own_cookie_among_others() {
        let c = SessionCookie::new(&Config::default());
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "theme=dark; latchkey_session=abc; x=y".parse().unwrap());
        assert_eq!(c.read(&headers), Some("abc"));
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "latchkey_session=; other=1".parse().unwrap());
        headers.append(header::COOKIE, "latchkey_session=second".parse().unwrap());
        assert_eq!(c.read(&headers), Some("second"));
        assert_eq!(c.read(&HeaderMap::new()), None);
    }

    #[test]
    fn with_cookies_sets_one_header_per_cookie() {
        let c = SessionCookie::new(&Config::default());
        let response = with_cookies(axum::http::StatusCode::NO_CONTENT, [c.set("tok"), c.clear()]);
        let set: Vec<HeaderValue> = response.headers().get_all(header::SET_COOKIE).iter().cloned().collect();
        assert_eq!(set, [c.set("tok"), c.clear()]);
    }
}
