//! latchkey as OpenID Provider (issue 18; the contract in notes of the lead, FEDERATION.md §2
//! rules 1–16): one test per rule, and the OpenID Foundation's Basic OP and Config OP checks
//! ported to plain HTTP. The browser is a reqwest client with a cookie jar that never follows
//! redirects, so every hop is looked at; the web app's login and consent pages are replaced
//! by the JSON calls they make (`POST /api/login`, `POST /api/oauth2/requests/{id}/accept`).
//!
//! The set-up helpers at the top are shared with `oidc_rp.rs` (openid-client as the RP).

use std::collections::HashMap;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;

use crate::helpers::*;

// ---- Set-up ----

/// The redirect URI of the test clients: nothing listens there, the browser never goes.
pub const CALLBACK: &str = "http://127.0.0.1:9/callback";
/// A second registered redirect URI.
pub const CALLBACK_2: &str = "http://127.0.0.1:9/other";
/// The registered post-logout redirect URI.
pub const BYE: &str = "http://127.0.0.1:9/bye";
/// The origin of a single-page RP whose redirect URI is registered (CORS at /oauth2/token).
const SPA_ORIGIN: &str = "http://localhost:5173";
const EVIL: &str = "https://evil.example";
const ALL_SCOPES: &str = "openid email profile roles offline_access";

/// latchkey with an admin (`root`, logged in on `admin`) to register clients.
pub struct Op {
    pub app: TestApp,
    pub admin: Client,
}

/// A registered client as the tests use it.
#[derive(Clone, Debug)]
pub struct Rp {
    pub client_id: String,
    /// Absent for a public client.
    pub secret: Option<String>,
    pub redirect_uri: String,
    /// The Client JSON the admin API answered.
    pub json: Value,
}

/// A user with a browser logged in as them.
pub struct User {
    pub browser: Client,
    pub name: String,
    /// The user id as the ID token's `sub` carries it.
    pub sub: String,
    pub json: Value,
}

pub async fn op() -> Op {
    op_with(|_| {}).await
}

pub async fn op_with(adjust: impl FnOnce(&mut latchkey::config::Config)) -> Op {
    let app = TestApp::spawn_with(adjust).await;
    latchkey::service::accounts::create_user(&app.state.ctx, "root", None, PASSWORD, true).await.expect("create admin");
    let admin = new_client();
    assert_eq!(app.login_as(&admin, "root", PASSWORD).await.status(), StatusCode::OK, "admin login");
    Op { app, admin }
}

/// The issuer: `public_url` without a trailing slash.
pub fn issuer(app: &TestApp) -> String {
    app.state.ctx.config.public_url.trim_end_matches('/').to_string()
}

impl Op {
    /// `POST /api/oauth2/clients` as the admin (from latchkey's own origin, as the admin page).
    pub async fn register_raw(&self, body: Value) -> Response {
        self.admin
            .post(self.app.url("/api/oauth2/clients"))
            .header("origin", &self.app.base)
            .json(&body)
            .send()
            .await
            .expect("POST /api/oauth2/clients")
    }

    /// Registers a client (asserting 201); `body` over the defaults: name "Notes",
    /// redirect URI [`CALLBACK`], post-logout [`BYE`].
    pub async fn client(&self, body: Value) -> Rp {
        let mut full = json!({"name": "Notes", "redirect_uris": [CALLBACK], "post_logout_redirect_uris": [BYE]});
        for (k, v) in body.as_object().expect("an object") {
            full[k] = v.clone();
        }
        let r = self.register_raw(full.clone()).await;
        let json = body_of(r, 201).await;
        let client_id = json["client_id"].as_str().unwrap_or_else(|| panic!("no client_id in {json}")).to_string();
        let secret = json["client_secret"].as_str().map(str::to_string);
        let public = full["public"].as_bool().unwrap_or(false);
        assert_eq!(secret.is_none(), public, "a secret for confidential clients only: {json}");
        let redirect_uri = full["redirect_uris"][0].as_str().unwrap().to_string();
        Rp { client_id, secret, redirect_uri, json }
    }

    pub async fn confidential(&self) -> Rp {
        self.client(json!({})).await
    }

    pub async fn public(&self) -> Rp {
        self.client(json!({"public": true})).await
    }

    /// Signs `name` up (email `name@example.com`) in a browser of its own, logged in.
    pub async fn user(&self, name: &str) -> User {
        let browser = new_client();
        let r = browser
            .post(self.app.url("/api/signup"))
            .json(&json!({"username": name, "password": PASSWORD, "email": format!("{name}@example.com")}))
            .send()
            .await
            .unwrap();
        let json = body_of(r, 201).await;
        if browser.get(self.app.url("/api/me")).send().await.unwrap().status() != StatusCode::OK {
            assert_eq!(self.app.login_as(&browser, name, PASSWORD).await.status(), StatusCode::OK);
        }
        let sub = json["id"].as_i64().unwrap_or_else(|| panic!("no id in {json}")).to_string();
        User { browser, name: name.into(), sub, json }
    }

