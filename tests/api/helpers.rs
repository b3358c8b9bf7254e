//! `TestApp::spawn()`: the real server on 127.0.0.1:0 with a fresh database (a temp
//! SQLite file, or a fresh PostgreSQL database when `LATCHKEY_TEST_BACKEND=postgres`),
//! a clock the test can move forward, and a reqwest client with its own cookie jar.
//! Logs with `TEST_LOG=1`.

use std::sync::{Arc, Once};

use latchkey::app::App;
use latchkey::clock::Clock;
use latchkey::config::Config;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub const PASSWORD: &str = "violet-otter-harbour";

pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub client: Client,
    pub state: latchkey::http::AppState,
    /// This instance's clock: `app.clock.advance(…)` instead of sleeping.
    pub clock: Arc<Clock>,
    shutdown: Option<oneshot::Sender<()>>,
    _db: TestDb,
}

pub enum TestDb {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// Another instance's database: that instance's guard drops it.
    Shared,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async; a small runtime of its own removes the database.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut conn)
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            latchkey::telemetry::init(latchkey::config::LogFormat::Pretty);
        }
    });
}

/// The PostgreSQL server for tests that need one, if any; under `CI=true` it must be set.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("LATCHKEY_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty());
    assert!(
        url.is_some() || std::env::var("CI").as_deref() != Ok("true"),
        "CI=true requires LATCHKEY_TEST_POSTGRES_URL: PostgreSQL tests may not be skipped"
    );
    url
}

/// Whether this run of the suite is the PostgreSQL one (`LATCHKEY_TEST_BACKEND=postgres`).
fn suite_on_postgres() -> bool {
    match std::env::var("LATCHKEY_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("LATCHKEY_TEST_BACKEND={other:?}: expected sqlite or postgres"),
    }
}

/// A fresh database for the suite's backend.
pub async fn fresh_database() -> (String, TestDb) {
    if suite_on_postgres() {
        let admin_url = postgres_url().expect("LATCHKEY_TEST_BACKEND=postgres needs LATCHKEY_TEST_POSTGRES_URL");
        fresh_postgres(&admin_url).await
    } else {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}/latchkey.db", dir.path().display());
        (url, TestDb::Sqlite(dir))
    }
}

