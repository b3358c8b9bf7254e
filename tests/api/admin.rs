//! API.md "Authorization and the admin API", and the audit log.

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn anonymous_is_401_and_non_admins_are_403_everywhere() {
    let app = TestApp::spawn().await;
    let routes = [
        ("GET", "/api/users"),
        ("GET", "/api/users/1"),
        ("PUT", "/api/users/1/roles"),
        ("DELETE", "/api/users/1/sessions"),
        ("DELETE", "/api/users/1"),
        ("GET", "/api/audit"),
    ];
    let send = |client: &reqwest::Client, method: &str, path: &str| {
        let req = client.request(method.parse().unwrap(), app.url(path));
        let req = if method == "PUT" { req.json(&json!({"roles": ["user", "admin"]})) } else { req };
        req.send()
    };
    for (method, path) in routes {
        assert_error(send(&new_client(), method, path).await.unwrap(), 401, "unauthorized").await;
    }
    app.signed_up("ada").await;
    for (method, path) in routes {
        assert_error(send(&app.client, method, path).await.unwrap(), 403, "forbidden").await;
    }
    let token = app.tokens("ada", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    assert_error(app.get_bearer("/api/users", &token).await, 403, "forbidden").await;
}

#[tokio::test]
async fn users_are_listed_by_id_with_keyset_pagination() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    for name in ["ada", "bob", "carol", "dave"] {
        app.signup_as(&new_client(), name, PASSWORD).await;
    }
    let page: Value = app.get("/api/users?limit=2").await.json().await.unwrap();
    let names: Vec<&str> = page["users"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["root", "ada"]);
    assert_eq!(page["users"][0], root);
    let next = page["next"].as_i64().unwrap();
    assert_eq!(next, page["users"][1]["id"].as_i64().unwrap());
    let page: Value = app.get(&format!("/api/users?limit=2&after={next}")).await.json().await.unwrap();
    assert_eq!(page["users"].as_array().unwrap().len(), 2);
    let next = page["next"].as_i64().unwrap();
    let page: Value = app.get(&format!("/api/users?limit=2&after={next}")).await.json().await.unwrap();
    assert_eq!(page["users"].as_array().unwrap().len(), 1);
    assert_eq!(page["next"], Value::Null);
    let all: Value = app.get("/api/users").await.json().await.unwrap();
    assert_eq!(all["users"].as_array().unwrap().len(), 5);
    assert_eq!(all["next"], Value::Null);
    for bad in ["limit=0", "limit=201", "limit=ten", "after=x"] {
        assert_error(app.get(&format!("/api/users?{bad}")).await, 400, "bad_request").await;
    }
    assert_eq!(app.get("/api/users?limit=200").await.status(), 200);
}

#[tokio::test]
async fn one_user_by_id_or_404() {
    let app = TestApp::spawn().await;
    app.admin("root").await;
    let ada = app.signup_as(&new_client(), "ada", PASSWORD).await.json::<Value>().await.unwrap();
    let r = app.get(&format!("/api/users/{}", ada["id"])).await;
    assert_eq!(r.json::<Value>().await.unwrap(), ada);
    assert_error(app.get("/api/users/99999").await, 404, "not_found").await;
    assert_error(app.get("/api/users/abc").await, 404, "not_found").await;
}

#[tokio::test]
async fn roles_are_set_validated_and_the_last_admin_is_kept() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let ada = app.signup_as(&new_client(), "ada", PASSWORD).await.json::<Value>().await.unwrap();
    let path = format!("/api/users/{}/roles", ada["id"]);
    let r = app.put_json(&path, &json!({"roles": ["editor", "admin"]})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["roles"], json!(["user", "admin", "editor"]));
    let r = app.put_json(&path, &json!({"roles": ["Bad Role"]})).await;
    let body = assert_error(r, 422, "validation_failed").await;
    assert!(body["fields"]["roles"].is_string());
    assert_error(app.put_json(&path, &json!({"roles": "admin"})).await, 400, "bad_request").await;
    assert_error(app.put_json("/api/users/99999/roles", &json!({"roles": []})).await, 404, "not_found").await;

    // Two admins: one may step down; then the last one may not.
    let own = format!("/api/users/{}/roles", root["id"]);
    assert_eq!(app.put_json(&own, &json!({"roles": []})).await.status(), 200);
    let ada_client = new_client();
    app.login_as(&ada_client, "ada", PASSWORD).await;
    let r = ada_client.put(app.url(&path)).json(&json!({"roles": ["user"]})).send().await.unwrap();
    assert_error(r, 409, "last_admin").await;
    let r = ada_client.delete(app.url(&format!("/api/users/{}", ada["id"]))).send().await.unwrap();
    assert_error(r, 409, "last_admin").await;
    // The new roles are in force at once, for cookie and token alike.
    assert_error(app.get("/api/users").await, 403, "forbidden").await;
}

