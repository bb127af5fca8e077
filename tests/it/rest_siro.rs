//! The Siro dialect (`GET /v1/core/oauth/apps/{clientId}/access-token`) on
//! both backends, checked against `siro-list-access-tokens.openapi.md`: every
//! response (200 and each error status) is validated against the seed's own
//! response schema (tests/fixtures/siro-access-token-responses.json).

use std::collections::HashSet;

use crate::common::{Backend, TestApp, scopes, spawn_app};
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::auth::Permission;
use oauth_registry::domain::ids::{ClientId, OrgId, TokenId};
use oauth_registry::domain::model::{Token, TokenKind};
use oauth_registry::store::NewTokenRow;
use reqwest::StatusCode;
use serde_json::Value;

/// The seed's response schemas by status code, converted once from the
/// YAML in Siro's document (see tests/fixtures/README.md).
const SCHEMAS: &str = include_str!("../fixtures/siro-access-token-responses.json");
const HOUR: i64 = 3_600_000_000;

/// The seed's response schemas by status code.
fn seed_schemas() -> serde_json::Map<String, Value> {
    let mut schemas: serde_json::Map<String, Value> =
        serde_json::from_str(SCHEMAS).expect("fixture is JSON");
    schemas.remove("$comment");
    schemas
}

/// Validates `v` against the OpenAPI 3.0 schema subset the seed uses.
fn validate(schema: &Value, v: &Value, path: &str) -> Result<(), String> {
    if let Some(any) = schema["anyOf"].as_array() {
        if any.iter().any(|s| s["nullable"] == true && v.is_null())
            || any
                .iter()
                .any(|s| s.get("type").is_some() && validate(s, v, path).is_ok())
        {
            return Ok(());
        }
        return Err(format!("{path}: matches no anyOf branch: {v}"));
    }
    if v.is_null() {
        return if schema["nullable"] == true {
            Ok(())
        } else {
            Err(format!("{path}: null not allowed"))
        };
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(v)
    {
        return Err(format!("{path}: {v} not in {options:?}"));
    }
    match schema["type"].as_str() {
        Some("object") => {
            let obj = v.as_object().ok_or(format!("{path}: not an object"))?;
            for r in schema["required"].as_array().into_iter().flatten() {
                let r = r.as_str().unwrap_or_default();
                if !obj.contains_key(r) {
                    return Err(format!("{path}: missing required {r}"));
                }
            }
            for (k, s) in schema["properties"].as_object().into_iter().flatten() {
                if let Some(x) = obj.get(k) {
                    validate(s, x, &format!("{path}.{k}"))?;
                }
            }
            Ok(())
        }
        Some("array") => v
            .as_array()
            .ok_or(format!("{path}: not an array"))?
            .iter()
            .enumerate()
            .try_for_each(|(i, x)| validate(&schema["items"], x, &format!("{path}[{i}]"))),
        Some("string") => {
            let s = v.as_str().ok_or(format!("{path}: not a string"))?;
            if schema["format"] == "date-time" && Timestamp::parse_rfc3339(s).is_none() {
                return Err(format!("{path}: not a date-time"));
            }
            Ok(())
        }
        Some("number") => v
            .as_f64()
            .map(|_| ())
            .ok_or(format!("{path}: not a number")),
        Some("integer") => v
            .as_i64()
            .map(|_| ())
            .ok_or(format!("{path}: not an integer")),
        Some("boolean") => v
            .as_bool()
            .map(|_| ())
            .ok_or(format!("{path}: not a boolean")),
        _ => Ok(()),
    }
}

/// Tokens of `client` in `org`: owners u1/u2, some refresh (not listed by
/// Siro), some revoked, created an hour apart.
async fn seed_tokens(app: &TestApp, org: &OrgId, client: &str, n: usize) -> Vec<Token> {
    let base = Timestamp::now().micros() - (n as i64 + 5) * HOUR;
    let rows: Vec<NewTokenRow> = (0..n)
        .map(|i| {
            let created = base + i as i64 * HOUR;
            NewTokenRow {
                token: Token {
                    id: TokenId::parse("id", &uuid::Uuid::now_v7().to_string()).expect("id"),
                    org_id: org.clone(),
                    client_id: Some(ClientId::parse("client_id", client).expect("id")),
                    user_id: if i % 3 == 0 { "u2".into() } else { "u1".into() },
                    audience: "https://api.example.com".into(),
                    subject: "u1".into(),
                    scopes: if i % 2 == 0 {
                        scopes(&["read"])
                    } else {
                        scopes(&["read", "write"])
                    },
                    name: format!("t{i}"),
                    description: String::new(),
                    default_role: String::new(),
                    pkce: None,
                    redirect_uri: None,
                    kind: if i % 7 == 6 {
                        TokenKind::Refresh
                    } else {
                        TokenKind::Access
                    },
                    secret_prefix: format!("oat_{i:08}"),
                    expires_at: Timestamp::from_micros(created + 48 * HOUR),
                    created_at: Timestamp::from_micros(created),
                    updated_at: Timestamp::from_micros(created + ((i * 7919) % 13) as i64 * HOUR),
                    revoked_at: (i % 5 == 0).then(|| Timestamp::from_micros(created + HOUR)),
                },
                secret_hash: vec![0; 32],
            }
        })
        .collect();
    app.registry
        .store()
        .insert_tokens(&rows)
        .await
        .expect("insert");
    rows.into_iter().map(|r| r.token).collect()
}

async fn call(app: &TestApp, key: Option<&str>, client: &str, query: &str) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().get(format!(
        "{}/v1/core/oauth/apps/{client}/access-token?{query}",
        app.rest
    ));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let body: Value = r.json().await.expect("JSON body");
    let schemas = seed_schemas();
    let schema = schemas
        .get(status.as_str())
        .unwrap_or_else(|| panic!("status {status} is not documented by the seed"));
    validate(schema, &body, "$")
        .unwrap_or_else(|e| panic!("{status} body does not match the seed schema: {e}\n{body}"));
    (status, body)
}

