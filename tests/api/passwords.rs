//! DESIGN.md security rules 1 and 2: argon2id by default, bcrypt selectable and
//! verified, outdated hashes upgraded on login, unknown users as costly as known ones.

use std::time::{Duration, Instant};

use latchkey::config::PasswordAlgorithm;

use crate::helpers::*;

/// Made by Python's `bcrypt` 5.0: `bcrypt.hashpw(b"correct horse battery", bcrypt.gensalt(12))`.
const PYTHON_BCRYPT_12: &str = "$2b$12$.wIQ.XNLoyzccq1veD.w7uFPe7V0cEb.5wi5nQqQM7X8jURFp9dAe";

async fn stored_hash(app: &TestApp, username: &str) -> String {
    app.state.ctx.store.user_by_login(username).await.unwrap().unwrap().password_hash
}

async fn set_hash(app: &TestApp, username: &str, hash: &str) {
    let id = stored_user_id(app, username).await;
    let mut tx = app.state.ctx.store.begin().await.unwrap();
    tx.update_password_hash(id, hash, 0).await.unwrap();
    tx.commit().await.unwrap();
}

async fn stored_user_id(app: &TestApp, username: &str) -> i64 {
    app.state.ctx.store.user_by_login(username).await.unwrap().unwrap().id
}

#[tokio::test]
async fn new_passwords_are_hashed_with_argon2id_at_the_chosen_parameters() {
    let app = TestApp::spawn_with(recommended_hashing).await;
    app.signed_up("ada").await;
    assert!(stored_hash(&app, "ada").await.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
}

#[tokio::test]
async fn a_bcrypt_hash_made_by_python_logs_in_and_is_upgraded_to_argon2id() {
    let app = TestApp::spawn_with(recommended_hashing).await;
    app.signed_up("ada").await;
    set_hash(&app, "ada", PYTHON_BCRYPT_12).await;
    assert_error(app.login_as(&new_client(), "ada", "correct horse batterx").await, 401, "invalid_credentials").await;
    assert_eq!(stored_hash(&app, "ada").await, PYTHON_BCRYPT_12, "a failed login changes nothing");
    assert_eq!(app.login_as(&new_client(), "ada", "correct horse battery").await.status(), 200);
    let upgraded = stored_hash(&app, "ada").await;
    assert!(upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{upgraded}");
    assert_eq!(app.login_as(&new_client(), "ada", "correct horse battery").await.status(), 200, "and still logs in");
}

/// Made by Werkzeug 3.1 (Flask's `generate_password_hash`), for "correct horse battery".
const WERKZEUG_SCRYPT: &str = "scrypt:32768:8:1$NAVi16kNv5mPbJMn$6cc4b0da617a3cbec088604a0de21e9244d8a041e93ec321da6dd910d430b0f3a52afe2721ac4f67973c4b7e0a5c45ec1ac88c9e84467b4e3afff5a9de904dfc";

#[tokio::test]
async fn a_werkzeug_hash_from_a_flask_app_logs_in_and_is_upgraded_to_argon2id() {
    let app = TestApp::spawn_with(recommended_hashing).await;
    app.signed_up("ada").await;
    set_hash(&app, "ada", WERKZEUG_SCRYPT).await;
    assert_error(app.login_as(&new_client(), "ada", "correct horse batterx").await, 401, "invalid_credentials").await;
    assert_eq!(stored_hash(&app, "ada").await, WERKZEUG_SCRYPT, "a failed login changes nothing");
    assert_eq!(app.login_as(&new_client(), "ada", "correct horse battery").await.status(), 200);
    let upgraded = stored_hash(&app, "ada").await;
    assert!(upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{upgraded}");
}

#[tokio::test]
async fn bcrypt_can_be_chosen_and_never_truncates() {
    let app = TestApp::spawn_with(|c| {
        c.password.algorithm = PasswordAlgorithm::Bcrypt;
        recommended_hashing(c);
    })
    .await;
    app.signed_up("ada").await;
    assert!(stored_hash(&app, "ada").await.starts_with("$2b$12$"));
    assert_eq!(app.login_as(&new_client(), "ada", PASSWORD).await.status(), 200);
    let long = "x".repeat(72) + "-and-more";
    let r = app.signup_as(&new_client(), "bob", &long).await;
    let body = assert_error(r, 422, "validation_failed").await;
    assert!(body["fields"]["password"].as_str().unwrap().contains("72"), "{body}");
}

#[tokio::test]
async fn an_unknown_user_costs_as_much_as_a_wrong_password() {
    let app = TestApp::spawn_with(recommended_hashing).await;
    app.signed_up("ada").await;
    // Interleaved, so that load from tests running alongside hits both alike.
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        for (name, times) in [("ada", &mut known), ("nobody-at-all", &mut unknown)] {
            let started = Instant::now();
            assert_eq!(app.login_as(&new_client(), name, "not-the-password").await.status(), 401);
            times.push(started.elapsed());
        }
    }
    known.sort();
    unknown.sort();
    let (known, unknown): (Duration, Duration) = (known[3], unknown[3]);
    // Both are one argon2id verification (tens of ms); without the dummy hash the
    // unknown user would answer in about a millisecond.
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!((0.33..3.0).contains(&ratio), "median known {known:?}, unknown {unknown:?}");
}

#[tokio::test]
async fn failed_logins_take_as_long_as_the_costliest_stored_hash_whatever_the_account() {
    let app = TestApp::spawn_with(recommended_hashing).await;
    app.signed_up("fresh").await;
    app.signed_up("imported").await;
    set_hash(&app, "imported", PYTHON_BCRYPT_12).await;
    // The floor is measured once (as the periodic maintenance does) while the suite's
    // other tests load the machine unevenly: a measurement spoiled by a load spike is
    // taken again, up to three times. Without the floor every try is off tenfold.
    let mut last = String::new();
    for _ in 0..3 {
        match failure_times_match(&app).await {
            Ok(()) => return,
            Err(e) => last = e,
        }
    }
    panic!("{last}");
}

async fn failure_times_match(app: &TestApp) -> Result<(), String> {
    let ctx = &app.state.ctx;
    ctx.hasher.calibrate(ctx.store.password_hash_samples().await.unwrap()).await;
    let mut times: [Vec<Duration>; 3] = Default::default();
    for _ in 0..5 {
        for (name, slot) in [("imported", 0), ("fresh", 1), ("nobody-at-all", 2)] {
            let started = Instant::now();
            assert_eq!(app.login_as(&new_client(), name, "not-the-password").await.status(), 401);
            times[slot].push(started.elapsed());
        }
    }
    let median = |t: &mut Vec<Duration>| {
        t.sort();
        t[2].as_secs_f64()
    };
    let [bcrypt, argon2, unknown] = times.each_mut().map(median);
    // An argon2id check alone takes a tenth of a bcrypt cost-12 one: without the floor
    // both the unknown name and the argon2id account would answer ten times sooner.
    for (what, t) in [("an argon2id account", argon2), ("an unknown name", unknown)] {
        let ratio = t / bcrypt;
        if !(0.75..1.5).contains(&ratio) {
            return Err(format!("{what}: {t:.3} s against bcrypt's {bcrypt:.3} s"));
        }
    }
    Ok(())
}