#[tokio::test]
async fn revoking_a_users_sessions_logs_them_out_everywhere() {
    let app = TestApp::spawn().await;
    app.admin("root").await;
    let ada_client = new_client();
    let ada = app.signup_as(&ada_client, "ada", PASSWORD).await.json::<Value>().await.unwrap();
    assert_eq!(app.delete(&format!("/api/users/{}/sessions", ada["id"])).await.status(), 204);
    assert_error(ada_client.get(app.url("/api/me")).send().await.unwrap(), 401, "unauthorized").await;
    assert_eq!(app.get("/api/me").await.status(), 200, "the admin's own session is untouched");
    assert_error(app.delete("/api/users/99999/sessions").await, 404, "not_found").await;
}

#[tokio::test]
async fn deleting_a_user_removes_them_with_sessions_posts_and_avatar() {
    let app = TestApp::spawn().await;
    app.admin("root").await;
    let ada_client = new_client();
    let ada = app.signup_as(&ada_client, "ada", PASSWORD).await.json::<Value>().await.unwrap();
    ada_client.post(app.url("/api/posts")).json(&json!({"body": "mine"})).send().await.unwrap();
    let png = b"\x89PNG\r\n\x1a\nrest-of-image".to_vec();
    let r =
        ada_client.put(app.url("/api/me/avatar")).header("content-type", "image/png").body(png).send().await.unwrap();
    assert_eq!(r.status(), 204);

    assert_eq!(app.delete(&format!("/api/users/{}", ada["id"])).await.status(), 204);
    assert_error(app.get(&format!("/api/users/{}", ada["id"])).await, 404, "not_found").await;
    assert_error(ada_client.get(app.url("/api/me")).send().await.unwrap(), 401, "unauthorized").await;
    assert_error(app.get(&format!("/api/users/{}/avatar", ada["id"])).await, 404, "not_found").await;
    let posts: Value = app.get("/api/posts").await.json().await.unwrap();
    assert_eq!(posts["posts"], json!([]));
    assert_error(app.login_as(&new_client(), "ada", PASSWORD).await, 401, "invalid_credentials").await;
    assert_error(app.delete(&format!("/api/users/{}", ada["id"])).await, 404, "not_found").await;
    assert_eq!(app.signup_as(&new_client(), "ada", PASSWORD).await.status(), 201, "the name is free again");
}

