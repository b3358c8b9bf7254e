//! API.md "Tokens": access tokens, refresh rotation and reuse, keys, hostile tokens.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey::crypto::jwt::{generate_ed25519, Claims, Ed25519Key, KeySet};
use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::*;

async fn assert_invalid_token(r: Response) {
    assert_eq!(r.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");
    assert_error(r, 401, "invalid_token").await;
}

fn claims_for(app: &TestApp, sub: &str, exp_in: i64) -> Claims {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Claims {
        iss: app.state.ctx.config.public_url.clone(),
        aud: "latchkey".into(),
        sub: sub.into(),
        username: "ada".into(),
        roles: vec!["user".into(), "admin".into()],
        iat: now,
        nbf: now,
        exp: now + exp_in,
        jti: "test".into(),
        amr: vec!["pwd".into()],
        auth_time: now,
        sid: None,
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn a_password_login_gives_an_eddsa_access_token_and_a_refresh_token() {
    let app = TestApp::spawn().await;
    let user = app.signed_up("ada").await;
    let t = app.tokens("ada", PASSWORD).await;
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 900);
    assert_eq!(t["user"], user);
    let refresh = t["refresh_token"].as_str().unwrap();
    assert!(refresh.len() >= 43);
    let access = t["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(access.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(payload["iss"], app.state.ctx.config.public_url);
    assert_eq!(payload["aud"], "latchkey");
    assert_eq!(payload["sub"], user["id"].to_string());
    assert_eq!(payload["username"], "ada");
    assert_eq!(payload["roles"], json!(["user"]));
    assert_eq!(payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(), 900);
    for claim in ["nbf", "jti"] {
        assert!(payload.get(claim).is_some(), "{claim}");
    }
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    assert_eq!(jwks["keys"][0]["kid"], header.kid.unwrap());
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert!(jwks["keys"][0].get("d").is_none(), "never the private key");

    let r = app.get_bearer("/api/me", access).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), user);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_takes_a_colon() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let access = app.tokens("ada", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    for value in [
        format!("Bearer {access}"),
        format!("bearer {access}"),
        format!("BEARER {access}"),
        format!("Bearer: {access}"),
        format!("Bearer:{access}"),
    ] {
        let r = new_client().get(app.url("/api/me")).header("authorization", &value).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", &value[..12]);
    }
}

#[tokio::test]
async fn token_logins_are_checked_and_throttled_like_cookie_logins() {
    let app = TestApp::spawn_with(|c| c.throttle.login_per_account = 2).await;
    app.signed_up("ada").await;
    for _ in 0..2 {
        let r = new_client()
            .post(app.url("/api/token"))
            .json(&json!({"username": "ada", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        assert_error(r, 401, "invalid_credentials").await;
    }
    let r = new_client()
        .post(app.url("/api/token"))
        .json(&json!({"username": "ada", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("retry-after"));
    assert_error(r, 429, "rate_limited").await;
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_dies() {
    let app = TestApp::spawn_with(|c| c.tokens.refresh_reuse_grace = "0s".parse().unwrap()).await;
    app.signed_up("ada").await;
    let first = app.tokens("ada", PASSWORD).await;
    let r = app.refresh(first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status(), 200);
    let second: Value = r.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["user"]["username"], "ada");
    assert_eq!(app.get_bearer("/api/me", second["access_token"].as_str().unwrap()).await.status(), 200);
    let third = app.refresh(second["refresh_token"].as_str().unwrap()).await;
    assert_eq!(third.status(), 200, "the new one works");
}

#[tokio::test]
async fn reuse_of_a_spent_refresh_token_revokes_the_whole_family() {
    let app = TestApp::spawn_with(|c| c.tokens.refresh_reuse_grace = "0s".parse().unwrap()).await;
    app.admin("root").await;
    app.signup_as(&new_client(), "ada", PASSWORD).await;
    let first = app.tokens("ada", PASSWORD).await;
    let other_login = app.tokens("ada", PASSWORD).await;
    let stolen = first["refresh_token"].as_str().unwrap();
    let second: Value = app.refresh(stolen).await.json().await.unwrap();
    assert_invalid_token(app.refresh(stolen).await).await;
    assert_invalid_token(app.refresh(second["refresh_token"].as_str().unwrap()).await).await;
    assert_eq!(
        app.refresh(other_login["refresh_token"].as_str().unwrap()).await.status(),
        200,
        "another login's family lives"
    );
    let audit: Value = app.get("/api/audit").await.json().await.unwrap();
    assert!(audit["events"].as_array().unwrap().iter().any(|e| e["kind"] == "token_reuse_detected"), "{audit}");
}

#[tokio::test]
async fn racing_refreshes_within_the_grace_all_succeed_in_the_same_family() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let t = app.tokens("ada", PASSWORD).await;
    let token = t["refresh_token"].as_str().unwrap().to_string();
    let (a, b) = tokio::join!(app.refresh(&token), app.refresh(&token));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_ne!(a["refresh_token"], b["refresh_token"]);
    assert_eq!(app.refresh(a["refresh_token"].as_str().unwrap()).await.status(), 200);
    assert_eq!(app.refresh(b["refresh_token"].as_str().unwrap()).await.status(), 200);
}

#[tokio::test]
async fn racing_refreshes_without_a_grace_are_theft() {
    let app = TestApp::spawn_with(|c| c.tokens.refresh_reuse_grace = "0s".parse().unwrap()).await;
    app.signed_up("ada").await;
    let token = app.tokens("ada", PASSWORD).await["refresh_token"].as_str().unwrap().to_string();
    let (a, b) = tokio::join!(app.refresh(&token), app.refresh(&token));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 401]);
    let winner: Value = if a.status() == 200 { a.json().await.unwrap() } else { b.json().await.unwrap() };
    assert_invalid_token(app.refresh(winner["refresh_token"].as_str().unwrap()).await).await;
}

#[tokio::test]
async fn reuse_after_the_grace_is_theft_and_a_revoked_family_stays_revoked() {
    let app = TestApp::spawn_with(|c| c.tokens.refresh_reuse_grace = "1s".parse().unwrap()).await;
    app.signed_up("ada").await;
    let token = app.tokens("ada", PASSWORD).await["refresh_token"].as_str().unwrap().to_string();
    let fresh: Value = app.refresh(&token).await.json().await.unwrap();
    assert_eq!(app.refresh(&token).await.status(), 200, "within the grace: a second tab");
    app.clock.advance(Duration::from_millis(2100));
    assert_invalid_token(app.refresh(&token).await).await;
    assert_invalid_token(app.refresh(fresh["refresh_token"].as_str().unwrap()).await).await;

    let again = app.tokens("ada", PASSWORD).await["refresh_token"].as_str().unwrap().to_string();
    let r =
        new_client().post(app.url("/api/token/revoke")).json(&json!({"refresh_token": again})).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_invalid_token(app.refresh(&again).await).await;
}

#[tokio::test]
async fn revoking_unknown_or_malformed_refresh_tokens_is_204_and_bad_ones_do_not_refresh() {
    let app = TestApp::spawn().await;
    for body in [json!({"refresh_token": "A".repeat(43)}), json!({"refresh_token": "nope"}), json!({})] {
        let r = new_client().post(app.url("/api/token/revoke")).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 204, "{body}");
        let r = new_client().post(app.url("/api/token/refresh")).json(&body).send().await.unwrap();
        assert_invalid_token(r).await;
    }
    let r = new_client().post(app.url("/api/token/refresh")).json(&json!({"refresh_token": 5})).send().await.unwrap();
    assert_error(r, 400, "bad_request").await;
}

#[tokio::test]
async fn password_change_admin_revocation_and_deletion_revoke_refresh_tokens() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let before = app.tokens("ada", PASSWORD).await["refresh_token"].as_str().unwrap().to_string();
    let r = app
        .put_json("/api/me/password", &json!({"current_password": PASSWORD, "new_password": "quiet-lantern-meadow"}))
        .await;
    assert_eq!(r.status(), 204);
    assert_invalid_token(app.refresh(&before).await).await;

    let admin = TestApp::spawn().await;
    admin.admin("root").await;
    let bob = admin.signup_as(&new_client(), "bob", PASSWORD).await.json::<Value>().await.unwrap();
    let bobs = admin.tokens("bob", PASSWORD).await["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(admin.delete(&format!("/api/users/{}/sessions", bob["id"])).await.status(), 204);
    assert_invalid_token(admin.refresh(&bobs).await).await;
    let bobs = admin.tokens("bob", PASSWORD).await;
    assert_eq!(admin.delete(&format!("/api/users/{}", bob["id"])).await.status(), 204);
    assert_invalid_token(admin.refresh(bobs["refresh_token"].as_str().unwrap()).await).await;
    assert_invalid_token(admin.get_bearer("/api/me", bobs["access_token"].as_str().unwrap()).await).await;
}

#[tokio::test]
async fn expired_tokens_are_token_expired_and_early_ones_invalid() {
    let app = TestApp::spawn().await;
    let user = app.signed_up("ada").await;
    let sub = user["id"].to_string();
    let keys = app.state.ctx.keys.current();
    let expired = keys.sign(&claims_for(&app, &sub, -60)).unwrap();
    let r = app.get_bearer("/api/me", &expired).await;
    assert_eq!(r.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");
    assert_error(r, 401, "token_expired").await;
    let within_leeway = keys.sign(&claims_for(&app, &sub, -20)).unwrap();
    assert_eq!(app.get_bearer("/api/me", &within_leeway).await.status(), 200, "30 s of leeway");
    let mut early = claims_for(&app, &sub, 900);
    early.nbf += 120;
    assert_invalid_token(app.get_bearer("/api/me", &keys.sign(&early).unwrap()).await).await;
}

#[tokio::test]
async fn hostile_tokens_are_all_invalid_token() {
    let app = TestApp::spawn().await;
    let user = app.signed_up("ada").await;
    let sub = user["id"].to_string();
    let good = app.tokens("ada", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    let kid = kid_of(&good);
    let keys = app.state.ctx.keys.current();
    let [header, payload, signature]: [&str; 3] = good.split('.').collect::<Vec<_>>().try_into().unwrap();

    let mut hostile: Vec<(&str, String)> = Vec::new();
    let claims = serde_json::to_value(claims_for(&app, &sub, 900)).unwrap();
    hostile.push(("alg none", format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})), b64(&claims))));
    hostile.push(("alg none, no kid", format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims))));

    // Algorithm confusion: HS256 keyed with the public key the JWKS publishes.
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    for secret in [URL_SAFE_NO_PAD.decode(x).unwrap(), x.as_bytes().to_vec()] {
        let forged =
            jsonwebtoken::encode(&hs_header, &claims, &jsonwebtoken::EncodingKey::from_secret(&secret)).unwrap();
        hostile.push(("HS256 with the public key", forged));
    }

    // A foreign Ed25519 key that borrows our kid.
    let foreign = generate_ed25519().unwrap();
    let impostor = KeySet::ed25519(
        &[Ed25519Key { kid: &kid, seed: &foreign.seed, public: &foreign.public }],
        &app.state.ctx.config.public_url,
        "latchkey",
    )
    .unwrap();
    hostile.push(("foreign key, our kid", impostor.sign(&claims_for(&app, &sub, 900)).unwrap()));

    // Tampered claims under the genuine signature.
    let mut elevated: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    elevated["roles"] = json!(["user", "admin"]);
    hostile.push(("tampered roles", format!("{header}.{}.{signature}", b64(&elevated))));
    let mut other_user = elevated.clone();
    other_user["sub"] = json!("999");
    hostile.push(("tampered sub", format!("{header}.{}.{signature}", b64(&other_user))));
    hostile.push(("truncated signature", format!("{header}.{payload}.{}", &signature[..signature.len() - 4])));

    // Genuinely signed, wrong issuer or audience.
    let mut wrong_iss = claims_for(&app, &sub, 900);
    wrong_iss.iss = "https://evil.example".into();
    hostile.push(("wrong iss", keys.sign(&wrong_iss).unwrap()));
    let mut wrong_aud = claims_for(&app, &sub, 900);
    wrong_aud.aud = "another-service".into();
    hostile.push(("wrong aud", keys.sign(&wrong_aud).unwrap()));
    hostile.push(("unknown user", keys.sign(&claims_for(&app, "424242", 900)).unwrap()));
    hostile.push(("not a number sub", keys.sign(&claims_for(&app, "ada", 900)).unwrap()));

    for junk in ["", "x", "a.b", "a.b.c", "....", "eyJhbGciOiJFZERTQSJ9.e30.", &"A".repeat(10_000)] {
        hostile.push(("junk", junk.to_string()));
    }
    for (what, token) in hostile {
        let r = app.get_bearer("/api/me", &token).await;
        assert_eq!(r.status(), 401, "{what}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer error=\"invalid_token\"", "{what}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_token", "{what}");
        // A bad Bearer token never falls back to anonymous on check_session's 200 either.
        assert_eq!(app.get_bearer("/api/check_session", &token).await.status(), 204, "{what}");
    }
    assert_eq!(app.get_bearer("/api/me", &good).await.status(), 200);
}

