//! Account recovery by email, through a real SMTP server (tests/api/smtp.rs): mails are
//! read as delivered and their links followed.

use std::time::{Duration, Instant};

use latchkey::config::Config;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::smtp::SmtpSink;

const NEW_PASSWORD: &str = "amber-falcon-meadow";

fn with_mail(config: &mut Config, url: String) {
    config.smtp.url = Some(url);
    config.smtp.from = Some("latchkey <auth@example.com>".into());
    config.smtp.timeout = latchkey::config::Dur::from_secs(2);
    config.throttle.email_per_ip = 10_000;
}

async fn spawn_with_sink(adjust: impl FnOnce(&mut Config)) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| {
        with_mail(c, url);
        adjust(c);
    })
    .await;
    (app, sink)
}

pub async fn signup_with_email(
    app: &TestApp,
    client: &reqwest::Client,
    username: &str,
    email: &str,
) -> reqwest::Response {
    client
        .post(app.url("/api/signup"))
        .json(&json!({"username": username, "password": PASSWORD, "email": email}))
        .send()
        .await
        .unwrap()
}

async fn forgot(app: &TestApp, login: &str) -> reqwest::Response {
    new_client().post(app.url("/api/password/forgot")).json(&json!({"username": login})).send().await.unwrap()
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    new_client()
        .post(app.url("/api/password/reset"))
        .json(&json!({"token": token, "new_password": password}))
        .send()
        .await
        .unwrap()
}

async fn verify(app: &TestApp, token: &str) -> reqwest::Response {
    new_client().post(app.url("/api/email/verify")).json(&json!({"token": token})).send().await.unwrap()
}

async fn audit_kinds(app: &TestApp) -> Vec<String> {
    let admin = new_client();
    latchkey::service::accounts::create_user(&app.state.ctx, "auditor", None, PASSWORD, true).await.unwrap();
    assert_eq!(app.login_as(&admin, "auditor", PASSWORD).await.status(), 200);
    let events: Value = admin.get(app.url("/api/audit?limit=200")).send().await.unwrap().json().await.unwrap();
    events["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn signup_mails_a_link_that_verifies_the_address_once() {
    let (app, sink) = spawn_with_sink(|_| {}).await;
    let r = signup_with_email(&app, &app.client, "ada", "Ada@Example.com").await;
    assert_eq!(r.status(), 201);
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["email_verified"], false);

    let mail = sink.wait_for("Ada@Example.com", 0).await;
    assert_eq!(mail.from, "auth@example.com");
    assert_eq!(mail.subject(), format!("Confirm your email address for {}", app.base));
    assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"), "{}", mail.data);
    let link = mail.link(&format!("{}/verify-email#token=", app.base));
    let token = mail.token("verify-email");
    assert_eq!(token.len(), 43, "{link}");

    let r = verify(&app, &token).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["email_verified"], true);
    let me: Value = app.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["email_verified"], true, "the cached user was dropped");

    assert_error(verify(&app, &token).await, 400, "invalid_link").await;
    assert_error(verify(&app, "not-a-token").await, 400, "invalid_link").await;
    assert_error(verify(&app, &"A".repeat(43)).await, 400, "invalid_link").await;
    assert!(audit_kinds(&app).await.contains(&"email_verified".to_string()));
}

#[tokio::test]
async fn a_verification_link_expires_after_24_hours_and_a_resent_one_replaces_it() {
    let (app, sink) = spawn_with_sink(|c| c.throttle.email_per_account = 2).await;
    assert_eq!(signup_with_email(&app, &app.client, "bea", "bea@example.com").await.status(), 201);
    let first = sink.wait_for("bea@example.com", 0).await.token("verify-email");

    let r = app.client.post(app.url("/api/email/verify/resend")).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let second = sink.wait_for("bea@example.com", 1).await.token("verify-email");
    assert_ne!(first, second);
    assert_error(verify(&app, &first).await, 400, "invalid_link").await;

    // The signup's mail and that resend spent the account's two mails of the hour.
    let r = app.client.post(app.url("/api/email/verify/resend")).send().await.unwrap();
    assert!(r.headers().contains_key("retry-after"));
    assert_error(r, 429, "rate_limited").await;

    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert_error(verify(&app, &second).await, 400, "invalid_link").await;
    let r = new_client().post(app.url("/api/email/verify/resend")).send().await.unwrap();
    assert_error(r, 401, "unauthorized").await;
}

