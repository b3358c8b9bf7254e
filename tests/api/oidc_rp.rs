//! latchkey as OpenID Provider seen by a certified relying-party library: `tests/rp/flow.mjs`
//! (openid-client 6) walks discovery, authorize with PKCE, login and consent, the code
//! grant (the library checks the ID token: JWKS signature, iss, aud, azp, nonce, RFC 9207
//! `iss`), UserInfo, refresh rotation and reuse, revocation, introspection and
//! RP-initiated logout, and prints what it saw as one JSON line.
//!
//! They need Node and `npm ci` in `tests/rp`: without them the tests fail saying so.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::helpers::PASSWORD;
use crate::oauth2::{issuer, op, Op, Rp, BYE, CALLBACK};

fn rp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("rp")
}

/// Node and openid-client are there, or the test fails saying what to do.
fn require_node() {
    let on_ci = std::env::var("CI").as_deref() == Ok("true");
    let context = if on_ci { "CI=true requires the relying party of the OP tests: " } else { "" };
    let node = Command::new("node").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    assert!(
        node.is_ok_and(|s| s.success()),
        "{context}node is not on the PATH: the OpenID Provider tests run their relying party with Node \
         (apt-get install nodejs npm), then npm ci in tests/rp"
    );
    let dir = rp_dir();
    assert!(
        dir.join("node_modules").join("openid-client").is_dir(),
        "{context}tests/rp has no node_modules: run npm ci in tests/rp (cd {} && npm ci)",
        dir.display()
    );
}