#[tokio::test]
async fn keys_rotate_new_tokens_get_the_new_kid_and_old_ones_keep_verifying() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let before = app.tokens("ada", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    let (new_kid, retired) = latchkey::service::keys::rotate(&app.state.ctx).await.unwrap();
    assert_eq!(retired, 1);
    app.state.ctx.keys.reload().await.unwrap();
    let after = app.tokens("ada", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    assert_eq!(kid_of(&after), new_kid);
    assert_ne!(kid_of(&before), new_kid);
    assert_eq!(app.get_bearer("/api/me", &before).await.status(), 200, "a token of the retired key still verifies");
    assert_eq!(app.get_bearer("/api/me", &after).await.status(), 200);
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, [new_kid.as_str(), kid_of(&before).as_str()], "current key first");
}

#[tokio::test]
async fn a_retired_key_drops_out_once_its_tokens_have_expired() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let old = app.tokens("ada", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    // Retire the current key as if it had happened long ago, then make a new one.
    let long_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 100_000;
    let mut tx = app.state.ctx.store.begin().await.unwrap();
    tx.retire_current_keys("EdDSA", long_ago).await.unwrap();
    tx.commit().await.unwrap();
    latchkey::service::keys::rotate(&app.state.ctx).await.unwrap();
    app.state.ctx.keys.reload().await.unwrap();
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_invalid_token(app.get_bearer("/api/me", &old).await).await;
}

