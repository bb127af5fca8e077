//! Concurrency on both backends through the real server: many writers and
//! readers at once never see "database is locked" (or any error), every
//! acknowledged write is there afterwards, and a cursor walk or a stream
//! running while others create, revoke and delete tokens returns every row
//! that existed for the whole walk exactly once and never a duplicate.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::common::{Backend, TestApp, authed, insert_tokens, spawn_app, token_for};
use oauth_registry::grpc::pb;

const WRITERS: usize = 16;
const WRITES_EACH: usize = 25;

async fn many_writers_and_readers_lose_nothing(backend: Backend) {
    let app = Arc::new(spawn_app(backend).await);
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut errors = Vec::new();
            let mut tokens = app.tokens();
            for i in 0..WRITES_EACH {
                let create = tokens
                    .create_token(authed(
                        &app.key_a,
                        pb::CreateTokenRequest {
                            token: Some(token_for(&format!("user-{w}"), &format!("w{w}-{i}"))),
                        },
                    ))
                    .await;
                match create {
                    Ok(r) => acked.push(r.into_inner().token.expect("token").id),
                    Err(s) => errors.push(format!("create: {s:?}")),
                }
                // Every writer also reads: a page and a count.
                let list = tokens
                    .list_tokens(authed(
                        &app.key_a,
                        pb::ListTokensRequest {
                            page_size: 20,
                            ..Default::default()
                        },
                    ))
                    .await;
                if let Err(s) = list {
                    errors.push(format!("list: {s:?}"));
                }
                if i % 5 == 4
                    && let Some(id) = acked.last()
                {
                    let revoke = tokens
                        .revoke_token(authed(
                            &app.key_a,
                            pb::RevokeTokenRequest { id: id.clone() },
                        ))
                        .await;
                    if let Err(s) = revoke {
                        errors.push(format!("revoke: {s:?}"));
                    }
                }
            }
            (acked, errors)
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        let (ids, errors) = t.await.expect("task");
        assert!(errors.is_empty(), "errors reached clients: {errors:?}");
        acked.extend(ids);
    }
    assert_eq!(acked.len(), WRITERS * WRITES_EACH);
    let stored: HashSet<String> = walk(&app, 100).await.into_iter().collect();
    for id in &acked {
        assert!(stored.contains(id), "acknowledged token {id} is missing");
    }
    assert_eq!(stored.len(), acked.len());
}

/// Every id, by cursor walk (`page_size` per page, oldest first).
async fn walk(app: &TestApp, page_size: i32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = String::new();
    let mut tokens = app.tokens();
    loop {
        let page = tokens
            .list_tokens(authed(
                &app.key_a,
                pb::ListTokensRequest {
                    page_size,
                    page_token: token,
                    order_by: "create_time".into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("page")
            .into_inner();
        ids.extend(page.tokens.into_iter().map(|t| t.id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        token = page.next_page_token;
    }
}

async fn walks_under_concurrent_writes_see_stable_rows_once(backend: Backend) {
    let app = Arc::new(spawn_app(backend).await);
    let stable: Vec<String> = insert_tokens(&app, &app.org_a, 600)
        .await
        .into_iter()
        .map(|t| t.id.into())
        .collect();
    let doomed: Vec<String> = insert_tokens(&app, &app.org_a, 200)
        .await
        .into_iter()
        .map(|t| t.id.into())
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (app, stop, doomed) = (app.clone(), stop.clone(), doomed.clone());
        tokio::spawn(async move {
            let mut tokens = app.tokens();
            let mut i = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let key = &app.key_a;
                let made = tokens
                    .create_token(authed(
                        key,
                        pb::CreateTokenRequest {
                            token: Some(token_for("writer", &format!("new-{i}"))),
                        },
                    ))
                    .await
                    .expect("create during walk");
                let id = made.into_inner().token.expect("token").id;
                tokens
                    .revoke_token(authed(key, pb::RevokeTokenRequest { id }))
                    .await
                    .expect("revoke during walk");
                if let Some(id) = doomed.get(i) {
                    tokens
                        .delete_token(authed(
                            key,
                            pb::DeleteTokenRequest {
                                id: id.clone(),
                                ..Default::default()
                            },
                        ))
                        .await
                        .expect("delete during walk");
                }
                i += 1;
            }
            i
        })
    };

    // A cursor walk in small pages and a stream, both while the writer runs.
    let walked = walk(&app, 7).await;
    let mut stream = app
        .tokens()
        .stream_tokens(authed(
            &app.key_a,
            pb::StreamTokensRequest {
                page_size: 9,
                order_by: "name".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("stream")
        .into_inner();
    let mut streamed = Vec::new();
    while let Some(page) = stream.message().await.expect("page") {
        streamed.extend(page.tokens.into_iter().map(|t| t.id));
    }
    stop.store(true, Ordering::SeqCst);
    let writes = writer.await.expect("writer");
    assert!(writes > 0, "the writer ran during the walks");

    for (label, ids) in [("cursor walk", &walked), ("stream", &streamed)] {
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{label}: a duplicate");
        for id in &stable {
            assert!(unique.contains(id), "{label}: stable row {id} missing");
        }
    }
    eprintln!(
        "{} writer rounds during the walks; walk {} rows, stream {} rows",
        writes,
        walked.len(),
        streamed.len()
    );
}

backend_tests!(
    many_writers_and_readers_lose_nothing,
    walks_under_concurrent_writes_see_stable_rows_once
);
