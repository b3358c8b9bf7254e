//! The auth cache never lets through what was revoked: a logged-out cookie, a revoked
//! session, a deleted user, removed roles, on one instance and across instances (over
//! PostgreSQL notifications and over Redis), also while and right after the feed is
//! lost. Every check first proves the cache was warm (its hit count moved).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::cluster::{cluster, Cluster};
use crate::helpers::*;

/// `GET /api/check_session` with this exact cookie (no jar), as a replaying attacker would.
async fn check(app: &TestApp, cookie: &str) -> u16 {
    let r = new_client().get(app.url("/api/check_session")).header("cookie", cookie).send().await.unwrap();
    r.status().as_u16()
}

/// Makes `app` hold `cookie`'s session in its cache: the second check is a hit.
async fn warm(app: &TestApp, cookie: &str) {
    cache_on(app).await;
    assert_eq!(check(app, cookie).await, 200);
    let (hits, _) = app.state.ctx.cache.counts();
    assert_eq!(check(app, cookie).await, 200);
    assert!(app.state.ctx.cache.counts().0 > hits, "the second check on port {} was answered from the cache", app.port);
}

/// Waits until `app` answers from its cache: a feed that just (re)connected keeps it off
/// until the other instances have heard this one.
async fn cache_on(app: &TestApp) {
    let started = Instant::now();
    while !app.state.ctx.cache.is_on() {
        assert!(started.elapsed() < Duration::from_secs(10), "the cache on port {} never came on", app.port);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Signs `name` up on `app` and returns the session cookie (`name=value`).
async fn session_of(app: &TestApp, name: &str) -> String {
    let r = app.signup_as(&new_client(), name, PASSWORD).await;
    assert_eq!(r.status(), 201);
    session_set_cookie(&r).unwrap().split(';').next().unwrap().to_string()
}

async fn login_cookie(app: &TestApp, name: &str) -> String {
    let r = app.login_as(&new_client(), name, PASSWORD).await;
    assert_eq!(r.status(), 200);
    session_set_cookie(&r).unwrap().split(';').next().unwrap().to_string()
}

/// Every kind of revocation, made on `revoker`, seen at once by a warm `checker`.
async fn revocations_reach_a_warm_cache(revoker: &TestApp, checker: &TestApp) {
    // Logout.
    let cookie = session_of(revoker, "ada").await;
    warm(checker, &cookie).await;
    let r = new_client().delete(revoker.url("/api/logout")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(check(checker, &cookie).await, 204, "a logged-out cookie replayed");

    // One session ended by its owner from another session; all others ended.
    let (first, second, third) =
        (login_cookie(revoker, "ada").await, login_cookie(revoker, "ada").await, login_cookie(revoker, "ada").await);
    for c in [&first, &second, &third] {
        warm(checker, c).await;
    }
    let sessions: serde_json::Value = new_client()
        .get(revoker.url("/api/me/sessions"))
        .header("cookie", &first)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second_id =
        sessions.as_array().unwrap().iter().find(|s| s["current"] == false).unwrap()["id"].as_i64().unwrap();
    let r = new_client()
        .delete(revoker.url(&format!("/api/me/sessions/{second_id}")))
        .header("cookie", &first)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let alive: Vec<u16> = futures::future::join_all([&second, &third].map(|c| check(checker, c))).await;
    assert_eq!(alive.iter().filter(|s| **s == 204).count(), 1, "exactly the revoked one is gone: {alive:?}");
    let r = new_client().delete(revoker.url("/api/me/sessions")).header("cookie", &first).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(check(checker, &second).await, 204);
    assert_eq!(check(checker, &third).await, 204);
    assert_eq!(check(checker, &first).await, 200, "the caller's own session stays");

    // Password change ends every other session.
    let other = login_cookie(revoker, "ada").await;
    warm(checker, &other).await;
    let r = new_client()
        .put(revoker.url("/api/me/password"))
        .header("cookie", &first)
        .json(&json!({"current_password": PASSWORD, "new_password": "an-entirely-new-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(check(checker, &other).await, 204, "ended by the password change");

    // Roles removed: the admin API refuses at once, by cookie and by Bearer token.
    latchkey::service::accounts::create_user(&revoker.state.ctx, "root", None, PASSWORD, true).await.unwrap();
    latchkey::service::accounts::create_user(&revoker.state.ctx, "boss", None, PASSWORD, true).await.unwrap();
    let boss = login_cookie(revoker, "boss").await;
    let boss_token = revoker.tokens("boss", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    let admin_call = |cookie: Option<&str>, token: Option<&str>| {
        let mut r = new_client().get(checker.url("/api/users"));
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    for _ in 0..2 {
        assert_eq!(admin_call(Some(&boss), None).await, 200);
        assert_eq!(admin_call(None, Some(&boss_token)).await, 200);
    }
    let root = login_cookie(revoker, "root").await;
    let boss_id = latchkey::service::users::user_id_by_username(&revoker.state.ctx, "boss").await.unwrap();
    let r = new_client()
        .put(revoker.url(&format!("/api/users/{boss_id}/roles")))
        .header("cookie", &root)
        .json(&json!({"roles": ["user"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(admin_call(Some(&boss), None).await, 403, "roles removed: cookie");
    assert_eq!(admin_call(None, Some(&boss_token)).await, 403, "roles removed: token");

    // A deleted user: neither the cookie nor the token work any more.
    warm(checker, &boss).await;
    assert_eq!(checker.get_bearer("/api/me", &boss_token).await.status(), 200);
    let r = new_client()
        .delete(revoker.url(&format!("/api/users/{boss_id}")))
        .header("cookie", &root)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(check(checker, &boss).await, 204, "a deleted user's cookie");
    assert_error(checker.get_bearer("/api/me", &boss_token).await, 401, "invalid_token").await;
}

#[tokio::test]
async fn on_one_instance_the_cache_never_outlives_a_revocation() {
    let app = TestApp::spawn().await;
    revocations_reach_a_warm_cache(&app, &app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn across_instances_over_postgres_the_cache_never_outlives_a_revocation() {
    let Some(c) = cluster(2, false, |_| {}).await else { return };
    revocations_reach_a_warm_cache(&c.apps[1], &c.apps[0]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn across_instances_over_redis_the_cache_never_outlives_a_revocation() {
    let Some(c) = cluster(2, true, |_| {}).await else { return };
    revocations_reach_a_warm_cache(&c.apps[1], &c.apps[0]).await;
}

/// A session made through the service layer (a login without the password hash, so a
/// thousand rounds stay quick); its cookie.
async fn quick_session(app: &TestApp, user_id: i64) -> String {
    let ctx = &app.state.ctx;
    let mut change = ctx.begin().await.unwrap();
    let issued =
        latchkey::service::sessions::create(ctx, &mut change, user_id, &[], &latchkey::service::Client::local())
            .await
            .unwrap();
    change.commit().await.unwrap();
    format!("latchkey_session={}", issued.token)
}

/// Logout on B, then at once a check on warm A: refused, `rounds` times in a row.
async fn back_to_back(c: &Cluster, rounds: usize) {
    let (a, b) = (&c.apps[0], &c.apps[1]);
    let user = a.signed_up("ada").await["id"].as_i64().unwrap();
    let mut misses = 0;
    let started = Instant::now();
    for _ in 0..rounds {
        let cookie = quick_session(b, user).await;
        warm(a, &cookie).await;
        let r = new_client().delete(b.url("/api/logout")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), 204);
        if check(a, &cookie).await != 204 {
            misses += 1;
        }
    }
    println!(
        "{rounds} logouts on B each followed at once by a check on warm A ({}): {misses} misses, {:.1} s",
        a.state.ctx.feed.transport(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(misses, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_ended_on_b_is_refused_by_warm_a_on_the_very_next_request_over_postgres() {
    let Some(c) = cluster(2, false, |_| {}).await else { return };
    back_to_back(&c, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_ended_on_b_is_refused_by_warm_a_on_the_very_next_request_over_redis() {
    let Some(c) = cluster(2, true, |_| {}).await else { return };
    back_to_back(&c, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn while_and_after_the_feed_is_lost_the_cache_is_bypassed_then_used_again() {
    let Some(c) = cluster(2, false, |_| {}).await else { return };
    let (a, b) = (&c.apps[0], &c.apps[1]);
    let user = a.signed_up("ada").await["id"].as_i64().unwrap();
    let before = quick_session(b, user).await;
    warm(a, &before).await;

    // Cut A's listener: A stops trusting what it cached, at once.
    let killer = latchkey::store::Store::connect(&c.database_url, Default::default()).await.unwrap();
    let killed = killer.terminate_feed_listeners(Some(a.state.ctx.feed.origin())).await.unwrap();
    assert_eq!(killed, 1);
    // Whatever A's feed state, a logout on B is refused by A from now on.
    let during = quick_session(b, user).await;
    assert_eq!(check(a, &during).await, 200);
    let r = new_client().delete(b.url("/api/logout")).header("cookie", &before).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(check(a, &before).await, 204, "revoked while A's feed was down");

    // Once A listens again, revocations are applied and the cache is used again.
    let started = Instant::now();
    while !a.state.ctx.feed.is_up() {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    warm(a, &during).await;
    let r = new_client().delete(b.url("/api/logout")).header("cookie", &during).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(check(a, &during).await, 204, "revoked right after A's feed came back");
}

/// Moves `app`'s clock to just after a whole second, so that the few milliseconds a
/// session takes to start and warm up do not carry it into the next second (times are
/// stored in whole seconds).
fn to_the_start_of_a_second(app: &TestApp) {
    let into_second = app.clock.now_ms().rem_euclid(1000) as u64;
    app.clock.advance(Duration::from_millis(1000 - into_second + 5));
}

#[tokio::test]
async fn expiry_is_honoured_to_the_second_while_cached() {
    // Real time passes too while the cache comes on: wait for it before the session
    // starts, so that the clock is moved from the session's start.
    let app = TestApp::spawn_with(|c| c.session.idle_timeout = "90d".parse().unwrap()).await;
    cache_on(&app).await;
    to_the_start_of_a_second(&app);
    let cookie = session_of(&app, "ada").await;
    warm(&app, &cookie).await;
    app.clock.advance(Duration::from_secs(30 * 86_400 - 1));
    assert_eq!(check(&app, &cookie).await, 200, "one second before the absolute timeout");
    app.clock.advance(Duration::from_secs(2));
    assert_eq!(check(&app, &cookie).await, 204, "past the absolute timeout");

    let app = TestApp::spawn_with(|c| c.session.idle_timeout = "1h".parse().unwrap()).await;
    cache_on(&app).await;
    to_the_start_of_a_second(&app);
    let cookie = session_of(&app, "ada").await;
    warm(&app, &cookie).await;
    app.clock.advance(Duration::from_secs(3599));
    assert_eq!(check(&app, &cookie).await, 200, "one second before the idle timeout");
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(check(&app, &cookie).await, 204, "an hour after the last use");

    let app = TestApp::spawn().await;
    cache_on(&app).await;
    app.signed_up("ada").await;
    let token = app.tokens("ada", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    for _ in 0..2 {
        assert_eq!(app.get_bearer("/api/me", &token).await.status(), 200);
    }
    app.clock.advance(Duration::from_secs(15 * 60 + 31));
    assert_error(app.get_bearer("/api/me", &token).await, 401, "token_expired").await;
}
