//! `GET /hello` and a check_session that could not be cheaper: the cookie's value looked
//! up in an in-memory map. Sessions `session=tok-0` … `tok-9999` exist.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

type Sessions = Arc<RwLock<HashMap<String, (u64, String)>>>;

async fn hello() -> &'static str {
    "hello"
}

async fn check_session(State(sessions): State<Sessions>, headers: HeaderMap) -> Response {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("session="));
    let Some(token) = token else { return StatusCode::NO_CONTENT.into_response() };
    match sessions.read().unwrap().get(token) {
        Some((id, name)) => (
            [(header::CONTENT_TYPE, "application/json")],
            format!(r#"{{"id":{id},"username":"{name}","roles":["user"]}}"#),
        )
            .into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

#[tokio::main]
async fn main() {
    let sessions: Sessions = Arc::new(RwLock::new(
        (0..10_000u64).map(|i| (format!("tok-{i}"), (i, format!("user{i}")))).collect(),
    ));
    let app = Router::new()
        .route("/hello", get(hello))
        .route("/api/check_session", get(check_session))
        .with_state(sessions);
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
