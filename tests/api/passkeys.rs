//! API.md "Passkeys": registration, listing and removal; login with a passkey alone
//! (cookie and tokens) and as the second step; single-use ceremonies any instance can
//! finish; forged, foreign and replayed assertions refused. The ceremonies run against
//! the software authenticator of `soft_authenticator.rs`.

use std::time::Duration;

use reqwest::Client;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::soft_authenticator::SoftAuthenticator;

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Registers a passkey named `name` for the user signed in on `client`; its id.
async fn register(app: &TestApp, client: &Client, authenticator: &mut SoftAuthenticator, name: &str) -> i64 {
    let started = json_of(client.post(app.url("/api/me/passkeys/registration")).send().await.unwrap(), 200).await;
    let credential = authenticator.register(&started["options"]);
    let body = json!({"ceremony": started["ceremony"], "name": name, "credential": credential});
    let added = json_of(client.post(app.url("/api/me/passkeys")).json(&body).send().await.unwrap(), 201).await;
    assert_eq!(added["name"], name);
    added["id"].as_i64().unwrap()
}

async fn login_options(app: &TestApp, client: &Client) -> Value {
    json_of(client.post(app.url("/api/login/passkey/options")).send().await.unwrap(), 200).await
}

/// A passkey login on `client` through the cookie route.
async fn passkey_login(app: &TestApp, client: &Client, authenticator: &mut SoftAuthenticator) -> reqwest::Response {
    let started = login_options(app, client).await;
    let credential = authenticator.assert(&started["options"]);
    let body = json!({"ceremony": started["ceremony"], "credential": credential});
    client.post(app.url("/api/login/passkey")).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn a_registered_passkey_logs_in_without_a_username_and_stops_once_removed() {
    let app = TestApp::spawn().await;
    let features: Value = app.get("/api/features").await.json().await.unwrap();
    assert_eq!((features["passkeys"].clone(), features["passkey_rp_id"].clone()), (json!(true), json!("localhost")));
    let owner = new_client();
    assert_eq!(app.signup_as(&owner, "ada", PASSWORD).await.status(), 201);
    let mut authenticator = SoftAuthenticator::for_base(&app.url(""));

    let started = json_of(owner.post(app.url("/api/me/passkeys/registration")).send().await.unwrap(), 200).await;
    let public_key = &started["options"]["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(public_key["user"]["name"], "ada");
    assert_eq!(public_key["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(public_key["authenticatorSelection"]["userVerification"], "required");
    let credential = authenticator.register(&started["options"]);
    let body = json!({"ceremony": started["ceremony"], "name": "Laptop", "credential": credential});
    let added = json_of(owner.post(app.url("/api/me/passkeys")).json(&body).send().await.unwrap(), 201).await;
    let listed = json_of(owner.get(app.url("/api/me/passkeys")).send().await.unwrap(), 200).await;
    assert_eq!(listed["passkeys"].as_array().unwrap().len(), 1);
    assert_eq!(listed["passkeys"][0]["name"], "Laptop");
    assert_eq!(listed["passkeys"][0]["last_used_at"], Value::Null);

    // A second registration excludes the credential the account holds already.
    let again = json_of(owner.post(app.url("/api/me/passkeys/registration")).send().await.unwrap(), 200).await;
    let excluded = again["options"]["publicKey"]["excludeCredentials"].as_array().unwrap();
    assert_eq!(excluded.len(), 1);
    assert_eq!(excluded[0]["id"], credential["id"]);

    let browser = new_client();
    let r = passkey_login(&app, &browser, &mut authenticator).await;
    assert!(session_set_cookie(&r).is_some(), "a passkey login sets the session cookie");
    assert_eq!(json_of(r, 200).await["username"], "ada");
    assert_eq!(json_of(browser.get(app.url("/api/me")).send().await.unwrap(), 200).await["username"], "ada");
    let listed = json_of(owner.get(app.url("/api/me/passkeys")).send().await.unwrap(), 200).await;
    assert!(listed["passkeys"][0]["last_used_at"].is_string(), "{listed}");

    let api = new_client();
    let started = login_options(&app, &api).await;
    let body = json!({"ceremony": started["ceremony"], "credential": authenticator.assert(&started["options"])});
    let pair = json_of(api.post(app.url("/api/token/passkey")).json(&body).send().await.unwrap(), 200).await;
    assert_eq!(pair["user"]["username"], "ada");
    assert_eq!(claims(pair["access_token"].as_str().unwrap())["amr"], json!(["webauthn"]));
    assert_eq!(app.get_bearer("/api/me", pair["access_token"].as_str().unwrap()).await.status(), 200);

    let id = added["id"].as_i64().unwrap();
    assert_eq!(owner.delete(app.url(&format!("/api/me/passkeys/{id}"))).send().await.unwrap().status(), 204);
    assert_error(owner.delete(app.url(&format!("/api/me/passkeys/{id}"))).send().await.unwrap(), 404, "not_found")
        .await;
    assert_error(passkey_login(&app, &new_client(), &mut authenticator).await, 401, "invalid_passkey").await;
}

#[tokio::test]
async fn ceremonies_finish_once_for_their_own_purpose_and_account_and_expire() {
    let app = TestApp::spawn().await;
    let (ada, eve) = (new_client(), new_client());
    assert_eq!(app.signup_as(&ada, "ada", PASSWORD).await.status(), 201);
    assert_eq!(app.signup_as(&eve, "eve", PASSWORD).await.status(), 201);
    let mut authenticator = SoftAuthenticator::for_base(&app.url(""));

    // Ada's registration ceremony cannot be finished by Eve, whose attempt leaves it to
    // Ada; finished, it is spent.
    let started = json_of(ada.post(app.url("/api/me/passkeys/registration")).send().await.unwrap(), 200).await;
    let credential = authenticator.register(&started["options"]);
    let body = json!({"ceremony": started["ceremony"], "name": "Key", "credential": credential});
    let r = eve.post(app.url("/api/me/passkeys")).json(&body).send().await.unwrap();
    assert_error(r, 401, "invalid_challenge").await;
    assert_eq!(ada.post(app.url("/api/me/passkeys")).json(&body).send().await.unwrap().status(), 201);
    let r = ada.post(app.url("/api/me/passkeys")).json(&body).send().await.unwrap();
    assert_error(r, 401, "invalid_challenge").await;

    register(&app, &ada, &mut authenticator, "Key 2").await;
    // The same credential cannot be registered twice, to the same or another account.
    let started = json_of(eve.post(app.url("/api/me/passkeys/registration")).send().await.unwrap(), 200).await;
    let registered = authenticator.credentials[1].clone();
    let again = authenticator.registration_of(&registered, &started["options"]["publicKey"]);
    let body = json!({"ceremony": started["ceremony"], "name": "Stolen", "credential": again});
    assert_error(eve.post(app.url("/api/me/passkeys")).json(&body).send().await.unwrap(), 409, "passkey_exists").await;

    // A login ceremony does not finish a registration.
    let started = login_options(&app, &new_client()).await;
    let again = authenticator.registration_of(&registered, &started["options"]["publicKey"]);
    let body = json!({"ceremony": started["ceremony"], "name": "x", "credential": again});
    assert_error(ada.post(app.url("/api/me/passkeys")).json(&body).send().await.unwrap(), 401, "invalid_challenge")
        .await;

    // A login ceremony finishes once, and not after 5 minutes.
    let started = login_options(&app, &new_client()).await;
    let body = json!({"ceremony": started["ceremony"], "credential": authenticator.assert(&started["options"])});
    assert_eq!(new_client().post(app.url("/api/login/passkey")).json(&body).send().await.unwrap().status(), 200);
    let replay = new_client().post(app.url("/api/login/passkey")).json(&body).send().await.unwrap();
    assert_error(replay, 401, "invalid_challenge").await;

    let started = login_options(&app, &new_client()).await;
    let late = json!({"ceremony": started["ceremony"], "credential": authenticator.assert(&started["options"])});
    app.clock.advance(Duration::from_secs(301));
    let r = new_client().post(app.url("/api/login/passkey")).json(&late).send().await.unwrap();
    assert_error(r, 401, "invalid_challenge").await;
}

#[tokio::test]
async fn forged_foreign_and_wrong_origin_assertions_are_refused() {
    let app = TestApp::spawn().await;
    let ada = new_client();
    assert_eq!(app.signup_as(&ada, "ada", PASSWORD).await.status(), 201);
    let mut authenticator = SoftAuthenticator::for_base(&app.url(""));
    register(&app, &ada, &mut authenticator, "Key").await;

    // A signature over other data.
    let started = login_options(&app, &new_client()).await;
    let mut forged = authenticator.assert(&started["options"]);
    let other = authenticator.assert(&login_options(&app, &new_client()).await["options"]);
    forged["response"]["signature"] = other["response"]["signature"].clone();
    let body = json!({"ceremony": started["ceremony"], "credential": forged});
    let r = new_client().post(app.url("/api/login/passkey")).json(&body).send().await.unwrap();
    assert_error(r, 401, "invalid_passkey").await;

    // A credential the server never registered.
    let mut stranger = SoftAuthenticator::for_base(&app.url(""));
    let eve = new_client();
    assert_eq!(app.signup_as(&eve, "eve", PASSWORD).await.status(), 201);
    let started = json_of(eve.post(app.url("/api/me/passkeys/registration")).send().await.unwrap(), 200).await;
    stranger.register(&started["options"]);
    assert_error(passkey_login(&app, &new_client(), &mut stranger).await, 401, "invalid_passkey").await;

    // Ada's passkey used from a page on another origin.
    let mut phishing = SoftAuthenticator::with_origin("https://evil.example");
    phishing.credentials = authenticator.credentials.clone();
    assert_error(passkey_login(&app, &new_client(), &mut phishing).await, 401, "invalid_passkey").await;

    // Not a credential at all.
    let started = login_options(&app, &new_client()).await;
    let body = json!({"ceremony": started["ceremony"], "credential": {"id": "x"}});
    let r = new_client().post(app.url("/api/login/passkey")).json(&body).send().await.unwrap();
    assert_error(r, 422, "validation_failed").await;
    assert_eq!(passkey_login(&app, &new_client(), &mut authenticator).await.status(), 200, "the real one still works");
}

#[tokio::test]
async fn with_totp_a_passkey_can_be_the_second_step_and_its_challenge_is_spent() {
    let app = TestApp::spawn().await;
    let ada = new_client();
    assert_eq!(app.signup_as(&ada, "ada", PASSWORD).await.status(), 201);
    let mut authenticator = SoftAuthenticator::for_base(&app.url(""));
    register(&app, &ada, &mut authenticator, "Key").await;
    let enrolment = json_of(ada.post(app.url("/api/me/totp")).send().await.unwrap(), 200).await;
    let secret = totp_rs::Secret::Encoded(enrolment["secret"].as_str().unwrap().into()).to_bytes().unwrap();
    let code = latchkey::crypto::otp::code_at_step(&secret, app.clock.now() / 30).unwrap();
    json_of(ada.post(app.url("/api/me/totp/confirm")).json(&json!({"code": code})).send().await.unwrap(), 200).await;

    let api = new_client();
    let r = api.post(app.url("/api/token")).json(&json!({"username": "ada", "password": PASSWORD})).send().await;
    let pending = assert_error(r.unwrap(), 401, "second_factor_required").await;
    assert_eq!(pending["methods"], json!(["totp", "recovery_code", "webauthn"]));
    let allowed = pending["webauthn"]["publicKey"]["allowCredentials"].as_array().unwrap();
    assert_eq!(allowed.len(), 1);
    let assertion = authenticator.assert(&pending["webauthn"]);
    let body = json!({"challenge": pending["challenge"], "credential": assertion});
    let pair = json_of(api.post(app.url("/api/token/second-factor")).json(&body).send().await.unwrap(), 200).await;
    assert_eq!(claims(pair["access_token"].as_str().unwrap())["amr"], json!(["pwd", "webauthn"]));
    let replay = api.post(app.url("/api/token/second-factor")).json(&body).send().await.unwrap();
    assert_error(replay, 401, "invalid_challenge").await;

    // Both a code and a passkey: refused before anything is spent.
    let browser = new_client();
    let pending = assert_error(app.login_as(&browser, "ada", PASSWORD).await, 401, "second_factor_required").await;
    let assertion = authenticator.assert(&pending["webauthn"]);
    let both = json!({"challenge": pending["challenge"], "code": "123456", "credential": assertion});
    let r = browser.post(app.url("/api/login/second-factor")).json(&both).send().await.unwrap();
    assert_error(r, 422, "validation_failed").await;
    // Another account's passkey does not finish Ada's login.
    let eve = new_client();
    assert_eq!(app.signup_as(&eve, "eve", PASSWORD).await.status(), 201);
    let mut eves = SoftAuthenticator::for_base(&app.url(""));
    register(&app, &eve, &mut eves, "Eve's").await;
    let foreign = eves.assert_with(0, &pending["webauthn"]["publicKey"]);
    let body = json!({"challenge": pending["challenge"], "credential": foreign});
    let r = browser.post(app.url("/api/login/second-factor")).json(&body).send().await.unwrap();
    assert_error(r, 401, "invalid_passkey").await;
    let body = json!({"challenge": pending["challenge"], "credential": assertion});
    let r = browser.post(app.url("/api/login/second-factor")).json(&body).send().await.unwrap();
    assert!(session_set_cookie(&r).is_some());
    assert_eq!(json_of(r, 200).await["username"], "ada");

    // A passkey alone is a complete login, TOTP or not.
    assert_eq!(passkey_login(&app, &new_client(), &mut authenticator).await.status(), 200);
}

#[tokio::test]
async fn adding_and_removing_passkeys_needs_a_recent_login_and_an_admin_can_remove_them_all() {
    let app = TestApp::spawn().await;
    let ada = new_client();
    assert_eq!(app.signup_as(&ada, "ada", PASSWORD).await.status(), 201);
    let mut authenticator = SoftAuthenticator::for_base(&app.url(""));
    let id = register(&app, &ada, &mut authenticator, "Key").await;
    app.clock.advance(Duration::from_secs(301));
    let r = ada.post(app.url("/api/me/passkeys/registration")).send().await.unwrap();
    assert_error(r, 403, "reauthentication_required").await;
    let r = ada.delete(app.url(&format!("/api/me/passkeys/{id}"))).send().await.unwrap();
    assert_error(r, 403, "reauthentication_required").await;
    let r = ada.post(app.url("/api/reauthenticate")).json(&json!({"password": PASSWORD})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    register(&app, &ada, &mut authenticator, "Phone").await;

    let ada_id = json_of(ada.get(app.url("/api/me")).send().await.unwrap(), 200).await["id"].as_i64().unwrap();
    app.admin("root").await;
    assert_eq!(app.delete(&format!("/api/users/{ada_id}/second-factors")).await.status(), 204);
    // Like a password reset, the removal ends ada's sessions: whoever holds the lost
    // device may hold one of them.
    assert_error(ada.get(app.url("/api/me/passkeys")).send().await.unwrap(), 401, "unauthorized").await;
    assert_eq!(app.login_as(&ada, "ada", PASSWORD).await.status(), 200);
    let listed = json_of(ada.get(app.url("/api/me/passkeys")).send().await.unwrap(), 200).await;
    assert_eq!(listed["passkeys"], json!([]));
    assert_error(passkey_login(&app, &new_client(), &mut authenticator).await, 401, "invalid_passkey").await;
}

#[tokio::test]
async fn of_racing_finishes_of_one_ceremony_exactly_one_logs_in() {
    let app = TestApp::spawn().await;
    let ada = new_client();
    assert_eq!(app.signup_as(&ada, "ada", PASSWORD).await.status(), 201);
    let mut authenticator = SoftAuthenticator::for_base(&app.url(""));
    register(&app, &ada, &mut authenticator, "Key").await;
    for _round in 0..5 {
        let started = login_options(&app, &new_client()).await;
        let body = json!({"ceremony": started["ceremony"], "credential": authenticator.assert(&started["options"])});
        let attempts = (0..12).map(|_| {
            let body = body.clone();
            let url = app.url("/api/login/passkey");
            async move { new_client().post(url).json(&body).send().await.unwrap().status().as_u16() }
        });
        let mut statuses = futures::future::join_all(attempts).await;
        statuses.sort();
        assert_eq!(statuses, [vec![200], vec![401; 11]].concat(), "{statuses:?}");
    }
}

#[tokio::test]
async fn a_ceremony_started_on_one_instance_finishes_on_another() {
    let (database_url, db) = fresh_database().await;
    let mut config = test_config();
    config.database_url = database_url;
    // Both instances publish the same URL, as behind one load balancer.
    config.public_url = "http://localhost:8080".into();
    let first = TestApp::start(config.clone(), db).await;
    let second = TestApp::start(config, TestDb::Shared).await;
    let ada = new_client();
    assert_eq!(first.signup_as(&ada, "ada", PASSWORD).await.status(), 201);
    let mut authenticator = SoftAuthenticator::with_origin("http://localhost:8080");

    let started = json_of(ada.post(first.url("/api/me/passkeys/registration")).send().await.unwrap(), 200).await;
    let credential = authenticator.register(&started["options"]);
    let body = json!({"ceremony": started["ceremony"], "name": "Key", "credential": credential});
    // The session cookie is the same on both (cookies do not care for ports).
    json_of(ada.post(second.url("/api/me/passkeys")).json(&body).send().await.unwrap(), 201).await;

    let started = login_options(&second, &new_client()).await;
    let body = json!({"ceremony": started["ceremony"], "credential": authenticator.assert(&started["options"])});
    let r = new_client().post(first.url("/api/login/passkey")).json(&body).send().await.unwrap();
    assert_eq!(json_of(r, 200).await["username"], "ada");
}

#[tokio::test]
async fn on_an_ip_address_without_rp_id_passkeys_are_off_and_say_so() {
    let app = TestApp::spawn_with(|c| c.public_url = "http://192.0.2.10:8080".into()).await;
    let features: Value = app.get("/api/features").await.json().await.unwrap();
    assert_eq!((features["passkeys"].clone(), features["passkey_rp_id"].clone()), (json!(false), Value::Null));
    app.signed_up("ada").await;
    assert_error(app.post_json("/api/me/passkeys/registration", &json!({})).await, 404, "not_found").await;
    assert_error(app.post_json("/api/login/passkey/options", &json!({})).await, 404, "not_found").await;

    let named = TestApp::spawn_with(|c| {
        c.public_url = "http://192.0.2.10:8080".into();
        c.passkeys.rp_id = Some("auth.example.com".into());
        c.passkeys.origins = vec!["https://auth.example.com".into()];
    })
    .await;
    let features: Value = named.get("/api/features").await.json().await.unwrap();
    assert_eq!(features["passkey_rp_id"], "auth.example.com");
}

#[tokio::test]
async fn a_passkey_renews_the_step_up_window_for_a_cookie_or_a_bearer_caller() {
    let app = TestApp::spawn().await;
    let ada = new_client();
    assert_eq!(app.signup_as(&ada, "ada", PASSWORD).await.status(), 201);
    let mut authenticator = SoftAuthenticator::for_base(&app.url(""));
    register(&app, &ada, &mut authenticator, "Key").await;
    // Issued before the clock moves (the JWT library checks `nbf` against the real clock).
    let pair = app.tokens("ada", PASSWORD).await;
    app.clock.advance(Duration::from_secs(301));
    let r = ada.post(app.url("/api/me/passkeys/registration")).send().await.unwrap();
    assert_error(r, 403, "reauthentication_required").await;

    let started = json_of(ada.post(app.url("/api/reauthenticate/passkey/options")).send().await.unwrap(), 200).await;
    assert_eq!(started["options"]["publicKey"]["allowCredentials"].as_array().unwrap().len(), 1);
    let body = json!({"ceremony": started["ceremony"], "credential": authenticator.assert(&started["options"])});
    let renewed =
        json_of(ada.post(app.url("/api/reauthenticate/passkey")).json(&body).send().await.unwrap(), 200).await;
    assert_eq!(renewed["step_up_expires_in"], 300);
    assert_eq!(ada.post(app.url("/api/me/passkeys/registration")).send().await.unwrap().status(), 200);
    let replay = ada.post(app.url("/api/reauthenticate/passkey")).json(&body).send().await.unwrap();
    assert_error(replay, 401, "invalid_challenge").await;

    // Another account's ceremony, or its passkey, renews nothing.
    let eve = new_client();
    assert_eq!(app.signup_as(&eve, "eve", PASSWORD).await.status(), 201);
    let mut eves = SoftAuthenticator::for_base(&app.url(""));
    register(&app, &eve, &mut eves, "Eve's").await;
    let started = json_of(ada.post(app.url("/api/reauthenticate/passkey/options")).send().await.unwrap(), 200).await;
    let body = json!({"ceremony": started["ceremony"], "credential": authenticator.assert(&started["options"])});
    let r = eve.post(app.url("/api/reauthenticate/passkey")).json(&body).send().await.unwrap();
    assert_error(r, 401, "invalid_challenge").await;
    let started = json_of(ada.post(app.url("/api/reauthenticate/passkey/options")).send().await.unwrap(), 200).await;
    let foreign = eves.assert_with(0, &started["options"]["publicKey"]);
    let body = json!({"ceremony": started["ceremony"], "credential": foreign});
    assert_error(
        ada.post(app.url("/api/reauthenticate/passkey")).json(&body).send().await.unwrap(),
        401,
        "invalid_passkey",
    )
    .await;

    // A Bearer caller (its login 301 s ago) gets a new access token carrying the new
    // time and `webauthn`.
    let token = pair["access_token"].as_str().unwrap();
    let api = new_client();
    let started = api.post(app.url("/api/reauthenticate/passkey/options")).bearer_auth(token).send().await.unwrap();
    let started = json_of(started, 200).await;
    let body = json!({"ceremony": started["ceremony"], "credential": authenticator.assert(&started["options"])});
    let r = api.post(app.url("/api/reauthenticate/passkey")).bearer_auth(token).json(&body).send().await.unwrap();
    let renewed = json_of(r, 200).await;
    let claims = claims(renewed["access_token"].as_str().unwrap());
    assert_eq!(claims["amr"], json!(["pwd", "webauthn"]));
    assert!(claims["auth_time"].as_i64().unwrap() >= app.clock.now() - 1);

    // Without passkeys there is nothing to start.
    let bob = new_client();
    assert_eq!(app.signup_as(&bob, "bob", PASSWORD).await.status(), 201);
    let r = bob.post(app.url("/api/reauthenticate/passkey/options")).send().await.unwrap();
    assert_error(r, 404, "not_found").await;
}
