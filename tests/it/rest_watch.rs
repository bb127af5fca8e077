//! `GET /v1/tokens:watch` and `GET /v1/clients:watch` (Server-Sent Events)
//! on both backends, read as a client reads them: frame by frame off the
//! open response. Events in order with `id:` = resume token and the data
//! the document describes, reconnects with `Last-Event-ID` (alone or over
//! the first URL's `startVersion`) with no gap and no duplicate, tenancy
//! and scopes, refusals before the stream as canonical error bodies,
//! errors after it as a last `event: error`, and the route's methods.

use std::time::Duration;

use crate::common::sse::{open, refused, violated, watch};
use crate::common::{Backend, TestApp, spawn_app, spawn_with};
use oauth_registry::domain::auth::Permission;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", app.rest))
        .bearer_auth(&app.key_a);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.json().await.expect("JSON")
}

async fn events_in_order_then_reconnect(backend: Backend) {
    let app = spawn_app(backend).await;
    call(
        &app,
        Method::POST,
        "/v1/tokens",
        Some(json!({"userId": "alice", "name": "before"})),
    )
    .await;
    // Settled, so the listing's version is the organization's last change
    // (not a PostgreSQL watermark), where the watch's first bookmark rests.
    crate::common::settled_version(app.registry.store(), &app.org_a).await;
    let listing = call(&app, Method::GET, "/v1/tokens", None).await;
    let read_version = listing["readVersion"]
        .as_str()
        .expect("readVersion, a string");
    let from = format!("/v1/tokens:watch?startVersion={read_version}");
    let mut events = watch(&app, &app.key_a, &from, None).await;
    // Caught up at once: a bookmark at the listing's version, no row.
    let first = events.event().await;
    assert_eq!(first.event, "bookmark", "{first:?}");
    assert_eq!(first.data["kind"], "CHANGE_KIND_BOOKMARK");
    assert_eq!(first.data["version"], read_version);
    assert!(first.data.get("token").is_none() && first.id.is_some());

    let created = call(
        &app,
        Method::POST,
        "/v1/tokens",
        Some(json!({"userId": "alice", "name": "w"})),
    )
    .await;
    let (id, secret) = (
        created["token"]["id"].as_str().expect("id"),
        created["secret"].as_str().expect("secret"),
    );
    call(&app, Method::POST, &format!("/v1/tokens/{id}:revoke"), None).await;
    call(&app, Method::DELETE, &format!("/v1/tokens/{id}"), None).await;

    let doc: Value = reqwest::get(format!("{}/openapi.json", app.rest))
        .await
        .expect("doc")
        .json()
        .await
        .expect("JSON");
    let mut schema =
        doc["paths"]["/v1/tokens:watch"]["get"]["responses"]["200"]["content"]["text/event-stream"]
            ["x-itemSchema"]
            .clone();
    assert!(schema.is_object(), "the events' schema is documented");
    schema["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let mut seen = Vec::new();
    for (name, kind) in [
        ("created", "CHANGE_KIND_CREATED"),
        ("revoked", "CHANGE_KIND_REVOKED"),
        ("deleted", "CHANGE_KIND_DELETED"),
    ] {
        let e = events.change().await;
        assert_eq!(
            (e.event.as_str(), &e.data["kind"]),
            (name, &json!(kind)),
            "{e:?}"
        );
        assert_eq!(e.data["token"]["id"], id);
        assert_eq!(
            e.id.as_deref(),
            e.data["resumeToken"].as_str(),
            "id: is the resume token"
        );
        assert!(e.id.as_deref().is_some_and(|i| !i.is_empty()));
        let at = e.data["changeTime"].as_str().expect("changeTime");
        assert!(
            at.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(at).is_ok(),
            "{at}"
        );
        assert!(!e.data.to_string().contains(secret), "no secret in events");
        let errors: Vec<String> = validator
            .iter_errors(&e.data)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}: {}", e.data);
        seen.push(e);
    }
    assert!(seen[1].data["token"]["revokeTime"].is_string());
    let versions: Vec<i64> = seen.iter().map(|f| f.version()).collect();
    let listed: i64 = read_version.parse().expect("int64");
    // SQLite numbers 1, 2, 3…; PostgreSQL by transaction, with gaps.
    if backend == Backend::Sqlite {
        assert_eq!(
            versions[0],
            listed + 1,
            "the first change after the listing"
        );
    }
    assert!(versions[0] > listed, "the first change after the listing");
    assert!(versions.windows(2).all(|w| w[1] > w[0]), "{versions:?}");

    // An EventSource reconnecting repeats the URL and sends Last-Event-ID:
    // the third event comes next, then a bookmark at it (no gap, no
    // duplicate), with or without the first URL's startVersion.
    let second = seen[1].id.clone();
    for path in [from.as_str(), "/v1/tokens:watch"] {
        let mut again = watch(&app, &app.key_a, path, second.as_deref()).await;
        let next = again.change().await;
        assert_eq!(
            (next.event.as_str(), &next.id),
            ("deleted", &seen[2].id),
            "{path}"
        );
        assert_eq!(next.version(), versions[2]);
        let caught_up = again.event().await;
        assert_eq!(
            (caught_up.event.as_str(), caught_up.version()),
            ("bookmark", versions[2]),
            "{path}"
        );
    }
    // So does resumeToken in the query.
    let after_first = format!(
        "/v1/tokens:watch?resumeToken={}",
        seen[0].id.as_deref().unwrap_or_default()
    );
    let mut resumed = watch(&app, &app.key_a, &after_first, None).await;
    assert_eq!(resumed.change().await.id, seen[1].id);
    assert_eq!(resumed.change().await.id, seen[2].id);
}

