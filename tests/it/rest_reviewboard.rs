//! The Review Board dialect on both backends, compared with the seed and with
//! the real Review Board 8.1 responses in `tests/fixtures/reviewboard-8.1/`: envelope,
//! item fields, links, content types, paging by start/max-results (with the
//! silent 200 cap), counts-only, owner-or-superuser visibility, the item
//! resource (GET/PUT/DELETE), local sites and every documented error code.

use std::collections::HashSet;

use crate::common::{Backend, TestApp, insert_tokens, spawn_app};
use oauth_registry::domain::auth::Permission;
use oauth_registry::domain::secret::ExposeSecret;
use reqwest::StatusCode;
use serde_json::Value;

/// Review Board 8.1's real answer to `GET /api/oauth-tokens/?max-results=25`
/// (see tests/fixtures/README.md).
const REFERENCE: &str = include_str!("../fixtures/reviewboard-8.1/list-max-results-25.json");
/// Its answer to `?start=9000` (a middle page: prev, self and next).
const REFERENCE_MIDDLE: &str = include_str!("../fixtures/reviewboard-8.1/list-start-9000.json");
/// Its answer to `?counts-only=1`.
const REFERENCE_COUNTS: &str = include_str!("../fixtures/reviewboard-8.1/counts-only.json");

async fn key(
    app: &TestApp,
    user: Option<&str>,
    scopes: Vec<Permission>,
    superuser: bool,
) -> String {
    app.registry
        .create_api_key(&app.org_a, user.map(str::to_owned), scopes, superuser, None)
        .await
        .expect("key")
        .secret
        .expose_secret()
        .to_owned()
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    key: Option<&str>,
    path: &str,
    form: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", app.rest));
    if let Some(k) = key {
        req = req.header("Authorization", format!("token {k}"));
    }
    if let Some(f) = form {
        req = req
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(f.to_owned());
    }
    let r = req.send().await.expect("request");
    let (status, headers) = (r.status(), r.headers().clone());
    let text = r.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON body")
    };
    (status, headers, body)
}

fn keys(v: &Value) -> HashSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn fail_code(body: &Value) -> i64 {
    assert_eq!(body["stat"], "fail", "{body}");
    body["err"]["code"].as_i64().expect("err.code")
}

async fn list_matches_the_reference(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 90).await;
    let superuser = key(&app, Some("admin"), vec![Permission::Admin], true).await;
    let (status, headers, body) = call(
        &app,
        reqwest::Method::GET,
        Some(&superuser),
        "/api/oauth-tokens/?max-results=25",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-type"],
        "application/vnd.reviewboard.org.oauth-tokens+json"
    );
    assert_eq!(
        headers["item-content-type"],
        "application/vnd.reviewboard.org.oauth-token+json"
    );
    let reference: Value = serde_json::from_str(REFERENCE).expect("fixture is JSON");
    assert_eq!(keys(&body), keys(&reference));
    assert_eq!(
        keys(&body["links"]),
        keys(&reference["links"]),
        "first page: self and next, no prev"
    );
    assert_eq!(
        keys(&body["oauth_tokens"][0]),
        keys(&reference["oauth_tokens"][0])
    );
    assert_eq!(
        keys(&body["oauth_tokens"][0]["links"]),
        keys(&reference["oauth_tokens"][0]["links"])
    );
    assert_eq!(body["total_results"], 90);
    assert_eq!(body["oauth_tokens"].as_array().unwrap().len(), 25);
    let host = app.rest.clone();
    assert_eq!(
        body["links"]["self"]["href"],
        format!("{host}/api/oauth-tokens/?max-results=25")
    );
    assert_eq!(
        body["links"]["next"]["href"],
        format!("{host}/api/oauth-tokens/?start=25&max-results=25")
    );
    let first = &body["oauth_tokens"][0];
    assert!(
        first["links"]["self"]["href"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{host}/api/oauth-tokens/"))
    );
    assert_eq!(
        (
            first["links"]["update"]["method"].as_str(),
            first["links"]["delete"]["method"].as_str()
        ),
        (Some("PUT"), Some("DELETE"))
    );
    assert!(
        first["token"].as_str().unwrap().starts_with("oat_"),
        "the non-secret prefix"
    );
    let expires = first["expires"].as_str().unwrap();
    assert!(
        expires.ends_with("+00:00") && expires.len() >= 25,
        "{expires}"
    );

    // Walk with start/max-results: every token once; prev and next exact.
    let mut seen = HashSet::new();
    let mut start = 0;
    loop {
        let (_, _, page) = call(
            &app,
            reqwest::Method::GET,
            Some(&superuser),
            &format!("/api/oauth-tokens/?start={start}&max-results=40"),
            None,
        )
        .await;
        for t in page["oauth_tokens"].as_array().unwrap() {
            assert!(
                seen.insert(t["links"]["self"]["href"].as_str().unwrap().to_owned()),
                "duplicate"
            );
        }
        assert_eq!(page["links"].get("prev").is_some(), start > 0);
        if start == 40 {
            let middle: Value = serde_json::from_str(REFERENCE_MIDDLE).expect("fixture is JSON");
            assert_eq!(keys(&page), keys(&middle));
            assert_eq!(keys(&page["links"]), keys(&middle["links"]));
        }
        if page["links"].get("next").is_none() {
            break;
        }
        start += 40;
    }
    assert_eq!(seen.len(), 90);
    let (_, _, capped) = call(
        &app,
        reqwest::Method::GET,
        Some(&superuser),
        "/api/oauth-tokens/?max-results=500",
        None,
    )
    .await;
    assert_eq!(capped["oauth_tokens"].as_array().unwrap().len(), 90);
    let (_, _, counts) = call(
        &app,
        reqwest::Method::GET,
        Some(&superuser),
        "/api/oauth-tokens/?counts-only=1",
        None,
    )
    .await;
    assert_eq!(counts, serde_json::json!({"count": 90, "stat": "ok"}));
    let reference: Value = serde_json::from_str(REFERENCE_COUNTS).expect("fixture is JSON");
    assert_eq!(keys(&counts), keys(&reference));
}

