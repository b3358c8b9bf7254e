//! Slow and abusive clients cannot hold the server: a connection that sends nothing, or
//! its headers a byte at a time, is closed after `server.header_timeout`; a request
//! whose body trickles in is answered 503 after `server.request_timeout`; past
//! `server.max_connections` new connections wait until a slot frees.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

async fn app() -> TestApp {
    TestApp::spawn_with(|c| {
        c.server.header_timeout = "1s".parse().unwrap();
        c.server.request_timeout = "2s".parse().unwrap();
    })
    .await
}

/// Reads until the server closes the connection; returns what it sent and when it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, started.elapsed()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
        }
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let app = app().await;
    let mut idle = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let (_, after) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(after >= Duration::from_millis(900), "closed too early: {after:?}");
}

#[tokio::test]
async fn headers_sent_a_byte_at_a_time_are_cut_off_after_the_header_timeout() {
    let app = app().await;
    let mut slow = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let started = Instant::now();
    for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaa" {
        if slow.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(started.elapsed() < Duration::from_secs(4), "still reading headers after 4 s");
    }
    let (answer, _) = read_until_closed(&mut slow, Duration::from_secs(4)).await;
    assert!(!String::from_utf8_lossy(&answer).contains(" 200 "), "a trickled request was served");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let app = app().await;
    let mut conn = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 4096];
    let n = conn.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let (_, after) = read_until_closed(&mut conn, Duration::from_secs(5)).await;
    assert!(after >= Duration::from_millis(900), "closed too early: {after:?}");
}

#[tokio::test]
async fn a_body_that_trickles_in_is_answered_503_after_the_request_timeout() {
    let app = app().await;
    let mut conn = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let head = "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
    conn.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (mut reader, mut writer) = conn.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if writer.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(6), reader.read(&mut buf)).await.expect("no answer").unwrap();
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    trickle.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(1900), "answered after {:?}", started.elapsed());
}

#[tokio::test]
async fn past_the_connection_cap_new_connections_wait_for_a_slot() {
    let app = TestApp::spawn_with(|c| {
        c.server.max_connections = 2;
        c.server.header_timeout = "3s".parse().unwrap();
    })
    .await;
    let first = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let _second = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = tokio::spawn(async move {
        let started = Instant::now();
        let r = new_client().get(format!("http://127.0.0.1:{}/healthz", app.port)).send().await.unwrap();
        (r.status().as_u16(), started.elapsed(), app)
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!waiting.is_finished(), "a third connection was served while two slots were taken");
    drop(first);
    let (status, waited, _app) = waiting.await.unwrap();
    assert_eq!(status, 200);
    assert!(waited >= Duration::from_millis(800) && waited < Duration::from_secs(3), "{waited:?}");
}
