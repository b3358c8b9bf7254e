//! The contract is exact: every refusal carries API.md's JSON error body (path and query
//! errors included), and /api/openapi.json lists every status and request rule.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// An app with an admin, and the admin's access token.
async fn app_with_admin() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.admin("root").await;
    let token = app.tokens("root", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    (app, token)
}

async fn send(app: &TestApp, method: Method, path: &str, token: &str) -> reqwest::Response {
    new_client().request(method, app.url(path)).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn ids_that_cannot_exist_are_json_404s() {
    let (app, token) = app_with_admin().await;
    // %FF and %C3%28 are not UTF-8; axum's own Path answered 400 text/plain for them.
    let ids = ["%FF", "%C3%28", "abc", "1.5", "99999999999999999999", "-", "%20"];
    for id in ids {
        for (method, path) in [
            (Method::GET, format!("/api/users/{id}")),
            (Method::DELETE, format!("/api/users/{id}")),
            (Method::PUT, format!("/api/users/{id}/roles")),
            (Method::DELETE, format!("/api/users/{id}/sessions")),
            (Method::GET, format!("/api/users/{id}/avatar")),
            (Method::DELETE, format!("/api/me/sessions/{id}")),
            (Method::DELETE, format!("/api/me/token-logins/{id}")),
            (Method::DELETE, format!("/api/posts/{id}")),
        ] {
            let mut req = new_client().request(method.clone(), app.url(&path)).bearer_auth(&token);
            if method == Method::PUT {
                req = req.json(&json!({"roles": ["user"]}));
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.headers()["content-type"], "application/json", "{method} {path}");
            assert_error(r, 404, "not_found").await;
        }
    }
    // Authentication is still checked first: an anonymous caller learns nothing more.
    let anonymous = new_client().get(app.url("/api/users/%FF")).send().await.unwrap();
    assert_error(anonymous, 401, "unauthorized").await;
}

#[tokio::test]
async fn json_bodies_must_be_objects() {
    let (app, token) = app_with_admin().await;
    let endpoints = [
        (Method::POST, "/api/signup"),
        (Method::POST, "/api/login"),
        (Method::POST, "/api/token"),
        (Method::POST, "/api/token/refresh"),
        (Method::POST, "/api/token/revoke"),
        (Method::PUT, "/api/me/password"),
        (Method::POST, "/api/posts"),
        (Method::PUT, "/api/users/1/roles"),
    ];
    // serde reads a struct from an array of its fields in order, so `[]` (or `[null]`)
    // used to be a well-formed revoke request.
    for body in ["[]", "[null]", r#"["a-token"]"#, "null", "17", r#""text""#, "true", " \n[]"] {
        for (method, path) in &endpoints {
            let r = new_client()
                .request(method.clone(), app.url(path))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let error = assert_error(r, 400, "bad_request").await;
            assert!(!error["message"].as_str().unwrap().contains("struct"), "{body} to {path}: {error}");
        }
    }
    // Whitespace before the object is fine, and so is an object with fields we ignore.
    let body = b" \r\n\t{\"refresh_token\": null, \"extra\": 1}".to_vec();
    let r = raw_post(&app, "/api/token/revoke", Some("application/json"), body).await;
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn every_json_endpoint_wants_a_json_content_type() {
    let (app, token) = app_with_admin().await;
    let endpoints = [
        (Method::POST, "/api/signup"),
        (Method::POST, "/api/login"),
        (Method::POST, "/api/token"),
        (Method::POST, "/api/token/refresh"),
        (Method::POST, "/api/token/revoke"),
        (Method::PUT, "/api/me/password"),
        (Method::POST, "/api/posts"),
        (Method::PUT, "/api/users/1/roles"),
    ];
    for (method, path) in endpoints {
        for content_type in [None, Some("text/plain"), Some("application/jsonx"), Some("application/json/x")] {
            let mut req = new_client().request(method.clone(), app.url(path)).bearer_auth(&token).body("{}");
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            assert_error(req.send().await.unwrap(), 415, "unsupported_media_type").await;
        }
    }
    // `application/*+json` is JSON too.
    let json_too = Some("application/merge-patch+json; charset=utf-8");
    let r = raw_post(&app, "/api/token/revoke", json_too, b"{}".to_vec()).await;
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn paging_parameters_are_checked_and_given_once() {
    let (app, token) = app_with_admin().await;
    for path in ["/api/users", "/api/audit", "/api/posts"] {
        let cursor = if path == "/api/users" { "after" } else { "before" };
        for query in [
            "limit=0".to_string(),
            "limit=201".into(),
            "limit=abc".into(),
            "limit=".into(),
            "limit=1&limit=2".into(),
            format!("{cursor}=x"),
            format!("{cursor}=1&{cursor}=2"),
            format!("{cursor}=9223372036854775808"),
        ] {
            let r = send(&app, Method::GET, &format!("{path}?{query}"), &token).await;
            assert_error(r, 400, "bad_request").await;
        }
        let r =
            send(&app, Method::GET, &format!("{path}?limit=200&{cursor}=-9223372036854775808&other=1"), &token).await;
        assert_eq!(r.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn unknown_paths_missing_assets_and_wrong_methods_answer_json() {
    let (app, token) = app_with_admin().await;
    for path in ["/api/nope", "/api", "/api/users/1/nope", "/assets/missing-0000.js", "/favicon-missing.png"] {
        let r = app.get(path).await;
        assert_error(r, 404, "not_found").await;
    }
    let r = send(&app, Method::PATCH, "/api/users/1", &token).await;
    let allow = r.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET") && allow.contains("DELETE"), "{allow}");
    assert_error(r, 405, "method_not_allowed").await;
}

/// The document's statuses for each operation.
fn statuses(doc: &Value, path: &str, method: &str) -> Vec<String> {
    let responses = doc["paths"][path][method]["responses"].as_object().unwrap_or_else(|| panic!("{method} {path}"));
    responses.keys().cloned().collect()
}

#[tokio::test]
async fn the_document_lists_every_answer_and_rule() {
    let app = TestApp::spawn().await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    // Generated clients name a function after each operation id: one of each.
    let mut operation_ids = std::collections::HashSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(operation_ids.insert(id.to_string()), "operationId {id} twice ({method} {path})");
            let has = statuses(&doc, path, method);
            let wants = |status: &str, why: &str| {
                assert!(has.contains(&status.into()), "{method} {path} lacks {status} ({why})")
            };
            wants("500", "every route");
            wants("503", "every route: timeout or database");
            if op["requestBody"]["content"].get("application/json").is_some() {
                for status in ["400", "413", "415"] {
                    wants(status, "JSON body");
                }
            }
            if op.get("security").is_some() {
                wants("401", "credential required");
            }
            // The endpoints apps call (OAuth 2.0, OpenID Connect) skip the CSRF origin check
            // and answer OAuth's own errors (`{"error", "error_description"}`) or pages.
            let oauth = path.starts_with("/oauth2/") || path.starts_with("/.well-known/");
            if method != "get" && !oauth {
                wants("403", "CSRF");
            }
            if path.contains("{id}") {
                wants("404", "id path");
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if (status.starts_with('4') && !oauth) || status.starts_with('5') {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
                }
            }
        }
    }
    assert_eq!(
        operations, 83,
        "every route: API.md's, account recovery, second factors, passkeys, token logins, federation and the OpenID Provider"
    );

    let schemas = &doc["components"]["schemas"];
    let required = |name: &str| {
        let mut fields: Vec<String> = schemas[name]["required"]
            .as_array()
            .map(|r| r.iter().filter_map(|f| f.as_str().map(String::from)).collect())
            .unwrap_or_default();
        fields.sort();
        fields
    };
    assert_eq!(required("SignupRequest"), ["password", "username"]);
    assert_eq!(required("LoginRequest"), ["password", "username"]);
    assert_eq!(required("RefreshRequest"), ["refresh_token"]);
    assert!(required("RevokeRequest").is_empty(), "revoke accepts {{}}");
    assert_eq!(required("ForgotPasswordRequest"), ["username"]);
    assert_eq!(required("ResetPasswordRequest"), ["new_password", "token"]);
    assert_eq!(required("ChangeEmailRequest"), ["current_password", "new_email"]);
    assert_eq!(required("AddPasskeyRequest"), ["ceremony", "credential", "name"]);
    assert_eq!(required("PasskeyLoginRequest"), ["ceremony", "credential"]);
    // Rules between fields: the second step takes exactly one proof, re-authentication
    // at least one.
    let choice = |name: &str, keyword: &str| -> Vec<String> {
        let parts = schemas[name]["allOf"].as_array().unwrap_or_else(|| panic!("{name} has no allOf"));
        let fields = &parts[0];
        assert_eq!(fields["type"], "object", "{name}");
        let branches = parts[1][keyword].as_array().unwrap_or_else(|| panic!("{name} has no {keyword}"));
        branches.iter().map(|b| b["required"][0].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(choice("SecondFactorRequest", "oneOf"), ["code", "recovery_code", "credential"]);
    assert_eq!(choice("DisableTotpRequest", "oneOf"), ["code", "recovery_code"]);
    assert_eq!(choice("ReauthenticateRequest", "anyOf"), ["password", "code"]);
    let second_step = &schemas["SecondFactorRequest"]["allOf"][0];
    assert_eq!(second_step["required"], json!(["challenge"]));
    let assertion = &second_step["properties"]["credential"];
    assert_eq!(assertion["required"], json!(["id", "rawId", "type", "response"]));
    assert!(assertion["properties"]["rawId"]["pattern"].is_string(), "binary fields are base64url");
    let username = &schemas["SignupRequest"]["properties"]["username"];
    assert_eq!((username["minLength"].as_u64(), username["maxLength"].as_u64()), (Some(3), Some(32)));
    let limit =
        doc["paths"]["/api/users"]["get"]["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "limit");
    let limit = &limit.unwrap()["schema"];
    assert_eq!((limit["minimum"].as_f64(), limit["maximum"].as_f64()), (Some(1.0), Some(200.0)));

    let signup_links = &doc["paths"]["/api/signup"]["post"]["responses"]["201"]["links"];
    assert_eq!(signup_links["get_user"]["operationId"], "get_user");
    assert_eq!(signup_links["get_user"]["parameters"]["id"], "$response.body#/id");
    let token_links = &doc["paths"]["/api/token"]["post"]["responses"]["200"]["links"];
    assert_eq!(token_links["refresh_token"]["requestBody"]["refresh_token"], "$response.body#/refresh_token");
}

/// `@latchkey/client` generates its types from `clients/js/openapi.json`: that file must be
/// what the server serves, and `latchkey openapi` prints it.
#[tokio::test]
async fn the_client_package_is_generated_from_the_document_served() {
    let app = TestApp::spawn().await;
    let served: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey")).arg("openapi").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(printed == served, "`latchkey openapi` prints another document than /api/openapi.json");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/js/openapi.json");
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(
        committed == served,
        "clients/js/openapi.json differs from the document the server serves; regenerate it and the package's types:\n  \
         cargo run --release -- openapi > clients/js/openapi.json && (cd clients/js && npm run generate)"
    );
}
