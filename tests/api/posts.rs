//! API.md "Example protected resource": posts owned by the user who wrote them.

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn anyone_reads_posts_newest_first_with_pagination() {
    let app = TestApp::spawn().await;
    let ada = app.signed_up("ada").await;
    for i in 1..=5 {
        assert_eq!(app.post_json("/api/posts", &json!({"body": format!("post {i}")})).await.status(), 201);
    }
    let page: Value = new_client().get(app.url("/api/posts?limit=2")).send().await.unwrap().json().await.unwrap();
    let bodies: Vec<&str> = page["posts"].as_array().unwrap().iter().map(|p| p["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["post 5", "post 4"]);
    assert_eq!(page["posts"][0]["author"], json!({"id": ada["id"], "username": "ada"}));
    let next = page["next"].as_i64().unwrap();
    let rest: Value = app.get(&format!("/api/posts?limit=10&before={next}")).await.json().await.unwrap();
    assert_eq!(rest["posts"].as_array().unwrap().len(), 3);
    assert_eq!(rest["next"], Value::Null);
    assert_error(app.get("/api/posts?limit=0").await, 400, "bad_request").await;
    assert_error(app.get("/api/posts?before=x").await, 400, "bad_request").await;
}

#[tokio::test]
async fn writing_needs_a_session_or_token_and_the_author_is_the_caller() {
    let app = TestApp::spawn().await;
    assert_error(app.post_json("/api/posts", &json!({"body": "hi"})).await, 401, "unauthorized").await;
    let ada = app.signed_up("ada").await;
    let r = app.post_json("/api/posts", &json!({"body": "hello", "author": {"id": 999}})).await;
    assert_eq!(r.status(), 201);
    let post: Value = r.json().await.unwrap();
    assert_eq!(post["author"]["id"], ada["id"], "the body cannot choose the author");
    assert_eq!(post["body"], "hello");
    assert!(post["id"].is_i64() && post["created_at"].is_string());
    let token = app.tokens("ada", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    let r = new_client()
        .post(app.url("/api/posts"))
        .bearer_auth(&token)
        .json(&json!({"body": "by token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn bodies_are_one_to_ten_thousand_characters() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    for bad in [
        json!({"body": ""}),
        json!({"body": "   "}),
        json!({}),
        json!({"body": "x".repeat(10_001)}),
        json!({"body": "a\u{0}b"}),
    ] {
        let body = assert_error(app.post_json("/api/posts", &bad).await, 422, "validation_failed").await;
        assert!(body["fields"]["body"].is_string());
    }
    assert_eq!(app.post_json("/api/posts", &json!({"body": "é".repeat(10_000)})).await.status(), 201);
    assert_error(app.post_json("/api/posts", &json!({"body": 5})).await, 400, "bad_request").await;
}

#[tokio::test]
async fn only_the_author_or_an_admin_deletes() {
    let app = TestApp::spawn().await;
    let ada = new_client();
    app.signup_as(&ada, "ada", PASSWORD).await;
    let post: Value =
        ada.post(app.url("/api/posts")).json(&json!({"body": "ada's"})).send().await.unwrap().json().await.unwrap();
    let path = format!("/api/posts/{}", post["id"]);
    let bob = new_client();
    app.signup_as(&bob, "bob", PASSWORD).await;
    assert_error(bob.delete(app.url(&path)).send().await.unwrap(), 403, "forbidden").await;
    assert_error(new_client().delete(app.url(&path)).send().await.unwrap(), 401, "unauthorized").await;
    assert_eq!(ada.delete(app.url(&path)).send().await.unwrap().status(), 204);
    assert_error(ada.delete(app.url(&path)).send().await.unwrap(), 404, "not_found").await;

    let second: Value =
        ada.post(app.url("/api/posts")).json(&json!({"body": "again"})).send().await.unwrap().json().await.unwrap();
    app.admin("root").await;
    assert_eq!(app.delete(&format!("/api/posts/{}", second["id"])).await.status(), 204, "an admin moderates");
    assert_error(app.delete("/api/posts/424242").await, 404, "not_found").await;
}

#[tokio::test]
async fn cookie_writes_from_a_foreign_origin_are_csrf_rejected() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let r = app
        .client
        .post(app.url("/api/posts"))
        .header("origin", "https://evil.example")
        .json(&json!({"body": "csrf"}))
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "csrf_rejected").await;
    let posts: Value = app.get("/api/posts").await.json().await.unwrap();
    assert_eq!(posts["posts"], json!([]));
}
