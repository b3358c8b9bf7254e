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
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
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
        from_web_app(&self.app, self.admin.post(self.app.url("/api/oauth2/clients")).json(&body)).await
    }

    /// `method path` (no body) as the admin, from latchkey's own origin.
    async fn as_admin(&self, method: Method, path: &str) -> Response {
        from_web_app(&self.app, self.admin.request(method, self.app.url(path))).await
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
        if me_status(&self.app, &browser).await != StatusCode::OK {
            assert_eq!(self.app.login_as(&browser, name, PASSWORD).await.status(), StatusCode::OK);
        }
        let sub = json["id"].as_i64().unwrap_or_else(|| panic!("no id in {json}")).to_string();
        User { browser, name: name.into(), sub, json }
    }

    /// `POST /api/login` again in `user`'s browser (a fresh login: a new `auth_time`).
    pub async fn relogin(&self, user: &User) {
        let login = json!({"username": user.name, "password": PASSWORD});
        let r = from_web_app(&self.app, user.browser.post(self.app.url("/api/login")).json(&login)).await;
        assert_eq!(r.status(), StatusCode::OK, "login of {}", user.name);
    }
}

/// Where most tests start: latchkey, one client and `ada` logged in.
struct Fixture {
    op: Op,
    rp: Rp,
    user: User,
}

impl Fixture {
    /// With a confidential client.
    async fn new() -> Fixture {
        Fixture::with_client(json!({})).await
    }

    async fn public() -> Fixture {
        Fixture::with_client(json!({"public": true})).await
    }

    /// With a client registered with `body` over the defaults of [`Op::client`].
    async fn with_client(body: Value) -> Fixture {
        let op = op().await;
        let rp = op.client(body).await;
        let user = op.user("ada").await;
        Fixture { op, rp, user }
    }
}

/// Sends `req` with latchkey's own `Origin`, as the web app's pages do: the CSRF check wants it.
async fn from_web_app(app: &TestApp, req: RequestBuilder) -> Response {
    req.header("origin", &app.base).send().await.expect("a request from the web app")
}

