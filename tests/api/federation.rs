//! Logging in with an account elsewhere (issue 17, notes/federation-api.md): latchkey
//! against real upstream providers on this machine (tests/api/upstream.rs): panva's
//! oidc-provider as the OpenID Provider, a GitHub-shaped server for the preset, and a
//! forge of broken ID tokens for what a certified provider never sends.
//!
//! Every refusal is checked for its status and code, and for what it must not leave
//! behind: no session cookie, no logged-in browser, no new account, no identity linked.

use std::time::{Duration, Instant};

use latchkey::config::{Config, Dur};
use reqwest::{Client, Response};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::smtp::SmtpSink;
use crate::upstream::{self, callback, finish, location, log_in, start, started, through_provider, Login, Upstream};

// ---- Set-up ----

/// An account at the provider.
fn person(sub: &str, username: &str, email: &str, verified: bool) -> Value {
    json!({"sub": sub, "preferred_username": username, "email": email, "email_verified": verified})
}

fn ada() -> Value {
    person("ada-1", "ada", "ada@example.com", true)
}

/// latchkey with one OpenID Provider (oidc-provider) named `test`, with `accounts`.
async fn with_oidc(accounts: Value, adjust: impl FnOnce(&mut Config)) -> (TestApp, Upstream) {
    let op = Upstream::oidc(json!({"accounts": accounts})).await;
    let provider = op.provider("test");
    let app = TestApp::spawn_with(|c| {
        c.federation.providers.push(provider);
        adjust(c);
    })
    .await;
    op.allow(&[&app], "test").await;
    (app, op)
}

/// latchkey with the forge as provider `forge`.
async fn with_forge(config: Value, adjust: impl FnOnce(&mut Config)) -> (TestApp, Upstream) {
    let forge = Upstream::forge(config).await;
    let provider = forge.provider("forge");
    let app = TestApp::spawn_with(|c| {
        c.federation.providers.push(provider);
        adjust(c);
    })
    .await;
    forge.allow(&[&app], "forge").await;
    (app, forge)
}

fn trusting(config: &mut Config) {
    for p in &mut config.federation.providers {
        p.trust_email_verified = true;
    }
}

fn with_mail(config: &mut Config, url: String) {
    config.smtp.url = Some(url);
    config.smtp.from = Some("latchkey <auth@example.com>".into());
    config.smtp.timeout = Dur::from_secs(2);
    config.throttle.email_per_ip = 10_000;
}

/// An admin's view of the app: who has an account, what the audit log says.
struct Admin {
    client: Client,
}

impl Admin {
    async fn of(app: &TestApp) -> Admin {
        latchkey::service::accounts::create_user(&app.state.ctx, "root", None, PASSWORD, true).await.unwrap();
        let client = new_client();
        assert_eq!(app.login_as(&client, "root", PASSWORD).await.status(), 200);
        Admin { client }
    }

    /// Every account's username but the admin's, oldest first.
    async fn usernames(&self, app: &TestApp) -> Vec<String> {
        let page: Value = self.client.get(app.url("/api/users?limit=100")).send().await.unwrap().json().await.unwrap();
        let mut names: Vec<(i64, String)> = page["users"]
            .as_array()
            .unwrap_or_else(|| panic!("GET /api/users: {page}"))
            .iter()
            .map(|u| (u["id"].as_i64().unwrap(), u["username"].as_str().unwrap().to_string()))
            .filter(|(_, n)| n != "root")
            .collect();
        names.sort();
        names.into_iter().map(|(_, n)| n).collect()
    }

    async fn audit(&self, app: &TestApp) -> Vec<Value> {
        let log: Value = self.client.get(app.url("/api/audit?limit=200")).send().await.unwrap().json().await.unwrap();
        log["events"].as_array().unwrap_or_else(|| panic!("GET /api/audit: {log}")).clone()
    }

    async fn identities_of(&self, app: &TestApp, user_id: i64) -> Vec<Value> {
        let r = self.client.get(app.url(&format!("/api/users/{user_id}/identities"))).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["identities"].as_array().unwrap().clone()
    }
}

/// A refusal: `status` and `code`, no session cookie set, and the browser (which had no
/// session before) still logged out.
async fn refused(app: &TestApp, browser: &Client, r: Response, status: u16, code: &str) -> Value {
    assert!(session_set_cookie(&r).is_none(), "a refusal ({code}) set a session cookie");
    let body = assert_error(r, status, code).await;
    assert_eq!(browser.get(app.url("/api/me")).send().await.unwrap().status(), 401, "logged in after {code}");
    body
}

async fn json_of(r: Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

async fn my_identities(app: &TestApp, browser: &Client) -> Value {
    json_of(browser.get(app.url("/api/me/identities")).send().await.unwrap(), 200).await
}

async fn me(app: &TestApp, browser: &Client) -> Value {
    json_of(browser.get(app.url("/api/me")).send().await.unwrap(), 200).await
}

fn set_cookie(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// A local account with a password and `email`, verified through the mailed link.
async fn verified_account(app: &TestApp, sink: &SmtpSink, username: &str, email: &str) -> (Client, Value) {
    let browser = new_client();
    let r = browser
        .post(app.url("/api/signup"))
        .json(&json!({"username": username, "password": PASSWORD, "email": email}))
        .send()
        .await
        .unwrap();
    let user = json_of(r, 201).await;
    let token = sink.wait_for(email, 0).await.token("verify-email");
    let r = new_client().post(app.url("/api/email/verify")).json(&json!({"token": token})).send().await.unwrap();
    assert_eq!(json_of(r, 200).await["email_verified"], true);
    (browser, user)
}

/// A local account with a password and an unverified `email`.
async fn unverified_account(app: &TestApp, username: &str, email: &str) -> (Client, Value) {
    let browser = new_client();
    let r = browser
        .post(app.url("/api/signup"))
        .json(&json!({"username": username, "password": PASSWORD, "email": email}))
        .send()
        .await
        .unwrap();
    let user = json_of(r, 201).await;
    assert_eq!(user["email_verified"], false);
    (browser, user)
}

/// The forge's authorize URL for this flow with `forge_mode` chosen.
fn forged(authorize: &str, mode: &str) -> String {
    format!("{authorize}&forge_mode={mode}")
}

/// A login through the forge with `mode`, in a fresh browser: the continue answer.
async fn forge_login(app: &TestApp, mode: &str) -> (Client, Response) {
    let browser = new_client();
    let authorize = started(app, &browser, "forge").await;
    let trip = through_provider(&browser, &forged(&authorize, mode), "any").await;
    callback(&browser, &trip.callback).await;
    let r = finish(app, &browser, "session").await;
    (browser, r)
}

/// `POST /api/federation/{provider}/link` from a logged-in browser, through the
/// provider as `login`, and back: the continue answer.
async fn link<'a>(app: &TestApp, browser: &Client, provider: &str, login: impl Into<Login<'a>>) -> Response {
    let r = browser.post(app.url(&format!("/api/federation/{provider}/link"))).json(&json!({})).send().await.unwrap();
    assert!(set_cookie(&r, "latchkey_session_federation").is_some(), "link sets the federation cookie");
    let body = json_of(r, 200).await;
    let redirect = body["redirect"].as_str().unwrap_or_else(|| panic!("no redirect in {body}"));
    let trip = through_provider(browser, redirect, login).await;
    callback(browser, &trip.callback).await;
    finish(app, browser, "session").await
}

// ---- TOTP ----

const STEP: i64 = 30;

fn totp(app: &TestApp, secret: &str, offset: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_string()).to_bytes().expect("base32 secret");
    latchkey::crypto::otp::code_at_step(&bytes, app.clock.now() / STEP + offset).expect("code")
}

