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

/// Sends `n` wrong-password logins for `login` at once (spread over `apps` in turn) and
/// returns how many were checked against the hash (401) and how many refused (429).
pub async fn burst_of_wrong_passwords(apps: &[&TestApp], login: &str, n: usize) -> (usize, usize) {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let requests = (0..n).map(|i| {
        let url = apps[i % apps.len()].url("/api/login");
        let barrier = std::sync::Arc::clone(&barrier);
        let login = login.to_string();
        async move {
            barrier.wait().await;
            new_client()
                .post(url)
                .json(&json!({"username": login, "password": "wrong-password"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(requests).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, n, "only 401 and 429 expected: {statuses:?}");
    (checked, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_parallel_wrong_passwords_for_one_account_check_at_most_ten() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let (checked, refused) = burst_of_wrong_passwords(&[&app], "ada", 60).await;
    assert_eq!((checked, refused), (10, 50));
    assert_error(app.login_as(&new_client(), "ada", PASSWORD).await, 429, "rate_limited").await;
}

#[tokio::test]
async fn username_and_email_share_one_budget_in_any_case() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .post(app.url("/api/signup"))
        .json(&json!({"username": "Ada", "password": PASSWORD, "email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    for login in ["ada", "ADA@example.com", "Ada", "ada@EXAMPLE.com", "aDa"].iter().cycle().take(10) {
        assert_eq!(app.login_as(&new_client(), login, "wrong-password").await.status(), 401, "{login}");
    }
    for login in ["ada", "ada@example.com"] {
        assert_error(app.login_as(&new_client(), login, PASSWORD).await, 429, "rate_limited").await;
    }
}

#[tokio::test]
async fn a_flood_of_throttled_attempts_leaves_one_audit_event_per_window() {
    let app = TestApp::spawn_with(|c| c.throttle.login_per_account = 2).await;
    app.admin("root").await;
    app.signed_up("ada").await;
    for _ in 0..2 {
        app.login_as(&new_client(), "ada", "wrong-password").await;
    }
    for _ in 0..20 {
        assert_eq!(app.login_as(&new_client(), "ada", "wrong-password").await.status(), 429);
    }
    let throttled = |events: &serde_json::Value| {
        events["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "login_throttled").count()
    };
    let root = new_client();
    app.login_as(&root, "root", PASSWORD).await;
    let events: serde_json::Value =
        root.get(app.url("/api/audit?limit=200")).send().await.unwrap().json().await.unwrap();
    assert_eq!(throttled(&events), 1, "{events}");
    // The next window gets its own event.
    app.clock.advance(std::time::Duration::from_secs(16 * 60));
    for _ in 0..2 {
        assert_eq!(app.login_as(&new_client(), "ada", "wrong-password").await.status(), 401);
    }
    assert_eq!(app.login_as(&new_client(), "ada", "wrong-password").await.status(), 429);
    let events: serde_json::Value =
        root.get(app.url("/api/audit?limit=200")).send().await.unwrap().json().await.unwrap();
    assert_eq!(throttled(&events), 2, "{events}");
}

#[tokio::test]
async fn failures_age_out_of_the_window() {
    let app = TestApp::spawn_with(|c| c.throttle.login_per_account = 2).await;
    app.signed_up("ada").await;
    for _ in 0..2 {
        app.login_as(&new_client(), "ada", "wrong-password").await;
    }
    let r = app.login_as(&new_client(), "ada", PASSWORD).await;
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(r.status(), 429);
    app.clock.advance(std::time::Duration::from_secs(retry));
    assert_eq!(app.login_as(&new_client(), "ada", PASSWORD).await.status(), 200, "after Retry-After seconds");
}

#[tokio::test]
async fn ipv6_clients_behind_a_proxy_are_counted_per_slash_64() {
    let app = TestApp::spawn_with(|c| {
        c.throttle.login_per_ip = 3;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    app.signed_up("ada").await;
    let from = |ip: &'static str, password: &'static str| {
        new_client()
            .post(app.url("/api/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({"username": "ada", "password": password}))
            .send()
    };
    for ip in ["2001:db8:7:7::1", "2001:db8:7:7::2", "2001:db8:7:7:ffff::3"] {
        assert_eq!(from(ip, "wrong-password").await.unwrap().status(), 401);
    }
    assert_error(from("2001:db8:7:7::99", PASSWORD).await.unwrap(), 429, "rate_limited").await;
    assert_eq!(from("2001:db8:7:8::1", PASSWORD).await.unwrap().status(), 200, "another /64 is another client");
}

/// Successful logins hand their address's slot back: an office behind one address can
/// log in far more often than `login_per_ip`, in sequence and in parallel.
#[tokio::test]
async fn successful_logins_from_one_address_are_not_counted_against_it() {
    let app = TestApp::spawn_with(|c| c.throttle.login_per_ip = 5).await;
    for i in 0..4 {
        app.signed_up(&format!("colleague{i}")).await;
    }
    for round in 0..6 {
        let attempts = (0..4).map(|i| {
            let name = format!("colleague{i}");
            let app = &app;
            async move { app.login_as(&new_client(), &name, PASSWORD).await.status().as_u16() }
        });
        let statuses = futures::future::join_all(attempts).await;
        assert_eq!(statuses, vec![200; 4], "round {round}");
    }
}