/// The status of `GET /api/me` in `browser`: whether its session is alive.
async fn me_status(app: &TestApp, browser: &Client) -> StatusCode {
    browser.get(app.url("/api/me")).send().await.unwrap().status()
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

impl Next {
    /// The parameters back at the RP; `case` names the situation when the browser went elsewhere.
    fn back(self, case: &str) -> HashMap<String, String> {
        match self {
            Next::Back(p) => p,
            other => panic!("{case}: {other:?}"),
        }
    }

    /// The request id of the login page.
    fn login(self, case: &str) -> String {
        match self {
            Next::Login(id) => id,
            other => panic!("{case}: {other:?}"),
        }
    }

    /// The request id of the consent page.
    fn consent(self, case: &str) -> String {
        match self {
            Next::Consent(id) => id,
            other => panic!("{case}: {other:?}"),
        }
    }
}

/// `GET /oauth2/authorize?…` in `browser`, and where it sent the browser.
async fn authorize_next(app: &TestApp, browser: &Client, authz: &Authz) -> Next {
    next(app, authz, &authorize(app, browser, authz).await)
}

/// The parameters of an error sent back to the RP: `error`, `state` and `iss`, and no code.
fn assert_error_params(app: &TestApp, authz: &Authz, p: &HashMap<String, String>, error: &str) {
    assert_eq!(p.get("error").map(String::as_str), Some(error), "error in {p:?}");
    assert_eq!(p.get("state"), Some(&authz.state), "state in {p:?}");
    assert_eq!(p.get("iss"), Some(&issuer(app)), "iss in {p:?} (RFC 9207)");
    assert!(!p.contains_key("code"), "an error with a code: {p:?}");
}

/// An error redirect back to the RP with `error`, `state` and `iss` (and no code).
pub fn assert_error_redirect(app: &TestApp, authz: &Authz, r: &Response, error: &str) -> HashMap<String, String> {
    let p = next(app, authz, r).back(&format!("expected an error redirect with {error}"));
    assert_error_params(app, authz, &p, error);
    p
}

/// An authorization request that the RP gets back refused with `error`.
async fn assert_refused(app: &TestApp, browser: &Client, authz: &Authz, error: &str) {
    let r = authorize(app, browser, authz).await;
    assert_error_redirect(app, authz, &r, error);
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

/// An authorization request refused on latchkey's own error page, never sent to the RP.
async fn assert_error_page(app: &TestApp, browser: &Client, authz: &Authz) -> String {
    assert_page(authorize(app, browser, authz).await, 400).await
}

/// `GET /api/oauth2/requests/{id}` in `browser`.
pub async fn request_info(app: &TestApp, browser: &Client, id: &str) -> Response {
    browser.get(app.url(&format!("/api/oauth2/requests/{id}"))).send().await.unwrap()
}

/// `POST /api/oauth2/requests/{id}/{accept|deny}` from latchkey's origin.
pub async fn decide(app: &TestApp, browser: &Client, id: &str, verb: &str) -> Response {
    from_web_app(app, browser.post(app.url(&format!("/api/oauth2/requests/{id}/{verb}"))).json(&json!({}))).await
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

impl Code {
    /// The token request that redeems it (`grant_type=authorization_code`).
    fn form(&self) -> [(&str, &str); 4] {
        [
            ("grant_type", "authorization_code"),
            ("code", &self.code),
            ("redirect_uri", &self.redirect_uri),
            ("code_verifier", &self.verifier),
        ]
    }
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
    (accept(app, &user.browser, &id, authz).await, asked)
}

/// Accepts request `id` in `browser`: the code the RP gets back.
async fn accept(app: &TestApp, browser: &Client, id: &str, authz: &Authz) -> Code {
    let p = redirect_to(decide(app, browser, id, "accept").await, authz).await;
    code_of(app, authz, &p)
}

/// An authorization request that comes straight back with a code, no page shown.
async fn code_at_once(app: &TestApp, browser: &Client, authz: &Authz, case: &str) -> Code {
    code_of(app, authz, &authorize_next(app, browser, authz).await.back(case))
}

/// An authorization request that the web app's login page must take: the request id and
/// what `GET /api/oauth2/requests/{id}` says of it.
async fn login_page(app: &TestApp, browser: &Client, authz: &Authz, case: &str) -> (String, Value) {
    let id = authorize_next(app, browser, authz).await.login(case);
    let info = body_of(request_info(app, browser, &id).await, 200).await;
    assert_eq!(info["login_required"], true, "{info}");
    (id, info)
}

/// Logs `user` in again, accepts request `id` and redeems the code: the ID token's claims.
async fn claims_after_relogin(op: &Op, user: &User, rp: &Rp, authz: &Authz, id: &str) -> Value {
    op.relogin(user).await;
    let c = accept(&op.app, &user.browser, id, authz).await;
    id_claims(&op.app, rp, &exchange(&op.app, rp, &c).await).await
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

impl Rp {
    /// The `Authorization` header of `client_secret_basic`.
    fn basic(&self) -> String {
        basic(&self.client_id, self.secret.as_deref().expect("client_secret_basic needs a secret"))
    }
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
    token(app, auth, &code.form()).await
}

/// A code that the token endpoint must refuse as `invalid_grant`.
async fn assert_redeem_refused(app: &TestApp, auth: Auth<'_>, code: &Code) {
    oauth_error(redeem(app, auth, code).await, 400, "invalid_grant").await;
}

async fn client_credentials(app: &TestApp, auth: Auth<'_>) -> Response {
    token(app, auth, &[("grant_type", "client_credentials")]).await
}

async fn revoke(app: &TestApp, auth: Auth<'_>, form: &[(&str, &str)]) -> Response {
    form_post(app, "/oauth2/revoke", auth, form).await
}

async fn introspect(app: &TestApp, auth: Auth<'_>, token: &str) -> Response {
    form_post(app, "/oauth2/introspect", auth, &[("token", token)]).await
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

/// A refresh token that the token endpoint must refuse as `invalid_grant`.
async fn assert_refresh_refused(app: &TestApp, rp: &Rp, refresh_token: &str) {
    oauth_error(refresh(app, rp, refresh_token).await, 400, "invalid_grant").await;
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

/// UserInfo's claims (asserting 200) for the access token of token answer `t`.
async fn userinfo_of(app: &TestApp, t: &Value) -> Value {
    body_of(userinfo(app, str_of(t, "access_token")).await, 200).await
}

/// The verified claims of the ID token of token answer `t`.
async fn id_claims(app: &TestApp, rp: &Rp, t: &Value) -> Value {
    verify_id_token(app, rp, str_of(t, "id_token")).await
}

/// Both tokens of answer `t` are dead: UserInfo refuses the access token, a refresh fails.
async fn assert_tokens_ended(app: &TestApp, rp: &Rp, t: &Value) {
    assert_userinfo_refuses(app, str_of(t, "access_token")).await;
    assert_refresh_refused(app, rp, str_of(t, "refresh_token")).await;
}

/// `/oauth2/logout` as an RP sends the browser there after its own logout.
fn logout_url(app: &TestApp, id_token: &str, post_logout_redirect_uri: &str, state: &str) -> Url {
    let mut url = Url::parse(&app.url("/oauth2/logout")).unwrap();
    url.query_pairs_mut()
        .append_pair("id_token_hint", id_token)
        .append_pair("post_logout_redirect_uri", post_logout_redirect_uri)
        .append_pair("state", state);
    url
}

/// `req` as a page of another site sends it.
fn cross_site(req: RequestBuilder, origin: &str) -> RequestBuilder {
    req.header("origin", origin).header("sec-fetch-site", "cross-site")
}

/// A CORS preflight from `origin` for `method` at `path`, asking for `headers` when given.
async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str, headers: Option<&str>) -> Response {
    let mut req = new_client()
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method);
    if let Some(h) = headers {
        req = req.header("access-control-request-headers", h);
    }
    req.send().await.unwrap()
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
    let r = op.as_admin(Method::POST, &format!("/api/oauth2/clients/{}/secret", old.client_id)).await;
    let body = body_of(r, 200).await;
    assert_eq!(body["client_id"], old.client_id.as_str());
    let new = Rp { secret: Some(str_of(&body, "client_secret").to_string()), ..old.clone() };
    assert_ne!(new.secret, old.secret);
    oauth_error(client_credentials(&op.app, Auth::Default(&old)).await, 401, "invalid_client").await;
    tokens_of(client_credentials(&op.app, Auth::Default(&new)).await).await;
    let public = op.public().await;
    let r = op.as_admin(Method::POST, &format!("/api/oauth2/clients/{}/secret", public.client_id)).await;
    assert_error(r, 409, "public_client").await;
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
    let mine = json!({"name": "Mine", "redirect_uris": [CALLBACK]});
    let r = from_web_app(&op.app, user.browser.post(op.app.url("/api/oauth2/clients")).json(&mine)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = new_client().get(op.app.url("/api/oauth2/clients")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

// =====================================================================================
// Authorization endpoint (rules 1, 2, 3, 5, 6; OIDF Basic OP)
// =====================================================================================

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect() {
    let Fixture { op, rp, user } = Fixture::new().await;
    for uri in ["http://127.0.0.1:9/callback/x", "http://127.0.0.1:10/callback", "https://evil.example/callback"] {
        let authz = Authz::new(&rp, "openid").set("redirect_uri", uri);
        let body = assert_error_page(&op.app, &user.browser, &authz).await;
        assert!(!body.contains("code="), "{uri}: a code on the error page");
    }
    assert_error_page(&op.app, &user.browser, &Authz::new(&rp, "openid").without("redirect_uri")).await;
}

#[tokio::test]
async fn an_unknown_client_gets_an_error_page_and_no_redirect() {
    let Fixture { op, rp, user } = Fixture::new().await;
    assert_error_page(&op.app, &user.browser, &Authz::new(&rp, "openid").set("client_id", "no-such-client")).await;
    assert_error_page(&op.app, &user.browser, &Authz::new(&rp, "openid").without("client_id")).await;
}

#[tokio::test]
async fn a_public_loopback_client_matches_any_port_and_a_confidential_one_does_not() {
    let op = op().await;
    let public = op.public().await;
    let confidential = op.confidential().await;
    let user = op.user("ada").await;
    let any_port = "http://127.0.0.1:54321/callback";
    let c = code(&op, &user, &Authz::new(&public, "openid").set("redirect_uri", any_port)).await;
    assert!(exchange(&op.app, &public, &c).await["id_token"].is_string());
    assert_error_page(&op.app, &user.browser, &Authz::new(&confidential, "openid").set("redirect_uri", any_port)).await;
    let other_path = Authz::new(&public, "openid").set("redirect_uri", "http://127.0.0.1:54321/elsewhere");
    assert_error_page(&op.app, &user.browser, &other_path).await;
}

#[tokio::test]
async fn without_a_code_challenge_the_rp_gets_invalid_request_with_state_and_iss() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let authz = Authz::new(&rp, "openid").without("code_challenge").without("code_challenge_method");
    assert_refused(&op.app, &user.browser, &authz, "invalid_request").await;
    // Without a session as well: the check comes before the login.
    assert_refused(&op.app, &new_client(), &authz, "invalid_request").await;
}

#[tokio::test]
async fn code_challenge_method_plain_is_invalid_request() {
    let Fixture { op, rp, user } = Fixture::public().await;
    let authz = Authz::new(&rp, "openid");
    let verifier = authz.verifier.clone();
    let authz = authz.set("code_challenge", &verifier).set("code_challenge_method", "plain");
    assert_refused(&op.app, &user.browser, &authz, "invalid_request").await;
}

#[tokio::test]
async fn request_objects_are_not_supported() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let authz = Authz::new(&rp, "openid").set("request", "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.");
    assert_refused(&op.app, &user.browser, &authz, "request_not_supported").await;
    let authz = Authz::new(&rp, "openid").set("request_uri", "https://rp.example/request.jwt");
    assert_refused(&op.app, &user.browser, &authz, "request_uri_not_supported").await;
}

#[tokio::test]
async fn a_missing_or_token_response_type_is_refused_with_state_and_iss() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let authz = Authz::new(&rp, "openid").without("response_type");
    let r = authorize(&op.app, &user.browser, &authz).await;
    let p = next(&op.app, &authz, &r).back("response_type missing");
    let error = p.get("error").map(String::as_str);
    assert!(matches!(error, Some("unsupported_response_type" | "invalid_request")), "{p:?}");
    assert_error_redirect(&op.app, &authz, &r, error.unwrap());
    for rt in ["token", "id_token", "code id_token", "code token"] {
        let authz = Authz::new(&rp, "openid").set("response_type", rt);
        assert_refused(&op.app, &user.browser, &authz, "unsupported_response_type").await;
    }
    let authz = Authz::new(&rp, "openid").set("response_mode", "fragment");
    let r = authorize(&op.app, &user.browser, &authz).await;
    let to = header(&r, "location").unwrap_or_default();
    assert!(!to.contains('#'), "only the query response mode: {to}");
}

#[tokio::test]
async fn post_authorize_works_like_get_and_skips_the_origin_check() {
    let Fixture { op, rp, user } = Fixture::with_client(json!({"skip_consent": true})).await;
    let authz = Authz::new(&rp, "openid email");
    // A form post from the RP's page: a foreign Origin, cross-site.
    let form = user.browser.post(op.app.url("/oauth2/authorize")).form(&authz.params);
    let r = cross_site(form, "http://127.0.0.1:9").send().await.unwrap();
    let p = next(&op.app, &authz, &r).back("POST authorize of a logged-in user at a skip_consent client");
    let t = exchange(&op.app, &rp, &code_of(&op.app, &authz, &p)).await;
    let claims = id_claims(&op.app, &rp, &t).await;
    assert_eq!(claims["sub"], user.sub.as_str());
    assert_eq!(claims["nonce"], authz.nonce.as_str());
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let authz = Authz::new(&rp, "openid")
        .set("extra", "foobar")
        .set("display", "page")
        .set("ui_locales", "se")
        .set("claims_locales", "se")
        .set("acr_values", "1 2");
    let c = code(&op, &user, &authz).await;
    id_claims(&op.app, &rp, &exchange(&op.app, &rp, &c).await).await;
}

#[tokio::test]
async fn scopes_in_any_order_give_their_claims() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let info = userinfo_of(&op.app, &tokens_for(&op, &user, &rp, "email profile openid").await).await;
    assert_eq!(info["email"], "ada@example.com");
    assert_eq!(info["preferred_username"], "ada");
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let op = op().await;
    let rp = op.confidential().await;
    assert_refused(&op.app, &new_client(), &Authz::new(&rp, "openid").set("prompt", "none"), "login_required").await;
}

#[tokio::test]
async fn prompt_none_with_a_session_but_no_consent_is_consent_required() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let authz = Authz::new(&rp, "openid email").set("prompt", "none");
    assert_refused(&op.app, &user.browser, &authz, "consent_required").await;
    // Once consented, prompt=none answers with a code at once (OIDF prompt-none-logged-in).
    code(&op, &user, &Authz::new(&rp, "openid email")).await;
    let authz = Authz::new(&rp, "openid email").set("prompt", "none");
    code_at_once(&op.app, &user.browser, &authz, "prompt=none after consent").await;
}

#[tokio::test]
async fn prompt_login_with_a_session_goes_to_the_login_page_and_needs_a_new_login() {
    let Fixture { op, rp, user } = Fixture::with_client(json!({"skip_consent": true})).await;
    let first = id_claims(&op.app, &rp, &tokens_for(&op, &user, &rp, "openid").await).await;
    op.app.clock.advance(Duration::from_secs(5));
    let authz = Authz::new(&rp, "openid").set("prompt", "login");
    let (id, info) = login_page(&op.app, &user.browser, &authz, "prompt=login with a session").await;
    assert_eq!(info["client"]["client_id"], rp.client_id.as_str());
    assert_eq!(info["client"]["name"], "Notes");
    let body = body_of(decide(&op.app, &user.browser, &id, "accept").await, 401).await;
    assert_eq!(body["error"], "login_required", "accept before logging in again: {body}");
    let claims = claims_after_relogin(&op, &user, &rp, &authz, &id).await;
    assert!(
        claims["auth_time"].as_i64().unwrap() >= first["auth_time"].as_i64().unwrap() + 5,
        "a new auth_time: {} then {}",
        first["auth_time"],
        claims["auth_time"]
    );
}

#[tokio::test]
async fn max_age_exceeded_asks_for_a_login_and_auth_time_tells_when_it_was() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let logged_in_at = op.app.clock.now();
    // max_age=10000: the session is recent enough (OIDF max-age-10000).
    let (c, asked) = code_with(&op, &user, &Authz::new(&rp, "openid").set("max_age", "10000")).await;
    assert_eq!(asked, ["consent"]);
    let claims = id_claims(&op.app, &rp, &exchange(&op.app, &rp, &c).await).await;
    let auth_time = claims["auth_time"].as_i64().expect("auth_time with max_age");
    assert!((auth_time - logged_in_at).abs() <= 2, "auth_time {auth_time}, logged in at {logged_in_at}");
    op.app.clock.advance(Duration::from_secs(10));
    let authz = Authz::new(&rp, "openid").set("max_age", "1");
    let (id, _) = login_page(&op.app, &user.browser, &authz, "max_age=1, logged in 10 s ago").await;
    let claims = claims_after_relogin(&op, &user, &rp, &authz, &id).await;
    assert!(claims["auth_time"].as_i64().unwrap() >= auth_time + 10, "a newer auth_time: {claims}");
    // prompt=none with max_age exceeded cannot log in: login_required.
    op.app.clock.advance(Duration::from_secs(10));
    let authz = Authz::new(&rp, "openid").set("max_age", "1").set("prompt", "none");
    assert_refused(&op.app, &user.browser, &authz, "login_required").await;
}

#[tokio::test]
async fn an_id_token_hint_of_the_user_passes_with_prompt_none_and_of_another_user_does_not() {
    let Fixture { op, rp, user: ada } = Fixture::new().await;
    let bob = op.user("bob").await;
    let ada_t = tokens_for(&op, &ada, &rp, "openid").await;
    let bob_t = tokens_for(&op, &bob, &rp, "openid").await;
    let authz = Authz::new(&rp, "openid").set("prompt", "none").set("id_token_hint", str_of(&ada_t, "id_token"));
    code_at_once(&op.app, &ada.browser, &authz, "prompt=none with the user's own id_token_hint").await;
    let authz = Authz::new(&rp, "openid").set("prompt", "none").set("id_token_hint", str_of(&bob_t, "id_token"));
    assert_refused(&op.app, &ada.browser, &authz, "login_required").await;
}

#[tokio::test]
async fn the_login_hint_reaches_the_web_app() {
    let op = op().await;
    let rp = op.confidential().await;
    let authz = Authz::new(&rp, "openid").set("login_hint", "ada");
    let (_, info) = login_page(&op.app, &new_client(), &authz, "no session").await;
    assert_eq!(info["login_hint"], "ada");
    assert_eq!(info["consent_required"], true);
    assert_eq!(info["scopes"], json!(["openid"]));
}

#[tokio::test]
async fn requests_are_unknown_after_ten_minutes_and_accept_needs_a_session() {
    let op = op().await;
    let rp = op.confidential().await;
    let browser = new_client();
    let id = authorize_next(&op.app, &browser, &Authz::new(&rp, "openid")).await.login("no session");
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
    let Fixture { op, rp, user } = Fixture::new().await;
    let authz = Authz::new(&rp, "openid email");
    let id = authorize_next(&op.app, &user.browser, &authz).await.consent("first authorization of a logged-in user");
    let p = redirect_to(decide(&op.app, &user.browser, &id, "deny").await, &authz).await;
    assert_error_params(&op.app, &authz, &p, "access_denied");
    // Used up: accepting it afterwards finds nothing.
    assert_eq!(decide(&op.app, &user.browser, &id, "accept").await.status(), StatusCode::NOT_FOUND);
}

// =====================================================================================
// Consent (rule 7)
// =====================================================================================

/// `GET /api/me/grants` in `user`'s browser.
async fn grants_of(app: &TestApp, user: &User) -> Value {
    body_of(user.browser.get(app.url("/api/me/grants")).send().await.unwrap(), 200).await
}

#[tokio::test]
async fn consent_is_remembered_for_the_same_scopes_and_asked_again_for_a_new_one() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let (consent, none): (&[&str], &[&str]) = (&["consent"], &[]);
    for (authz, pages, case) in [
        (Authz::new(&rp, "openid email"), consent, "the first time"),
        (Authz::new(&rp, "openid email"), none, "the same scopes again"),
        (Authz::new(&rp, "openid"), none, "fewer scopes"),
        (Authz::new(&rp, "openid email profile"), consent, "a new scope"),
        (Authz::new(&rp, "openid email").set("prompt", "consent"), consent, "prompt=consent"),
    ] {
        let (_, asked) = code_with(&op, &user, &authz).await;
        assert_eq!(asked, pages, "{case}");
    }
    let grants = grants_of(&op.app, &user).await;
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
    let Fixture { op, rp, user } = Fixture::new().await;
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let id = grants_of(&op.app, &user).await["grants"][0]["id"].clone();
    let id = id.as_str().map(str::to_string).unwrap_or_else(|| id.to_string());
    let r = from_web_app(&op.app, user.browser.delete(op.app.url(&format!("/api/me/grants/{id}")))).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_refresh_refused(&op.app, &rp, str_of(&t, "refresh_token")).await;
    let (_, asked) = code_with(&op, &user, &Authz::new(&rp, "openid")).await;
    assert_eq!(asked, ["consent"]);
}

