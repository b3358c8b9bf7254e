//! Upstream identity providers for the federation tests: the Node scripts of
//! `tests/upstream/` (a real OpenID Provider, `oidc-provider`; a GitHub-shaped OAuth 2.0
//! server; a forge of broken ID tokens), each started as a child process on 127.0.0.1 and
//! killed when dropped, and a "browser" that walks latchkey's federation flow through them.
//!
//! They need Node and `npm ci` in `tests/upstream`: without them every test that uses them
//! fails with a message saying so (under `CI=true` as well as outside it; never a skip).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use latchkey::config::{ProviderConfig, ProviderKind, Secret};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::TestApp;

/// Which script of `tests/upstream` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `oidc.js`: oidc-provider, a certified OpenID Provider.
    Oidc,
    /// `github.js`: GitHub's OAuth 2.0 web flow and REST API.
    Github,
    /// `forge.js`: a provider that mints the defect asked for.
    Forge,
}

impl Kind {
    fn script(self) -> &'static str {
        match self {
            Kind::Oidc => "oidc.js",
            Kind::Github => "github.js",
            Kind::Forge => "forge.js",
        }
    }
}

/// One running upstream; the process is killed when this is dropped.
pub struct Upstream {
    pub kind: Kind,
    /// `http://127.0.0.1:PORT`: the issuer (oidc, forge) or web and API base (github).
    pub base: String,
    pub client_id: String,
    pub client_secret: String,
    child: Option<Child>,
    stderr: Arc<Mutex<Vec<String>>>,
    http: Client,
}

fn upstream_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("upstream")
}

/// Node and the upstreams' packages are there, or the test fails saying what to do.
fn require_node() {
    let on_ci = std::env::var("CI").as_deref() == Ok("true");
    let context = if on_ci { "CI=true requires the federation upstreams: " } else { "" };
    let node = Command::new("node").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    assert!(
        node.is_ok_and(|s| s.success()),
        "{context}node is not on the PATH: the federation tests run their upstream providers with Node \
         (apt-get install nodejs npm), then run npm ci in tests/upstream"
    );
    let dir = upstream_dir();
    assert!(
        dir.join("node_modules").join("oidc-provider").is_dir() && dir.join("node_modules").join("jose").is_dir(),
        "{context}tests/upstream has no node_modules: run npm ci in tests/upstream (cd {} && npm ci)",
        dir.display()
    );
}

impl Upstream {
    /// oidc-provider with `config` over these defaults: client `latchkey` / a random
    /// secret, no accounts unless given (see tests/upstream/oidc.js for the fields).
    pub async fn oidc(config: Value) -> Upstream {
        Upstream::start(Kind::Oidc, config).await
    }

    pub async fn github(config: Value) -> Upstream {
        Upstream::start(Kind::Github, config).await
    }

    pub async fn forge(config: Value) -> Upstream {
        Upstream::start(Kind::Forge, config).await
    }