async fn tenancy_and_scopes(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut a = watch(&app, &app.key_a, "/v1/tokens:watch", None).await;
    let mut b = watch(&app, &app.key_b, "/v1/tokens:watch", None).await;
    let (mine, _) = app
        .create_token(&app.key_a, crate::common::token_for("alice", "a"))
        .await;
    let (theirs, _) = app
        .create_token(&app.key_b, crate::common::token_for("bob", "b"))
        .await;
    assert_eq!(a.change().await.data["token"]["id"], mine.id);
    // B's first change is its own: A's came before it and was not sent.
    let e = b.change().await;
    assert_eq!(
        (e.event.as_str(), &e.data["token"]["id"]),
        ("created", &json!(theirs.id))
    );

    let writer = app
        .key(
            &app.org_a,
            None,
            vec![Permission::TokensWrite, Permission::ClientsRead],
        )
        .await;
    let (status, body) = refused(&app, &writer, "/v1/tokens:watch", None).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::FORBIDDEN, &json!(7)),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("tokens:read")),
        "{body}"
    );
    let reader = app
        .key(&app.org_a, None, vec![Permission::TokensRead])
        .await;
    let (status, body) = refused(&app, &reader, "/v1/clients:watch", None).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::FORBIDDEN, &json!(7)),
        "{body}"
    );
    let (status, body) = refused(&app, "oar_not_a_key", "/v1/tokens:watch", None).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::UNAUTHORIZED, &json!(16)),
        "{body}"
    );
    // The reader's own watch works; B's resume token is not A's.
    let mut r = watch(&app, &reader, "/v1/tokens:watch", None).await;
    assert_eq!(r.event().await.event, "bookmark");
    let b_token = e.id.expect("id");
    let (status, body) = refused(&app, &app.key_a, "/v1/tokens:watch", Some(&b_token)).await;
    assert_eq!(
        (status, violated(&body)),
        (StatusCode::BAD_REQUEST, vec!["resume_token"]),
        "{body}"
    );
}