#[tokio::test]
async fn a_skip_consent_client_never_asks() {
    let Fixture { op, rp, user } = Fixture::with_client(json!({"skip_consent": true})).await;
    assert_eq!(rp.json["skip_consent"], true);
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
    let Fixture { op, rp, user } = Fixture::new().await;
    let mut c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    c.verifier = latchkey::crypto::token::new_token();
    assert_redeem_refused(&op.app, Auth::Default(&rp), &c).await;
    // Without a verifier at all.
    let without_verifier = &c.form()[..3];
    let body = body_of(token(&op.app, Auth::Default(&rp), without_verifier).await, 400).await;
    assert!(matches!(body["error"].as_str(), Some("invalid_grant" | "invalid_request")), "{body}");
}

#[tokio::test]
async fn a_reused_code_is_invalid_grant_and_revokes_what_it_issued() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let c = code(&op, &user, &Authz::new(&rp, ALL_SCOPES)).await;
    let t = exchange(&op.app, &rp, &c).await;
    assert_eq!(userinfo(&op.app, str_of(&t, "access_token")).await.status(), StatusCode::OK);
    assert_redeem_refused(&op.app, Auth::Default(&rp), &c).await;
    assert_tokens_ended(&op.app, &rp, &t).await;
}

#[tokio::test]
async fn a_code_older_than_60_seconds_is_invalid_grant() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    op.app.clock.advance(Duration::from_secs(61));
    assert_redeem_refused(&op.app, Auth::Default(&rp), &c).await;
    // 50 s is still fine.
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    op.app.clock.advance(Duration::from_secs(50));
    exchange(&op.app, &rp, &c).await;
}