#[tokio::test]
async fn forgot_mails_a_reset_link_that_sets_a_new_password_and_ends_every_session() {
    let (app, sink) = spawn_with_sink(|_| {}).await;
    assert_eq!(signup_with_email(&app, &app.client, "cyd", "cy@example.com").await.status(), 201);
    let tokens = app.tokens("cyd", PASSWORD).await;

    let r = forgot(&app, "CY@example.com").await;
    assert_eq!(r.status(), 202);
    assert!(r.text().await.unwrap().is_empty());
    let mail = sink.wait_for("cy@example.com", 1).await;
    assert_eq!(mail.subject(), format!("Reset your password for {}", app.base));
    let token = mail.token("reset-password");

    assert_error(reset(&app, &token, "short").await, 422, "validation_failed").await;
    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.status(), 204);
    assert_error(reset(&app, &token, "another-fine-password").await, 400, "invalid_link").await;

    assert_error(app.get("/api/me").await, 401, "unauthorized").await;
    assert_error(app.refresh(tokens["refresh_token"].as_str().unwrap()).await, 401, "invalid_token").await;
    assert_error(app.login("cyd", PASSWORD).await, 401, "invalid_credentials").await;
    assert_eq!(app.login("cyd", NEW_PASSWORD).await.status(), 200);
    let kinds = audit_kinds(&app).await;
    assert!(
        kinds.contains(&"password_reset_requested".into()) && kinds.contains(&"password_reset".into()),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_reset_link_lasts_30_minutes_and_a_newer_one_ends_it() {
    let (app, sink) = spawn_with_sink(|_| {}).await;
    assert_eq!(signup_with_email(&app, &app.client, "dee", "dee@example.com").await.status(), 201);
    assert_eq!(forgot(&app, "dee").await.status(), 202);
    let first = sink.wait_for("dee@example.com", 1).await.token("reset-password");
    assert_eq!(forgot(&app, "dee@example.com").await.status(), 202);
    let second = sink.wait_for("dee@example.com", 2).await.token("reset-password");
    assert_error(reset(&app, &first, NEW_PASSWORD).await, 400, "invalid_link").await;

    app.clock.advance(Duration::from_secs(30 * 60 + 1));
    assert_error(reset(&app, &second, NEW_PASSWORD).await, 400, "invalid_link").await;
    assert_eq!(app.login("dee", PASSWORD).await.status(), 200, "the password is unchanged");
}

#[tokio::test]
async fn smtp_down_while_a_reset_is_requested_the_mail_arrives_once_it_is_back() {
    let port = SmtpSink::free_port().await;
    let app = TestApp::spawn_with(|c| with_mail(c, format!("smtp://127.0.0.1:{port}"))).await;
    latchkey::service::accounts::create_user(&app.state.ctx, "eve", Some("eve@example.com"), PASSWORD, false)
        .await
        .unwrap();
    let started = Instant::now();
    let r = forgot(&app, "eve").await;
    assert_eq!(r.status(), 202);
    assert!(started.elapsed() < Duration::from_secs(1), "a stopped mail server does not slow the answer");

    // Both mails (verification, reset) fail and wait for their retry.
    let started = Instant::now();
    loop {
        let queued = app.state.ctx.store.count_queued_mails().await.unwrap();
        let metrics = app.get("/metrics").await.text().await.unwrap();
        if queued == 2 && metrics.contains("latchkey_mails_failed_total") {
            assert!(metrics.contains("latchkey_mails_queued 2"), "{metrics}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the mails were not tried ({queued} queued)");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let sink = SmtpSink::start_on(port).await;
    app.clock.advance(Duration::from_secs(60));
    let token = sink.wait_for_link("eve@example.com", "reset-password").await.token("reset-password");
    sink.wait_for_link("eve@example.com", "verify-email").await;
    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.status(), 204);
    assert_eq!(app.login("eve", NEW_PASSWORD).await.status(), 200);
    assert_eq!(app.state.ctx.store.count_queued_mails().await.unwrap(), 0);
    assert!(app.get("/metrics").await.text().await.unwrap().contains("latchkey_mails_sent_total"));
}

#[tokio::test]
async fn forgot_answers_alike_for_every_account_and_mails_only_those_with_an_address() {
    let (app, sink) = spawn_with_sink(|_| {}).await;
    assert_eq!(signup_with_email(&app, &app.client, "fay", "fay@example.com").await.status(), 201);
    app.signed_up("noaddress").await;
    for login in ["fay", "noaddress", "nobody", "nobody@example.com"] {
        let r = forgot(&app, login).await;
        assert_eq!(r.status(), 202, "{login}");
        assert_eq!(r.text().await.unwrap(), "", "{login}");
    }
    sink.wait_for("fay@example.com", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 2, "the signup mail and fay's reset only");
    assert_error(forgot(&app, "").await, 422, "validation_failed").await;
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Issue 10: the answer to `forgot` takes the same time whether or not the account exists
/// (measured over 200 tries each, interleaved so both kinds meet the same load).
#[tokio::test]
async fn forgot_takes_the_same_time_for_existing_and_unknown_accounts() {
    let (app, sink) = spawn_with_sink(|c| c.throttle.email_per_account = 1000).await;
    assert_eq!(signup_with_email(&app, &app.client, "gus", "gus@example.com").await.status(), 201);
    let client = new_client();
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..200 {
        for (login, times) in [("gus@example.com", &mut known), ("nobody-here@example.com", &mut unknown)] {
            let started = Instant::now();
            let r =
                client.post(app.url("/api/password/forgot")).json(&json!({"username": login})).send().await.unwrap();
            assert_eq!(r.status(), 202, "try {i}");
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (k, u) = (median(known), median(unknown));
    println!("forgot over 200 tries each: median {k:.3} ms for an existing account, {u:.3} ms for none (difference {:.3} ms)", k - u);
    assert!((k - u).abs() < 1.0 + 0.25 * k.min(u), "timing tells the accounts apart: {k:.3} ms vs {u:.3} ms");
    sink.wait_for("gus@example.com", 10).await;
}

#[tokio::test]
async fn an_address_change_needs_the_password_confirms_the_new_address_and_tells_the_old_one() {
    let (app, sink) = spawn_with_sink(|_| {}).await;
    assert_eq!(signup_with_email(&app, &app.client, "hal", "hal@example.com").await.status(), 201);
    assert_eq!(app.signup_as(&new_client(), "other", PASSWORD).await.status(), 201);
    let verify_token = sink.wait_for("hal@example.com", 0).await.token("verify-email");
    assert_eq!(verify(&app, &verify_token).await.status(), 200);
    let change = |body: Value| app.client.put(app.url("/api/me/email")).json(&body).send();

    let r = change(json!({"current_password": "wrong-password-here", "new_email": "hal@example.org"})).await.unwrap();
    assert_error(r, 401, "invalid_credentials").await;
    let r = change(json!({"current_password": PASSWORD, "new_email": "not an address"})).await.unwrap();
    assert_error(r, 422, "validation_failed").await;
    let r = change(json!({"current_password": PASSWORD, "new_email": "HAL@example.com"})).await.unwrap();
    assert_error(r, 422, "validation_failed").await;
    let r = change(json!({"current_password": PASSWORD, "new_email": "hal@example.org"})).await.unwrap();
    assert_eq!(r.status(), 202);

    let mail = sink.wait_for("hal@example.org", 0).await;
    assert_eq!(mail.subject(), format!("Confirm your new email address for {}", app.base));
    let me: Value = app.get("/api/me").await.json().await.unwrap();
    assert_eq!((me["email"].as_str(), me["email_verified"].as_bool()), (Some("hal@example.com"), Some(true)));
    assert_error(app.login_as(&new_client(), "hal@example.org", PASSWORD).await, 401, "invalid_credentials").await;

    let r = verify(&app, &mail.token("verify-email")).await;
    assert_eq!(r.status(), 200);
    let user: Value = r.json().await.unwrap();
    assert_eq!((user["email"].as_str(), user["email_verified"].as_bool()), (Some("hal@example.org"), Some(true)));
    assert_eq!(app.login_as(&new_client(), "hal@example.org", PASSWORD).await.status(), 200);
    assert_error(app.login_as(&new_client(), "hal@example.com", PASSWORD).await, 401, "invalid_credentials").await;

    let notice = sink.wait_for("hal@example.com", 1).await;
    assert_eq!(notice.subject(), format!("Your email address at {} was changed", app.base));
    assert!(notice.data.contains("hal@example.org"), "{}", notice.data);

    let other = new_client();
    assert_eq!(app.login_as(&other, "other", PASSWORD).await.status(), 200);
    let r = other
        .put(app.url("/api/me/email"))
        .json(&json!({"current_password": PASSWORD, "new_email": "Hal@Example.org"}))
        .send()
        .await
        .unwrap();
    assert_error(r, 409, "email_taken").await;
    let kinds = audit_kinds(&app).await;
    assert!(kinds.contains(&"email_change_requested".into()) && kinds.contains(&"email_changed".into()), "{kinds:?}");
}

#[tokio::test]
async fn an_address_no_mail_can_be_sent_to_is_refused_where_it_would_be_kept() {
    // Each of these has one `@` and no whitespace, and each used to be accepted: its
    // verification mail was then given up, and the account could never be recovered.
    let (app, sink) = spawn_with_sink(|_| {}).await;
    let undeliverable = ["ada(home)@example.com", "a<b@example.com", "ada@example-.com", "ada@[127.0.0.1]"];
    for email in undeliverable {
        let err =
            assert_error(signup_with_email(&app, &new_client(), "ada", email).await, 422, "validation_failed").await;
        assert!(err["fields"]["email"].is_string(), "{email}: {err}");
    }
    assert_eq!(signup_with_email(&app, &app.client, "ada", "ada@example.com").await.status(), 201);
    for email in undeliverable {
        let body = json!({"current_password": PASSWORD, "new_email": email});
        let r = app.client.put(app.url("/api/me/email")).json(&body).send().await.unwrap();
        let err = assert_error(r, 422, "validation_failed").await;
        assert!(err["fields"]["new_email"].is_string(), "{email}: {err}");
    }
    // What RFC 5322 allows stays allowed, and its mail goes out.
    let unusual = "o'brien+latchkey@mail.example.ie";
    assert_eq!(signup_with_email(&app, &new_client(), "obrien", unusual).await.status(), 201);
    sink.wait_for(unusual, 0).await;
}

#[tokio::test]
async fn with_verified_email_required_login_waits_for_the_link() {
    let (app, sink) = spawn_with_sink(|c| c.signup.require_verified_email = true).await;
    let r = signup_with_email(&app, &app.client, "ivy", "ivy@example.com").await;
    assert_eq!(r.status(), 201);
    assert!(session_set_cookie(&r).is_none(), "no session before the address is verified");
    assert_error(app.login("ivy", PASSWORD).await, 403, "email_not_verified").await;
    assert_error(app.login("ivy", "wrong-password-here").await, 401, "invalid_credentials").await;
    let r = new_client().post(app.url("/api/token")).json(&json!({"username": "ivy", "password": PASSWORD})).send();
    assert_error(r.await.unwrap(), 403, "email_not_verified").await;

    let token = sink.wait_for("ivy@example.com", 0).await.token("verify-email");
    assert_eq!(verify(&app, &token).await.status(), 200);
    assert_eq!(app.login("ivy", PASSWORD).await.status(), 200);
    let r = app.signup("noemail").await;
    assert!(session_set_cookie(&r).is_some(), "accounts without an address are not held back");
    let features: Value = app.get("/api/features").await.json().await.unwrap();
    assert_eq!(
        features,
        json!({"signup": true, "email": true, "require_verified_email": true, "passkeys": true,
            "passkey_rp_id": "localhost", "providers": []})
    );
}

#[tokio::test]
async fn without_smtp_the_mail_endpoints_answer_email_unavailable() {
    let app = TestApp::spawn().await;
    let features: Value = app.get("/api/features").await.json().await.unwrap();
    assert_eq!(features["email"], false);
    let r = signup_with_email(&app, &app.client, "joe", "jo@example.com").await;
    assert_eq!(r.status(), 201);
    let r = forgot(&app, "joe").await;
    assert!(r.headers().get("retry-after").is_none());
    assert_error(r, 503, "email_unavailable").await;
    let r = app.client.post(app.url("/api/email/verify/resend")).send().await.unwrap();
    assert_error(r, 503, "email_unavailable").await;
    let r = app
        .client
        .put(app.url("/api/me/email"))
        .json(&json!({"current_password": PASSWORD, "new_email": "jo@example.org"}))
        .send()
        .await
        .unwrap();
    assert_error(r, 503, "email_unavailable").await;

    // The operator's link works without mail.
    let id = latchkey::service::users::user_id_by_username(&app.state.ctx, "joe").await.unwrap();
    let link = latchkey::service::recovery::reset_link(&app.state.ctx, id).await.unwrap();
    let token = link.strip_prefix(&format!("{}/reset-password#token=", app.base)).expect("a link to the reset page");
    assert_eq!(reset(&app, token, NEW_PASSWORD).await.status(), 204);
    assert_eq!(app.login("joe", NEW_PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn recovery_requests_from_other_sites_are_refused() {
    let (app, _sink) = spawn_with_sink(|_| {}).await;
    for path in ["/api/password/forgot", "/api/password/reset", "/api/email/verify"] {
        let r = new_client()
            .post(app.url(path))
            .header("origin", "https://evil.example")
            .json(&json!({"username": "x", "token": "x", "new_password": "x"}))
            .send()
            .await
            .unwrap();
        assert_error(r, 403, "csrf_rejected").await;
    }
}

#[tokio::test]
async fn the_openapi_document_names_every_recovery_route() {
    let app = TestApp::spawn().await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    for (path, method) in [
        ("/api/features", "get"),
        ("/api/email/verify", "post"),
        ("/api/email/verify/resend", "post"),
        ("/api/password/forgot", "post"),
        ("/api/password/reset", "post"),
        ("/api/me/email", "put"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    assert!(doc["paths"]["/api/password/forgot"]["post"]["responses"]["503"].is_object());
    assert!(doc["components"]["schemas"]["User"]["properties"]["email_verified"].is_object());
}