#[tokio::test]
async fn another_instance_on_the_same_database_verifies_our_tokens_and_sees_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/shared.db", dir.path().display());
    let shared = |c: &mut latchkey::config::Config| {
        c.database_url = url.clone();
        c.public_url = "http://auth.test".into();
    };
    let one = TestApp::spawn_with(shared).await;
    let two = TestApp::spawn_with(shared).await;
    one.signed_up("ada").await;
    let token = one.tokens("ada", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    assert_eq!(two.get_bearer("/api/me", &token).await.status(), 200);
    latchkey::service::keys::rotate(&one.state.ctx).await.unwrap();
    one.state.ctx.keys.reload().await.unwrap();
    let rotated = one.tokens("ada", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    // `two` has not reloaded (SQLite's feed is in-process): the unknown kid makes it
    // look the key up, once the few seconds between such lookups have passed.
    two.clock.advance(Duration::from_millis(5100));
    assert_eq!(two.get_bearer("/api/me", &rotated).await.status(), 200);
}

#[tokio::test]
async fn hs256_signs_with_the_configured_secret_and_publishes_no_keys() {
    let app = TestApp::spawn_with(|c| {
        c.tokens.algorithm = latchkey::config::JwtAlgorithm::HS256;
        c.tokens.hs256_secret = Some(latchkey::config::Secret("s".repeat(40)));
    })
    .await;
    app.signed_up("ada").await;
    let access = app.tokens("ada", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    assert_eq!(jsonwebtoken::decode_header(&access).unwrap().alg, jsonwebtoken::Algorithm::HS256);
    assert_eq!(app.get_bearer("/api/me", &access).await.status(), 200);
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    assert_eq!(jwks, json!({"keys": []}));
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid_of(&access));
    let forged = jsonwebtoken::encode(
        &header,
        &claims_for(&app, "1", 900),
        &jsonwebtoken::EncodingKey::from_secret(&[b's'; 39]),
    )
    .unwrap();
    assert_invalid_token(app.get_bearer("/api/me", &forged).await).await;
}

#[tokio::test]
async fn bearer_requests_are_exempt_from_csrf() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let access = app.tokens("ada", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    let r = app
        .client
        .post(app.url("/api/posts"))
        .bearer_auth(&access)
        .header("origin", "https://evil.example")
        .json(&json!({"body": "from a script with a token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "the cookie jar also holds a session, but the Bearer token authenticates");
}
