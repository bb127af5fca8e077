//! The Losant dialect (`GET`/`POST /me/oauth-tokens`) on both backends: the
//! collection envelope and item fields, sorting, 0-based paging, the name
//! glob, creation with PKCE (201, secret once), and `{type, message}` errors.

use std::collections::HashSet;

use crate::common::{Backend, TestApp, spawn_app, token_for};
use oauth_registry::domain::auth::Permission;
use reqwest::StatusCode;
use serde_json::{Value, json};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn get(app: &TestApp, key: &str, query: &str) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .get(format!("{}/me/oauth-tokens?{query}", app.rest))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap())
}

async fn post(app: &TestApp, key: &str, body: &Value) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/me/oauth-tokens", app.rest))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap())
}

fn body_for(client: &str, name: &str) -> Value {
    json!({
        "name": name,
        "description": "OAuth application for automation",
        "scope": ["read"],
        "defaultRole": "view",
        "oauth": {"client_id": client, "redirect_uri": "https://app.example.com/cb", "code_challenge": CHALLENGE, "code_challenge_method": "S256"},
    })
}

fn assert_error(body: &Value, kind: &str) {
    let keys: HashSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, HashSet::from(["type", "message"]), "{body}");
    assert_eq!(body["type"], kind, "{body}");
}

async fn create_and_list_field_for_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.create_client(&app.key_a, "automation").await;
    let (status, created) = post(&app, &app.key_a, &body_for(&client, "My OAuth App")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(
        created["token"]
            .as_str()
            .is_some_and(|s| s.starts_with("oat_")),
        "secret shown once on create"
    );
    let (status, list) = get(&app, &app.key_a, "").await;
    assert_eq!(status, StatusCode::OK);
    let keys: HashSet<&str> = list
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            "items",
            "count",
            "totalCount",
            "perPage",
            "page",
            "sortField",
            "sortDirection"
        ])
    );
    assert_eq!(
        (
            list["count"].as_u64(),
            list["totalCount"].as_u64(),
            list["perPage"].as_u64(),
            list["page"].as_u64()
        ),
        (Some(1), Some(1), Some(100), Some(0))
    );
    assert_eq!(
        (list["sortField"].as_str(), list["sortDirection"].as_str()),
        (Some("name"), Some("asc"))
    );
    let item = &list["items"][0];
    let keys: HashSet<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            "id",
            "oauthTokenId",
            "name",
            "description",
            "creationDate",
            "lastUpdated",
            "scope",
            "defaultRole",
            "orgRoles",
            "status",
            "oauth"
        ])
    );
    assert!(item.get("token").is_none(), "the secret is never listed");
    assert_eq!(
        (
            item["name"].as_str(),
            item["status"].as_str(),
            item["defaultRole"].as_str()
        ),
        (Some("My OAuth App"), Some("active"), Some("view"))
    );
    assert_eq!(item["oauth"]["client_id"], client.as_str());
    assert_eq!(item["oauth"]["code_challenge_method"], "S256");
    assert!(
        item["creationDate"].as_str().unwrap().ends_with('Z')
            && item["creationDate"].as_str().unwrap().len() == 24,
        "ISO with milliseconds"
    );
}

async fn sorting_paging_and_glob(backend: Backend) {
    let app = spawn_app(backend).await;
    let names = [
        "my-app",
        "my cool app",
        "other",
        "myapp",
        "MyApp",
        "zeta",
        "alpha",
    ];
    for n in names {
        app.create_token(&app.key_a, token_for("alice", n)).await;
    }
    app.create_token(&app.key_a, token_for("someone-else", "my-hidden-app"))
        .await;
    app.create_token(&app.key_b, token_for("alice", "my-other-org-app"))
        .await;
    let (_, all) = get(
        &app,
        &app.key_a,
        "sortField=name&sortDirection=desc&perPage=3&page=0",
    )
    .await;
    let mut walked: Vec<String> = Vec::new();
    for page in 0..3 {
        let (status, body) = get(
            &app,
            &app.key_a,
            &format!("sortField=name&sortDirection=desc&perPage=3&page={page}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["totalCount"], 7);
        walked.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned()),
        );
    }
    let mut want: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    want.reverse();
    assert_eq!(walked, want, "byte order, descending, each once");
    assert_eq!(all["count"], 3);
    let (_, filtered) = get(&app, &app.key_a, "filterField=name&filter=my*app").await;
    let got: HashSet<&str> = filtered["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        HashSet::from(["my-app", "my cool app", "myapp"]),
        "case-sensitive glob, only /me's tokens"
    );
    assert_eq!(
        (
            filtered["filterField"].as_str(),
            filtered["filter"].as_str()
        ),
        (Some("name"), Some("my*app"))
    );
    for sort in ["status", "id", "creationDate", "lastUpdated"] {
        let (status, body) = get(&app, &app.key_a, &format!("sortField={sort}")).await;
        assert_eq!(
            (status, body["count"].as_u64()),
            (StatusCode::OK, Some(7)),
            "{sort}"
        );
    }
}

async fn every_error_in_losant_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.create_client(&app.key_a, "automation").await;
    let k = app.key_a.clone();
    for q in [
        "sortField=bogus",
        "sortDirection=up",
        "page=-1",
        "page=x",
        "perPage=0",
        "perPage=1001",
        "filterField=description&filter=x",
    ] {
        let (status, body) = get(&app, &k, q).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}");
        assert_error(&body, "Validation");
    }
    let mut bodies = vec![
        json!("not an object"),
        json!({"name": "x"}),
        json!({"name": "", "oauth": body_for(&client, "x")["oauth"]}),
        json!({"name": "x", "extra": 1, "oauth": body_for(&client, "x")["oauth"]}),
        json!({"name": "x", "defaultRole": "god", "oauth": body_for(&client, "x")["oauth"]}),
        json!({"name": "x", "scope": ["a", "a"], "oauth": body_for(&client, "x")["oauth"]}),
    ];
    for (field, value) in [
        ("code_challenge_method", json!("plain")),
        ("code_challenge", json!("short")),
        ("redirect_uri", json!("https://evil.example.com/cb")),
    ] {
        let mut b = body_for(&client, "x");
        b["oauth"][field] = value;
        bodies.push(b);
    }
    for b in &bodies {
        let (status, body) = post(&app, &k, b).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{b}: {body}");
        assert_error(&body, "Validation");
    }
    let (status, body) = post(&app, &k, &body_for("no-such-client-id-000000", "x")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "NotFound");
    // Another organization's client is not found either.
    let (status, _) = post(&app, &app.key_b, &body_for(&client, "x")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = get(&app, "oak_forged", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "Unauthorized");
    let unbound = app.key(&app.org_a, None, vec![Permission::Admin]).await;
    let (status, body) = get(&app, &unbound, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "Forbidden");
    let read_only = app
        .key(&app.org_a, Some("alice"), vec![Permission::TokensRead])
        .await;
    let (status, body) = post(&app, &read_only, &body_for(&client, "x")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "Forbidden");
    let (_, list) = get(&app, &k, "").await;
    assert_eq!(list["totalCount"], 0, "no failed POST left a token behind");
}

backend_tests!(
    create_and_list_field_for_field,
    sorting_paging_and_glob,
    every_error_in_losant_shape
);
