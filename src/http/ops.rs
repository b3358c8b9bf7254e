//! API.md "Operations": liveness, readiness, metrics and the OpenAPI description.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::error::{AppError, ErrorBody};
use crate::http::extract::bearer_token;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(openapi))
}

/// `/metrics`: on the main listener, or alone on `metrics.listen`.
pub fn metrics_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// With `metrics.listen`, the main listener answers `/metrics` 404 (not the web app).
pub fn metrics_elsewhere_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().route("/metrics", axum::routing::get(|| async { AppError::NotFound.into_response() }))
}

/// 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "{\"status\": \"ok\"}")))]
pub async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(json!({"status": "ok"}))
}

/// 200 while this instance can serve logins: `ready`, or `degraded` naming what it does
/// without (Redis, whose work the database takes over; the revocation feed, without
/// which the cache is bypassed). 503 when the database does not answer.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "{\"status\": \"ready\"}, or {\"status\": \"degraded\", \"degraded\": [\"redis\"]} while a fallback serves"),
        (status = 503, body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<axum::Json<serde_json::Value>, AppError> {
    state.ctx.store.ping().await?;
    let mut degraded = Vec::new();
    if let Some(redis) = &state.ctx.redis {
        let up = match redis.ping().await {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = %e, "readiness: redis does not answer");
                degraded.push("redis");
                false
            }
        };
        metrics::gauge!("latchkey_dependency_up", "dependency" => "redis").set(if up { 1.0 } else { 0.0 });
    }
    if !state.ctx.feed.is_up() && degraded.is_empty() {
        degraded.push("revocation_feed");
    }
    if degraded.is_empty() {
        return Ok(axum::Json(json!({"status": "ready"})));
    }
    Ok(axum::Json(json!({"status": "degraded", "degraded": degraded})))
}

/// Prometheus text: requests by route and status, logins by outcome, active sessions
/// (counted in the background once a minute, not per scrape), password-hash time, mails
/// sent, failed and queued.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(secret) = &state.ctx.config.metrics.bearer_token {
        let given = bearer_token(&headers).unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(secret.0.as_bytes())) {
            return AppError::Unauthorized.into_response();
        }
    }
    metrics::gauge!("latchkey_password_hash_queue").set(state.ctx.hasher.queued() as f64);
    if state.ctx.mailer.is_some() {
        match state.ctx.store.count_queued_mails().await {
            Ok(n) => metrics::gauge!("latchkey_mails_queued").set(n as f64),
            Err(e) => tracing::warn!(error = %e, "queued mails not counted"),
        }
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
        .into_response()
}

/// This description.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], super::openapi::document()).into_response()
}
