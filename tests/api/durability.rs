//! DESIGN.md rule 9 and graceful shutdown, against the real binary: a signup that
//! answered 201 survives `kill -9`; SIGTERM lets in-flight requests finish.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::json;

use crate::helpers::*;

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `latchkey serve` with `dir/latchkey.toml` on a random port.
pub fn start_binary(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("--config")
        .arg(dir.join("latchkey.toml"))
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start latchkey");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("first line");
    let port = line.rsplit("port ").next().and_then(|p| p.trim().trim_end_matches(')').parse::<u16>().ok());
    let port = port.unwrap_or_else(|| panic!("no port in {line:?}"));
    Server { child, base: format!("http://127.0.0.1:{port}") }
}

/// `dir/latchkey.toml` on `dir/latchkey.db` with `extra` (top-level keys, tables other
/// than `[password]`), and the tests' cheap password hashing.
pub fn write_config(dir: &Path, extra: &str) {
    let db = format!("sqlite://{}", dir.join("latchkey.db").display());
    write_config_on(dir, &db, extra);
}

/// [`write_config`] on any database.
pub fn write_config_on(dir: &Path, database_url: &str, extra: &str) {
    let toml = format!(
        "listen = \"127.0.0.1:0\"\ndatabase_url = \"{database_url}\"\n{extra}\n\
         [password]\nargon2_memory_kib = 256\nargon2_iterations = 1\nbcrypt_cost = 4\n"
    );
    std::fs::write(dir.join("latchkey.toml"), toml).unwrap();
}

#[tokio::test]
async fn a_signup_that_answered_201_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let mut server = start_binary(dir.path());
    let client = new_client();
    let r = client
        .post(format!("{}/api/signup", server.base))
        .json(&json!({"username": "durable", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();

    let server = start_binary(dir.path());
    let r = new_client()
        .post(format!("{}/api/login", server.base))
        .json(&json!({"username": "durable", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the account is still there");
    let me = client.get(format!("{}/api/me", server.base)).send().await.unwrap();
    assert_eq!(me.status(), 200, "and so is the session");
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_then_exits_cleanly() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    let mut server = start_binary(dir.path());
    let addr = server.base.trim_start_matches("http://").to_string();
    // A request certainly in flight: its headers are read and its body is half sent.
    let body = json!({"username": "graceful", "password": PASSWORD}).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/signup HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let pid = server.child.id() as i32;
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    // Shutting down: no new connection is taken...
    let started = std::time::Instant::now();
    while tokio::net::TcpStream::connect(&addr).await.is_ok() {
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "still accepting after SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // ...but the request under way is finished and answered.
    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// Issue: mail must survive a crash. With the mail server down, signups with an address
/// and password resets queue their mails; the server is killed; once the mail server
/// and latchkey are back, every mail arrives, once.
#[tokio::test]
async fn mails_queued_when_latchkey_is_killed_are_sent_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::smtp::SmtpSink::free_port().await;
    let smtp = format!(
        "[smtp]\nurl = \"smtp://127.0.0.1:{port}\"\nfrom = \"latchkey <auth@example.com>\"\ntimeout = \"2s\"\n\
         [throttle]\nsignup_per_ip = 1000\nemail_per_ip = 1000\n"
    );
    write_config(dir.path(), &smtp);
    let mut server = start_binary(dir.path());
    const ACCOUNTS: usize = 8;
    for i in 0..ACCOUNTS {
        let body =
            json!({"username": format!("mail{i}"), "password": PASSWORD, "email": format!("mail{i}@example.com")});
        let r = new_client().post(format!("{}/api/signup", server.base)).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let body = json!({"username": format!("mail{i}")});
        let r = new_client().post(format!("{}/api/password/forgot", server.base)).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 202);
    }
    server.child.kill().unwrap(); // SIGKILL, with every mail still waiting
    server.child.wait().unwrap();

    let sink = crate::smtp::SmtpSink::start_on(port).await;
    let _server = start_binary(dir.path());
    // A mail whose delivery was under way at the kill is leased for 2 × timeout + 30 s.
    let started = std::time::Instant::now();
    let expected = 2 * ACCOUNTS;
    while sink.messages().len() < expected {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{} of {expected} mails arrived",
            sink.messages().len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for i in 0..ACCOUNTS {
        let mine: Vec<_> =
            sink.messages().into_iter().filter(|m| m.to.iter().any(|t| t == &format!("mail{i}@example.com"))).collect();
        assert_eq!(mine.len(), 2, "one verification and one reset mail for mail{i}");
        assert!(mine.iter().any(|m| m.data.contains("/verify-email#token=")));
        assert!(mine.iter().any(|m| m.data.contains("/reset-password#token=")));
    }
}