#[tokio::test]
async fn a_code_of_another_client_is_invalid_grant() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let other = op.confidential().await;
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    assert_redeem_refused(&op.app, Auth::Default(&other), &c).await;
    // A public client presenting it (client_id in the body) is refused too.
    let public = op.public().await;
    let r = redeem(&op.app, Auth::Default(&public), &c).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn a_redirect_uri_other_than_the_authorizations_is_invalid_grant() {
    let Fixture { op, rp, user } = Fixture::with_client(json!({"redirect_uris": [CALLBACK, CALLBACK_2]})).await;
    let mut c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    c.redirect_uri = CALLBACK_2.into();
    assert_redeem_refused(&op.app, Auth::Default(&rp), &c).await;
}

#[tokio::test]
async fn a_wrong_client_secret_is_401_invalid_client_with_www_authenticate() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    let wrong = Rp { secret: Some(latchkey::crypto::token::new_token()), ..rp.clone() };
    for auth in [Auth::Default(&wrong), Auth::Post(&wrong)] {
        let r = redeem(&op.app, auth, &c).await;
        let www = header(&r, "www-authenticate").unwrap_or_default();
        let body = oauth_error(r, 401, "invalid_client").await;
        assert!(www.starts_with("Basic"), "WWW-Authenticate {www:?} ({body})");
    }
    let unknown = Rp { client_id: "no-such-client".into(), secret: Some("x".into()), ..rp.clone() };
    oauth_error(client_credentials(&op.app, Auth::Default(&unknown)).await, 401, "invalid_client").await;
    // The code was not spent by the failed attempts.
    exchange(&op.app, &rp, &c).await;
}

