//! Dependencies failing under load: PostgreSQL or Redis cut (connections closed) or
//! stalled (a dead network) by a TCP proxy in the middle. Clients get 503 `unavailable`
//! within a bounded time, never a hang or a 500; `/readyz` says 503; nothing half
//! written; and service returns by itself when the dependency does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cluster::redis_url;
use crate::helpers::*;
use crate::proxy::Proxy;

/// What one request of the background load saw.
struct Seen {
    status: u16,
    took: Duration,
    signed_up: Option<String>,
}

/// Logins, session checks and signups in a loop on `workers` clients until `stop`.
fn load(
    app: &TestApp,
    workers: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<Seen>>> {
    (0..workers)
        .map(|w| {
            let base = app.base.clone();
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                let client = new_client();
                let mut seen = Vec::new();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let started = Instant::now();
                    let (request, name) = match i % 3 {
                        0 => {
                            let name = format!("w{w}n{i}");
                            let body = json!({"username": name, "password": PASSWORD});
                            (client.post(format!("{base}/api/signup")).json(&body), Some(name))
                        }
                        1 => (client.get(format!("{base}/api/check_session")), None),
                        _ => {
                            let body = json!({"username": "ada", "password": PASSWORD});
                            (client.post(format!("{base}/api/login")).json(&body), None)
                        }
                    };
                    let status = match request.timeout(Duration::from_secs(30)).send().await {
                        Ok(r) => r.status().as_u16(),
                        Err(e) => panic!("no answer at all: {e}"),
                    };
                    let signed_up = if status == 201 { name } else { None };
                    seen.push(Seen { status, took: started.elapsed(), signed_up });
                }
                seen
            })
        })
        .collect()
}

async fn ready(app: &TestApp) -> u16 {
    app.get("/readyz").await.status().as_u16()
}

async fn wait_until(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "{what} not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn database_failure(stall: bool) {
    let Some(admin_url) = postgres_url() else { return };
    let (direct_url, db) = fresh_postgres(&admin_url).await;
    let upstream = tokio::net::lookup_host(host_port(&direct_url)).await.unwrap().next().unwrap();
    let proxy = Proxy::start(upstream).await;
    let mut config = test_config();
    config.database_url = direct_url.replacen(&host_port(&direct_url), &proxy.addr.to_string(), 1);
    config.database.acquire_timeout = "1s".parse().unwrap();
    config.database.statement_timeout = "1s".parse().unwrap();
    config.throttle.login_per_account = 1_000_000;
    let app = TestApp::start(config, db).await;
    app.signed_up("ada").await;
    app.wait_for_feed().await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers = load(&app, 8, Arc::clone(&stop));
    tokio::time::sleep(Duration::from_millis(500)).await;
    if stall {
        proxy.stall();
    } else {
        proxy.cut();
    }
    wait_until("/readyz 503", Duration::from_secs(5), async || ready(&app).await == 503).await;
    let r = app.login_as(&new_client(), "ada", PASSWORD).await;
    assert_error(r, 503, "unavailable").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.restore();
    wait_until("service back", Duration::from_secs(15), async || {
        ready(&app).await == 200 && app.login_as(&new_client(), "ada", PASSWORD).await.status() == 200
    })
    .await;
    wait_until("the feed back", Duration::from_secs(15), async || app.state.ctx.feed.is_up()).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);

    let seen: Vec<Seen> = futures::future::join_all(workers).await.into_iter().flat_map(|r| r.unwrap()).collect();
    let unavailable = seen.iter().filter(|s| s.status == 503).count();
    assert!(unavailable > 0, "the cut was seen by the load");
    for s in &seen {
        assert!([200, 201, 204, 503].contains(&s.status), "unexpected status {}", s.status);
        // acquire (1 s) + statement (1 s) bound the wait, plus a hash and scheduling.
        assert!(s.took < Duration::from_secs(5), "a request took {:?}", s.took);
    }
    let mut checked = 0;
    for name in seen.iter().filter_map(|s| s.signed_up.as_deref()) {
        assert_eq!(app.login_as(&new_client(), name, PASSWORD).await.status(), 200, "{name} got 201, so it exists");
        checked += 1;
    }
    assert!(checked > 0);
    println!(
        "database {}: {} requests, {} answered 503, slowest {:?}",
        if stall { "stalled" } else { "cut" },
        seen.len(),
        unavailable,
        seen.iter().map(|s| s.took).max().unwrap()
    );
}

/// `host:port` of a database URL.
fn host_port(url: &str) -> String {
    let rest = url.split_once('@').map_or(url, |(_, r)| r);
    let rest = rest.split_once("://").map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_cut_mid_load_answers_503_quickly_and_recovers_by_itself() {
    database_failure(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_database_network_answers_503_quickly_and_recovers_by_itself() {
    database_failure(true).await;
}

async fn redis_failure(stall: bool) {
    let (Some(admin_url), Some(redis)) = (postgres_url(), redis_url().await) else { return };
    let (database_url, db) = fresh_postgres(&admin_url).await;
    let upstream = tokio::net::lookup_host(host_port(&redis)).await.unwrap().next().unwrap();
    let proxy = Proxy::start(upstream).await;
    let mut config = test_config();
    config.database_url = database_url;
    config.redis_url = Some(format!("redis://{}", proxy.addr));
    config.redis.key_prefix = format!("latchkey-test:{}:", &latchkey::crypto::token::new_token()[..12]);
    let app = TestApp::start(config, db).await;
    app.wait_for_feed().await;
    app.signed_up("ada").await;
    app.signed_up("bob").await;
    assert_eq!(ready(&app).await, 200);

    if stall {
        proxy.stall();
    } else {
        proxy.cut();
    }
    let started = Instant::now();
    assert_eq!(app.login_as(&new_client(), "ada", PASSWORD).await.status(), 200, "logins go on");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    let (checked, _) = crate::throttling::burst_of_wrong_passwords(&[&app], "bob", 30).await;
    assert!(checked <= 10, "the fallback limiter holds the line: {checked}");
    let readiness = app.get("/readyz").await;
    assert_eq!(readiness.status(), 200, "the fallback serves: the instance stays in rotation");
    let body: serde_json::Value = readiness.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "degraded", "degraded": ["redis"]}));
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("latchkey_throttle_fallback_total"), "{metrics}");
    wait_until("the feed seen lost", Duration::from_secs(10), async || !app.state.ctx.feed.is_up()).await;

    proxy.restore();
    wait_until("/readyz ready", Duration::from_secs(10), async || {
        let body: serde_json::Value = app.get("/readyz").await.json().await.unwrap_or_default();
        body["status"] == "ready"
    })
    .await;
    wait_until("the feed back", Duration::from_secs(15), async || app.state.ctx.feed.is_up()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_cut_keeps_logins_working_on_the_database_limiter() {
    redis_failure(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_redis_keeps_logins_working_on_the_database_limiter() {
    redis_failure(true).await;
}
