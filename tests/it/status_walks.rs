//! A walk ordered by status evaluates status at the walk's instant (fixed by
//! its first page and carried in its page tokens): a token revoked during
//! the walk still counts as active or expired for it, so a cursor walk or a
//! stream by `status asc|desc` returns every row that existed at its start
//! exactly once, however many rows are revoked between its pages.

use std::collections::HashSet;

use crate::common::{Backend, TestApp, authed, insert_tokens, spawn_app};
use oauth_registry::grpc::pb;

const TOKENS: usize = 300;
const PAGE: i32 = 25;

/// Revokes up to `n` not-yet-revoked tokens from `pool`, alternating ends
/// so both rows already returned and rows still ahead are hit.
async fn revoke_some(app: &TestApp, pool: &mut Vec<String>, n: usize) {
    for i in 0..n {
        let id = if i % 2 == 0 {
            pool.pop()
        } else {
            (!pool.is_empty()).then(|| pool.remove(0))
        };
        let Some(id) = id else { return };
        app.tokens()
            .revoke_token(authed(&app.key_a, pb::RevokeTokenRequest { id }))
            .await
            .expect("revoke");
    }
}

/// Live (not revoked) ids at the start, in an order that spreads revokes
/// over every status run.
async fn setup(backend: Backend) -> (TestApp, HashSet<String>, Vec<String>) {
    let app = spawn_app(backend).await;
    let tokens = insert_tokens(&app, &app.org_a, TOKENS).await;
    let all: HashSet<String> = tokens.iter().map(|t| t.id.to_string()).collect();
    let live: Vec<String> = tokens
        .iter()
        .filter(|t| t.revoked_at.is_none())
        .map(|t| t.id.to_string())
        .collect();
    (app, all, live)
}

fn check(order: &str, all: &HashSet<String>, seen: &[String]) {
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "{order}: a row came back twice");
    let missing = all.iter().filter(|id| !unique.contains(id)).count();
    assert_eq!(missing, 0, "{order}: {missing} rows were skipped");
    assert_eq!(seen.len(), all.len(), "{order}");
}

async fn cursor_walks_by_status_survive_revokes(backend: Backend) {
    for order in ["status asc", "status desc"] {
        let (app, all, mut live) = setup(backend).await;
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = app
                .tokens()
                .list_tokens(authed(
                    &app.key_a,
                    pb::ListTokensRequest {
                        page_size: PAGE,
                        page_token: token.clone(),
                        order_by: order.into(),
                        ..Default::default()
                    },
                ))
                .await
                .expect("list")
                .into_inner();
            seen.extend(page.tokens.into_iter().map(|t| t.id));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
            // About 50 revokes over the walk's 12 pages.
            revoke_some(&app, &mut live, 5).await;
        }
        check(order, &all, &seen);
    }
}

async fn streams_by_status_survive_revokes(backend: Backend) {
    for order in ["status asc", "status desc"] {
        let (app, all, mut live) = setup(backend).await;
        let channel = crate::common::process::small_window_channel(app.addr).await;
        let mut stream = pb::token_service_client::TokenServiceClient::new(channel)
            .stream_tokens(authed(
                &app.key_a,
                pb::StreamTokensRequest {
                    page_size: PAGE,
                    order_by: order.into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("stream")
            .into_inner();
        let mut seen = Vec::new();
        while let Some(page) = stream.message().await.expect("page") {
            seen.extend(page.tokens.into_iter().map(|t| t.id));
            revoke_some(&app, &mut live, 5).await;
        }
        check(order, &all, &seen);
    }
}

backend_tests!(
    cursor_walks_by_status_survive_revokes,
    streams_by_status_survive_revokes,
);
