//! Requests to providers: only to URLs the configuration names or the provider's own
//! discovery document gives (https with Mozilla's roots, or http on loopback), no
//! redirects followed (a redirect is an answer, not a new address to fetch), a timeout on
//! each, and bodies read only up to a size cap. One HTTP/1.1 connection per request: a
//! login makes a handful of them, so a pool would hold sockets for nothing.

use std::sync::Arc;
use std::time::Duration;

use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use axum::http::{Method, Request, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use url::{Host, Position, Url};

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
    tls: TlsConnector,
    timeout: Duration,
    connect_timeout: Duration,
}

impl Upstream {
    pub fn new(timeout: Duration) -> anyhow::Result<Upstream> {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let mut config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Upstream {
            tls: TlsConnector::from(Arc::new(config)),
            timeout,
            connect_timeout: timeout.min(Duration::from_secs(5)),
        })
    }

    pub async fn get_json<T: DeserializeOwned>(&self, url: &str, bearer: Option<&str>) -> Result<T> {
        let url = allowed(url)?;
        let mut request = Request::builder().method(Method::GET).header(ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(&url, request, Bytes::new()).await
    }

    /// POSTs a form to a token endpoint, authenticating as `client_id`.
    pub async fn post_form<T: DeserializeOwned>(
        &self,
        url: &str,
        form: &[(&str, &str)],
        client: (&str, &str),
        auth: ClientAuth,
    ) -> Result<T> {
        let url = allowed(url)?;
        let (id, secret) = client;
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        let mut request = Request::builder()
            .method(Method::POST)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
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
        self.send(&url, request, Bytes::from(body)).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        url: &Url,
        request: axum::http::request::Builder,
        body: Bytes,
    ) -> Result<T> {
        let (status, body) = tokio::time::timeout(self.timeout, self.exchange(url, request, body))
            .await
            .map_err(|_| UpstreamError::Unreachable(format!("no answer within {:?}", self.timeout)))??;
        parse(status, &body)
    }

    /// Connects (TLS for https), sends one request and reads the answer up to the cap.
    async fn exchange(
        &self,
        url: &Url,
        request: axum::http::request::Builder,
        body: Bytes,
    ) -> Result<(StatusCode, Vec<u8>)> {
        let host = url.host().ok_or_else(|| UpstreamError::Refused("the URL names no host".into()))?;
        let port = url.port_or_known_default().unwrap_or(443);
        // The URL's own spelling of the host (an IPv6 address in brackets) is what both
        // the socket address and the Host header want.
        let address = format!("{}:{port}", &url[Position::BeforeHost..Position::AfterHost]);
        let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect(&address))
            .await
            .map_err(|_| unreachable(format!("connecting took longer than {:?}", self.connect_timeout)))?
            .map_err(|e| unreachable(format!("connecting: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let request = request
            .uri(&url[Position::BeforePath..Position::AfterQuery])
            .header(HOST, &url[Position::BeforeHost..Position::AfterPort])
            .header(USER_AGENT, concat!("latchkey/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(body))
            .map_err(|e| UpstreamError::Refused(format!("request: {e}")))?;
        if url.scheme() == "https" {
            let name = match host {
                Host::Domain(name) => ServerName::try_from(name.to_string()),
                Host::Ipv4(ip) => Ok(ServerName::from(std::net::IpAddr::V4(ip))),
                Host::Ipv6(ip) => Ok(ServerName::from(std::net::IpAddr::V6(ip))),
            }
            .map_err(|e| UpstreamError::Refused(format!("host name: {e}")))?;
            let tls = self.tls.connect(name, tcp).await.map_err(|e| unreachable(format!("TLS: {e}")))?;
            round_trip(tls, request).await
        } else {
            round_trip(tcp, request).await
        }
    }
}

async fn round_trip<S>(io: S, request: Request<Full<Bytes>>) -> Result<(StatusCode, Vec<u8>)>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(|e| unreachable(e.to_string()))?;
    // The connection is driven beside the request and ends with it.
    tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(|e| unreachable(e.to_string()))?;
    let status = response.status();
    let mut incoming = response.into_body();
    let mut body = Vec::new();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| unreachable(e.to_string()))?;
        if let Ok(chunk) = frame.into_data() {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(UpstreamError::Refused(format!("answer larger than {MAX_BODY_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
    }
    Ok((status, body))
}

fn unreachable(why: String) -> UpstreamError {
    UpstreamError::Unreachable(why)
}

fn allowed(url: &str) -> Result<Url> {
    provider_url_problem(url).map_err(|why| UpstreamError::Refused(format!("{url}: {why}")))?;
    Url::parse(url).map_err(|e| UpstreamError::Refused(format!("{url}: {e}")))
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn parse<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Result<T> {
    if status.is_server_error() {
        return Err(UpstreamError::Unreachable(format!("HTTP {status}")));
    }
    if !status.is_success() {
        // An OAuth error answer names its error; nothing else of it is worth keeping.
        let error = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(|e| e.chars().take(64).collect::<String>()));
        return Err(UpstreamError::Refused(format!("HTTP {status} {}", error.unwrap_or_default())));
    }
    serde_json::from_slice(body).map_err(|e| UpstreamError::Refused(format!("unexpected answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        assert_eq!(form_encode("a b:c/é"), "a+b%3Ac%2F%C3%A9");
    }
}