    /// Starts `kind` with `config` (port 0, a client secret of its own and the exit on a
    /// closed stdin added) and waits for its `listening …` line.
    pub async fn start(kind: Kind, mut config: Value) -> Upstream {
        require_node();
        let object = config.as_object_mut().expect("an upstream's configuration is a JSON object");
        object.entry("port").or_insert(json!(0));
        object.entry("exit_with_stdin").or_insert(json!(true));
        let client_id = object
            .entry("client_id")
            .or_insert(json!(match kind {
                Kind::Github => "latchkey-github",
                _ => "latchkey",
            }))
            .as_str()
            .unwrap()
            .to_string();
        let client_secret = object
            .entry("client_secret")
            .or_insert_with(|| json!(latchkey::crypto::token::new_token()))
            .as_str()
            .unwrap()
            .to_string();
        let script = kind.script();
        let config = config.to_string();
        // Spawning and waiting for the first line block: off the runtime's threads.
        let (child, base, stderr) = tokio::task::spawn_blocking(move || spawn_node(script, &config))
            .await
            .expect("the upstream's start-up thread");
        Upstream {
            kind,
            base,
            client_id,
            client_secret,
            child: Some(child),
            stderr,
            http: Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// latchkey's `[[federation.providers]]` entry for this upstream under `id`.
    pub fn provider(&self, id: &str) -> ProviderConfig {
        ProviderConfig {
            id: id.into(),
            kind: match self.kind {
                Kind::Github => ProviderKind::Github,
                _ => ProviderKind::Oidc,
            },
            label: format!("Provider {id}"),
            issuer: self.base.clone(),
            api_url: (self.kind == Kind::Github).then(|| self.base.clone()),
            client_id: self.client_id.clone(),
            client_secret: Some(Secret(self.client_secret.clone())),
            ..Default::default()
        }
    }

    /// Registers `{public_url}/api/federation/{id}/callback` of each app (their public URLs)
    /// as the client's redirect URIs, and waits until each app has discovered the provider
    /// (until then, a start answers 503 provider_unavailable).
    pub async fn allow(&self, apps: &[&TestApp], id: &str) {
        let mut uris: Vec<String> = apps.iter().map(|app| callback_uri(app, id)).collect();
        uris.dedup();
        self.set_redirect_uris(&uris).await;
        for app in apps {
            discovered(app, id).await;
        }
    }

    pub async fn set_redirect_uris(&self, uris: &[String]) {
        let r = match self.kind {
            Kind::Forge => self.http.post(self.url("/control")).json(&json!({"redirect_uris": uris})),
            _ => self.http.put(self.url("/__test/client")).json(&json!({"redirect_uris": uris})),
        };
        let r = r.send().await.expect("the upstream's control route");
        assert_eq!(r.status(), 200, "setting the redirect URIs of {}", self.base);
    }

    /// The forge's `POST /control` (mode, account, delay_ms, huge_bytes, rotate…); its state.
    pub async fn control(&self, body: Value) -> Value {
        assert_eq!(self.kind, Kind::Forge, "only the forge has /control");
        let r = self.http.post(self.url("/control")).json(&body).send().await.expect("forge /control");
        assert_eq!(r.status(), 200, "forge /control {body}");
        r.json().await.unwrap()
    }

    /// The requests the forge has seen: `[{endpoint, …}]`.
    pub async fn requests(&self, endpoint: &str) -> Vec<Value> {
        let state: Value = self.http.get(self.url("/control")).send().await.unwrap().json().await.unwrap();
        state["requests"].as_array().unwrap().iter().filter(|r| r["endpoint"] == endpoint).cloned().collect()
    }

    /// Adds or replaces accounts (oidc) or users (github).
    pub async fn put_accounts(&self, accounts: Value) {
        let path = match self.kind {
            Kind::Oidc => "/__test/accounts",
            Kind::Github => "/__test/users",
            Kind::Forge => panic!("the forge's accounts are set through control()"),
        };
        let r = self.http.put(self.url(path)).json(&accounts).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }

    /// The provider's log of fresh logins through its form (oidc): `[{sub, at, prompt}]`.
    pub async fn logins(&self) -> Vec<Value> {
        assert_eq!(self.kind, Kind::Oidc);
        self.http.get(self.url("/__test/logins")).send().await.unwrap().json().await.unwrap()
    }

    /// Kills the process now (a provider that went down).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.kill();
        // A failing test shows what its provider said (TEST_LOG=1 shows it always).
        if std::thread::panicking() && std::env::var_os("TEST_LOG").is_none() {
            let lines = self.stderr.lock().map(|l| l.join("\n")).unwrap_or_default();
            if !lines.is_empty() {
                eprintln!("--- stderr of {} ({:?}) ---\n{lines}", self.base, self.kind);
            }
        }
    }
}

/// Starts `node script config` in tests/upstream; the child, its base URL and its stderr.
fn spawn_node(script: &'static str, config: &str) -> (Child, String, Arc<Mutex<Vec<String>>>) {
    let mut child = Command::new("node")
        .arg(script)
        .arg(config)
        .current_dir(upstream_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node {script}: {e}"));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let lines = Arc::clone(&stderr);
    let err = child.stderr.take().unwrap();
    let echo = std::env::var_os("TEST_LOG").is_some();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if echo {
                eprintln!("[{script}] {line}");
            }
            lines.lock().unwrap().push(line);
        }
    });
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(out).lines();
        let first = lines.next().and_then(Result::ok);
        let _ = tx.send(first);
        // Keep reading so that the pipe never fills up.
        for _ in lines.map_while(Result::ok) {}
    });
    let first = rx.recv_timeout(Duration::from_secs(60)).ok().flatten();
    let base = first.as_deref().and_then(|l| l.strip_prefix("listening ")).map(str::to_string);
    match base {
        Some(base) => (child, base, stderr),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "node {script} did not start (first line {first:?}); its stderr:\n{}",
                stderr.lock().unwrap().join("\n")
            );
        }
    }
}

