//! Graceful shutdown of the real binary: SIGTERM with a stream in flight.
//! Health turns NOT_SERVING, the stream ends at a page boundary with
//! UNAVAILABLE (and its last page's resume token works on a new server, with
//! no gap and no duplicate), and the process exits 0 within the grace period.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::authed;
use crate::common::process::{BIN, connect_retrying, free_port, seed};
use oauth_registry::grpc::pb::StreamTokensRequest;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use tokio::process::{Child, Command};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const TOKENS: usize = 3000;

fn serve(url: &str, port: u16) -> Child {
    Command::new(BIN)
        .args(["--database-url", url, "serve", "--no-rest"])
        .args(["--grpc-addr", &format!("127.0.0.1:{port}")])
        .args(["--shutdown-grace-secs", "5", "--shutdown-delay-secs", "0"])
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the server")
}

/// `oauth-registry healthcheck` (the container probe) against `port`.
fn healthcheck(port: u16) -> bool {
    std::process::Command::new(BIN)
        .args(["healthcheck", "--timeout-ms", "1000"])
        .args(["--addr", &format!("http://127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("healthcheck")
        .success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_streams_resumably_and_exits_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let key = seed(&url, TOKENS);
    let key = key.as_str();

    let port = free_port();
    let mut server = serve(&url, port);
    let mut health = HealthClient::new(connect_retrying(port, Some(16 * 1024)).await)
        .watch(HealthCheckRequest::default())
        .await
        .expect("watch health")
        .into_inner();
    let first = health.message().await.expect("status").expect("a status");
    assert_eq!(first.status(), ServingStatus::Serving);
    assert!(
        healthcheck(port),
        "`oauth-registry healthcheck` says SERVING"
    );

    let request = StreamTokensRequest {
        page_size: 5,
        ..Default::default()
    };
    let mut stream = TokenServiceClient::new(connect_retrying(port, Some(16 * 1024)).await)
        .stream_tokens(authed(key, request.clone()))
        .await
        .expect("stream")
        .into_inner();
    let mut seen = Vec::new();
    let page = stream.message().await.expect("page").expect("a page");
    seen.extend(page.tokens.into_iter().map(|t| t.id));
    let mut resume = page.next_page_token;

    let pid = server.id().expect("pid").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let signalled = Instant::now();

    // Health says NOT_SERVING before the server goes away.
    loop {
        let update = health.message().await.expect("status").expect("a status");
        if update.status() == ServingStatus::NotServing {
            break;
        }
    }
    drop(health);

    // The stream ends at a page boundary with UNAVAILABLE, well before its end.
    let status = loop {
        match stream.message().await {
            Ok(Some(page)) => {
                seen.extend(page.tokens.into_iter().map(|t| t.id));
                resume = page.next_page_token;
            }
            Ok(None) => panic!("the stream ran to its end during a drain"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(seen.len() < TOKENS, "stopped early: {} rows", seen.len());
    assert!(!resume.is_empty());
    drop(stream);

    let exit = tokio::time::timeout(Duration::from_secs(10), server.wait())
        .await
        .expect("exited")
        .expect("exit status");
    assert!(exit.success(), "exit status {exit:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "drained within the grace period: {:?}",
        signalled.elapsed()
    );
    assert!(
        !healthcheck(port),
        "`healthcheck` fails once the server is gone"
    );

    // Another server over the same database resumes where the drain stopped.
    let port = free_port();
    let _server = serve(&url, port);
    let mut rest = TokenServiceClient::new(connect_retrying(port, Some(16 * 1024)).await)
        .stream_tokens(authed(
            key,
            StreamTokensRequest {
                page_size: 1000,
                page_token: resume,
                ..request
            },
        ))
        .await
        .expect("resumed stream")
        .into_inner();
    while let Some(page) = rest.message().await.expect("page") {
        seen.extend(page.tokens.into_iter().map(|t| t.id));
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(seen.len(), TOKENS, "every row once across the drain");
    assert_eq!(unique.len(), TOKENS, "no duplicate");
}
