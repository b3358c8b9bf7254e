//! Bad input gets a documented error code, never a 5xx, and nothing is lost.

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

#[tokio::test]
async fn malformed_json_and_wrong_types_are_400() {
    let app = TestApp::spawn().await;
    let json_ct = Some("application/json");
    for body in [
        &b"{"[..],
        b"not json",
        b"[1, 2, 3]",
        b"\"ada\"",
        br#"{"username": 5, "password": "violet-otter-harbour"}"#,
        br#"{"username": "ada", "password": ["a"]}"#,
        br#"{"username": "ada", "password": {"$ne": null}}"#,
        b"\xff\xfe{}",
        b"",
    ] {
        for path in ["/api/signup", "/api/login"] {
            let r = raw_post(&app, path, json_ct, body.to_vec()).await;
            assert_error(r, 400, "bad_request").await;
        }
    }
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    assert_error(raw_post(&app, "/api/login", json_ct, deep.into_bytes()).await, 400, "bad_request").await;
}

#[tokio::test]
async fn type_errors_name_the_problem_but_not_our_types() {
    let app = TestApp::spawn().await;
    let r = raw_post(&app, "/api/signup", Some("application/json"), b"[]".to_vec()).await;
    let body = assert_error(r, 400, "bad_request").await;
    let message = body["message"].as_str().unwrap();
    assert!(!message.contains("Request") && !message.contains("struct"), "{message}");
    let r = raw_post(&app, "/api/login", Some("application/json"), br#"{"username": 5}"#.to_vec()).await;
    let body = assert_error(r, 400, "bad_request").await;
    assert!(body["message"].as_str().unwrap().contains("expected a string"), "{body}");
}

#[tokio::test]
async fn json_endpoints_want_a_json_content_type() {
    let app = TestApp::spawn().await;
    let body = br#"{"username": "ada", "password": "violet-otter-harbour"}"#.to_vec();
    for ct in [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data")] {
        let r = raw_post(&app, "/api/signup", ct, body.clone()).await;
        assert_error(r, 415, "unsupported_media_type").await;
    }
    let r = raw_post(&app, "/api/signup", Some("application/json; charset=utf-8"), body).await;
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn bodies_over_one_mib_are_413() {
    let app = TestApp::spawn().await;
    let big = json!({"username": "ada", "password": "x".repeat(1024 * 1024 + 10)}).to_string();
    assert_error(
        raw_post(&app, "/api/signup", Some("application/json"), big.into_bytes()).await,
        413,
        "payload_too_large",
    )
    .await;
}

#[tokio::test]
async fn oversized_login_fields_are_plain_failures() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let r = app.login("a".repeat(100_000).as_str(), PASSWORD).await;
    assert_error(r, 401, "invalid_credentials").await;
    let r = app.login("ada", &"p".repeat(500_000)).await;
    assert_error(r, 401, "invalid_credentials").await;
    let r = app.post_json("/api/login", &json!({"username": "ada\u{0}", "password": PASSWORD})).await;
    assert_error(r, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn nul_bytes_and_unicode_tricks_are_validation_errors() {
    let app = TestApp::spawn().await;
    for (username, password) in
        [("ada\u{0}", PASSWORD), ("аda", PASSWORD), ("ada", "violet\u{0}otter-harbour"), ("ada\u{202e}", PASSWORD)]
    {
        let r = app.post_json("/api/signup", &json!({"username": username, "password": password})).await;
        assert_error(r, 422, "validation_failed").await;
    }
}

/// Sends raw bytes and returns the status line's code: cookies reqwest would refuse.
async fn raw_request(app: &TestApp, request: &[u8]) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status in {head:?}"))
}

#[tokio::test]
async fn forged_cookies_are_anonymous_never_an_error() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let forged: Vec<Vec<u8>> = vec![
        b"latchkey_session=".to_vec(),
        b"latchkey_session=x".to_vec(),
        format!("latchkey_session={}", "A".repeat(43)).into_bytes(),
        format!("latchkey_session={}", "A".repeat(5000)).into_bytes(),
        b"latchkey_session=\xc3\xa9\xff\xfe".to_vec(),
        b"latchkey_session=\"quoted\"; latchkey_session=; =; ;;".to_vec(),
        b"latchkey_session='; DROP TABLE users; --".to_vec(),
    ];
    for cookie in forged {
        let mut check = b"GET /api/check_session HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: ".to_vec();
        check.extend_from_slice(&cookie);
        check.extend_from_slice(b"\r\n\r\n");
        assert_eq!(raw_request(&app, &check).await, 204, "{}", String::from_utf8_lossy(&cookie));
        let mut me = b"GET /api/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: ".to_vec();
        me.extend_from_slice(&cookie);
        me.extend_from_slice(b"\r\n\r\n");
        assert_eq!(raw_request(&app, &me).await, 401, "{}", String::from_utf8_lossy(&cookie));
    }
    assert_eq!(app.login_as(&new_client(), "ada", PASSWORD).await.status(), 200, "nothing was lost");
}

#[tokio::test]
async fn a_storm_of_bad_requests_leaves_no_5xx_and_no_lost_write() {
    let app = TestApp::spawn().await;
    let users: Vec<Value> = futures::future::join_all((0..5).map(|i| {
        let client = new_client();
        let url = app.url("/api/signup");
        async move {
            let r = client
                .post(url)
                .json(&json!({"username": format!("user{i}"), "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.unwrap()
        }
    }))
    .await;
    let bad = (0..60).map(|i| {
        let client = new_client();
        let base = app.base.clone();
        async move {
            let r = match i % 4 {
                0 => {
                    client.post(format!("{base}/api/login")).header("content-type", "application/json").body("{").send()
                }
                1 => client
                    .post(format!("{base}/api/signup"))
                    .json(&json!({"username": "user1", "password": PASSWORD}))
                    .send(),
                2 => client.delete(format!("{base}/api/me/sessions/999")).send(),
                _ => client.put(format!("{base}/api/me/password")).json(&json!({"new_password": 1})).send(),
            };
            r.await.unwrap().status().as_u16()
        }
    });
    for status in futures::future::join_all(bad).await {
        assert!((400..500).contains(&status), "{status}");
    }
    for u in users {
        let name = u["username"].as_str().unwrap();
        assert_eq!(app.login_as(&new_client(), name, PASSWORD).await.status(), 200, "{name}");
    }
}
