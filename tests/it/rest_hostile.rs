//! Hostile input on every REST route: malformed percent-escapes, NULs, huge,
//! negative and fractional numbers, unknown enum values, bad dates, forged
//! cursors, 4 KB values in a 32 KB query, malformed and oversized bodies. Every answer is a
//! 4xx in the route's own error format: never a 5xx, never a panic.

use crate::common::{Backend, TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[derive(Clone, Copy, Debug)]
enum Dialect {
    Canonical,
    Siro,
    SlashId,
    ReviewBoard,
    Losant,
}

/// Whether `body` is the dialect's error shape.
fn is_error_shape(d: Dialect, body: &Value) -> bool {
    match d {
        Dialect::Canonical => body["code"].is_i64() && body["message"].is_string(),
        Dialect::Siro => {
            body["error"].is_string() || (body["name"] == "ZodError" && body["issues"].is_array())
        }
        Dialect::SlashId => {
            body["errors"][0]["httpcode"].is_u64() && body["errors"][0]["message"].is_string()
        }
        Dialect::ReviewBoard => body["stat"] == "fail" && body["err"]["code"].is_i64(),
        Dialect::Losant => body["type"].is_string() && body["message"].is_string(),
    }
}

const QUERIES: [&str; 14] = [
    "pageSize=%zz&limit=%&offset=%G0",
    "pageSize=99999999999999999999&limit=99999999999999999999&perPage=99999999999999999999&max-results=99999999999999999999",
    "pageSize=-5&limit=-5&offset=-5&page=-5&perPage=-5&start=-5&max-results=-5",
    "pageSize=1.5&limit=1.5&offset=1.5&page=1.5&perPage=1.5&start=1.5",
    "pageSize=NaN&limit=Infinity&page=1e400&start=0x10",
    "orderBy=%00&sortField=%00&sortDirection=%00&filter=%00",
    "orderBy=name%20sideways&sortField=secret&sortDirection=up&filterField=secret",
    "fromDate=2024-13-45T99:99:99Z&toDate=yesterday&filter=create_time%20%3E%20soon",
    "pageToken=eyJ2IjoxfQ&cursor=eyJ2IjoxfQ&filter=name%20%3D%20%22unterminated",
    "pageToken=%FF%FE&cursor=%FF%FE&owner=%FF%FE",
    "includeTotalSize=maybe&counts-only=%FF&skip=-1&pageNumber=-1",
    "owner=&filter=OR%20AND%20NOT",
    "owner=u&filter=name%20%3D%20%22%22",
    "owner=u&page=0&limit=0&perPage=0&max-results=0",
];

fn long_value_query() -> String {
    let v = "x".repeat(4_000);
    format!(
        "owner={v}&filter={v}&pageToken={v}&cursor={v}&orderBy={v}&sortField={v}&page={v}&start={v}"
    )
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    body: Option<Vec<u8>>,
    json: bool,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", app.rest))
        .header("Authorization", format!("Bearer {key}"))
        .header("SlashID-OrgID", app.org_a.to_string());
    if let Some(b) = body {
        req = req
            .header(
                "Content-Type",
                if json {
                    "application/json"
                } else {
                    "application/x-www-form-urlencoded"
                },
            )
            .body(b);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn nothing_hostile_gets_a_5xx(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.create_client(&app.key_a, "c").await;
    let (token, _) = app
        .create_token(&app.key_a, crate::common::token_for("alice", "t"))
        .await;
    let reads: Vec<(Dialect, String)> = vec![
        (Dialect::Canonical, "/v1/tokens".into()),
        (Dialect::Canonical, "/v1/tokens:count".into()),
        (Dialect::Canonical, "/v1/clients".into()),
        (
            Dialect::Siro,
            format!("/v1/core/oauth/apps/{client}/access-token"),
        ),
        (Dialect::SlashId, "/oauth2/clients".into()),
        (Dialect::ReviewBoard, "/api/oauth-tokens/".into()),
        (Dialect::Losant, "/me/oauth-tokens".into()),
    ];
    let mut tried = 0;
    for (dialect, path) in &reads {
        let mut queries: Vec<String> = QUERIES.iter().map(|q| (*q).to_owned()).collect();
        queries.push(long_value_query());
        for q in queries {
            let (status, body) = send(
                &app,
                Method::GET,
                &format!("{path}?{q}"),
                &app.key_a,
                None,
                false,
            )
            .await;
            tried += 1;
            assert!(!status.is_server_error(), "{path}?{q}: {status} {body}");
            if status.is_client_error() {
                assert!(
                    is_error_shape(*dialect, &body),
                    "{dialect:?} {path}?{}: {status} {body}",
                    &q[..q.len().min(80)]
                );
            }
        }
    }
    let big = vec![b'{'; 100 * 1024];
    let bodies: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        br#"{"name": 5, "userId": [], "oauth": "x"}"#.to_vec(),
        br#"{"scopes": ["\u0000"], "userId": "\u0000", "expireTime": "not a time"}"#.to_vec(),
        vec![0xff, 0xfe, 0x00],
        big,
    ];
    let writes: Vec<(Dialect, Method, String)> = vec![
        (Dialect::Canonical, Method::POST, "/v1/tokens".into()),
        (
            Dialect::Canonical,
            Method::PATCH,
            format!("/v1/tokens/{}?updateMask=name,%zz", token.id),
        ),
        (Dialect::Canonical, Method::POST, "/v1/clients".into()),
        (
            Dialect::Canonical,
            Method::PATCH,
            format!("/v1/clients/{client}"),
        ),
        (Dialect::Losant, Method::POST, "/me/oauth-tokens".into()),
        (
            Dialect::ReviewBoard,
            Method::PUT,
            format!("/api/oauth-tokens/{}/", token.id),
        ),
    ];
    for (dialect, method, path) in &writes {
        for b in &bodies {
            for json in [true, false] {
                let (status, body) = send(
                    &app,
                    method.clone(),
                    path,
                    &app.key_a,
                    Some(b.clone()),
                    json,
                )
                .await;
                tried += 1;
                assert!(
                    !status.is_server_error(),
                    "{method} {path}: {status} {body}"
                );
                if status.is_client_error() {
                    assert!(
                        is_error_shape(*dialect, &body),
                        "{dialect:?} {method} {path}: {status} {body}"
                    );
                }
            }
        }
    }
    // Ids that are not ids.
    for id in ["%00", "..", "x".repeat(500).as_str(), "%FF"] {
        for (dialect, path) in [
            (Dialect::Canonical, format!("/v1/tokens/{id}")),
            (Dialect::ReviewBoard, format!("/api/oauth-tokens/{id}/")),
        ] {
            let (status, body) = send(&app, Method::GET, &path, &app.key_a, None, false).await;
            tried += 1;
            assert!(status.is_client_error(), "{path}: {status}");
            assert!(is_error_shape(dialect, &body), "{path}: {body}");
        }
    }
    // Unknown routes and methods answer in the owning dialect's format too.
    for (dialect, method, path) in [
        (Dialect::Canonical, Method::GET, "/v1/nothing"),
        (Dialect::Canonical, Method::PUT, "/v1/tokens"),
        (Dialect::ReviewBoard, Method::POST, "/api/oauth-tokens/"),
        (Dialect::ReviewBoard, Method::GET, "/api/nothing/"),
        (Dialect::Losant, Method::DELETE, "/me/oauth-tokens"),
        (Dialect::SlashId, Method::POST, "/oauth2/clients"),
        (Dialect::Siro, Method::GET, "/v1/core/oauth/apps"),
    ] {
        let (status, body) = send(&app, method.clone(), path, &app.key_a, None, false).await;
        tried += 1;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {status}"
        );
        assert!(is_error_shape(dialect, &body), "{method} {path}: {body}");
    }
    eprintln!("hostile requests tried: {tried}");
}

backend_tests!(nothing_hostile_gets_a_5xx);
