//! The SlashID dialect (`GET /oauth2/clients`) on both backends: the
//! envelope and client fields of `slashid-list-oauth2-clients.txt`, limit and
//! offset paging to the end, and every error in SlashID's envelope.

use std::collections::HashSet;

use crate::common::{Backend, TestApp, authed, spawn_app};
use oauth_registry::grpc::pb;
use reqwest::StatusCode;
use serde_json::Value;

async fn call(
    app: &TestApp,
    key_header: Option<(&str, &str)>,
    org: Option<&str>,
    query: &str,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().get(format!("{}/oauth2/clients?{query}", app.rest));
    if let Some((name, value)) = key_header {
        req = req.header(name, value);
    }
    if let Some(o) = org {
        req = req.header("SlashID-OrgID", o);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    (status, r.json().await.expect("JSON body"))
}

fn assert_error_envelope(body: &Value, status: StatusCode) {
    let keys: HashSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, HashSet::from(["meta", "errors"]), "{body}");
    assert!(body["meta"]["pagination"]["limit"].is_i64());
    assert_eq!(
        body["errors"][0]["httpcode"].as_u64(),
        Some(u64::from(status.as_u16()))
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

async fn clients_match_the_seed(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = pb::Client {
        client_name: "spa".into(),
        grant_types: vec!["authorization_code".into()],
        response_types: vec!["code".into(), "id_token code".into()],
        redirect_uris: vec!["https://spa.example.com/cb".into()],
        public: true,
        ..Default::default()
    };
    let created = app
        .clients()
        .create_client(authed(
            &app.key_a,
            pb::CreateClientRequest { client: Some(c) },
        ))
        .await
        .unwrap()
        .into_inner()
        .client
        .unwrap();
    let (status, body) = call(
        &app,
        Some(("SlashID-API-Key", &app.key_a)),
        Some(&app.org_a),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["meta"]["pagination"],
        serde_json::json!({"limit": 100, "offset": 0, "total_count": 1})
    );
    let item = &body["result"][0];
    let keys: HashSet<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            "client_id",
            "client_name",
            "grant_types",
            "response_types",
            "scopes",
            "access_token_duration",
            "refresh_token_duration",
            "public",
            "redirect_uris",
            "created_at",
        ]),
        "last_used is absent for a client never used"
    );
    assert_eq!(item["client_id"], created.client_id.as_str());
    assert_eq!(
        item["response_types"],
        serde_json::json!([["code"], ["code", "id_token"]])
    );
    assert_eq!(
        (
            item["access_token_duration"].as_i64(),
            item["refresh_token_duration"].as_i64()
        ),
        (Some(86_400), Some(864_000))
    );
    assert_eq!(item["public"], true);
    assert!(item.get("last_used").is_none());
    // Bearer works too.
    let (status, _) = call(
        &app,
        Some(("Authorization", &format!("Bearer {}", app.key_a))),
        Some(&app.org_a),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn limit_and_offset_walk_every_client_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = HashSet::new();
    for i in 0..23 {
        ids.insert(app.create_client(&app.key_a, &format!("c{i}")).await);
    }
    app.create_client(&app.key_b, "other org").await;
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let (status, body) = call(
            &app,
            Some(("SlashID-API-Key", &app.key_a)),
            Some(&app.org_a),
            &format!("limit=5&offset={offset}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["meta"]["pagination"]["total_count"], 23);
        let page: Vec<String> = body["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["client_id"].as_str().unwrap().to_owned())
            .collect();
        if page.is_empty() {
            break;
        }
        seen.extend(page);
        offset += 5;
    }
    assert_eq!(seen.len(), 23);
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), ids);
}

async fn errors_use_the_slashid_envelope(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = ("SlashID-API-Key", app.key_a.as_str());
    for (key_header, org, query, status) in [
        (Some(key), None, "", StatusCode::BAD_REQUEST),
        (
            Some(key),
            Some(app.org_b.as_str()),
            "",
            StatusCode::FORBIDDEN,
        ),
        (
            Some(key),
            Some(app.org_a.as_str()),
            "limit=abc",
            StatusCode::BAD_REQUEST,
        ),
        (
            Some(key),
            Some(app.org_a.as_str()),
            "limit=0",
            StatusCode::BAD_REQUEST,
        ),
        (
            Some(key),
            Some(app.org_a.as_str()),
            "limit=1001",
            StatusCode::BAD_REQUEST,
        ),
        (
            Some(key),
            Some(app.org_a.as_str()),
            "offset=-1",
            StatusCode::BAD_REQUEST,
        ),
        (
            Some(key),
            Some(app.org_a.as_str()),
            "offset=1.5",
            StatusCode::BAD_REQUEST,
        ),
        // Another organization named by its name, or no organization at all.
        (Some(key), Some("org-b"), "", StatusCode::FORBIDDEN),
        (Some(key), Some("no-such-org"), "", StatusCode::FORBIDDEN),
        (None, Some(app.org_a.as_str()), "", StatusCode::UNAUTHORIZED),
        (
            Some(("SlashID-API-Key", "oak_forged")),
            Some(app.org_a.as_str()),
            "",
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let (got, body) = call(&app, key_header, org, query).await;
        assert_eq!(got, status, "{query} {org:?}: {body}");
        assert_error_envelope(&body, status);
    }
    // The key's own organization may be named by its name.
    let (status, body) = call(&app, Some(key), Some("org-a"), "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A key without clients:read.
    let tokens_only = app
        .key(
            &app.org_a,
            None,
            vec![oauth_registry::domain::auth::Permission::TokensRead],
        )
        .await;
    let (status, body) = call(
        &app,
        Some(("SlashID-API-Key", &tokens_only)),
        Some(&app.org_a),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error_envelope(&body, status);
}

backend_tests!(
    clients_match_the_seed,
    limit_and_offset_walk_every_client_once,
    errors_use_the_slashid_envelope
);
