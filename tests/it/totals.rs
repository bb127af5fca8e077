//! Totals are cached in the core by organization version, and never
//! stale: writes through either of two replicas (two servers over one
//! PostgreSQL database; on SQLite one server) interleave with totals read
//! through gRPC, canonical REST and Review Board on both, and every total
//! is the count of the rows as written; a status count moves when a token
//! expires, with no write at all.

use std::time::Duration;

use crate::common::replica::Replica;
use crate::common::{Backend, authed, spawn_app, token_for};
use oauth_registry::domain::Timestamp;
use oauth_registry::grpc::pb;
use serde_json::Value;

const ALL: &str = "user_id = \"alice\"";
const ACTIVE: &str = "user_id = \"alice\" AND status = ACTIVE";

async fn rest_json(replica: &Replica, key: &str, path_and_query: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{}{path_and_query}", replica.rest))
        .bearer_auth(key)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), reqwest::StatusCode::OK, "{path_and_query}");
    r.json().await.expect("json body")
}

/// `filter`'s total on `replica`, read four ways, which must agree.
async fn totals(replica: &Replica, key: &str, filter: &str) -> u64 {
    let count = replica
        .tokens()
        .count_tokens(authed(
            key,
            pb::CountTokensRequest {
                filter: filter.into(),
            },
        ))
        .await
        .expect("count")
        .into_inner()
        .total_size as u64;
    let listed = replica
        .tokens()
        .list_tokens(authed(
            key,
            pb::ListTokensRequest {
                filter: filter.into(),
                page_size: 1,
                include_total_size: true,
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        listed.total_size,
        Some(count as i64),
        "ListTokens: {filter}"
    );
    // The second page (a cursor's walk) has the same total.
    if !listed.next_page_token.is_empty() {
        let next = replica
            .tokens()
            .list_tokens(authed(
                key,
                pb::ListTokensRequest {
                    filter: filter.into(),
                    page_size: 1,
                    include_total_size: true,
                    page_token: listed.next_page_token,
                    ..Default::default()
                },
            ))
            .await
            .expect("next page")
            .into_inner();
        assert_eq!(next.total_size, Some(count as i64), "page 2: {filter}");
    }
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("filter", filter)
        .append_pair("pageSize", "1")
        .append_pair("includeTotalSize", "true")
        .finish();
    let rest = rest_json(replica, key, &format!("/v1/tokens?{query}")).await;
    let total = match &rest["totalSize"] {
        Value::String(s) => s.parse().expect("int64 as a string"),
        other => other.as_u64().unwrap_or(0),
    };
    assert_eq!(total, count, "canonical REST: {filter}");
    if filter == ALL {
        // Review Board: the key's user's tokens (alice).
        let rb = rest_json(replica, key, "/api/oauth-tokens/?max-results=1").await;
        assert_eq!(rb["total_results"], count, "Review Board");
    }
    count
}

async fn totals_follow_writes_on_either_replica(backend: Backend) {
    let app = spawn_app(backend).await;
    let replicas = [Replica::of(&app), Replica::other(&app).await];
    let key = &app.key_a;
    // Each live token's id, and whether it is revoked.
    let mut live = Vec::<(String, bool)>::new();
    let active = |live: &[(String, bool)]| live.iter().filter(|(_, r)| !r).count() as u64;
    for round in 0..8usize {
        let writer = &replicas[round % 2];
        match round % 4 {
            // Create two, revoke one, delete one (an active or a revoked).
            0 | 1 => {
                let made = writer
                    .tokens()
                    .create_token(authed(
                        key,
                        pb::CreateTokenRequest {
                            token: Some(token_for("alice", &format!("t{round}"))),
                        },
                    ))
                    .await
                    .expect("create")
                    .into_inner();
                live.push((made.token.expect("token").id, false));
            }
            2 => {
                let (id, revoked) = live.iter_mut().find(|(_, r)| !*r).expect("an active token");
                writer
                    .tokens()
                    .revoke_token(authed(key, pb::RevokeTokenRequest { id: id.clone() }))
                    .await
                    .expect("revoke");
                *revoked = true;
            }
            _ => {
                let (id, _) = live.pop().expect("a token");
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
            }
        }
        // Both replicas, each twice (the second read may be cached).
        for reader in replicas.iter().chain(replicas.iter().rev()) {
            assert_eq!(
                totals(reader, key, ALL).await,
                live.len() as u64,
                "round {round}"
            );
            assert_eq!(
                totals(reader, key, ACTIVE).await,
                active(&live),
                "round {round}"
            );
        }
    }
    for (i, r) in replicas.iter().enumerate() {
        let hits = r.registry.metrics().cache_lookups("totals", true);
        let misses = r.registry.metrics().cache_lookups("totals", false);
        assert!(
            hits > 0 && misses > 0,
            "replica {i}: {hits} hits, {misses} misses"
        );
    }
}

async fn a_status_total_moves_with_the_clock(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = &app.key_a;
    let replica = Replica::of(&app);
    let soon = Timestamp::now().plus_seconds(2);
    let mut token = token_for("alice", "soon");
    token.expire_time = Some(pbjson_types::Timestamp {
        seconds: soon.micros().div_euclid(1_000_000),
        nanos: 0,
    });
    app.create_token(key, token).await;
    app.create_token(key, token_for("alice", "later")).await;
    // Cached only at a settled version (PostgreSQL: not a watermark).
    crate::common::settled_version(app.registry.store(), &app.org_a).await;
    assert_eq!(totals(&replica, key, ACTIVE).await, 2);
    let hits = app.registry.metrics().cache_lookups("totals", true);
    assert_eq!(totals(&replica, key, ACTIVE).await, 2);
    assert!(
        app.registry.metrics().cache_lookups("totals", true) > hits,
        "an unchanged organization's total comes from the cache"
    );
    let version = crate::common::settled_version(app.registry.store(), &app.org_a).await;
    let expiry = Duration::from_micros((soon.micros() - Timestamp::now().micros()).max(0) as u64);
    tokio::time::sleep(expiry + Duration::from_millis(300)).await;
    assert_eq!(
        crate::common::settled_version(app.registry.store(), &app.org_a).await,
        version,
        "no write happened"
    );
    assert_eq!(
        totals(&replica, key, ACTIVE).await,
        1,
        "the expired token left"
    );
    assert_eq!(totals(&replica, key, ALL).await, 2);
}

backend_tests!(
    totals_follow_writes_on_either_replica,
    a_status_total_moves_with_the_clock
);
