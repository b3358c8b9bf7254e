//! The command line: `user create|import|set-roles|delete`, `client …`, `migrate`, `config check`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use crate::durability::{start_binary, write_config};
use crate::helpers::*;

fn latchkey(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("--config")
        .arg(dir.join("latchkey.toml"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test]
async fn users_are_created_promoted_and_deleted_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let out = latchkey(dir.path(), &["migrate"], "");
    assert!(out.status.success(), "{}", text(&out));

    let out = latchkey(dir.path(), &["user", "create", "--username", "root", "--admin"], &format!("{PASSWORD}\n"));
    assert!(out.status.success(), "{}", text(&out));
    let out = latchkey(
        dir.path(),
        &["user", "create", "--username", "ada", "--email", "ada@example.com"],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = latchkey(dir.path(), &["user", "create", "--username", "weak"], "password\n");
    assert!(!out.status.success());
    assert!(text(&out).contains("password"), "{}", text(&out));
    let out = latchkey(dir.path(), &["user", "create", "--username", "ADA"], &format!("{PASSWORD}\n"));
    assert!(!out.status.success() && text(&out).contains("taken"), "{}", text(&out));

    let out = latchkey(dir.path(), &["user", "set-roles", "--username", "ada", "admin", "editor"], "");
    assert!(out.status.success(), "{}", text(&out));
    let out = latchkey(dir.path(), &["user", "set-roles", "--username", "ada", "Bad Role"], "");
    assert!(!out.status.success());

    {
        let server = start_binary(dir.path());
        let client = new_client();
        let r = client
            .post(format!("{}/api/login", server.base))
            .json(&json!({"username": "ada@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap()["roles"], json!(["user", "admin", "editor"]));
    }

    let out = latchkey(dir.path(), &["user", "set-roles", "--username", "root"], "");
    assert!(out.status.success(), "ada is still an admin: {}", text(&out));
    let out = latchkey(dir.path(), &["user", "set-roles", "--username", "ada"], "");
    assert!(!out.status.success() && text(&out).contains("no admin"), "the last admin stays: {}", text(&out));
    let out = latchkey(dir.path(), &["user", "delete", "--username", "ada"], "");
    assert!(!out.status.success() && text(&out).contains("no admin"), "{}", text(&out));
    let out = latchkey(dir.path(), &["user", "delete", "--username", "root"], "");
    assert!(out.status.success(), "{}", text(&out));
    let out = latchkey(dir.path(), &["user", "delete", "--username", "nobody"], "");
    assert!(!out.status.success() && text(&out).contains("no user"), "{}", text(&out));
}

#[test]
fn config_check_prints_the_effective_configuration_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[session]\nsame_site = \"strict\"\n");
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["--config", dir.path().join("latchkey.toml").to_str().unwrap(), "config", "check"])
        .env("LATCHKEY_DATABASE_URL", "postgres://app:hunter2@db.internal/latchkey")
        .env("LATCHKEY_THROTTLE__LOGIN_PER_IP", "7")
        .env("LATCHKEY_TEST_SOMETHING_ELSE", "ignored")
        .output()
        .unwrap();
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("same_site = \"strict\""), "{shown}");
    assert!(shown.contains("login_per_ip = 7"), "environment wins over the file: {shown}");
    assert!(shown.contains("postgres://app:****@db.internal/latchkey"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn unknown_keys_and_bad_values_are_errors_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, complaint) in [
        ("colour = \"blue\"\n", "colour"),
        ("[session]\nidle_timout = \"1d\"\n", "idle_timout"),
        ("[session]\nidle_timeout = \"7 days\"\n", "duration"),
        ("[cors]\nallowed_origins = [\"https://app.example.com/\"]\n", "origin"),
        ("[tokens]\nalgorithm = \"HS256\"\n", "HS256"),
        (
            "[tokens]\nalgorithm = \"HS256\"\nhs256_secret = \"0123456789abcdef0123456789abcdef\"\n",
            "LATCHKEY_TOKENS__HS256_SECRET",
        ),
        ("[passkeys]\norigins = [\"https://other.example\"]\n", "passkeys.origins"),
    ] {
        write_config(dir.path(), extra);
        let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["--config", dir.path().join("latchkey.toml").to_str().unwrap(), "config", "check"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{extra}");
        assert!(text(&out).contains(complaint), "{extra}: {}", text(&out));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["--config", "/nonexistent/latchkey.toml", "config", "check"])
        .output()
        .unwrap();
    assert!(!out.status.success() && text(&out).contains("does not exist"));
}

#[test]
fn config_check_says_when_passkeys_are_off_for_want_of_a_domain() {
    let dir = tempfile::tempdir().unwrap();
    let check = |extra: &str| {
        write_config(dir.path(), extra);
        Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["--config", dir.path().join("latchkey.toml").to_str().unwrap(), "config", "check"])
            .output()
            .unwrap()
    };
    let out = check("public_url = \"http://10.0.0.1:8080\"\n");
    assert!(out.status.success() && text(&out).contains("passkeys are off"), "{}", text(&out));
    let out = check("public_url = \"http://10.0.0.1:8080\"\n[passkeys]\nrp_id = \"example.com\"\norigins = [\"https://auth.example.com\"]\n");
    assert!(out.status.success() && !text(&out).contains("passkeys are off"), "{}", text(&out));
    let out = check("");
    assert!(out.status.success() && !text(&out).contains("passkeys are off"), "{}", text(&out));
}

#[test]
fn the_hs256_secret_comes_from_the_environment_or_its_own_file_and_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "an-hs256-secret-of-at-least-32-bytes!";
    write_config(dir.path(), "[tokens]\nalgorithm = \"HS256\"\n");
    let check = |envs: &[(&str, String)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        cmd.args(["--config", dir.path().join("latchkey.toml").to_str().unwrap(), "config", "check"]);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = check(&[("LATCHKEY_TOKENS__HS256_SECRET", secret.to_string())]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(secret), "{}", text(&out));
    let file = dir.path().join("hs256.key");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    let out = check(&[("LATCHKEY_TOKENS__HS256_SECRET_FILE", file.display().to_string())]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(secret), "{}", text(&out));
}

#[tokio::test]
async fn keys_rotate_makes_a_new_signing_key() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let out = latchkey(dir.path(), &["keys", "rotate"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("new signing key"), "{}", text(&out));
    let server = start_binary(dir.path());
    let jwks: Value =
        reqwest::get(format!("{}/.well-known/jwks.json", server.base)).await.unwrap().json().await.unwrap();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "the first key was made at migrate time and now only verifies"
    );
}

#[tokio::test]
async fn accounts_are_imported_with_their_foreign_hashes_all_or_none() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    // Werkzeug (Flask's generate_password_hash) and Python bcrypt hashes of "correct horse battery".
    let pbkdf2 =
        "pbkdf2:sha256:600000$zYJ0shTiNSLhMFy8$db3fa871adebbbd50fcb1936f593955654f0fb6536467f071694483dd8ae9767";
    let bcrypt = "$2b$12$.wIQ.XNLoyzccq1veD.w7uFPe7V0cEb.5wi5nQqQM7X8jURFp9dAe";
    let good = [
        json!({"username": "flask-ada", "email": "ada@example.com", "password_hash": pbkdf2}),
        json!({"username": "flask-bob", "password_hash": bcrypt, "roles": ["admin"]}),
    ];
    let lines = |records: &[Value]| records.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");

    let mut bad = good.to_vec();
    bad.push(json!({"username": "x", "password_hash": bcrypt}));
    bad.push(json!({"username": "carol", "password_hash": "plaintext-password"}));
    bad.push(json!({"username": "FLASK-ADA", "password_hash": bcrypt}));
    let out = latchkey(dir.path(), &["user", "import", "-"], &(lines(&bad) + "\nnot json\n"));
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    for expected in [":3: username", ":4: password_hash", ":5: the username appears twice", ":6: not an account record"]
    {
        assert!(said.contains(expected), "{expected} in {said}");
    }

    let file = dir.path().join("users.jsonl");
    std::fs::write(&file, lines(&good)).unwrap();
    let out = latchkey(dir.path(), &["user", "import", file.to_str().unwrap()], "");
    assert!(out.status.success() && text(&out).contains("imported 2"), "{}", text(&out));
    let out = latchkey(dir.path(), &["user", "import", file.to_str().unwrap()], "");
    let said = text(&out);
    assert!(!out.status.success() && said.contains(":1: the") && said.contains("nothing was imported"), "{said}");

    let server = start_binary(dir.path());
    for (login, roles) in [("ada@example.com", json!(["user"])), ("flask-bob", json!(["user", "admin"]))] {
        let r = new_client()
            .post(format!("{}/api/login", server.base))
            .json(&json!({"username": login, "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{login}");
        assert_eq!(r.json::<Value>().await.unwrap()["roles"], roles);
    }
}

#[tokio::test]
async fn an_operator_prints_a_reset_link_that_works_without_a_mail_server() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let out = latchkey(dir.path(), &["user", "create", "--username", "kim"], &format!("{PASSWORD}\n"));
    assert!(out.status.success(), "{}", text(&out));
    let first = latchkey(dir.path(), &["user", "reset-link", "--username", "KIM"], "");
    assert!(first.status.success(), "{}", text(&first));
    let out = latchkey(dir.path(), &["user", "reset-link", "--username", "kim"], "");
    let link = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let token = link.strip_prefix("http://127.0.0.1:8080/reset-password#token=").unwrap_or_else(|| panic!("{link}"));
    let old_link = String::from_utf8_lossy(&first.stdout).trim().to_string();
    let old_token = old_link.rsplit_once("#token=").unwrap().1.to_string();
    let out = latchkey(dir.path(), &["user", "reset-link", "--username", "nobody"], "");
    assert!(!out.status.success() && text(&out).contains("no user"), "{}", text(&out));

    let server = start_binary(dir.path());
    let reset = |token: String| {
        new_client()
            .post(format!("{}/api/password/reset", server.base))
            .json(&json!({"token": token, "new_password": "amber-falcon-meadow"}))
            .send()
    };
    assert_eq!(reset(old_token).await.unwrap().status(), 400, "a newer link ends the older one");
    assert_eq!(reset(token.to_string()).await.unwrap().status(), 204);
    assert_eq!(reset(token.to_string()).await.unwrap().status(), 400, "single use");
    let r = new_client()
        .post(format!("{}/api/login", server.base))
        .json(&json!({"username": "kim", "password": "amber-falcon-meadow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn config_check_never_prints_the_smtp_password() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "[smtp]\nurl = \"smtps://mailer:url-secret@127.0.0.1:465\"\nfrom = \"auth@example.com\"\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("--config")
        .arg(dir.path().join("latchkey.toml"))
        .args(["config", "check"])
        .env("LATCHKEY_SMTP__PASSWORD", "env-secret")
        .output()
        .unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("url-secret") && !all.contains("env-secret"), "{all}");
    assert!(all.contains("smtps://mailer:****@127.0.0.1:465") && all.contains("password = \"****\""), "{all}");

    write_config(
        dir.path(),
        "[smtp]\nurl = \"smtp://127.0.0.1:25\"\nfrom = \"auth@example.com\"\npassword = \"file-secret\"\n",
    );
    let out = latchkey(dir.path(), &["config", "check"], "");
    assert!(!out.status.success() && text(&out).contains("LATCHKEY_SMTP__PASSWORD"), "{}", text(&out));
    assert!(!text(&out).contains("file-secret"));
}

#[tokio::test]
async fn config_check_discovers_each_provider_and_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let provider = |issuer: &str, extra: &str| {
        format!(
            "[[federation.providers]]\nid = \"corp\"\nlabel = \"Corp\"\nissuer = \"{issuer}\"\nclient_id = \"latchkey\"\n{extra}\n"
        )
    };
    let check = |secret: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        cmd.args(["--config", dir.path().join("latchkey.toml").to_str().unwrap(), "config", "check"]);
        cmd.env_remove("LATCHKEY_FEDERATION__PROVIDERS__0__CLIENT_SECRET");
        if let Some(secret) = secret {
            cmd.env("LATCHKEY_FEDERATION__PROVIDERS__0__CLIENT_SECRET", secret);
        }
        cmd.output().unwrap()
    };
    // Reachable: discovered, with the redirect URI to register; the secret never shown.
    let op = crate::upstream::Upstream::oidc(json!({"accounts": []})).await;
    write_config(dir.path(), &provider(&op.url(""), ""));
    let out = check(Some("a-client-secret-value"));
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("provider corp: discovered"), "{said}");
    assert!(said.contains("/api/federation/corp/callback"), "{said}");
    assert!(!said.contains("a-client-secret-value"), "{said}");
    // Unreachable: a warning, not a failure (latchkey keeps trying it).
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    write_config(dir.path(), &provider(&format!("http://{gone}"), ""));
    let out = check(Some("s"));
    let said = text(&out);
    assert!(out.status.success() && said.contains("warning: provider corp"), "{said}");
    // Wrong: each refused, naming what to fix.
    let out = check(None);
    assert!(
        !out.status.success() && text(&out).contains("LATCHKEY_FEDERATION__PROVIDERS__0__CLIENT_SECRET"),
        "{}",
        text(&out)
    );
    write_config(dir.path(), &provider("https://idp.example", "client_secret = \"written\""));
    let out = check(Some("s"));
    assert!(!out.status.success() && text(&out).contains("may not be written"), "{}", text(&out));
    write_config(dir.path(), &provider("http://idp.example", ""));
    let out = check(Some("s"));
    assert!(!out.status.success() && text(&out).contains("must be https"), "{}", text(&out));
    write_config(dir.path(), &provider("https://idp.example", "").replace("id = \"corp\"", "id = \"Corp Login\""));
    let out = check(Some("s"));
    assert!(!out.status.success() && text(&out).contains("id must be"), "{}", text(&out));
}