#[tokio::test]
async fn basic_credentials_are_form_urldecoded() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    // Every byte %-escaped: a server that does not form-decode sees another client id.
    let escaped = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let credentials = format!("{}:{}", escaped(&rp.client_id), escaped(rp.secret.as_deref().unwrap()));
    let authorization = format!("Basic {}", STANDARD.encode(credentials));
    let r = new_client().post(op.app.url("/oauth2/token")).header("authorization", authorization).form(&c.form());
    tokens_of(r.send().await.unwrap()).await;
}

#[tokio::test]
async fn client_secret_post_works() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    let t = tokens_of(redeem(&op.app, Auth::Post(&rp), &c).await).await;
    id_claims(&op.app, &rp, &t).await;
}

#[tokio::test]
async fn eight_parallel_exchanges_of_one_code_give_exactly_one_token() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let c = code(&op, &user, &Authz::new(&rp, "openid")).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (url, rp, c) = (op.app.url("/oauth2/token"), rp.clone(), c.clone());
        set.spawn(async move {
            let r = new_client().post(url).header("authorization", rp.basic()).form(&c.form()).send().await;
            r.unwrap().status().as_u16()
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
    let Fixture { op, rp, user } = Fixture::public().await;
    let t1 = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let rt1 = str_of(&t1, "refresh_token");
    let t2 = tokens_of(refresh(&op.app, &rp, rt1).await).await;
    let rt2 = str_of(&t2, "refresh_token");
    assert_ne!(rt1, rt2, "rotated");
    assert_eq!(id_claims(&op.app, &rp, &t2).await["sub"], user.sub.as_str(), "an ID token with the refresh");
    assert_eq!(userinfo(&op.app, str_of(&t2, "access_token")).await.status(), StatusCode::OK);
    assert_refresh_refused(&op.app, &rp, rt1).await;
    assert_refresh_refused(&op.app, &rp, rt2).await;
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let other = op.confidential().await;
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    assert_refresh_refused(&op.app, &other, str_of(&t, "refresh_token")).await;
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
    assert_refresh_refused(&op.app, &rp, str_of(&t, "refresh_token")).await;
}

#[tokio::test]
async fn without_offline_access_refresh_tokens_die_with_the_browser_session() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let online = tokens_for(&op, &user, &rp, "openid email").await;
    let offline = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let r = from_web_app(&op.app, user.browser.delete(op.app.url("/api/logout"))).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    if let Some(rt) = online["refresh_token"].as_str() {
        assert_refresh_refused(&op.app, &rp, rt).await;
    }
    tokens_of(refresh(&op.app, &rp, str_of(&offline, "refresh_token")).await).await;
}