    /// `POST /api/login` again in `user`'s browser (a fresh login: a new `auth_time`).
    pub async fn relogin(&self, user: &User) {
        let r = user
            .browser
            .post(self.app.url("/api/login"))
            .header("origin", &self.app.base)
            .json(&json!({"username": user.name, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "login of {}", user.name);
    }
}

/// The answer's JSON, after asserting its status.
pub async fn body_of(r: Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// An OAuth 2.0 error answer (RFC 6749 §5.2): status and `error`.
async fn oauth_error(r: Response, status: u16, code: &str) -> Value {
    let body = body_of(r, status).await;
    assert_eq!(body["error"], code, "error in {body}");
    body
}

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

/// The query parameters of a URL.
pub fn params(url: &Url) -> HashMap<String, String> {
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The `Location` of a redirect, resolved against latchkey's base.
pub fn location(app: &TestApp, r: &Response) -> Option<Url> {
    header(r, "location").map(|l| Url::parse(&app.base).unwrap().join(&l).unwrap())
}

// ---- Authorization requests ----

/// The parameters of one authorization request and the secrets the RP keeps.
#[derive(Clone, Debug)]
pub struct Authz {
    pub params: Vec<(String, String)>,
    pub verifier: String,
    pub state: String,
    pub nonce: String,
    pub redirect_uri: String,
}

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Authz {
    /// `response_type=code`, PKCE S256, a state and a nonce, for `rp` and `scope`.
    pub fn new(rp: &Rp, scope: &str) -> Authz {
        let verifier = latchkey::crypto::token::new_token();
        let state = latchkey::crypto::token::new_token();
        let nonce = latchkey::crypto::token::new_token();
        let params = [
            ("response_type", "code"),
            ("client_id", &rp.client_id),
            ("redirect_uri", &rp.redirect_uri),
            ("scope", scope),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge(&verifier)),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Authz { params, verifier, state, nonce, redirect_uri: rp.redirect_uri.clone() }
    }

    /// With `name` set to `value` (replacing it when present).
    pub fn set(mut self, name: &str, value: &str) -> Authz {
        self.params.retain(|(k, _)| k != name);
        self.params.push((name.into(), value.into()));
        if name == "redirect_uri" {
            self.redirect_uri = value.into();
        }
        self
    }

    pub fn without(mut self, name: &str) -> Authz {
        self.params.retain(|(k, _)| k != name);
        self
    }

    pub fn url(&self, app: &TestApp) -> String {
        let mut url = Url::parse(&app.url("/oauth2/authorize")).unwrap();
        url.query_pairs_mut().extend_pairs(self.params.iter());
        url.to_string()
    }
}

/// `GET /oauth2/authorize?…` in `browser`.
pub async fn authorize(app: &TestApp, browser: &Client, authz: &Authz) -> Response {
    browser.get(authz.url(app)).send().await.expect("GET /oauth2/authorize")
}

/// Where an authorize request sent the browser.
#[derive(Debug)]
pub enum Next {
    /// Back to the RP: the redirect URI with these parameters.
    Back(HashMap<String, String>),
    /// The web app's login page for request `id`.
    Login(String),
    /// The web app's consent page for request `id`.
    Consent(String),
}

/// The redirect of an authorize answer (302 or 303), classified.
pub fn next(app: &TestApp, authz: &Authz, r: &Response) -> Next {
    assert!(
        matches!(r.status().as_u16(), 302 | 303),
        "authorize answered {} instead of a redirect (Location {:?})",
        r.status(),
        header(r, "location")
    );
    let to = location(app, r).expect("a redirect with a Location");
    if to.as_str().starts_with(&authz.redirect_uri) {
        assert_eq!(
            &to.as_str()[..to.as_str().find('?').unwrap_or(to.as_str().len())],
            authz.redirect_uri,
            "the redirect URI, exactly"
        );
        return Next::Back(params(&to));
    }
    assert_eq!(to.origin().ascii_serialization(), Url::parse(&app.base).unwrap().origin().ascii_serialization());
    let id = params(&to).get("oauth").cloned().unwrap_or_else(|| panic!("no oauth=<id> in {to}"));
    assert_eq!(id.len(), 43, "request ids are 43 url-safe characters: {id}");
    match to.path() {
        "/login" => Next::Login(id),
        "/consent" => Next::Consent(id),
        other => panic!("authorize sent the browser to {other} ({to})"),
    }
}

/// An error redirect back to the RP with `error`, `state` and `iss` (and no code).
pub fn assert_error_redirect(app: &TestApp, authz: &Authz, r: &Response, error: &str) -> HashMap<String, String> {
    match next(app, authz, r) {
        Next::Back(p) => {
            assert_eq!(p.get("error").map(String::as_str), Some(error), "error in {p:?}");
            assert_eq!(p.get("state"), Some(&authz.state), "state in {p:?}");
            assert_eq!(p.get("iss"), Some(&issuer(app)), "iss in {p:?} (RFC 9207)");
            assert!(!p.contains_key("code"), "an error with a code: {p:?}");
            p
        }
        other => panic!("expected an error redirect with {error}, got {other:?}"),
    }
}

/// An HTML page of latchkey's own with `status`: no redirect, no framing.
async fn assert_page(r: Response, status: u16) -> String {
    assert_eq!(r.status().as_u16(), status, "page status");
    assert!(header(&r, "location").is_none(), "a page, not a redirect: Location {:?}", header(&r, "location"));
    let ct = header(&r, "content-type").unwrap_or_default();
    assert!(ct.starts_with("text/html"), "content-type {ct}");
    let csp = header(&r, "content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "Content-Security-Policy {csp:?}");
    assert_eq!(header(&r, "referrer-policy").as_deref(), Some("no-referrer"), "Referrer-Policy");
    r.text().await.unwrap()
}

/// `GET /api/oauth2/requests/{id}` in `browser`.
pub async fn request_info(app: &TestApp, browser: &Client, id: &str) -> Response {
    browser.get(app.url(&format!("/api/oauth2/requests/{id}"))).send().await.unwrap()
}

/// `POST /api/oauth2/requests/{id}/{accept|deny}` from latchkey's origin.
pub async fn decide(app: &TestApp, browser: &Client, id: &str, verb: &str) -> Response {
    browser
        .post(app.url(&format!("/api/oauth2/requests/{id}/{verb}")))
        .header("origin", &app.base)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
}

/// The parameters of `redirect_to` of an accept/deny answer (asserting 200).
async fn redirect_to(r: Response, authz: &Authz) -> HashMap<String, String> {
    let body = body_of(r, 200).await;
    let to = body["redirect_to"].as_str().unwrap_or_else(|| panic!("no redirect_to in {body}"));
    assert!(to.starts_with(&format!("{}?", authz.redirect_uri)), "redirect_to {to}");
    params(&Url::parse(to).unwrap())
}

/// A code and what the RP kept to redeem it.
#[derive(Debug, Clone)]
pub struct Code {
    pub code: String,
    pub verifier: String,
    pub redirect_uri: String,
    pub nonce: String,
}

/// A redirect that carries a code must not leak it onward as a referrer (rule 8).
fn assert_no_referrer(r: &Response) {
    assert_eq!(
        header(r, "referrer-policy").as_deref(),
        Some("no-referrer"),
        "Referrer-Policy on a redirect with a code"
    );
}

fn code_of(app: &TestApp, authz: &Authz, p: &HashMap<String, String>) -> Code {
    assert_eq!(p.get("state"), Some(&authz.state), "state in {p:?}");
    assert_eq!(p.get("iss"), Some(&issuer(app)), "iss in {p:?}");
    let code = p.get("code").unwrap_or_else(|| panic!("no code in {p:?}")).clone();
    Code {
        code,
        verifier: authz.verifier.clone(),
        redirect_uri: authz.redirect_uri.clone(),
        nonce: authz.nonce.clone(),
    }
}

/// The whole browser part for `user`: authorize, log in again or consent when asked, and the
/// code that comes back. `asked` says which pages were shown.
pub async fn code_with(op: &Op, user: &User, authz: &Authz) -> (Code, Vec<&'static str>) {
    let app = &op.app;
    let r = authorize(app, &user.browser, authz).await;
    let mut asked = Vec::new();
    let id = match next(app, authz, &r) {
        Next::Back(p) => {
            assert_no_referrer(&r);
            return (code_of(app, authz, &p), asked);
        }
        Next::Login(id) => {
            asked.push("login");
            op.relogin(user).await;
            id
        }
        Next::Consent(id) => {
            asked.push("consent");
            id
        }
    };
    let p = redirect_to(decide(app, &user.browser, &id, "accept").await, authz).await;
    (code_of(app, authz, &p), asked)
}

pub async fn code(op: &Op, user: &User, authz: &Authz) -> Code {
    code_with(op, user, authz).await.0
}

// ---- The token endpoint ----

/// How a client authenticates at the token, revocation and introspection endpoints.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    /// `client_secret_basic` (or `none` with `client_id` in the body for a public client).
    Default(&'a Rp),
    /// `client_secret_post`.
    Post(&'a Rp),
    /// No client authentication at all.
    Nothing,
}

/// RFC 6749 §2.3.1: both parts form-urlencoded, then Basic.
pub fn basic(client_id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("Basic {}", STANDARD.encode(format!("{}:{}", enc(client_id), enc(secret))))
}

/// `POST path` (form) with `auth`, from a fresh client without cookies.
pub async fn form_post(app: &TestApp, path: &str, auth: Auth<'_>, form: &[(&str, &str)]) -> Response {
    let mut fields: Vec<(String, String)> = form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut req = new_client().post(app.url(path));
    match auth {
        Auth::Default(rp) => match &rp.secret {
            Some(secret) => req = req.header("authorization", basic(&rp.client_id, secret)),
            None => fields.push(("client_id".into(), rp.client_id.clone())),
        },
        Auth::Post(rp) => {
            fields.push(("client_id".into(), rp.client_id.clone()));
            fields.push(("client_secret".into(), rp.secret.clone().expect("client_secret_post needs a secret")));
        }
        Auth::Nothing => {}
    }
    req.form(&fields).send().await.expect("form POST")
}

pub async fn token(app: &TestApp, auth: Auth<'_>, form: &[(&str, &str)]) -> Response {
    form_post(app, "/oauth2/token", auth, form).await
}

async fn redeem(app: &TestApp, auth: Auth<'_>, code: &Code) -> Response {
    token(
        app,
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code.code),
            ("redirect_uri", &code.redirect_uri),
            ("code_verifier", &code.verifier),
        ],
    )
    .await
}

/// A successful token answer: 200, `Cache-Control: no-store`, Bearer.
pub async fn tokens_of(r: Response) -> Value {
    let cache = header(&r, "cache-control").unwrap_or_default();
    let body = body_of(r, 200).await;
    assert!(cache.contains("no-store"), "Cache-Control {cache:?} on a token answer");
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert!(body["access_token"].is_string() && body["expires_in"].is_number(), "{body}");
    body
}

/// Redeems `code` for `rp` (its default authentication); the token answer.
pub async fn exchange(app: &TestApp, rp: &Rp, code: &Code) -> Value {
    tokens_of(redeem(app, Auth::Default(rp), code).await).await
}

pub async fn refresh(app: &TestApp, rp: &Rp, refresh_token: &str) -> Response {
    token(app, Auth::Default(rp), &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
}

/// The whole way from authorize to tokens for `user` at `rp` with `scope`.
pub async fn tokens_for(op: &Op, user: &User, rp: &Rp, scope: &str) -> Value {
    let c = code(op, user, &Authz::new(rp, scope)).await;
    exchange(&op.app, rp, &c).await
}

pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}"))
}

// ---- Tokens ----

pub fn jwt_header(jwt: &str) -> Value {
    let part = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON header")
}

/// Verifies an ID token against the JWKS (signature, alg, exp, iss, aud = `rp`): its claims.
pub async fn verify_id_token(app: &TestApp, rp: &Rp, id_token: &str) -> Value {
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let head = jsonwebtoken::decode_header(id_token).expect("an ID token header");
    let want = rp.json["id_token_signed_response_alg"].as_str().unwrap_or("RS256");
    let alg = match want {
        "EdDSA" => Algorithm::EdDSA,
        _ => Algorithm::RS256,
    };
    assert_eq!(head.alg, alg, "the client's ID token alg");
    let kid = head.kid.expect("a kid in the ID token header");
    let jwks = body_of(new_client().get(app.url("/.well-known/jwks.json")).send().await.unwrap(), 200).await;
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("kid {kid} not in the JWKS {jwks}"));
    let jwk: Jwk = serde_json::from_value(key.clone()).expect("a JWK");
    let mut validation = Validation::new(alg);
    validation.set_audience(&[&rp.client_id]);
    validation.set_issuer(&[issuer(app)]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Value>(id_token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
        .unwrap_or_else(|e| panic!("the ID token does not verify: {e}"));
    assert!(data.claims["iat"].is_number(), "iat in {}", data.claims);
    data.claims
}

/// OIDC Core §3.1.3.6 for RS256: the left half of SHA-256 of the access token.
pub fn at_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

async fn userinfo(app: &TestApp, access_token: &str) -> Response {
    new_client().get(app.url("/oauth2/userinfo")).bearer_auth(access_token).send().await.unwrap()
}

async fn assert_userinfo_refuses(app: &TestApp, access_token: &str) {
    let r = userinfo(app, access_token).await;
    let www = header(&r, "www-authenticate").unwrap_or_default();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "userinfo: {}", r.text().await.unwrap_or_default());
    assert!(www.starts_with("Bearer") && www.contains("error=\"invalid_token\""), "WWW-Authenticate {www:?}");
}

// =====================================================================================
// Discovery and keys (rules 13, 14, 16; the OIDF Config OP checks)
// =====================================================================================

#[tokio::test]
async fn discovery_is_json_with_the_issuer_and_its_endpoints_under_it() {
    let app = TestApp::spawn().await;
    let iss = issuer(&app);
    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let r = new_client().get(app.url(path)).send().await.unwrap();
        let ct = header(&r, "content-type").unwrap_or_default();
        assert!(ct.starts_with("application/json"), "{path}: content-type {ct}");
        let d = body_of(r, 200).await;
        assert_eq!(d["issuer"], iss.as_str(), "{path}: issuer = public_url");
        for (field, tail) in [
            ("authorization_endpoint", "/oauth2/authorize"),
            ("token_endpoint", "/oauth2/token"),
            ("userinfo_endpoint", "/oauth2/userinfo"),
            ("revocation_endpoint", "/oauth2/revoke"),
            ("introspection_endpoint", "/oauth2/introspect"),
            ("end_session_endpoint", "/oauth2/logout"),
            ("jwks_uri", "/.well-known/jwks.json"),
        ] {
            assert_eq!(d[field], format!("{iss}{tail}"), "{path}: {field}");
            Url::parse(str_of(&d, field)).expect("an absolute URL");
        }
        assert_eq!(d["response_types_supported"], json!(["code"]), "{path}");
        assert_eq!(d["response_modes_supported"], json!(["query"]), "{path}");
        assert_eq!(
            d["grant_types_supported"],
            json!(["authorization_code", "refresh_token", "client_credentials"]),
            "{path}: explicit grant types"
        );
        assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]), "{path}");
        let subjects = d["subject_types_supported"].as_array().expect("subject_types_supported");
        assert!(subjects.contains(&json!("public")), "{path}: {subjects:?}");
        let algs = d["id_token_signing_alg_values_supported"].as_array().expect("id_token algs");
        assert!(algs.contains(&json!("RS256")), "{path}: RS256 is required by Discovery: {algs:?}");
        let scopes = d["scopes_supported"].as_array().expect("scopes_supported");
        for s in ["openid", "email", "profile", "roles", "offline_access"] {
            assert!(scopes.contains(&json!(s)), "{path}: scope {s} in {scopes:?}");
        }
        let claims = d["claims_supported"].as_array().expect("claims_supported");
        for c in ["sub", "iss", "email", "email_verified", "preferred_username"] {
            assert!(claims.contains(&json!(c)), "{path}: claim {c} in {claims:?}");
        }
        let auth = d["token_endpoint_auth_methods_supported"].as_array().expect("auth methods");
        for m in ["client_secret_basic", "client_secret_post", "none"] {
            assert!(auth.contains(&json!(m)), "{path}: {m} in {auth:?}");
        }
        assert_eq!(d["authorization_response_iss_parameter_supported"], true, "{path}");
        assert_eq!(d["request_parameter_supported"], false, "{path}");
        assert_eq!(d["request_uri_parameter_supported"], false, "{path}");
        assert_eq!(d["claims_parameter_supported"], false, "{path}");
        assert!(d.get("registration_endpoint").is_none(), "{path}: no dynamic registration (rule 16)");
    }
    for path in ["/oauth2/register", "/connect/register", "/register"] {
        let r = new_client()
            .post(app.url(path))
            .json(&json!({"redirect_uris": ["https://rp.example/cb"], "client_name": "x"}))
            .send()
            .await
            .unwrap();
        assert!(!r.status().is_success(), "{path}: dynamic registration answered {}", r.status());
    }
}

