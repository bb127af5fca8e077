//! Tenant isolation as a property: random callers (either organization's
//! key), random queries (filters, orders, page sizes, cursors) and random
//! target ids (from either organization) across the listing, streaming,
//! counting, get, revoke and delete RPCs and the REST list routes. Zero rows
//! of another organization ever come back, and no call changes another
//! organization's data.

use std::collections::HashSet;

use crate::common::{Backend, TestApp, authed, insert_tokens, spawn_app};
use oauth_registry::grpc::pb;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};

const FILTERS: [&str; 6] = [
    "",
    "user_id = \"user-1\"",
    "status = ACTIVE",
    "kind = REFRESH",
    "name = \"a*\"",
    "scopes:read",
];
const ORDERS: [&str; 4] = ["", "name", "update_time desc", "status"];
const REST: [&str; 4] = [
    "/v1/tokens?pageSize=50",
    "/api/oauth-tokens/?max-results=50",
    "/v1/tokens?pageSize=50&filter=status%20%3D%20ACTIVE",
    "/me/oauth-tokens?perPage=50",
];

#[derive(Debug, Clone)]
enum Call {
    List {
        filter: usize,
        order: usize,
        size: i32,
        pages: usize,
    },
    Stream {
        filter: usize,
        order: usize,
        size: i32,
    },
    Count {
        filter: usize,
    },
    Get {
        target: usize,
    },
    Revoke {
        target: usize,
    },
    Delete {
        target: usize,
    },
    Rest {
        route: usize,
    },
}

fn call() -> impl Strategy<Value = Call> {
    let f = 0..FILTERS.len();
    let o = 0..ORDERS.len();
    prop_oneof![
        (f.clone(), o.clone(), 1..60i32, 1..4usize).prop_map(|(filter, order, size, pages)| {
            Call::List {
                filter,
                order,
                size,
                pages,
            }
        }),
        (f.clone(), o, 1..60i32).prop_map(|(filter, order, size)| Call::Stream {
            filter,
            order,
            size
        }),
        f.prop_map(|filter| Call::Count { filter }),
        any::<usize>().prop_map(|target| Call::Get { target }),
        any::<usize>().prop_map(|target| Call::Revoke { target }),
        any::<usize>().prop_map(|target| Call::Delete { target }),
        (0..REST.len()).prop_map(|route| Call::Rest { route }),
    ]
}

struct World {
    app: TestApp,
    /// Token ids per organization: [A, B].
    ids: [Vec<String>; 2],
    keys: [String; 2],
}