/// A fresh PostgreSQL database on `admin_url`'s server, dropped with the returned guard.
pub async fn fresh_postgres(admin_url: &str) -> (String, TestDb) {
    use sqlx::Connection;
    let name = format!("latchkey_test_{}", latchkey::crypto::token::new_token()[..12].to_lowercase().replace('-', "_"));
    let mut conn = sqlx::PgConnection::connect(admin_url).await.expect("cannot reach LATCHKEY_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await.expect("CREATE DATABASE");
    let url = match admin_url.rfind('/') {
        Some(i) if admin_url[..i].ends_with(|c: char| c != '/') => format!("{}/{name}", &admin_url[..i]),
        _ => format!("{admin_url}/{name}"),
    };
    (url, TestDb::Postgres { admin_url: admin_url.to_string(), name })
}

/// A configuration as the tests want it by default: throttles out of the way.
/// The tests' configuration: generous address budgets, and cheap password hashing
/// (argon2id at 256 KiB and one pass, bcrypt cost 4) except in the tests of the hashing
/// parameters and timings themselves, which ask for [`recommended_hashing`].
pub fn test_config() -> Config {
    let mut config = Config { listen: "127.0.0.1:0".into(), ..Config::default() };
    config.throttle.signup_per_ip = 1000;
    config.throttle.login_per_ip = 1000;
    config.password.argon2_memory_kib = 256;
    config.password.argon2_iterations = 1;
    config.password.bcrypt_cost = 4;
    config
}

/// Password hashing at the production defaults.
pub fn recommended_hashing(config: &mut Config) {
    config.password = latchkey::config::PasswordConfig { algorithm: config.password.algorithm, ..Default::default() };
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let (database_url, db) = fresh_database().await;
        let mut config = test_config();
        config.database_url = database_url;
        adjust(&mut config);
        TestApp::start(config, db).await
    }

    /// Serves `config` (whose database `db` guards) on a free port and a clock of its
    /// own. Unless the test chose a public URL, it is the address served.
    pub async fn start(mut config: Config, db: TestDb) -> TestApp {
        init_logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        config.listen = addr.to_string();
        if config.public_url == Config::default().public_url {
            config.public_url = format!("http://{addr}");
        }
        let clock = Arc::new(Clock::system());
        let app = App::build_on(listener, config, Arc::clone(&clock)).await.expect("App::build");
        let port = app.port();
        let state = app.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            port,
            client: new_client(),
            state,
            clock,
            shutdown: Some(tx),
            _db: db,
        }
    }

    /// Waits until this instance's revocation feed listens (a shared transport connects
    /// in the background at start-up).
    pub async fn wait_for_feed(&self) {
        let started = std::time::Instant::now();
        while !self.state.ctx.feed.is_up() {
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "the feed did not come up");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).json(body).send().await.expect("request")
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        self.client.put(self.url(path)).json(body).send().await.expect("request")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client.delete(self.url(path)).send().await.expect("request")
    }

    pub async fn signup(&self, username: &str) -> Response {
        self.signup_as(&self.client, username, PASSWORD).await
    }

    pub async fn signup_as(&self, client: &Client, username: &str, password: &str) -> Response {
        client
            .post(self.url("/api/signup"))
            .json(&json!({"username": username, "password": password, "password_confirmation": password}))
            .send()
            .await
            .expect("request")
    }

    pub async fn login_as(&self, client: &Client, username: &str, password: &str) -> Response {
        client
            .post(self.url("/api/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("request")
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.login_as(&self.client, username, password).await
    }

    /// Signs `username` up with the default password and returns the user JSON.
    pub async fn signed_up(&self, username: &str) -> Value {
        let r = self.signup(username).await;
        assert_eq!(r.status(), StatusCode::CREATED, "signup of {username}");
        r.json().await.expect("user json")
    }

    /// Creates an admin through the same path as `latchkey user create --admin`, and
    /// logs this app's client in as it.
    pub async fn admin(&self, username: &str) -> Value {
        latchkey::service::accounts::create_user(&self.state.ctx, username, None, PASSWORD, true)
            .await
            .expect("create admin");
        let r = self.login(username, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.expect("user json")
    }

    /// `POST /api/token` for `username`; returns the token response.
    pub async fn tokens(&self, username: &str, password: &str) -> Value {
        let r = new_client()
            .post(self.url("/api/token"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::OK, "token for {username}");
        r.json().await.expect("token json")
    }

    /// `POST /api/token/refresh` with `refresh_token`.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        new_client()
            .post(self.url("/api/token/refresh"))
            .json(&json!({"refresh_token": refresh_token}))
            .send()
            .await
            .expect("request")
    }

    /// `GET path` with a Bearer token and no cookie.
    pub async fn get_bearer(&self, path: &str, token: &str) -> Response {
        new_client().get(self.url(path)).bearer_auth(token).send().await.expect("request")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// `POST` of raw bytes with this `Content-Type` (or none), through `app.client`.
pub async fn raw_post(app: &TestApp, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Response {
    let mut req = app.client.post(app.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.send().await.unwrap()
}

/// A browser of its own: a fresh cookie jar.
pub fn new_client() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// Asserts status and API.md error code; returns the body.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    let got = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(got, status, "status (body {text})");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("error body is not JSON: {text}"));
    assert_eq!(body["error"], code, "error code in {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "message in {body}");
    body
}

/// The `Set-Cookie` header for the session cookie, if the response sets it.
pub fn session_set_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("latchkey_session=") || v.starts_with("__Host-latchkey_session="))
        .map(str::to_string)
}

/// The cookie's value, from a `Set-Cookie` header.
pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().and_then(|kv| kv.split_once('=')).map(|(_, v)| v.to_string()).unwrap_or_default()
}

/// The claims of a JWT, read without checking it (the server checked it).
pub fn claims(access_token: &str) -> Value {
    use base64::Engine;
    let payload = access_token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
        .expect("JSON claims")
}
