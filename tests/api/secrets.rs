//! Secrets at rest: the JWT private keys are sealed in the database, with a key file made
//! beside an SQLite database by default or a configured key; plain keys of older
//! databases are sealed on start; `keys reseal` moves them to a new key; a database
//! without its key does not start.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use sqlx::Connection;

use crate::durability::{start_binary, write_config};
use crate::helpers::*;

fn latchkey(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("--config")
        .arg(dir.join("latchkey.toml"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

async fn private_keys(url: &str) -> Vec<(String, Vec<u8>)> {
    let mut db = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_as("SELECT kid, private_key FROM jwt_keys").fetch_all(&mut db).await.unwrap()
}

async fn sqlite_keys(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let url = format!("sqlite://{}", dir.join("latchkey.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query_as("SELECT kid, private_key FROM jwt_keys").fetch_all(&mut db).await.unwrap()
}

async fn token_is_accepted(base: &str) {
    let client = new_client();
    let r = client
        .post(format!("{base}/api/signup"))
        .json(&serde_json::json!({"username": format!("u{}", rand::random::<u32>()), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let username = r.json::<serde_json::Value>().await.unwrap()["username"].as_str().unwrap().to_owned();
    let r = client
        .post(format!("{base}/api/token"))
        .json(&serde_json::json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let token = r.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let r = new_client().get(format!("{base}/api/me")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn an_sqlite_deployment_seals_its_keys_with_a_key_file_beside_the_database() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let server = start_binary(dir.path());
    token_is_accepted(&server.base).await;
    let key_file = dir.path().join("latchkey.db.key");
    let mode = std::fs::metadata(&key_file).expect("key file made on first start").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the key file is readable by its owner only");
    let keys = sqlite_keys(dir.path()).await;
    assert!(!keys.is_empty());
    for (kid, sealed) in &keys {
        assert!(sealed.starts_with(b"lk1:"), "{kid} is stored in plain text");
    }
    drop(server);

    // Restarted, it opens its keys again; tokens it signed before still verify.
    let server = start_binary(dir.path());
    token_is_accepted(&server.base).await;
    drop(server);

    // Without the key, the database's keys are useless and the server says why.
    std::fs::rename(&key_file, dir.path().join("elsewhere.key")).unwrap();
    let out = latchkey(dir.path(), &["migrate"], &[]);
    assert!(!out.status.success(), "started without its key: {}", text(&out));
    assert!(text(&out).contains("JWT key"), "{}", text(&out));
}

#[tokio::test]
async fn keys_reseal_moves_every_key_to_a_new_key() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let out = latchkey(dir.path(), &["keys", "rotate"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let before = sqlite_keys(dir.path()).await;
    assert_eq!(before.len(), 2);

    let new_key = dir.path().join("new.key");
    std::fs::write(&new_key, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n").unwrap();
    let out = latchkey(dir.path(), &["keys", "reseal", "--new-key-file", new_key.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let after = sqlite_keys(dir.path()).await;
    assert_eq!(after.len(), 2);
    assert!(after.iter().zip(&before).all(|(a, b)| a.1 != b.1 && a.1.starts_with(b"lk1:")));

    // The old key file no longer opens them; the new one does.
    let out = latchkey(dir.path(), &["migrate"], &[]);
    assert!(!out.status.success(), "{}", text(&out));
    let out = latchkey(dir.path(), &["migrate"], &[("LATCHKEY_KEYS__ENCRYPTION_KEY_FILE", new_key.to_str().unwrap())]);
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test]
async fn on_postgres_keys_stay_plain_with_a_warning_until_a_key_is_configured() {
    let Some(admin) = postgres_url() else { return };
    let (url, _db) = fresh_postgres(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("latchkey.toml"), format!("listen = \"127.0.0.1:0\"\ndatabase_url = \"{url}\"\n"))
        .unwrap();
    let out = latchkey(dir.path(), &["config", "check"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("unencrypted"), "config check does not warn: {}", text(&out));
    let out = latchkey(dir.path(), &["migrate"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let plain = private_keys(&url).await;
    assert!(plain.iter().all(|(_, k)| k.len() == 32), "without a key, keys are stored as they are");

    // Configured later (the same key on every instance), the plain keys are sealed.
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let out = latchkey(dir.path(), &["migrate"], &[("LATCHKEY_KEYS__ENCRYPTION_KEY", key)]);
    assert!(out.status.success(), "{}", text(&out));
    let sealed = private_keys(&url).await;
    assert!(sealed.iter().all(|(_, k)| k.starts_with(b"lk1:")), "plain keys were not sealed");
    let out = latchkey(dir.path(), &["config", "check"], &[("LATCHKEY_KEYS__ENCRYPTION_KEY", key)]);
    assert!(!text(&out).contains(key), "config check printed the key");
}

async fn sqlite_totp_secret(dir: &Path) -> (i64, Vec<u8>) {
    let url = format!("sqlite://{}", dir.join("latchkey.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query_as("SELECT user_id, secret FROM totp_factors").fetch_one(&mut db).await.unwrap()
}

#[tokio::test]
async fn totp_secrets_are_sealed_bound_to_their_account_and_follow_a_reseal() {
    use serde_json::{json, Value};
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let mut server = start_binary(dir.path());
    let client = new_client();
    let url = |path: &str| format!("{}{path}", server.base);
    let r = client.post(url("/api/signup")).json(&json!({"username": "ada", "password": PASSWORD})).send().await;
    assert_eq!(r.unwrap().status(), 201);
    let enrolment: Value = client.post(url("/api/me/totp")).send().await.unwrap().json().await.unwrap();
    let secret = totp_rs::Secret::Encoded(enrolment["secret"].as_str().unwrap().into()).to_bytes().unwrap();
    let step = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 / 30;
    let code = latchkey::crypto::otp::code_at_step(&secret, step).unwrap();
    let r = client.post(url("/api/me/totp/confirm")).json(&json!({"code": code})).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let (user_id, stored) = sqlite_totp_secret(dir.path()).await;
    assert!(stored.starts_with(b"lk1:"), "sealed");
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_slice()), "the secret is not in the database");
    // Codes still work: the second step of a new login, with the next step's code.
    let browser = new_client();
    let r = browser.post(url("/api/login")).json(&json!({"username": "ada", "password": PASSWORD})).send().await;
    let pending: Value = r.unwrap().json().await.unwrap();
    assert_eq!(pending["error"], "second_factor_required");
    let code = latchkey::crypto::otp::code_at_step(&secret, step + 1).unwrap();
    let body = json!({"challenge": pending["challenge"], "code": code});
    assert_eq!(browser.post(url("/api/login/second-factor")).json(&body).send().await.unwrap().status(), 200);

    // A secret stored in plain text (before sealing existed) is sealed at the next start.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
    let mut db = sqlx::SqliteConnection::connect(&db_url).await.unwrap();
    sqlx::query("UPDATE totp_factors SET secret = $1").bind(&secret).execute(&mut db).await.unwrap();
    drop(db);
    let out = latchkey(dir.path(), &["migrate"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let (_, resealed) = sqlite_totp_secret(dir.path()).await;
    assert!(resealed.starts_with(b"lk1:"), "sealed on start");

    // `keys reseal` moves it to the new key, bound to the account.
    let new_key = dir.path().join("new.key");
    let new_text = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    std::fs::write(&new_key, format!("{new_text}\n")).unwrap();
    let out = latchkey(dir.path(), &["keys", "reseal", "--new-key-file", new_key.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 TOTP secret(s)"), "{}", text(&out));
    let (_, moved) = sqlite_totp_secret(dir.path()).await;
    let key = latchkey::crypto::sealing::SealingKey::from_base64(new_text).unwrap();
    assert_eq!(key.open(&moved, format!("totp:{user_id}").as_bytes()).unwrap(), secret);
    assert!(key.open(&moved, format!("totp:{}", user_id + 1).as_bytes()).is_err(), "bound to its account");
}