async fn listing_matches_the_seed_field_for_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.create_client(&app.key_a, "siro app").await;
    let tokens = seed_tokens(&app, &app.org_a, &client, 30).await;
    let (status, body) = call(&app, Some(&app.key_a), &client, "owner=u1").await;
    assert_eq!(status, StatusCode::OK);
    let keys: HashSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            "data",
            "cursor",
            "pageSize",
            "limit",
            "total",
            "hasNextPage"
        ])
    );
    let want: Vec<&Token> = {
        let mut v: Vec<&Token> = tokens
            .iter()
            .filter(|t| t.user_id == "u1" && t.kind == TokenKind::Access)
            .collect();
        v.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        v
    };
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), want.len());
    assert_eq!(
        (
            body["limit"].as_i64(),
            body["pageSize"].as_u64(),
            body["total"].as_u64()
        ),
        (Some(100), Some(want.len() as u64), Some(want.len() as u64))
    );
    assert_eq!(
        (body["hasNextPage"].as_bool(), body["cursor"].is_null()),
        (Some(false), true)
    );
    for (item, t) in data.iter().zip(&want) {
        let fields: HashSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            fields.len(),
            10,
            "exactly the ten documented fields: {item}"
        );
        assert_eq!(item["accessTokenId"], t.id.as_str());
        assert_eq!(item["oAuthAppId"], client.as_str());
        assert_eq!(item["userId"], "u1");
        assert_eq!(
            item["scope"],
            if t.scopes.iter().any(|s| s == "write") {
                "write"
            } else {
                "read"
            }
        );
        assert_eq!(item["createdAt"], t.created_at.to_rfc3339().as_str());
        match t.revoked_at {
            None => assert!(item["revokedAt"].is_null()),
            Some(r) => assert_eq!(item["revokedAt"], r.to_rfc3339().as_str()),
        }
    }
    // Date window: strictly after fromDate, strictly before toDate.
    let (from, to) = (want[want.len() - 1].created_at, want[0].created_at);
    let (_, body) = call(
        &app,
        Some(&app.key_a),
        &client,
        &format!(
            "owner=u1&fromDate={}&toDate={}",
            from.to_rfc3339(),
            to.to_rfc3339()
        ),
    )
    .await;
    assert_eq!(body["data"].as_array().unwrap().len(), want.len() - 2);
}

