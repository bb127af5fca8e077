//! The change feed's ordering and push on PostgreSQL: a transaction that
//! took its id and commits late is never skipped (later transactions'
//! changes wait above the watermark until it ends, without the writers
//! waiting), two writers of one row take their versions in the order they
//! commit, and a change made through one
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

/// Opens a transaction that writes `first` the way the store does (its
/// advisory locks in its `BEGIN`, then the row, then its event numbered
/// by its transaction id) and leaves it open, as a slow write would.
async fn hold_a_write(
    app: &crate::common::TestApp,
    id: &str,
    name: &str,
) -> (sqlx::PgConnection, i64) {
    use oauth_registry::domain::change::ResourceKind;
    use oauth_registry::store::sql::Engine;
    use oauth_registry::store::versions::WriteLocks;
    let mut slow = sqlx::PgConnection::connect(&app.database_url)
        .await
        .expect("connect");
    let begin = WriteLocks::shared()
        .row(&app.org_a, ResourceKind::Token, id)
        .begin(Engine::Postgres, &app.org_a);
    sqlx::raw_sql(sqlx::AssertSqlSafe(begin))
        .execute(&mut slow)
        .await
        .expect("begin with the row's lock");
    sqlx::query("UPDATE tokens SET name = $2 WHERE id = $1")
        .bind(id)
        .bind(name)
        .execute(&mut slow)
        .await
        .expect("update");
    let held: i64 = sqlx::query_scalar(
        "INSERT INTO changes (org_id, version, resource, kind, resource_id, before, after, changed_at) \
         SELECT org_id, (pg_current_xact_id()::text::bigint << 24) + 1, resource, 'updated', resource_id, after, \
         replace(after, '\"first\"', '\"' || $3::text || '\"'), changed_at \
         FROM changes WHERE org_id = $1 AND resource_id = $2 AND kind = 'created' RETURNING version",
    )
    .bind(app.org_a.as_str())
    .bind(id)
    .bind(name)
    .fetch_one(&mut slow)
    .await
    .expect("append");
    (slow, held)
}

async fn watch_from(
    app: &crate::common::TestApp,
    version: i64,
) -> tonic::Streaming<pb::WatchTokensResponse> {
    app.tokens()
        .watch_tokens(authed(
            &app.key_a,
            pb::WatchTokensRequest {
                start_version: Some(version),
                ..Default::default()
            },
        ))
        .await
        .expect("watch")
        .into_inner()
}

/// A token "first", a watch from the settled version after it, and a write
/// of "first" held open (`hold_a_write`): the app, first's id, the watch,
/// the held transaction and its change's version.
async fn watch_with_a_held_write() -> (
    crate::common::TestApp,
    String,
    tonic::Streaming<pb::WatchTokensResponse>,
    sqlx::PgConnection,
    i64,
) {
    let app = spawn_app(Backend::Postgres).await;
    let (first, _) = app.create_token(&app.key_a, token("first")).await;
    let store = app.registry.store().clone();
    let from = crate::common::settled_version(&store, &app.org_a).await.0;
    let events = watch_from(&app, from).await;
    let (slow, held) = hold_a_write(&app, &first.id, "slow").await;
    (app, first.id, events, slow, held)
}

/// Nothing but bookmarks for `ms`.
async fn quiet(events: &mut tonic::Streaming<pb::WatchTokensResponse>, ms: u64) -> bool {
    let nothing = tokio::time::timeout(Duration::from_millis(ms), events.message()).await;
    nothing.map_or(true, |m| {
        m.ok()
            .flatten()
            .is_some_and(|e| e.kind == pb::ChangeKind::Bookmark as i32)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
async fn a_late_commit_is_never_skipped() {
    // A writer takes its transaction id and holds its transaction open.
    let (app, _, mut events, mut slow, held) = watch_with_a_held_write().await;

    // A writer of another row starts after it, takes a later id, and
    // commits first: writers of one organization do not wait for each
    // other (no counter row) ...
    let mut api = app.tokens();
    let created = tokio::time::timeout(
        Duration::from_secs(5),
        api.create_token(authed(
            &app.key_a,
            pb::CreateTokenRequest {
                token: Some(token("fast")),
            },
        )),
    )
    .await
    .expect("the later writer does not wait")
    .expect("create")
    .into_inner()
    .token
    .expect("token");
    // ... but its change is not delivered while the earlier one may still
    // commit below it.
    assert!(
        quiet(&mut events, 500).await,
        "no change is visible before the held transaction ends"
    );

    sqlx::query("COMMIT")
        .execute(&mut slow)
        .await
        .expect("commit late");
    let a = next_change(&mut events).await;
    let b = next_change(&mut events).await;
    assert_eq!((a.version, a.kind), (held, pb::ChangeKind::Updated as i32));
    assert_eq!(a.token.expect("row").name, "slow");
    assert!(
        b.version > held,
        "the later transaction's change comes after"
    );
    assert_eq!(b.kind, pb::ChangeKind::Created as i32);
    assert_eq!(b.token.expect("row").id, created.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
async fn writers_of_one_row_commit_in_version_order() {
    let (app, first_id, mut events, mut slow, held) = watch_with_a_held_write().await;

    // A second writer of the same row waits for the row's lock before it
    // has a transaction id, so its id (its version) is above the first's.
    let mut api = app.tokens();
    let id = first_id;
    let key = app.key_a.clone();
    let second = tokio::spawn(async move {
        api.update_token(authed(
            &key,
            pb::UpdateTokenRequest {
                token: Some(pb::Token {
                    id,
                    name: "second".into(),
                    ..Default::default()
                }),
                update_mask: Some(pbjson_types::FieldMask {
                    paths: vec!["name".into()],
                }),
            },
        ))
        .await
        .expect("update")
        .into_inner()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!second.is_finished(), "the second writer of the row waits");
    assert!(quiet(&mut events, 100).await);
    sqlx::query("COMMIT")
        .execute(&mut slow)
        .await
        .expect("commit");
    assert_eq!(second.await.expect("second writer").name, "second");
    let a = next_change(&mut events).await;
    let b = next_change(&mut events).await;
    assert_eq!(a.version, held);
    assert_eq!(a.token.expect("row").name, "slow");
    assert!(b.version > held);
    assert_eq!(
        b.token.expect("row").name,
        "second",
        "the last event is the row as it stands"
    );
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
