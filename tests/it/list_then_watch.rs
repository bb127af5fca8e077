//! List-then-watch, on both backends: a client walks a listing page by
//! page while writers create, rename, revoke and delete tokens, then
//! watches from the listing's `read_version` and applies the events
//! (upsert the row if it matches the filter, remove it otherwise). Its map
//! must equal a fresh listing once the writers stop, for every order,
//! including `update_time` (rows move during the walk) and `status`, with
//! and without a filter whose result rows leave and enter.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::common::{Backend, TestApp, authed, spawn_app};
use oauth_registry::grpc::pb;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use tonic::transport::Channel;

const ORDERS: [&str; 6] = [
    "create_time desc",
    "update_time desc",
    "update_time asc",
    "status",
    "name",
    "expire_time desc",
];
const FILTERS: [&str; 2] = ["", "status = ACTIVE"];

fn token(i: usize) -> pb::Token {
    pb::Token {
        user_id: format!("user-{}", i % 3),
        name: format!("t-{:03}", (i * 7919) % 1000),
        scopes: vec!["read".into()],
        ..Default::default()
    }
}

/// Whether the client-side copy of `t` belongs in a view with `filter`.
fn in_view(filter: &str, t: &pb::Token) -> bool {
    filter.is_empty() || t.status == pb::TokenStatus::Active as i32
}

