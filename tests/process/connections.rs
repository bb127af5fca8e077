//! Connection management of the real binary, seen by a raw HTTP/2 client
//! (the `h2` crate, so every frame is the server's own doing):
//! - a client that pings too often gets GOAWAY ENHANCE_YOUR_CALM
//!   `too_many_pings`, while one that pings at the allowed rate does not;
//! - a connection older than `--max-connection-age-secs` gets GOAWAY: a
//!   stream in flight completes within the grace, one still running after
//!   it is cut but resumes from its last page's token, and a tonic channel
//!   reconnects across ageing with no call lost (a call refused unprocessed
//!   by the GOAWAY is retried once, as other gRPC clients do on their own).

use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use prost::Message;

use crate::common::authed;
use crate::common::process::{BIN, connect_retrying, free_port, seed};
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use oauth_registry::grpc::pb::{ListTokensRequest, StreamTokensRequest, StreamTokensResponse};
use tokio::process::{Child, Command};

const TOKENS: usize = 200;

fn serve(url: &str, port: u16, flags: &[&str]) -> Child {
    Command::new(BIN)
        .args(["--database-url", url, "serve", "--no-rest"])
        .args(["--grpc-addr", &format!("127.0.0.1:{port}")])
        .args(["--shutdown-delay-secs", "0"])
        .args(flags)
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the server")
}

/// A raw HTTP/2 connection with a small window (the server cannot run far
/// ahead of the reader), its driver on a task.
async fn raw(
    port: u16,
) -> (
    h2::client::SendRequest<Bytes>,
    h2::client::Connection<tokio::net::TcpStream, Bytes>,
) {
    connect_retrying(port, None).await; // the server is up
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    h2::client::Builder::new()
        .initial_window_size(8 * 1024)
        .handshake(tcp)
        .await
        .expect("HTTP/2 handshake")
}

fn grpc_frame(msg: &impl Message) -> Bytes {
    let body = msg.encode_to_vec();
    let mut f = BytesMut::with_capacity(5 + body.len());
    f.extend_from_slice(&[0]);
    f.extend_from_slice(&(body.len() as u32).to_be_bytes());
    f.extend_from_slice(&body);
    f.freeze()
}

/// Starts StreamTokens on a raw connection.
async fn stream_tokens(
    send: &mut h2::client::SendRequest<Bytes>,
    key: &str,
    request: &StreamTokensRequest,
) -> Result<GrpcStream, h2::Error> {
    let req = http::Request::post("/oauth_registry.v1.TokenService/StreamTokens")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {key}"))
        .body(())
        .expect("request");
    let mut ready = send.clone().ready().await?;
    let (resp, mut body) = ready.send_request(req, false)?;
    body.send_data(grpc_frame(request), true)?;
    let resp = resp.await?;
    assert_eq!(resp.status(), 200);
    Ok(GrpcStream {
        body: resp.into_body(),
        buf: BytesMut::new(),
    })
}

/// The messages of a gRPC response body, one at a time.
struct GrpcStream {
    body: h2::RecvStream,
    buf: BytesMut,
}

