//! API.md "CSRF and CORS".

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

const SPA: &str = "http://localhost:5173";
const EVIL: &str = "https://evil.example";

async fn app() -> TestApp {
    TestApp::spawn_with(|c| {
        c.cors.allowed_origins = vec![SPA.into()];
        c.cors.allowed_headers.push("x-origin".into());
    })
    .await
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_gets_methods_headers_and_max_age() {
    let app = app().await;
    let r = app
        .client
        .request(Method::OPTIONS, app.url("/api/login"))
        .header("origin", SPA)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-origin")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], SPA);
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-max-age"], "600");
    let methods = h["access-control-allow-methods"].to_str().unwrap().to_ascii_uppercase();
    for m in ["GET", "POST", "PUT", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = h["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    for name in ["content-type", "authorization", "x-requested-with", "x-request-id", "x-origin"] {
        assert!(headers.contains(name), "{headers}");
    }
}

#[tokio::test]
async fn an_unlisted_origin_never_gets_allow_origin() {
    let app = app().await;
    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/api/login"))
        .header("origin", EVIL)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(!preflight.headers().contains_key("access-control-allow-origin"));
    let get = app.client.get(app.url("/api/check_session")).header("origin", EVIL).send().await.unwrap();
    assert_eq!(get.status(), 204);
    assert!(!get.headers().contains_key("access-control-allow-origin"));
    let allowed = app.client.get(app.url("/api/check_session")).header("origin", SPA).send().await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], SPA, "echoed exactly, never *");
}

#[tokio::test]
async fn login_and_signup_from_a_foreign_origin_are_refused() {
    let app = app().await;
    app.signed_up("ada").await;
    let body = json!({"username": "ada", "password": PASSWORD});
    let r = new_client().post(app.url("/api/login")).header("origin", EVIL).json(&body).send().await.unwrap();
    assert_error(r, 403, "csrf_rejected").await;
    let r = new_client()
        .post(app.url("/api/signup"))
        .header("origin", EVIL)
        .json(&json!({"username": "bob", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "csrf_rejected").await;
    let r = new_client()
        .post(app.url("/api/login"))
        .header("sec-fetch-site", "cross-site")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "csrf_rejected").await;
    let r = new_client().post(app.url("/api/login")).header("origin", "null").json(&body).send().await.unwrap();
    assert_error(r, 403, "csrf_rejected").await;
    let r = new_client()
        .post(app.url("/api/login"))
        .header("origin", app.url(""))
        .header("origin", EVIL)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "csrf_rejected").await;
}

#[tokio::test]
async fn own_and_allowed_origins_and_plain_clients_pass() {
    let app = app().await;
    app.signed_up("ada").await;
    let body = json!({"username": "ada", "password": PASSWORD});
    for origin in [SPA.to_string(), app.base.clone()] {
        let r = new_client().post(app.url("/api/login")).header("origin", &origin).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200, "origin {origin}");
    }
    // The web app opened as http://localhost:PORT rather than the public URL's 127.0.0.1.
    let localhost = format!("http://localhost:{}", app.port);
    let r = new_client()
        .post(format!("{localhost}/api/login"))
        .header("origin", &localhost)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "same origin as addressed");
    let r = new_client()
        .post(app.url("/api/login"))
        .header("sec-fetch-site", "same-origin")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = new_client().post(app.url("/api/login")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200, "no Origin and no Sec-Fetch-Site: curl");
    let r = new_client().post(app.url("/api/login")).header("origin", SPA).json(&body).send().await.unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], SPA);
    assert_eq!(r.headers()["access-control-allow-credentials"], "true");
}

#[tokio::test]
async fn cookie_authenticated_unsafe_requests_from_a_foreign_origin_are_refused() {
    let app = app().await;
    app.signed_up("ada").await;
    let r = app.client.delete(app.url("/api/logout")).header("origin", EVIL).send().await.unwrap();
    assert_error(r, 403, "csrf_rejected").await;
    let r = app
        .client
        .put(app.url("/api/me/password"))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"current_password": PASSWORD, "new_password": "quiet-lantern-meadow"}))
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "csrf_rejected").await;
    assert_eq!(app.get("/api/me").await.status(), 200, "still logged in: the logout was refused");
    let r = app.client.get(app.url("/api/me")).header("origin", EVIL).send().await.unwrap();
    assert_eq!(r.status(), 200, "safe methods are not CSRF-checked");
    let r = app.client.delete(app.url("/api/logout")).header("origin", SPA).send().await.unwrap();
    assert_eq!(r.status(), 204);
}
