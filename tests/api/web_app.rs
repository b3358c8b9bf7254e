//! API.md "Operations", last row: the built-in web app at `/` and every non-API path.

use crate::helpers::*;

#[tokio::test]
async fn client_side_routes_get_index_html_uncached_and_assets_are_immutable() {
    let app = TestApp::spawn().await;
    for path in ["/", "/login", "/account", "/admin/users", "/some/deep/link"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 200, "{path}: the web app must be built (web/dist)");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8", "{path}");
        assert_eq!(r.headers()["cache-control"], "no-cache", "{path}");
        assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
        let html = r.text().await.unwrap();
        assert!(html.contains("<div id=\"root\""), "{path}: {html}");
    }
    let index = app.get("/").await.text().await.unwrap();
    let asset = index
        .split('"')
        .find(|part| part.starts_with("/assets/") && part.ends_with(".js"))
        .expect("index.html references a hashed script");
    let r = app.get(asset).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/javascript");
    assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(app.get("/assets/missing-0123.js").await.status(), 404, "no HTML where a script was asked for");
    assert_error(app.get("/api/not-a-route").await, 404, "not_found").await;
    assert_error(app.client.post(app.url("/login")).send().await.unwrap(), 405, "method_not_allowed").await;
}