impl GrpcStream {
    /// The next page; `Ok(None)` at the end (with the trailers' status).
    async fn next(&mut self) -> Result<Option<StreamTokensResponse>, String> {
        loop {
            if self.buf.len() >= 5 {
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]])
                    as usize;
                if self.buf.len() >= 5 + len {
                    self.buf.advance(5);
                    let msg = self.buf.split_to(len);
                    return StreamTokensResponse::decode(msg.freeze())
                        .map(Some)
                        .map_err(|e| e.to_string());
                }
            }
            match self.body.data().await {
                Some(Ok(chunk)) => {
                    let _ = self.body.flow_control().release_capacity(chunk.len());
                    self.buf.extend_from_slice(&chunk);
                }
                Some(Err(e)) => return Err(format!("cut: {e}")),
                None => {
                    let trailers = self
                        .body
                        .trailers()
                        .await
                        .map_err(|e| format!("cut: {e}"))?;
                    let status = trailers
                        .as_ref()
                        .and_then(|t| t.get("grpc-status"))
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    return match status.as_deref() {
                        Some("0") => Ok(None),
                        other => Err(format!("ended with grpc-status {other:?}")),
                    };
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_pings_get_goaway_enhance_your_calm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let port = free_port();
    let _server = serve(&url, port, &["--min-ping-interval-secs", "1"]);

    // Pings at the allowed rate are fine.
    let (_send, mut conn) = raw(port).await;
    let mut pings = conn.ping_pong().expect("ping handle");
    let polite = tokio::spawn(conn);
    for _ in 0..4 {
        pings
            .ping(h2::Ping::opaque())
            .await
            .expect("a polite ping is answered");
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    assert!(
        !polite.is_finished(),
        "a polite client keeps its connection"
    );

    // A flood is not.
    let (_send, mut conn) = raw(port).await;
    let mut pings = conn.ping_pong().expect("ping handle");
    let flooded = tokio::spawn(conn);
    for _ in 0..10 {
        if pings.ping(h2::Ping::opaque()).await.is_err() {
            break;
        }
    }
    let err = tokio::time::timeout(Duration::from_secs(5), flooded)
        .await
        .expect("the server closed the connection")
        .expect("driver")
        .expect_err("closed with an error");
    assert!(err.is_go_away() && err.is_remote(), "{err:?}");
    assert_eq!(err.reason(), Some(h2::Reason::ENHANCE_YOUR_CALM), "{err:?}");
    assert!(format!("{err:?}").contains("too_many_pings"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aged_connections_get_goaway_and_streams_finish_or_resume() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let key = seed(&url, TOKENS);
    let port = free_port();
    let _server = serve(
        &url,
        port,
        &[
            "--max-connection-age-secs",
            "2",
            "--max-connection-age-grace-secs",
            "3",
        ],
    );
    let request = StreamTokensRequest {
        page_size: 5,
        ..Default::default()
    };

    // 1. A stream in flight when the connection ages completes in the grace.
    let (mut send, conn) = raw(port).await;
    let opened = Instant::now();
    let driver = tokio::spawn(conn);
    let mut stream = stream_tokens(&mut send, &key, &request)
        .await
        .expect("stream");
    let mut ids = HashSet::new();
    let page = stream.next().await.expect("page").expect("first page");
    ids.extend(page.tokens.into_iter().map(|t| t.id));
    tokio::time::sleep(Duration::from_millis(2600)).await; // past the age (2 s ±10 %)
    while let Some(page) = stream.next().await.expect("completes within the grace") {
        ids.extend(page.tokens.into_iter().map(|t| t.id));
    }
    assert_eq!(ids.len(), TOKENS, "every row, once");
    // The connection was told to go away: it closes once the stream is
    // done, though the client never closed it, and takes no new call.
    let closed = tokio::time::timeout(Duration::from_secs(5), driver)
        .await
        .expect("the aged connection closed")
        .expect("driver");
    assert!(closed.is_ok(), "closed gracefully: {closed:?}");
    assert!(
        stream_tokens(&mut send, &key, &request).await.is_err(),
        "a new call on an aged connection is refused"
    );
    assert!(opened.elapsed() < Duration::from_secs(2 + 3 + 2));

    // 2. A stream still running after age + grace is cut, and resumes.
    let (mut send, conn) = raw(port).await;
    let _driver = tokio::spawn(conn);
    let mut stream = stream_tokens(&mut send, &key, &request)
        .await
        .expect("stream");
    let mut ids = HashSet::new();
    let page = stream.next().await.expect("page").expect("first page");
    ids.extend(page.tokens.into_iter().map(|t| t.id));
    let mut resume = page.next_page_token;
    tokio::time::sleep(Duration::from_millis(6000)).await; // past age + grace
    let cut = loop {
        match stream.next().await {
            Ok(Some(page)) => {
                ids.extend(page.tokens.into_iter().map(|t| t.id));
                resume = page.next_page_token;
            }
            Ok(None) => panic!("the stream outlived age + grace"),
            Err(e) => break e,
        }
    };
    assert!(ids.len() < TOKENS, "cut early ({cut})");
    let mut rest = TokenServiceClient::new(connect_retrying(port, None).await)
        .stream_tokens(authed(
            &key,
            StreamTokensRequest {
                page_token: resume,
                ..request.clone()
            },
        ))
        .await
        .expect("resume")
        .into_inner();
    while let Some(page) = rest.message().await.expect("page") {
        for t in page.tokens {
            assert!(ids.insert(t.id), "no duplicate after resuming");
        }
    }
    assert_eq!(ids.len(), TOKENS, "no gap after resuming");

    // 3. A tonic channel reconnects across ageing, and no call is lost.
    // A call sent while the server's GOAWAY is in flight may be refused
    // unprocessed; grpc-go, grpcio and grpc-java retry such a call
    // transparently, tonic does not, so the loop retries it once, as they
    // would. No call may fail twice, and few may need the retry.
    let mut client = TokenServiceClient::new(connect_retrying(port, None).await);
    let start = Instant::now();
    let (mut calls, mut retried) = (0, 0);
    while start.elapsed() < Duration::from_secs(5) {
        let request = || authed(&key, ListTokensRequest::default());
        if client.list_tokens(request()).await.is_err() {
            retried += 1;
            client
                .list_tokens(request())
                .await
                .expect("no call fails twice because its connection aged");
        }
        calls += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(calls > 20, "{calls} calls");
    assert!(retried <= 3, "{retried} of {calls} calls needed a retry");
}