impl World {
    /// Runs `call` as organization `who`; fails if anything of the other
    /// organization shows up.
    async fn check(&self, who: usize, call: &Call) -> Result<(), TestCaseError> {
        let key = &self.keys[who];
        let mine: HashSet<&String> = self.ids[who].iter().collect();
        let theirs: HashSet<&String> = self.ids[1 - who].iter().collect();
        let all: Vec<&String> = self.ids[0].iter().chain(&self.ids[1]).collect();
        let mut tokens = self.app.tokens();
        let foreign = |id: &String| theirs.contains(id) || !mine.contains(id) && !id.is_empty();
        match call {
            Call::List {
                filter,
                order,
                size,
                pages,
            } => {
                let mut page_token = String::new();
                for _ in 0..*pages {
                    let page = tokens
                        .list_tokens(authed(
                            key,
                            pb::ListTokensRequest {
                                filter: FILTERS[*filter].into(),
                                order_by: ORDERS[*order].into(),
                                page_size: *size,
                                page_token: page_token.clone(),
                                ..Default::default()
                            },
                        ))
                        .await
                        .map_err(|s| TestCaseError::fail(format!("list: {s:?}")))?
                        .into_inner();
                    for t in &page.tokens {
                        prop_assert!(!foreign(&t.id), "list leaked {}", t.id);
                    }
                    if page.next_page_token.is_empty() {
                        break;
                    }
                    page_token = page.next_page_token;
                }
            }
            Call::Stream {
                filter,
                order,
                size,
            } => {
                let mut stream = tokens
                    .stream_tokens(authed(
                        key,
                        pb::StreamTokensRequest {
                            filter: FILTERS[*filter].into(),
                            order_by: ORDERS[*order].into(),
                            page_size: *size,
                            max_pages: 3,
                            ..Default::default()
                        },
                    ))
                    .await
                    .map_err(|s| TestCaseError::fail(format!("stream: {s:?}")))?
                    .into_inner();
                while let Some(page) = stream
                    .message()
                    .await
                    .map_err(|s| TestCaseError::fail(format!("page: {s:?}")))?
                {
                    for t in &page.tokens {
                        prop_assert!(!foreign(&t.id), "stream leaked {}", t.id);
                    }
                }
            }
            Call::Count { filter } => {
                let n = tokens
                    .count_tokens(authed(
                        key,
                        pb::CountTokensRequest {
                            filter: FILTERS[*filter].into(),
                        },
                    ))
                    .await
                    .map_err(|s| TestCaseError::fail(format!("count: {s:?}")))?
                    .into_inner()
                    .total_size;
                prop_assert!(n as usize <= mine.len(), "count {n} exceeds own rows");
            }
            Call::Get { target } | Call::Revoke { target } | Call::Delete { target } => {
                let id = all[target % all.len()].clone();
                let own = mine.contains(&id);
                let result = match call {
                    Call::Get { .. } => tokens
                        .get_token(authed(key, pb::GetTokenRequest { id: id.clone() }))
                        .await
                        .map(|_| ()),
                    Call::Revoke { .. } => tokens
                        .revoke_token(authed(key, pb::RevokeTokenRequest { id: id.clone() }))
                        .await
                        .map(|_| ()),
                    _ if own => Ok(()), // keep own rows: deleting them is not the point
                    _ => tokens
                        .delete_token(authed(
                            key,
                            pb::DeleteTokenRequest {
                                id: id.clone(),
                                ..Default::default()
                            },
                        ))
                        .await
                        .map(|_| ()),
                };
                if !own {
                    let code = result.err().map(|s| s.code());
                    prop_assert_eq!(
                        code,
                        Some(tonic::Code::NotFound),
                        "{:?} on a foreign id",
                        call
                    );
                }
            }
            Call::Rest { route } => {
                let body: serde_json::Value = reqwest::Client::new()
                    .get(format!("{}{}", self.app.rest, REST[*route]))
                    .bearer_auth(key)
                    .send()
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?
                    .json()
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let text = body.to_string();
                for id in &theirs {
                    prop_assert!(
                        !text.contains(id.as_str()),
                        "REST {} leaked {}",
                        REST[*route],
                        id
                    );
                }
            }
        }
        Ok(())
    }
}

fn run(backend: Backend) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(async {
        let app = spawn_app(backend).await;
        let a: Vec<String> = insert_tokens(&app, &app.org_a, 150)
            .await
            .into_iter()
            .map(|t| t.id.into())
            .collect();
        let b: Vec<String> = insert_tokens(&app, &app.org_b, 150)
            .await
            .into_iter()
            .map(|t| t.id.into())
            .collect();
        let keys = [app.key_a.clone(), app.key_b.clone()];
        World {
            app,
            ids: [a, b],
            keys,
        }
    });
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 200,
        ..ProptestConfig::default()
    });
    let result = runner.run(&(0..2usize, call()), |(who, call)| {
        rt.block_on(world.check(who, &call))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Nothing of either organization was deleted by the other.
    let left = rt.block_on(async {
        let mut n = [0i64; 2];
        for (i, key) in world.keys.iter().enumerate() {
            n[i] = world
                .app
                .tokens()
                .count_tokens(authed(key, pb::CountTokensRequest::default()))
                .await
                .expect("count")
                .into_inner()
                .total_size;
        }
        n
    });
    assert_eq!(left, [150, 150], "no cross-organization delete took effect");
}

#[test]
fn sqlite_no_row_crosses_organizations() {
    run(Backend::Sqlite);
}

#[test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
fn postgres_no_row_crosses_organizations() {
    run(Backend::Postgres);
}
