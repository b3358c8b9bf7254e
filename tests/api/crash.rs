//! Crash safety under load: clients sign up, log in, change passwords, log out and
//! refresh tokens as fast as the server answers while it is `kill -9`ed at random
//! moments, again and again. After every restart, everything that was acknowledged
//! with a 2xx must still hold: the account exists and logs in with the password last
//! acknowledged (or one whose change was in flight at the kill), an ended session and a
//! spent or revoked refresh token stay dead. At the end the database is intact and no
//! username exists twice. On SQLite and on PostgreSQL.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::{json, Value};
use sqlx::Connection;

use crate::durability::{start_binary, Server};
use crate::helpers::*;

const KILLS: usize = 20;
const WORKERS: usize = 6;

/// What the server acknowledged, and what was in flight when it died.
#[derive(Default, Clone)]
struct Ledger {
    /// username → passwords it may log in with: the last acknowledged one first, then any
    /// whose change was sent but not answered.
    accounts: HashMap<String, Vec<String>>,
    /// Cookie values of sessions whose logout answered 204.
    ended_sessions: Vec<String>,
    /// Refresh tokens that were spent (refresh answered 200) or revoked (204).
    dead_refresh_tokens: Vec<String>,
}

type Shared = Arc<Mutex<Ledger>>;

/// One client's endless round of account work against `base`, until a request fails
/// (the server was killed).
async fn churn(base: String, ledger: Shared, worker: usize, round: usize) {
    let mut n = 0;
    loop {
        n += 1;
        let username = format!("crash{worker}r{round}n{n}");
        if one_account(&base, &ledger, &username).await.is_err() {
            return;
        }
    }
}

async fn one_account(base: &str, ledger: &Shared, username: &str) -> Result<(), reqwest::Error> {
    let client = new_client();
    let url = |path: &str| format!("{base}{path}");
    let password = format!("{PASSWORD}-0");
    let r = client.post(url("/api/signup")).json(&json!({"username": username, "password": password})).send().await?;
    assert_eq!(r.status(), 201, "signup of {username}");
    ledger.lock().unwrap().accounts.insert(username.to_owned(), vec![password.clone()]);

    let mut current = password;
    for step in 1..=2 {
        let next = format!("{PASSWORD}-{step}");
        ledger.lock().unwrap().accounts.get_mut(username).unwrap().push(next.clone());
        let r = client
            .put(url("/api/me/password"))
            .json(&json!({"current_password": current, "new_password": next}))
            .send()
            .await?;
        assert_eq!(r.status(), 204, "password change of {username}");
        ledger.lock().unwrap().accounts.insert(username.to_owned(), vec![next.clone()]);
        current = next;
    }

    let login = new_client();
    let r = login.post(url("/api/login")).json(&json!({"username": username, "password": current})).send().await?;
    assert_eq!(r.status(), 200, "login of {username}");
    let cookie = session_set_cookie(&r).map(|c| cookie_value(&c)).expect("login sets a cookie");
    let r = login.delete(url("/api/logout")).send().await?;
    assert_eq!(r.status(), 204, "logout of {username}");
    ledger.lock().unwrap().ended_sessions.push(cookie);

    let r = client.post(url("/api/token")).json(&json!({"username": username, "password": current})).send().await?;
    assert_eq!(r.status(), 200, "token for {username}");
    let first = r.json::<Value>().await?["refresh_token"].as_str().unwrap().to_owned();
    let r = client.post(url("/api/token/refresh")).json(&json!({"refresh_token": first})).send().await?;
    assert_eq!(r.status(), 200, "refresh for {username}");
    ledger.lock().unwrap().dead_refresh_tokens.push(first);
    let second = r.json::<Value>().await?["refresh_token"].as_str().unwrap().to_owned();
    let r = client.post(url("/api/token/revoke")).json(&json!({"refresh_token": second})).send().await?;
    assert_eq!(r.status(), 204, "revoke for {username}");
    ledger.lock().unwrap().dead_refresh_tokens.push(second);
    Ok(())
}

