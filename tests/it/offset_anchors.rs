//! Offset anchors (src/service/anchors.rs): a deep offset page that starts
//! from where an earlier page ended returns exactly the rows a cursor walk
//! puts at that offset, whatever sort, direction and filter; an anchor
//! never outlives a write through either of two replicas (PostgreSQL; on
//! SQLite one server), nor a token changing status with the clock.

use std::time::Duration;

use crate::common::replica::Replica;
use crate::common::{Backend, authed, insert_tokens, settled_version, spawn_app, token_for};
use oauth_registry::domain::Timestamp;
use oauth_registry::grpc::pb;

const PAGE: i32 = 100;

fn request(order_by: &str, filter: &str) -> pb::ListTokensRequest {
    pb::ListTokensRequest {
        order_by: order_by.into(),
        filter: filter.into(),
        ..Default::default()
    }
}

/// Every id in order, walked with cursors (which no anchor touches).
async fn walk(replica: &Replica, key: &str, order_by: &str, filter: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = replica
            .tokens()
            .list_tokens(authed(
                key,
                pb::ListTokensRequest {
                    page_size: 1000,
                    page_token: token,
                    ..request(order_by, filter)
                },
            ))
            .await
            .expect("cursor page")
            .into_inner();
        ids.extend(page.tokens.into_iter().map(|t| t.id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        token = page.next_page_token;
    }
}

async fn at_offset(
    replica: &Replica,
    key: &str,
    order_by: &str,
    filter: &str,
    skip: i32,
) -> Vec<String> {
    replica
        .tokens()
        .list_tokens(authed(
            key,
            pb::ListTokensRequest {
                page_size: PAGE,
                skip,
                ..request(order_by, filter)
            },
        ))
        .await
        .expect("offset page")
        .into_inner()
        .tokens
        .into_iter()
        .map(|t| t.id)
        .collect()
}

/// The rows a walk puts at `skip`.
fn slice(all: &[String], skip: i32) -> &[String] {
    let from = (skip as usize).min(all.len());
    &all[from..(from + PAGE as usize).min(all.len())]
}

fn anchor_hits(replica: &Replica) -> u64 {
    replica.registry.metrics().cache_lookups("anchors", true)
}

async fn offset_walks_and_polls_match_a_cursor_walk(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 1500).await;
    insert_tokens(&app, &app.org_b, 300).await;
    let replica = Replica::of(&app);
    let key = &app.key_a;
    settled_version(app.registry.store(), &app.org_a).await;
    let hits = anchor_hits(&replica);
    for (order_by, filter) in [
        ("create_time desc", ""),
        ("name asc", "user_id = \"user-1\""),
        ("status asc", ""),
        ("expire_time desc", "status = ACTIVE"),
        ("id asc", ""),
        ("status desc", "user_id = \"user-2\""),
    ] {
        let all = walk(&replica, key, order_by, filter).await;
        // Sequentially, as Review Board's `next` link pages, to past the end.
        for skip in (0..=all.len() as i32 + PAGE).step_by(PAGE as usize) {
            let got = at_offset(&replica, key, order_by, filter, skip).await;
            assert_eq!(got, slice(&all, skip), "{order_by} {filter} at {skip}");
        }
        // A poller repeating one deep page, and a jump back.
        for skip in [700, 700, 300, 700] {
            let got = at_offset(&replica, key, order_by, filter, skip).await;
            assert_eq!(got, slice(&all, skip), "{order_by} {filter} at {skip}");
        }
    }
    assert!(
        anchor_hits(&replica) > hits,
        "sequential deep pages start from anchors"
    );
}

async fn anchors_never_outlive_a_write(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 600).await;
    let replicas = [Replica::of(&app), Replica::other(&app).await];
    let key = &app.key_a;
    let order_by = "create_time desc";
    let mut made = Vec::new();
    for round in 0..6usize {
        let writer = &replicas[round % 2];
        if round % 3 == 2 {
            // A delete shifts every later row back by one.
            let id = made.pop().expect("a token made earlier");
            writer
                .tokens()
                .delete_token(authed(
                    key,
                    pb::DeleteTokenRequest {
                        id,
                        ..Default::default()
                    },
                ))
                .await
                .expect("delete");
        } else {
            // The newest token: first in this order, shifting every row on.
            let token = writer
                .tokens()
                .create_token(authed(
                    key,
                    pb::CreateTokenRequest {
                        token: Some(token_for("alice", &format!("round {round}"))),
                    },
                ))
                .await
                .expect("create")
                .into_inner()
                .token
                .expect("token");
            made.push(token.id);
        }
        settled_version(app.registry.store(), &app.org_a).await;
        let all = walk(&replicas[0], key, order_by, "").await;
        // Each replica reads each page twice: the second read may hit.
        for reader in replicas.iter().chain(replicas.iter()) {
            for skip in [300, 400, 300] {
                let got = at_offset(reader, key, order_by, "", skip).await;
                assert_eq!(got, slice(&all, skip), "round {round} at {skip}");
            }
        }
    }
    for (i, r) in replicas.iter().enumerate() {
        assert!(anchor_hits(r) > 0, "replica {i} used anchors");
    }
}

async fn anchors_never_outlive_an_expiry(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = &app.key_a;
    let replica = Replica::of(&app);
    // The newest token, active for a few more seconds: first among the
    // active by creation and by status (the smallest id) until it expires,
    // when the active rows after it move up by one. The offset is inside
    // the active rows (about 290 of 601), so the page shifts.
    let soon = Timestamp::now().plus_seconds(4);
    let mut token = token_for("alice", "soon");
    token.expire_time = Some(pbjson_types::Timestamp {
        seconds: soon.micros().div_euclid(1_000_000),
        nanos: 0,
    });
    app.create_token(key, token).await;
    insert_tokens(&app, &app.org_a, 600).await;
    const SKIP: i32 = 200;
    let views = [("status asc", ""), ("create_time desc", "status = ACTIVE")];
    settled_version(app.registry.store(), &app.org_a).await;
    for (order_by, filter) in views {
        let all = walk(&replica, key, order_by, filter).await;
        for skip in [SKIP, SKIP] {
            let got = at_offset(&replica, key, order_by, filter, skip).await;
            assert_eq!(got, slice(&all, skip), "{order_by} {filter} at {skip}");
        }
    }
    assert!(
        Timestamp::now() < soon,
        "the anchors were taken before the expiry (too slow a machine?)"
    );
    assert!(
        anchor_hits(&replica) > 0,
        "a repeated deep page starts from its anchor"
    );
    let expiry = Duration::from_micros((soon.micros() - Timestamp::now().micros()).max(0) as u64);
    tokio::time::sleep(expiry + Duration::from_millis(300)).await;
    for (order_by, filter) in views {
        let all = walk(&replica, key, order_by, filter).await;
        for skip in [SKIP, SKIP] {
            let got = at_offset(&replica, key, order_by, filter, skip).await;
            assert_eq!(
                got,
                slice(&all, skip),
                "{order_by} {filter} at {skip}, after the expiry"
            );
        }
    }
}

crate::backend_tests!(
    offset_walks_and_polls_match_a_cursor_walk,
    anchors_never_outlive_a_write,
    anchors_never_outlive_an_expiry,
);