/// Waits (at most 15 s) until `app` knows provider `id`'s endpoints: it discovers them in
/// the background at start-up.
pub async fn discovered(app: &TestApp, id: &str) {
    let provider = app.state.ctx.federation.get(id).unwrap_or_else(|| panic!("no provider {id} configured"));
    let began = std::time::Instant::now();
    while provider.known_endpoints().is_none() {
        assert!(began.elapsed() < Duration::from_secs(15), "provider {id} not discovered within 15 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The redirect URI latchkey registers: `{public_url}/api/federation/{id}/callback`.
pub fn callback_uri(app: &TestApp, id: &str) -> String {
    format!("{}/api/federation/{id}/callback", app.state.ctx.config.public_url)
}

/// The credentials a test types into a provider's sign-in form.
pub struct Login<'a> {
    pub login: &'a str,
    pub password: &'a str,
}

impl<'a> From<&'a str> for Login<'a> {
    fn from(login: &'a str) -> Self {
        Login { login, password: "any" }
    }
}

/// What the browser saw on its way through the provider.
#[derive(Debug)]
pub struct Trip {
    /// The URL of latchkey's callback that the provider redirected to (not yet visited).
    pub callback: String,
    /// How many sign-in forms were posted (0: the provider's session signed in silently).
    pub forms: usize,
}

impl Trip {
    /// A query parameter of the callback URL.
    pub fn param(&self, name: &str) -> Option<String> {
        let url = url::Url::parse(&self.callback).unwrap();
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }

    /// The callback URL with `name` set to `value` (or removed, with `None`).
    pub fn with_param(&self, name: &str, value: Option<&str>) -> String {
        let mut url = url::Url::parse(&self.callback).unwrap();
        let pairs: Vec<(String, String)> =
            url.query_pairs().filter(|(k, _)| k != name).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        {
            let mut query = url.query_pairs_mut();
            query.clear();
            for (k, v) in &pairs {
                query.append_pair(k, v);
            }
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        url.to_string()
    }

    /// The callback URL on another instance (`base` instead of the public URL's origin).
    pub fn on(&self, base: &str) -> String {
        let url = url::Url::parse(&self.callback).unwrap();
        let rest = &url.as_str()[url.origin().ascii_serialization().len()..];
        format!("{base}{rest}")
    }
}

/// `GET /api/federation/{provider}/start?return_to=…` (with `return_to` as given, encoded).
pub async fn start(app: &TestApp, browser: &Client, provider: &str, return_to: Option<&str>) -> Response {
    let mut url = url::Url::parse(&app.url(&format!("/api/federation/{provider}/start"))).unwrap();
    if let Some(return_to) = return_to {
        url.query_pairs_mut().append_pair("return_to", return_to);
    }
    browser.get(url).send().await.expect("start")
}

/// Starts a flow and returns the provider's authorize URL (asserting the 302 and the cookie).
pub async fn started(app: &TestApp, browser: &Client, provider: &str) -> String {
    let r = start(app, browser, provider, Some("/")).await;
    let status = r.status();
    let location = location(&r);
    assert_eq!(status, StatusCode::FOUND, "start of {provider}: {}", r.text().await.unwrap_or_default());
    location.expect("start answers with a Location")
}

pub fn location(r: &Response) -> Option<String> {
    r.headers().get("location").map(|v| v.to_str().unwrap().to_string())
}

/// Walks from the provider's `authorize` URL through its pages (posting the sign-in form
/// as `login` wherever one is shown) until the provider redirects to a latchkey
/// `/api/federation/…/callback` URL, which is returned without being visited.
pub async fn through_provider<'a>(browser: &Client, authorize: &str, login: impl Into<Login<'a>>) -> Trip {
    let login = login.into();
    let mut url = url::Url::parse(authorize).expect("an absolute authorize URL");
    let mut response = browser.get(url.clone()).send().await.expect("the provider's authorize endpoint");
    let mut forms = 0;
    for _ in 0..20 {
        let status = response.status();
        if status.is_redirection() {
            let next = url.join(&location(&response).expect("a redirect with a Location")).unwrap();
            if next.path().starts_with("/api/federation/") && next.path().ends_with("/callback") {
                return Trip { callback: next.to_string(), forms };
            }
            url = next;
            response = browser.get(url.clone()).send().await.expect("a provider page");
            continue;
        }
        let body = response.text().await.unwrap_or_default();
        assert!(
            status == StatusCode::OK && forms < 3,
            "the provider answered {status} at {url} (after {forms} sign-in forms):\n{body}"
        );
        let action = form_action(&body).unwrap_or_else(|| panic!("no sign-in form at {url}:\n{body}"));
        url = url.join(&action).unwrap();
        forms += 1;
        response = browser
            .post(url.clone())
            .form(&[("login", login.login), ("password", login.password)])
            .send()
            .await
            .expect("posting the provider's sign-in form");
    }
    panic!("more than 20 steps at the provider, last at {url}");
}

/// The `action` of the first `<form>` of a page (HTML entities `&amp;` undone).
fn form_action(html: &str) -> Option<String> {
    let form = &html[html.find("<form")?..];
    let form = &form[..form.find('>')?];
    let start = form.find("action=\"")? + "action=\"".len();
    let end = form[start..].find('"')? + start;
    Some(form[start..end].replace("&amp;", "&"))
}

/// Visits latchkey's callback URL: always 303 to the web app's `/login/federated` page.
pub async fn callback(browser: &Client, url: &str) -> Response {
    let r = browser.get(url).send().await.expect("callback");
    let status = r.status();
    let to = location(&r);
    if status != StatusCode::SEE_OTHER {
        panic!("the callback answered {status}, not 303: {}", r.text().await.unwrap_or_default());
    }
    let to = to.unwrap();
    assert!(to.starts_with("/login/federated"), "the callback sends the browser to {to}");
    r
}

/// `POST /api/federation/continue {"mode": mode}`.
pub async fn finish(app: &TestApp, browser: &Client, mode: &str) -> Response {
    browser.post(app.url("/api/federation/continue")).json(&json!({"mode": mode})).send().await.expect("continue")
}

/// The whole journey with a cookie session: start at `provider`, sign in there as
/// `login`, come back, continue. The answer of continue.
pub async fn log_in<'a>(app: &TestApp, browser: &Client, provider: &str, login: impl Into<Login<'a>>) -> Response {
    let authorize = started(app, browser, provider).await;
    let trip = through_provider(browser, &authorize, login).await;
    callback(browser, &trip.callback).await;
    finish(app, browser, "session").await
}