#[tokio::test]
async fn the_audit_log_records_every_kind_newest_first_without_secrets() {
    let app = TestApp::spawn_with(|c| {
        c.throttle.login_per_account = 2;
        c.tokens.refresh_reuse_grace = "0s".parse().unwrap();
    })
    .await;
    let root = app.admin("root").await;
    let ada_client = new_client();
    let ada = app.signup_as(&ada_client, "ada", PASSWORD).await.json::<Value>().await.unwrap();
    app.login_as(&new_client(), "ada", "wrong-password-1").await;
    app.login_as(&new_client(), "ada", "wrong-password-2").await;
    app.login_as(&new_client(), "ada", PASSWORD).await; // throttled
    app.login_as(&new_client(), "root", PASSWORD).await;
    let t = app.tokens("root", PASSWORD).await;
    let spent = t["refresh_token"].as_str().unwrap();
    app.refresh(spent).await;
    app.refresh(spent).await; // reuse
    ada_client.delete(app.url("/api/logout")).send().await.unwrap();
    app.login_as(&ada_client, "ada@nowhere", "x").await;
    let ada_again = new_client();
    let new_password = "quiet-lantern-meadow";
    app.signup_as(&ada_again, "ada2", PASSWORD).await;
    ada_again
        .put(app.url("/api/me/password"))
        .json(&json!({"current_password": PASSWORD, "new_password": new_password}))
        .send()
        .await
        .unwrap();
    ada_again.delete(app.url("/api/me/sessions")).send().await.unwrap();
    app.put_json(&format!("/api/users/{}/roles", ada["id"]), &json!({"roles": ["editor"]})).await;
    app.delete(&format!("/api/users/{}", ada["id"])).await;

    let r = app.get("/api/audit?limit=200").await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    for secret in [PASSWORD, new_password, "wrong-password-1", spent, "argon2"] {
        assert!(!text.contains(secret), "{secret} leaked into the audit log");
    }
    let log: Value = serde_json::from_str(&text).unwrap();
    let events = log["events"].as_array().unwrap();
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    for kind in [
        "signup",
        "login_succeeded",
        "login_failed",
        "login_throttled",
        "logout",
        "token_issued",
        "token_refreshed",
        "token_reuse_detected",
        "password_changed",
        "session_revoked",
        "roles_changed",
        "user_deleted",
    ] {
        assert!(events.iter().any(|e| e["kind"] == kind), "no {kind} in {log}");
    }
    let failed = events.iter().find(|e| e["kind"] == "login_failed" && e["user_id"] == ada["id"]).unwrap();
    assert_eq!(failed["detail"]["username"], "ada", "the attempted username is recorded");
    assert_eq!(failed["ip"], "127.0.0.1");
    for key in ["id", "at", "kind", "user_id", "actor_id", "ip", "user_agent", "detail"] {
        assert!(failed.get(key).is_some(), "{key}");
    }
    let deleted = events.iter().find(|e| e["kind"] == "user_deleted").unwrap();
    assert_eq!(deleted["user_id"], ada["id"], "events outlive the accounts they name");
    assert_eq!(deleted["actor_id"], root["id"]);
    let signup = events.iter().find(|e| e["kind"] == "signup" && e["user_id"] == ada["id"]).unwrap();
    assert_eq!(signup["user_id"], ada["id"]);

    let first: Value = app.get("/api/audit?limit=3").await.json().await.unwrap();
    let next = first["next"].as_i64().unwrap();
    let second: Value = app.get(&format!("/api/audit?limit=3&before={next}")).await.json().await.unwrap();
    assert!(second["events"][0]["id"].as_i64().unwrap() < next);
    assert_error(app.get("/api/audit?limit=0").await, 400, "bad_request").await;
}

#[tokio::test]
async fn audit_events_past_their_retention_are_pruned_and_recent_ones_kept() {
    let app = TestApp::spawn_with(|c| c.audit.retention = "30d".parse().unwrap()).await;
    app.admin("root").await; // `app.client` is root's session from here on
    for i in 0..3 {
        app.login_as(&new_client(), "root", &format!("wrong-password-{i}")).await;
    }
    let count = |events: &Value| events["events"].as_array().unwrap().len();
    let before = app.get("/api/audit?limit=200").await.json::<Value>().await.unwrap();
    assert!(count(&before) >= 4, "{before}");

    app.clock.advance(std::time::Duration::from_secs(31 * 86_400));
    app.login_as(&new_client(), "root", "wrong-password-late").await;
    let pruned = latchkey::service::audit::prune(&app.state.ctx).await.unwrap();
    assert_eq!(pruned as usize, count(&before));
    // Root's session went idle in those 31 days.
    assert_eq!(app.login_as(&app.client, "root", PASSWORD).await.status(), 200);
    let after = app.get("/api/audit?limit=200").await.json::<Value>().await.unwrap();
    let ids = |events: &Value| {
        events["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect::<Vec<_>>()
    };
    assert!(!ids(&after).is_empty());
    assert!(ids(&after).iter().all(|id| !ids(&before).contains(id)), "old events survived: {after}");
}
