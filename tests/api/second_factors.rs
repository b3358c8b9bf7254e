//! API.md "Second factors": TOTP enrolment, two-step logins (cookie and token),
//! recovery codes, replay, drift and throttling, step-up and re-authentication.
//! TOTP codes are computed from the enrolled secret with the RFC 6238 function that a
//! unit test checks against the RFC's own vector.

use std::time::Duration;

use latchkey::crypto::jwt::Claims;
use reqwest::Client;
use serde_json::{json, Value};

use crate::helpers::*;

const STEP: i64 = 30;

/// The code of the step `offset` steps away from the app's now.
fn code(app: &TestApp, secret: &str, offset: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_string()).to_bytes().expect("base32 secret");
    latchkey::crypto::otp::code_at_step(&bytes, app.clock.now() / STEP + offset).expect("code")
}

/// Moves the app's clock to the start of the next step, so a test has 29 seconds
/// before the step changes under it.
fn start_of_next_step(app: &TestApp) {
    let into = app.clock.now_ms().rem_euclid(STEP * 1000);
    app.clock.advance(Duration::from_millis((STEP * 1000 - into + 100) as u64));
}

/// Signs `username` up on `client` and enables TOTP; returns the secret and the
/// recovery codes. The step used to confirm is spent.
async fn enrolled(app: &TestApp, client: &Client, username: &str) -> (String, Vec<String>) {
    assert_eq!(app.signup_as(client, username, PASSWORD).await.status(), 201);
    let r = client.post(app.url("/api/me/totp")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let enrolment: Value = r.json().await.unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_string();
    let url = enrolment["otpauth_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("otpauth://totp/latchkey:{username}?")), "{url}");
    assert!(url.contains(&format!("secret={secret}")), "{url}");
    let r = client.post(app.url("/api/me/totp/confirm")).json(&json!({"code": code(app, &secret, 0)})).send().await;
    let r = r.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let codes: Vec<String> =
        body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    (secret, codes)
}

/// The first step of a cookie login for an account with a factor: the challenge.
async fn first_step(app: &TestApp, client: &Client, username: &str) -> String {
    let r = app.login_as(client, username, PASSWORD).await;
    assert!(session_set_cookie(&r).is_none(), "no session before the second step");
    let body = assert_error(r, 401, "second_factor_required").await;
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    assert_eq!(body["expires_in"], 300);
    body["challenge"].as_str().unwrap().to_string()
}

async fn second_step(app: &TestApp, client: &Client, body: Value) -> reqwest::Response {
    client.post(app.url("/api/login/second-factor")).json(&body).send().await.unwrap()
}

async fn audit_kinds(app: &TestApp) -> Vec<String> {
    latchkey::service::accounts::create_user(&app.state.ctx, "auditor", None, PASSWORD, true).await.unwrap();
    let admin = new_client();
    assert_eq!(app.login_as(&admin, "auditor", PASSWORD).await.status(), 200);
    let body: Value = admin.get(app.url("/api/audit?limit=200")).send().await.unwrap().json().await.unwrap();
    body["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn enrolment_is_active_only_after_a_correct_code() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let r = app.post_json("/api/me/totp", &json!({})).await;
    assert_eq!(r.status(), 200);
    let secret = r.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_string();
    let status: Value = app.get("/api/me/second-factors").await.json().await.unwrap();
    assert_eq!(status["totp_enabled"], false);
    assert_eq!(status["totp_pending"], true);
    assert_eq!(app.login_as(&new_client(), "ada", PASSWORD).await.status(), 200, "pending: still one step");

    let wrong = if code(&app, &secret, 0) == "000000" { "111111" } else { "000000" };
    assert_error(app.post_json("/api/me/totp/confirm", &json!({"code": wrong})).await, 401, "invalid_code").await;
    let r = app.post_json("/api/me/totp/confirm", &json!({"code": code(&app, &secret, 0)})).await;
    assert_eq!(r.status(), 200);
    let codes: Value = r.json().await.unwrap();
    let codes = codes["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let status: Value = app.get("/api/me/second-factors").await.json().await.unwrap();
    assert_eq!(
        status,
        json!({"totp_enabled": true, "totp_pending": false, "recovery_codes_left": 10, "passkeys": 0, "methods": ["totp", "recovery_code"]})
    );
    assert_error(app.post_json("/api/me/totp", &json!({})).await, 409, "second_factor_enabled").await;
}

#[tokio::test]
async fn a_cookie_login_with_totp_takes_two_steps_and_then_looks_like_any_login() {
    let app = TestApp::spawn().await;
    start_of_next_step(&app);
    let (secret, _) = enrolled(&app, &new_client(), "ada").await;
    app.clock.advance(Duration::from_secs(STEP as u64));
    let browser = new_client();
    let challenge = first_step(&app, &browser, "ada").await;
    assert_error(browser.get(app.url("/api/me")).send().await.unwrap(), 401, "unauthorized").await;
    assert_eq!(browser.get(app.url("/api/check_session")).send().await.unwrap().status(), 204);

    let r = second_step(&app, &browser, json!({"challenge": challenge, "code": code(&app, &secret, 0)})).await;
    assert_eq!(r.status(), 200);
    assert!(session_set_cookie(&r).is_some());
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["username"], "ada");
    assert_eq!(browser.get(app.url("/api/me")).send().await.unwrap().status(), 200);

    let kinds = audit_kinds(&app).await;
    for kind in ["second_factor_required", "login_succeeded", "totp_enabled"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn a_code_is_accepted_once_and_within_one_step_of_drift() {
    let app = TestApp::spawn().await;
    start_of_next_step(&app);
    let (secret, _) = enrolled(&app, &new_client(), "ada").await;
    // The confirmation spent this step's code: it is a replay now, as is the step before.
    for offset in [0, -1] {
        let browser = new_client();
        let challenge = first_step(&app, &browser, "ada").await;
        let r = second_step(&app, &browser, json!({"challenge": challenge, "code": code(&app, &secret, offset)})).await;
        assert_error(r, 401, "invalid_code").await;
    }
    let browser = new_client();
    let challenge = first_step(&app, &browser, "ada").await;
    let r = second_step(&app, &browser, json!({"challenge": challenge, "code": code(&app, &secret, 2)})).await;
    assert_error(r, 401, "invalid_code").await;
    let next = code(&app, &secret, 1);
    let r = second_step(&app, &browser, json!({"challenge": challenge, "code": next})).await;
    assert_eq!(r.status(), 200, "one step ahead is accepted, with the same challenge after wrong codes");

    let other = new_client();
    let challenge = first_step(&app, &other, "ada").await;
    let r = second_step(&app, &other, json!({"challenge": challenge, "code": next})).await;
    assert_error(r, 401, "invalid_code").await;

    app.clock.advance(Duration::from_secs(3 * STEP as u64));
    let r = second_step(&app, &other, json!({"challenge": challenge, "code": code(&app, &secret, -1)})).await;
    assert_eq!(r.status(), 200, "one step behind is accepted");
}

#[tokio::test]
async fn recovery_codes_finish_a_login_once_each() {
    let app = TestApp::spawn().await;
    let (_, codes) = enrolled(&app, &new_client(), "ada").await;
    let browser = new_client();
    let challenge = first_step(&app, &browser, "ada").await;
    let typed = codes[3].to_uppercase().replace('-', " ");
    let r = second_step(&app, &browser, json!({"challenge": challenge, "recovery_code": typed})).await;
    assert_eq!(r.status(), 200);

    let other = new_client();
    let challenge = first_step(&app, &other, "ada").await;
    let r = second_step(&app, &other, json!({"challenge": challenge, "recovery_code": codes[3]})).await;
    assert_error(r, 401, "invalid_code").await;
    let r =
        second_step(&app, &other, json!({"challenge": challenge, "recovery_code": codes[4], "code": "123456"})).await;
    assert_error(r, 422, "validation_failed").await;
    let r = second_step(&app, &other, json!({"challenge": challenge, "recovery_code": codes[4]})).await;
    assert_eq!(r.status(), 200);
    let status: Value = other.get(app.url("/api/me/second-factors")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["recovery_codes_left"], 8);
    assert!(audit_kinds(&app).await.iter().any(|k| k == "recovery_code_used"));
}

#[tokio::test]
async fn a_challenge_is_single_use_bound_to_its_browser_and_route_and_expires() {
    let app = TestApp::spawn().await;
    let (_, codes) = enrolled(&app, &new_client(), "ada").await;
    let browser = new_client();
    let challenge = first_step(&app, &browser, "ada").await;

    // Not a credential anywhere else.
    assert_error(app.get_bearer("/api/me", &challenge).await, 401, "invalid_token").await;
    let r = new_client()
        .post(app.url("/api/token/second-factor"))
        .json(&json!({"challenge": challenge, "recovery_code": codes[0]}))
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "invalid_challenge").await;
    // Another browser (without the binding cookie) cannot finish it.
    let r = second_step(&app, &new_client(), json!({"challenge": challenge, "recovery_code": codes[0]})).await;
    assert_error(r, 401, "invalid_challenge").await;

    assert_eq!(
        second_step(&app, &browser, json!({"challenge": challenge, "recovery_code": codes[0]})).await.status(),
        200
    );
    let r = second_step(&app, &browser, json!({"challenge": challenge, "recovery_code": codes[1]})).await;
    assert_error(r, 401, "invalid_challenge").await;

    let late = new_client();
    let challenge = first_step(&app, &late, "ada").await;
    app.clock.advance(Duration::from_secs(301));
    let r = second_step(&app, &late, json!({"challenge": challenge, "recovery_code": codes[1]})).await;
    assert_error(r, 401, "invalid_challenge").await;
    let r = second_step(&app, &late, json!({"challenge": "not-a-challenge", "recovery_code": codes[1]})).await;
    assert_error(r, 401, "invalid_challenge").await;
}

#[tokio::test]
async fn a_token_login_takes_two_steps_from_the_same_client_and_carries_amr() {
    // The app's clock stays put: the JWT library checks `nbf` against the real clock.
    // The next step's code is within the drift allowed.
    let app = TestApp::spawn().await;
    let (secret, codes) = enrolled(&app, &new_client(), "ada").await;
    let api = Client::builder().user_agent("script/1.0").build().unwrap();
    let r = api.post(app.url("/api/token")).json(&json!({"username": "ada", "password": PASSWORD})).send().await;
    let body = assert_error(r.unwrap(), 401, "second_factor_required").await;
    assert!(body.get("access_token").is_none());
    let challenge = body["challenge"].as_str().unwrap();

    let stranger = Client::builder().user_agent("other/2.0").build().unwrap();
    let r = stranger
        .post(app.url("/api/token/second-factor"))
        .json(&json!({"challenge": challenge, "recovery_code": codes[0]}))
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "invalid_challenge").await;
    let r = api
        .post(app.url("/api/login/second-factor"))
        .json(&json!({"challenge": challenge, "recovery_code": codes[0]}))
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "invalid_challenge").await;

    let r = api
        .post(app.url("/api/token/second-factor"))
        .json(&json!({"challenge": challenge, "code": code(&app, &secret, 1)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let pair: Value = r.json().await.unwrap();
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["amr"], json!(["pwd", "otp"]));
    assert_eq!(app.get_bearer("/api/me", access).await.status(), 200);

    let refreshed: Value = app.refresh(pair["refresh_token"].as_str().unwrap()).await.json().await.unwrap();
    let refreshed_claims = claims(refreshed["access_token"].as_str().unwrap());
    assert_eq!(refreshed_claims["amr"], json!(["pwd", "otp"]), "refresh keeps how the login authenticated");
    assert_eq!(refreshed_claims["auth_time"], claims(access)["auth_time"]);

    let plain = app.signed_up("bob").await;
    let tokens = app.tokens("bob", PASSWORD).await;
    assert_eq!(claims(tokens["access_token"].as_str().unwrap())["amr"], json!(["pwd"]));
    assert_eq!(tokens["user"]["id"], plain["id"]);
}

#[tokio::test]
async fn wrong_codes_are_throttled_per_account() {
    let app = TestApp::spawn_with(|c| c.throttle.login_per_account = 3).await;
    start_of_next_step(&app);
    let (secret, _) = enrolled(&app, &new_client(), "ada").await;
    app.clock.advance(Duration::from_secs(STEP as u64));
    let right = code(&app, &secret, 0);
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let browser = new_client();
    let challenge = first_step(&app, &browser, "ada").await;
    for _ in 0..3 {
        let r = second_step(&app, &browser, json!({"challenge": challenge, "code": wrong})).await;
        assert_error(r, 401, "invalid_code").await;
    }
    let r = second_step(&app, &browser, json!({"challenge": challenge, "code": right})).await;
    assert!(r.headers().contains_key("retry-after"));
    assert_error(r, 429, "rate_limited").await;
    let kinds = audit_kinds(&app).await;
    assert!(kinds.iter().filter(|k| *k == "second_factor_failed").count() >= 3, "{kinds:?}");
}

#[tokio::test]
async fn disabling_totp_needs_the_password_and_a_code_then_logins_are_one_step() {
    let app = TestApp::spawn().await;
    let owner = new_client();
    let (_, codes) = enrolled(&app, &owner, "ada").await;
    let disable = |body: Value| owner.post(app.url("/api/me/totp/disable")).json(&body).send();
    assert_error(disable(json!({"recovery_code": codes[0]})).await.unwrap(), 422, "validation_failed").await;
    let r = disable(json!({"password": "not-my-password", "recovery_code": codes[0]})).await.unwrap();
    assert_error(r, 401, "invalid_credentials").await;
    let r = disable(json!({"password": PASSWORD, "recovery_code": "aaaaa-aaaaa"})).await.unwrap();
    assert_error(r, 401, "invalid_code").await;
    assert_eq!(disable(json!({"password": PASSWORD, "recovery_code": codes[0]})).await.unwrap().status(), 204);
    assert_eq!(app.login_as(&new_client(), "ada", PASSWORD).await.status(), 200);
    assert!(audit_kinds(&app).await.iter().any(|k| k == "totp_disabled"));
}

#[tokio::test]
async fn an_admin_can_remove_a_users_second_factor() {
    let app = TestApp::spawn().await;
    enrolled(&app, &new_client(), "ada").await;
    assert_eq!(app.login_as(&new_client(), "ada", PASSWORD).await.status(), 401);
    let user = latchkey::service::users::user_id_by_username(&app.state.ctx, "ada").await.unwrap();
    app.admin("root").await;
    assert_eq!(app.delete(&format!("/api/users/{user}/second-factors")).await.status(), 204);
    assert_eq!(app.login_as(&new_client(), "ada", PASSWORD).await.status(), 200);
    assert_error(app.delete("/api/users/999999/second-factors").await, 404, "not_found").await;
    let ada = new_client();
    assert_eq!(app.login_as(&ada, "ada", PASSWORD).await.status(), 200);
    let r = ada.delete(app.url(&format!("/api/users/{user}/second-factors"))).send().await.unwrap();
    assert_error(r, 403, "forbidden").await;
    let events: Value = app.get("/api/audit?limit=200").await.json().await.unwrap();
    let removal = events["events"].as_array().unwrap().iter().find(|e| e["kind"] == "second_factor_removed").unwrap();
    assert_eq!(removal["user_id"], user);
    assert!(removal["actor_id"].is_i64());
}

#[tokio::test]
async fn sensitive_changes_need_a_recent_authentication_and_reauthenticate_renews_it() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    app.clock.advance(Duration::from_secs(6 * 60));
    let change = json!({"current_password": PASSWORD, "new_password": "quiet-lantern-meadow"});
    assert_error(app.put_json("/api/me/password", &change).await, 403, "reauthentication_required").await;
    assert_error(app.post_json("/api/me/totp", &json!({})).await, 403, "reauthentication_required").await;

    let r = app.post_json("/api/reauthenticate", &json!({})).await;
    assert_error(r, 422, "validation_failed").await;
    let r = app.post_json("/api/reauthenticate", &json!({"password": "not-my-password"})).await;
    assert_error(r, 401, "invalid_credentials").await;
    let r = app.post_json("/api/reauthenticate", &json!({"password": PASSWORD})).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["step_up_expires_in"], 300);
    assert!(body.get("access_token").is_none());
    assert_eq!(app.put_json("/api/me/password", &change).await.status(), 204);
    assert!(audit_kinds(&app).await.iter().any(|k| k == "reauthenticated"));
}

#[tokio::test]
async fn a_bearer_caller_reauthenticates_for_a_new_access_token() {
    let app = TestApp::spawn().await;
    let user = app.signed_up("ada").await;
    // A token from a login ten minutes ago. (Signed here rather than by moving the app's
    // clock: the JWT library checks `nbf` against the real clock.)
    let now = app.clock.now();
    let old = app
        .state
        .ctx
        .keys
        .current()
        .sign(&Claims {
            iss: app.state.ctx.config.public_url.clone(),
            aud: "latchkey".into(),
            sub: user["id"].to_string(),
            username: "ada".into(),
            roles: vec!["user".into()],
            iat: now,
            nbf: now,
            exp: now + 900,
            jti: "reauth-test".into(),
            amr: vec!["pwd".into()],
            auth_time: now - 600,
            sid: None,
        })
        .unwrap();
    let change = json!({"current_password": PASSWORD, "new_password": "quiet-lantern-meadow"});
    let put = |token: String| new_client().put(app.url("/api/me/password")).bearer_auth(token).json(&change).send();
    assert_error(put(old.clone()).await.unwrap(), 403, "reauthentication_required").await;
    let r = new_client()
        .post(app.url("/api/reauthenticate"))
        .bearer_auth(&old)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let fresh = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(body["expires_in"], 900);
    assert!(claims(&fresh)["auth_time"].as_i64().unwrap() >= now);
    assert_eq!(claims(&fresh)["amr"], json!(["pwd"]));
    assert_error(put(old).await.unwrap(), 403, "reauthentication_required").await;
    assert_eq!(put(fresh).await.unwrap().status(), 204);
}

#[tokio::test]
async fn a_totp_code_alone_can_reauthenticate() {
    let app = TestApp::spawn().await;
    start_of_next_step(&app);
    let owner = new_client();
    let (secret, _) = enrolled(&app, &owner, "ada").await;
    app.clock.advance(Duration::from_secs(6 * 60));
    assert_error(owner.post(app.url("/api/me/recovery-codes")).send().await.unwrap(), 403, "reauthentication_required")
        .await;
    let reauth = |body: Value| owner.post(app.url("/api/reauthenticate")).json(&body).send();
    assert_error(reauth(json!({"code": "12345"})).await.unwrap(), 401, "invalid_code").await;
    assert_eq!(reauth(json!({"code": code(&app, &secret, 0)})).await.unwrap().status(), 200);
    let r = owner.post(app.url("/api/me/recovery-codes")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let codes: Value = r.json().await.unwrap();
    assert_eq!(codes["recovery_codes"].as_array().unwrap().len(), 10);
}
