//! Property test of every REST dialect's query and body parsing (the CI
//! counterpart of the `rest_dialects` cargo-fuzz target, sharing its routes
//! and request construction): random path ids, query strings, bodies and
//! content types on every route, through the real router in-process, always
//! get an answer below 500.

use crate::common::rest_calls::{CONTENT_TYPES, Known, ROUTES, RawCall, request};
use crate::common::{Backend, insert_tokens, spawn_app};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use tower::ServiceExt;

/// Query strings that mix every dialect's parameter names with hostile values.
fn query() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "pageSize",
        "pageToken",
        "filter",
        "orderBy",
        "skip",
        "page",
        "perPage",
        "limit",
        "offset",
        "start",
        "max-results",
        "sortField",
        "sortDirection",
        "owner",
        "userId",
        "includeTotalSize",
        "cursor",
        "updateMask",
        "counts-only",
        "expand",
        "only-fields",
    ]);
    let values = prop_oneof![
        "[-0-9]{0,25}",
        ".{0,40}",
        Just("%ZZ".to_owned()),
        Just("1e309".to_owned()),
        Just("true".to_owned()),
    ];
    prop_oneof![
        prop::collection::vec((names, values), 0..5).prop_map(|pairs| {
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        }),
        ".{0,60}",
    ]
}

/// Bodies: raw bytes, JSON objects with the dialects' field names and odd
/// values, and form bodies.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let fields = prop::sample::select(vec![
        "clientId",
        "clientName",
        "userId",
        "scopes",
        "redirectUri",
        "redirectUris",
        "grantTypes",
        "name",
        "expireTime",
        "ttl",
        "description",
        "defaultRole",
        "enabled",
        "application",
        "scope",
        "expires",
        "note",
        "revoked",
    ]);
    let json_value = prop_oneof![
        Just("null".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("1e999".to_owned()),
        Just("-1".to_owned()),
        Just("[\"read\",\"a b\"]".to_owned()),
        ".{0,20}".prop_map(|s| serde_json::Value::String(s).to_string()),
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec((fields.clone(), json_value), 0..6).prop_map(|kv| {
            let inner: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", inner.join(",")).into_bytes()
        }),
        prop::collection::vec((fields, ".{0,20}"), 0..6).prop_map(|kv| {
            kv.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes()
        }),
    ]
}

fn raw_call() -> impl Strategy<Value = RawCall> {
    (
        0..ROUTES.len(),
        0u8..4,
        ".{0,20}",
        query(),
        0..CONTENT_TYPES.len(),
        any::<bool>(),
        body(),
    )
        .prop_map(
            |(route, id, segment, query, content_type, rb_auth, body)| RawCall {
                route,
                id,
                segment,
                query,
                content_type,
                rb_auth,
                body,
            },
        )
}

#[test]
fn rest_dialect_parsing_never_fails_the_server() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let app = rt.block_on(spawn_app(Backend::Sqlite));
    let client_id = rt.block_on(app.create_client(&app.key_a, "web"));
    let token_id = rt.block_on(insert_tokens(&app, &app.org_a, 3))[0]
        .id
        .clone();
    let router = oauth_registry::rest::router(app.registry.clone());
    let known = Known {
        key: &app.key_a,
        token_id: &token_id,
        client_id: &client_id,
    };
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 1000,
        // The failure message carries the whole call; nothing to persist.
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u32>::new());
    let result = runner.run(&raw_call(), |call| {
        let Some(req) = request(&call, &known) else {
            return Ok(());
        };
        let what = format!("{} {}", req.method(), req.uri());
        let status = rt
            .block_on(router.clone().oneshot(req))
            .map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?
            .status();
        *statuses.borrow_mut().entry(status.as_u16()).or_default() += 1;
        prop_assert!(status.as_u16() < 500, "{} answered {}", what, status);
        Ok(())
    });
    let statuses = statuses.into_inner();
    eprintln!("statuses over 1000 random calls: {statuses:?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    // The calls reached the parsers: not everything was refused before them.
    assert!(statuses.keys().any(|s| *s < 300), "{statuses:?}");
    assert!(statuses.contains_key(&400), "{statuses:?}");
}
