//! The canonical REST API (`/v1/...`) on both backends: the same rows as gRPC
//! for the same query, the protobuf JSON mapping, the full lifecycle, and
//! `google.rpc.Status` errors with grpc-gateway's HTTP statuses.

use crate::common::{Backend, TestApp, authed, insert_tokens, spawn_app};
use oauth_registry::domain::auth::Permission;
use oauth_registry::grpc::pb;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get(app: &TestApp, key: &str, path: &str) -> (StatusCode, Value) {
    let r = http()
        .get(format!("{}{path}", app.rest))
        .bearer_auth(key)
        .send()
        .await
        .expect("request");
    let status = r.status();
    (status, r.json().await.expect("json body"))
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    key: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = http()
        .request(method, format!("{}{path}", app.rest))
        .bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    (status, r.json().await.expect("json body"))
}

fn violations(body: &Value) -> Vec<String> {
    body["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
        .flat_map(|d| d["fieldViolations"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v["field"].as_str().map(str::to_owned))
        .collect()
}

async fn rest_and_grpc_return_the_same_rows(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 40).await;
    let filter = "user_id = \"user-1\" AND status = ACTIVE";
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let grpc = app
            .tokens()
            .list_tokens(authed(
                &app.key_a,
                pb::ListTokensRequest {
                    page_size: 3,
                    filter: filter.into(),
                    order_by: "name desc".into(),
                    page_token: token.clone(),
                    include_total_size: true,
                    ..Default::default()
                },
            ))
            .await
            .expect("grpc list")
            .into_inner();
        let query = format!(
            "/v1/tokens?pageSize=3&orderBy=name%20desc&includeTotalSize=true&filter={}&pageToken={}",
            urlencode(filter),
            token
        );
        let (status, body) = get(&app, &app.key_a, &query).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let rest: pb::ListTokensResponse = serde_json::from_value(body).expect("protobuf JSON");
        assert_eq!(rest.tokens, grpc.tokens);
        assert_eq!(rest.total_size, grpc.total_size);
        assert_eq!(
            rest.next_page_token.is_empty(),
            grpc.next_page_token.is_empty()
        );
        pages += 1;
        if grpc.next_page_token.is_empty() {
            break;
        }
        token = grpc.next_page_token;
    }
    assert!(pages > 1);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn lifecycle_in_protobuf_json(backend: Backend) {
    let app = spawn_app(backend).await;
    let k = app.key_a.clone();
    let (status, client) = send(
        &app,
        reqwest::Method::POST,
        &k,
        "/v1/clients",
        Some(json!({"clientName": "web", "grantTypes": ["authorization_code"], "redirectUris": ["https://w.example.com/cb"], "scopes": ["read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{client}");
    let client_id = client["client"]["clientId"]
        .as_str()
        .expect("clientId")
        .to_owned();
    assert_eq!(
        client["client"]["accessTokenDuration"], "86400s",
        "Duration in protobuf JSON"
    );

    let (status, created) = send(
        &app,
        reqwest::Method::POST,
        &k,
        "/v1/tokens",
        Some(json!({"clientId": client_id, "userId": "u1", "scopes": ["read"], "redirectUri": "https://w.example.com/cb", "name": "n1"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert!(
        created["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("oat_"))
    );
    let id = created["token"]["id"].as_str().expect("id").to_owned();
    assert_eq!(created["token"]["status"], "TOKEN_STATUS_ACTIVE");
    // Timestamps as proto3 JSON (and grpcurl) write them: UTC with `Z`.
    for field in ["createTime", "updateTime", "expireTime"] {
        let t = created["token"][field].as_str().expect(field);
        assert!(t.ends_with('Z') && !t.contains("+00:00"), "{field}: {t}");
    }

    let (status, got) = get(&app, &k, &format!("/v1/tokens/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["name"], "n1");
    assert!(got.get("secret").is_none());

    let (status, upd) = send(
        &app,
        reqwest::Method::PATCH,
        &k,
        &format!("/v1/tokens/{id}?updateMask=name,defaultRole"),
        Some(json!({"name": "n2", "defaultRole": "admin", "description": "ignored"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{upd}");
    assert_eq!(
        (
            upd["name"].as_str(),
            upd["defaultRole"].as_str(),
            upd.get("description")
        ),
        (Some("n2"), Some("admin"), None)
    );

    let (status, revoked) = send(
        &app,
        reqwest::Method::POST,
        &k,
        &format!("/v1/tokens/{id}:revoke"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["status"], "TOKEN_STATUS_REVOKED");

    let (status, count) = get(&app, &k, "/v1/tokens:count?filter=status%20%3D%20REVOKED").await;
    assert_eq!(
        (status, count["totalSize"].as_str()),
        (StatusCode::OK, Some("1"))
    );

    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        &k,
        &format!("/v1/clients/{client_id}"),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "FAILED_PRECONDITION while tokens remain"
    );
    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        &k,
        &format!("/v1/clients/{client_id}?force=true"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = get(&app, &k, &format!("/v1/tokens/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], 5);
}

async fn errors_are_google_rpc_status(backend: Backend) {
    let app = spawn_app(backend).await;
    let k = app.key_a.clone();
    for (path, field) in [
        ("/v1/tokens?pageSize=-1", "page_size"),
        ("/v1/tokens?pageSize=ten", "page_size"),
        ("/v1/tokens?includeTotalSize=maybe", "include_total_size"),
        ("/v1/tokens?filter=bogus%3D1", "filter"),
        ("/v1/tokens?orderBy=secret", "order_by"),
        ("/v1/tokens?pageToken=forged", "page_token"),
        ("/v1/clients?pageSize=99999999999", "page_size"),
    ] {
        let (status, body) = get(&app, &k, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["code"], 3, "{path}");
        assert_eq!(violations(&body), vec![field.to_string()], "{path}");
    }
    for body in [
        json!("not an object"),
        json!({"userId": 5}),
        json!({"unknownField": 1}),
    ] {
        let (status, err) = send(
            &app,
            reqwest::Method::POST,
            &k,
            "/v1/tokens",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert_eq!(violations(&err), vec!["body".to_string()]);
    }
    let (status, err) = send(
        &app,
        reqwest::Method::POST,
        &k,
        "/v1/tokens",
        Some(json!({"scopes": ["a b"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        violations(&err),
        vec!["token.user_id".to_string(), "token.scopes[0]".to_string()]
    );

    let big = "x".repeat(100 * 1024);
    let r = http()
        .post(format!("{}/v1/tokens", app.rest))
        .bearer_auth(&k)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let r = http()
        .get(format!("{}/v1/tokens", app.rest))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], 16);
    let clients_only = app
        .key(&app.org_a, None, vec![Permission::ClientsRead])
        .await;
    let (status, body) = get(&app, &clients_only, "/v1/tokens").await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (StatusCode::FORBIDDEN, Some(7))
    );
    // Another organization's token is simply not there.
    let (t, _) = app
        .create_token(&app.key_a, crate::common::token_for("u", "n"))
        .await;
    let (status, _) = get(&app, &app.key_b, &format!("/v1/tokens/{}", t.id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        &app.key_b,
        &format!("/v1/tokens/{}:revoke", t.id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

backend_tests!(
    rest_and_grpc_return_the_same_rows,
    lifecycle_in_protobuf_json,
    errors_are_google_rpc_status
);