/// The JWKS's keys, checked to be public only, with a kid each.
async fn public_jwks(app: &TestApp) -> Vec<Value> {
    let r = new_client().get(app.url("/.well-known/jwks.json")).send().await.unwrap();
    let jwks = body_of(r, 200).await;
    let keys = jwks["keys"].as_array().expect("keys").clone();
    for k in &keys {
        assert!(k["kid"].is_string(), "a kid: {k}");
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(k.get(private).is_none(), "private member {private} in the JWKS: {k}");
        }
        if k["kty"] == "RSA" {
            assert!(k["n"].is_string() && k["e"].is_string(), "{k}");
        }
    }
    keys
}

#[tokio::test]
async fn the_jwks_holds_only_public_rsa_and_ed25519_keys() {
    let op = op().await;
    op.confidential().await;
    let keys = public_jwks(&op.app).await;
    assert!(keys.iter().any(|k| k["kty"] == "RSA"), "an RSA key for RS256: {keys:?}");
    assert!(keys.iter().any(|k| k["kty"] == "OKP" && k["crv"] == "Ed25519"), "an Ed25519 key: {keys:?}");
}

// =====================================================================================
// Clients (rules 1, 10, 16)
// =====================================================================================

#[tokio::test]
async fn a_confidential_client_gets_a_43_character_secret_shown_once() {
    let op = op().await;
    let rp = op.confidential().await;
    let secret = rp.secret.clone().unwrap();
    assert_eq!(secret.len(), 43, "256 bits, url-safe");
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{secret}");
    assert_eq!(rp.json["public"], false);
    assert_eq!(rp.json["id_token_signed_response_alg"], "RS256", "RS256 by default");
    let r = op.admin.get(op.app.url(&format!("/api/oauth2/clients/{}", rp.client_id))).send().await.unwrap();
    let again = body_of(r, 200).await;
    assert!(again.get("client_secret").is_none(), "the secret is shown once: {again}");
    let list = body_of(op.admin.get(op.app.url("/api/oauth2/clients")).send().await.unwrap(), 200).await;
    assert!(!list.to_string().contains(&secret), "the secret in the list: {list}");
}

