//! What every request goes through, in one layer: request ids, logging, metrics,
//! security headers, CORS, CSRF, request timeouts, and panics turned into our 500 body.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt as _;
use metrics::{Counter, Histogram};
use tracing::Instrument;

use super::AppState;
use crate::error::AppError;
use crate::http::extract::bearer_token;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of this request: the client's `X-Request-Id` when it is a sane token, else a
/// new one. Stored in the request's extensions and echoed on the response.
#[derive(Clone, Debug)]
pub struct RequestId(pub HeaderValue);

/// The one layer around every route: request id, the span every log line of the request
/// carries, CORS, CSRF, the request timeout, panics turned into our 500 body, the access
/// log (debug; 5xx at warn), the request metrics and the headers every response gets.
/// One layer instead of six: axum clones each route's whole layer stack and boxes a
/// future per layer on every request, and that was most of what a cheap request cost.
pub async fn frame(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req.headers().get(&X_REQUEST_ID).filter(|v| sane_request_id(v)).cloned().unwrap_or_else(new_request_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.uri().path();
    let is_api = path.starts_with("/api/") || path == "/metrics" || path.starts_with("/oauth2/");
    let app_endpoint = super::oauth2::is_app_endpoint(path);
    let route = state.request_metrics.route_name(match req.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str(),
        None if path.starts_with("/api/") => "unmatched",
        None => "web",
    });
    let hsts = state.ctx.config.is_https() && crate::http::extract::reached_over_https(&req, &state.trusted_proxies);
    let cors = if app_endpoint { app_cors_origin(req.headers(), path, &state).await } else { Cors::none() };
    let cors_origin = if app_endpoint { None } else { allowed_cors_origin(req.headers(), &state) };
    // Only the id: formatting more fields into every span cost more than the rest of
    // the layer; the warning for a failed request names the method and path itself.
    let span = tracing::info_span!("request", request_id = id.to_str().unwrap_or(""));
    let uri = req.uri().clone();

    let mut response = if is_preflight(&req) && app_endpoint {
        app_preflight()
    } else if is_preflight(&req) {
        preflight(&state)
    } else if csrf_refused(&req, &state) {
        AppError::CsrfRejected.into_response()
    } else {
        let limit = state.ctx.config.server.request_timeout.0;
        let handled = AssertUnwindSafe(next.run(req)).catch_unwind();
        match tokio::time::timeout(limit, handled).instrument(span.clone()).await {
            Ok(Ok(response)) => response,
            Ok(Err(panic)) => panic_response(panic),
            // Dropping the handler's future drops its work too (a queued hash is skipped).
            Err(_) => AppError::Unavailable("request timed out".into()).into_response(),
        }
    };

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if status >= 500 {
        span.in_scope(
            || tracing::warn!(%method, path = uri.path(), status, ms = elapsed.as_secs_f64() * 1e3, "request failed"),
        );
    } else {
        span.in_scope(|| tracing::debug!(%method, path = uri.path(), status, ms = elapsed.as_secs_f64() * 1e3, "request finished"));
    }
    state.request_metrics.record(&method, &route, status, elapsed);

    let h = response.headers_mut();
    h.insert(X_REQUEST_ID.clone(), id);
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A stricter policy of the handler's own (a federation redirect) stays.
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    }
    // API answers are never cached; HSTS only on answers that travel over https to a
    // client of an https public URL (browsers ignore it over plain http anyway).
    if is_api && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    // API.md "CSRF and CORS": the exact allowed origin echoed with credentials, never `*`;
    // answers vary with the origin, so caches must not share them across origins.
    h.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = cors_origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
    }
    if let Some(origin) = cors.0 {
        // Apps' endpoints: readable by the apps' pages, never with credentials.
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
    }
    response
}

/// The `Access-Control-Allow-Origin` of an app-facing answer, if any.
struct Cors(Option<HeaderValue>);

impl Cors {
    fn none() -> Cors {
        Cors(None)
    }
}

/// Discovery and keys are public (`*`); the token, userinfo, revocation and
/// introspection endpoints answer the origins of the registered clients' redirect URIs.
async fn app_cors_origin(headers: &HeaderMap, path: &str, state: &AppState) -> Cors {
    let Some(origin) = headers.get(header::ORIGIN) else { return Cors::none() };
    if path.starts_with("/.well-known/") {
        return Cors(Some(HeaderValue::from_static("*")));
    }
    let Ok(text) = origin.to_str() else { return Cors::none() };
    match state.ctx.store.is_client_origin(text).await {
        Ok(true) => Cors(Some(origin.clone())),
        _ => Cors::none(),
    }
}

/// The preflight of an app-facing endpoint: form posts with an `Authorization` header.
fn app_preflight() -> Response {
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type"));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(PREFLIGHT_MAX_AGE));
    response
}

