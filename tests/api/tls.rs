//! Direct TLS (`[tls] cert`, `key`) against the real binary, with certificates made by
//! the test: https works, cookies are `Secure` and `__Host-`, HSTS is sent, and SIGHUP
//! swaps the certificate for new connections (a broken file keeps the old one).

use std::path::Path;

use reqwest::Certificate;
use serde_json::json;

use crate::durability::{start_binary, write_config, Server};
use crate::helpers::*;

struct Cert {
    pem: String,
}

/// A self-signed certificate for `localhost`, written as `cert.pem` / `key.pem` in `dir`.
fn make_cert(dir: &Path) -> Cert {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join("cert.pem"), made.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).unwrap();
    Cert { pem: made.cert.pem() }
}

/// A client that trusts only `cert`, reaching `localhost` at the server's port.
fn trusting(cert: &Cert, server: &Server) -> reqwest::Client {
    let port: u16 = server.base.rsplit(':').next().unwrap().parse().unwrap();
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(Certificate::from_pem(cert.pem.as_bytes()).unwrap())
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .cookie_store(true)
        .build()
        .unwrap()
}

fn https(server: &Server, path: &str) -> String {
    format!("{}{path}", server.base.replacen("http://127.0.0.1", "https://localhost", 1))
}

fn hangup(server: &Server) {
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGHUP);
    }
}

#[tokio::test]
async fn latchkey_serves_tls_itself_and_reloads_its_certificate_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let first = make_cert(dir.path());
    let tls = format!(
        "public_url = \"https://localhost\"\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        dir.path().join("cert.pem").display(),
        dir.path().join("key.pem").display()
    );
    write_config(dir.path(), &tls);
    let server = start_binary(dir.path());

    let client = trusting(&first, &server);
    let r = client
        .post(https(&server, "/api/signup"))
        .json(&json!({"username": "ada", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let cookie = session_set_cookie(&r).unwrap();
    assert!(cookie.starts_with("__Host-latchkey_session=") && cookie.contains("; Secure"), "{cookie}");
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    assert_eq!(client.get(https(&server, "/api/me")).send().await.unwrap().status(), 200);
    assert!(
        new_client().get(format!("{}/healthz", server.base)).send().await.is_err(),
        "no plain http on the TLS port"
    );

    let second = make_cert(dir.path());
    hangup(&server);
    let fresh = trusting(&second, &server);
    let mut reloaded = false;
    for _ in 0..100 {
        if fresh.get(https(&server, "/healthz")).send().await.is_ok() {
            reloaded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(reloaded, "new connections get the new certificate after SIGHUP");
    assert!(trusting(&first, &server).get(https(&server, "/healthz")).send().await.is_err(), "the old one is gone");

    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    hangup(&server);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let r = trusting(&second, &server).get(https(&server, "/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200, "a broken file leaves the working certificate in force");
}

#[tokio::test]
async fn sighup_without_tls_does_not_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let mut server = start_binary(dir.path());
    hangup(&server);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(server.child.try_wait().unwrap().is_none(), "still running");
    assert_eq!(new_client().get(format!("{}/healthz", server.base)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_missing_or_unusable_certificate_stops_start_up_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "junk").unwrap();
    std::fs::write(dir.path().join("key.pem"), "junk").unwrap();
    let tls = format!(
        "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        dir.path().join("cert.pem").display(),
        dir.path().join("key.pem").display()
    );
    write_config(dir.path(), &tls);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("--config")
        .arg(dir.path().join("latchkey.toml"))
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tls.cert"), "{stderr}");
}