#[tokio::test]
async fn a_new_secret_ends_the_old_one_and_a_public_client_has_none() {
    let op = op().await;
    let old = op.confidential().await;
    let r = op
        .admin
        .post(op.app.url(&format!("/api/oauth2/clients/{}/secret", old.client_id)))
        .header("origin", &op.app.base)
        .send()
        .await
        .unwrap();
    let body = body_of(r, 200).await;
    assert_eq!(body["client_id"], old.client_id.as_str());
    let new = Rp { secret: Some(str_of(&body, "client_secret").to_string()), ..old.clone() };
    assert_ne!(new.secret, old.secret);
    let grant = [("grant_type", "client_credentials")];
    oauth_error(token(&op.app, Auth::Default(&old), &grant).await, 401, "invalid_client").await;
    tokens_of(token(&op.app, Auth::Default(&new), &grant).await).await;
    let public = op.public().await;
    let r = op
        .admin
        .post(op.app.url(&format!("/api/oauth2/clients/{}/secret", public.client_id)))
        .header("origin", &op.app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a public client has no secret");
}

#[tokio::test]
async fn redirect_uris_must_be_https_or_loopback_http_without_a_fragment() {
    let op = op().await;
    for bad in ["http://example.com/cb", "https://rp.example/cb#frag", "not a url", "ftp://rp.example/cb"] {
        let r = op.register_raw(json!({"name": "Bad", "redirect_uris": [bad]})).await;
        let body = body_of(r, 422).await;
        assert_eq!(body["error"], "validation_failed", "{bad}: {body}");
    }
    for good in
        ["https://rp.example/cb", "http://127.0.0.1:8000/cb", "http://[::1]:8000/cb", "http://localhost:3000/cb"]
    {
        let r = op.register_raw(json!({"name": "Good", "redirect_uris": [good]})).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{good}: {}", r.text().await.unwrap());
    }
}

#[tokio::test]
async fn registering_clients_needs_an_admin() {
    let op = op().await;
    let user = op.user("ada").await;
    let r = user
        .browser
        .post(op.app.url("/api/oauth2/clients"))
        .header("origin", &op.app.base)
        .json(&json!({"name": "Mine", "redirect_uris": [CALLBACK]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = new_client().get(op.app.url("/api/oauth2/clients")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

// =====================================================================================
// Authorization endpoint (rules 1, 2, 3, 5, 6; OIDF Basic OP)
// =====================================================================================

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    for uri in ["http://127.0.0.1:9/callback/x", "http://127.0.0.1:10/callback", "https://evil.example/callback"] {
        let authz = Authz::new(&rp, "openid").set("redirect_uri", uri);
        let body = assert_page(authorize(&op.app, &user.browser, &authz).await, 400).await;
        assert!(!body.contains("code="), "{uri}: a code on the error page");
    }
    let authz = Authz::new(&rp, "openid").without("redirect_uri");
    assert_page(authorize(&op.app, &user.browser, &authz).await, 400).await;
}

#[tokio::test]
async fn an_unknown_client_gets_an_error_page_and_no_redirect() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let authz = Authz::new(&rp, "openid").set("client_id", "no-such-client");
    assert_page(authorize(&op.app, &user.browser, &authz).await, 400).await;
    let authz = Authz::new(&rp, "openid").without("client_id");
    assert_page(authorize(&op.app, &user.browser, &authz).await, 400).await;
}

#[tokio::test]
async fn a_public_loopback_client_matches_any_port_and_a_confidential_one_does_not() {
    let op = op().await;
    let public = op.public().await;
    let confidential = op.confidential().await;
    let user = op.user("ada").await;
    let authz = Authz::new(&public, "openid").set("redirect_uri", "http://127.0.0.1:54321/callback");
    let c = code(&op, &user, &authz).await;
    let t = exchange(&op.app, &public, &c).await;
    assert!(t["id_token"].is_string());
    let authz = Authz::new(&confidential, "openid").set("redirect_uri", "http://127.0.0.1:54321/callback");
    assert_page(authorize(&op.app, &user.browser, &authz).await, 400).await;
    let authz = Authz::new(&public, "openid").set("redirect_uri", "http://127.0.0.1:54321/elsewhere");
    assert_page(authorize(&op.app, &user.browser, &authz).await, 400).await;
}

#[tokio::test]
async fn without_a_code_challenge_the_rp_gets_invalid_request_with_state_and_iss() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let authz = Authz::new(&rp, "openid").without("code_challenge").without("code_challenge_method");
    let r = authorize(&op.app, &user.browser, &authz).await;
    assert_error_redirect(&op.app, &authz, &r, "invalid_request");
    // Without a session as well: the check comes before the login.
    let r = authorize(&op.app, &new_client(), &authz).await;
    assert_error_redirect(&op.app, &authz, &r, "invalid_request");
}

#[tokio::test]
async fn code_challenge_method_plain_is_invalid_request() {
    let op = op().await;
    let rp = op.public().await;
    let user = op.user("ada").await;
    let authz = Authz::new(&rp, "openid");
    let verifier = authz.verifier.clone();
    let authz = authz.set("code_challenge", &verifier).set("code_challenge_method", "plain");
    let r = authorize(&op.app, &user.browser, &authz).await;
    assert_error_redirect(&op.app, &authz, &r, "invalid_request");
}

#[tokio::test]
async fn request_objects_are_not_supported() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let authz = Authz::new(&rp, "openid").set("request", "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.");
    let r = authorize(&op.app, &user.browser, &authz).await;
    assert_error_redirect(&op.app, &authz, &r, "request_not_supported");
    let authz = Authz::new(&rp, "openid").set("request_uri", "https://rp.example/request.jwt");
    let r = authorize(&op.app, &user.browser, &authz).await;
    assert_error_redirect(&op.app, &authz, &r, "request_uri_not_supported");
}

#[tokio::test]
async fn a_missing_or_token_response_type_is_refused_with_state_and_iss() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let authz = Authz::new(&rp, "openid").without("response_type");
    let r = authorize(&op.app, &user.browser, &authz).await;
    let p = match next(&op.app, &authz, &r) {
        Next::Back(p) => p,
        other => panic!("response_type missing: {other:?}"),
    };
    let error = p.get("error").map(String::as_str);
    assert!(matches!(error, Some("unsupported_response_type" | "invalid_request")), "{p:?}");
    assert_error_redirect(&op.app, &authz, &r, error.unwrap());
    for rt in ["token", "id_token", "code id_token", "code token"] {
        let authz = Authz::new(&rp, "openid").set("response_type", rt);
        let r = authorize(&op.app, &user.browser, &authz).await;
        assert_error_redirect(&op.app, &authz, &r, "unsupported_response_type");
    }
    let authz = Authz::new(&rp, "openid").set("response_mode", "fragment");
    let r = authorize(&op.app, &user.browser, &authz).await;
    let to = header(&r, "location").unwrap_or_default();
    assert!(!to.contains('#'), "only the query response mode: {to}");
}

#[tokio::test]
async fn post_authorize_works_like_get_and_skips_the_origin_check() {
    let op = op().await;
    let rp = op.client(json!({"skip_consent": true})).await;
    let user = op.user("ada").await;
    let authz = Authz::new(&rp, "openid email");
    // A form post from the RP's page: a foreign Origin, cross-site.
    let r = user
        .browser
        .post(op.app.url("/oauth2/authorize"))
        .header("origin", "http://127.0.0.1:9")
        .header("sec-fetch-site", "cross-site")
        .form(&authz.params)
        .send()
        .await
        .unwrap();
    let p = match next(&op.app, &authz, &r) {
        Next::Back(p) => p,
        other => panic!("POST authorize of a logged-in user at a skip_consent client: {other:?}"),
    };
    let c = code_of(&op.app, &authz, &p);
    let t = exchange(&op.app, &rp, &c).await;
    let claims = verify_id_token(&op.app, &rp, str_of(&t, "id_token")).await;
    assert_eq!(claims["sub"], user.sub.as_str());
    assert_eq!(claims["nonce"], authz.nonce.as_str());
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let authz = Authz::new(&rp, "openid")
        .set("extra", "foobar")
        .set("display", "page")
        .set("ui_locales", "se")
        .set("claims_locales", "se")
        .set("acr_values", "1 2");
    let c = code(&op, &user, &authz).await;
    let t = exchange(&op.app, &rp, &c).await;
    verify_id_token(&op.app, &rp, str_of(&t, "id_token")).await;
}

#[tokio::test]
async fn scopes_in_any_order_give_their_claims() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let c = code(&op, &user, &Authz::new(&rp, "email profile openid")).await;
    let t = exchange(&op.app, &rp, &c).await;
    let info = body_of(userinfo(&op.app, str_of(&t, "access_token")).await, 200).await;
    assert_eq!(info["email"], "ada@example.com");
    assert_eq!(info["preferred_username"], "ada");
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let op = op().await;
    let rp = op.confidential().await;
    let authz = Authz::new(&rp, "openid").set("prompt", "none");
    let r = authorize(&op.app, &new_client(), &authz).await;
    assert_error_redirect(&op.app, &authz, &r, "login_required");
}

#[tokio::test]
async fn prompt_none_with_a_session_but_no_consent_is_consent_required() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let authz = Authz::new(&rp, "openid email").set("prompt", "none");
    let r = authorize(&op.app, &user.browser, &authz).await;
    assert_error_redirect(&op.app, &authz, &r, "consent_required");
    // Once consented, prompt=none answers with a code at once (OIDF prompt-none-logged-in).
    code(&op, &user, &Authz::new(&rp, "openid email")).await;
    let authz = Authz::new(&rp, "openid email").set("prompt", "none");
    let r = authorize(&op.app, &user.browser, &authz).await;
    match next(&op.app, &authz, &r) {
        Next::Back(p) => {
            code_of(&op.app, &authz, &p);
        }
        other => panic!("prompt=none after consent: {other:?}"),
    }
}

#[tokio::test]
async fn prompt_login_with_a_session_goes_to_the_login_page_and_needs_a_new_login() {
    let op = op().await;
    let rp = op.client(json!({"skip_consent": true})).await;
    let user = op.user("ada").await;
    let first = exchange(&op.app, &rp, &code(&op, &user, &Authz::new(&rp, "openid")).await).await;
    let first = verify_id_token(&op.app, &rp, str_of(&first, "id_token")).await;
    op.app.clock.advance(Duration::from_secs(5));
    let authz = Authz::new(&rp, "openid").set("prompt", "login");
    let r = authorize(&op.app, &user.browser, &authz).await;
    let id = match next(&op.app, &authz, &r) {
        Next::Login(id) => id,
        other => panic!("prompt=login with a session: {other:?}"),
    };
    let info = body_of(request_info(&op.app, &user.browser, &id).await, 200).await;
    assert_eq!(info["login_required"], true, "{info}");
    assert_eq!(info["client"]["client_id"], rp.client_id.as_str());
    assert_eq!(info["client"]["name"], "Notes");
    let r = decide(&op.app, &user.browser, &id, "accept").await;
    let body = body_of(r, 401).await;
    assert_eq!(body["error"], "login_required", "accept before logging in again: {body}");
    op.relogin(&user).await;
    let p = redirect_to(decide(&op.app, &user.browser, &id, "accept").await, &authz).await;
    let t = exchange(&op.app, &rp, &code_of(&op.app, &authz, &p)).await;
    let claims = verify_id_token(&op.app, &rp, str_of(&t, "id_token")).await;
    assert!(
        claims["auth_time"].as_i64().unwrap() >= first["auth_time"].as_i64().unwrap() + 5,
        "a new auth_time: {} then {}",
        first["auth_time"],
        claims["auth_time"]
    );
}

