//! Stalled clients cost a connection slot for a bounded time, never
//! forever: the REST listener closes a connection that sends nothing,
//! stalls mid-headers or mid-body (Content-Length or chunked), or idles
//! after a response, within its limits; the gRPC listener closes one that
//! never sends the HTTP/2 preface. Normal requests keep being served.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Backend, authed, spawn_with};
use oauth_registry::config::RestLimits;
use oauth_registry::grpc::pb;

const LIMIT: Duration = Duration::from_secs(1);
/// Slack for a loaded test machine.
const CLOSED_WITHIN: Duration = Duration::from_secs(5);

/// Reads until the server closes the connection; returns what it sent and
/// how long that took.
async fn until_closed(mut s: TcpStream) -> (String, Duration) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("connection still open after 30 s"),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
}

async fn stalled(addr: &str, sends: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(sends.as_bytes()).await.expect("write");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_are_closed_and_others_served() {
    let app = spawn_with(Backend::Sqlite, |c| {
        c.rest_limits = RestLimits {
            header_timeout: LIMIT,
            body_timeout: LIMIT,
            max_connections: 64,
        };
        c.grpc_preface_timeout = LIMIT;
    })
    .await;
    let rest = app.rest.trim_start_matches("http://").to_owned();
    let grpc = app.addr.to_string();
    let head = format!(
        "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n",
        app.key_a
    );
    let cases = vec![
        ("REST, nothing sent", stalled(&rest, "").await),
        (
            "REST, mid-headers",
            stalled(&rest, "GET /v1/tokens HTTP/1.1\r\nHost: x\r\n").await,
        ),
        (
            "REST, mid-body (Content-Length)",
            stalled(
                &rest,
                &format!("{head}Content-Length: 100\r\n\r\n{{\"token\":"),
            )
            .await,
        ),
        (
            "REST, mid-body (chunked)",
            stalled(
                &rest,
                &format!("{head}Transfer-Encoding: chunked\r\n\r\n5\r\n{{\"tok\r\n"),
            )
            .await,
        ),
        (
            "REST, idle after a response",
            stalled(&rest, "GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n").await,
        ),
        ("gRPC, no preface", stalled(&grpc, "").await),
        (
            "gRPC, half a preface",
            stalled(&grpc, "PRI * HTTP/2.0\r\n").await,
        ),
    ];
    let waits: Vec<_> = cases
        .into_iter()
        .map(|(what, s)| (what, tokio::spawn(until_closed(s))))
        .collect();

    // Meanwhile, normal calls on both ports are answered at once.
    for _ in 0..5 {
        let t = Instant::now();
        app.tokens()
            .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
            .await
            .expect("gRPC served");
        let resp = reqwest::Client::new()
            .get(format!("{}/v1/tokens", app.rest))
            .bearer_auth(&app.key_a)
            .send()
            .await
            .expect("REST served");
        assert_eq!(resp.status(), 200);
        assert!(t.elapsed() < LIMIT, "served while others stall");
    }

    for (what, wait) in waits {
        let (got, took) = wait.await.expect("join");
        assert!(took < CLOSED_WITHIN, "{what}: open for {took:?}");
        if what.contains("mid-body") {
            assert!(got.starts_with("HTTP/1.1 408"), "{what}: {got}");
        }
        if what.contains("idle") {
            assert!(got.starts_with("HTTP/1.1 200"), "{what}: {got}");
        }
    }
}

/// At most `max_connections` are served at once; the next waits until one
/// closes (here: an idle one, after the header limit), then is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_wait_their_turn() {
    let app = spawn_with(Backend::Sqlite, |c| {
        c.rest_limits = RestLimits {
            header_timeout: LIMIT,
            body_timeout: LIMIT,
            max_connections: 2,
        };
    })
    .await;
    let rest = app.rest.trim_start_matches("http://").to_owned();
    let idle = [stalled(&rest, "").await, stalled(&rest, "").await];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    let resp = reqwest::Client::new()
        .get(format!("{}/openapi.json", app.rest))
        .send()
        .await
        .expect("served once a slot frees");
    assert_eq!(resp.status(), 200);
    let waited = t.elapsed();
    assert!(
        waited >= LIMIT / 2 && waited < CLOSED_WITHIN,
        "waited {waited:?} for a slot"
    );
    drop(idle);
}
