//! `grpc.health.v1`: SERVING while the database answers, NOT_SERVING while it
//! does not, and back by itself; RPCs fail fast with UNAVAILABLE meanwhile.

mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestApp, authed, pg_url, spawn_with};
use oauth_registry::grpc::pb;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn status(app: &TestApp, service: &str) -> ServingStatus {
    let r = HealthClient::new(app.channel.clone())
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .expect("health check")
        .into_inner();
    ServingStatus::try_from(r.status).expect("known status")
}

async fn wait_for(app: &TestApp, want: ServingStatus, within: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < within {
        if status(app, "").await == want {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("health did not become {want:?} within {within:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_for_every_service() {
    let app = spawn_with(Backend::Sqlite, |c| {
        c.health_interval = Duration::from_millis(100)
    })
    .await;
    wait_for(&app, ServingStatus::Serving, Duration::from_secs(5)).await;
    for s in [
        "oauth_registry.v1.TokenService",
        "oauth_registry.v1.ClientService",
    ] {
        assert_eq!(status(&app, s).await, ServingStatus::Serving, "{s}");
    }
}

/// A TCP proxy in front of PostgreSQL that the test can take down (refusing
/// and cutting every connection) and bring back, simulating an outage of the
/// database without touching the shared server.
struct Proxy {
    port: u16,
    up: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    async fn start(target: std::net::SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let (up, rx) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !*rx.borrow() {
                    continue; // down: drop the connection at once
                }
                let mut rx = rx.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = rx.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { port, up }
    }

    fn set_up(&self, up: bool) {
        let _ = self.up.send(up);
    }
}

/// Cuts the service off from its database (through the proxy), checks
/// NOT_SERVING and fast UNAVAILABLE, then restores it and checks recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_not_serving_and_recovers() {
    let Some(admin) = pg_url() else {
        eprintln!(
            "SKIPPED health::postgres_outage_is_not_serving_and_recovers: set {} to run it",
            common::PG_ENV
        );
        return;
    };
    let pg: std::net::SocketAddr = {
        let host_port = admin
            .split('@')
            .next_back()
            .and_then(|r| r.split('/').next())
            .unwrap_or("127.0.0.1:5432");
        let host_port = if host_port.contains(':') {
            host_port.to_owned()
        } else {
            format!("{host_port}:5432")
        };
        tokio::net::lookup_host(host_port)
            .await
            .expect("resolve")
            .next()
            .expect("pg address")
    };
    let proxy = Proxy::start(pg).await;
    let port = proxy.port;
    let app = spawn_with(Backend::Postgres, move |c| {
        c.health_interval = Duration::from_millis(200);
        c.store.acquire_timeout = Duration::from_secs(1);
        // Same database, reached through the proxy.
        let (scheme_auth, rest) = c.database_url.split_once('@').expect("url with user");
        let db = rest.split_once('/').map(|(_, d)| d).expect("db");
        c.database_url = format!("{scheme_auth}@127.0.0.1:{port}/{db}");
    })
    .await;
    wait_for(&app, ServingStatus::Serving, Duration::from_secs(5)).await;

    proxy.set_up(false);
    let down = wait_for(&app, ServingStatus::NotServing, Duration::from_secs(5)).await;
    let start = Instant::now();
    let err = app
        .tokens()
        .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
        .await
        .expect_err("no database, no listing");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(3), "fails fast");

    proxy.set_up(true);
    let up = wait_for(&app, ServingStatus::Serving, Duration::from_secs(5)).await;
    app.tokens()
        .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
        .await
        .expect("recovered");
    eprintln!("NOT_SERVING after {down:?}; SERVING again after {up:?}");
}
