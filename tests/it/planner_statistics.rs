//! PostgreSQL's planner statistics do not depend on autovacuum (off on the
//! test server, as on the machine where a database filled through the API
//! had none and listings fell back to bitmap scans and sorts): migrating
//! analyzes every table never analyzed or grown since, so a restart of a
//! database filled through the API plans with statistics; a bulk load
//! (`seed`) analyzes what it wrote; and a running server analyzes what went
//! stale since, one replica at a time, without a restart.

use std::time::Duration;

use crate::common::{Backend, TestApp, spawn_app, spawn_with, token_rows};
use sqlx::{Connection, PgConnection};

async fn conn(app: &TestApp) -> PgConnection {
    PgConnection::connect(&app.database_url)
        .await
        .expect("connect")
}

/// Columns of `table` the planner has statistics for.
async fn column_stats(c: &mut PgConnection, table: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1",
    )
    .bind(table)
    .fetch_one(c)
    .await
    .expect("pg_stats")
}

/// Waits until PostgreSQL's statistics count `rows` inserts into `table`.
/// Each pool connection reports its counts when it goes idle, up to a
/// second or more after its writes; a report that arrives after an ANALYZE
/// counts as changes since it, and makes the table look stale again.
async fn inserts_reported(c: &mut PgConnection, table: &str, rows: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let n: i64 = sqlx::query_scalar(
            "SELECT coalesce(sum(n_tup_ins), 0)::bigint FROM pg_stat_user_tables \
             WHERE schemaname = current_schema() AND relname = $1",
        )
        .bind(table)
        .fetch_one(&mut *c)
        .await
        .expect("pg_stat_user_tables");
        if n >= rows {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} of {rows} inserts into {table} reported after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Tables never analyzed.
async fn unanalyzed(c: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT relname::text FROM pg_stat_user_tables \
         WHERE last_analyze IS NULL AND last_autoanalyze IS NULL ORDER BY 1",
    )
    .fetch_all(c)
    .await
    .expect("pg_stat_user_tables")
}

/// Whatever the server's global setting, autovacuum does not keep
/// `tokens`: the service's own check is all there is.
async fn autovacuum_off_for_tokens(c: &mut PgConnection) {
    sqlx::query("ALTER TABLE tokens SET (autovacuum_enabled = off)")
        .execute(c)
        .await
        .expect("autovacuum off for tokens");
}

/// The first key of the periodic check's advisory lock (the second is 1).
const CHECK_LOCK: i32 = 0x5354_4154;

/// Takes the periodic check's session lock (`store/pg_statistics.rs`), as
/// another replica running the check would; whether it was free.
async fn take_check_lock(c: &mut PgConnection) -> bool {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1, 1)")
        .bind(CHECK_LOCK)
        .fetch_one(c)
        .await
        .expect("lock")
}

/// Releases the lock `take_check_lock` took. Closing the session would
/// too, but only once its backend has exited, which the server does after
/// the client has moved on: a check run right after could still find it
/// held.
async fn release_check_lock(c: &mut PgConnection) {
    let released: bool = sqlx::query_scalar("SELECT pg_advisory_unlock($1, 1)")
        .bind(CHECK_LOCK)
        .fetch_one(c)
        .await
        .expect("unlock");
    assert!(released, "the lock was held by this session");
}

