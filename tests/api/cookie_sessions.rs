//! API.md "Objects" and "Cookie sessions".

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn signup_answers_201_with_the_user_and_a_session_cookie() {
    let app = TestApp::spawn().await;
    let r = app.signup("Ada").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let cookie = session_set_cookie(&r).expect("session cookie");
    let value = cookie_value(&cookie);
    assert!(
        value.len() >= 43 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{cookie}"
    );
    for attribute in ["HttpOnly", "Path=/", "SameSite=Lax", "Max-Age=2592000"] {
        assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} missing in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "http public URL: no Secure ({cookie})");
    let user: Value = r.json().await.unwrap();
    let keys: Vec<&str> = user.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 6, "{user}");
    assert_eq!(user["email_verified"], false);
    assert!(user["id"].is_i64());
    assert_eq!(user["username"], "Ada", "case kept");
    assert_eq!(user["email"], Value::Null);
    assert_eq!(user["roles"], json!(["user"]));
    let created = user["created_at"].as_str().unwrap();
    assert!(created.len() == 20 && created.ends_with('Z') && created.as_bytes()[10] == b'T', "{created}");
    assert!(!user.to_string().contains("argon2"), "no hash in user JSON");
}

#[tokio::test]
async fn usernames_are_unique_and_matched_without_regard_to_case() {
    let app = TestApp::spawn().await;
    app.signed_up("Ada").await;
    assert_error(app.signup_as(&new_client(), "ada", PASSWORD).await, 409, "username_taken").await;
    assert_error(app.signup_as(&new_client(), "ADA", PASSWORD).await, 409, "username_taken").await;
    let r = app.login_as(&new_client(), "aDa", PASSWORD).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["username"], "Ada");
}

#[tokio::test]
async fn emails_are_optional_unique_case_insensitive_and_log_in() {
    let app = TestApp::spawn().await;
    let r = app
        .post_json("/api/signup", &json!({"username": "ada", "password": PASSWORD, "email": "Ada@Example.com"}))
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap()["email"], "Ada@Example.com");
    let other = new_client();
    let r = other
        .post(app.url("/api/signup"))
        .json(&json!({"username": "bob", "password": PASSWORD, "email": "ada@example.COM"}))
        .send()
        .await
        .unwrap();
    assert_error(r, 409, "email_taken").await;
    let r = app.login_as(&other, "ADA@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200, "login by email");
    let r = other
        .post(app.url("/api/signup"))
        .json(&json!({"username": "carol", "password": PASSWORD, "email": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "an empty email is no email");
}

#[tokio::test]
async fn signup_validation_errors_are_422_with_fields() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"username": "ab", "password": PASSWORD}), "username"),
        (json!({"username": "a b c", "password": PASSWORD}), "username"),
        (json!({"username": "x".repeat(33), "password": PASSWORD}), "username"),
        (json!({"username": "ada\u{0}", "password": PASSWORD}), "username"),
        (json!({"password": PASSWORD}), "username"),
        (json!({"username": "ada", "password": "short"}), "password"),
        (json!({"username": "ada", "password": "x".repeat(257)}), "password"),
        (json!({"username": "ada", "password": "password123"}), "password"),
        (json!({"username": "ada"}), "password"),
        (
            json!({"username": "ada", "password": PASSWORD, "password_confirmation": "other-password-1"}),
            "password_confirmation",
        ),
        (json!({"username": "ada", "password": PASSWORD, "email": "not-an-email"}), "email"),
        (json!({"username": "ada", "password": PASSWORD, "email": "a b@c.d"}), "email"),
        (json!({"username": "ada", "password": PASSWORD, "email": format!("{}@x.io", "a".repeat(250))}), "email"),
    ];
    for (body, field) in cases {
        let r = app.post_json("/api/signup", &body).await;
        let err = assert_error(r, 422, "validation_failed").await;
        assert!(err["fields"][field].is_string(), "{field} in {err} for {body}");
    }
    let r = app.get("/api/check_session").await;
    assert_eq!(r.status(), 204, "no account and no session came of it");
}

#[tokio::test]
async fn signup_can_be_disabled() {
    let app = TestApp::spawn_with(|c| c.signup.enabled = false).await;
    assert_error(app.signup("ada").await, 403, "forbidden").await;
}

