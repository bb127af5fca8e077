//! Two `oauth-registry serve` processes on one PostgreSQL database: a token
//! created through replica A reaches a WatchTokens call on replica B within
//! a second. The processes share nothing but the database, so the wake-up
//! can only come from LISTEN/NOTIFY (the bookmark tick, the fallback, is
//! set far beyond the test's limit).

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::process::{BIN, connect_retrying, free_port, seed};
use crate::common::{authed, drop_pg_database, fresh_pg_database, pg_url};
use oauth_registry::grpc::pb;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use tokio::process::{Child, Command};

fn serve(url: &str, port: u16) -> Child {
    Command::new(BIN)
        .args(["--database-url", url, "serve", "--no-rest"])
        .args(["--grpc-addr", &format!("127.0.0.1:{port}")])
        .args(["--watch-bookmark-secs", "60"])
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn a replica")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
async fn a_write_on_replica_a_reaches_a_watch_on_replica_b_within_a_second() {
    let admin = pg_url().expect("TEST_DATABASE_URL");
    let (name, url) = fresh_pg_database(&admin).await;
    let key = seed(&url, 1);
    let (a_port, b_port) = (free_port(), free_port());
    let _a = serve(&url, a_port);
    let _b = serve(&url, b_port);
    let mut a = TokenServiceClient::new(connect_retrying(a_port, None).await);
    let mut b = TokenServiceClient::new(connect_retrying(b_port, None).await);
    let mut events = b
        .watch_tokens(authed(&key, pb::WatchTokensRequest::default()))
        .await
        .expect("watch on B")
        .into_inner();
    events.message().await.expect("ok").expect("first bookmark");

    let mut delays = Vec::new();
    for i in 0..5 {
        let token = pb::Token {
            user_id: "u1".into(),
            name: format!("via-a-{i}"),
            ..Default::default()
        };
        let created = a
            .create_token(authed(&key, pb::CreateTokenRequest { token: Some(token) }))
            .await
            .expect("create on A")
            .into_inner()
            .token
            .expect("token");
        let committed = Instant::now();
        let event = loop {
            let e = tokio::time::timeout(Duration::from_secs(5), events.message())
                .await
                .expect("an event on B")
                .expect("no error")
                .expect("open");
            if e.kind != pb::ChangeKind::Bookmark as i32 {
                break e;
            }
        };
        delays.push(committed.elapsed());
        assert_eq!(event.token.expect("row").id, created.id);
    }
    drop(events);
    drop_pg_database(&admin, &name).await;
    let worst = delays.iter().max().copied().unwrap_or_default();
    assert!(
        worst < Duration::from_secs(1),
        "A→B delivery took up to {worst:?}: {delays:?}"
    );
}
