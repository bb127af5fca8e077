//! Streams that misbehave stay cheap: a stalled consumer holds a few pages
//! and no database transaction, and past the server-wide stream limit a new
//! stream is refused at once with RESOURCE_EXHAUSTED, on any connection.

use std::time::{Duration, Instant};

use crate::common::process::small_window_channel;
use crate::common::{Backend, TestApp, authed, insert_tokens, spawn_app, spawn_with};
use oauth_registry::grpc::pb;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use sqlx::Connection;
use tonic::Code;
use tonic::codec::Streaming;

/// A StreamTokens call over its own connection with a 16 KiB HTTP/2 window,
/// so the server cannot run far ahead into the client's buffers.
async fn open_stream(app: &TestApp, page_size: i32) -> Streaming<pb::StreamTokensResponse> {
    let req = pb::StreamTokensRequest {
        page_size,
        ..Default::default()
    };
    TokenServiceClient::new(small_window_channel(app.addr).await)
        .stream_tokens(authed(&app.key_a, req))
        .await
        .expect("the stream starts")
        .into_inner()
}

/// Sessions of the app's database that are inside a transaction or running
/// a query (PostgreSQL only).
async fn busy_sessions(app: &TestApp) -> Vec<(String, String)> {
    let admin = crate::common::pg_url().expect("postgres");
    let db = app.database_url.rsplit('/').next().expect("db name");
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect");
    sqlx::query_as(
        "SELECT state, query FROM pg_stat_activity
         WHERE datname = $1 AND (state = 'active' OR state LIKE 'idle in transaction%')",
    )
    .bind(db)
    .fetch_all(&mut conn)
    .await
    .expect("pg_stat_activity")
}

/// A consumer that reads one page and then stops reading: the producer waits
/// on HTTP/2 flow control with at most a few pages fetched, fetches nothing
/// more while stalled, and holds no transaction or query open meanwhile.
async fn stalled_consumer_holds_few_pages_and_no_transaction(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 5000).await;
    let fetched = || app.registry.metrics().pages_fetched();
    let before = fetched();
    let mut stream = open_stream(&app, 100).await;
    stream.message().await.unwrap().expect("first page");

    // Stalled: nothing is read. Once the producer has filled what flow
    // control lets through it must stop, and stay stopped.
    let mut stalled = fetched() - before;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = fetched() - before;
        if now == stalled {
            break;
        }
        stalled = now;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let later = fetched() - before;
    eprintln!("pages fetched while the consumer stalled: {stalled} of 50");
    // The page read, the HTTP/2 window and write buffer, the channel slot and
    // the page in the producer's hand: a handful of pages, not the table.
    assert!(
        stalled <= 10,
        "a stalled consumer let the server fetch {stalled} pages"
    );
    assert_eq!(later, stalled, "pages kept being fetched during the stall");
    if backend == Backend::Postgres {
        let busy = busy_sessions(&app).await;
        assert!(
            busy.is_empty(),
            "a stalled stream holds database sessions: {busy:?}"
        );
    }

    // Reading again finishes the stream with every row.
    let mut rows = 100;
    while let Some(page) = stream.message().await.expect("page") {
        rows += page.tokens.len();
    }
    assert_eq!(rows, 5000);
}

/// With `max_streams = 2`, two open streams on two connections use the
/// limit up; a third, on a third connection, is refused at once; closing one
/// frees its place. Unary calls are not affected.
async fn streams_past_the_server_limit_are_refused(backend: Backend) {
    let app = spawn_with(backend, |c| c.max_streams = 2).await;
    insert_tokens(&app, &app.org_a, 3000).await;
    let mut first = open_stream(&app, 10).await;
    let mut second = open_stream(&app, 10).await;
    first.message().await.unwrap().expect("page");
    second.message().await.unwrap().expect("page");

    let start = Instant::now();
    let refused = TokenServiceClient::new(small_window_channel(app.addr).await)
        .stream_tokens(authed(&app.key_a, pb::StreamTokensRequest::default()))
        .await
        .expect_err("a third stream is refused");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("too many streams"),
        "{refused:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(1), "refused at once");

    app.tokens()
        .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
        .await
        .expect("unary calls still served");

    drop(first);
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut third = loop {
        let attempt = TokenServiceClient::new(small_window_channel(app.addr).await)
            .stream_tokens(authed(
                &app.key_a,
                pb::StreamTokensRequest {
                    page_size: 1000,
                    ..Default::default()
                },
            ))
            .await;
        match attempt {
            Ok(s) => break s.into_inner(),
            Err(s) if s.code() == Code::ResourceExhausted && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(s) => panic!("a closed stream's place was not freed: {s:?}"),
        }
    };
    let mut rows = 0;
    while let Some(page) = third.message().await.expect("page") {
        rows += page.tokens.len();
    }
    assert_eq!(rows, 3000);
    drop(second);
}

backend_tests!(
    stalled_consumer_holds_few_pages_and_no_transaction,
    streams_past_the_server_limit_are_refused,
);