#[tokio::test]
async fn max_age_exceeded_asks_for_a_login_and_auth_time_tells_when_it_was() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let logged_in_at = op.app.clock.now();
    // max_age=10000: the session is recent enough (OIDF max-age-10000).
    let authz = Authz::new(&rp, "openid").set("max_age", "10000");
    let (c, asked) = code_with(&op, &user, &authz).await;
    assert_eq!(asked, ["consent"]);
    let t = exchange(&op.app, &rp, &c).await;
    let claims = verify_id_token(&op.app, &rp, str_of(&t, "id_token")).await;
    let auth_time = claims["auth_time"].as_i64().expect("auth_time with max_age");
    assert!((auth_time - logged_in_at).abs() <= 2, "auth_time {auth_time}, logged in at {logged_in_at}");
    op.app.clock.advance(Duration::from_secs(10));
    let authz = Authz::new(&rp, "openid").set("max_age", "1");
    let r = authorize(&op.app, &user.browser, &authz).await;
    let id = match next(&op.app, &authz, &r) {
        Next::Login(id) => id,
        other => panic!("max_age=1, logged in 10 s ago: {other:?}"),
    };
    let info = body_of(request_info(&op.app, &user.browser, &id).await, 200).await;
    assert_eq!(info["login_required"], true, "{info}");
    op.relogin(&user).await;
    let p = redirect_to(decide(&op.app, &user.browser, &id, "accept").await, &authz).await;
    let t = exchange(&op.app, &rp, &code_of(&op.app, &authz, &p)).await;
    let claims = verify_id_token(&op.app, &rp, str_of(&t, "id_token")).await;
    assert!(claims["auth_time"].as_i64().unwrap() >= auth_time + 10, "a newer auth_time: {claims}");
    // prompt=none with max_age exceeded cannot log in: login_required.
    op.app.clock.advance(Duration::from_secs(10));
    let authz = Authz::new(&rp, "openid").set("max_age", "1").set("prompt", "none");
    let r = authorize(&op.app, &user.browser, &authz).await;
    assert_error_redirect(&op.app, &authz, &r, "login_required");
}

#[tokio::test]
async fn an_id_token_hint_of_the_user_passes_with_prompt_none_and_of_another_user_does_not() {
    let op = op().await;
    let rp = op.confidential().await;
    let ada = op.user("ada").await;
    let bob = op.user("bob").await;
    let ada_t = tokens_for(&op, &ada, &rp, "openid").await;
    let bob_t = tokens_for(&op, &bob, &rp, "openid").await;
    let authz = Authz::new(&rp, "openid").set("prompt", "none").set("id_token_hint", str_of(&ada_t, "id_token"));
    let r = authorize(&op.app, &ada.browser, &authz).await;
    match next(&op.app, &authz, &r) {
        Next::Back(p) => {
            code_of(&op.app, &authz, &p);
        }
        other => panic!("prompt=none with the user's own id_token_hint: {other:?}"),
    }
    let authz = Authz::new(&rp, "openid").set("prompt", "none").set("id_token_hint", str_of(&bob_t, "id_token"));
    let r = authorize(&op.app, &ada.browser, &authz).await;
    assert_error_redirect(&op.app, &authz, &r, "login_required");
}

#[tokio::test]
async fn the_login_hint_reaches_the_web_app() {
    let op = op().await;
    let rp = op.confidential().await;
    let authz = Authz::new(&rp, "openid").set("login_hint", "ada");
    let browser = new_client();
    let r = authorize(&op.app, &browser, &authz).await;
    let id = match next(&op.app, &authz, &r) {
        Next::Login(id) => id,
        other => panic!("no session: {other:?}"),
    };
    let info = body_of(request_info(&op.app, &browser, &id).await, 200).await;
    assert_eq!(info["login_hint"], "ada");
    assert_eq!(info["login_required"], true);
    assert_eq!(info["consent_required"], true);
    assert_eq!(info["scopes"], json!(["openid"]));
}

#[tokio::test]
async fn requests_are_unknown_after_ten_minutes_and_accept_needs_a_session() {
    let op = op().await;
    let rp = op.confidential().await;
    let browser = new_client();
    let authz = Authz::new(&rp, "openid");
    let r = authorize(&op.app, &browser, &authz).await;
    let id = match next(&op.app, &authz, &r) {
        Next::Login(id) => id,
        other => panic!("no session: {other:?}"),
    };
    let body = body_of(decide(&op.app, &browser, &id, "accept").await, 401).await;
    assert_eq!(body["error"], "unauthorized", "{body}");
    let body = body_of(request_info(&op.app, &browser, "x".repeat(43).as_str()).await, 404).await;
    assert_eq!(body["error"], "not_found");
    op.app.clock.advance(Duration::from_secs(10 * 60 + 1));
    let body = body_of(request_info(&op.app, &browser, &id).await, 404).await;
    assert_eq!(body["error"], "not_found", "a request lives 10 minutes: {body}");
}

#[tokio::test]
async fn deny_sends_access_denied_with_state_and_iss() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let authz = Authz::new(&rp, "openid email");
    let r = authorize(&op.app, &user.browser, &authz).await;
    let id = match next(&op.app, &authz, &r) {
        Next::Consent(id) => id,
        other => panic!("first authorization of a logged-in user: {other:?}"),
    };
    let p = redirect_to(decide(&op.app, &user.browser, &id, "deny").await, &authz).await;
    assert_eq!(p.get("error").map(String::as_str), Some("access_denied"));
    assert_eq!(p.get("state"), Some(&authz.state));
    assert_eq!(p.get("iss"), Some(&issuer(&op.app)));
    assert!(!p.contains_key("code"));
    // Used up: accepting it afterwards finds nothing.
    assert_eq!(decide(&op.app, &user.browser, &id, "accept").await.status(), StatusCode::NOT_FOUND);
}

// =====================================================================================
// Consent (rule 7)
// =====================================================================================

#[tokio::test]
async fn consent_is_remembered_for_the_same_scopes_and_asked_again_for_a_new_one() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let (_, asked) = code_with(&op, &user, &Authz::new(&rp, "openid email")).await;
    assert_eq!(asked, ["consent"], "the first time");
    let (_, asked) = code_with(&op, &user, &Authz::new(&rp, "openid email")).await;
    assert!(asked.is_empty(), "the same scopes again: {asked:?}");
    let (_, asked) = code_with(&op, &user, &Authz::new(&rp, "openid")).await;
    assert!(asked.is_empty(), "fewer scopes: {asked:?}");
    let (_, asked) = code_with(&op, &user, &Authz::new(&rp, "openid email profile")).await;
    assert_eq!(asked, ["consent"], "a new scope");
    let (_, asked) = code_with(&op, &user, &Authz::new(&rp, "openid email").set("prompt", "consent")).await;
    assert_eq!(asked, ["consent"], "prompt=consent");
    let grants = body_of(user.browser.get(op.app.url("/api/me/grants")).send().await.unwrap(), 200).await;
    let grants = grants["grants"].as_array().expect("grants");
    assert_eq!(grants.len(), 1, "one grant per client: {grants:?}");
    assert_eq!(grants[0]["client_id"], rp.client_id.as_str());
    assert_eq!(grants[0]["client_name"], "Notes");
    // Consent is per user: another user at the same client is asked.
    let bob = op.user("bob").await;
    let (_, asked) = code_with(&op, &bob, &Authz::new(&rp, "openid email")).await;
    assert_eq!(asked, ["consent"], "another user");
}

#[tokio::test]
async fn deleting_a_grant_ends_the_refresh_tokens_and_asks_consent_again() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let grants = body_of(user.browser.get(op.app.url("/api/me/grants")).send().await.unwrap(), 200).await;
    let id = grants["grants"][0]["id"].clone();
    let id = id.as_str().map(str::to_string).unwrap_or_else(|| id.to_string());
    let r = user
        .browser
        .delete(op.app.url(&format!("/api/me/grants/{id}")))
        .header("origin", &op.app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    oauth_error(refresh(&op.app, &rp, str_of(&t, "refresh_token")).await, 400, "invalid_grant").await;
    let (_, asked) = code_with(&op, &user, &Authz::new(&rp, "openid")).await;
    assert_eq!(asked, ["consent"]);
}