async fn paging_to_the_end_by_cursor_and_by_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.create_client(&app.key_a, "siro app").await;
    let tokens = seed_tokens(&app, &app.org_a, &client, 60).await;
    let expected = tokens
        .iter()
        .filter(|t| t.user_id == "u1" && t.kind == TokenKind::Access)
        .count();
    for sort in [
        "sortField=dateCreated&sortDirection=desc",
        "sortField=dateUpdated&sortDirection=asc",
    ] {
        let mut by_cursor = Vec::new();
        let mut cursor = String::new();
        loop {
            let (status, body) = call(
                &app,
                Some(&app.key_a),
                &client,
                &format!("owner=u1&limit=7&{sort}&cursor={cursor}"),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            by_cursor.extend(
                body["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["accessTokenId"].as_str().unwrap().to_owned()),
            );
            assert_eq!(
                body["hasNextPage"].as_bool(),
                Some(!body["cursor"].is_null())
            );
            if body["cursor"].is_null() {
                break;
            }
            cursor = body["cursor"].as_str().unwrap().to_owned();
        }
        let mut by_page = Vec::new();
        for page in 1.. {
            let (_, body) = call(
                &app,
                Some(&app.key_a),
                &client,
                &format!("owner=u1&limit=7&{sort}&page={page}&cursor="),
            )
            .await;
            let items = body["data"].as_array().unwrap();
            by_page.extend(
                items
                    .iter()
                    .map(|t| t["accessTokenId"].as_str().unwrap().to_owned()),
            );
            if !body["hasNextPage"].as_bool().unwrap() {
                break;
            }
        }
        let unique: HashSet<&String> = by_cursor.iter().collect();
        assert_eq!(unique.len(), by_cursor.len(), "no row twice ({sort})");
        assert_eq!(by_cursor, by_page, "cursor and page modes agree ({sort})");
        assert_eq!(by_cursor.len(), expected, "u1's access tokens ({sort})");
    }
}

async fn every_documented_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.create_client(&app.key_a, "siro app").await;
    seed_tokens(&app, &app.org_a, &client, 10).await;
    let k = Some(app.key_a.as_str());
    for (query, path) in [
        ("", "owner"),
        ("owner=", "owner"),
        ("owner=u1&limit=0", "limit"),
        ("owner=u1&limit=101", "limit"),
        ("owner=u1&limit=abc", "limit"),
        ("owner=u1&limit=1.5", "limit"),
        ("owner=u1&page=0", "page"),
        ("owner=u1&sortField=name", "sortField"),
        ("owner=u1&sortDirection=up", "sortDirection"),
        ("owner=u1&fromDate=yesterday", "fromDate"),
    ] {
        let (status, body) = call(&app, k, &client, query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["name"], "ZodError");
        assert_eq!(body["issues"][0]["path"][0], path, "{query}");
    }
    let (status, body) = call(&app, k, &client, "owner=u1&limit=0&sortField=x").await;
    assert_eq!(
        (status, body["issues"].as_array().map(Vec::len)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(2)),
        "all issues at once"
    );
    let (status, _) = call(&app, k, "no-such-app", "owner=u1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, None, &client, "owner=u1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(&app, Some("Bearer nonsense"), &client, "owner=u1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let clients_only = app
        .key(&app.org_a, None, vec![Permission::ClientsRead])
        .await;
    let (status, _) = call(&app, Some(&clients_only), &client, "owner=u1").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&app, k, &client, "owner=u1&cursor=forged").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A cursor made for another owner is refused too.
    let (_, first) = call(&app, k, &client, "owner=u1&limit=2").await;
    let cursor = first["cursor"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &app,
        k,
        &client,
        &format!("owner=u2&limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Another organization cannot see the app at all.
    let (status, _) = call(&app, Some(&app.key_b), &client, "owner=u1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        Some(&app.key_b),
        &client,
        &format!("owner=u1&cursor={cursor}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

backend_tests!(
    listing_matches_the_seed_field_for_field,
    paging_to_the_end_by_cursor_and_by_page,
    every_documented_error
);
