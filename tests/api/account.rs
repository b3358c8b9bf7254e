//! API.md "Account": password change and the caller's sessions.

use serde_json::{json, Value};

use crate::helpers::*;

const NEW_PASSWORD: &str = "quiet-lantern-meadow";

#[tokio::test]
async fn changing_the_password_ends_every_other_session_and_keeps_this_one() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let laptop = new_client();
    assert_eq!(app.login_as(&laptop, "ada", PASSWORD).await.status(), 200);
    let r =
        app.put_json("/api/me/password", &json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})).await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.get("/api/me").await.status(), 200, "the current session stays");
    assert_error(laptop.get(app.url("/api/me")).send().await.unwrap(), 401, "unauthorized").await;
    assert_error(app.login_as(&new_client(), "ada", PASSWORD).await, 401, "invalid_credentials").await;
    assert_eq!(app.login_as(&new_client(), "ada", NEW_PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_wrong_current_password_is_401_invalid_credentials_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let r = app
        .put_json("/api/me/password", &json!({"current_password": "not-my-password", "new_password": NEW_PASSWORD}))
        .await;
    let body = assert_error(r, 401, "invalid_credentials").await;
    assert!(body["fields"]["current_password"].is_string(), "{body}");
    assert_eq!(app.get("/api/me").await.status(), 200, "still logged in");
    assert_eq!(app.login_as(&new_client(), "ada", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn the_new_password_must_meet_the_policy() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    for bad in ["short", "password123", ""] {
        let r = app.put_json("/api/me/password", &json!({"current_password": PASSWORD, "new_password": bad})).await;
        let body = assert_error(r, 422, "validation_failed").await;
        assert!(body["fields"]["new_password"].is_string(), "{body}");
    }
    let r = app.put_json("/api/me/password", &json!({"new_password": NEW_PASSWORD})).await;
    assert_error(r, 422, "validation_failed").await;
}

#[tokio::test]
async fn account_routes_need_a_session() {
    let app = TestApp::spawn().await;
    let r =
        app.put_json("/api/me/password", &json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})).await;
    assert_error(r, 401, "unauthorized").await;
    assert_error(app.get("/api/me/sessions").await, 401, "unauthorized").await;
    assert_error(app.delete("/api/me/sessions").await, 401, "unauthorized").await;
    assert_error(app.delete("/api/me/sessions/1").await, 401, "unauthorized").await;
}

#[tokio::test]
async fn sessions_are_listed_with_their_device_and_the_current_one_marked() {
    let app = TestApp::spawn().await;
    let token = cookie_value(&session_set_cookie(&app.signup("ada").await).unwrap());
    let phone = reqwest::Client::builder().cookie_store(true).user_agent("Phone/1.0").build().unwrap();
    assert_eq!(app.login_as(&phone, "ada", PASSWORD).await.status(), 200);
    let sessions: Vec<Value> = app.get("/api/me/sessions").await.json().await.unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    for s in &sessions {
        for key in ["id", "created_at", "last_seen_at", "expires_at", "ip", "user_agent", "current"] {
            assert!(s.get(key).is_some(), "{key} in {s}");
        }
        assert_eq!(s["ip"], "127.0.0.1");
    }
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let other = sessions.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["user_agent"], "Phone/1.0");
    assert!(!serde_json::to_string(&sessions).unwrap().contains(&token), "nothing of the secret cookie value");
}

#[tokio::test]
async fn revoking_one_session_ends_it_and_others_sessions_are_404() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let phone = new_client();
    app.login_as(&phone, "ada", PASSWORD).await;
    let sessions: Vec<Value> = app.get("/api/me/sessions").await.json().await.unwrap();
    let phone_session = sessions.iter().find(|s| s["current"] == false).unwrap()["id"].as_i64().unwrap();

    let mallory = new_client();
    app.signup_as(&mallory, "mallory", PASSWORD).await;
    let r = mallory.delete(app.url(&format!("/api/me/sessions/{phone_session}"))).send().await.unwrap();
    assert_error(r, 404, "not_found").await;
    assert_eq!(phone.get(app.url("/api/me")).send().await.unwrap().status(), 200, "untouched");

    assert_eq!(app.delete(&format!("/api/me/sessions/{phone_session}")).await.status(), 204);
    assert_error(phone.get(app.url("/api/me")).send().await.unwrap(), 401, "unauthorized").await;
    assert_error(app.delete(&format!("/api/me/sessions/{phone_session}")).await, 404, "not_found").await;
    assert_error(app.delete("/api/me/sessions/not-a-number").await, 404, "not_found").await;
    assert_eq!(app.get("/api/me").await.status(), 200);
}

#[tokio::test]
async fn revoking_all_other_sessions_keeps_the_current_one() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let others: Vec<_> = (0..3).map(|_| new_client()).collect();
    for c in &others {
        app.login_as(c, "ada", PASSWORD).await;
    }
    assert_eq!(app.delete("/api/me/sessions").await.status(), 204);
    for c in &others {
        assert_eq!(c.get(app.url("/api/me")).send().await.unwrap().status(), 401);
    }
    let sessions: Vec<Value> = app.get("/api/me/sessions").await.json().await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["current"], true);
}

#[tokio::test]
async fn revoking_the_current_session_by_id_logs_out() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let sessions: Vec<Value> = app.get("/api/me/sessions").await.json().await.unwrap();
    let id = sessions[0]["id"].as_i64().unwrap();
    let r = app.delete(&format!("/api/me/sessions/{id}")).await;
    assert_eq!(r.status(), 204);
    assert!(session_set_cookie(&r).unwrap().contains("Max-Age=0"));
    assert_eq!(app.get("/api/check_session").await.status(), 204);
}
