//! Credentials against the events that end them, on two instances over one PostgreSQL
//! database (with and without Redis where the feed or the limiter is involved): logins
//! racing a password reset, a password change, an admin's removal of the factors, an
//! admin's revocation and the account's deletion; second-step challenges outliving a
//! reset; revocations while one instance's Redis link is cut or stalled; the login
//! throttle and readiness across a Redis outage; the mail budget; token logins listed
//! and ended like sessions; passkey ceremonies presented by another account.
//!
//! Each race runs many rounds and prints what it measured before it asserts. These tests
//! need PostgreSQL (and Redis, or `redis-server` for a private one): outside CI they are
//! skipped without it, under `CI=true` they fail.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey::config::Config;
use reqwest::Client;
use serde_json::{json, Value};

use crate::cluster::{cluster, cluster_with, redis_url, Cluster, PrivateRedis};
use crate::helpers::*;
use crate::proxy::Proxy;
use crate::recovery::signup_with_email;
use crate::smtp::SmtpSink;
use crate::soft_authenticator::SoftAuthenticator;

/// Rounds × parallel logins of each race: enough for today's code to show survivors
/// in most runs, few enough for the module to stay within seconds.
const ROUNDS: usize = 20;
const LOGINS: usize = 10;

/// The public URL of the clusters that use passkeys: a relying party the software
/// authenticator can sign for (both instances publish it, as behind one balancer).
const PASSKEY_URL: &str = "http://localhost:8080";

// Racing logins

/// What one racing login came away with.
#[derive(Debug)]
enum Got {
    /// A session cookie, `latchkey_session=…`.
    Cookie(String),
    /// A token login: its refresh token.
    Token(String),
    /// 401 `invalid_credentials`.
    Refused,
    /// Anything else: status and body.
    Unexpected(u16, String),
}

/// Room for failed logins: every login after a reset or change uses the old password,
/// and hundreds of failures must not turn into 429s.
fn unthrottled(config: &mut Config) {
    config.throttle.login_per_account = 1_000_000;
    config.throttle.login_per_ip = 1_000_000;
}

/// For the races whose event carries no password: one hashing thread per instance and a
/// hash of a few milliseconds (still far below production cost), so that the logins
/// queue behind each other and the event, sent once all of them have read the account,
/// lands while most are between that read and their session.
fn queued_logins(config: &mut Config) {
    unthrottled(config);
    config.password.hash_threads = 1;
    config.password.argon2_memory_kib = 8192;
}

fn with_mail(config: &mut Config, url: &str) {
    config.smtp.url = Some(url.to_string());
    config.smtp.from = Some("latchkey <auth@example.com>".into());
    config.smtp.timeout = latchkey::config::Dur::from_secs(2);
    config.throttle.email_per_ip = 10_000;
}