/// Moves the app's clock (at most 30 s) to just past the start of the next step.
fn start_of_next_step(app: &TestApp) {
    let into = app.clock.now_ms().rem_euclid(STEP * 1000);
    app.clock.advance(Duration::from_millis((STEP * 1000 - into + 100) as u64));
}

/// Enables TOTP for the browser's account (its login must be recent); the secret and the
/// recovery codes. This step's code is spent.
async fn enable_totp(app: &TestApp, browser: &Client) -> (String, Vec<String>) {
    let enrolment = json_of(browser.post(app.url("/api/me/totp")).send().await.unwrap(), 200).await;
    let secret = enrolment["secret"].as_str().unwrap().to_string();
    let r = browser.post(app.url("/api/me/totp/confirm")).json(&json!({"code": totp(app, &secret, 0)})).send().await;
    let body = json_of(r.unwrap(), 200).await;
    let codes = body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    (secret, codes)
}

// ---- Sign up, log in, the round trip's shape ----

#[tokio::test]
async fn signing_up_through_the_provider_then_logging_out_and_in_again_is_one_account() {
    let (app, op) = with_oidc(json!([ada()]), |_| {}).await;
    let admin = Admin::of(&app).await;
    let features: Value = app.get("/api/features").await.json().await.unwrap();
    assert_eq!(features["providers"], json!([{"id": "test", "label": "Provider test"}]));

    let browser = new_client();
    let r = start(&app, &browser, "test", Some("/posts?page=2")).await;
    assert_eq!(r.status(), 302);
    let cookie = set_cookie(&r, "latchkey_session_federation").expect("the federation cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let authorize = url::Url::parse(&location(&r).unwrap()).unwrap();
    assert!(authorize.as_str().starts_with(&format!("{}/auth?", op.base)), "{authorize}");
    let param = |name: &str| authorize.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    assert_eq!(param("response_type").as_deref(), Some("code"));
    assert_eq!(param("client_id").as_deref(), Some("latchkey"));
    assert_eq!(param("redirect_uri"), Some(upstream::callback_uri(&app, "test")));
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param("code_challenge").map(|c| c.len()), Some(43));
    assert!(param("state").is_some_and(|s| s.len() >= 22), "state of 128 bits or more");
    assert!(param("nonce").is_some_and(|s| s.len() >= 22), "nonce of 128 bits or more");
    let scope = param("scope").unwrap();
    assert!(["openid", "email", "profile"].iter().all(|s| scope.split(' ').any(|x| x == *s)), "scope {scope}");

    let trip = through_provider(&browser, authorize.as_str(), "ada-1").await;
    assert_eq!(trip.forms, 1, "the provider's own sign-in page was used");
    assert_eq!(trip.param("iss"), Some(op.base.clone()), "oidc-provider sends iss (RFC 9207)");
    let r = callback(&browser, &trip.callback).await;
    assert!(session_set_cookie(&r).is_none(), "the callback creates no session");
    assert_eq!(location(&r).unwrap(), "/login/federated?return_to=%2Fposts%3Fpage%3D2");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(browser.get(app.url("/api/me")).send().await.unwrap().status(), 401, "no session before continue");

    let r = finish(&app, &browser, "session").await;
    assert!(session_set_cookie(&r).is_some(), "continue logs in with a session cookie");
    let user = json_of(r, 200).await;
    assert_eq!(user["username"], "ada");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["email_verified"], false, "not trusted: the provider's word is not enough");
    assert_eq!(me(&app, &browser).await["id"], user["id"]);
    let listed = my_identities(&app, &browser).await;
    assert_eq!(listed["has_password"], false);
    let identities = listed["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 1, "{listed}");
    assert_eq!(identities[0]["provider"], "test");
    assert_eq!(identities[0]["label"], "Provider test");
    assert_eq!(identities[0]["email"], "ada@example.com");
    assert_eq!(identities[0]["email_verified"], true);

    assert_eq!(browser.delete(app.url("/api/logout")).send().await.unwrap().status(), 204);
    assert_eq!(browser.get(app.url("/api/me")).send().await.unwrap().status(), 401);
    let again = json_of(log_in(&app, &browser, "test", "ada-1").await, 200).await;
    assert_eq!(again["id"], user["id"], "the same identity is the same account");
    assert_eq!(me(&app, &browser).await["id"], user["id"]);
    assert!(my_identities(&app, &browser).await["identities"][0]["last_used_at"].is_string());
    // In another browser, where the provider asks again.
    let other = new_client();
    assert_eq!(json_of(log_in(&app, &other, "test", "ada-1").await, 200).await["id"], user["id"]);
    assert_eq!(admin.usernames(&app).await, ["ada"]);

    let events = admin.audit(&app).await;
    let signup = events.iter().find(|e| e["kind"] == "signup" && e["user_id"] == user["id"]).expect("signup audited");
    assert_eq!(signup["detail"]["provider"], "test");
    assert!(events.iter().any(|e| e["kind"] == "identity_linked" && e["user_id"] == user["id"]));
    let login = events.iter().find(|e| e["kind"] == "login_succeeded" && e["user_id"] == user["id"]).unwrap();
    assert_eq!(login["detail"]["amr"], json!(["fed"]));
    assert_eq!(login["detail"]["provider"], "test");
}

#[tokio::test]
async fn a_taken_username_is_made_unique_and_the_address_is_verified_only_when_trusted_and_said() {
    let accounts = json!([
        person("ada-1", "ada", "ada@example.com", true),
        person("ada-2", "ada", "ada.two@example.com", false),
        {"sub": "nameless", "email": "grace.hopper@example.com", "email_verified": true},
    ]);
    let (app, _op) = with_oidc(accounts, trusting).await;
    app.signed_up("ada").await;
    let first = json_of(log_in(&app, &new_client(), "test", "ada-1").await, 200).await;
    assert_eq!(first["username"], "ada2", "ada is taken: a number makes it unique");
    assert_eq!(first["email_verified"], true, "trusted provider, email_verified true");
    let second = json_of(log_in(&app, &new_client(), "test", "ada-2").await, 200).await;
    assert_eq!(second["username"], "ada3");
    assert_eq!(second["email"], "ada.two@example.com");
    assert_eq!(second["email_verified"], false, "trusted provider, but email_verified false");
    let third = json_of(log_in(&app, &new_client(), "test", "nameless").await, 200).await;
    assert_eq!(third["username"], "grace.hopper", "no preferred_username: the address's local part");
}

#[tokio::test]
async fn an_address_given_only_at_userinfo_is_read_from_there() {
    let op = Upstream::oidc(json!({"accounts": [ada()], "claims_in": "userinfo"})).await;
    let provider = op.provider("test");
    let app = TestApp::spawn_with(|c| {
        c.federation.providers.push(provider);
        trusting(c);
    })
    .await;
    op.allow(&[&app], "test").await;
    let user = json_of(log_in(&app, &new_client(), "test", "ada-1").await, 200).await;
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["username"], "ada");
}