async fn max_results_is_silently_capped_at_200(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 230).await;
    let superuser = key(&app, None, vec![Permission::TokensRead], true).await;
    let (status, _, body) = call(
        &app,
        reqwest::Method::GET,
        Some(&superuser),
        "/api/oauth-tokens/?max-results=1000",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["oauth_tokens"].as_array().unwrap().len(), 200);
    assert!(
        body["links"]["next"]["href"]
            .as_str()
            .unwrap()
            .ends_with("?start=200&max-results=200")
    );
}

async fn owners_see_their_own_and_items_work(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = insert_tokens(&app, &app.org_a, 30).await;
    let mine: Vec<_> = tokens.iter().filter(|t| t.user_id == "user-1").collect();
    let theirs = tokens.iter().find(|t| t.user_id == "user-2").unwrap();
    let owner = key(
        &app,
        Some("user-1"),
        vec![Permission::TokensRead, Permission::TokensWrite],
        false,
    )
    .await;
    let (_, _, body) = call(
        &app,
        reqwest::Method::GET,
        Some(&owner),
        "/api/oauth-tokens/",
        None,
    )
    .await;
    assert_eq!(
        body["total_results"].as_u64(),
        Some(mine.len() as u64),
        "only the owner's tokens"
    );

    let id = &mine[0].id;
    let (status, headers, one) = call(
        &app,
        reqwest::Method::GET,
        Some(&owner),
        &format!("/api/oauth-tokens/{id}/"),
        None,
    )
    .await;
    assert_eq!(
        (status, headers["content-type"].to_str().unwrap()),
        (
            StatusCode::OK,
            "application/vnd.reviewboard.org.oauth-token+json"
        )
    );
    assert_eq!(
        keys(&one),
        HashSet::from(["oauth_token".to_string(), "stat".to_string()])
    );
    let (status, _, err) = call(
        &app,
        reqwest::Method::GET,
        Some(&owner),
        &format!("/api/oauth-tokens/{}/", theirs.id),
        None,
    )
    .await;
    assert_eq!((status, fail_code(&err)), (StatusCode::FORBIDDEN, 101));

    let (status, _, put) = call(
        &app,
        reqwest::Method::PUT,
        Some(&owner),
        &format!("/api/oauth-tokens/{id}/"),
        Some("scope=root%3Aread,review%3Aread"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(
        put["oauth_token"]["scope"],
        serde_json::json!(["root:read", "review:read"])
    );
    let (status, _, err) = call(
        &app,
        reqwest::Method::PUT,
        Some(&owner),
        &format!("/api/oauth-tokens/{id}/"),
        Some("scope=a%20b"),
    )
    .await;
    assert_eq!((status, fail_code(&err)), (StatusCode::BAD_REQUEST, 105));
    assert!(err["fields"]["scope"].is_array());
    let (status, _, _) = call(
        &app,
        reqwest::Method::PUT,
        Some(&owner),
        &format!("/api/oauth-tokens/{id}/"),
        Some("enabled=false"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _, body) = call(
        &app,
        reqwest::Method::DELETE,
        Some(&owner),
        &format!("/api/oauth-tokens/{id}/"),
        None,
    )
    .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, _, err) = call(
        &app,
        reqwest::Method::GET,
        Some(&owner),
        &format!("/api/oauth-tokens/{id}/"),
        None,
    )
    .await;
    assert_eq!((status, fail_code(&err)), (StatusCode::NOT_FOUND, 100));
    // Another organization's superuser cannot reach it either.
    let other = app
        .registry
        .create_api_key(&app.org_b, None, vec![Permission::Admin], true, None)
        .await
        .unwrap()
        .secret
        .expose_secret()
        .to_owned();
    let (status, _, err) = call(
        &app,
        reqwest::Method::GET,
        Some(&other),
        &format!("/api/oauth-tokens/{}/", theirs.id),
        None,
    )
    .await;
    assert_eq!((status, fail_code(&err)), (StatusCode::NOT_FOUND, 100));
    let (_, _, list) = call(
        &app,
        reqwest::Method::GET,
        Some(&other),
        "/api/oauth-tokens/",
        None,
    )
    .await;
    assert_eq!(list["total_results"], 0);
}

async fn every_documented_error_code(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 5).await;
    let su = key(&app, None, vec![Permission::Admin], true).await;
    let cases: Vec<(Option<String>, &str, StatusCode, i64)> = vec![
        (None, "/api/oauth-tokens/", StatusCode::UNAUTHORIZED, 103),
        (
            Some("oak_forged".into()),
            "/api/oauth-tokens/",
            StatusCode::UNAUTHORIZED,
            103,
        ),
        // Malformed paging is not an error in Review Board (djblets falls
        // back to the defaults: rest_reviewboard_djblets); 105 comes from
        // PUT bodies (above).
        (
            Some(su.clone()),
            "/api/oauth-tokens/no-such-id/",
            StatusCode::NOT_FOUND,
            100,
        ),
        (
            Some(key(&app, None, vec![Permission::ClientsRead], true).await),
            "/api/oauth-tokens/",
            StatusCode::FORBIDDEN,
            112,
        ),
        (
            Some(key(&app, None, vec![Permission::TokensRead], false).await),
            "/api/oauth-tokens/",
            StatusCode::FORBIDDEN,
            101,
        ),
        (
            Some(su.clone()),
            "/s/org-b/api/oauth-tokens/",
            StatusCode::FORBIDDEN,
            113,
        ),
        (
            Some(su.clone()),
            "/s/no-such-site/api/oauth-tokens/",
            StatusCode::FORBIDDEN,
            113,
        ),
    ];
    for (k, path, status, code) in cases {
        let (got, headers, body) = call(&app, reqwest::Method::GET, k.as_deref(), path, None).await;
        assert_eq!((got, fail_code(&body)), (status, code), "{path}: {body}");
        assert_eq!(headers["content-type"], "application/json");
        if code == 105 {
            assert!(
                body["fields"].as_object().is_some_and(|f| !f.is_empty()),
                "{body}"
            );
        }
    }
    // The organization's own local site works, with links under it.
    let (status, _, body) = call(
        &app,
        reqwest::Method::GET,
        Some(&su),
        "/s/org-a/api/oauth-tokens/",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["oauth_tokens"][0]["links"]["self"]["href"]
            .as_str()
            .unwrap()
            .contains("/s/org-a/api/oauth-tokens/")
    );
}

backend_tests!(
    list_matches_the_reference,
    max_results_is_silently_capped_at_200,
    owners_see_their_own_and_items_work,
    every_documented_error_code
);
