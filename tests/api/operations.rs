//! API.md "Operations", request ids, and the JSON 404/405 answers.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn healthz_and_readyz_answer_while_the_database_does() {
    let app = TestApp::spawn().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.state.ctx.store.close().await;
    let r = app.get("/readyz").await;
    assert!(r.headers().contains_key("retry-after"));
    assert_error(r, 503, "unavailable").await;
    assert_eq!(app.get("/healthz").await.status(), 200, "the process still runs");
    assert_error(app.signup("ada").await, 503, "unavailable").await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_logins_by_outcome() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    app.login_as(&new_client(), "ada", PASSWORD).await;
    app.login_as(&new_client(), "ada", "wrong-password").await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.text().await.unwrap();
    for needle in [
        r#"http_requests_total{method="POST",route="/api/signup",status="201"}"#,
        r#"http_request_duration_seconds_bucket{method="POST",route="/api/login",status="401""#,
        r#"latchkey_logins_total{outcome="success"}"#,
        r#"latchkey_logins_total{outcome="invalid"}"#,
        "latchkey_active_sessions ",
        "latchkey_password_hash_seconds_bucket",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_the_clients() {
    let app = TestApp::spawn().await;
    let mut ids = std::collections::HashSet::new();
    for path in ["/healthz", "/api/nothing-here", "/api/me", "/healthz"] {
        let r = app.get(path).await;
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(id.len() >= 8, "{path}: {id}");
        assert!(ids.insert(id), "{path}: a request id was given twice");
    }
    let r = app.client.get(app.url("/api/check_session")).header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-42");
    let r = app.client.get(app.url("/healthz")).header("x-request-id", "bad id with spaces").send().await.unwrap();
    assert_ne!(r.headers()["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn unknown_api_paths_are_404_and_wrong_methods_405_in_json() {
    let app = TestApp::spawn().await;
    assert_error(app.get("/api/nothing-here").await, 404, "not_found").await;
    assert_error(app.client.post(app.url("/api/nothing")).send().await.unwrap(), 404, "not_found").await;
    assert_error(app.client.put(app.url("/api/login")).send().await.unwrap(), 405, "method_not_allowed").await;
    assert_error(app.client.post(app.url("/api/check_session")).send().await.unwrap(), 405, "method_not_allowed").await;
}

#[tokio::test]
async fn api_answers_are_never_cached_and_never_sniffed() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/check_session").await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/openapi.json").await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let expected = [
        ("/api/signup", "post"),
        ("/api/login", "post"),
        ("/api/check_session", "get"),
        ("/api/logout", "delete"),
        ("/api/me", "get"),
        ("/api/me/password", "put"),
        ("/api/me/sessions", "get"),
        ("/api/me/sessions", "delete"),
        ("/api/me/sessions/{id}", "delete"),
        ("/api/me/token-logins/{id}", "delete"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/api/openapi.json", "get"),
        ("/api/me/avatar", "put"),
        ("/api/users/{id}/avatar", "get"),
        ("/api/token", "post"),
        ("/api/token/refresh", "post"),
        ("/api/token/revoke", "post"),
        ("/.well-known/jwks.json", "get"),
        ("/api/users", "get"),
        ("/api/users/{id}", "get"),
        ("/api/users/{id}", "delete"),
        ("/api/users/{id}/roles", "put"),
        ("/api/users/{id}/sessions", "delete"),
        ("/api/audit", "get"),
        ("/api/posts", "get"),
        ("/api/posts", "post"),
        ("/api/posts/{id}", "delete"),
    ];
    for (path, method) in expected {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} missing");
    }
}

#[tokio::test]
async fn metrics_can_require_a_bearer_secret() {
    let secret = "metrics-secret-0123456789";
    let app = TestApp::spawn_with(|c| c.metrics.bearer_token = Some(latchkey::config::Secret(secret.into()))).await;
    assert_error(app.get("/metrics").await, 401, "unauthorized").await;
    assert_error(app.get_bearer("/metrics", "metrics-secret-wrong").await, 401, "unauthorized").await;
    let r = app.get_bearer("/metrics", secret).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("http_requests_total"));
}

#[tokio::test]
async fn metrics_can_be_served_on_their_own_address_only() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let app = TestApp::spawn_with(|c| c.metrics.listen = Some(addr.to_string())).await;
    assert_error(app.get("/metrics").await, 404, "not_found").await;
    let r = new_client().get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("latchkey_active_sessions"));
    let r = new_client().get(format!("http://{addr}/api/me")).send().await.unwrap();
    assert_eq!(r.status(), 404, "only /metrics is served there");
}