/// Runs `node flow.mjs` against `op` for `rp` as `username`; its JSON line (asserting `ok`).
async fn run_flow(op: &Op, rp: &Rp, username: &str, extra: &[&str]) -> Value {
    require_node();
    // `--name=value`: a secret or an id may start with `-`, which a separate argument
    // would make look like an option.
    let secret = rp.secret.clone().expect("the flow is a confidential client's");
    let mut args: Vec<String> = vec![
        "flow.mjs".into(),
        format!("--issuer={}", issuer(&op.app)),
        format!("--client-id={}", rp.client_id),
        format!("--client-secret={secret}"),
        format!("--redirect-uri={}", rp.redirect_uri),
        format!("--post-logout-redirect-uri={BYE}"),
        format!("--username={username}"),
        format!("--password={PASSWORD}"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    // The server runs on this test's runtime: wait for node off its threads.
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node").args(args).current_dir(rp_dir()).stdin(Stdio::null()).output()
    })
    .await
    .expect("the flow's thread")
    .expect("cannot start node flow.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stdout.lines().last().unwrap_or_default();
    let result: Value = serde_json::from_str(line).unwrap_or_else(|_| {
        panic!("flow.mjs printed no JSON ({}):\n{stdout}\n--- stderr ---\n{stderr}", output.status)
    });
    assert!(
        output.status.success() && result["ok"] == true,
        "the relying party failed at {}: {}\n{result:#}\n--- stderr ---\n{stderr}",
        result["step"],
        result["error"]
    );
    result
}

/// Everything the relying party must have seen for `user` at `rp`.
fn assert_whole_flow(op: &Op, rp: &Rp, user: &Value, out: &Value) {
    let iss = issuer(&op.app);
    let sub = user["id"].as_i64().unwrap().to_string();
    assert_eq!(out["discovery"]["issuer"], iss.as_str());
    assert_eq!(out["discovery"]["iss_parameter"], true, "RFC 9207 advertised");

    let authorize = &out["authorize"];
    assert_eq!(authorize["login"], true, "a browser without a session logs in first: {authorize}");
    let request = &authorize["request"];
    assert_eq!(request["client"]["client_id"], rp.client_id.as_str(), "{request}");
    assert_eq!(request["client"]["name"], "Notes");
    assert_eq!(request["login_required"], true, "{request}");
    assert_eq!(request["consent_required"], true, "{request}");
    let scopes = request["scopes"].as_array().expect("scopes");
    for s in ["openid", "email", "profile", "roles", "offline_access"] {
        assert!(scopes.contains(&json!(s)), "{s} in {scopes:?}");
    }
    assert_eq!(authorize["callback_params"]["iss"], iss.as_str());

    let tokens = &out["tokens"];
    assert_eq!(tokens["has_refresh_token"], true, "offline_access: {tokens}");
    assert_eq!(tokens["access_token_header"]["typ"], "at+jwt", "{tokens}");
    assert!(tokens["id_token_header"]["kid"].is_string(), "{tokens}");

    let id = &out["id_token"];
    assert_eq!(id["iss"], iss.as_str());
    assert_eq!(id["sub"], sub.as_str(), "sub = the user id");
    assert_eq!(id["aud"], rp.client_id.as_str());
    assert_eq!(id["azp"], rp.client_id.as_str());
    assert_eq!(id["preferred_username"], user["username"]);
    assert_eq!(id["email"], user["email"]);
    assert_eq!(id["email_verified"], false);
    assert_eq!(id["roles"], user["roles"]);
    assert!(id["nonce"].is_string() && id["at_hash"].is_string() && id["auth_time"].is_number(), "{id}");
    assert!(id["amr"].as_array().is_some_and(|a| !a.is_empty()), "amr: {id}");

    let info = &out["userinfo"];
    assert_eq!(info["sub"], sub.as_str());
    assert_eq!(info["preferred_username"], user["username"]);
    assert_eq!(info["email"], user["email"]);

    let refresh = &out["refresh"];
    assert_eq!(refresh["rotated"], true, "a new refresh token: {refresh}");
    assert_eq!(refresh["new_access_token"], true, "{refresh}");
    assert_eq!(refresh["id_token_sub"], sub.as_str(), "an ID token with the refresh: {refresh}");
    assert_eq!(refresh["userinfo_sub"], sub.as_str());

    let reuse = &out["reuse"];
    assert_eq!(reuse["error"], "invalid_grant", "the old refresh token again: {reuse}");
    assert_eq!(reuse["newest_refresh_error"], "invalid_grant", "the family is revoked: {reuse}");

    let second = &out["second_authorization"];
    assert_eq!(second["silent"], true, "logged in and consented: a code at once: {second}");
    assert_eq!(second["sub"], sub.as_str());

    let revocation = &out["revocation"];
    assert_eq!(revocation["introspection_before"]["active"], true, "{revocation}");
    assert_eq!(revocation["introspection_before"]["sub"], sub.as_str(), "{revocation}");
    assert_eq!(revocation["introspection_before"]["client_id"], rp.client_id.as_str(), "{revocation}");
    assert_eq!(revocation["userinfo_status_after"], 401, "the revoked grant's access token: {revocation}");
    assert_eq!(revocation["introspection_active_after"], false, "{revocation}");
    assert_eq!(revocation["refresh_error_after"], "invalid_grant", "{revocation}");

    let logout = &out["logout"];
    assert!(matches!(logout["status"].as_u64(), Some(302 | 303)), "{logout}");
    assert!(logout["location"].as_str().is_some_and(|l| l.starts_with(BYE)), "back to the RP: {logout}");
    assert_eq!(logout["state_returned"], true, "{logout}");
    assert_eq!(logout["me_status_before"], 200, "{logout}");
    assert_eq!(logout["me_status_after"], 401, "the session ended: {logout}");
}

async fn signed_up(op: &Op, name: &str) -> Value {
    let r = crate::helpers::new_client()
        .post(op.app.url("/api/signup"))
        .json(&json!({"username": name, "password": PASSWORD, "email": format!("{name}@example.com")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

#[tokio::test]
async fn openid_client_walks_the_whole_code_flow_with_pkce() {
    let op = op().await;
    let rp = op.client(json!({"redirect_uris": [CALLBACK]})).await;
    let user = signed_up(&op, "ada").await;
    let out = run_flow(&op, &rp, "ada", &[]).await;
    assert_whole_flow(&op, &rp, &user, &out);
    assert_eq!(out["tokens"]["id_token_header"]["alg"], "RS256");
}

#[tokio::test]
async fn openid_client_walks_the_flow_with_eddsa_id_tokens() {
    let op = op().await;
    let rp = op.client(json!({"id_token_signed_response_alg": "EdDSA"})).await;
    let user = signed_up(&op, "ada").await;
    let out = run_flow(&op, &rp, "ada", &["--id-token-alg", "EdDSA"]).await;
    assert_whole_flow(&op, &rp, &user, &out);
    assert_eq!(out["tokens"]["id_token_header"]["alg"], "EdDSA");
}
