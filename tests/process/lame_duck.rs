//! Lame-duck shutdown of the real binary: on SIGTERM readiness turns
//! NOT_SERVING at once (gRPC health and `GET /readyz`) while liveness stays
//! SERVING, and for `--shutdown-delay-secs` the server still accepts new
//! connections and answers calls on them; only then does it drain and exit.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::authed;
use crate::common::process::{BIN, connect_retrying, free_port, seed};
use oauth_registry::grpc::pb::ListTokensRequest;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use tokio::process::Command;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const DELAY: Duration = Duration::from_secs(3);

/// `oauth-registry healthcheck --service NAME` (the container probe).
fn healthcheck(port: u16, service: &str) -> bool {
    std::process::Command::new(BIN)
        .args(["healthcheck", "--timeout-ms", "1000", "--service", service])
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("healthcheck")
        .success()
}

async fn check(port: u16, service: &str) -> ServingStatus {
    HealthClient::new(connect_retrying(port, None).await)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .expect("check")
        .into_inner()
        .status()
}

async fn get(rest: u16, path: &str) -> u16 {
    reqwest::get(format!("http://127.0.0.1:{rest}{path}"))
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_turns_not_ready_but_keeps_serving_for_the_delay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let key = seed(&url, 20);
    let (port, rest) = (free_port(), free_port());
    let mut server = Command::new(BIN)
        .args(["--database-url", &url, "serve"])
        .args(["--grpc-addr", &format!("127.0.0.1:{port}")])
        .args(["--rest-addr", &format!("127.0.0.1:{rest}")])
        .args(["--shutdown-delay-secs", &DELAY.as_secs().to_string()])
        .args(["--shutdown-grace-secs", "5"])
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the server");
    let mut ready = HealthClient::new(connect_retrying(port, None).await)
        .watch(HealthCheckRequest::default())
        .await
        .expect("watch readiness")
        .into_inner();
    let first = ready.message().await.expect("status").expect("a status");
    assert_eq!(first.status(), ServingStatus::Serving);
    assert!(healthcheck(port, ""), "ready before the signal");
    assert!(healthcheck(port, "liveness"), "live before the signal");
    assert_eq!(get(rest, "/readyz").await, 200);

    let pid = server.id().expect("pid").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let signalled = Instant::now();

    // Readiness turns NOT_SERVING at once.
    loop {
        let update = ready.message().await.expect("status").expect("a status");
        if update.status() == ServingStatus::NotServing {
            break;
        }
    }
    let flipped = signalled.elapsed();
    assert!(
        flipped < Duration::from_secs(1),
        "flipped after {flipped:?}"
    );

    // During the delay: new connections and calls still work, readiness
    // says NOT_SERVING everywhere, liveness SERVING.
    let mut calls = 0;
    while signalled.elapsed() < DELAY - Duration::from_millis(700) {
        let fresh = connect_retrying(port, None).await;
        let listed = TokenServiceClient::new(fresh)
            .list_tokens(authed(&key, ListTokensRequest::default()))
            .await
            .expect("a call on a new connection during the delay");
        assert!(!listed.into_inner().tokens.is_empty());
        calls += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(calls >= 3, "{calls} calls during the delay");
    for s in [
        "",
        "oauth_registry.v1.TokenService",
        "oauth_registry.v1.ClientService",
    ] {
        assert_eq!(check(port, s).await, ServingStatus::NotServing, "{s:?}");
    }
    assert_eq!(check(port, "liveness").await, ServingStatus::Serving);
    assert!(!healthcheck(port, ""), "healthcheck fails while not ready");
    assert!(healthcheck(port, "liveness"), "liveness probe passes");
    assert_eq!(get(rest, "/readyz").await, 503);
    assert_eq!(get(rest, "/livez").await, 200);
    drop(ready);

    // Then it drains and exits cleanly, not before the delay.
    let exit = tokio::time::timeout(Duration::from_secs(15), server.wait())
        .await
        .expect("exited")
        .expect("exit status");
    assert!(exit.success(), "exit status {exit:?}");
    let took = signalled.elapsed();
    assert!(
        took >= DELAY,
        "served for the whole delay: exited after {took:?}"
    );
    assert!(
        took < DELAY + Duration::from_secs(5),
        "drained within the grace: {took:?}"
    );
}