/// Creates, renames, revokes and deletes tokens until `stop`.
async fn write_until(
    mut api: TokenServiceClient<Channel>,
    key: String,
    ids: Vec<String>,
    stop: Arc<AtomicBool>,
) {
    let mut i = 0usize;
    let mut live = ids;
    while !stop.load(Ordering::Relaxed) {
        let pick = live[(i * 31) % live.len()].clone();
        match i % 4 {
            0 => {
                let r = api
                    .create_token(authed(
                        &key,
                        pb::CreateTokenRequest {
                            token: Some(token(1000 + i)),
                        },
                    ))
                    .await
                    .expect("create")
                    .into_inner();
                live.push(r.token.expect("token").id);
            }
            1 => {
                let t = pb::Token {
                    id: pick,
                    name: format!("renamed-{i}"),
                    ..Default::default()
                };
                let mask = pbjson_types::FieldMask {
                    paths: vec!["name".into()],
                };
                api.update_token(authed(
                    &key,
                    pb::UpdateTokenRequest {
                        token: Some(t),
                        update_mask: Some(mask),
                    },
                ))
                .await
                .expect("update");
            }
            2 => {
                api.revoke_token(authed(&key, pb::RevokeTokenRequest { id: pick }))
                    .await
                    .expect("revoke");
            }
            _ => {
                api.delete_token(authed(
                    &key,
                    pb::DeleteTokenRequest {
                        id: pick.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .expect("delete");
                live.retain(|id| *id != pick);
            }
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Every row of a listing, with its read version (the first page's).
async fn walk(
    app: &TestApp,
    filter: &str,
    order: &str,
    pause: Duration,
) -> (BTreeMap<String, pb::Token>, i64) {
    let mut api = app.tokens();
    let mut map = BTreeMap::new();
    let mut page_token = String::new();
    let mut read_version = None;
    loop {
        let page = api
            .list_tokens(authed(
                &app.key_a,
                pb::ListTokensRequest {
                    page_size: 15,
                    page_token: page_token.clone(),
                    filter: filter.into(),
                    order_by: order.into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list")
            .into_inner();
        // Every page of a walk reports the walk's version.
        assert_eq!(
            *read_version.get_or_insert(page.read_version),
            page.read_version
        );
        for t in page.tokens {
            map.insert(t.id.clone(), t);
        }
        if page.next_page_token.is_empty() {
            return (map, read_version.unwrap_or_default());
        }
        page_token = page.next_page_token;
        tokio::time::sleep(pause).await;
    }
}

/// Applies the watch's events from `from` until it has seen `until`.
async fn catch_up(
    app: &TestApp,
    filter: &str,
    from: i64,
    until: i64,
    map: &mut BTreeMap<String, pb::Token>,
) {
    let mut events = app
        .tokens()
        .watch_tokens(authed(
            &app.key_a,
            pb::WatchTokensRequest {
                filter: filter.into(),
                start_version: Some(from),
                ..Default::default()
            },
        ))
        .await
        .expect("watch")
        .into_inner();
    let mut last = from;
    while last < until {
        let e = tokio::time::timeout(Duration::from_secs(10), events.message())
            .await
            .expect("events keep coming")
            .expect("no error")
            .expect("stream open");
        assert!(
            e.version >= last,
            "versions never go back: {} after {last}",
            e.version
        );
        last = e.version;
        let kind = pb::ChangeKind::try_from(e.kind).expect("known kind");
        let Some(t) = e.token else {
            assert_eq!(kind, pb::ChangeKind::Bookmark);
            continue;
        };
        if kind == pb::ChangeKind::Deleted || !in_view(filter, &t) {
            map.remove(&t.id);
        } else {
            map.insert(t.id.clone(), t);
        }
    }
}

async fn list_then_watch_equals_the_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    for i in 0..60 {
        ids.push(app.create_token(&app.key_a, token(i)).await.0.id);
    }
    for order in ORDERS {
        for filter in FILTERS {
            let stop = Arc::new(AtomicBool::new(false));
            let writer = tokio::spawn(write_until(
                app.tokens(),
                app.key_a.clone(),
                ids.clone(),
                stop.clone(),
            ));
            let (mut map, read_version) =
                walk(&app, filter, order, Duration::from_millis(15)).await;
            stop.store(true, Ordering::Relaxed);
            writer.await.expect("writer");
            // Once the writers' commits have settled (PostgreSQL: none
            // waits on an older transaction), the version is the last.
            let head = crate::common::settled_version(app.registry.store(), &app.org_a)
                .await
                .0;
            assert!(
                head > read_version,
                "{order}/{filter:?}: writers wrote during the walk"
            );
            catch_up(&app, filter, read_version, head, &mut map).await;
            let (truth, _) = walk(&app, filter, "id", Duration::ZERO).await;
            let differ: Vec<_> = truth
                .keys()
                .chain(map.keys())
                .filter(|id| truth.get(*id) != map.get(*id))
                .collect();
            assert!(
                differ.is_empty(),
                "{order}/{filter:?}: list+watch differs from the database on {differ:?}"
            );
            ids = truth.keys().cloned().collect();
            if ids.len() < 10 {
                ids = walk(&app, "", "id", Duration::ZERO)
                    .await
                    .0
                    .keys()
                    .cloned()
                    .collect();
            }
        }
    }
}

/// A first page reads its rows and its `read_version` together (on
/// PostgreSQL in one statement): an empty page still reports the
/// organization's version, each write moves it, and a page shows exactly
/// the writes up to the version it reports (a watch from it starts with
/// the next write).
async fn a_first_page_reports_the_version_its_rows_show(backend: Backend) {
    let app = spawn_app(backend).await;
    let list = |filter: &str| {
        let mut api = app.tokens();
        let req = authed(
            &app.key_a,
            pb::ListTokensRequest {
                filter: filter.into(),
                page_size: 10,
                ..Default::default()
            },
        );
        async move { api.list_tokens(req).await.expect("list").into_inner() }
    };
    let empty = list("user_id = \"nobody\"").await;
    assert!(empty.tokens.is_empty());
    let all = list("").await;
    assert_eq!(
        empty.read_version, all.read_version,
        "nothing written in between"
    );
    let (first, _) = app.create_token(&app.key_a, token(1)).await;
    let after = list("").await;
    assert!(after.read_version > all.read_version, "a write moves it");
    assert_eq!(after.tokens.len(), all.tokens.len() + 1);
    assert!(after.tokens.iter().any(|t| t.id == first.id));
    let still_empty = list("user_id = \"nobody\"").await;
    assert_eq!(still_empty.read_version, after.read_version);
    let (second, _) = app.create_token(&app.key_a, token(2)).await;
    let mut map = BTreeMap::new();
    let mut events = app
        .tokens()
        .watch_tokens(authed(
            &app.key_a,
            pb::WatchTokensRequest {
                start_version: Some(still_empty.read_version),
                ..Default::default()
            },
        ))
        .await
        .expect("watch")
        .into_inner();
    while map.is_empty() {
        let e = tokio::time::timeout(Duration::from_secs(10), events.message())
            .await
            .expect("events keep coming")
            .expect("no error")
            .expect("stream open");
        if let Some(t) = e.token {
            map.insert(t.id.clone(), t);
        }
    }
    assert_eq!(
        map.keys().collect::<Vec<_>>(),
        [&second.id],
        "the next write, not the one the page showed"
    );
}

crate::backend_tests!(
    list_then_watch_equals_the_database,
    a_first_page_reports_the_version_its_rows_show
);