#[tokio::test]
async fn continue_in_token_mode_answers_a_token_pair_and_no_cookie() {
    let (app, _op) = with_oidc(json!([ada()]), |_| {}).await;
    let browser = new_client();
    let authorize = started(&app, &browser, "test").await;
    let trip = through_provider(&browser, &authorize, "ada-1").await;
    callback(&browser, &trip.callback).await;
    let r = finish(&app, &browser, "token").await;
    assert!(session_set_cookie(&r).is_none(), "token mode sets no session cookie");
    let pair = json_of(r, 200).await;
    let access = pair["access_token"].as_str().expect("access_token");
    assert!(pair["refresh_token"].is_string());
    assert_eq!(claims(access)["amr"], json!(["fed"]));
    assert_eq!(claims(access)["username"], "ada");
    let r = app.get_bearer("/api/me", access).await;
    assert_eq!(json_of(r, 200).await["username"], "ada");
    assert_eq!(app.refresh(pair["refresh_token"].as_str().unwrap()).await.status(), 200);
    assert_eq!(browser.get(app.url("/api/me")).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn continue_is_single_use_csrf_checked_and_needs_a_finished_round_trip() {
    let (app, _op) = with_oidc(json!([ada()]), |_| {}).await;
    let admin = Admin::of(&app).await;
    // Nothing started in this browser.
    let stranger = new_client();
    refused(&app, &stranger, finish(&app, &stranger, "session").await, 401, "federation_expired").await;
    // Started but not back from the provider.
    let browser = new_client();
    let authorize = started(&app, &browser, "test").await;
    refused(&app, &browser, finish(&app, &browser, "session").await, 401, "federation_expired").await;
    let browser = new_client();
    let authorize2 = started(&app, &browser, "test").await;
    assert_ne!(authorize, authorize2);
    let trip = through_provider(&browser, &authorize2, "ada-1").await;
    callback(&browser, &trip.callback).await;
    let r = browser.post(app.url("/api/federation/continue")).json(&json!({"mode": "cookie"})).send().await.unwrap();
    refused(&app, &browser, r, 422, "validation_failed").await;
    let r = browser
        .post(app.url("/api/federation/continue"))
        .header("origin", "https://evil.example")
        .json(&json!({"mode": "session"}))
        .send()
        .await
        .unwrap();
    refused(&app, &browser, r, 403, "csrf_rejected").await;
    assert!(admin.usernames(&app).await.is_empty(), "nothing made yet");
    assert_eq!(finish(&app, &browser, "session").await.status(), 200);
    // Once only, even with the cookie kept.
    let r = finish(&app, &browser, "session").await;
    assert!(session_set_cookie(&r).is_none());
    assert_error(r, 401, "federation_expired").await;
}

// ---- Linking rules: an email address is never an identity ----

/// A local account `ada` with ada@example.com (verified or not), and a provider login
/// whose address is the same (upper case: addresses match without regard to case).
async fn collision(
    local_verified: bool,
    provider_verified: bool,
    trust: bool,
    link_by_email: bool,
) -> (TestApp, Response) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let op =
        Upstream::oidc(json!({"accounts": [person("ada-1", "ada-elsewhere", "ADA@example.com", provider_verified)]}))
            .await;
    let mut provider = op.provider("test");
    provider.trust_email_verified = trust;
    let app = TestApp::spawn_with(|c| {
        with_mail(c, url);
        c.federation.providers.push(provider);
        c.federation.link_existing_by_email = link_by_email;
    })
    .await;
    op.allow(&[&app], "test").await;
    let (owner, local) = if local_verified {
        verified_account(&app, &sink, "ada", "ada@example.com").await
    } else {
        unverified_account(&app, "ada", "ada@example.com").await
    };
    let admin = Admin::of(&app).await;
    let browser = new_client();
    let r = log_in(&app, &browser, "test", "ada-1").await;
    let status = r.status().as_u16();
    if status == 200 {
        let user = json_of(r, 200).await;
        assert_eq!(user["id"], local["id"], "joined to the existing account");
        assert_eq!(admin.usernames(&app).await, ["ada"]);
        assert_eq!(admin.identities_of(&app, local["id"].as_i64().unwrap()).await.len(), 1);
        let again = log_in(&app, &new_client(), "test", "ada-1").await;
        return (app, again);
    }
    let body = refused(&app, &browser, r, 409, "account_exists").await;
    assert!(body["message"].as_str().unwrap().to_lowercase().contains("log in"), "says what to do: {body}");
    // No takeover: nothing joined, nothing made, the owner's account as it was.
    assert_eq!(admin.usernames(&app).await, ["ada"], "no second account with the address");
    assert!(admin.identities_of(&app, local["id"].as_i64().unwrap()).await.is_empty(), "no identity linked");
    assert!(my_identities(&app, &owner).await["identities"].as_array().unwrap().is_empty());
    assert_eq!(app.login_as(&new_client(), "ada", PASSWORD).await.status(), 200);
    let events = admin.audit(&app).await;
    assert!(events.iter().any(|e| e["kind"] == "federated_login_failed"), "the refusal is audited");
    let again = log_in(&app, &new_client(), "test", "ada-1").await;
    (app, again)
}

#[tokio::test]
async fn the_same_address_on_an_existing_account_is_refused_with_account_exists_by_default() {
    // Everything verified and trusted, but link_existing_by_email is off (the default).
    let (app, again) = collision(true, true, true, false).await;
    refused(&app, &new_client(), again, 409, "account_exists").await;
}

#[tokio::test]
async fn the_same_address_joins_the_existing_account_when_every_safeguard_holds() {
    let (_app, again) = collision(true, true, true, true).await;
    assert_eq!(again.status(), 200, "the linked identity logs in to the account");
}

#[tokio::test]
async fn the_same_address_is_not_joined_when_the_provider_did_not_verify_it() {
    let (_app, again) = collision(true, false, true, true).await;
    assert_error(again, 409, "account_exists").await;
}

#[tokio::test]
async fn the_same_address_is_not_joined_when_the_provider_is_not_trusted_to_verify() {
    let (_app, again) = collision(true, true, false, true).await;
    assert_error(again, 409, "account_exists").await;
}

#[tokio::test]
async fn the_same_address_is_never_joined_into_an_account_whose_address_is_unverified() {
    let (_app, again) = collision(false, true, true, true).await;
    assert_error(again, 409, "account_exists").await;
}

#[tokio::test]
async fn an_unverified_address_from_the_provider_is_refused_where_verified_addresses_are_required() {
    let accounts =
        json!([person("ada-1", "ada", "ada@example.com", false), person("bob-1", "bob", "bob@example.com", true)]);
    let (app, _op) = with_oidc(accounts, |c| {
        trusting(c);
        c.signup.require_verified_email = true;
    })
    .await;
    let browser = new_client();
    refused(&app, &browser, log_in(&app, &browser, "test", "ada-1").await, 403, "email_not_verified").await;
    let bob = json_of(log_in(&app, &new_client(), "test", "bob-1").await, 200).await;
    assert_eq!(bob["email_verified"], true);
}

// ---- The round trip's checks ----

#[tokio::test]
async fn a_used_state_is_refused_the_second_time() {
    let (app, _op) = with_oidc(json!([ada()]), |_| {}).await;
    let browser = new_client();
    let authorize = started(&app, &browser, "test").await;
    let trip = through_provider(&browser, &authorize, "ada-1").await;
    callback(&browser, &trip.callback).await;
    assert_eq!(finish(&app, &browser, "session").await.status(), 200);
    // The same answer again, in the same browser and in another.
    callback(&browser, &trip.callback).await;
    let r = finish(&app, &browser, "session").await;
    assert!(session_set_cookie(&r).is_none());
    assert_error(r, 401, "federation_expired").await;
    let other = new_client();
    callback(&other, &trip.callback).await;
    refused(&app, &other, finish(&app, &other, "session").await, 401, "federation_expired").await;
}

#[tokio::test]
async fn a_round_trip_lasts_ten_minutes_whether_it_comes_back_late_or_is_continued_late() {
    let (app, _op) = with_oidc(json!([ada()]), |_| {}).await;
    // Back from the provider after ten minutes: the state is no longer taken.
    let late = new_client();
    let authorize = started(&app, &late, "test").await;
    let trip = through_provider(&late, &authorize, "ada-1").await;
    // Back in time, and continued in time: the control, which logs in.
    let in_time = new_client();
    let authorize = started(&app, &in_time, "test").await;
    let control = through_provider(&in_time, &authorize, "ada-1").await;
    callback(&in_time, &control.callback).await;
    // Back in time, continued after ten minutes.
    let slow = new_client();
    let authorize = started(&app, &slow, "test").await;
    let slow_trip = through_provider(&slow, &authorize, "ada-1").await;
    callback(&slow, &slow_trip.callback).await;

    assert_eq!(finish(&app, &in_time, "session").await.status(), 200);
    app.clock.advance(Duration::from_secs(10 * 60 + 1));
    callback(&late, &trip.callback).await;
    refused(&app, &late, finish(&app, &late, "session").await, 401, "federation_expired").await;
    refused(&app, &slow, finish(&app, &slow, "session").await, 401, "federation_expired").await;
}

#[tokio::test]
async fn a_state_from_another_browser_is_refused_and_leaves_the_owners_round_trip_alone() {
    let (app, _op) = with_oidc(json!([ada(), person("mallory-1", "mallory", "m@example.com", true)]), |_| {}).await;
    let admin = Admin::of(&app).await;
    // The victim's answer from the provider, delivered in the attacker's browser (which
    // started a round trip of its own, so it has a federation cookie too).
    let victim = new_client();
    let authorize = started(&app, &victim, "test").await;
    let trip = through_provider(&victim, &authorize, "ada-1").await;
    let attacker = new_client();
    started(&app, &attacker, "test").await;
    callback(&attacker, &trip.callback).await;
    refused(&app, &attacker, finish(&app, &attacker, "session").await, 401, "federation_expired").await;
    // And in a browser with no cookie at all.
    let bare = new_client();
    callback(&bare, &trip.callback).await;
    refused(&app, &bare, finish(&app, &bare, "session").await, 401, "federation_expired").await;
    assert!(admin.usernames(&app).await.is_empty());
    // The victim's round trip is intact.
    callback(&victim, &trip.callback).await;
    assert_eq!(json_of(finish(&app, &victim, "session").await, 200).await["username"], "ada");
    assert!(admin.audit(&app).await.iter().any(|e| e["kind"] == "federated_login_failed"));
}

#[tokio::test]
async fn an_answer_from_another_provider_for_this_one_is_refused_mix_up() {
    // Two real providers, both with latchkey registered; the second answers a round trip
    // begun with the first (its own code, its own iss), back to the first's callback.
    let honest = Upstream::oidc(json!({"accounts": [ada()]})).await;
    let attacker = Upstream::oidc(json!({"accounts": [ada()]})).await;
    let (a, b) = (honest.provider("honest"), attacker.provider("attacker"));
    let app = TestApp::spawn_with(|c| {
        c.federation.providers.push(a);
        c.federation.providers.push(b);
    })
    .await;
    honest.allow(&[&app], "honest").await;
    attacker
        .set_redirect_uris(&[upstream::callback_uri(&app, "attacker"), upstream::callback_uri(&app, "honest")])
        .await;
    let admin = Admin::of(&app).await;
    let browser = new_client();
    let authorize = started(&app, &browser, "honest").await;
    let diverted = authorize.replacen(&honest.base, &attacker.base, 1);
    let trip = through_provider(&browser, &diverted, "ada-1").await;
    assert!(trip.callback.contains("/api/federation/honest/callback"), "{}", trip.callback);
    assert_eq!(trip.param("iss"), Some(attacker.base.clone()));
    callback(&browser, &trip.callback).await;
    refused(&app, &browser, finish(&app, &browser, "session").await, 401, "federation_failed").await;
    // Without its iss, the answer is refused all the same: this provider promises iss.
    let browser = new_client();
    let authorize = started(&app, &browser, "honest").await;
    let trip = through_provider(&browser, &authorize.replacen(&honest.base, &attacker.base, 1), "ada-1").await;
    callback(&browser, &trip.with_param("iss", None)).await;
    refused(&app, &browser, finish(&app, &browser, "session").await, 401, "federation_failed").await;
    // A round trip of one provider brought to the other's callback.
    let browser = new_client();
    let authorize = started(&app, &browser, "attacker").await;
    let trip = through_provider(&browser, &authorize, "ada-1").await;
    let swapped = trip.callback.replace("/api/federation/attacker/callback", "/api/federation/honest/callback");
    callback(&browser, &swapped).await;
    refused(&app, &browser, finish(&app, &browser, "session").await, 401, "federation_expired").await;
    assert!(admin.usernames(&app).await.is_empty(), "no account from a mixed-up answer");
    // Refused for its iss, before any code was redeemed (the attacker's code would fail
    // at the honest provider's token endpoint too: the reason tells the two apart).
    let failures: Vec<Value> =
        admin.audit(&app).await.into_iter().filter(|e| e["kind"] == "federated_login_failed").collect();
    assert!(failures.len() >= 3, "each refusal audited: {failures:?}");
    let reasons: Vec<String> =
        failures.iter().map(|e| e["detail"]["reason"].as_str().unwrap_or_default().to_lowercase()).collect();
    assert!(reasons.iter().filter(|r| r.contains("iss")).count() >= 2, "refused for iss: {reasons:?}");
    // The honest provider still works.
    assert_eq!(log_in(&app, &new_client(), "honest", "ada-1").await.status(), 200);
}

#[tokio::test]
async fn an_iss_parameter_of_another_issuer_or_none_at_all_is_refused() {
    let (app, _forge) = with_forge(json!({}), |_| {}).await;
    let admin = Admin::of(&app).await;
    let (browser, r) = forge_login(&app, "iss_param_other").await;
    refused(&app, &browser, r, 401, "federation_failed").await;
    let (browser, r) = forge_login(&app, "iss_param_missing").await;
    refused(&app, &browser, r, 401, "federation_failed").await;
    assert!(admin.usernames(&app).await.is_empty());
    let (_, r) = forge_login(&app, "ok").await;
    assert_eq!(r.status(), 200, "the same provider, answering correctly, is accepted");
}

#[tokio::test]
async fn a_replayed_code_is_refused() {
    let (app, _op) = with_oidc(json!([ada()]), |_| {}).await;
    let admin = Admin::of(&app).await;
    let victim = new_client();
    let authorize = started(&app, &victim, "test").await;
    let trip = through_provider(&victim, &authorize, "ada-1").await;
    callback(&victim, &trip.callback).await;
    assert_eq!(finish(&app, &victim, "session").await.status(), 200);
    // The victim's code (redeemed already), injected into the attacker's own round trip.
    let attacker = new_client();
    let own = started(&app, &attacker, "test").await;
    let own_state = url::Url::parse(&own).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    callback(&attacker, &trip.with_param("state", Some(&own_state))).await;
    refused(&app, &attacker, finish(&app, &attacker, "session").await, 401, "federation_failed").await;
    assert_eq!(admin.usernames(&app).await, ["ada"]);
}

#[tokio::test]
async fn a_code_injected_into_another_round_trip_fails_pkce() {
    let (app, _op) = with_oidc(json!([ada()]), |_| {}).await;
    let admin = Admin::of(&app).await;
    // A fresh code of the victim's, never redeemed, with the attacker's state: the
    // attacker's PKCE verifier does not match the victim's challenge.
    let victim = new_client();
    let authorize = started(&app, &victim, "test").await;
    let trip = through_provider(&victim, &authorize, "ada-1").await;
    let attacker = new_client();
    let own = started(&app, &attacker, "test").await;
    let own_state = url::Url::parse(&own).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    callback(&attacker, &trip.with_param("state", Some(&own_state))).await;
    refused(&app, &attacker, finish(&app, &attacker, "session").await, 401, "federation_failed").await;
    assert!(admin.usernames(&app).await.is_empty());
}

#[tokio::test]
async fn return_to_must_be_a_path_on_this_site() {
    let (app, _op) = with_oidc(json!([ada()]), |_| {}).await;
    for bad in [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
    ] {
        let browser = new_client();
        let r = start(&app, &browser, "test", Some(bad)).await;
        assert!(location(&r).is_none(), "{bad:?}: no redirect");
        assert!(set_cookie(&r, "latchkey_session_federation").is_none(), "{bad:?}: no round trip begun");
        assert_error(r, 422, "validation_failed").await;
    }
    let ada = new_client();
    assert_eq!(app.signup_as(&ada, "ada", PASSWORD).await.status(), 201);
    let r = ada.post(app.url("/api/federation/test/link")).json(&json!({"return_to": "//evil.example"})).send().await;
    assert_error(r.unwrap(), 422, "validation_failed").await;
    // A path is kept through the round trip, encoded.
    let browser = new_client();
    let r = start(&app, &browser, "test", Some("/account?tab=a&b=/c")).await;
    let trip = through_provider(&browser, &location(&r).unwrap(), "ada-1").await;
    let r = callback(&browser, &trip.callback).await;
    assert_eq!(location(&r).unwrap(), "/login/federated?return_to=%2Faccount%3Ftab%3Da%26b%3D%2Fc");
}

#[tokio::test]
async fn an_unknown_provider_is_not_found() {
    let (app, _op) = with_oidc(json!([ada()]), |_| {}).await;
    assert_error(start(&app, &new_client(), "nope", Some("/")).await, 404, "not_found").await;
}

// ---- ID tokens that must not verify (the forge) ----

/// The forge's `mode` is refused with 401 federation_failed, no session and no account,
/// while the same set-up accepts a correct answer.
async fn forged_token_is_refused(mode: &str) {
    let (app, forge) = with_forge(json!({}), |_| {}).await;
    let admin = Admin::of(&app).await;
    let (browser, r) = forge_login(&app, mode).await;
    refused(&app, &browser, r, 401, "federation_failed").await;
    assert!(admin.usernames(&app).await.is_empty(), "{mode}: no account");
    let failed = admin.audit(&app).await.into_iter().find(|e| e["kind"] == "federated_login_failed");
    let failed = failed.unwrap_or_else(|| panic!("{mode}: the failure is audited"));
    assert_eq!(failed["detail"]["provider"], "forge");
    assert!(failed["detail"]["reason"].as_str().is_some_and(|r| !r.is_empty()), "{mode}: a reason in {failed}");
    assert!(!forge.requests("token").await.is_empty(), "{mode}: the code was redeemed");
    let (_, r) = forge_login(&app, "ok").await;
    assert_eq!(r.status(), 200, "{mode}: a correct answer from the same provider is accepted");
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    forged_token_is_refused("wrong_nonce").await;
}

#[tokio::test]
async fn an_id_token_signed_by_an_unknown_key_is_refused() {
    forged_token_is_refused("unknown_kid").await;
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    forged_token_is_refused("expired").await;
}

#[tokio::test]
async fn an_id_token_for_another_audience_is_refused() {
    forged_token_is_refused("wrong_aud").await;
}

#[tokio::test]
async fn an_id_token_of_another_issuer_is_refused() {
    forged_token_is_refused("wrong_iss").await;
}

#[tokio::test]
async fn an_unsigned_id_token_is_refused() {
    forged_token_is_refused("alg_none").await;
}

#[tokio::test]
async fn every_other_defect_of_a_providers_answer_is_refused() {
    let (app, forge) = with_forge(json!({}), |_| {}).await;
    let admin = Admin::of(&app).await;
    for mode in [
        "bad_signature",
        "azp_other",
        "multi_aud",
        "no_nonce",
        "iat_future",
        "hs256",
        "no_id_token",
        "userinfo_other_sub",
        "token_error",
        "access_denied",
    ] {
        // userinfo is asked only when the ID token has no address.
        if mode == "userinfo_other_sub" {
            forge.control(json!({"account": {"sub": "forged-1"}})).await;
        }
        let (browser, r) = forge_login(&app, mode).await;
        assert!(session_set_cookie(&r).is_none(), "{mode}: no session cookie");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(status, 401, "{mode}: {text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["error"], "federation_failed", "{mode}: {text}");
        assert_eq!(browser.get(app.url("/api/me")).send().await.unwrap().status(), 401, "{mode}");
        assert!(admin.usernames(&app).await.is_empty(), "{mode}: no account");
    }
}

#[tokio::test]
async fn latchkey_redeems_codes_with_client_secret_basic_and_its_pkce_verifier() {
    let (app, forge) = with_forge(json!({}), |_| {}).await;
    let (_, r) = forge_login(&app, "ok").await;
    assert_eq!(r.status(), 200);
    let authorize = forge.requests("authorize").await;
    let params = &authorize.last().unwrap()["params"];
    assert_eq!(params["code_challenge_method"], "S256");
    assert!(params["nonce"].is_string() && params["state"].is_string());
    let token = forge.requests("token").await;
    let token = token.last().unwrap();
    assert_eq!(token["auth_method"], "client_secret_basic");
    assert_eq!(token["has_code_verifier"], true);
    assert_eq!(token["redirect_uri"], upstream::callback_uri(&app, "forge"));
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_again() {
    let (app, forge) = with_forge(json!({}), |_| {}).await;
    assert_eq!(forge_login(&app, "ok").await.1.status(), 200);
    forge.control(json!({"rotate": true})).await;
    // latchkey refetches keys for an unknown kid at most every 10 s.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let (_, r) = forge_login(&app, "ok").await;
    assert_eq!(r.status(), 200, "a token under the new key verifies: {}", r.text().await.unwrap());
}

// ---- A provider down, slow or flooding ----

/// A port free now, below Linux's ephemeral range, so that no other test's listener on
/// port 0 (another provider, say) is given it while this test expects it closed.
fn free_port() -> u16 {
    for _ in 0..100 {
        let port = rand::random_range(20_000..32_000);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 20000..32000");
}

#[tokio::test]
async fn a_provider_that_is_down_answers_provider_unavailable_and_is_used_once_it_is_up() {
    let port = free_port();
    let secret = "down-secret";
    let app = TestApp::spawn_with(|c| {
        c.federation.providers.push(latchkey::config::ProviderConfig {
            id: "test".into(),
            label: "Test".into(),
            issuer: format!("http://127.0.0.1:{port}"),
            client_id: "latchkey".into(),
            client_secret: Some(latchkey::config::Secret(secret.into())),
            ..Default::default()
        });
    })
    .await;
    // The rest of latchkey works.
    assert_eq!(app.signup_as(&new_client(), "bob", PASSWORD).await.status(), 201);
    let features: Value = app.get("/api/features").await.json().await.unwrap();
    assert_eq!(features["providers"][0]["id"], "test", "still offered: {features}");
    let browser = new_client();
    let r = start(&app, &browser, "test", Some("/")).await;
    assert!(set_cookie(&r, "latchkey_session_federation").is_none());
    assert_error(r, 503, "provider_unavailable").await;
    // It comes up: latchkey discovers it again on its own.
    let op = Upstream::oidc(json!({"port": port, "client_secret": secret, "accounts": [ada()]})).await;
    op.set_redirect_uris(&[upstream::callback_uri(&app, "test")]).await;
    let started_at = Instant::now();
    loop {
        let r = start(&app, &new_client(), "test", Some("/")).await;
        if r.status() == 302 {
            break;
        }
        assert_error(r, 503, "provider_unavailable").await;
        assert!(started_at.elapsed() < Duration::from_secs(30), "not discovered within 30 s of coming up");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(log_in(&app, &new_client(), "test", "ada-1").await.status(), 200);
}

#[tokio::test]
async fn a_provider_that_goes_down_before_the_callback_answers_provider_unavailable() {
    let (app, mut op) = with_oidc(json!([ada()]), |_| {}).await;
    let admin = Admin::of(&app).await;
    let browser = new_client();
    let authorize = started(&app, &browser, "test").await;
    let trip = through_provider(&browser, &authorize, "ada-1").await;
    op.kill();
    callback(&browser, &trip.callback).await;
    refused(&app, &browser, finish(&app, &browser, "session").await, 503, "provider_unavailable").await;
    assert!(admin.usernames(&app).await.is_empty());
}

#[tokio::test]
async fn a_token_endpoint_too_slow_or_too_large_is_refused_without_waiting_or_reading_it_all() {
    let (app, forge) = with_forge(json!({"delay_ms": 20_000, "huge_bytes": 4 * 1024 * 1024}), |c| {
        c.federation.timeout = Dur(Duration::from_secs(1));
    })
    .await;
    let admin = Admin::of(&app).await;
    let began = Instant::now();
    let (browser, r) = forge_login(&app, "slow").await;
    assert!(began.elapsed() < Duration::from_secs(10), "the timeout holds: {:?}", began.elapsed());
    refused(&app, &browser, r, 503, "provider_unavailable").await;
    let (browser, r) = forge_login(&app, "huge").await;
    refused(&app, &browser, r, 401, "federation_failed").await;
    assert!(admin.usernames(&app).await.is_empty());
    drop(forge);
}

// ---- Two instances ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_round_trip_started_on_one_instance_finishes_on_another() {
    let op = Upstream::oidc(json!({"accounts": [ada()]})).await;
    let provider = op.provider("test");
    let Some(cluster) = crate::cluster::cluster(2, false, |c| c.federation.providers.push(provider.clone())).await
    else {
        return;
    };
    let (a, b) = (&cluster.apps[0], &cluster.apps[1]);
    op.allow(&[a, b], "test").await;
    let browser = new_client();
    let authorize = started(a, &browser, "test").await;
    let trip = through_provider(&browser, &authorize, "ada-1").await;
    assert!(trip.callback.starts_with("http://cluster.test/"), "{}", trip.callback);
    callback(&browser, &trip.on(&b.base)).await;
    let user = json_of(finish(b, &browser, "session").await, 200).await;
    assert_eq!(user["username"], "ada");
    assert_eq!(me(a, &browser).await["id"], user["id"], "the session holds on both");
    // And the other way round, in token mode, for the same account.
    let browser = new_client();
    let authorize = started(b, &browser, "test").await;
    let trip = through_provider(&browser, &authorize, "ada-1").await;
    callback(&browser, &trip.on(&a.base)).await;
    let pair = json_of(finish(a, &browser, "token").await, 200).await;
    assert_eq!(claims(pair["access_token"].as_str().unwrap())["sub"], user["id"].to_string());
}

// ---- Second factors ----

#[tokio::test]
async fn an_account_with_totp_gets_the_second_step_after_the_provider() {
    let (app, _op) = with_oidc(json!([ada()]), |_| {}).await;
    let browser = new_client();
    let user = json_of(log_in(&app, &browser, "test", "ada-1").await, 200).await;
    // (The app's clock may move at most a minute ahead of the provider's, whose tokens
    // must not look older than the round trip: no waiting for later steps, the next
    // step's code, within the allowed drift, and a recovery code instead.)
    start_of_next_step(&app);
    let (secret, recovery_codes) = enable_totp(&app, &browser).await;
    browser.delete(app.url("/api/logout")).send().await.unwrap();

    let browser = new_client();
    let r = log_in(&app, &browser, "test", "ada-1").await;
    let body = refused(&app, &browser, r, 401, "second_factor_required").await;
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    let challenge = body["challenge"].as_str().unwrap();
    let r = browser
        .post(app.url("/api/login/second-factor"))
        .json(&json!({"challenge": challenge, "code": totp(&app, &secret, 1)}))
        .send()
        .await
        .unwrap();
    assert!(session_set_cookie(&r).is_some());
    assert_eq!(json_of(r, 200).await["id"], user["id"]);
    assert_eq!(me(&app, &browser).await["id"], user["id"]);

    // Token mode: the token second step.
    let browser = new_client();
    let authorize = started(&app, &browser, "test").await;
    let trip = through_provider(&browser, &authorize, "ada-1").await;
    callback(&browser, &trip.callback).await;
    let body = assert_error(finish(&app, &browser, "token").await, 401, "second_factor_required").await;
    let r = new_client()
        .post(app.url("/api/token/second-factor"))
        .json(&json!({"challenge": body["challenge"], "recovery_code": recovery_codes[0]}))
        .send()
        .await
        .unwrap();
    let pair = json_of(r, 200).await;
    let amr = claims(pair["access_token"].as_str().unwrap())["amr"].clone();
    assert!(amr.as_array().unwrap().contains(&json!("fed")), "{amr}");
    assert_eq!(claims(pair["access_token"].as_str().unwrap())["sub"], user["id"].to_string());
}

#[tokio::test]
async fn the_providers_own_second_factor_stands_in_only_when_trusted() {
    let strong = json!({"sub": "ada-1", "preferred_username": "ada", "email": "ada@example.com",
        "email_verified": true, "amr": ["pwd", "otp"]});
    for trust in [false, true] {
        let (app, _op) =
            with_oidc(json!([strong.clone()]), |c| c.federation.providers[0].trust_upstream_mfa = trust).await;
        let browser = new_client();
        json_of(log_in(&app, &browser, "test", "ada-1").await, 200).await;
        start_of_next_step(&app);
        enable_totp(&app, &browser).await;
        let browser = new_client();
        let r = log_in(&app, &browser, "test", "ada-1").await;
        if trust {
            assert_eq!(json_of(r, 200).await["username"], "ada", "the provider's otp counts");
        } else {
            refused(&app, &browser, r, 401, "second_factor_required").await;
        }
    }
}

// ---- Linking from the account page, unlinking ----

/// latchkey with two providers (`first`, `second`) each with `accounts`.
async fn with_two(accounts: Value) -> (TestApp, Upstream, Upstream) {
    with_two_and(accounts, |_| {}).await
}

/// latchkey with two OpenID Providers, `first` and `second`, with the same `accounts`.
pub(crate) async fn with_two_and(accounts: Value, adjust: impl FnOnce(&mut Config)) -> (TestApp, Upstream, Upstream) {
    let first = Upstream::oidc(json!({"accounts": accounts})).await;
    let second = Upstream::oidc(json!({"accounts": accounts})).await;
    let (p1, p2) = (first.provider("first"), second.provider("second"));
    let app = TestApp::spawn_with(|c| {
        c.federation.providers.push(p1);
        c.federation.providers.push(p2);
        adjust(c);
    })
    .await;
    first.allow(&[&app], "first").await;
    second.allow(&[&app], "second").await;
    (app, first, second)
}

#[tokio::test]
async fn a_provider_is_linked_from_a_logged_in_account_with_a_recent_authentication() {
    let (app, _first, _second) = with_two(json!([ada()])).await;
    let admin = Admin::of(&app).await;
    let browser = new_client();
    let local = json_of(app.signup_as(&browser, "grace", PASSWORD).await, 201).await;
    // Not logged in: no link.
    let r = new_client().post(app.url("/api/federation/first/link")).json(&json!({})).send().await.unwrap();
    assert_error(r, 401, "unauthorized").await;
    // Just signed up, so recent enough.
    let linked = json_of(link(&app, &browser, "first", "ada-1").await, 200).await;
    assert_eq!(linked["linked"]["provider"], "first");
    assert_eq!(linked["return_to"], "/account");
    let listed = my_identities(&app, &browser).await;
    assert_eq!(listed["has_password"], true);
    assert_eq!(listed["identities"].as_array().unwrap().len(), 1);
    // The identity now logs in to this account.
    let elsewhere = new_client();
    assert_eq!(json_of(log_in(&app, &elsewhere, "first", "ada-1").await, 200).await["id"], local["id"]);
    // A second provider too.
    let linked = json_of(link(&app, &browser, "second", "ada-1").await, 200).await;
    assert_eq!(linked["linked"]["provider"], "second");
    assert_eq!(my_identities(&app, &browser).await["identities"].as_array().unwrap().len(), 2);
    assert_eq!(json_of(log_in(&app, &new_client(), "second", "ada-1").await, 200).await["id"], local["id"]);
    assert_eq!(admin.usernames(&app).await, ["grace"]);
    assert!(admin.audit(&app).await.iter().any(|e| e["kind"] == "identity_linked" && e["user_id"] == local["id"]));
}

#[tokio::test]
async fn linking_needs_a_recent_authentication_and_reauthenticate_renews_it() {
    let (app, first, _second) = with_two(json!([ada()])).await;
    let browser = new_client();
    app.signup_as(&browser, "grace", PASSWORD).await;
    app.clock.advance(Duration::from_secs(6 * 60));
    let r = browser.post(app.url("/api/federation/first/link")).json(&json!({})).send().await.unwrap();
    assert!(set_cookie(&r, "latchkey_session_federation").is_none());
    assert_error(r, 403, "reauthentication_required").await;
    let r = browser.post(app.url("/api/reauthenticate")).json(&json!({"password": PASSWORD})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = browser.post(app.url("/api/federation/first/link")).json(&json!({})).send().await.unwrap();
    let body = json_of(r, 200).await;
    assert!(body["redirect"].as_str().unwrap().starts_with(&first.base), "{body}");
}

#[tokio::test]
async fn an_identity_linked_to_another_account_is_refused_with_identity_in_use() {
    let (app, _op) = with_oidc(json!([ada()]), |_| {}).await;
    let owner = new_client();
    let owner_user = json_of(app.signup_as(&owner, "grace", PASSWORD).await, 201).await;
    assert_eq!(link(&app, &owner, "test", "ada-1").await.status(), 200);
    let other = new_client();
    app.signup_as(&other, "linus", PASSWORD).await;
    let r = link(&app, &other, "test", "ada-1").await;
    assert_error(r, 409, "identity_in_use").await;
    assert!(my_identities(&app, &other).await["identities"].as_array().unwrap().is_empty());
    assert_eq!(my_identities(&app, &owner).await["identities"].as_array().unwrap().len(), 1);
    assert_eq!(json_of(log_in(&app, &new_client(), "test", "ada-1").await, 200).await["id"], owner_user["id"]);
}

#[tokio::test]
async fn a_link_finishes_only_for_the_account_that_began_it() {
    let (app, _op) = with_oidc(json!([ada()]), |_| {}).await;
    let browser = new_client();
    app.signup_as(&browser, "grace", PASSWORD).await;
    let r = browser.post(app.url("/api/federation/test/link")).json(&json!({})).send().await.unwrap();
    let redirect = json_of(r, 200).await["redirect"].as_str().unwrap().to_string();
    let trip = through_provider(&browser, &redirect, "ada-1").await;
    callback(&browser, &trip.callback).await;
    // Someone else logs in in this browser before the web app continues.
    app.signup_as(&new_client(), "linus", PASSWORD).await;
    assert_eq!(app.login_as(&browser, "linus", PASSWORD).await.status(), 200);
    assert_error(finish(&app, &browser, "session").await, 403, "forbidden").await;
    assert!(my_identities(&app, &browser).await["identities"].as_array().unwrap().is_empty(), "not linked to linus");
    let grace = new_client();
    assert_eq!(app.login_as(&grace, "grace", PASSWORD).await.status(), 200);
    assert!(my_identities(&app, &grace).await["identities"].as_array().unwrap().is_empty(), "nor to grace");
}

#[tokio::test]
async fn unlinking_the_last_way_in_is_refused_and_other_identities_can_go() {
    let (app, _first, _second) = with_two(json!([ada()])).await;
    let browser = new_client();
    let user = json_of(log_in(&app, &browser, "first", "ada-1").await, 200).await;
    let listed = my_identities(&app, &browser).await;
    assert_eq!(listed["has_password"], false);
    let first_id = listed["identities"][0]["id"].as_i64().unwrap();
    let r = browser.delete(app.url(&format!("/api/me/identities/{first_id}"))).send().await.unwrap();
    assert_error(r, 409, "last_credential").await;
    assert_eq!(my_identities(&app, &browser).await["identities"].as_array().unwrap().len(), 1, "still linked");
    assert_error(browser.delete(app.url("/api/me/identities/999999")).send().await.unwrap(), 404, "not_found").await;

    assert_eq!(link(&app, &browser, "second", "ada-1").await.status(), 200);
    assert_eq!(browser.delete(app.url(&format!("/api/me/identities/{first_id}"))).send().await.unwrap().status(), 204);
    let listed = my_identities(&app, &browser).await;
    let remaining = listed["identities"].as_array().unwrap();
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0]["provider"], "second");
    let second_id = remaining[0]["id"].as_i64().unwrap();
    let r = browser.delete(app.url(&format!("/api/me/identities/{second_id}"))).send().await.unwrap();
    assert_error(r, 409, "last_credential").await;
    // The unlinked identity is a stranger again, whose address is this account's: refused.
    let stranger = new_client();
    refused(&app, &stranger, log_in(&app, &stranger, "first", "ada-1").await, 409, "account_exists").await;
    assert_eq!(json_of(log_in(&app, &new_client(), "second", "ada-1").await, 200).await["id"], user["id"]);
    // After the window, unlinking needs a step-up too.
    app.clock.advance(Duration::from_secs(6 * 60));
    assert_error(
        browser.delete(app.url(&format!("/api/me/identities/{second_id}"))).send().await.unwrap(),
        403,
        "reauthentication_required",
    )
    .await;
}

#[tokio::test]
async fn an_account_without_a_password_steps_up_with_a_fresh_provider_login() {
    let (app, op) = with_oidc(json!([ada()]), |c| c.security.step_up_window = Dur::from_secs(30)).await;
    let browser = new_client();
    json_of(log_in(&app, &browser, "test", "ada-1").await, 200).await;
    // Past the 30 s window (and within the 60 s leeway for the provider's clock).
    app.clock.advance(Duration::from_secs(40));
    assert_error(browser.post(app.url("/api/me/totp")).send().await.unwrap(), 403, "reauthentication_required").await;
    let logins_before = op.logins().await.len();
    let r = browser.post(app.url("/api/federation/test/reauthenticate")).json(&json!({})).send().await.unwrap();
    let redirect = json_of(r, 200).await["redirect"].as_str().unwrap().to_string();
    let query: Vec<(String, String)> =
        url::Url::parse(&redirect).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    assert!(query.contains(&("prompt".into(), "login".into())), "{redirect}");
    assert!(query.contains(&("max_age".into(), "0".into())), "{redirect}");
    let trip = through_provider(&browser, &redirect, "ada-1").await;
    assert_eq!(trip.forms, 1, "the provider asked again despite its session");
    assert_eq!(op.logins().await.len(), logins_before + 1);
    callback(&browser, &trip.callback).await;
    let body = json_of(finish(&app, &browser, "session").await, 200).await;
    assert_eq!(body["reauthenticated"], true);
    assert_eq!(browser.post(app.url("/api/me/totp")).send().await.unwrap().status(), 200, "step-up renewed");
}

#[tokio::test]
async fn an_admin_sees_and_removes_a_users_identities() {
    let (app, _op) = with_oidc(json!([ada()]), |_| {}).await;
    let browser = new_client();
    let user = json_of(app.signup_as(&browser, "grace", PASSWORD).await, 201).await;
    assert_eq!(link(&app, &browser, "test", "ada-1").await.status(), 200);
    let admin = Admin::of(&app).await;
    let user_id = user["id"].as_i64().unwrap();
    let identities = admin.identities_of(&app, user_id).await;
    assert_eq!(identities.len(), 1);
    let id = identities[0]["id"].as_i64().unwrap();
    let r = browser.get(app.url(&format!("/api/users/{user_id}/identities"))).send().await.unwrap();
    assert_error(r, 403, "forbidden").await;
    let r = admin.client.delete(app.url(&format!("/api/users/{user_id}/identities/{id}"))).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(admin.identities_of(&app, user_id).await.is_empty());
    let events = admin.audit(&app).await;
    assert!(events.iter().any(|e| e["kind"] == "identity_unlinked" && e["user_id"] == user["id"]));
}

// ---- Signup closed ----

#[tokio::test]
async fn an_unknown_identity_is_refused_when_signup_is_closed_and_a_known_one_logs_in() {
    for (signup, auto_register) in [(false, None), (true, Some(false))] {
        let (app, _op) = with_oidc(json!([ada(), person("bob-1", "bob", "bob@example.com", true)]), |c| {
            c.signup.enabled = signup;
            c.federation.auto_register = auto_register;
        })
        .await;
        let admin = Admin::of(&app).await;
        let browser = new_client();
        refused(&app, &browser, log_in(&app, &browser, "test", "bob-1").await, 403, "signup_disabled").await;
        assert!(admin.usernames(&app).await.is_empty(), "signup {signup}, auto_register {auto_register:?}");
        // An account the operator made, linked to the identity, logs in through it.
        latchkey::service::accounts::create_user(&app.state.ctx, "grace", None, PASSWORD, false).await.unwrap();
        let grace = new_client();
        assert_eq!(app.login_as(&grace, "grace", PASSWORD).await.status(), 200);
        assert_eq!(link(&app, &grace, "test", "ada-1").await.status(), 200);
        assert_eq!(json_of(log_in(&app, &new_client(), "test", "ada-1").await, 200).await["username"], "grace");
    }
}

// ---- The GitHub preset ----

#[tokio::test]
async fn the_github_preset_identifies_by_numeric_id_and_trusts_only_a_primary_verified_address() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let users = json!([
        {"id": 42, "login": "octo", "name": "Octo", "email": null,
         "emails": [{"email": "octo@example.com", "primary": true, "verified": true}]},
        {"id": 43, "login": "mona", "email": "victim@example.com",
         "emails": [{"email": "mona@example.com", "primary": true, "verified": false},
                    {"email": "victim@example.com", "primary": false, "verified": true}]},
    ]);
    let gh = Upstream::github(json!({"users": users})).await;
    let mut provider = gh.provider("github");
    provider.trust_email_verified = true;
    let app = TestApp::spawn_with(|c| {
        with_mail(c, url);
        c.federation.providers.push(provider);
        c.federation.link_existing_by_email = true;
    })
    .await;
    gh.allow(&[&app], "github").await;
    let (_victim_browser, victim) = verified_account(&app, &sink, "victim", "victim@example.com").await;
    let admin = Admin::of(&app).await;

    let browser = new_client();
    let authorize = started(&app, &browser, "github").await;
    let parsed = url::Url::parse(&authorize).unwrap();
    assert_eq!(parsed.path(), "/login/oauth/authorize");
    assert!(!parsed.query_pairs().any(|(k, _)| k == "nonce"), "no nonce for OAuth 2.0 without OpenID Connect");
    let trip = through_provider(&browser, &authorize, "octo").await;
    callback(&browser, &trip.callback).await;
    let octo = json_of(finish(&app, &browser, "session").await, 200).await;
    assert_eq!(octo["username"], "octo");
    assert_eq!(octo["email"], "octo@example.com");
    assert_eq!(octo["email_verified"], true, "primary and verified at GitHub, provider trusted");

    // Renamed at GitHub: the numeric id is the identity.
    gh.put_accounts(json!({"id": 42, "login": "octo-renamed",
        "emails": [{"email": "octo@example.com", "primary": true, "verified": true}]}))
        .await;
    let again = json_of(log_in(&app, &new_client(), "github", "octo-renamed").await, 200).await;
    assert_eq!(again["id"], octo["id"]);

    // A verified address that is not the primary one counts for nothing: not joined to
    // the victim's account (link_existing_by_email is on), not even set.
    let mona = json_of(log_in(&app, &new_client(), "github", "mona").await, 200).await;
    assert_ne!(mona["id"], victim["id"]);
    assert!(mona["email"].is_null(), "{mona}");
    assert_eq!(mona["username"], "mona");
    assert!(admin.identities_of(&app, victim["id"].as_i64().unwrap()).await.is_empty());
    assert_eq!(admin.usernames(&app).await, ["victim", "octo", "mona"]);
}
