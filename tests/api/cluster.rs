//! Several instances on one PostgreSQL database, with and without Redis: every rule that
//! holds for one instance holds for all of them together. Each race runs many rounds.
//! These tests need PostgreSQL (and Redis for the Redis variants); outside CI they are
//! skipped without it, under `CI=true` they fail.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey::config::Config;
use latchkey::feed::{FeedEvent, FeedSignal, Subscriber};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::throttling::burst_of_wrong_passwords;

pub struct Cluster {
    pub apps: Vec<TestApp>,
    pub database_url: String,
    pub redis_prefix: Option<String>,
}

/// The Redis server for tests; `None` (a skip) only outside CI.
pub async fn redis_url() -> Option<String> {
    let url = std::env::var("LATCHKEY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let reachable = match redis::Client::open(url.as_str()) {
        Ok(client) => client.get_multiplexed_async_connection().await.is_ok(),
        Err(_) => false,
    };
    if !reachable {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true requires Redis at {url}");
        return None;
    }
    Some(url)
}

/// A redis-server of one test's own on a free local port, with nothing saved to disk, that
/// the test can kill and start again empty (shared Redis must not be stopped under other
/// tests). Killed when dropped.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    /// `None` (a skip) only outside CI, when `redis-server` is not installed.
    pub async fn start() -> Option<PrivateRedis> {
        let installed = std::process::Command::new("redis-server")
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true requires redis-server on the PATH");
            return None;
        }
        // A port free a moment ago can be taken by another test before redis-server binds
        // it: try a few.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let mut redis = PrivateRedis { port, child: None };
            if redis.spawn().await {
                return Some(redis);
            }
        }
        panic!("redis-server did not start on any of five free ports");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts redis-server (empty) on `self.port`; whether it answers PING within 5 s.
    async fn spawn(&mut self) -> bool {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                if redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok() {
                    return true;
                }
            }
            if let Some(Ok(Some(_))) = self.child.as_mut().map(std::process::Child::try_wait) {
                // Exited: the port was taken.
                self.child = None;
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.kill();
        false
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again, empty, on the same port.
    pub async fn restart(&mut self) {
        self.kill();
        assert!(self.spawn().await, "redis-server did not start again on port {}", self.port);
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `n` instances on one fresh PostgreSQL database, sharing Redis (with a key prefix of
/// their own) when `with_redis`.
pub async fn cluster(n: usize, with_redis: bool, adjust: impl Fn(&mut Config)) -> Option<Cluster> {
    cluster_with(n, with_redis, |_, config| adjust(config)).await
}

/// As [`cluster`], with `adjust` told which instance (0-based) it configures, so that one
/// instance can differ (its Redis link through a proxy, say).
pub async fn cluster_with(n: usize, with_redis: bool, adjust: impl Fn(usize, &mut Config)) -> Option<Cluster> {
    let admin_url = postgres_url()?;
    let redis = if with_redis { Some(redis_url().await?) } else { None };
    let (database_url, db) = fresh_postgres(&admin_url).await;
    let redis_prefix =
        redis.as_ref().map(|_| format!("latchkey-test:{}:", &latchkey::crypto::token::new_token()[..12]));
    let mut guard = Some(db);
    let mut apps = Vec::new();
    for i in 0..n {
        let mut config = test_config();
        // One deployment: one public URL (the tokens' issuer) for every instance.
        config.public_url = "http://cluster.test".into();
        config.database_url = database_url.clone();
        config.redis_url = redis.clone();
        if let Some(prefix) = &redis_prefix {
            config.redis.key_prefix = prefix.clone();
        }
        adjust(i, &mut config);
        apps.push(TestApp::start(config, guard.take().unwrap_or(TestDb::Shared)).await);
    }
    for app in &apps {
        app.wait_for_feed().await;
    }
    Some(Cluster { apps, database_url, redis_prefix })
}

async fn throttle_burst_over_two_instances(with_redis: bool) {
    let Some(c) = cluster(2, with_redis, |_| {}).await else { return };
    c.apps[0].signed_up("ada").await;
    let (checked, refused) = burst_of_wrong_passwords(&[&c.apps[0], &c.apps[1]], "ada", 60).await;
    assert!(checked <= 10, "{checked} checked, {refused} refused");
    assert_eq!(checked, 10, "the budget is shared, not lost");
    for app in &c.apps {
        assert_error(app.login_as(&new_client(), "ada", PASSWORD).await, 429, "rate_limited").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_wrong_passwords_over_two_instances_check_ten_on_the_database_limiter() {
    throttle_burst_over_two_instances(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_wrong_passwords_over_two_instances_check_ten_on_the_redis_limiter() {
    throttle_burst_over_two_instances(true).await;
}

#[tokio::test]
async fn failures_alternating_between_instances_count_in_one_budget() {
    let Some(c) = cluster(2, false, |_| {}).await else { return };
    c.apps[0].signed_up("ada").await;
    for i in 0..10 {
        assert_eq!(c.apps[i % 2].login_as(&new_client(), "ada", "wrong-password").await.status(), 401);
    }
    assert_error(c.apps[0].login_as(&new_client(), "ada", PASSWORD).await, 429, "rate_limited").await;
}

/// Makes `name` an admin (as `latchkey user create --admin` or `set-roles` would) and
/// returns a client logged in as it on `app`.
async fn admin_on(c: &Cluster, app: usize, name: &str) -> reqwest::Client {
    let ctx = &c.apps[0].state.ctx;
    let id = match latchkey::service::users::user_id_by_username(ctx, name).await {
        Ok(id) => id,
        Err(_) => latchkey::service::accounts::create_user(ctx, name, None, PASSWORD, true).await.unwrap().id,
    };
    let admin = latchkey::domain::Roles::new([latchkey::domain::Role::admin()]);
    latchkey::service::admin::set_roles(ctx, id, admin, None, &latchkey::service::Client::local()).await.unwrap();
    let client = new_client();
    assert_eq!(c.apps[app].login_as(&client, name, PASSWORD).await.status(), 200);
    client
}

async fn admin_count(c: &Cluster) -> usize {
    let (users, _) = latchkey::service::admin::list_users(&c.apps[0].state.ctx, None, 200).await.unwrap();
    users.iter().filter(|u| u.roles.is_admin()).count()
}

async fn user_id(c: &Cluster, name: &str) -> i64 {
    latchkey::service::users::user_id_by_username(&c.apps[0].state.ctx, name).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_demoting_each_other_on_two_instances_always_leave_one() {
    let Some(c) = cluster(2, false, |_| {}).await else { return };
    for round in 0..20 {
        let a = admin_on(&c, 0, "alpha").await;
        let b = admin_on(&c, 1, "beta").await;
        // Only these two are admins now.
        assert_eq!(admin_count(&c).await, 2, "round {round}");
        let (ida, idb) = (user_id(&c, "alpha").await, user_id(&c, "beta").await);
        let demote = |client: reqwest::Client, app: &TestApp, target: i64| {
            let url = app.url(&format!("/api/users/{target}/roles"));
            async move { client.put(url).json(&json!({"roles": ["user"]})).send().await.unwrap().status().as_u16() }
        };
        let (x, y) = tokio::join!(demote(a, &c.apps[0], idb), demote(b, &c.apps[1], ida));
        let mut outcomes = [x, y];
        outcomes.sort();
        assert_eq!(outcomes.iter().filter(|s| **s == 200).count(), 1, "round {round}: {outcomes:?}");
        assert!(matches!(outcomes, [200, 403] | [200, 409]), "round {round}: {outcomes:?}");
        assert_eq!(admin_count(&c).await, 1, "round {round}: exactly one admin is left");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_deleting_another_while_being_demoted_always_leaves_one() {
    let Some(c) = cluster(2, false, |_| {}).await else { return };
    for round in 0..20 {
        let a = admin_on(&c, 0, &format!("alpha{round}")).await;
        let b = admin_on(&c, 1, "beta").await;
        // Demote every other admin from earlier rounds so that exactly two remain.
        let (users, _) = latchkey::service::admin::list_users(&c.apps[0].state.ctx, None, 200).await.unwrap();
        for u in
            users.iter().filter(|u| u.roles.is_admin() && u.username != "beta" && u.username != format!("alpha{round}"))
        {
            let roles = latchkey::domain::Roles::new([]);
            latchkey::service::admin::set_roles(
                &c.apps[0].state.ctx,
                u.id,
                roles,
                None,
                &latchkey::service::Client::local(),
            )
            .await
            .unwrap();
        }
        let (ida, idb) = (user_id(&c, &format!("alpha{round}")).await, user_id(&c, "beta").await);
        let delete_b = a.delete(c.apps[0].url(&format!("/api/users/{idb}")));
        let demote_a = b.put(c.apps[1].url(&format!("/api/users/{ida}/roles"))).json(&json!({"roles": ["user"]}));
        let (x, y) = tokio::join!(delete_b.send(), demote_a.send());
        let (x, y) = (x.unwrap().status().as_u16(), y.unwrap().status().as_u16());
        assert!([x, y].contains(&200) || [x, y].contains(&204), "round {round}: {x} {y}");
        assert!(!(x == 204 && y == 200), "round {round}: both succeeded and no admin is left");
        assert!(admin_count(&c).await >= 1, "round {round}");
        if x == 204 {
            // beta is gone: make a new one for the next round.
            latchkey::service::accounts::create_user(&c.apps[0].state.ctx, "beta", None, PASSWORD, true).await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_name_signed_up_on_two_instances_at_once_is_one_account() {
    let Some(c) = cluster(2, false, |_| {}).await else { return };
    for round in 0..20 {
        let name = format!("twin{round}");
        let email = json!(format!("Twin{round}@example.com"));
        let signup = |app: &TestApp, username: String| {
            let url = app.url("/api/signup");
            let body = json!({"username": username, "password": PASSWORD, "email": email});
            async move { new_client().post(url).json(&body).send().await.unwrap().status().as_u16() }
        };
        let (x, y) = tokio::join!(signup(&c.apps[0], name.clone()), signup(&c.apps[1], name.to_uppercase()));
        let mut outcomes = [x, y];
        outcomes.sort();
        assert_eq!(outcomes, [201, 409], "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_raced_on_two_instances_is_spent_once() {
    let Some(c) = cluster(2, false, |cfg| cfg.tokens.refresh_reuse_grace = "0s".parse().unwrap()).await else { return };
    c.apps[0].signed_up("ada").await;
    for round in 0..20 {
        let token = c.apps[0].tokens("ada", PASSWORD).await["refresh_token"].as_str().unwrap().to_string();
        let (x, y) = tokio::join!(c.apps[0].refresh(&token), c.apps[1].refresh(&token));
        let mut outcomes = [x.status().as_u16(), y.status().as_u16()];
        outcomes.sort();
        assert_eq!(outcomes, [200, 401], "round {round}: exactly one new pair");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_on_an_empty_database_make_one_signing_key() {
    let Some(admin_url) = postgres_url() else { return };
    for _ in 0..3 {
        let (database_url, _db) = fresh_postgres(&admin_url).await;
        let starts = (0..8).map(|_| {
            let mut config = test_config();
            config.database_url = database_url.clone();
            latchkey::app::build_ctx(config)
        });
        let ctxs: Vec<_> = futures::future::join_all(starts).await.into_iter().map(|c| c.unwrap()).collect();
        let keys = ctxs[0].store.jwt_keys(0).await.unwrap();
        assert_eq!(keys.len(), 1, "one signing key, not {}", keys.len());
        let jwks: Vec<Value> = ctxs.iter().map(|c| c.keys.current().jwks()).collect();
        assert!(jwks.windows(2).all(|w| w[0] == w[1]), "every instance publishes the same key");
        for ctx in ctxs {
            ctx.store.close().await;
        }
    }
}

async fn kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
}

async fn keys_rotate_reaches_every_instance_within_a_second(with_redis: bool) {
    let Some(c) = cluster(2, with_redis, |_| {}).await else { return };
    let before = kids(&c.apps[0]).await;
    assert_eq!(before, kids(&c.apps[1]).await);
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command.args(["keys", "rotate"]).env("LATCHKEY_DATABASE_URL", &c.database_url);
    if let (Some(url), Some(prefix)) = (&c.apps[0].state.ctx.config.redis_url, &c.redis_prefix) {
        command.env("LATCHKEY_REDIS_URL", url).env("LATCHKEY_REDIS__KEY_PREFIX", prefix);
    }
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let rotated = Instant::now();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let new_kid = stdout.split_whitespace().nth(3).unwrap().trim_end_matches(';').to_string();
    for app in &c.apps {
        loop {
            if kids(app).await.first() == Some(&new_kid) {
                break;
            }
            assert!(rotated.elapsed() < Duration::from_secs(1), "instance on port {} still shows {before:?}", app.port);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn keys_rotate_on_the_command_line_reaches_every_instance_within_a_second_over_postgres() {
    keys_rotate_reaches_every_instance_within_a_second(false).await;
}

#[tokio::test]
async fn keys_rotate_on_the_command_line_reaches_every_instance_within_a_second_over_redis() {
    keys_rotate_reaches_every_instance_within_a_second(true).await;
}

/// Records when each event reached a feed subscriber.
#[derive(Default)]
pub struct Arrivals(Mutex<Vec<(FeedSignal, Instant)>>);

impl Subscriber for Arrivals {
    fn on_signal(&self, signal: &FeedSignal) {
        self.0.lock().unwrap().push((signal.clone(), Instant::now()));
    }
}

impl Arrivals {
    pub fn of(&self, wanted: &FeedEvent) -> Option<Instant> {
        self.0.lock().unwrap().iter().find(|(s, _)| *s == FeedSignal::Event(wanted.clone())).map(|(_, at)| *at)
    }

    pub fn signals(&self) -> Vec<FeedSignal> {
        self.0.lock().unwrap().iter().map(|(s, _)| s.clone()).collect()
    }
}

/// Ends a session on A 200 times; measures how long until B's feed has it.
async fn feed_delivery(with_redis: bool) {
    let Some(c) = cluster(2, with_redis, |_| {}).await else { return };
    let arrivals = Arc::new(Arrivals::default());
    c.apps[1].state.ctx.feed.subscribe(arrivals.clone());
    c.apps[0].signed_up("ada").await;
    let mut delays = Vec::new();
    for _ in 0..200 {
        let client = new_client();
        let r = c.apps[0].login_as(&client, "ada", PASSWORD).await;
        let token = cookie_value(&session_set_cookie(&r).unwrap());
        let event = FeedEvent::session_ended(&latchkey::crypto::token::token_hash(&token));
        let sent = Instant::now();
        assert_eq!(client.delete(c.apps[0].url("/api/logout")).send().await.unwrap().status(), 204);
        let answered = Instant::now();
        // By the time A has answered, B has it.
        let arrived = arrivals.of(&event).unwrap_or_else(|| panic!("not on B when A answered ({with_redis})"));
        assert!(arrived <= answered);
        delays.push(arrived.duration_since(sent));
    }
    delays.sort();
    let (p50, p99) = (delays[delays.len() / 2], delays[delays.len() * 99 / 100]);
    println!(
        "feed delivery over {}: logout on A → event applied on B, 200 times: p50 {:.2} ms, p99 {:.2} ms",
        if with_redis { "Redis" } else { "PostgreSQL" },
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logout_on_one_instance_is_on_the_others_feed_before_it_answers_over_postgres() {
    feed_delivery(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logout_on_one_instance_is_on_the_others_feed_before_it_answers_over_redis() {
    feed_delivery(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_listener_is_noticed_and_resumed_without_a_restart() {
    let Some(c) = cluster(1, false, |_| {}).await else { return };
    let app = &c.apps[0];
    let arrivals = Arc::new(Arrivals::default());
    app.state.ctx.feed.subscribe(arrivals.clone());
    let killer = latchkey::store::Store::connect(&c.database_url, Default::default()).await.unwrap();
    let killed = killer.terminate_feed_listeners(None).await.unwrap();
    assert!(killed >= 1, "the listener's connection was found and ended");
    let started = Instant::now();
    while arrivals.signals() != [FeedSignal::Lost, FeedSignal::Resumed] {
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", arrivals.signals());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(app.state.ctx.feed.is_up());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_or_token_made_on_one_instance_works_on_every_one_and_ends_on_every_one() {
    let Some(c) = cluster(3, true, |_| {}).await else { return };
    let r = c.apps[0].signup_as(&new_client(), "ada", PASSWORD).await;
    assert_eq!(r.status(), 201);
    let cookie = session_set_cookie(&r).unwrap().split(';').next().unwrap().to_string();
    let tokens = c.apps[1].tokens("ada", PASSWORD).await;
    let (access, refresh) = (tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap());
    let check = |app: &TestApp| new_client().get(app.url("/api/check_session")).header("cookie", cookie.clone()).send();
    for app in &c.apps {
        assert_eq!(check(app).await.unwrap().status(), 200);
        assert_eq!(app.get_bearer("/api/me", access).await.status(), 200);
    }
    let logout = new_client().delete(c.apps[2].url("/api/logout")).header("cookie", cookie.clone()).send();
    assert_eq!(logout.await.unwrap().status(), 204);
    let revoke = new_client().post(c.apps[2].url("/api/token/revoke")).json(&json!({"refresh_token": refresh})).send();
    assert_eq!(revoke.await.unwrap().status(), 204);
    for app in &c.apps {
        assert_eq!(check(app).await.unwrap().status(), 204, "the replayed cookie is dead everywhere");
        assert_eq!(app.refresh(refresh).await.status(), 401, "revoked everywhere");
    }
}
