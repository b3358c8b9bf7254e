//! The HTTP layer: one module per API.md section, merged into one router here, with
//! the cross-cutting layers around it. Handlers parse, call one service function and
//! shape the answer.

pub mod account;
pub mod admin;
pub mod auth;
pub mod cookies;
pub mod extract;
pub mod federation;
pub mod middleware;
pub mod oauth2;
pub mod openapi;
pub mod ops;
pub mod passkeys;
pub mod posts;
pub mod recovery;
pub mod second_factors;
mod state;
pub mod tokens;
pub mod web;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::error::AppError;

pub use state::{AppState, AppStateInner};

/// JSON bodies larger than this are refused with 413.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// A server's routers: the API and web app, and the router of the separate
/// `metrics.listen` address when there is one.
pub struct Routers {
    pub main: Router,
    pub metrics: Option<Router>,
}

pub fn routers(state: AppState) -> Routers {
    let metrics = state.ctx.config.metrics.listen.is_some().then(|| metrics_only_router(state.clone()));
    Routers { main: main_router(state, metrics.is_none()), metrics }
}

/// Every route of the API, each declared once with its `#[utoipa::path]` handler: the
/// router serves exactly what `/api/openapi.json` describes. With `metrics.listen` set,
/// `/metrics` here is a plain 404 (the document always lists it).
pub(crate) fn api(metrics_here: bool) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(if metrics_here { ops::metrics_router() } else { ops::metrics_elsewhere_router() })
        .merge(auth::router())
        .merge(account::router())
        .merge(tokens::router())
        .merge(admin::router())
        .merge(posts::router())
        .merge(second_factors::router())
        .merge(passkeys::router())
        .merge(federation::router())
        .merge(oauth2::router())
        .merge(recovery::router())
        .merge(ops::router())
}

fn main_router(state: AppState, metrics_here: bool) -> Router {
    let (api, _) = api(metrics_here).split_for_parts();
    api.fallback(web::fallback)
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed.into_response() })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(from_fn_with_state(state.clone(), middleware::frame))
        .with_state(state)
}

/// `/metrics` and nothing else.
fn metrics_only_router(state: AppState) -> Router {
    Router::from(ops::metrics_router())
        .fallback(|| async { AppError::NotFound.into_response() })
        .layer(from_fn_with_state(state.clone(), middleware::frame))
        .with_state(state)
}

/// A redirect that is never cached, and whose address (a code, a state) does not leak as
/// the next page's referrer.
pub(crate) fn redirect(status: StatusCode, location: &str) -> Result<Response, AppError> {
    let location =
        HeaderValue::from_str(location).map_err(|e| AppError::Internal(anyhow::anyhow!("Location header: {e}")))?;
    let mut response = status.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}
