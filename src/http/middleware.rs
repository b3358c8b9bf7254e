//! Cross-cutting layers: request ids, logging and metrics, CSRF, security headers,
//! request timeouts, and panics turned into our 500 body.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::app::AppState;
use crate::error::AppError;
use crate::http::extract::bearer_token;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of this request: the client's `X-Request-Id` when it is a sane token, else a
/// new one. Stored in the request's extensions and echoed on the response.
#[derive(Clone, Debug)]
pub struct RequestId(pub HeaderValue);

pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|v| {
            let b = v.as_bytes();
            !b.is_empty() && b.len() <= 128 && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
        })
        .cloned()
        .unwrap_or_else(new_request_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    response.headers_mut().insert(X_REQUEST_ID.clone(), id);
    response
}

fn new_request_id() -> HeaderValue {
    let token = crate::crypto::token::new_token();
    HeaderValue::from_str(&token[..22]).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// One span per request (carrying the request id, so every log line of the request has
/// it), one log line at the end, and the request metrics by route and status.
pub async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let route =
        route.unwrap_or_else(|| if req.uri().path().starts_with("/api/") { "unmatched".into() } else { "web".into() });
    let request_id = req.extensions().get::<RequestId>().and_then(|id| id.0.to_str().ok()).unwrap_or("").to_owned();
    let span = tracing::info_span!("request", %method, path = %req.uri().path(), request_id);
    let response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, ms = elapsed.as_secs_f64() * 1e3, "request finished");
        } else {
            tracing::info!(status, ms = elapsed.as_secs_f64() * 1e3, "request finished");
        }
    });
    let labels = [("method", method.to_string()), ("route", route), ("status", status.to_string())];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    response
}

/// API.md "CSRF and CORS": cookie-authenticated unsafe requests, and every login,
/// signup and recovery request (forgot, reset, verify), must come from our own origin or an allowed one. Without `Origin`, a
/// `Sec-Fetch-Site: cross-site` is refused; with neither header (curl, servers) it passes.
pub async fn csrf(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE);
    if unsafe_method {
        let headers = req.headers();
        let path = req.uri().path();
        // Anonymous routes that act on an account: checked like a login.
        let logs_in = matches!(
            path,
            "/api/login" | "/api/signup" | "/api/password/forgot" | "/api/password/reset" | "/api/email/verify"
        );
        let by_cookie = state.cookie.read(headers).is_some() && bearer_token(headers).is_none();
        if (logs_in || by_cookie) && !same_or_allowed_origin(headers, &state) {
            return AppError::CsrfRejected.into_response();
        }
    }
    next.run(req).await
}

fn same_or_allowed_origin(headers: &HeaderMap, state: &AppState) -> bool {
    // Browsers send one Origin; a request with several is not from one, and whichever
    // of them we judged, another layer might read the other.
    if headers.get_all(header::ORIGIN).iter().nth(1).is_some() {
        return false;
    }
    match headers.get(header::ORIGIN) {
        Some(origin) => {
            let Ok(origin) = origin.to_str() else { return false };
            // Our own origin comes from `public_url`, never from the request's `Host`
            // header, which the client (or a proxy) chooses.
            let origin = origin.to_ascii_lowercase();
            state.own_origins.contains(&origin) || state.allowed_origins.contains(&origin)
        }
        None => headers.get("sec-fetch-site").is_none_or(|v| v.as_bytes() != b"cross-site"),
    }
}

/// Headers every response gets: no sniffing, no framing, no referrer leaks; API answers
/// are never cached; HSTS on answers that travel over https to a client of an https
/// public URL (browsers ignore it over plain http anyway).
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/") || req.uri().path() == "/metrics";
    let hsts = state.ctx.config.is_https() && crate::http::extract::reached_over_https(&req, &state.trusted_proxies);
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if is_api && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    response
}

/// A request not answered within `server.request_timeout` (a slow body included) is
/// answered 503 and its work dropped.
pub async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(state.ctx.config.server.request_timeout.0, next.run(req)).await {
        Ok(response) => response,
        Err(_) => AppError::Unavailable("request timed out".into()).into_response(),
    }
}

/// A panicking handler answers like any other internal error.
pub fn panic_response(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = cause
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| cause.downcast_ref::<&str>().copied())
        .unwrap_or("panic");
    AppError::Internal(anyhow::anyhow!("handler panicked: {what}")).into_response()
}