/// `n` password logins for `name` at once, spread over the instances and alternating
/// cookie (`POST /api/login`) and token (`POST /api/token`) logins, with `event` sent
/// alongside. When `after_every_read`, the event is sent only once every login has read
/// the account (it is hashing the password, or has answered): then each of them
/// authenticated before the event, and none may outlive it. Returns the logins'
/// outcomes and the event's status.
async fn race(
    c: &Cluster,
    name: &str,
    password: &str,
    n: usize,
    after_every_read: bool,
    event: impl Future<Output = u16>,
) -> (Vec<Got>, u16) {
    let answered = Arc::new(AtomicUsize::new(0));
    let logins: Vec<_> = (0..n)
        .map(|i| {
            let token = (i / c.apps.len()) % 2 == 1;
            let url = c.apps[i % c.apps.len()].url(if token { "/api/token" } else { "/api/login" });
            let body = json!({"username": name, "password": password});
            let answered = Arc::clone(&answered);
            tokio::spawn(async move {
                let r = new_client().post(url).json(&body).send().await.expect("login request");
                let status = r.status().as_u16();
                let cookie = session_set_cookie(&r).map(|c| c.split(';').next().unwrap_or_default().to_string());
                let text = r.text().await.unwrap_or_default();
                answered.fetch_add(1, Ordering::SeqCst);
                outcome(status, token, cookie, &text)
            })
        })
        .collect();
    let hashers: Vec<_> = c.apps.iter().map(|a| a.state.ctx.hasher.clone()).collect();
    let event = async {
        if after_every_read {
            let started = Instant::now();
            // A hashing job is counted from before it is queued until just before its
            // answer is handed back, so the sum never counts a login twice.
            while hashers.iter().map(|h| h.queued()).sum::<usize>() + answered.load(Ordering::SeqCst) < n {
                assert!(started.elapsed() < Duration::from_secs(10), "the racing logins never all reached the hash");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        event.await
    };
    let (status, logins) = tokio::join!(event, futures::future::join_all(logins));
    (logins.into_iter().map(|l| l.expect("login task")).collect(), status)
}

fn outcome(status: u16, token: bool, cookie: Option<String>, text: &str) -> Got {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    match status {
        200 if token => match body["refresh_token"].as_str() {
            Some(refresh) => Got::Token(refresh.to_string()),
            None => Got::Unexpected(status, text.to_string()),
        },
        200 => match cookie {
            Some(cookie) => Got::Cookie(cookie),
            None => Got::Unexpected(status, format!("no session cookie: {text}")),
        },
        401 if body["error"] == "invalid_credentials" => Got::Refused,
        _ => Got::Unexpected(status, text.to_string()),
    }
}

/// `GET /api/check_session` with exactly this cookie (no jar), as a replaying attacker.
async fn check(app: &TestApp, cookie: &str) -> u16 {
    let r = new_client().get(app.url("/api/check_session")).header("cookie", cookie).send().await.unwrap();
    r.status().as_u16()
}

/// Whether what a login came away with still works anywhere: a cookie that any instance
/// still answers 200 for, or a refresh token that still gets a new pair.
async fn alive(c: &Cluster, got: &Got, i: usize) -> bool {
    match got {
        Got::Cookie(cookie) => {
            let mut any = false;
            for app in &c.apps {
                any |= check(app, cookie).await == 200;
            }
            any
        }
        Got::Token(refresh) => c.apps[i % c.apps.len()].refresh(refresh).await.status() == 200,
        Got::Refused | Got::Unexpected(..) => false,
    }
}

/// The count of a race over many rounds.
#[derive(Default)]
struct Tally {
    logins: usize,
    succeeded: usize,
    refused: usize,
    survivors: usize,
    unexpected: Vec<String>,
}

impl Tally {
    /// Counts a round whose event has answered: every login that got in must be dead now.
    async fn add(&mut self, c: &Cluster, round: usize, logins: &[Got]) {
        for (i, got) in logins.iter().enumerate() {
            self.logins += 1;
            match got {
                Got::Cookie(_) | Got::Token(_) => self.succeeded += 1,
                Got::Refused => self.refused += 1,
                Got::Unexpected(status, body) => self.unexpected.push(format!("round {round}: {status} {body}")),
            }
            if alive(c, got, i).await {
                self.survivors += 1;
            }
        }
    }

    /// Prints the figures, then holds the race to zero survivors and no other answers.
    fn report(&self, race: &str) {
        eprintln!(
            "{race}: {} racing logins ({ROUNDS} rounds × {LOGINS}): {} answered 200, {} answered 401, {} anything \
             else; survivors per 1,000 racing logins: {:.1} ({} in all)",
            self.logins,
            self.succeeded,
            self.refused,
            self.unexpected.len(),
            self.survivors as f64 * 1000.0 / self.logins as f64,
            self.survivors,
        );
        assert!(
            self.survivors == 0 && self.unexpected.is_empty(),
            "{race}: {} survivors, answers other than 200 and 401 invalid_credentials: {:?}",
            self.survivors,
            &self.unexpected[..self.unexpected.len().min(5)]
        );
    }
}

async fn forgot(app: &TestApp, login: &str) -> u16 {
    let r = new_client().post(app.url("/api/password/forgot")).json(&json!({"username": login})).send().await;
    r.unwrap().status().as_u16()
}

async fn reset(app: &TestApp, token: &str, password: &str) -> u16 {
    let r = new_client()
        .post(app.url("/api/password/reset"))
        .json(&json!({"token": token, "new_password": password}))
        .send()
        .await;
    r.unwrap().status().as_u16()
}

/// Creates an admin (as `latchkey user create --admin`) and logs a client in as it.
async fn admin(c: &Cluster, name: &str) -> Client {
    latchkey::service::accounts::create_user(&c.apps[0].state.ctx, name, None, PASSWORD, true).await.unwrap();
    let client = new_client();
    assert_eq!(c.apps[0].login_as(&client, name, PASSWORD).await.status(), 200);
    client
}

/// `DELETE url` by `client`, sent only when awaited (a race sends its event when due).
async fn send_delete(client: &Client, url: String) -> u16 {
    client.delete(url).send().await.unwrap().status().as_u16()
}

async fn user_id(c: &Cluster, name: &str) -> i64 {
    latchkey::service::users::user_id_by_username(&c.apps[0].state.ctx, name).await.unwrap()
}

// Logins racing the events that end every session

async fn logins_racing_a_password_reset(with_redis: bool) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let Some(c) = cluster(2, with_redis, |config| {
        with_mail(config, &url);
        unthrottled(config);
        config.throttle.email_per_account = 1000;
    })
    .await
    else {
        return;
    };
    assert_eq!(signup_with_email(&c.apps[0], &new_client(), "ada", "ada@example.com").await.status(), 201);
    sink.wait_for("ada@example.com", 0).await;
    let mut password = PASSWORD.to_string();
    let mut tally = Tally::default();
    for round in 0..ROUNDS {
        assert_eq!(forgot(&c.apps[round % 2], "ada").await, 202);
        let token = sink.wait_for("ada@example.com", round + 1).await.token("reset-password");
        let new_password = format!("reset-{round}-{PASSWORD}");
        let resetter = &c.apps[(round + 1) % 2];
        let (logins, status) = race(&c, "ada", &password, LOGINS, false, reset(resetter, &token, &new_password)).await;
        assert_eq!(status, 204, "round {round}: the reset");
        tally.add(&c, round, &logins).await;
        password = new_password;
    }
    tally.report(&format!("logins with the old password racing a reset ({})", transport(with_redis)));
}

fn transport(with_redis: bool) -> &'static str {
    if with_redis {
        "PostgreSQL + Redis"
    } else {
        "PostgreSQL"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_with_the_old_password_racing_a_reset_leave_no_session_or_token_alive_over_postgres() {
    logins_racing_a_password_reset(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_with_the_old_password_racing_a_reset_leave_no_session_or_token_alive_over_redis() {
    logins_racing_a_password_reset(true).await;
}

async fn logins_racing_a_password_change(with_redis: bool) {
    let Some(c) = cluster(2, with_redis, unthrottled).await else { return };
    c.apps[0].signed_up("ada").await;
    let mut password = PASSWORD.to_string();
    let mut tally = Tally::default();
    for round in 0..ROUNDS {
        // A fresh login each round: a password change needs a recent authentication.
        let changer = new_client();
        assert_eq!(c.apps[round % 2].login_as(&changer, "ada", &password).await.status(), 200);
        let new_password = format!("changed-{round}-{PASSWORD}");
        let change = async {
            let body = json!({"current_password": password, "new_password": new_password});
            let r = changer.put(c.apps[(round + 1) % 2].url("/api/me/password")).json(&body).send().await;
            r.unwrap().status().as_u16()
        };
        let (logins, status) = race(&c, "ada", &password, LOGINS, false, change).await;
        assert_eq!(status, 204, "round {round}: the change");
        tally.add(&c, round, &logins).await;
        for app in &c.apps {
            let r = changer.get(app.url("/api/check_session")).send().await.unwrap();
            assert_eq!(r.status(), 200, "round {round}: the session that changed the password stays");
        }
        password = new_password;
    }
    tally.report(&format!("logins with the old password racing a password change ({})", transport(with_redis)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_with_the_old_password_racing_a_password_change_leave_nothing_alive_over_postgres() {
    logins_racing_a_password_change(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_with_the_old_password_racing_a_password_change_leave_nothing_alive_over_redis() {
    logins_racing_a_password_change(true).await;
}

/// An admin ends all of a user's sessions and token logins while logins that have
/// already checked the password are still under way: none of them may outlive it.
async fn logins_racing_an_admin_revocation(with_redis: bool) {
    let Some(c) = cluster(2, with_redis, queued_logins).await else { return };
    let root = admin(&c, "root").await;
    c.apps[0].signed_up("ada").await;
    let id = user_id(&c, "ada").await;
    let mut tally = Tally::default();
    for round in 0..ROUNDS {
        let revoke = send_delete(&root, c.apps[(round + 1) % 2].url(&format!("/api/users/{id}/sessions")));
        let (logins, status) = race(&c, "ada", PASSWORD, LOGINS, true, revoke).await;
        assert_eq!(status, 204, "round {round}: the revocation");
        tally.add(&c, round, &logins).await;
    }
    tally.report(&format!("logins already past the password racing an admin's revocation ({})", transport(with_redis)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_past_the_password_racing_an_admin_revocation_leave_nothing_alive_over_postgres() {
    logins_racing_an_admin_revocation(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_past_the_password_racing_an_admin_revocation_leave_nothing_alive_over_redis() {
    logins_racing_an_admin_revocation(true).await;
}

/// An admin removes a user's second factors (a lost or stolen device): like a password
/// reset, that ends every session and token login of the account, the ones still being
/// made by logins that checked the password before it included. The account holds a
/// passkey (re-registered every round), so the removal always removes something while
/// password logins still need no second step.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_past_the_password_racing_an_admin_factor_removal_leave_nothing_alive() {
    let Some(c) = cluster(2, false, |config| {
        queued_logins(config);
        config.public_url = PASSKEY_URL.into();
    })
    .await
    else {
        return;
    };
    let root = admin(&c, "root").await;
    c.apps[0].signed_up("ada").await;
    let id = user_id(&c, "ada").await;
    let mut authenticator = SoftAuthenticator::with_origin(PASSKEY_URL);
    let mut tally = Tally::default();
    let mut earlier_alive = 0;
    for round in 0..ROUNDS {
        let owner = new_client();
        let app = &c.apps[round % 2];
        assert_eq!(app.login_as(&owner, "ada", PASSWORD).await.status(), 200);
        let started = json_of(owner.post(app.url("/api/me/passkeys/registration")).send().await.unwrap(), 200).await;
        let credential = authenticator.register(&started["options"]);
        let body = json!({"ceremony": started["ceremony"], "name": format!("Key {round}"), "credential": credential});
        json_of(owner.post(app.url("/api/me/passkeys")).json(&body).send().await.unwrap(), 201).await;

        let remove = send_delete(&root, c.apps[(round + 1) % 2].url(&format!("/api/users/{id}/second-factors")));
        let (logins, status) = race(&c, "ada", PASSWORD, LOGINS, true, remove).await;
        assert_eq!(status, 204, "round {round}: the removal");
        tally.add(&c, round, &logins).await;
        for app in &c.apps {
            if owner.get(app.url("/api/check_session")).send().await.unwrap().status() == 200 {
                earlier_alive += 1;
                break;
            }
        }
    }
    eprintln!("sessions from before an admin's factor removal still alive after it: {earlier_alive} of {ROUNDS}");
    tally.report("logins already past the password racing an admin's factor removal (PostgreSQL)");
    assert_eq!(earlier_alive, 0, "sessions made before the removal outlived it");
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap()
}

// Logins racing the account's deletion

async fn logins_racing_a_deletion(with_redis: bool) {
    let Some(c) = cluster(2, with_redis, queued_logins).await else { return };
    let root = admin(&c, "root").await;
    let mut tally = Tally::default();
    for round in 0..ROUNDS {
        let name = format!("doomed{round}");
        let id = c.apps[round % 2].signed_up(&name).await["id"].as_i64().unwrap();
        let delete = send_delete(&root, c.apps[(round + 1) % 2].url(&format!("/api/users/{id}")));
        let (logins, status) = race(&c, &name, PASSWORD, LOGINS, true, delete).await;
        assert_eq!(status, 204, "round {round}: the deletion");
        tally.add(&c, round, &logins).await;
    }
    tally.report(&format!("logins racing the account's deletion ({})", transport(with_redis)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_racing_the_accounts_deletion_answer_200_or_401_and_leave_nothing_alive_over_postgres() {
    logins_racing_a_deletion(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logins_racing_the_accounts_deletion_answer_200_or_401_and_leave_nothing_alive_over_redis() {
    logins_racing_a_deletion(true).await;
}

/// Refreshes racing the account's deletion: each answers a new pair (dead once the
/// deletion is through) or 401 `invalid_token`, never a 404 or a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refreshes_racing_the_accounts_deletion_answer_200_or_401_and_leave_nothing_alive() {
    let Some(c) = cluster(2, false, unthrottled).await else { return };
    let root = admin(&c, "root").await;
    let mut answers = std::collections::BTreeMap::<u16, usize>::new();
    for round in 0..ROUNDS {
        let name = format!("leaving{round}");
        let id = c.apps[round % 2].signed_up(&name).await["id"].as_i64().unwrap();
        let mut refresh_tokens = Vec::new();
        for i in 0..LOGINS {
            let pair = c.apps[i % 2].tokens(&name, PASSWORD).await;
            refresh_tokens.push(pair["refresh_token"].as_str().unwrap().to_string());
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(LOGINS + 1));
        let refreshes = refresh_tokens.iter().enumerate().map(|(i, token)| {
            let (barrier, app) = (Arc::clone(&barrier), &c.apps[i % 2]);
            async move {
                barrier.wait().await;
                let r = app.refresh(token).await;
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or_default();
                (status, body)
            }
        });
        let delete = async {
            barrier.wait().await;
            send_delete(&root, c.apps[(round + 1) % 2].url(&format!("/api/users/{id}"))).await
        };
        let (results, deleted) = tokio::join!(futures::future::join_all(refreshes), delete);
        assert_eq!(deleted, 204, "round {round}: the deletion");
        for (status, body) in results {
            *answers.entry(status).or_default() += 1;
            match status {
                200 => {
                    let again = c.apps[round % 2].refresh(body["refresh_token"].as_str().unwrap()).await;
                    assert_error(again, 401, "invalid_token").await;
                }
                401 => assert_eq!(body["error"], "invalid_token", "round {round}: {body}"),
                other => panic!("round {round}: a refresh racing the deletion answered {other}: {body}"),
            }
        }
    }
    eprintln!("refreshes racing the account's deletion: {answers:?} (status: count)");
}

// A second-step challenge does not outlive a password reset

/// A TOTP code of the step `offset` steps from `app`'s now.
fn totp(app: &TestApp, secret: &str, offset: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_string()).to_bytes().expect("base32 secret");
    latchkey::crypto::otp::code_at_step(&bytes, app.clock.now() / 30 + offset).expect("code")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_challenge_made_before_a_password_reset_cannot_be_finished_after_it() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let Some(c) = cluster(2, false, |config| with_mail(config, &url)).await else { return };
    let (a, b) = (&c.apps[0], &c.apps[1]);
    let owner = new_client();
    assert_eq!(signup_with_email(a, &owner, "ada", "ada@example.com").await.status(), 201);
    let enrolment = json_of(owner.post(a.url("/api/me/totp")).send().await.unwrap(), 200).await;
    let secret = enrolment["secret"].as_str().unwrap().to_string();
    let confirm = owner.post(a.url("/api/me/totp/confirm")).json(&json!({"code": totp(a, &secret, 0)})).send();
    let codes = json_of(confirm.await.unwrap(), 200).await["recovery_codes"].clone();

    let first_step = |app: &TestApp, client: &Client, path: &str| {
        let r = client.post(app.url(path)).json(&json!({"username": "ada", "password": PASSWORD})).send();
        async move {
            let body = assert_error(r.await.unwrap(), 401, "second_factor_required").await;
            body["challenge"].as_str().unwrap().to_string()
        }
    };
    // The two steps work across the instances (so a refusal below is the reset's doing).
    let browser = new_client();
    let challenge = first_step(b, &browser, "/api/login").await;
    let r = browser
        .post(a.url("/api/login/second-factor"))
        .json(&json!({"challenge": challenge, "recovery_code": codes[0]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "control: a challenge of B finished on A");

    let browser = new_client();
    let cookie_challenge = first_step(a, &browser, "/api/login").await;
    let api = new_client();
    let token_challenge = first_step(b, &api, "/api/token").await;
    assert_eq!(forgot(a, "ada").await, 202);
    let token = sink.wait_for("ada@example.com", 1).await.token("reset-password");
    assert_eq!(reset(b, &token, "amber-falcon-meadow").await, 204);

    let r = browser
        .post(b.url("/api/login/second-factor"))
        .json(&json!({"challenge": cookie_challenge, "code": totp(b, &secret, 1)}))
        .send()
        .await
        .unwrap();
    assert!(session_set_cookie(&r).is_none(), "no session from a challenge older than the reset");
    assert_error(r, 401, "invalid_challenge").await;
    for app in &c.apps {
        assert_eq!(browser.get(app.url("/api/check_session")).send().await.unwrap().status(), 204);
    }
    let r = api
        .post(a.url("/api/token/second-factor"))
        .json(&json!({"challenge": token_challenge, "recovery_code": codes[1]}))
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "invalid_challenge").await;
}

// The revocation feed: the next check on another instance is refused

/// Waits until `app` answers from its cache (a feed that just connected keeps it off
/// until the other instances have heard this one).
async fn cache_on(app: &TestApp) {
    let started = Instant::now();
    while !app.state.ctx.cache.is_on() {
        assert!(started.elapsed() < Duration::from_secs(10), "the cache on port {} never came on", app.port);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `cookie`'s session checked on `app` until a check is answered from its cache.
async fn warm(app: &TestApp, cookie: &str) {
    assert_eq!(check(app, cookie).await, 200);
    let (hits, _) = app.state.ctx.cache.counts();
    for _ in 0..3 {
        assert_eq!(check(app, cookie).await, 200);
    }
    assert!(app.state.ctx.cache.counts().0 > hits, "the checks on port {} were answered from the cache", app.port);
}

/// Instance A reaches Redis through a proxy, B directly. A's link is cut (or stalled),
/// then a session is ended on A: B, whose cache holds it, refuses it on the next request.
async fn a_logout_with_the_redis_link_down(stall: bool) {
    let Some(redis) = redis_url().await else { return };
    let upstream = tokio::net::lookup_host(redis.trim_start_matches("redis://")).await.unwrap().next().unwrap();
    let proxy = Proxy::start(upstream).await;
    let proxied = format!("redis://{}", proxy.addr);
    let Some(c) = cluster_with(2, true, |i, config| {
        if i == 0 {
            config.redis_url = Some(proxied.clone());
        }
    })
    .await
    else {
        return;
    };
    let (a, b) = (&c.apps[0], &c.apps[1]);
    a.signed_up("ada").await;
    cache_on(b).await;
    let r = a.login_as(&new_client(), "ada", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let cookie = session_set_cookie(&r).unwrap().split(';').next().unwrap().to_string();
    warm(b, &cookie).await;

    if stall {
        proxy.stall();
    } else {
        proxy.cut();
    }
    let started = Instant::now();
    let r = new_client().delete(a.url("/api/logout")).header("cookie", &cookie).send().await.unwrap();
    let took = started.elapsed();
    let (logout, next) = (r.status().as_u16(), check(b, &cookie).await);
    eprintln!(
        "logout on A with A's Redis link {}: {logout} after {:.1} ms; B's next check: {next}",
        if stall { "stalled" } else { "cut" },
        took.as_secs_f64() * 1e3
    );
    assert_eq!(logout, 204, "the logout on A");
    assert_eq!(next, 204, "B answered the ended session from what it had cached");
    assert_eq!(check(a, &cookie).await, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logout_on_an_instance_whose_redis_link_is_cut_is_refused_by_the_next_check_elsewhere() {
    a_logout_with_the_redis_link_down(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logout_on_an_instance_whose_redis_link_is_stalled_is_refused_by_the_next_check_elsewhere() {
    a_logout_with_the_redis_link_down(true).await;
}

/// Log in on A, warm B, log out on A, check on B: 100 rounds. The contract is that B
/// refuses on the very next request, so what a revocation costs is the logout's own
/// time; the rounds where B still answered 200 are counted (none allowed).
async fn revocation_latency(with_redis: bool) {
    let Some(c) = cluster(2, with_redis, |_| {}).await else { return };
    let (a, b) = (&c.apps[0], &c.apps[1]);
    a.signed_up("ada").await;
    cache_on(a).await;
    cache_on(b).await;
    let mut took = Vec::new();
    let mut stale = 0;
    for _ in 0..100 {
        let r = a.login_as(&new_client(), "ada", PASSWORD).await;
        assert_eq!(r.status(), 200);
        let cookie = session_set_cookie(&r).unwrap().split(';').next().unwrap().to_string();
        warm(b, &cookie).await;
        let started = Instant::now();
        let r = new_client().delete(a.url("/api/logout")).header("cookie", &cookie).send().await.unwrap();
        took.push(started.elapsed());
        assert_eq!(r.status(), 204);
        if check(b, &cookie).await != 204 {
            stale += 1;
        }
    }
    took.sort();
    eprintln!(
        "revocation over {}: logout on A (B refuses on its next request) p50 {:.2} ms, p99 {:.2} ms over 100 \
         rounds; rounds where B's next check still answered 200: {stale}",
        transport(with_redis),
        took[took.len() / 2].as_secs_f64() * 1e3,
        took[took.len() * 99 / 100].as_secs_f64() * 1e3,
    );
    assert_eq!(stale, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logout_is_refused_by_the_next_check_on_a_warm_instance_and_its_cost_is_measured_over_redis() {
    revocation_latency(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logout_is_refused_by_the_next_check_on_a_warm_instance_and_its_cost_is_measured_over_postgres() {
    revocation_latency(false).await;
}

// The login throttle across a Redis outage and an empty restart

/// One wrong-password login on `app`: its status.
async fn wrong_password(app: &TestApp, name: &str) -> u16 {
    app.login_as(&new_client(), name, "wrong-password").await.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_login_budget_holds_across_a_redis_outage_and_an_empty_restart() {
    let Some(mut redis) = PrivateRedis::start().await else { return };
    let url = redis.url();
    let Some(c) = cluster(2, false, |config| config.redis_url = Some(url.clone())).await else { return };
    c.apps[0].signed_up("ada").await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(wrong_password(&c.apps[i % 2], "ada").await);
    }
    redis.kill();
    let outage = Instant::now();
    for i in 0..10 {
        statuses.push(wrong_password(&c.apps[i % 2], "ada").await);
    }
    redis.restart().await;
    // Today's limiter skips Redis for 5 s after a failure: past that, the last ten go to
    // the restarted (empty) Redis, not to the fallback.
    for app in &c.apps {
        let answer = readyz_back(app).await;
        assert!(answer.is_ok(), "port {} once Redis is back answers {:?}", app.port, answer);
    }
    if let Some(rest) = Duration::from_secs(6).checked_sub(outage.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    for i in 0..10 {
        statuses.push(wrong_password(&c.apps[i % 2], "ada").await);
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    eprintln!(
        "26 wrong passwords (6, Redis killed, 10, Redis restarted empty, 10): {checked} checked, {refused} \
         refused: {statuses:?}"
    );
    assert_eq!(checked + refused, statuses.len(), "only 401 and 429, never a 5xx: {statuses:?}");
    assert!(checked <= 10, "{checked} passwords checked with throttle.login_per_account = 10: {statuses:?}");
}

// Readiness: degraded while Redis is down, 503 while the database is down

/// Polls `/readyz` on `app` until it answers `status` with `body` (any body if null), up
/// to 5 s; what it answered last otherwise.
async fn readyz_becomes(app: &TestApp, status: u16, body: &Value) -> Result<(), (u16, String)> {
    readyz_within(app, status, body, Duration::from_secs(5)).await
}

/// After a restart: a Redis client reconnects with a backoff, so up to 10 s.
async fn readyz_back(app: &TestApp) -> Result<(), (u16, String)> {
    readyz_within(app, 200, &json!({"status": "ready"}), Duration::from_secs(10)).await
}

async fn readyz_within(app: &TestApp, status: u16, body: &Value, limit: Duration) -> Result<(), (u16, String)> {
    let started = Instant::now();
    loop {
        let r = app.get("/readyz").await;
        let got = r.status().as_u16();
        let text = r.text().await.unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if got == status && (body.is_null() || parsed == *body) {
            return Ok(());
        }
        if started.elapsed() > limit {
            return Err((got, text));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn degraded() -> Value {
    json!({"status": "degraded", "degraded": ["redis"]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readyz_says_degraded_while_a_killed_redis_is_down_and_ready_once_it_is_back() {
    let Some(mut redis) = PrivateRedis::start().await else { return };
    let url = redis.url();
    let Some(c) = cluster(2, false, |config| config.redis_url = Some(url.clone())).await else { return };
    for app in &c.apps {
        readyz_becomes(app, 200, &json!({"status": "ready"})).await.expect("ready before the outage");
    }
    redis.kill();
    for app in &c.apps {
        let answer = readyz_becomes(app, 200, &degraded()).await;
        assert!(answer.is_ok(), "port {} while Redis is down answers {:?}", app.port, answer);
    }
    redis.restart().await;
    for app in &c.apps {
        let answer = readyz_back(app).await;
        assert!(answer.is_ok(), "port {} once Redis is back answers {:?}", app.port, answer);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readyz_says_degraded_while_the_redis_link_is_cut() {
    let Some(redis) = redis_url().await else { return };
    let upstream = tokio::net::lookup_host(redis.trim_start_matches("redis://")).await.unwrap().next().unwrap();
    let proxy = Proxy::start(upstream).await;
    let proxied = format!("redis://{}", proxy.addr);
    let Some(c) = cluster(2, true, |config| config.redis_url = Some(proxied.clone())).await else { return };
    for app in &c.apps {
        readyz_becomes(app, 200, &json!({"status": "ready"})).await.expect("ready before the cut");
    }
    proxy.cut();
    for app in &c.apps {
        let answer = readyz_becomes(app, 200, &degraded()).await;
        assert!(answer.is_ok(), "port {} while its Redis link is cut answers {:?}", app.port, answer);
    }
    proxy.restore();
    for app in &c.apps {
        let answer = readyz_back(app).await;
        assert!(answer.is_ok(), "port {} once the link is back answers {:?}", app.port, answer);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readyz_is_503_while_the_database_link_is_cut() {
    let Some(admin_url) = postgres_url() else { return };
    let rest = admin_url.split_once('@').map_or(admin_url.as_str(), |(_, r)| r);
    let host_port = rest.split_once("://").map_or(rest, |(_, r)| r).split(['/', '?']).next().unwrap().to_string();
    let upstream = tokio::net::lookup_host(&host_port).await.unwrap().next().unwrap();
    let proxy = Proxy::start(upstream).await;
    let through = proxy.addr.to_string();
    let Some(c) = cluster(2, false, |config| {
        config.database_url = config.database_url.replacen(&host_port, &through, 1);
        config.database.acquire_timeout = "1s".parse().unwrap();
        config.database.statement_timeout = "1s".parse().unwrap();
    })
    .await
    else {
        return;
    };
    for app in &c.apps {
        readyz_becomes(app, 200, &json!({"status": "ready"})).await.expect("ready before the cut");
    }
    proxy.cut();
    for app in &c.apps {
        let answer = readyz_becomes(app, 503, &Value::Null).await;
        assert!(answer.is_ok(), "port {} without its database answers {:?}", app.port, answer);
    }
}

// The mail budget counts every mail to the account

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_hourly_mail_budget_of_an_account_counts_its_verification_mail_too() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let Some(c) = cluster(2, false, |config| with_mail(config, &url)).await else { return };
    assert_eq!(c.apps[0].state.ctx.config.throttle.email_per_account, 5);
    assert_eq!(signup_with_email(&c.apps[0], &new_client(), "ada", "ada@example.com").await.status(), 201);
    for i in 0..6 {
        assert_eq!(forgot(&c.apps[i % 2], "ada@example.com").await, 202, "request {i}");
    }
    // Every request handled and every mail sent: nothing left to arrive.
    let store = latchkey::store::Store::connect(&c.database_url, Default::default()).await.unwrap();
    let pool = sqlx::PgPool::connect(&c.database_url).await.unwrap();
    let started = Instant::now();
    loop {
        let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM reset_requests").fetch_one(&pool).await.unwrap();
        if pending == 0 && store.count_queued_mails().await.unwrap() == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{pending} reset requests still waiting");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mails = sink.messages().iter().filter(|m| m.to.iter().any(|t| t == "ada@example.com")).count();
    eprintln!("a signup and six reset requests: {mails} mails to the account (throttle.email_per_account = 5)");
    assert!(mails <= 5, "{mails} mails in the hour");
    assert_eq!(mails, 5, "the budget is spent, not more");
}

// Token logins are listed and can be ended

/// `POST /api/token` on `app`: (access token, refresh token).
async fn token_login(app: &TestApp, name: &str) -> (String, String) {
    let pair = app.tokens(name, PASSWORD).await;
    (pair["access_token"].as_str().unwrap().to_string(), pair["refresh_token"].as_str().unwrap().to_string())
}

/// `GET /api/me/sessions` with the cookie of `client`, or with a Bearer token.
async fn sessions_of(app: &TestApp, client: &Client, bearer: Option<&str>) -> Vec<Value> {
    let mut r = client.get(app.url("/api/me/sessions"));
    if let Some(token) = bearer {
        r = r.bearer_auth(token);
    }
    json_of(r.send().await.unwrap(), 200).await.as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn token_logins_are_listed_with_the_sessions_and_can_be_ended_one_by_one_or_all_at_once() {
    let Some(c) = cluster(2, false, |_| {}).await else { return };
    let (a, b) = (&c.apps[0], &c.apps[1]);
    let browser = new_client();
    assert_eq!(a.signup_as(&browser, "ada", PASSWORD).await.status(), 201);
    b.signed_up("bob").await;
    let (_, first) = token_login(b, "ada").await;
    let (_, second) = token_login(a, "ada").await;

    let listed = sessions_of(b, &browser, None).await;
    let kinds: Vec<&str> = listed.iter().filter_map(|s| s["kind"].as_str()).collect();
    assert_eq!(
        (kinds.iter().filter(|k| **k == "cookie").count(), kinds.iter().filter(|k| **k == "token").count()),
        (1, 2),
        "one cookie session and two token logins: {listed:?}"
    );
    for entry in &listed {
        for field in ["id", "created_at", "last_seen_at", "expires_at", "ip", "user_agent"] {
            assert!(entry.get(field).is_some(), "{field} in {entry}");
        }
    }
    let cookie = listed.iter().find(|s| s["kind"] == "cookie").unwrap();
    assert_eq!(cookie["current"], true);
    let token_ids: Vec<i64> =
        listed.iter().filter(|s| s["kind"] == "token").map(|s| s["id"].as_i64().unwrap()).collect();

    // One token login ended by id: its refresh token is dead, the other one works.
    let (_, bobs) = token_login(a, "bob").await;
    let bobs_id = {
        let bob = new_client();
        assert_eq!(a.login_as(&bob, "bob", PASSWORD).await.status(), 200);
        let listed = sessions_of(a, &bob, None).await;
        listed.iter().find(|s| s["kind"] == "token").expect("bob's token login")["id"].as_i64().unwrap()
    };
    let r = browser.delete(a.url(&format!("/api/me/token-logins/{bobs_id}"))).send().await.unwrap();
    assert_error(r, 404, "not_found").await;
    assert_eq!(a.refresh(&bobs).await.status(), 200, "bob's token login is not ada's to end");
    let r = browser.delete(b.url(&format!("/api/me/token-logins/{}", token_ids[0]))).send().await.unwrap();
    assert_eq!(r.status(), 204, "ending token login {}", token_ids[0]);
    let statuses = [a.refresh(&first).await.status().as_u16(), b.refresh(&second).await.status().as_u16()];
    assert!(statuses == [200, 401] || statuses == [401, 200], "exactly the ended token login is dead: {statuses:?}");
    let r = browser.delete(b.url(&format!("/api/me/token-logins/{}", token_ids[0]))).send().await.unwrap();
    assert_error(r, 404, "not_found").await;

    // "Log out other sessions" from the cookie session ends every token login.
    let (_, third) = token_login(b, "ada").await;
    assert_eq!(browser.delete(a.url("/api/me/sessions")).send().await.unwrap().status(), 204);
    assert_error(b.refresh(&third).await, 401, "invalid_token").await;
    assert_eq!(browser.get(b.url("/api/check_session")).send().await.unwrap().status(), 200, "the caller stays");
    let left = sessions_of(a, &browser, None).await;
    assert_eq!(left.len(), 1, "only the caller's session is left: {left:?}");

    // Called with a Bearer token, it keeps that token login and ends the others.
    let (access, mine) = token_login(a, "ada").await;
    let (_, theirs) = token_login(b, "ada").await;
    let r = new_client().delete(b.url("/api/me/sessions")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_error(a.refresh(&theirs).await, 401, "invalid_token").await;
    assert_eq!(browser.get(a.url("/api/check_session")).send().await.unwrap().status(), 204, "the cookie ended");
    let renewed = a.refresh(&mine).await;
    assert_eq!(renewed.status(), 200, "the caller's own token login stays");
    let mine = renewed.json::<Value>().await.unwrap()["refresh_token"].as_str().unwrap().to_string();

    // An admin's revocation ends token logins too.
    let root = admin(&c, "root").await;
    let id = user_id(&c, "ada").await;
    assert_eq!(root.delete(b.url(&format!("/api/users/{id}/sessions"))).send().await.unwrap().status(), 204);
    assert_error(a.refresh(&mine).await, 401, "invalid_token").await;
}

// A passkey ceremony presented by another account

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_ceremony_presented_by_another_account_is_refused_without_spending_it() {
    let Some(c) = cluster(2, false, |config| config.public_url = PASSKEY_URL.into()).await else { return };
    let (a, b) = (&c.apps[0], &c.apps[1]);
    let (ada, eve) = (new_client(), new_client());
    assert_eq!(a.signup_as(&ada, "ada", PASSWORD).await.status(), 201);
    assert_eq!(b.signup_as(&eve, "eve", PASSWORD).await.status(), 201);
    let mut authenticator = SoftAuthenticator::with_origin(PASSKEY_URL);
    let started = json_of(ada.post(a.url("/api/me/passkeys/registration")).send().await.unwrap(), 200).await;
    let credential = authenticator.register(&started["options"]);
    let body = json!({"ceremony": started["ceremony"], "name": "Key", "credential": credential});

    let r = eve.post(b.url("/api/me/passkeys")).json(&body).send().await.unwrap();
    assert_error(r, 401, "invalid_challenge").await;
    let r = ada.post(b.url("/api/me/passkeys")).json(&body).send().await.unwrap();
    assert_eq!(json_of(r, 201).await["name"], "Key", "ada's ceremony was not spent by eve's attempt");
    let listed = json_of(eve.get(a.url("/api/me/passkeys")).send().await.unwrap(), 200).await;
    assert_eq!(listed["passkeys"], json!([]), "nothing was added to eve");
}

// One reset link raced on two instances

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_racing_finishes_of_one_reset_link_on_two_instances_give_one_success() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let Some(c) = cluster(2, false, |config| {
        with_mail(config, &url);
        unthrottled(config);
    })
    .await
    else {
        return;
    };
    assert_eq!(signup_with_email(&c.apps[0], &new_client(), "ada", "ada@example.com").await.status(), 201);
    assert_eq!(forgot(&c.apps[1], "ada").await, 202);
    let token = sink.wait_for("ada@example.com", 1).await.token("reset-password");
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let finishes = (0..20).map(|i| {
        let (barrier, token, app) = (Arc::clone(&barrier), token.clone(), &c.apps[i % 2]);
        async move {
            barrier.wait().await;
            (reset(app, &token, &format!("racer-{i}-{PASSWORD}")).await, i)
        }
    });
    let results = futures::future::join_all(finishes).await;
    let winners: Vec<usize> = results.iter().filter(|(s, _)| *s == 204).map(|(_, i)| *i).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results.iter().all(|(s, _)| [204, 400].contains(s)), "{results:?}");
    let winner = format!("racer-{}-{PASSWORD}", winners[0]);
    for app in &c.apps {
        assert_eq!(app.login_as(&new_client(), "ada", &winner).await.status(), 200, "the winner's password is set");
    }
}