#[tokio::test]
async fn a_password_change_ends_the_refresh_tokens() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let change = json!({"current_password": PASSWORD, "new_password": "quiet-lantern-meadow"});
    let r = from_web_app(&op.app, user.browser.put(op.app.url("/api/me/password")).json(&change)).await;
    assert!(r.status().is_success(), "password change: {}", r.status());
    assert_refresh_refused(&op.app, &rp, str_of(&t, "refresh_token")).await;
}

#[tokio::test]
async fn client_credentials_works_for_a_confidential_client_only() {
    let op = op().await;
    let rp = op.confidential().await;
    let t = tokens_of(client_credentials(&op.app, Auth::Default(&rp)).await).await;
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none(), "an access token only: {t}");
    let claims = claims(str_of(&t, "access_token"));
    assert_eq!(claims["sub"], rp.client_id.as_str());
    assert_eq!(claims["client_id"], rp.client_id.as_str());
    let public = op.public().await;
    oauth_error(client_credentials(&op.app, Auth::Default(&public)).await, 400, "unauthorized_client").await;
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
    let Fixture { op, rp, user } = Fixture::new().await;
    let c = code(&op, &user, &Authz::new(&rp, ALL_SCOPES)).await;
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
    let Fixture { op, rp, user } = Fixture::new().await;
    let c = code(&op, &user, &Authz::new(&rp, "openid").without("nonce")).await;
    let claims = id_claims(&op.app, &rp, &exchange(&op.app, &rp, &c).await).await;
    assert!(claims.get("nonce").is_none(), "{claims}");
}

#[tokio::test]
async fn a_client_may_ask_for_eddsa_id_tokens() {
    let Fixture { op, rp, user } = Fixture::with_client(json!({"id_token_signed_response_alg": "EdDSA"})).await;
    assert_eq!(rp.json["id_token_signed_response_alg"], "EdDSA");
    let t = tokens_for(&op, &user, &rp, "openid").await;
    assert_eq!(jwt_header(str_of(&t, "id_token"))["alg"], "EdDSA");
    assert_eq!(id_claims(&op.app, &rp, &t).await["sub"], user.sub.as_str());
}

