//! ETags on the canonical API and Review Board (`rest::conditional`): a
//! GET carries a weak ETag; the same GET with `If-None-Match` is `304` with
//! the ETag and no body, and runs no listing; any write (through the API,
//! or through another replica) changes it, and so does a token expiring;
//! `If-Match` on a stale ETag is `412`.

use std::time::Duration;

use crate::common::replica::Replica;
use crate::common::{Backend, TestApp, spawn_app, token_for};
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::auth::Permission;
use oauth_registry::domain::ids::TokenId;
use oauth_registry::domain::patch::TokenPatch;
use reqwest::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// What a test looks at in an answer.
struct Answer {
    status: StatusCode,
    etag: Option<String>,
    body: Vec<u8>,
    vary: Option<String>,
}

impl Answer {
    fn etag(&self) -> String {
        let e = self.etag.clone().expect("an ETag");
        assert!(e.starts_with("W/\"") && e.ends_with('"'), "weak: {e}");
        e
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

async fn call(
    base: &str,
    method: Method,
    key: &str,
    path: &str,
    headers: &[(reqwest::header::HeaderName, &str)],
    body: Option<Value>,
) -> Answer {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(key)
        // Replicas behind one name: the ETag covers the host.
        .header("host", "registry.example");
    for (name, value) in headers {
        req = req.header(name, *value);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let header = |name| {
        r.headers()
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().expect("ascii").to_owned())
    };
    Answer {
        status: r.status(),
        etag: header(ETAG.as_str()),
        vary: header("vary"),
        body: r.bytes().await.expect("body").to_vec(),
    }
}

async fn get(app: &TestApp, key: &str, path: &str, if_none_match: Option<&str>) -> Answer {
    // Validators are made only at a settled version: on PostgreSQL another
    // test's transaction can briefly hold this organization's last write
    // above the watermark (docs/change-feed.md), and then no ETag is sent.
    crate::common::settled_version(app.registry.store(), &app.org_a).await;
    let headers: Vec<_> = if_none_match
        .map(|e| (IF_NONE_MATCH, e))
        .into_iter()
        .collect();
    call(&app.rest, Method::GET, key, path, &headers, None).await
}

async fn canonical_gets_are_conditional(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..3 {
        app.create_token(&app.key_a, token_for("alice", &format!("t{i}")))
            .await;
    }
    let key = &app.key_a;
    for path in [
        "/v1/tokens?pageSize=2&includeTotalSize=true",
        "/v1/tokens:count?filter=status%20%3D%20ACTIVE",
        "/v1/clients",
    ] {
        let first = get(&app, key, path, None).await;
        assert_eq!(first.status, StatusCode::OK, "{path}");
        let etag = first.etag();
        let pages = app.registry.metrics().pages_fetched();
        let totals = app.registry.metrics().cache_lookups("totals", false)
            + app.registry.metrics().cache_lookups("totals", true);
        let again = get(&app, key, path, Some(&etag)).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(again.etag.as_deref(), Some(etag.as_str()), "{path}");
        assert!(again.body.is_empty(), "no body with 304: {path}");
        assert_eq!(
            app.registry.metrics().pages_fetched(),
            pages,
            "no listing query"
        );
        assert_eq!(
            app.registry.metrics().cache_lookups("totals", false)
                + app.registry.metrics().cache_lookups("totals", true),
            totals,
            "no count either"
        );
        // A list of ETags, one of them current.
        let listed = format!("W/\"old\", {etag}");
        assert_eq!(
            get(&app, key, path, Some(&listed)).await.status,
            StatusCode::NOT_MODIFIED
        );
    }
    // The query's parameters in another order are the same request.
    let etag = get(&app, key, "/v1/tokens?pageSize=2&orderBy=name", None)
        .await
        .etag();
    let swapped = get(&app, key, "/v1/tokens?orderBy=name&pageSize=2", Some(&etag)).await;
    assert_eq!(swapped.status, StatusCode::NOT_MODIFIED);
    // Another page size is another answer.
    let other = get(&app, key, "/v1/tokens?pageSize=3&orderBy=name", Some(&etag)).await;
    assert_eq!(other.status, StatusCode::OK);

    // A write through the API changes it.
    let (status, _) = {
        let a = call(
            &app.rest,
            Method::POST,
            key,
            "/v1/tokens",
            &[],
            Some(json!({"userId": "alice", "name": "new"})),
        )
        .await;
        (a.status, a.body)
    };
    assert_eq!(status, StatusCode::OK);
    let after = get(&app, key, "/v1/tokens?pageSize=2&orderBy=name", Some(&etag)).await;
    assert_eq!(after.status, StatusCode::OK, "a write changes the ETag");
    assert_ne!(after.etag(), etag);
    assert!(after.json()["tokens"].is_array());

    // Another organization's key, or a key that may not read tokens, gets
    // no 304 from this ETag.
    let current = after.etag();
    let path = "/v1/tokens?pageSize=2&orderBy=name";
    assert_eq!(
        get(&app, &app.key_b, path, Some(&current)).await.status,
        StatusCode::OK
    );
    let clients_only = app
        .key(&app.org_a, Some("alice"), vec![Permission::ClientsRead])
        .await;
    assert_eq!(
        get(&app, &clients_only, path, Some(&current)).await.status,
        StatusCode::FORBIDDEN
    );
    // No credential: the face's 401, not a 304.
    let anonymous = reqwest::Client::new()
        .get(format!("{}{path}", app.rest))
        .header(IF_NONE_MATCH, &current)
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

async fn if_match_guards_updates_and_deletes(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = &app.key_a;
    let (token, _) = app.create_token(key, token_for("alice", "guarded")).await;
    let path = format!("/v1/tokens/{}", token.id);
    let etag = get(&app, key, &path, None).await.etag();
    let patch = |etag: String| {
        let path = format!("{path}?updateMask=name");
        let rest = app.rest.clone();
        async move {
            call(
                &rest,
                Method::PATCH,
                key,
                &path,
                &[(IF_MATCH, &etag)],
                Some(json!({"name": "renamed"})),
            )
            .await
        }
    };
    assert_eq!(
        patch(etag.clone()).await.status,
        StatusCode::OK,
        "current ETag"
    );
    let stale = patch(etag.clone()).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "stale ETag");
    assert_eq!(stale.json()["code"], 9, "FAILED_PRECONDITION");
    assert_eq!(
        patch("\"forged\"".into()).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    // Another resource's ETag, even a current one, is not this one's.
    let (other, _) = app.create_token(key, token_for("alice", "other")).await;
    let other_etag = get(&app, key, &format!("/v1/tokens/{}", other.id), None)
        .await
        .etag();
    assert_eq!(
        patch(other_etag).await.status,
        StatusCode::PRECONDITION_FAILED
    );

    // The check inside the write's transaction: a precondition the
    // organization moved past refuses the write even once it reached the
    // store (as when another replica's write lands after the face's check).
    let caller = app.registry.authenticate_key(key).await.expect("caller");
    let id = TokenId::parse("id", &token.id).expect("id");
    let rename = TokenPatch {
        name: Some("raced".into()),
        ..TokenPatch::default()
    };
    let before = crate::common::settled_version(app.registry.store(), &app.org_a).await;
    app.create_token(key, token_for("alice", "meanwhile")).await;
    let (raced, refused) = app
        .registry
        .expecting(before, app.registry.update_token(&caller, &id, &rename))
        .await;
    assert!(refused && raced.is_err(), "{raced:?}");
    let now = crate::common::settled_version(app.registry.store(), &app.org_a).await;
    let (fresh, refused) = app
        .registry
        .expecting(now, app.registry.update_token(&caller, &id, &rename))
        .await;
    assert!(!refused && fresh.is_ok(), "{fresh:?}");

    let etag = get(&app, key, &path, None).await.etag();
    let deleted = call(
        &app.rest,
        Method::DELETE,
        key,
        &path,
        &[(IF_MATCH, &etag)],
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let again = call(
        &app.rest,
        Method::DELETE,
        key,
        &path,
        &[(IF_MATCH, "*")],
        None,
    )
    .await;
    assert_eq!(
        again.status,
        StatusCode::NOT_FOUND,
        "If-Match: * needs the resource"
    );

    // Clients, likewise.
    let client = app.create_client(key, "guarded").await;
    let path = format!("/v1/clients/{client}");
    let etag = get(&app, key, &path, None).await.etag();
    let renamed = call(
        &app.rest,
        Method::PATCH,
        key,
        &format!("{path}?updateMask=clientName"),
        &[(IF_MATCH, &etag)],
        Some(json!({"clientName": "renamed"})),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::OK);
    let stale = call(
        &app.rest,
        Method::DELETE,
        key,
        &path,
        &[(IF_MATCH, &etag)],
        None,
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        get(&app, key, &path, None).await.status,
        StatusCode::OK,
        "not deleted"
    );
}

async fn reviewboard_gets_are_conditional(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = &app.key_a;
    let (token, _) = app.create_token(key, token_for("alice", "rb")).await;
    for path in [
        "/api/oauth-tokens/",
        &format!("/api/oauth-tokens/{}/", token.id),
    ] {
        let first = get(&app, key, path, None).await;
        assert_eq!(first.status, StatusCode::OK, "{path}");
        let etag = first.etag();
        let pages = app.registry.metrics().pages_fetched();
        let again = get(&app, key, path, Some(&etag)).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(
            again.vary.as_deref(),
            Some("Accept, Cookie"),
            "djblets' Vary"
        );
        assert_eq!(app.registry.metrics().pages_fetched(), pages);
    }
    let etag = get(&app, key, "/api/oauth-tokens/", None).await.etag();
    app.create_token(key, token_for("alice", "rb2")).await;
    let after = get(&app, key, "/api/oauth-tokens/", Some(&etag)).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.json()["total_results"], 2);
    // Another user's key in the same organization sees other tokens: its
    // own ETag.
    let bob = app
        .key(&app.org_a, Some("bob"), vec![Permission::TokensRead])
        .await;
    let current = after.etag();
    let theirs = get(&app, &bob, "/api/oauth-tokens/", Some(&current)).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_eq!(theirs.json()["total_results"], 0);
}

async fn a_write_on_another_replica_changes_the_etag(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = &app.key_a;
    let other = Replica::other(&app).await;
    app.create_token(key, token_for("alice", "one")).await;
    let path = "/v1/tokens?pageSize=5";
    let etag = get(&app, key, path, None).await.etag();
    // Every replica makes and accepts the same ETags.
    let there = call(
        &other.rest,
        Method::GET,
        key,
        path,
        &[(IF_NONE_MATCH, &etag)],
        None,
    )
    .await;
    assert_eq!(there.status, StatusCode::NOT_MODIFIED);
    let made = call(
        &other.rest,
        Method::POST,
        key,
        "/v1/tokens",
        &[],
        Some(json!({"userId": "alice", "name": "two"})),
    )
    .await;
    assert_eq!(made.status, StatusCode::OK);
    let here = get(&app, key, path, Some(&etag)).await;
    assert_eq!(
        here.status,
        StatusCode::OK,
        "the other replica's write is seen"
    );
    assert_eq!(here.json()["tokens"].as_array().map(Vec::len), Some(2));
}

async fn a_token_expiring_changes_the_etag(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = &app.key_a;
    let soon = Timestamp::now().plus_seconds(2);
    let mut token = token_for("alice", "soon");
    token.expire_time = Some(pbjson_types::Timestamp {
        seconds: soon.micros().div_euclid(1_000_000),
        nanos: 0,
    });
    let (token, _) = app.create_token(key, token).await;
    let path = format!("/v1/tokens/{}", token.id);
    let first = get(&app, key, &path, None).await;
    assert_eq!(first.json()["status"], "TOKEN_STATUS_ACTIVE");
    let etag = first.etag();
    assert_eq!(
        get(&app, key, &path, Some(&etag)).await.status,
        StatusCode::NOT_MODIFIED
    );
    let wait = (soon.micros() - Timestamp::now().micros()).max(0) as u64;
    tokio::time::sleep(Duration::from_micros(wait) + Duration::from_millis(300)).await;
    let later = get(&app, key, &path, Some(&etag)).await;
    assert_eq!(later.status, StatusCode::OK, "the token's status moved");
    assert_eq!(later.json()["status"], "TOKEN_STATUS_EXPIRED");
}

/// The document states them: If-None-Match, the ETag and 304 on the GETs,
/// If-Match and 412 on the guarded writes.
#[test]
fn the_openapi_document_states_the_validators() {
    let doc = oauth_registry::rest::openapi();
    for path in [
        "/v1/tokens",
        "/v1/tokens:count",
        "/v1/tokens/{id}",
        "/v1/clients",
        "/v1/clients/{id}",
    ] {
        let get = &doc["paths"][path]["get"];
        assert!(get["responses"]["304"].is_object(), "{path}");
        assert!(
            get["responses"]["200"]["headers"]["ETag"].is_object(),
            "{path}"
        );
        let names: Vec<&Value> = get["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| &p["name"])
            .collect();
        assert!(names.contains(&&json!("If-None-Match")), "{path}");
    }
    for path in ["/v1/tokens/{id}", "/v1/clients/{id}"] {
        for method in ["patch", "delete"] {
            let op = &doc["paths"][path][method];
            assert!(
                op["responses"]["412"]["content"].is_object(),
                "{method} {path}"
            );
        }
    }
    assert!(doc["paths"]["/v1/tokens"]["post"]["responses"]["412"].is_null());
    assert!(doc["paths"]["/v1/tokens:watch"]["get"]["responses"]["304"].is_null());
}

backend_tests!(
    canonical_gets_are_conditional,
    if_match_guards_updates_and_deletes,
    reviewboard_gets_are_conditional,
    a_write_on_another_replica_changes_the_etag,
    a_token_expiring_changes_the_etag,
);
