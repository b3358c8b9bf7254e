//! The HTTP layer: one module per API.md section, merged into one router here, with
//! the cross-cutting layers around it. Handlers parse, call one service function and
//! shape the answer.

pub mod account;
pub mod admin;
pub mod auth;
pub mod cookies;
pub mod extract;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod posts;
pub mod recovery;
pub mod tokens;
pub mod web;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::app::AppState;
use crate::error::AppError;

/// JSON bodies larger than this are refused with 413.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(auth::router())
        .merge(account::router())
        .merge(tokens::router())
        .merge(admin::router())
        .merge(posts::router())
        .merge(recovery::router())
        .merge(ops::router())
        .fallback(web::fallback)
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed.into_response() })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(from_fn_with_state(state.clone(), middleware::timeout))
        .layer(from_fn_with_state(state.clone(), middleware::csrf))
        .layer(cors(&state))
        .layer(from_fn_with_state(state.clone(), middleware::security_headers))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(from_fn(middleware::observe))
        .layer(from_fn(middleware::request_id))
        .with_state(state)
}

/// API.md "CSRF and CORS": exact allowlist, echoed origin, credentials, never `*`.
fn cors(state: &AppState) -> CorsLayer {
    let origins = state.allowed_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok());
    let headers =
        state.ctx.config.cors.allowed_headers.iter().filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok());
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers(headers.collect::<Vec<_>>())
        .expose_headers([header::RETRY_AFTER, header::WWW_AUTHENTICATE, middleware::X_REQUEST_ID.clone()])
        .max_age(Duration::from_secs(600))
}