async fn bad_starts_are_canonical_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..6 {
        app.create_token(
            &app.key_a,
            crate::common::token_for("alice", &format!("t{i}")),
        )
        .await;
    }
    let k = app.key_a.clone();
    let (status, body) = refused(&app, &k, "/v1/tokens:watch?resumeToken=not-a-token", None).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::BAD_REQUEST, &json!(3)),
        "{body}"
    );
    assert_eq!(violated(&body), ["resume_token"], "{body}");
    assert_eq!(
        body["details"][0]["@type"],
        "type.googleapis.com/google.rpc.BadRequest"
    );
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    let (status, body) = refused(&app, &k, "/v1/tokens:watch", Some("not-a-token")).await;
    assert_eq!(
        (status, violated(&body)),
        (StatusCode::BAD_REQUEST, vec!["resume_token"]),
        "{body}"
    );
    let (status, body) = refused(&app, &k, "/v1/clients:watch?resume_token=x", None).await;
    assert_eq!(
        (status, violated(&body)),
        (StatusCode::BAD_REQUEST, vec!["resume_token"]),
        "{body}"
    );
    for (query, field) in [
        ("startVersion=x", "start_version"),
        ("startVersion=-1", "start_version"),
        ("startVersion=9000000000000000000", "start_version"),
        ("startVersion=1&resumeToken=x", "start_version"),
        ("filter=nonsense%20%3D", "filter"),
    ] {
        let (status, body) = refused(&app, &k, &format!("/v1/tokens:watch?{query}"), None).await;
        assert_eq!(
            (status, violated(&body)),
            (StatusCode::BAD_REQUEST, vec![field]),
            "{query}: {body}"
        );
    }
    // Below the feed's floor: FAILED_PRECONDITION, re-list.
    app.registry
        .trim_changes(Duration::from_secs(3600), 2)
        .await
        .expect("trim");
    let (status, body) = refused(&app, &k, "/v1/tokens:watch?startVersion=0", None).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::BAD_REQUEST, &json!(9)),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("re-list")),
        "{body}"
    );
}

async fn errors_after_the_start_end_the_stream(backend: Backend) {
    let app = spawn_with(backend, |c| c.max_streams = 1).await;
    let mut events = watch(&app, &app.key_a, "/v1/tokens:watch", None).await;
    let bookmark = events.event().await;
    let resp = open(&app, &app.key_a, "/v1/clients:watch", None).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["code"], 8, "{body}");

    app.registry.begin_drain();
    let last = events.event().await;
    assert_eq!(
        (last.event.as_str(), &last.id),
        ("bookmark", &bookmark.id),
        "ends with where to resume"
    );
    let error = events.event().await;
    assert_eq!(
        (error.event.as_str(), &error.id),
        ("error", &None),
        "{error:?}"
    );
    assert_eq!(error.data["code"], 14, "UNAVAILABLE: {}", error.data);
    // The google.rpc.Status body, as a refusal's.
    assert!(
        error.data["message"]
            .as_str()
            .is_some_and(|m| m.contains("shutting down")),
        "{}",
        error.data
    );
    assert!(error.data["details"].is_array(), "{}", error.data);
    assert!(
        events.next().await.is_none(),
        "the stream ends after the error"
    );
}

async fn clients_and_methods(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut events = watch(
        &app,
        &app.key_a,
        "/v1/clients:watch?filter=client_name%20%3D%20%22web%22",
        None,
    )
    .await;
    app.create_client(&app.key_a, "other").await;
    let id = app.create_client(&app.key_a, "web").await;
    call(
        &app,
        Method::DELETE,
        &format!("/v1/clients/{id}?force=true"),
        None,
    )
    .await;
    let created = events.change().await;
    assert_eq!(
        (created.event.as_str(), &created.data["client"]["clientId"]),
        ("created", &json!(id))
    );
    assert_eq!(created.data["kind"], "CHANGE_KIND_CREATED");
    assert!(
        created.data["client"]["createTime"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let deleted = events.change().await;
    assert_eq!(
        (deleted.event.as_str(), deleted.version()),
        ("deleted", deleted.version())
    );
    assert!(deleted.version() > created.version());

    let http = reqwest::Client::new();
    for path in ["/v1/tokens:watch", "/v1/clients:watch"] {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let r = http
                .request(method.clone(), format!("{}{path}", app.rest))
                .bearer_auth(&app.key_a)
                .send()
                .await
                .expect("request");
            assert_eq!(
                r.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(r.headers()["allow"], "GET");
            let body: Value = r.json().await.expect("google.rpc.Status");
            assert_eq!(body["code"], 12);
        }
        let r = http
            .request(Method::OPTIONS, format!("{}{path}", app.rest))
            .send()
            .await
            .expect("options");
        assert_eq!(
            (r.status(), &r.headers()["allow"]),
            (StatusCode::NO_CONTENT, &"GET".parse().expect("header"))
        );
    }
}

crate::backend_tests!(
    events_in_order_then_reconnect,
    tenancy_and_scopes,
    bad_starts_are_canonical_errors,
    errors_after_the_start_end_the_stream,
    clients_and_methods,
);