#[tokio::test]
async fn twenty_simultaneous_signups_of_one_name_give_exactly_one_201() {
    let app = TestApp::spawn().await;
    let attempts = (0..20).map(|_| {
        let client = new_client();
        let url = app.url("/api/signup");
        async move {
            client
                .post(url)
                .json(&json!({"username": "racer", "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures::future::join_all(attempts).await;
    statuses.sort();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
}

#[tokio::test]
async fn login_answers_200_with_a_new_session_each_time() {
    let app = TestApp::spawn().await;
    let signup = app.signup("ada").await;
    let first = cookie_value(&session_set_cookie(&signup).unwrap());
    let r = app.login("ada", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let second = cookie_value(&session_set_cookie(&r).unwrap());
    assert_ne!(first, second, "a NEW session id on login");
    assert_eq!(r.json::<Value>().await.unwrap()["username"], "ada");
    // The session the browser held before the login is over.
    let replay = new_client()
        .get(app.url("/api/me"))
        .header("cookie", format!("latchkey_session={first}"))
        .send()
        .await
        .unwrap();
    assert_error(replay, 401, "unauthorized").await;
    assert_eq!(app.get("/api/me").await.status(), 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let wrong = assert_error(app.login("ada", "not-the-password").await, 401, "invalid_credentials").await;
    let unknown = assert_error(app.login("nobody", "not-the-password").await, 401, "invalid_credentials").await;
    assert_eq!(wrong, unknown);
    let empty = app.post_json("/api/login", &json!({"username": "ada", "password": ""})).await;
    assert_error(empty, 401, "invalid_credentials").await;
    assert_error(app.post_json("/api/login", &json!({"username": "ada"})).await, 422, "validation_failed").await;
}

#[tokio::test]
async fn check_session_is_the_user_or_204_and_never_401() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/check_session").await;
    assert_eq!(r.status(), 204);
    assert!(r.text().await.unwrap().is_empty());
    let forged = new_client()
        .get(app.url("/api/check_session"))
        .header("cookie", "latchkey_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 204);
    app.signed_up("ada").await;
    let r = app.get("/api/check_session").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["username"], "ada");
}

#[tokio::test]
async fn logout_clears_the_cookie_and_kills_the_session_even_if_replayed() {
    let app = TestApp::spawn().await;
    let token = cookie_value(&session_set_cookie(&app.signup("ada").await).unwrap());
    let r = app.delete("/api/logout").await;
    assert_eq!(r.status(), 204);
    let cleared = session_set_cookie(&r).expect("cookie cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(app.get("/api/check_session").await.status(), 204);
    let replay = new_client()
        .get(app.url("/api/me"))
        .header("cookie", format!("latchkey_session={token}"))
        .send()
        .await
        .unwrap();
    assert_error(replay, 401, "unauthorized").await;
    assert_eq!(app.delete("/api/logout").await.status(), 204, "logging out twice is fine");
}

#[tokio::test]
async fn me_needs_a_live_credential() {
    let app = TestApp::spawn().await;
    assert_error(app.get("/api/me").await, 401, "unauthorized").await;
    app.signed_up("ada").await;
    let r = app.get("/api/me").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["username"], "ada");
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    assert_eq!(app.get("/api/me").await.status(), 200);
    app.clock.advance(Duration::from_secs(6 * 86_400));
    assert_eq!(app.get("/api/me").await.status(), 200, "used within the 7 days: still live, and touched");
    app.clock.advance(Duration::from_secs(6 * 86_400));
    assert_eq!(app.get("/api/me").await.status(), 200, "the last use counts, not the login");
    app.clock.advance(Duration::from_secs(7 * 86_400 + 1));
    assert_error(app.get("/api/me").await, 401, "unauthorized").await;
}

#[tokio::test]
async fn sessions_end_at_the_absolute_timeout_whatever_the_use() {
    let app = TestApp::spawn().await;
    let r = app.signup("ada").await;
    assert!(session_set_cookie(&r).unwrap().contains("Max-Age=2592000;"));
    for _ in 0..5 {
        assert_eq!(app.get("/api/me").await.status(), 200);
        app.clock.advance(Duration::from_secs(6 * 86_400));
    }
    assert_error(app.get("/api/me").await, 401, "unauthorized").await;
}

#[tokio::test]
async fn https_public_url_makes_the_cookie_secure_and_host_prefixed() {
    let app = TestApp::spawn_with(|c| c.public_url = "https://auth.example.com".into()).await;
    let r = app.signup("ada").await;
    let cookie = session_set_cookie(&r).unwrap();
    assert!(cookie.starts_with("__Host-latchkey_session="), "{cookie}");
    assert!(cookie.split("; ").any(|a| a == "Secure"), "{cookie}");
    // This request came over plain http from an untrusted peer: HSTS is for answers that
    // travel over https (tests/api/cluster.rs checks it behind a proxy and over TLS).
    assert!(r.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn same_site_and_cookie_name_are_configurable() {
    let app = TestApp::spawn_with(|c| {
        c.session.same_site = latchkey::config::SameSite::Strict;
        c.session.cookie_name = "sid".into();
    })
    .await;
    let r = app.signup("ada").await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("sid=") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert_eq!(app.get("/api/me").await.status(), 200);
}