#[tokio::test]
async fn a_skip_consent_client_never_asks() {
    let op = op().await;
    let rp = op.client(json!({"skip_consent": true})).await;
    assert_eq!(rp.json["skip_consent"], true);
    let user = op.user("ada").await;
    let (_, asked) = code_with(&op, &user, &Authz::new(&rp, "openid email profile")).await;
    assert!(asked.is_empty(), "{asked:?}");
    let (_, asked) = code_with(&op, &user, &Authz::new(&rp, "openid email profile roles")).await;
    assert!(asked.is_empty(), "{asked:?}");
}

// =====================================================================================
// Token endpoint: codes (rules 3, 4, 10)
// =====================================================================================

#[tokio::test]
async fn a_wrong_code_verifier_is_invalid_grant() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let mut c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    c.verifier = latchkey::crypto::token::new_token();
    oauth_error(redeem(&op.app, Auth::Default(&rp), &c).await, 400, "invalid_grant").await;
    // Without a verifier at all.
    let r = token(
        &op.app,
        Auth::Default(&rp),
        &[("grant_type", "authorization_code"), ("code", &c.code), ("redirect_uri", &c.redirect_uri)],
    )
    .await;
    let body = body_of(r, 400).await;
    assert!(matches!(body["error"].as_str(), Some("invalid_grant" | "invalid_request")), "{body}");
}

#[tokio::test]
async fn a_reused_code_is_invalid_grant_and_revokes_what_it_issued() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let c = code(&op, &user, &Authz::new(&rp, ALL_SCOPES)).await;
    let t = exchange(&op.app, &rp, &c).await;
    let access = str_of(&t, "access_token");
    assert_eq!(userinfo(&op.app, access).await.status(), StatusCode::OK);
    oauth_error(redeem(&op.app, Auth::Default(&rp), &c).await, 400, "invalid_grant").await;
    assert_userinfo_refuses(&op.app, access).await;
    oauth_error(refresh(&op.app, &rp, str_of(&t, "refresh_token")).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_code_older_than_60_seconds_is_invalid_grant() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    op.app.clock.advance(Duration::from_secs(61));
    oauth_error(redeem(&op.app, Auth::Default(&rp), &c).await, 400, "invalid_grant").await;
    // 50 s is still fine.
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    op.app.clock.advance(Duration::from_secs(50));
    exchange(&op.app, &rp, &c).await;
}

#[tokio::test]
async fn a_code_of_another_client_is_invalid_grant() {
    let op = op().await;
    let rp = op.confidential().await;
    let other = op.confidential().await;
    let user = op.user("ada").await;
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    oauth_error(redeem(&op.app, Auth::Default(&other), &c).await, 400, "invalid_grant").await;
    // A public client presenting it (client_id in the body) is refused too.
    let public = op.public().await;
    let r = redeem(&op.app, Auth::Default(&public), &c).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn a_redirect_uri_other_than_the_authorizations_is_invalid_grant() {
    let op = op().await;
    let rp = op.client(json!({"redirect_uris": [CALLBACK, CALLBACK_2]})).await;
    let user = op.user("ada").await;
    let mut c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    c.redirect_uri = CALLBACK_2.into();
    oauth_error(redeem(&op.app, Auth::Default(&rp), &c).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_wrong_client_secret_is_401_invalid_client_with_www_authenticate() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    let wrong = Rp { secret: Some(latchkey::crypto::token::new_token()), ..rp.clone() };
    for auth in [Auth::Default(&wrong), Auth::Post(&wrong)] {
        let r = redeem(&op.app, auth, &c).await;
        let www = header(&r, "www-authenticate").unwrap_or_default();
        let body = oauth_error(r, 401, "invalid_client").await;
        assert!(www.starts_with("Basic"), "WWW-Authenticate {www:?} ({body})");
    }
    let r = new_client()
        .post(op.app.url("/oauth2/token"))
        .header("authorization", basic("no-such-client", "x"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    oauth_error(r, 401, "invalid_client").await;
    // The code was not spent by the failed attempts.
    exchange(&op.app, &rp, &c).await;
}

#[tokio::test]
async fn basic_credentials_are_form_urldecoded() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    // Every byte %-escaped: a server that does not form-decode sees another client id.
    let escaped = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let credentials = format!("{}:{}", escaped(&rp.client_id), escaped(rp.secret.as_deref().unwrap()));
    let r = new_client()
        .post(op.app.url("/oauth2/token"))
        .header("authorization", format!("Basic {}", STANDARD.encode(credentials)))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &c.code),
            ("redirect_uri", &c.redirect_uri),
            ("code_verifier", &c.verifier),
        ])
        .send()
        .await
        .unwrap();
    tokens_of(r).await;
}

#[tokio::test]
async fn client_secret_post_works() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    let t = tokens_of(redeem(&op.app, Auth::Post(&rp), &c).await).await;
    verify_id_token(&op.app, &rp, str_of(&t, "id_token")).await;
}