/// Everything in the ledger holds on the restarted server; of the accounts, those
/// named in `recent` (each login costs a password hash), or all when it is `None`.
async fn check(base: &str, ledger: &Ledger, recent: Option<&[String]>) {
    let client = new_client();
    for (username, passwords) in &ledger.accounts {
        if recent.is_some_and(|names| !names.contains(username)) {
            continue;
        }
        let mut logged_in = false;
        for password in passwords {
            let r = client
                .post(format!("{base}/api/token"))
                .json(&json!({"username": username, "password": password}))
                .send()
                .await
                .unwrap();
            if r.status() == 200 {
                logged_in = true;
                break;
            }
            assert_eq!(r.status(), 401, "{username}: {}", r.text().await.unwrap());
        }
        assert!(logged_in, "{username} logs in with none of {passwords:?}");
    }
    for cookie in &ledger.ended_sessions {
        let r = client
            .get(format!("{base}/api/check_session"))
            .header("cookie", format!("latchkey_session={cookie}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "an ended session came back");
    }
    for token in &ledger.dead_refresh_tokens {
        let r = client
            .post(format!("{base}/api/token/refresh"))
            .json(&json!({"refresh_token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "a spent or revoked refresh token came back");
    }
}

async fn kill_repeatedly(dir: &Path) {
    let ledger: Shared = Arc::default();
    let mut accepted_work = 0;
    let mut last_round: Vec<String> = Vec::new();
    for round in 0..KILLS {
        let mut server: Server = start_binary(dir);
        let snapshot = ledger.lock().unwrap().clone();
        check(&server.base, &snapshot, Some(&last_round)).await;
        let before: Vec<String> = snapshot.accounts.keys().cloned().collect();
        let workers: Vec<_> =
            (0..WORKERS).map(|w| tokio::spawn(churn(server.base.clone(), Arc::clone(&ledger), w, round))).collect();
        // Some work acknowledged in every round, then the kill at a random moment.
        let waited = std::time::Instant::now();
        while ledger.lock().unwrap().accounts.len() == before.len() {
            assert!(waited.elapsed() < Duration::from_secs(60), "no signup answered within a minute");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let pause = rand::rng().random_range(0..400);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        server.child.kill().unwrap(); // SIGKILL, mid-request for most workers
        server.child.wait().unwrap();
        for w in workers {
            w.await.expect("a worker saw an answer it should not have");
        }
        last_round = ledger.lock().unwrap().accounts.keys().filter(|name| !before.contains(name)).cloned().collect();
        accepted_work += last_round.len();
    }
    // The kills must have landed on real work, not on an idle server.
    assert!(accepted_work >= KILLS, "only {accepted_work} accounts were created in {KILLS} rounds");
    let server = start_binary(dir);
    let snapshot = ledger.lock().unwrap().clone();
    check(&server.base, &snapshot, None).await;
}

/// The churn logs in thousands of times from one address. A spent refresh token within
/// the reuse grace legitimately refreshes again; with no grace, every spent token must
/// answer 401 after a restart, which is what the check holds the server to.
const SETTINGS: &str = "[throttle]\nsignup_per_ip = 1000000\nlogin_per_ip = 1000000\n\
                        [tokens]\nrefresh_reuse_grace = \"0s\"\n";

fn sqlite_config(dir: &Path) {
    crate::durability::write_config(dir, SETTINGS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_kill_9_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    sqlite_config(dir.path());
    kill_repeatedly(dir.path()).await;

    let url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check").fetch_one(&mut db).await.unwrap();
    assert_eq!(integrity, "ok");
    assert_no_twins(sqlx::query_as(TWINS).fetch_all(&mut db).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_kill_9_on_postgres() {
    let Some(admin) = postgres_url() else { return };
    let (url, _db) = fresh_postgres(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    crate::durability::write_config_on(dir.path(), &url, SETTINGS);
    kill_repeatedly(dir.path()).await;

    let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
    assert_no_twins(sqlx::query_as(TWINS).fetch_all(&mut db).await.unwrap());
}

const TWINS: &str = "SELECT username_key, COUNT(*) FROM users GROUP BY username_key HAVING COUNT(*) > 1";

fn assert_no_twins(twins: Vec<(String, i64)>) {
    assert!(twins.is_empty(), "usernames that exist twice: {twins:?}");
}
