//! PostgreSQL's planner statistics do not depend on autovacuum (off on the
//! test server, as on the machine where a database filled through the API
//! had none and listings fell back to bitmap scans and sorts): migrating
//! analyzes every table never analyzed or grown since, so a restart of a
//! database filled through the API plans with statistics; a bulk load
//! (`seed`) analyzes what it wrote.

use crate::common::{Backend, TestApp, spawn_app, token_rows};
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
