//! Pagination through the real gRPC API, on both backends: every sort field
//! and direction walked by cursor, offset and page number; exact end of
//! listing; AIP-158 page sizes; tampered and mismatched page tokens; filters.

use crate::common::{Backend, TestApp, authed, insert_tokens, spawn_app, violated_fields};
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::model::{Token, TokenKind, TokenStatus};
use oauth_registry::grpc::pb;
use tonic::Code;

fn sort_key(t: &Token, field: &str, now: Timestamp) -> (i64, String) {
    match field {
        "create_time" => (t.created_at.micros(), String::new()),
        "update_time" => (t.updated_at.micros(), String::new()),
        "expire_time" => (t.expires_at.micros(), String::new()),
        "status" => (t.status(now).rank(), String::new()),
        "name" => (0, t.name.clone()),
        "id" => (0, String::new()),
        other => panic!("unknown sort {other}"),
    }
}

/// The order the API must return: by key, ties by id, both in `dir`.
fn expected(tokens: &[Token], field: &str, desc: bool) -> Vec<String> {
    let now = Timestamp::now();
    let mut v: Vec<&Token> = tokens.iter().collect();
    v.sort_by(|a, b| {
        let o = sort_key(a, field, now)
            .cmp(&sort_key(b, field, now))
            .then_with(|| a.id.as_bytes().cmp(b.id.as_bytes()));
        if desc { o.reverse() } else { o }
    });
    v.into_iter().map(|t| t.id.to_string()).collect()
}

async fn list(
    app: &TestApp,
    key: &str,
    req: pb::ListTokensRequest,
) -> Result<pb::ListTokensResponse, tonic::Status> {
    app.tokens()
        .list_tokens(authed(key, req))
        .await
        .map(|r| r.into_inner())
}