async fn analyze_count(c: &mut PgConnection, table: &str) -> i64 {
    sqlx::query_scalar("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = $1")
        .bind(table)
        .fetch_one(c)
        .await
        .expect("analyze_count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
async fn migrating_leaves_statistics_for_what_the_api_wrote() {
    let app = spawn_app(Backend::Postgres).await;
    let mut c = conn(&app).await;
    assert!(
        unanalyzed(&mut c).await.is_empty(),
        "every table analyzed after migrating"
    );
    // Tokens written through the API: with autovacuum off, nothing
    // analyzes them.
    let store = app.registry.store();
    for chunk in token_rows(&app.org_a, 6000).chunks(500) {
        store.insert_tokens(chunk).await.expect("insert");
    }
    assert_eq!(column_stats(&mut c, "tokens").await, 0, "no statistics yet");
    // A restart migrates (nothing to apply) and analyzes the grown table,
    // and only what needs it.
    let untouched = analyze_count(&mut c, "bulk_jobs").await;
    store.migrate().await.expect("migrate");
    assert!(column_stats(&mut c, "tokens").await > 10, "tokens analyzed");
    assert_eq!(analyze_count(&mut c, "bulk_jobs").await, untouched);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
async fn a_bulk_load_analyzes_what_it_wrote() {
    let app = spawn_app(Backend::Postgres).await;
    let mut c = conn(&app).await;
    for i in 0..300 {
        app.create_client(&app.key_a, &format!("client {i}")).await;
    }
    let tables = ["tokens", "clients", "changes", "org_versions"];
    let mut before = Vec::new();
    for t in tables {
        before.push(analyze_count(&mut c, t).await);
    }
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let rows = token_rows(&app.org_a, 3000);
    let load = app.registry.store().bulk_load_tokens(rx);
    let feed = async move {
        for chunk in rows.chunks(1000) {
            tx.send(chunk.to_vec()).await.expect("send");
        }
    };
    let (loaded, ()) = tokio::join!(load, feed);
    assert_eq!(loaded.expect("bulk load"), 3000);
    for (t, b) in tables.iter().zip(before) {
        assert!(analyze_count(&mut c, t).await > b, "{t} analyzed");
    }
    assert!(column_stats(&mut c, "tokens").await > 10);
    assert!(column_stats(&mut c, "clients").await > 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
async fn a_running_server_analyzes_what_the_api_wrote() {
    let app = spawn_with(Backend::Postgres, |c| {
        c.statistics_interval = Some(Duration::from_millis(200));
    })
    .await;
    let mut c = conn(&app).await;
    autovacuum_off_for_tokens(&mut c).await;
    assert_eq!(column_stats(&mut c, "tokens").await, 0, "empty at start");
    let store = app.registry.store();
    for chunk in token_rows(&app.org_a, 6000).chunks(500) {
        store.insert_tokens(chunk).await.expect("insert");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while column_stats(&mut c, "tokens").await <= 10 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "tokens still without statistics 20 s after the writes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
async fn one_replica_at_a_time_analyzes_and_only_what_went_stale() {
    let app = spawn_with(Backend::Postgres, |c| c.statistics_interval = None).await;
    let mut c = conn(&app).await;
    autovacuum_off_for_tokens(&mut c).await;
    let store = app.registry.store();
    for chunk in token_rows(&app.org_a, 6000).chunks(500) {
        store.insert_tokens(chunk).await.expect("insert");
    }
    inserts_reported(&mut c, "tokens", 6000).await;
    // Another replica holds the check's lock: this one leaves it to it.
    let mut other = conn(&app).await;
    assert!(take_check_lock(&mut other).await);
    assert_eq!(
        app.registry.keep_statistics().await.expect("check"),
        Vec::<String>::new()
    );
    assert_eq!(
        column_stats(&mut c, "tokens").await,
        0,
        "left to the other replica"
    );
    release_check_lock(&mut other).await;

    let analyzed = app.registry.keep_statistics().await.expect("check");
    assert!(
        analyzed.iter().any(|t| t.ends_with(".tokens")),
        "tokens analyzed: {analyzed:?}"
    );
    assert!(column_stats(&mut c, "tokens").await > 10);
    // Fresh now: the next check has nothing to do.
    let again = app.registry.keep_statistics().await.expect("check");
    assert!(!again.iter().any(|t| t.ends_with(".tokens")), "{again:?}");
    // The check released its own lock: another session can take it.
    let mut third = conn(&app).await;
    assert!(
        take_check_lock(&mut third).await,
        "the check's session lock was released"
    );
}
