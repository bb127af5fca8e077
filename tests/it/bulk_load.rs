//! `Store::bulk_load_tokens` (behind `seed`) on both backends: every row
//! loaded, the secondary indexes it drops on an empty table rebuilt exactly
//! as the migrations made them, and a load that fails part-way leaving
//! neither rows nor missing indexes behind.

use crate::common::{Backend, TestApp, spawn_app, token_rows};
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::query::TokenFilter;
use oauth_registry::store::NewTokenRow;
use sqlx::Connection;

/// Names and definitions of the `tokens` table's indexes, from the catalog.
async fn token_indexes(app: &TestApp) -> Vec<(String, String)> {
    match app.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::query_as(
                "SELECT name, COALESCE(sql, '') FROM sqlite_master \
                 WHERE type = 'index' AND tbl_name = 'tokens' ORDER BY name",
            )
            .fetch_all(&mut c)
            .await
            .expect("indexes")
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&app.database_url)
                .await
                .expect("connect");
            sqlx::query_as(
                "SELECT indexname::text, indexdef FROM pg_indexes WHERE tablename = 'tokens' ORDER BY 1",
            )
            .fetch_all(&mut c)
            .await
            .expect("indexes")
        }
    }
}

async fn count(app: &TestApp) -> u64 {
    app.registry
        .store()
        .count_tokens(&app.org_a, &TokenFilter::default(), Timestamp::now())
        .await
        .expect("count")
}

/// Sends `batches` through a channel into a bulk load, as `seed` does.
async fn load(
    app: &TestApp,
    batches: Vec<Vec<NewTokenRow>>,
) -> oauth_registry::domain::Result<u64> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let producer = tokio::spawn(async move {
        for b in batches {
            if tx.send(b).await.is_err() {
                break;
            }
        }
    });
    let result = app.registry.store().bulk_load_tokens(rx).await;
    producer.await.expect("producer");
    result
}

async fn loads_every_row_and_rebuilds_indexes(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = token_indexes(&app).await;
    assert!(
        before.len() >= 8,
        "the migrations' indexes are there: {before:?}"
    );
    let rows = token_rows(&app.org_a, 2500);
    let batches: Vec<_> = rows.chunks(700).map(<[_]>::to_vec).collect();
    assert_eq!(load(&app, batches).await.expect("load"), 2500);
    assert_eq!(count(&app).await, 2500);
    assert_eq!(
        token_indexes(&app).await,
        before,
        "indexes rebuilt as they were"
    );

    // A second load into the non-empty table keeps its indexes in place.
    assert_eq!(
        load(&app, vec![token_rows(&app.org_a, 100)])
            .await
            .expect("load"),
        100
    );
    assert_eq!(count(&app).await, 2600);
    assert_eq!(token_indexes(&app).await, before);
}

async fn failed_load_leaves_nothing_behind(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = token_indexes(&app).await;
    let good = token_rows(&app.org_a, 1000);
    // The third batch repeats an id from the first: the primary key refuses it.
    let bad = vec![good[0].clone()];
    let batches = vec![good[..500].to_vec(), good[500..].to_vec(), bad];
    assert!(
        load(&app, batches).await.is_err(),
        "a duplicate id fails the load"
    );
    assert_eq!(count(&app).await, 0, "no row of the failed load remains");
    assert_eq!(
        token_indexes(&app).await,
        before,
        "no index is left dropped"
    );
}

backend_tests!(
    loads_every_row_and_rebuilds_indexes,
    failed_load_leaves_nothing_behind
);
