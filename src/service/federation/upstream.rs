//! Requests to providers: only to URLs the configuration names or the provider's own
//! discovery document gives (https, or http on loopback), no redirects followed (a
//! redirect is an answer, not a new address to fetch), a timeout on each, and bodies
//! read only up to a size cap.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::de::DeserializeOwned;

use crate::config::provider_url_problem;

/// Largest answer read from a provider (discovery documents and key sets are a few KiB).
const MAX_BODY_BYTES: usize = 256 * 1024;

/// Why a request to a provider got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// It could not be reached in time (refused, timed out, reset): try again later.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// It answered, but not with what was asked for.
    #[error("{0}")]
    Refused(String),
}

pub type Result<T> = std::result::Result<T, UpstreamError>;

/// How latchkey authenticates to a provider's token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with the form-encoded id and secret (RFC 6749 §2.3.1).
    Basic,
    /// `client_id` and `client_secret` in the form.
    Post,
}

impl ClientAuth {
    /// Its name in discovery documents (`token_endpoint_auth_methods_supported`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::Basic => "client_secret_basic",
            ClientAuth::Post => "client_secret_post",
        }
    }
}

#[derive(Clone)]
pub struct Upstream {
    http: reqwest::Client,
}

impl Upstream {
    pub fn new(timeout: Duration) -> anyhow::Result<Upstream> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Upstream { http })
    }

    pub async fn get_json<T: DeserializeOwned>(&self, url: &str, bearer: Option<&str>) -> Result<T> {
        allowed(url)?;
        let mut request = self.http.get(url).header(ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        parse(request.send().await).await
    }

    /// POSTs a form to a token endpoint, authenticating as `client_id`.
    pub async fn post_form<T: DeserializeOwned>(
        &self,
        url: &str,
        form: &[(&str, &str)],
        client: (&str, &str),
        auth: ClientAuth,
    ) -> Result<T> {
        allowed(url)?;
        let (id, secret) = client;
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        let mut request = self.http.post(url).header(ACCEPT, "application/json");
        match auth {
            ClientAuth::Basic => {
                let pair = format!("{}:{}", form_encode(id), form_encode(secret));
                request = request.header(AUTHORIZATION, format!("Basic {}", STANDARD.encode(pair)));
            }
            ClientAuth::Post => {
                fields.push(("client_id", id));
                fields.push(("client_secret", secret));
            }
        }
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body);
        parse(request.send().await).await
    }
}

fn allowed(url: &str) -> Result<()> {
    provider_url_problem(url).map_err(|why| UpstreamError::Refused(format!("{url}: {why}")))
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn parse<T: DeserializeOwned>(sent: reqwest::Result<reqwest::Response>) -> Result<T> {
    let mut response = sent.map_err(|e| UpstreamError::Unreachable(without_url(e).to_string()))?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) =
        response.chunk().await.map_err(|e| UpstreamError::Unreachable(without_url(e).to_string()))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(UpstreamError::Refused(format!("answer larger than {MAX_BODY_BYTES} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    if status.is_server_error() {
        return Err(UpstreamError::Unreachable(format!("HTTP {status}")));
    }
    if !status.is_success() {
        // An OAuth error answer names its error; nothing else of it is worth keeping.
        let error = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(|e| e.chars().take(64).collect::<String>()));
        return Err(UpstreamError::Refused(format!("HTTP {status} {}", error.unwrap_or_default())));
    }
    serde_json::from_slice(&body).map_err(|e| UpstreamError::Refused(format!("unexpected answer: {e}")))
}

/// Request URLs may carry codes or tokens: errors are logged without them.
fn without_url(e: reqwest::Error) -> reqwest::Error {
    e.without_url()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        assert_eq!(form_encode("a b:c/é"), "a+b%3Ac%2F%C3%A9");
    }
}
