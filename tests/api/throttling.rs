//! API.md "Throttling".

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn failed_logins_are_throttled_per_account_before_the_password_is_checked() {
    let app = TestApp::spawn_with(|c| c.throttle.login_per_account = 3).await;
    app.signed_up("ada").await;
    for _ in 0..3 {
        assert_error(app.login_as(&new_client(), "ada", "wrong-password").await, 401, "invalid_credentials").await;
    }
    let r = app.login_as(&new_client(), "ADA", PASSWORD).await;
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_error(r, 429, "rate_limited").await;
    app.signed_up("bob").await;
    assert_eq!(app.login_as(&new_client(), "bob", PASSWORD).await.status(), 200, "other accounts are not affected");
}

#[tokio::test]
async fn a_successful_login_resets_the_account_counter() {
    let app = TestApp::spawn_with(|c| c.throttle.login_per_account = 3).await;
    app.signed_up("ada").await;
    for _ in 0..2 {
        app.login_as(&new_client(), "ada", "wrong-password").await;
    }
    assert_eq!(app.login_as(&new_client(), "ada", PASSWORD).await.status(), 200);
    for _ in 0..2 {
        assert_eq!(app.login_as(&new_client(), "ada", "wrong-password").await.status(), 401);
    }
    assert_eq!(app.login_as(&new_client(), "ada", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_ip_across_accounts() {
    let app = TestApp::spawn_with(|c| c.throttle.login_per_ip = 4).await;
    app.signed_up("ada").await;
    for name in ["u1", "u2", "u3", "u4"] {
        assert_eq!(app.login_as(&new_client(), name, "wrong-password").await.status(), 401);
    }
    assert_error(app.login_as(&new_client(), "ada", PASSWORD).await, 429, "rate_limited").await;
}

#[tokio::test]
async fn the_client_ip_comes_from_x_forwarded_for_only_behind_a_trusted_proxy() {
    let app = TestApp::spawn_with(|c| c.throttle.login_per_ip = 2).await;
    app.signed_up("ada").await;
    // Not a trusted proxy: the header is ignored and every attempt counts for 127.0.0.1.
    for ip in ["1.1.1.1", "2.2.2.2"] {
        let r = new_client()
            .post(app.url("/api/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({"username": "x", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    assert_error(app.login_as(&new_client(), "ada", PASSWORD).await, 429, "rate_limited").await;

    let proxied = TestApp::spawn_with(|c| {
        c.throttle.login_per_ip = 2;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    proxied.signed_up("ada").await;
    for _ in 0..2 {
        let r = new_client()
            .post(proxied.url("/api/login"))
            .header("x-forwarded-for", "203.0.113.9")
            .json(&json!({"username": "x", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let blocked = new_client()
        .post(proxied.url("/api/login"))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"username": "ada", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_error(blocked, 429, "rate_limited").await;
    let other = new_client()
        .post(proxied.url("/api/login"))
        .header("x-forwarded-for", "203.0.113.10")
        .json(&json!({"username": "ada", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another client behind the proxy is not blocked");
}

#[tokio::test]
async fn signups_are_limited_per_ip() {
    let app = TestApp::spawn_with(|c| c.throttle.signup_per_ip = 3).await;
    for name in ["user1", "user2", "user3"] {
        assert_eq!(app.signup_as(&new_client(), name, PASSWORD).await.status(), 201);
    }
    let r = app.signup_as(&new_client(), "user4", PASSWORD).await;
    assert!(r.headers().contains_key("retry-after"));
    assert_error(r, 429, "rate_limited").await;
}

#[tokio::test]
async fn the_default_limit_is_ten_failures_per_account() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    for _ in 0..10 {
        assert_eq!(app.login_as(&new_client(), "ada", "wrong-password").await.status(), 401);
    }
    assert_error(app.login_as(&new_client(), "ada", PASSWORD).await, 429, "rate_limited").await;
}
