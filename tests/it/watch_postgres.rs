//! The change feed's ordering and push on PostgreSQL: a transaction that
//! took a version and commits late is never skipped (a later writer waits
//! for it, so versions commit in order), and a change made through one
//! replica reaches a watcher on another replica within a second, through
//! LISTEN/NOTIFY alone (the two replicas share nothing in memory).

use std::time::{Duration, Instant};

use crate::common::{Backend, authed, spawn_app};
use oauth_registry::app::Application;
use oauth_registry::config::ServerConfig;
use oauth_registry::grpc::pb;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use sqlx::Connection;

fn token(name: &str) -> pb::Token {
    pb::Token {
        user_id: "alice".into(),
        name: name.into(),
        ..Default::default()
    }
}

async fn next_change(
    events: &mut tonic::Streaming<pb::WatchTokensResponse>,
) -> pb::WatchTokensResponse {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), events.message())
            .await
            .expect("an event within 10 s")
            .expect("no error")
            .expect("open");
        if e.kind != pb::ChangeKind::Bookmark as i32 {
            return e;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
async fn a_late_commit_is_never_skipped() {
    let app = spawn_app(Backend::Postgres).await;
    let (first, _) = app.create_token(&app.key_a, token("first")).await;
    let mut events = app
        .tokens()
        .watch_tokens(authed(
            &app.key_a,
            pb::WatchTokensRequest {
                start_version: Some(1),
                ..Default::default()
            },
        ))
        .await
        .expect("watch")
        .into_inner();

    // A writer that takes the next version and holds its transaction open,
    // as a slow write would: it renames `first` and appends its event the
    // way the store does, but does not commit yet.
    let mut slow = sqlx::PgConnection::connect(&app.database_url)
        .await
        .expect("connect");
    sqlx::query("BEGIN")
        .execute(&mut slow)
        .await
        .expect("begin");
    sqlx::query("UPDATE tokens SET name = 'slow' WHERE id = $1")
        .bind(&first.id)
        .execute(&mut slow)
        .await
        .expect("update");
    let held: i64 = sqlx::query_scalar(
        "UPDATE org_versions SET version = version + 1 WHERE org_id = $1 RETURNING version",
    )
    .bind(app.org_a.as_str())
    .fetch_one(&mut slow)
    .await
    .expect("take a version");
    sqlx::query(
        "INSERT INTO changes (org_id, version, resource, kind, resource_id, before, after, changed_at) \
         SELECT org_id, $2, resource, 'updated', resource_id, after, replace(after, '\"first\"', '\"slow\"'), changed_at \
         FROM changes WHERE org_id = $1 AND version = 1",
    )
    .bind(app.org_a.as_str())
    .bind(held)
    .execute(&mut slow)
    .await
    .expect("append");

    // A fast writer starts after it and must not commit first.
    let mut api = app.tokens();
    let key = app.key_a.clone();
    let fast = tokio::spawn(async move {
        api.create_token(authed(
            &key,
            pb::CreateTokenRequest {
                token: Some(token("fast")),
            },
        ))
        .await
        .expect("create")
        .into_inner()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !fast.is_finished(),
        "the later writer waits for the earlier version to commit"
    );
    let nothing = tokio::time::timeout(Duration::from_millis(300), events.message()).await;
    assert!(
        nothing.map_or(true, |m| m
            .ok()
            .flatten()
            .is_some_and(|e| e.kind == pb::ChangeKind::Bookmark as i32)),
        "no change is visible before the held version commits"
    );

    sqlx::query("COMMIT")
        .execute(&mut slow)
        .await
        .expect("commit late");
    let created = fast.await.expect("fast writer").token.expect("token");
    let a = next_change(&mut events).await;
    let b = next_change(&mut events).await;
    assert_eq!((a.version, a.kind), (held, pb::ChangeKind::Updated as i32));
    assert_eq!(a.token.expect("row").name, "slow");
    assert_eq!(
        (b.version, b.kind),
        (held + 1, pb::ChangeKind::Created as i32)
    );
    assert_eq!(b.token.expect("row").id, created.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
async fn a_write_on_one_replica_wakes_a_watcher_on_another() {
    let app = spawn_app(Backend::Postgres).await;
    let other = Application::build(ServerConfig::new(app.database_url.clone()))
        .await
        .expect("second replica");
    let addr = other.grpc_addr();
    tokio::spawn(other.run_until(std::future::pending()));
    let mut watcher = TokenServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let mut events = watcher
        .watch_tokens(authed(&app.key_a, pb::WatchTokensRequest::default()))
        .await
        .expect("watch on replica B")
        .into_inner();
    // The watch is established (its first bookmark) before writing.
    events.message().await.expect("ok").expect("bookmark");
    let mut worst = Duration::ZERO;
    for i in 0..5 {
        let (t, _) = app.create_token(&app.key_a, token(&format!("r{i}"))).await;
        let committed = Instant::now();
        let e = next_change(&mut events).await;
        worst = worst.max(committed.elapsed());
        assert_eq!(e.token.expect("row").id, t.id);
    }
    assert!(
        worst < Duration::from_secs(1),
        "delivered across replicas in {worst:?}"
    );
}