#[tokio::test]
async fn eight_parallel_exchanges_of_one_code_give_exactly_one_token() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (url, rp, c) = (op.app.url("/oauth2/token"), rp.clone(), c.clone());
        set.spawn(async move {
            new_client()
                .post(url)
                .header("authorization", basic(&rp.client_id, rp.secret.as_deref().unwrap()))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", c.code.as_str()),
                    ("redirect_uri", c.redirect_uri.as_str()),
                    ("code_verifier", c.verifier.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(s) = set.join_next().await {
        statuses.push(s.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [200, 400, 400, 400, 400, 400, 400, 400], "one code, one token");
}

// =====================================================================================
// Token endpoint: refresh and client credentials (rule 11)
// =====================================================================================

#[tokio::test]
async fn a_public_client_rotates_refresh_tokens_and_a_reuse_revokes_the_family() {
    let op = op().await;
    let rp = op.public().await;
    let user = op.user("ada").await;
    let t1 = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let rt1 = str_of(&t1, "refresh_token");
    let t2 = tokens_of(refresh(&op.app, &rp, rt1).await).await;
    let rt2 = str_of(&t2, "refresh_token");
    assert_ne!(rt1, rt2, "rotated");
    let claims = verify_id_token(&op.app, &rp, str_of(&t2, "id_token")).await;
    assert_eq!(claims["sub"], user.sub.as_str(), "an ID token with the refresh");
    assert_eq!(userinfo(&op.app, str_of(&t2, "access_token")).await.status(), StatusCode::OK);
    oauth_error(refresh(&op.app, &rp, rt1).await, 400, "invalid_grant").await;
    oauth_error(refresh(&op.app, &rp, rt2).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client() {
    let op = op().await;
    let rp = op.confidential().await;
    let other = op.confidential().await;
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    oauth_error(refresh(&op.app, &other, str_of(&t, "refresh_token")).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn the_refresh_lifetime_counts_from_the_login_and_is_never_extended() {
    let op = op_with(|c| c.tokens.refresh_ttl = latchkey::config::Dur::from_secs(3600)).await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    op.app.clock.advance(Duration::from_secs(40 * 60));
    let t = tokens_of(refresh(&op.app, &rp, str_of(&t, "refresh_token")).await).await;
    op.app.clock.advance(Duration::from_secs(30 * 60));
    oauth_error(refresh(&op.app, &rp, str_of(&t, "refresh_token")).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn without_offline_access_refresh_tokens_die_with_the_browser_session() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let online = tokens_for(&op, &user, &rp, "openid email").await;
    let offline = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let r = user.browser.delete(op.app.url("/api/logout")).header("origin", &op.app.base).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    if let Some(rt) = online["refresh_token"].as_str() {
        oauth_error(refresh(&op.app, &rp, rt).await, 400, "invalid_grant").await;
    }
    tokens_of(refresh(&op.app, &rp, str_of(&offline, "refresh_token")).await).await;
}

#[tokio::test]
async fn a_password_change_ends_the_refresh_tokens() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let r = user
        .browser
        .put(op.app.url("/api/me/password"))
        .header("origin", &op.app.base)
        .json(&json!({"current_password": PASSWORD, "new_password": "quiet-lantern-meadow"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "password change: {}", r.status());
    oauth_error(refresh(&op.app, &rp, str_of(&t, "refresh_token")).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn client_credentials_works_for_a_confidential_client_only() {
    let op = op().await;
    let rp = op.confidential().await;
    let t = tokens_of(token(&op.app, Auth::Default(&rp), &[("grant_type", "client_credentials")]).await).await;
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none(), "an access token only: {t}");
    let claims = claims(str_of(&t, "access_token"));
    assert_eq!(claims["sub"], rp.client_id.as_str());
    assert_eq!(claims["client_id"], rp.client_id.as_str());
    let public = op.public().await;
    let r = token(&op.app, Auth::Default(&public), &[("grant_type", "client_credentials")]).await;
    oauth_error(r, 400, "unauthorized_client").await;
}

#[tokio::test]
async fn unknown_grant_types_and_missing_fields_are_refused() {
    let op = op().await;
    let rp = op.confidential().await;
    let r =
        token(&op.app, Auth::Default(&rp), &[("grant_type", "password"), ("username", "a"), ("password", "b")]).await;
    oauth_error(r, 400, "unsupported_grant_type").await;
    let r = token(&op.app, Auth::Default(&rp), &[("grant_type", "authorization_code")]).await;
    oauth_error(r, 400, "invalid_request").await;
    let r = token(&op.app, Auth::Default(&rp), &[]).await;
    oauth_error(r, 400, "invalid_request").await;
}

// =====================================================================================
// Tokens (rules 12, 13) and UserInfo
// =====================================================================================

#[tokio::test]
async fn the_id_token_is_signed_by_a_jwks_key_and_carries_nonce_at_hash_auth_time_amr_azp() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let authz = Authz::new(&rp, ALL_SCOPES);
    let c = code(&op, &user, &authz).await;
    let t = exchange(&op.app, &rp, &c).await;
    let id_token = str_of(&t, "id_token");
    assert_eq!(jwt_header(id_token)["alg"], "RS256", "RS256 by default");
    let claims = verify_id_token(&op.app, &rp, id_token).await;
    assert_eq!(claims["iss"], issuer(&op.app));
    assert_eq!(claims["sub"], user.sub.as_str(), "sub = the user id as a string");
    assert_eq!(claims["aud"], rp.client_id.as_str());
    assert_eq!(claims["azp"], rp.client_id.as_str());
    assert_eq!(claims["nonce"], c.nonce.as_str());
    assert_eq!(claims["at_hash"], at_hash(str_of(&t, "access_token")));
    assert!(claims["auth_time"].is_i64(), "{claims}");
    assert!(claims["amr"].as_array().is_some_and(|a| !a.is_empty()), "amr: {claims}");
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["email_verified"], false);
    assert_eq!(claims["preferred_username"], "ada");
    assert_eq!(claims["roles"], user.json["roles"], "roles: {claims}");
    let scope = str_of(&t, "scope");
    for s in ALL_SCOPES.split(' ') {
        assert!(scope.split(' ').any(|x| x == s), "scope {s} granted: {scope}");
    }
}

#[tokio::test]
async fn without_a_nonce_the_id_token_has_none() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let c = code(&op, &user, &Authz::new(&rp, "openid").without("nonce")).await;
    let t = exchange(&op.app, &rp, &c).await;
    let claims = verify_id_token(&op.app, &rp, str_of(&t, "id_token")).await;
    assert!(claims.get("nonce").is_none(), "{claims}");
}

#[tokio::test]
async fn a_client_may_ask_for_eddsa_id_tokens() {
    let op = op().await;
    let rp = op.client(json!({"id_token_signed_response_alg": "EdDSA"})).await;
    assert_eq!(rp.json["id_token_signed_response_alg"], "EdDSA");
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, "openid").await;
    assert_eq!(jwt_header(str_of(&t, "id_token"))["alg"], "EdDSA");
    let claims = verify_id_token(&op.app, &rp, str_of(&t, "id_token")).await;
    assert_eq!(claims["sub"], user.sub.as_str());
}

#[tokio::test]
async fn an_access_token_is_an_at_jwt_for_the_client_that_the_account_api_refuses() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, "openid email").await;
    let access = str_of(&t, "access_token");
    assert_eq!(jwt_header(access)["typ"], "at+jwt", "RFC 9068");
    let c = claims(access);
    assert_eq!(c["iss"], issuer(&op.app));
    assert_eq!(c["sub"], user.sub.as_str());
    assert_eq!(c["aud"], rp.client_id.as_str());
    assert_eq!(c["client_id"], rp.client_id.as_str());
    assert!(c["scope"].as_str().is_some_and(|s| s.contains("email")), "{c}");
    assert!(c["jti"].is_string() && c["exp"].is_number() && c["iat"].is_number(), "{c}");
    let r = op.app.get_bearer("/api/me", access).await;
    assert_error(r, 401, "invalid_token").await;
    let r = op.app.get_bearer("/api/me/sessions", access).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_access_token_ends_after_its_lifetime() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, "openid").await;
    let ttl = t["expires_in"].as_u64().unwrap();
    assert_eq!(ttl, op.app.state.ctx.config.tokens.access_ttl.0.as_secs(), "expires_in = tokens.access_ttl");
    op.app.clock.advance(Duration::from_secs(ttl + 120));
    assert_userinfo_refuses(&op.app, str_of(&t, "access_token")).await;
}

#[tokio::test]
async fn userinfo_answers_get_post_with_a_header_and_post_with_a_form_body() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, "openid email profile").await;
    let access = str_of(&t, "access_token");
    let get = body_of(userinfo(&op.app, access).await, 200).await;
    assert_eq!(get["sub"], user.sub.as_str());
    let r = new_client().post(op.app.url("/oauth2/userinfo")).bearer_auth(access).send().await.unwrap();
    assert_eq!(body_of(r, 200).await, get, "POST with the header");
    let r = new_client().post(op.app.url("/oauth2/userinfo")).form(&[("access_token", access)]).send().await.unwrap();
    assert_eq!(body_of(r, 200).await, get, "POST with the token in the form body");
    assert_userinfo_refuses(&op.app, "not-a-token").await;
    let r = new_client().get(op.app.url("/oauth2/userinfo")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // latchkey's own access tokens are not for the UserInfo endpoint.
    let own = op.app.tokens("ada", PASSWORD).await;
    assert_userinfo_refuses(&op.app, str_of(&own, "access_token")).await;
}

#[tokio::test]
async fn userinfo_claims_follow_the_scopes() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, "openid").await;
    let info = body_of(userinfo(&op.app, str_of(&t, "access_token")).await, 200).await;
    assert_eq!(info, json!({"sub": user.sub}), "openid alone: sub only");
    let claims = verify_id_token(&op.app, &rp, str_of(&t, "id_token")).await;
    for c in ["email", "email_verified", "preferred_username", "roles"] {
        assert!(claims.get(c).is_none(), "{c} without its scope in the ID token: {claims}");
    }
    let t = tokens_for(&op, &user, &rp, "openid email").await;
    let info = body_of(userinfo(&op.app, str_of(&t, "access_token")).await, 200).await;
    assert_eq!(info["email"], "ada@example.com");
    assert_eq!(info["email_verified"], false);
    assert!(info.get("preferred_username").is_none() && info.get("roles").is_none(), "{info}");
    let t = tokens_for(&op, &user, &rp, "openid profile roles").await;
    let info = body_of(userinfo(&op.app, str_of(&t, "access_token")).await, 200).await;
    assert_eq!(info["preferred_username"], "ada");
    assert!(info["roles"].is_array(), "{info}");
    assert!(info.get("email").is_none(), "{info}");
}

#[tokio::test]
async fn a_client_gets_only_the_scopes_it_is_allowed() {
    let op = op().await;
    let rp = op.client(json!({"scopes": ["openid", "email"]})).await;
    let user = op.user("ada").await;
    let authz = Authz::new(&rp, "openid email profile");
    let r = authorize(&op.app, &user.browser, &authz).await;
    // Refused with invalid_scope, or granted without the scope that is not allowed.
    let granted = match next(&op.app, &authz, &r) {
        Next::Back(p) if p.contains_key("error") => {
            assert_eq!(p.get("error").map(String::as_str), Some("invalid_scope"), "{p:?}");
            return;
        }
        Next::Back(p) => exchange(&op.app, &rp, &code_of(&op.app, &authz, &p)).await,
        Next::Consent(id) | Next::Login(id) => {
            let info = body_of(request_info(&op.app, &user.browser, &id).await, 200).await;
            assert!(!info["scopes"].as_array().unwrap().contains(&json!("profile")), "{info}");
            return;
        }
    };
    assert!(!str_of(&granted, "scope").contains("profile"), "{granted}");
}

// =====================================================================================
// Revocation and introspection (rule 15)
// =====================================================================================

