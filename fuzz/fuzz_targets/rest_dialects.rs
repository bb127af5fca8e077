//! Every REST dialect's query and body parsing, through the real router
//! in-process over a SQLite file: any path segment, query string, body and
//! content type on any route gets an answer below 500 and never a panic.
//! The routes and the request construction are shared with the proptest in
//! tests/it/rest_properties.rs.
#![no_main]

#[path = "../../tests/common/rest_calls.rs"]
mod rest_calls;

use std::sync::LazyLock;

use axum::body::Body;
use http::{Method, Request};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use oauth_registry::domain::auth::Permission;
use oauth_registry::service::Registry;
use oauth_registry::store::{self, StoreOptions};
use rest_calls::{Known, RawCall};
use tower::ServiceExt;

#[derive(Arbitrary, Debug)]
struct Call {
    route: u8,
    id: u8,
    segment: String,
    query: String,
    content_type: u8,
    rb_auth: bool,
    body: Vec<u8>,
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    key: String,
    token_id: String,
    client_id: String,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = std::env::temp_dir().join(format!("oauth-registry-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}/fuzz.db", dir.display());
    let (router, key, token_id, client_id) = rt.block_on(async {
        let store = store::connect(&url, &StoreOptions::default()).await.expect("store");
        store.migrate().await.expect("migrate");
        let registry = Registry::new(store).await.expect("registry");
        let org = registry.create_org("fuzz").await.expect("org").id;
        let key = registry
            .create_api_key(&org, Some("alice".into()), vec![Permission::Admin], false, None)
            .await
            .expect("key")
            .secret;
        let router = oauth_registry::rest::router(registry);
        let client = setup(&router, &key, "/v1/clients",
            r#"{"clientName":"web","grantTypes":["authorization_code"],"redirectUris":["https://w.example.com/cb"],"scopes":["read"]}"#.into()).await;
        let client_id = client["client"]["clientId"].as_str().expect("client id").to_owned();
        let token = setup(&router, &key, "/v1/tokens",
            format!(r#"{{"clientId":"{client_id}","userId":"alice","scopes":["read"],"redirectUri":"https://w.example.com/cb","name":"t"}}"#)).await;
        let token_id = token["token"]["id"].as_str().expect("token id").to_owned();
        (router, key, token_id, client_id)
    });
    Fixture {
        rt,
        router,
        key,
        token_id,
        client_id,
    }
});

/// A setup POST that must succeed; returns its JSON body.
async fn setup(router: &axum::Router, key: &str, path: &str, body: String) -> serde_json::Value {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("infallible");
    assert!(
        resp.status().is_success(),
        "setup {path}: {}",
        resp.status()
    );
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    serde_json::from_slice(&bytes).expect("json")
}

fuzz_target!(|c: Call| {
    let f = &*FIXTURE;
    let raw = RawCall {
        route: c.route.into(),
        id: c.id,
        segment: c.segment,
        query: c.query,
        content_type: c.content_type.into(),
        rb_auth: c.rb_auth,
        body: c.body,
    };
    let known = Known {
        key: &f.key,
        token_id: &f.token_id,
        client_id: &f.client_id,
    };
    let Some(req) = rest_calls::request(&raw, &known) else {
        return;
    };
    let what = format!("{} {}", req.method(), req.uri());
    let status =
        f.rt.block_on(f.router.clone().oneshot(req))
            .expect("infallible")
            .status();
    assert!(status.as_u16() < 500, "{what} answered {status}: {raw:?}");
});