#[tokio::test]
async fn an_access_token_is_an_at_jwt_for_the_client_that_the_account_api_refuses() {
    let Fixture { op, rp, user } = Fixture::new().await;
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
    assert_error(op.app.get_bearer("/api/me", access).await, 401, "invalid_token").await;
    assert_eq!(op.app.get_bearer("/api/me/sessions", access).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_access_token_ends_after_its_lifetime() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let t = tokens_for(&op, &user, &rp, "openid").await;
    let ttl = t["expires_in"].as_u64().unwrap();
    assert_eq!(ttl, op.app.state.ctx.config.tokens.access_ttl.0.as_secs(), "expires_in = tokens.access_ttl");
    op.app.clock.advance(Duration::from_secs(ttl + 120));
    assert_userinfo_refuses(&op.app, str_of(&t, "access_token")).await;
}

#[tokio::test]
async fn userinfo_answers_get_post_with_a_header_and_post_with_a_form_body() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let t = tokens_for(&op, &user, &rp, "openid email profile").await;
    let access = str_of(&t, "access_token");
    let get = userinfo_of(&op.app, &t).await;
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
    let Fixture { op, rp, user } = Fixture::new().await;
    let t = tokens_for(&op, &user, &rp, "openid").await;
    assert_eq!(userinfo_of(&op.app, &t).await, json!({"sub": user.sub}), "openid alone: sub only");
    let claims = id_claims(&op.app, &rp, &t).await;
    for c in ["email", "email_verified", "preferred_username", "roles"] {
        assert!(claims.get(c).is_none(), "{c} without its scope in the ID token: {claims}");
    }
    let info = userinfo_of(&op.app, &tokens_for(&op, &user, &rp, "openid email").await).await;
    assert_eq!(info["email"], "ada@example.com");
    assert_eq!(info["email_verified"], false);
    assert!(info.get("preferred_username").is_none() && info.get("roles").is_none(), "{info}");
    let info = userinfo_of(&op.app, &tokens_for(&op, &user, &rp, "openid profile roles").await).await;
    assert_eq!(info["preferred_username"], "ada");
    assert!(info["roles"].is_array(), "{info}");
    assert!(info.get("email").is_none(), "{info}");
}