/// Walks a listing by page token; checks every page but the last is full
/// and has a token, and the last has none.
async fn walk(app: &TestApp, key: &str, base: pb::ListTokensRequest) -> Vec<String> {
    let mut ids = Vec::new();
    let mut req = base.clone();
    for _ in 0..1000 {
        let page = list(app, key, req.clone()).await.expect("list page");
        let n = page.tokens.len();
        ids.extend(page.tokens.into_iter().map(|t| t.id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        assert_eq!(
            n as i32, base.page_size,
            "a page before the last must be full"
        );
        req.page_token = page.next_page_token;
    }
    panic!("listing never ended");
}

async fn every_sort_and_direction_walks_each_row_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = insert_tokens(&app, &app.org_a, 53).await;
    for field in [
        "create_time",
        "update_time",
        "name",
        "status",
        "id",
        "expire_time",
    ] {
        for dir in ["asc", "desc"] {
            let want = expected(&tokens, field, dir == "desc");
            let order_by = format!("{field} {dir}");
            let base = pb::ListTokensRequest {
                page_size: 7,
                order_by: order_by.clone(),
                ..Default::default()
            };
            let got = walk(&app, &app.key_a, base.clone()).await;
            assert_eq!(got, want, "cursor walk, order_by {order_by}");

            // Offset and page-number modes return the same sequence.
            let mut by_offset = Vec::new();
            let mut by_number = Vec::new();
            for p in 0..8 {
                let off = list(
                    &app,
                    &app.key_a,
                    pb::ListTokensRequest {
                        skip: p * 7,
                        ..base.clone()
                    },
                )
                .await
                .unwrap();
                by_offset.extend(off.tokens.into_iter().map(|t| t.id));
                let num = list(
                    &app,
                    &app.key_a,
                    pb::ListTokensRequest {
                        page_number: p + 1,
                        ..base.clone()
                    },
                )
                .await
                .unwrap();
                let last = num.next_page_token.is_empty();
                by_number.extend(num.tokens.into_iter().map(|t| t.id));
                assert_eq!(
                    last,
                    p == 7,
                    "has-next is exact in page-number mode (page {})",
                    p + 1
                );
            }
            assert_eq!(by_offset, want, "offset mode, {order_by}");
            assert_eq!(by_number, want, "page-number mode, {order_by}");
        }
    }
}

async fn end_of_listing_is_exact(backend: Backend) {
    let app = spawn_app(backend).await;
    // Empty listing: no rows, no token.
    let empty = list(
        &app,
        &app.key_a,
        pb::ListTokensRequest {
            page_size: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(empty.tokens.is_empty() && empty.next_page_token.is_empty());

    insert_tokens(&app, &app.org_a, 20).await;
    // Exact multiple of the page size: the second page is the last and says so.
    let p1 = list(
        &app,
        &app.key_a,
        pb::ListTokensRequest {
            page_size: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(p1.tokens.len(), 10);
    assert!(!p1.next_page_token.is_empty());
    let p2 = list(
        &app,
        &app.key_a,
        pb::ListTokensRequest {
            page_size: 10,
            page_token: p1.next_page_token,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(p2.tokens.len(), 10);
    assert!(
        p2.next_page_token.is_empty(),
        "no token may lead to an empty page"
    );
    // One page holding everything.
    let all = list(
        &app,
        &app.key_a,
        pb::ListTokensRequest {
            page_size: 20,
            include_total_size: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(all.tokens.len(), 20);
    assert!(all.next_page_token.is_empty());
    assert_eq!(all.total_size, Some(20));
    // Totals are opt-in.
    assert_eq!(p2.total_size, None);
}

async fn page_sizes_follow_aip_158(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 1005).await;
    let default = list(&app, &app.key_a, pb::ListTokensRequest::default())
        .await
        .unwrap();
    assert_eq!(default.tokens.len(), 50, "0 means the documented default");
    let coerced = list(
        &app,
        &app.key_a,
        pb::ListTokensRequest {
            page_size: 5000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        coerced.tokens.len(),
        1000,
        "above the maximum is coerced down"
    );
    assert!(!coerced.next_page_token.is_empty());
    let err = list(
        &app,
        &app.key_a,
        pb::ListTokensRequest {
            page_size: -1,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), vec!["page_size"]);
    let err = list(
        &app,
        &app.key_a,
        pb::ListTokensRequest {
            skip: 3,
            page_number: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

async fn bad_page_tokens_are_invalid_argument(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 10).await;
    insert_tokens(&app, &app.org_b, 10).await;
    let base = pb::ListTokensRequest {
        page_size: 2,
        filter: "user_id = \"user-1\"".into(),
        order_by: "name".into(),
        ..Default::default()
    };
    let first = list(&app, &app.key_a, base.clone()).await.unwrap();
    let token = first.next_page_token.clone();
    assert!(!token.is_empty());

    let mut tampered = token.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let cases: Vec<(&str, pb::ListTokensRequest, &str)> = vec![
        (
            "tampered",
            pb::ListTokensRequest {
                page_token: String::from_utf8(tampered).unwrap(),
                ..base.clone()
            },
            &app.key_a,
        ),
        (
            "truncated",
            pb::ListTokensRequest {
                page_token: token[..token.len() - 5].to_owned(),
                ..base.clone()
            },
            &app.key_a,
        ),
        (
            "garbage",
            pb::ListTokensRequest {
                page_token: "not a token!".into(),
                ..base.clone()
            },
            &app.key_a,
        ),
        (
            "other filter",
            pb::ListTokensRequest {
                page_token: token.clone(),
                filter: "user_id = \"user-2\"".into(),
                ..base.clone()
            },
            &app.key_a,
        ),
        (
            "other sort",
            pb::ListTokensRequest {
                page_token: token.clone(),
                order_by: "name desc".into(),
                ..base.clone()
            },
            &app.key_a,
        ),
        (
            "other org",
            pb::ListTokensRequest {
                page_token: token.clone(),
                ..base.clone()
            },
            &app.key_b,
        ),
    ];
    for (what, req, key) in cases {
        let err = list(&app, key, req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{what}");
        assert_eq!(violated_fields(&err), vec!["page_token"], "{what}");
    }
    // A client-listing token is no token-listing token.
    let c = app.create_client(&app.key_a, "c1").await;
    app.create_client(&app.key_a, "c2").await;
    let _ = c;
    let clients = app
        .clients()
        .list_clients(authed(
            &app.key_a,
            pb::ListClientsRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let err = list(
        &app,
        &app.key_a,
        pb::ListTokensRequest {
            page_size: 1,
            page_token: clients.next_page_token,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    // The untouched token still works.
    assert!(
        list(
            &app,
            &app.key_a,
            pb::ListTokensRequest {
                page_token: token,
                ..base
            }
        )
        .await
        .is_ok()
    );
}

async fn filters_select_exactly_the_matching_rows(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = insert_tokens(&app, &app.org_a, 60).await;
    insert_tokens(&app, &app.org_b, 30).await;
    let now = Timestamp::now();
    let from = tokens[4].created_at;
    type Pred = Box<dyn Fn(&Token) -> bool>;
    let cases: Vec<(String, Pred)> = vec![
        (
            "user_id = \"user-1\"".into(),
            Box::new(|t: &Token| t.user_id == "user-1"),
        ),
        (
            "status = ACTIVE".into(),
            Box::new(move |t: &Token| t.status(now) == TokenStatus::Active),
        ),
        (
            "status = EXPIRED".into(),
            Box::new(move |t: &Token| t.status(now) == TokenStatus::Expired),
        ),
        (
            "status = REVOKED".into(),
            Box::new(move |t: &Token| t.status(now) == TokenStatus::Revoked),
        ),
        (
            "kind = REFRESH".into(),
            Box::new(|t: &Token| t.kind == TokenKind::Refresh),
        ),
        (
            "scopes:\"email\"".into(),
            Box::new(|t: &Token| t.scopes.iter().any(|s| s == "email")),
        ),
        ("scopes:\"e\"".into(), Box::new(|_: &Token| false)),
        (
            "name = \"a*\"".into(),
            Box::new(|t: &Token| t.name.starts_with('a')),
        ),
        (
            "name = \"?eta-1\"".into(),
            Box::new(|t: &Token| t.name == "beta-1" || t.name == "ßeta-1"),
        ),
        ("name = \"gamma*\"".into(), Box::new(|_: &Token| false)),
        ("name = \"a[*\"".into(), Box::new(|_: &Token| false)),
        (
            "name = \"a*b*\"".into(),
            Box::new(|t: &Token| t.name.starts_with("a*b")),
        ),
        (
            format!("create_time >= \"{}\"", from.to_rfc3339()),
            Box::new(move |t: &Token| t.created_at >= from),
        ),
        (
            format!(
                "create_time < \"{}\" AND user_id = \"user-0\"",
                from.to_rfc3339()
            ),
            Box::new(move |t: &Token| t.created_at < from && t.user_id == "user-0"),
        ),
        (
            format!("update_time > \"{}\"", from.to_rfc3339()),
            Box::new(move |t: &Token| t.updated_at > from),
        ),
    ];
    for (filter, pred) in cases {
        let mut want: Vec<String> = tokens
            .iter()
            .filter(|t| pred(t))
            .map(|t| t.id.to_string())
            .collect();
        want.sort();
        let got = walk(
            &app,
            &app.key_a,
            pb::ListTokensRequest {
                page_size: 8,
                filter: filter.clone(),
                order_by: "id".into(),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(got, want, "filter {filter}");
        let count = app
            .tokens()
            .count_tokens(authed(
                &app.key_a,
                pb::CountTokensRequest {
                    filter: filter.clone(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .total_size;
        assert_eq!(count as usize, want.len(), "count, filter {filter}");
    }
    for bad in [
        "user_id",
        "status = NOPE",
        "name = \"\"",
        "create_time > soon",
        "scopes:\"a b\"",
        "x = 1",
    ] {
        let err = list(
            &app,
            &app.key_a,
            pb::ListTokensRequest {
                filter: bad.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{bad}");
        assert_eq!(violated_fields(&err), vec!["filter"], "{bad}");
    }
    let err = list(
        &app,
        &app.key_a,
        pb::ListTokensRequest {
            order_by: "secret".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&err), vec!["order_by"]);
}

async fn clients_page_in_every_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    for i in 0..23 {
        ids.push(
            app.create_client(&app.key_a, &format!("client-{}", i % 5))
                .await,
        );
    }
    for order_by in [
        "create_time",
        "create_time desc",
        "update_time",
        "client_name",
        "client_name desc",
        "client_id desc",
    ] {
        let mut got = Vec::new();
        let mut names = Vec::new();
        let mut token = String::new();
        loop {
            let page = app
                .clients()
                .list_clients(authed(
                    &app.key_a,
                    pb::ListClientsRequest {
                        page_size: 5,
                        page_token: token,
                        order_by: order_by.into(),
                        ..Default::default()
                    },
                ))
                .await
                .unwrap()
                .into_inner();
            for c in page.clients {
                got.push(c.client_id);
                names.push(c.client_name);
            }
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let mut sorted = got.clone();
        sorted.sort();
        let mut all = ids.clone();
        all.sort();
        assert_eq!(sorted, all, "each client once, {order_by}");
        if order_by.starts_with("client_name") {
            let mut n = names.clone();
            n.sort();
            if order_by.ends_with("desc") {
                n.reverse();
            }
            assert_eq!(names, n, "{order_by}");
        }
    }
}

backend_tests!(
    every_sort_and_direction_walks_each_row_once,
    end_of_listing_is_exact,
    page_sizes_follow_aip_158,
    bad_page_tokens_are_invalid_argument,
    filters_select_exactly_the_matching_rows,
    clients_page_in_every_order,
);