#[tokio::test]
async fn apps_are_registered_listed_given_new_secrets_and_deleted_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let create = |extra: &[&str]| {
        let mut args = vec!["client", "create", "--name", "Grafana", "--redirect-uri", "https://grafana.example/cb"];
        args.extend_from_slice(extra);
        latchkey(dir.path(), &args, "")
    };
    let out = create(&["--json", "--scopes", "openid,email"]);
    assert!(out.status.success(), "{}", text(&out));
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = made["client_id"].as_str().unwrap().to_string();
    let secret = made["client_secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 43, "256 bits, shown once");
    assert_eq!((made["public"].clone(), made["scopes"].clone()), (json!(false), json!(["openid", "email"])));

    let out = create(&["--public", "--json"]);
    let public: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(public.get("client_secret").is_none(), "a public client has no secret: {public}");
    let refused = create(&["--scopes", "openid,everything"]);
    assert!(!refused.status.success() && text(&refused).contains("everything"), "{}", text(&refused));
    let refused =
        latchkey(dir.path(), &["client", "create", "--name", "x", "--redirect-uri", "http://app.example/cb"], "");
    assert!(!refused.status.success() && text(&refused).contains("https"), "{}", text(&refused));

    let out = latchkey(dir.path(), &["client", "list", "--json"], "");
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["clients"].as_array().unwrap().len(), 2);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&secret), "a list never shows a secret");

    let out = latchkey(dir.path(), &["client", "rotate-secret", &id, "--json"], "");
    assert!(out.status.success(), "{}", text(&out));
    let rotated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(rotated["client_secret"].as_str().unwrap(), secret);
    let public_id = public["client_id"].as_str().unwrap();
    assert!(!latchkey(dir.path(), &["client", "rotate-secret", public_id], "").status.success());

    let server = start_binary(dir.path());
    let token = |secret: &str| {
        reqwest::Client::new()
            .post(format!("{}/oauth2/token", server.base))
            .basic_auth(&id, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "email")])
            .send()
    };
    assert_eq!(token(&secret).await.unwrap().status(), 401, "the old secret stopped working");
    assert_eq!(token(rotated["client_secret"].as_str().unwrap()).await.unwrap().status(), 200);

    let out = latchkey(dir.path(), &["client", "delete", &id], "");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(token(rotated["client_secret"].as_str().unwrap()).await.unwrap().status(), 401);
    assert!(!latchkey(dir.path(), &["client", "delete", &id], "").status.success(), "deleted once");
}