#[tokio::test]
async fn a_client_gets_only_the_scopes_it_is_allowed() {
    let Fixture { op, rp, user } = Fixture::with_client(json!({"scopes": ["openid", "email"]})).await;
    let authz = Authz::new(&rp, "openid email profile");
    // Refused with invalid_scope, or granted without the scope that is not allowed.
    let granted = match authorize_next(&op.app, &user.browser, &authz).await {
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
    let r = revoke(&op.app, Auth::Default(&rp), &[("token", "no-such-token")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let hinted = [("token", "no-such-token"), ("token_type_hint", "refresh_token")];
    assert_eq!(revoke(&op.app, Auth::Default(&rp), &hinted).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn introspection_needs_a_confidential_client_and_shows_revocation() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let public = op.public().await;
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let access = str_of(&t, "access_token");
    let r = introspect(&op.app, Auth::Nothing, access).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "without client authentication");
    oauth_error(introspect(&op.app, Auth::Default(&public), access).await, 401, "invalid_client").await;
    let active = body_of(introspect(&op.app, Auth::Default(&rp), access).await, 200).await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["client_id"], rp.client_id.as_str());
    assert_eq!(active["sub"], user.sub.as_str());
    assert_eq!(active["username"], "ada");
    assert_eq!(active["iss"], issuer(&op.app));
    assert!(active["exp"].is_number() && active["iat"].is_number() && active["scope"].is_string(), "{active}");
    let r = introspect(&op.app, Auth::Default(&rp), "garbage").await;
    assert_eq!(body_of(r, 200).await, json!({"active": false}));
    assert_eq!(revoke(&op.app, Auth::Default(&rp), &[("token", access)]).await.status(), StatusCode::OK);
    let r = introspect(&op.app, Auth::Default(&rp), access).await;
    assert_eq!(body_of(r, 200).await, json!({"active": false}), "after revoking the access token");
    assert_tokens_ended(&op.app, &rp, &t).await;
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_access_token_and_another_client_cannot_revoke_it() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let other = op.confidential().await;
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let form = [("token", str_of(&t, "refresh_token"))];
    let r = revoke(&op.app, Auth::Default(&other), &form).await;
    assert_eq!(r.status(), StatusCode::OK, "RFC 7009: 200 without saying");
    assert_eq!(userinfo(&op.app, str_of(&t, "access_token")).await.status(), StatusCode::OK, "not another client's");
    assert_eq!(revoke(&op.app, Auth::Default(&rp), &form).await.status(), StatusCode::OK);
    assert_tokens_ended(&op.app, &rp, &t).await;
}

#[tokio::test]
async fn deleting_a_client_ends_its_tokens() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    let r = op.as_admin(Method::DELETE, &format!("/api/oauth2/clients/{}", rp.client_id)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = refresh(&op.app, &rp, str_of(&t, "refresh_token")).await;
    assert!(matches!(r.status().as_u16(), 400 | 401), "refresh after the client is gone: {}", r.status());
    assert_error_page(&op.app, &user.browser, &Authz::new(&rp, "openid")).await;
}

// =====================================================================================
// Logout (RP-initiated logout 1.0)
// =====================================================================================

#[tokio::test]
async fn logout_with_an_id_token_hint_ends_the_session_and_returns_with_state() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let t = tokens_for(&op, &user, &rp, "openid").await;
    let r = user.browser.get(logout_url(&op.app, str_of(&t, "id_token"), BYE, "s-123")).send().await.unwrap();
    assert!(matches!(r.status().as_u16(), 302 | 303), "{}", r.status());
    let to = location(&op.app, &r).unwrap();
    assert!(to.as_str().starts_with(BYE), "{to}");
    assert_eq!(params(&to).get("state").map(String::as_str), Some("s-123"));
    assert_eq!(me_status(&op.app, &user.browser).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_with_an_unregistered_post_logout_redirect_uri_is_a_400_page() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let t = tokens_for(&op, &user, &rp, "openid").await;
    for uri in ["https://evil.example/bye", "http://127.0.0.1:9/bye/x"] {
        let url = logout_url(&op.app, str_of(&t, "id_token"), uri, "s");
        assert_page(user.browser.get(url).send().await.unwrap(), 400).await;
    }
    assert_eq!(me_status(&op.app, &user.browser).await, StatusCode::OK, "still in");
}

#[tokio::test]
async fn logout_without_an_id_token_hint_asks_for_confirmation() {
    let op = op().await;
    let user = op.user("ada").await;
    let body = assert_page(user.browser.get(op.app.url("/oauth2/logout")).send().await.unwrap(), 200).await;
    assert!(body.contains("<form") && body.contains("confirm"), "a confirmation form:\n{body}");
    assert_eq!(me_status(&op.app, &user.browser).await, StatusCode::OK, "not yet");
    let confirm = user.browser.post(op.app.url("/oauth2/logout")).form(&[("confirm", "yes")]);
    let r = from_web_app(&op.app, confirm).await;
    assert!(r.status().is_redirection() || r.status().is_success(), "{}", r.status());
    assert_eq!(me_status(&op.app, &user.browser).await, StatusCode::UNAUTHORIZED);
}

// =====================================================================================
// Cookies, CSRF and CORS at the OAuth endpoints (rules 8, 9)
// =====================================================================================

#[tokio::test]
async fn token_and_userinfo_ignore_cookies_and_the_origin_check() {
    let Fixture { op, rp, user } = Fixture::new().await;
    let c = code(&op, &user, &Authz::new(&rp, ALL_SCOPES)).await;
    // From the logged-in browser (its session cookie goes along) with a foreign Origin.
    let to_token = user.browser.post(op.app.url("/oauth2/token")).header("authorization", rp.basic());
    let t = tokens_of(cross_site(to_token, EVIL).form(&c.form()).send().await.unwrap()).await;
    let access = str_of(&t, "access_token");
    let to_userinfo = cross_site(user.browser.post(op.app.url("/oauth2/userinfo")), EVIL);
    assert_eq!(body_of(to_userinfo.bearer_auth(access).send().await.unwrap(), 200).await["sub"], user.sub.as_str());
    // A session cookie is no credential at UserInfo.
    let r = user.browser.get(op.app.url("/oauth2/userinfo")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a cookie instead of a token");
    let to_revoke = user.browser.post(op.app.url("/oauth2/revoke")).header("origin", EVIL);
    let to_revoke = to_revoke.header("authorization", rp.basic()).form(&[("token", str_of(&t, "refresh_token"))]);
    assert_eq!(to_revoke.send().await.unwrap().status(), StatusCode::OK, "revoke from a foreign origin");
    // The session cookie did not authenticate a client either.
    let r = from_web_app(&op.app, user.browser.post(op.app.url("/oauth2/introspect")).form(&[("token", access)])).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "introspection with a cookie only");
}

#[tokio::test]
async fn cors_at_the_token_endpoint_allows_a_registered_redirect_origin_without_credentials() {
    let op = op().await;
    let rp = op.client(json!({"public": true, "redirect_uris": [format!("{SPA_ORIGIN}/callback")]})).await;
    let allowed = |r: &Response| header(r, "access-control-allow-origin");
    let credentials = |r: &Response| header(r, "access-control-allow-credentials");
    let r = preflight(&op.app, "/oauth2/token", SPA_ORIGIN, "POST", Some("content-type")).await;
    assert!(r.status().is_success(), "preflight {}", r.status());
    assert_eq!(allowed(&r).as_deref(), Some(SPA_ORIGIN));
    assert_ne!(credentials(&r).as_deref(), Some("true"), "no credentials");
    let form = [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", rp.client_id.as_str())];
    let to_token = new_client().post(op.app.url("/oauth2/token")).header("origin", SPA_ORIGIN);
    let r = to_token.form(&form).send().await.unwrap();
    assert_eq!(allowed(&r).as_deref(), Some(SPA_ORIGIN), "on errors too");
    assert_ne!(credentials(&r).as_deref(), Some("true"));
    let r = preflight(&op.app, "/oauth2/token", EVIL, "POST", None).await;
    assert!(allowed(&r).is_none(), "an unregistered origin");
    let r = preflight(&op.app, "/oauth2/userinfo", SPA_ORIGIN, "GET", Some("authorization")).await;
    assert_eq!(allowed(&r).as_deref(), Some(SPA_ORIGIN), "userinfo");
    // No CORS at the authorization endpoint (rule 8).
    let r = new_client().get(Authz::new(&rp, "openid").url(&op.app)).header("origin", SPA_ORIGIN).send().await.unwrap();
    assert!(allowed(&r).is_none(), "CORS at authorize");
}

#[tokio::test]
async fn token_answers_are_no_store_for_every_grant() {
    let Fixture { op, rp, user } = Fixture::new().await;
    // tokens_of asserts Cache-Control: no-store.
    let t = tokens_for(&op, &user, &rp, ALL_SCOPES).await;
    tokens_of(refresh(&op.app, &rp, str_of(&t, "refresh_token")).await).await;
    tokens_of(client_credentials(&op.app, Auth::Default(&rp)).await).await;
    let r = refresh(&op.app, &rp, "nope").await;
    let cache = header(&r, "cache-control").unwrap_or_default();
    assert!(cache.contains("no-store"), "on an error as well: {cache:?}");
}
