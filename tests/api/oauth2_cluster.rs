//! latchkey as an OpenID Provider on several instances: a login for an app begun on one
//! instance finishes on another, and a code or a refresh token raced over two instances
//! is spent once. These tests need PostgreSQL (outside CI they are skipped without it).

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey::service::oauth2::clients::{self, NewClientRequest};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cluster::{cluster, Cluster};
use crate::helpers::*;

const REDIRECT: &str = "http://127.0.0.1:9/cb";
const ORIGIN: &str = "http://cluster.test";

async fn public_client(c: &Cluster) -> String {
    let req = NewClientRequest {
        name: Some("Team SPA".into()),
        redirect_uris: Some(vec![REDIRECT.into()]),
        public: Some(true),
        ..Default::default()
    };
    let created = clients::create(&c.apps[0].state.ctx, req, None, &latchkey::service::Client::local()).await.unwrap();
    created.client.client_id
}

fn query_of(location: &str) -> HashMap<String, String> {
    let url = url::Url::parse("http://cluster.test").unwrap().join(location).unwrap();
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// A code for `browser` (logged in), its authorization begun on `start` and allowed on
/// `finish`; and its PKCE verifier.
async fn code_for(
    c: &Cluster,
    browser: &reqwest::Client,
    client_id: &str,
    start: usize,
    finish: usize,
) -> (String, String) {
    let verifier = latchkey::crypto::token::new_token();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let authorize = browser
        .get(c.apps[start].url("/oauth2/authorize"))
        .query(&[
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "s1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(authorize.status(), 302);
    let location = authorize.headers()["location"].to_str().unwrap().to_string();
    let params = query_of(&location);
    let code = match params.get("code") {
        Some(code) => code.clone(),
        None => {
            assert!(location.starts_with("/consent?oauth="), "{location}");
            let id = &params["oauth"];
            let accept = browser
                .post(c.apps[finish].url(&format!("/api/oauth2/requests/{id}/accept")))
                .header("origin", ORIGIN)
                .send()
                .await
                .unwrap();
            assert_eq!(accept.status(), 200);
            let body: Value = accept.json().await.unwrap();
            query_of(body["redirect_to"].as_str().unwrap())["code"].clone()
        }
    };
    (code, verifier)
}

async fn exchange(app: &TestApp, client_id: &str, code: &str, verifier: &str) -> reqwest::Response {
    new_client()
        .post(app.url("/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap()
}

async fn refresh(app: &TestApp, client_id: &str, token: &str) -> reqwest::Response {
    new_client()
        .post(app.url("/oauth2/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", client_id)])
        .send()
        .await
        .unwrap()
}

async fn userinfo(app: &TestApp, access: &str) -> u16 {
    app.get_bearer("/oauth2/userinfo", access).await.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_app_login_begun_on_one_instance_finishes_on_another_and_ends_on_every_one() {
    let Some(c) = cluster(2, false, |_| {}).await else { return };
    let client_id = public_client(&c).await;
    let browser = new_client();
    assert_eq!(c.apps[0].signup_as(&browser, "ada", PASSWORD).await.status(), 201);
    let (code, verifier) = code_for(&c, &browser, &client_id, 0, 1).await;
    let r = exchange(&c.apps[1], &client_id, &code, &verifier).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    for app in &c.apps {
        assert_eq!(userinfo(app, access).await, 200, "an access token from one instance works on every one");
    }
    let jwks: Vec<Value> = futures_jwks(&c).await;
    assert_eq!(jwks[0], jwks[1], "every instance publishes the same keys");
    assert!(jwks[0]["keys"].as_array().unwrap().iter().any(|k| k["kty"] == "RSA"));

    // The consent is remembered on every instance: the next authorization answers a code.
    let (again, verifier2) = code_for(&c, &browser, &client_id, 1, 1).await;
    assert_eq!(exchange(&c.apps[0], &client_id, &again, &verifier2).await.status(), 200);

    let first_refresh = tokens["refresh_token"].as_str().unwrap();
    let r = refresh(&c.apps[0], &client_id, first_refresh).await;
    assert_eq!(r.status(), 200);
    let rotated: Value = r.json().await.unwrap();
    let reuse = refresh(&c.apps[1], &client_id, first_refresh).await;
    assert_eq!(reuse.status(), 400, "a spent refresh token is refused on the other instance");
    let newest = refresh(&c.apps[0], &client_id, rotated["refresh_token"].as_str().unwrap()).await;
    assert_eq!(newest.status(), 400, "and the reuse ended the whole login");
    for app in &c.apps {
        assert_eq!(userinfo(app, rotated["access_token"].as_str().unwrap()).await, 401);
    }
}

async fn futures_jwks(c: &Cluster) -> Vec<Value> {
    let mut out = Vec::new();
    for app in &c.apps {
        out.push(app.get("/.well-known/jwks.json").await.json().await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_raced_on_two_instances_is_exchanged_once() {
    let Some(c) = cluster(2, false, |_| {}).await else { return };
    let client_id = public_client(&c).await;
    let browser = new_client();
    assert_eq!(c.apps[0].signup_as(&browser, "ada", PASSWORD).await.status(), 201);
    for round in 0..10 {
        let (code, verifier) = code_for(&c, &browser, &client_id, round % 2, (round + 1) % 2).await;
        let racers = (0..8).map(|i| exchange(&c.apps[i % 2], &client_id, &code, &verifier));
        let statuses: Vec<u16> = futures::future::join_all(racers).await.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "round {round}: {statuses:?}");
        assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "round {round}: {statuses:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_raced_on_two_instances_is_spent_once_and_the_reuse_ends_the_login() {
    let Some(c) = cluster(2, false, |_| {}).await else { return };
    let client_id = public_client(&c).await;
    let browser = new_client();
    assert_eq!(c.apps[0].signup_as(&browser, "ada", PASSWORD).await.status(), 201);
    for round in 0..10 {
        let (code, verifier) = code_for(&c, &browser, &client_id, 0, 1).await;
        let tokens: Value = exchange(&c.apps[round % 2], &client_id, &code, &verifier).await.json().await.unwrap();
        let token = tokens["refresh_token"].as_str().unwrap();
        let racers = (0..6).map(|i| refresh(&c.apps[i % 2], &client_id, token));
        let answers = futures::future::join_all(racers).await;
        let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
        assert!(statuses.iter().filter(|s| **s == 200).count() <= 1, "round {round}: {statuses:?}");
        assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "round {round}: {statuses:?}");
        // A race is a reuse: whoever won holds a token of a login that has ended.
        assert_eq!(userinfo(&c.apps[0], tokens["access_token"].as_str().unwrap()).await, 401, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logout_racing_the_code_exchange_on_another_instance_never_leaves_the_app_logged_in() {
    let Some(c) = cluster(2, false, |_| {}).await else { return };
    let client_id = public_client(&c).await;
    assert_eq!(c.apps[0].signup_as(&new_client(), "ada", PASSWORD).await.status(), 201);
    for round in 0..10 {
        let browser = new_client();
        assert_eq!(c.apps[0].login_as(&browser, "ada", PASSWORD).await.status(), 200);
        let (code, verifier) = code_for(&c, &browser, &client_id, 0, 0).await;
        let logout = browser.delete(c.apps[round % 2].url("/api/logout")).header("origin", ORIGIN).send();
        let (exchanged, logged_out) =
            tokio::join!(exchange(&c.apps[(round + 1) % 2], &client_id, &code, &verifier), logout);
        assert_eq!(logged_out.unwrap().status(), 204, "round {round}");
        match exchanged.status().as_u16() {
            // The exchange went first: the logout then ended the app login it made.
            200 => {
                let tokens: Value = exchanged.json().await.unwrap();
                let access = tokens["access_token"].as_str().unwrap();
                assert_eq!(userinfo(&c.apps[0], access).await, 401, "round {round}");
                let refreshed = refresh(&c.apps[1], &client_id, tokens["refresh_token"].as_str().unwrap()).await;
                assert_eq!(refreshed.status(), 400, "round {round}");
            }
            // The logout went first: the code's login had ended.
            status => assert_eq!(status, 400, "round {round}"),
        }
    }
}
