//! Kept answers (`rest::answers`): Review Board's listing and items are
//! sent again from memory while the organization's version holds, and
//! never once it moved: writes interleaved on two replicas with reads on
//! both always show every write (PostgreSQL; on SQLite both are one
//! server). A kept answer is per key: another key of the same user that
//! may not read tokens is refused, not served.

use crate::common::replica::Replica;
use crate::common::{Backend, TestApp, spawn_app, token_for};
use oauth_registry::domain::auth::Permission;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Status and body of one call to `base`, as `key`.
async fn call(
    base: &str,
    method: Method,
    key: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Vec<u8>) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(key)
        // Replicas behind one name: answers echo the host in their links.
        .header("host", "registry.example");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    (status, r.bytes().await.expect("body").to_vec())
}

/// A Review Board GET at a settled version (validators, and so kept
/// answers, are made only there: `etags.rs`).
async fn rb_get(app: &TestApp, base: &str, key: &str, path: &str) -> (StatusCode, Vec<u8>) {
    crate::common::settled_version(app.registry.store(), &app.org_a).await;
    call(base, Method::GET, key, path, None).await
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("json body")
}

fn hits(app: &TestApp) -> u64 {
    app.registry.metrics().cache_lookups("answer", true)
}

async fn a_repeated_page_is_kept_until_a_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = &app.key_a;
    let (token, _) = app.create_token(key, token_for("alice", "one")).await;
    let item = format!("/api/oauth-tokens/{}/", token.id);
    // A HEAD's answer (no body) is never what a GET is sent.
    for _ in 0..2 {
        crate::common::settled_version(app.registry.store(), &app.org_a).await;
        let (status, _) = call(
            &app.rest,
            Method::HEAD,
            key,
            "/api/oauth-tokens/?max-results=5",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    for path in ["/api/oauth-tokens/?max-results=5", &item] {
        let first = rb_get(&app, &app.rest, key, path).await;
        assert_eq!(first.0, StatusCode::OK, "{path}");
        assert!(json(&first.1).is_object(), "a whole body: {path}");
        let (hits_before, pages) = (hits(&app), app.registry.metrics().pages_fetched());
        let again = rb_get(&app, &app.rest, key, path).await;
        assert_eq!(again, first, "the same bytes: {path}");
        assert_eq!(hits(&app), hits_before + 1, "sent from memory: {path}");
        assert_eq!(
            app.registry.metrics().pages_fetched(),
            pages,
            "no listing query: {path}"
        );
    }
    // Another query is another answer.
    let other = rb_get(&app, &app.rest, key, "/api/oauth-tokens/?max-results=6").await;
    assert_ne!(
        json(&other.1)["links"]["self"],
        json(
            &rb_get(&app, &app.rest, key, "/api/oauth-tokens/?max-results=5")
                .await
                .1
        )["links"]["self"]
    );
    // A write moves the version: the item's next answer shows it.
    let (status, _) = call(
        &app.rest,
        Method::DELETE,
        key,
        &format!("/v1/tokens/{}", token.id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let gone = rb_get(&app, &app.rest, key, &item).await;
    assert_eq!(gone.0, StatusCode::NOT_FOUND, "not the kept 200");
    let listed = rb_get(&app, &app.rest, key, "/api/oauth-tokens/?max-results=5").await;
    assert_eq!(json(&listed.1)["total_results"], 0);
}

async fn writes_on_two_replicas_are_never_hidden(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = &app.key_a;
    let here = Replica::of(&app);
    let there = Replica::other(&app).await;
    let path = "/api/oauth-tokens/?max-results=3";
    for round in 0..6_u64 {
        // Both replicas keep the current answer...
        for r in [&here, &there] {
            for _ in 0..2 {
                let (status, body) = rb_get(&app, &r.rest, key, path).await;
                assert_eq!(status, StatusCode::OK);
                assert_eq!(json(&body)["total_results"], round, "round {round}");
            }
        }
        // ...then one of them writes, and both answer the new total at once.
        let writer = if round % 2 == 0 { &there } else { &here };
        let (status, _) = call(
            &writer.rest,
            Method::POST,
            key,
            "/v1/tokens",
            Some(json!({"userId": "alice", "name": format!("t{round}")})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        for r in [&here, &there] {
            let (_, body) = rb_get(&app, &r.rest, key, path).await;
            assert_eq!(
                json(&body)["total_results"],
                round + 1,
                "after the write of round {round}"
            );
        }
    }
    assert!(hits(&app) > 0, "the repeated reads were kept");
}

async fn a_kept_answer_is_only_for_its_key(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_token(&app.key_a, token_for("alice", "one"))
        .await;
    let path = "/api/oauth-tokens/";
    let reader = app
        .key(&app.org_a, Some("alice"), vec![Permission::TokensRead])
        .await;
    for _ in 0..2 {
        let (status, _) = rb_get(&app, &app.rest, &reader, path).await;
        assert_eq!(status, StatusCode::OK);
    }
    // The same user, without `tokens:read`: Review Board's 112, not the
    // answer kept for the other key.
    let writer = app
        .key(&app.org_a, Some("alice"), vec![Permission::TokensWrite])
        .await;
    let (status, body) = rb_get(&app, &app.rest, &writer, path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json(&body)["err"]["code"], 112);
    // Another user of the organization: their own (empty) page.
    let bob = app
        .key(&app.org_a, Some("bob"), vec![Permission::TokensRead])
        .await;
    let (status, body) = rb_get(&app, &app.rest, &bob, path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["total_results"], 0);
    // Another organization's key with the same path: its own page.
    let (status, body) = rb_get(&app, &app.rest, &app.key_b, path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["total_results"], 0);
}

backend_tests!(
    a_repeated_page_is_kept_until_a_write,
    writes_on_two_replicas_are_never_hidden,
    a_kept_answer_is_only_for_its_key,
);
