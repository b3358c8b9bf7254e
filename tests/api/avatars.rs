//! API.md "Account" (avatar): type checked by magic bytes, 5 MiB limit, exact bytes back.

use serde_json::Value;

use crate::helpers::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR-the-rest-of-a-png";
const JPEG: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00rest";
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00rest";

async fn put(app: &TestApp, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.client.put(app.url("/api/me/avatar")).header("content-type", content_type).body(body).send().await.unwrap()
}

#[tokio::test]
async fn an_avatar_comes_back_byte_for_byte_with_its_type() {
    let app = TestApp::spawn().await;
    let ada = app.signed_up("ada").await;
    let path = format!("/api/users/{}/avatar", ada["id"]);
    assert_error(app.get(&path).await, 404, "not_found").await;
    for (ct, bytes) in [("image/png", PNG), ("image/jpeg", JPEG), ("image/gif", GIF)] {
        assert_eq!(put(&app, ct, bytes.to_vec()).await.status(), 204, "{ct}");
        let r = new_client().get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], ct);
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(&r.bytes().await.unwrap()[..], bytes, "public, exact bytes");
    }
}

#[tokio::test]
async fn the_bytes_must_really_be_the_declared_type() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    for (ct, bytes) in [
        ("image/png", GIF.to_vec()),
        ("image/jpeg", PNG.to_vec()),
        ("image/gif", b"<svg onload=alert(1)>".to_vec()),
        ("image/svg+xml", b"<svg/>".to_vec()),
        ("text/html", b"<script>alert(1)</script>".to_vec()),
        ("application/octet-stream", PNG.to_vec()),
        ("image/png", Vec::new()),
    ] {
        assert_error(put(&app, ct, bytes).await, 415, "unsupported_media_type").await;
    }
}

#[tokio::test]
async fn avatars_are_limited_to_five_mib_and_need_a_session() {
    let app = TestApp::spawn().await;
    let r = new_client()
        .put(app.url("/api/me/avatar"))
        .header("content-type", "image/png")
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "unauthorized").await;
    let ada: Value = app.signed_up("ada").await;
    let mut big = PNG.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    assert_error(put(&app, "image/png", big).await, 413, "payload_too_large").await;
    let mut max = PNG.to_vec();
    max.resize(5 * 1024 * 1024, 7);
    assert_eq!(put(&app, "image/png", max.clone()).await.status(), 204, "exactly 5 MiB is allowed");
    let back = app.get(&format!("/api/users/{}/avatar", ada["id"])).await.bytes().await.unwrap();
    assert_eq!(back.len(), max.len());
    let r = app
        .client
        .put(app.url("/api/me/avatar"))
        .header("content-type", "image/png")
        .header("origin", "https://evil.example")
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "csrf_rejected").await;
}