#[tokio::test]
async fn revoking_an_unknown_token_is_200() {
    let op = op().await;
    let rp = op.confidential().await;
    let r = form_post(&op.app, "/oauth2/revoke", Auth::Default(&rp), &[("token", "no-such-token")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = form_post(
        &op.app,
        "/oauth2/revoke",
        Auth::Default(&rp),
        &[("token", "no-such-token"), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn introspection_needs_a_confidential_client_and_shows_revocation() {
    let op = op().await;
    let rp = op.confidential().await;
    let public = op.public().await;
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let access = str_of(&t, "access_token");
    let r = form_post(&op.app, "/oauth2/introspect", Auth::Nothing, &[("token", access)]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "without client authentication");
    let r = form_post(&op.app, "/oauth2/introspect", Auth::Default(&public), &[("token", access)]).await;
    oauth_error(r, 401, "invalid_client").await;
    let r = form_post(&op.app, "/oauth2/introspect", Auth::Default(&rp), &[("token", access)]).await;
    let active = body_of(r, 200).await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["client_id"], rp.client_id.as_str());
    assert_eq!(active["sub"], user.sub.as_str());
    assert_eq!(active["username"], "ada");
    assert_eq!(active["iss"], issuer(&op.app));
    assert!(active["exp"].is_number() && active["iat"].is_number() && active["scope"].is_string(), "{active}");
    let r = form_post(&op.app, "/oauth2/introspect", Auth::Default(&rp), &[("token", "garbage")]).await;
    assert_eq!(body_of(r, 200).await, json!({"active": false}));
    let r = form_post(&op.app, "/oauth2/revoke", Auth::Default(&rp), &[("token", access)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = form_post(&op.app, "/oauth2/introspect", Auth::Default(&rp), &[("token", access)]).await;
    assert_eq!(body_of(r, 200).await, json!({"active": false}), "after revoking the access token");
    assert_userinfo_refuses(&op.app, access).await;
    oauth_error(refresh(&op.app, &rp, str_of(&t, "refresh_token")).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_access_token_and_another_client_cannot_revoke_it() {
    let op = op().await;
    let rp = op.confidential().await;
    let other = op.confidential().await;
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let rt = str_of(&t, "refresh_token");
    let r = form_post(&op.app, "/oauth2/revoke", Auth::Default(&other), &[("token", rt)]).await;
    assert_eq!(r.status(), StatusCode::OK, "RFC 7009: 200 without saying");
    assert_eq!(userinfo(&op.app, str_of(&t, "access_token")).await.status(), StatusCode::OK, "not another client's");
    let r = form_post(&op.app, "/oauth2/revoke", Auth::Default(&rp), &[("token", rt)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_userinfo_refuses(&op.app, str_of(&t, "access_token")).await;
    oauth_error(refresh(&op.app, &rp, rt).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn deleting_a_client_ends_its_tokens() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let r = op
        .admin
        .delete(op.app.url(&format!("/api/oauth2/clients/{}", rp.client_id)))
        .header("origin", &op.app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = refresh(&op.app, &rp, str_of(&t, "refresh_token")).await;
    assert!(matches!(r.status().as_u16(), 400 | 401), "refresh after the client is gone: {}", r.status());
    let authz = Authz::new(&rp, "openid");
    assert_page(authorize(&op.app, &user.browser, &authz).await, 400).await;
}

// =====================================================================================
// Logout (RP-initiated logout 1.0)
// =====================================================================================

#[tokio::test]
async fn logout_with_an_id_token_hint_ends_the_session_and_returns_with_state() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, "openid").await;
    let mut url = Url::parse(&op.app.url("/oauth2/logout")).unwrap();
    url.query_pairs_mut()
        .append_pair("id_token_hint", str_of(&t, "id_token"))
        .append_pair("post_logout_redirect_uri", BYE)
        .append_pair("state", "s-123");
    let r = user.browser.get(url).send().await.unwrap();
    assert!(matches!(r.status().as_u16(), 302 | 303), "{}", r.status());
    let to = location(&op.app, &r).unwrap();
    assert!(to.as_str().starts_with(BYE), "{to}");
    assert_eq!(params(&to).get("state").map(String::as_str), Some("s-123"));
    assert_eq!(user.browser.get(op.app.url("/api/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_with_an_unregistered_post_logout_redirect_uri_is_a_400_page() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let t = tokens_for(&op, &user, &rp, "openid").await;
    for uri in ["https://evil.example/bye", "http://127.0.0.1:9/bye/x"] {
        let mut url = Url::parse(&op.app.url("/oauth2/logout")).unwrap();
        url.query_pairs_mut()
            .append_pair("id_token_hint", str_of(&t, "id_token"))
            .append_pair("post_logout_redirect_uri", uri)
            .append_pair("state", "s");
        assert_page(user.browser.get(url).send().await.unwrap(), 400).await;
    }
    assert_eq!(user.browser.get(op.app.url("/api/me")).send().await.unwrap().status(), StatusCode::OK, "still in");
}

#[tokio::test]
async fn logout_without_an_id_token_hint_asks_for_confirmation() {
    let op = op().await;
    let user = op.user("ada").await;
    let body = assert_page(user.browser.get(op.app.url("/oauth2/logout")).send().await.unwrap(), 200).await;
    assert!(body.contains("<form") && body.contains("confirm"), "a confirmation form:\n{body}");
    assert_eq!(user.browser.get(op.app.url("/api/me")).send().await.unwrap().status(), StatusCode::OK, "not yet");
    let r = user
        .browser
        .post(op.app.url("/oauth2/logout"))
        .header("origin", &op.app.base)
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection() || r.status().is_success(), "{}", r.status());
    assert_eq!(user.browser.get(op.app.url("/api/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

// =====================================================================================
// Cookies, CSRF and CORS at the OAuth endpoints (rules 8, 9)
// =====================================================================================

#[tokio::test]
async fn token_and_userinfo_ignore_cookies_and_the_origin_check() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    let c = code(&op, &user, &Authz::new(&rp, ALL_SCOPES)).await;
    // From the logged-in browser (its session cookie goes along) with a foreign Origin.
    let r = user
        .browser
        .post(op.app.url("/oauth2/token"))
        .header("origin", EVIL)
        .header("sec-fetch-site", "cross-site")
        .header("authorization", basic(&rp.client_id, rp.secret.as_deref().unwrap()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", c.code.as_str()),
            ("redirect_uri", c.redirect_uri.as_str()),
            ("code_verifier", c.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let t = tokens_of(r).await;
    let access = str_of(&t, "access_token");
    let r = user
        .browser
        .post(op.app.url("/oauth2/userinfo"))
        .header("origin", EVIL)
        .header("sec-fetch-site", "cross-site")
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(body_of(r, 200).await["sub"], user.sub.as_str());
    // A session cookie is no credential at UserInfo.
    let r = user.browser.get(op.app.url("/oauth2/userinfo")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a cookie instead of a token");
    let r = user
        .browser
        .post(op.app.url("/oauth2/revoke"))
        .header("origin", EVIL)
        .header("authorization", basic(&rp.client_id, rp.secret.as_deref().unwrap()))
        .form(&[("token", str_of(&t, "refresh_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "revoke from a foreign origin");
    // The session cookie did not authenticate a client either.
    let r = user
        .browser
        .post(op.app.url("/oauth2/introspect"))
        .header("origin", &op.app.base)
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "introspection with a cookie only");
}

#[tokio::test]
async fn cors_at_the_token_endpoint_allows_a_registered_redirect_origin_without_credentials() {
    let op = op().await;
    let rp = op.client(json!({"public": true, "redirect_uris": [format!("{SPA_ORIGIN}/callback")]})).await;
    let preflight = new_client()
        .request(Method::OPTIONS, op.app.url("/oauth2/token"))
        .header("origin", SPA_ORIGIN)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "preflight {}", preflight.status());
    assert_eq!(header(&preflight, "access-control-allow-origin").as_deref(), Some(SPA_ORIGIN));
    assert_ne!(header(&preflight, "access-control-allow-credentials").as_deref(), Some("true"), "no credentials");
    let r = new_client()
        .post(op.app.url("/oauth2/token"))
        .header("origin", SPA_ORIGIN)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", rp.client_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some(SPA_ORIGIN), "on errors too");
    assert_ne!(header(&r, "access-control-allow-credentials").as_deref(), Some("true"));
    let r = new_client()
        .request(Method::OPTIONS, op.app.url("/oauth2/token"))
        .header("origin", EVIL)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(header(&r, "access-control-allow-origin").is_none(), "an unregistered origin");
    let r = new_client()
        .request(Method::OPTIONS, op.app.url("/oauth2/userinfo"))
        .header("origin", SPA_ORIGIN)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some(SPA_ORIGIN), "userinfo");
    // No CORS at the authorization endpoint (rule 8).
    let r = new_client().get(Authz::new(&rp, "openid").url(&op.app)).header("origin", SPA_ORIGIN).send().await.unwrap();
    assert!(header(&r, "access-control-allow-origin").is_none(), "CORS at authorize");
}

#[tokio::test]
async fn token_answers_are_no_store_for_every_grant() {
    let op = op().await;
    let rp = op.confidential().await;
    let user = op.user("ada").await;
    // tokens_of asserts Cache-Control: no-store.
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    tokens_of(refresh(&op.app, &rp, str_of(&t, "refresh_token")).await).await;
    tokens_of(token(&op.app, Auth::Default(&rp), &[("grant_type", "client_credentials")]).await).await;
    let r = refresh(&op.app, &rp, "nope").await;
    let cache = header(&r, "cache-control").unwrap_or_default();
    assert!(cache.contains("no-store"), "on an error as well: {cache:?}");
}