/// Response headers a cross-origin script may read.
const EXPOSED_HEADERS: &str = "retry-after, www-authenticate, x-request-id";
const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
const PREFLIGHT_MAX_AGE: &str = "600";

/// The request's `Origin`, when it is one of `cors.allowed_origins` (exactly).
fn allowed_cors_origin(headers: &HeaderMap, state: &AppState) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    state.allowed_origins.contains(text).then(|| origin.clone())
}

fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The answer to a CORS preflight: what may be sent, for how long the browser may
/// remember it. Whether the origin may read answers is added like on every response.
fn preflight(state: &AppState) -> Response {
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOWED_METHODS));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, state.cors_allowed_headers.clone());
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(PREFLIGHT_MAX_AGE));
    h.append(header::VARY, HeaderValue::from_static("access-control-request-method"));
    h.append(header::VARY, HeaderValue::from_static("access-control-request-headers"));
    response
}

fn sane_request_id(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty() && b.len() <= 128 && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
}

/// A per-process random prefix and a counter in hex: unique across instances and
/// restarts without asking the OS for randomness, or formatting, on every request.
fn new_request_id() -> HeaderValue {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| crate::crypto::token::new_token()[..10].to_owned());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut id = [0u8; 27];
    id[..10].copy_from_slice(prefix.as_bytes());
    id[10] = b'-';
    for (i, byte) in id[11..].iter_mut().enumerate() {
        *byte = b"0123456789abcdef"[((n >> (60 - 4 * i)) & 0xf) as usize];
    }
    HeaderValue::from_bytes(&id).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// Method, route and status of a request.
type SeriesKey = (Method, Arc<str>, u16);

/// `http_requests_total` and `http_request_duration_seconds` by method, route and
/// status, with their handles registered once per label set: the `metrics` macros with
/// owned labels allocate the labels and look the series up on every call.
#[derive(Default)]
pub struct RequestMetrics {
    routes: RwLock<HashMap<Arc<str>, Arc<str>>>,
    series: RwLock<HashMap<SeriesKey, (Counter, Histogram)>>,
}

impl RequestMetrics {
    /// The route's interned name, so that recording needs no allocation.
    fn route_name(&self, route: &str) -> Arc<str> {
        if let Some(name) = self.routes.read().unwrap_or_else(|e| e.into_inner()).get(route) {
            return Arc::clone(name);
        }
        let name: Arc<str> = Arc::from(route);
        let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
        Arc::clone(routes.entry(Arc::clone(&name)).or_insert(name))
    }

    fn record(&self, method: &Method, route: &Arc<str>, status: u16, elapsed: std::time::Duration) {
        let key = (method.clone(), Arc::clone(route), status);
        let found = self.series.read().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
        let (counter, histogram) = match found {
            Some(handles) => handles,
            None => {
                let labels =
                    [("method", method.to_string()), ("route", route.to_string()), ("status", status.to_string())];
                let handles = (
                    metrics::counter!("http_requests_total", &labels),
                    metrics::histogram!("http_request_duration_seconds", &labels),
                );
                self.series.write().unwrap_or_else(|e| e.into_inner()).entry(key).or_insert(handles).clone()
            }
        };
        counter.increment(1);
        histogram.record(elapsed.as_secs_f64());
    }
}

/// API.md "CSRF and CORS": cookie-authenticated unsafe requests, and every login,
/// signup and recovery request (forgot, reset, verify), must come from our own origin
/// or an allowed one. Without `Origin`, a
/// `Sec-Fetch-Site: cross-site` is refused; with neither header (curl, servers) it passes.
fn csrf_refused(req: &Request, state: &AppState) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE) {
        return false;
    }
    let headers = req.headers();
    let path = req.uri().path();
    // Apps call these from anywhere and they ignore cookies; an app's form post starts
    // an authorization on another site by design.
    if super::oauth2::is_app_endpoint(path) || path == "/oauth2/authorize" {
        return false;
    }
    // Anonymous routes that act on an account: checked like a login.
    let logs_in = matches!(
        path,
        "/api/login"
            | "/api/login/second-factor"
            | "/api/signup"
            | "/api/password/forgot"
            | "/api/password/reset"
            | "/api/email/verify"
            | "/api/federation/continue"
    );
    let by_cookie = state.cookie.read(headers).is_some() && bearer_token(headers).is_none();
    (logs_in || by_cookie) && !same_or_allowed_origin(headers, state)
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

/// A panicking handler answers like any other internal error.
fn panic_response(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = cause
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| cause.downcast_ref::<&str>().copied())
        .unwrap_or("panic");
    AppError::Internal(anyhow::anyhow!("handler panicked: {what}")).into_response()
}
