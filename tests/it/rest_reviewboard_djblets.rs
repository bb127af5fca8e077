//! Review Board's HTTP behaviour beyond its bodies, as djblets (its web API
//! framework) has it: malformed paging parameters fall back to defaults,
//! a `start` past any bound is an empty page, `counts-only` is on for any
//! non-empty value, links keep extra query parameters, and every answer
//! carries `Vary`, 103 carries `WWW-Authenticate`, and GETs carry an
//! `ETag` honoured by `If-None-Match`.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::common::{Backend, TestApp, insert_tokens, spawn_app};
use oauth_registry::domain::auth::Permission;
use oauth_registry::domain::secret::ExposeSecret;

const TOKENS: usize = 40;

async fn superuser(app: &TestApp) -> String {
    app.registry
        .create_api_key(
            &app.org_a,
            Some("admin".into()),
            vec![Permission::Admin],
            true,
            None,
        )
        .await
        .expect("key")
        .secret
        .expose_secret()
        .to_owned()
}

async fn get(
    app: &TestApp,
    key: Option<&str>,
    path: &str,
    etag: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let mut req = reqwest::Client::new().get(format!("{}{path}", app.rest));
    if let Some(k) = key {
        req = req.header("Authorization", format!("token {k}"));
    }
    if let Some(e) = etag {
        req = req.header("If-None-Match", e);
    }
    let r = req.send().await.expect("request");
    let (status, headers) = (r.status(), r.headers().clone());
    let text = r.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON body")
    };
    (status, headers, body)
}

fn items(body: &Value) -> usize {
    body["oauth_tokens"].as_array().map_or(0, Vec::len)
}

async fn paging_parameters_behave_as_djblets(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, TOKENS).await;
    let key = superuser(&app).await;
    let key = Some(key.as_str());

    let (_, _, first) = get(&app, key, "/api/oauth-tokens/", None).await;
    for malformed in [
        "?start=-5",
        "?start=abc",
        "?max-results=abc",
        "?start=&max-results=",
    ] {
        let (status, _, body) =
            get(&app, key, &format!("/api/oauth-tokens/{malformed}"), None).await;
        assert_eq!(status, StatusCode::OK, "{malformed}: {body}");
        assert_eq!(items(&body), 25, "{malformed}: the defaults");
        assert_eq!(body["oauth_tokens"], first["oauth_tokens"], "{malformed}");
    }

    for beyond in ["?start=1000", "?start=99999999999"] {
        let (status, _, body) = get(&app, key, &format!("/api/oauth-tokens/{beyond}"), None).await;
        assert_eq!(status, StatusCode::OK, "{beyond}: {body}");
        assert_eq!(items(&body), 0, "{beyond}");
        assert_eq!(body["total_results"], TOKENS, "{beyond}");
        assert!(body["links"].get("next").is_none() && body["links"].get("prev").is_some());
    }

    // counts-only: any non-empty value; an empty one is a listing.
    for on in ["1", "true", "0", "yes"] {
        let (_, _, body) = get(
            &app,
            key,
            &format!("/api/oauth-tokens/?counts-only={on}"),
            None,
        )
        .await;
        assert_eq!(
            body,
            serde_json::json!({"count": TOKENS, "stat": "ok"}),
            "{on}"
        );
    }
    let (_, _, body) = get(&app, key, "/api/oauth-tokens/?counts-only=", None).await;
    assert_eq!(items(&body), 25);

    // Links keep the request's other parameters.
    let (_, _, body) = get(
        &app,
        key,
        "/api/oauth-tokens/?max-results=10&start=10&expand=x",
        None,
    )
    .await;
    for rel in ["next", "prev"] {
        let href = body["links"][rel]["href"].as_str().expect("href");
        assert!(
            href.contains("max-results=10") && href.contains("expand=x"),
            "{rel}: {href}"
        );
    }
}

async fn http_headers_behave_as_djblets(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 5).await;
    let key = superuser(&app).await;
    let key = Some(key.as_str());

    let (status, headers, _) = get(&app, None, "/api/oauth-tokens/", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Basic realm=\"Web API\"");
    assert_eq!(headers["vary"], "Accept, Cookie");

    // Validators are made only at a settled version (PostgreSQL).
    crate::common::settled_version(app.registry.store(), &app.org_a).await;
    for path in ["/api/oauth-tokens/".to_owned(), {
        let (_, _, list) = get(&app, key, "/api/oauth-tokens/", None).await;
        let href = list["oauth_tokens"][0]["links"]["self"]["href"]
            .as_str()
            .expect("href");
        href.trim_start_matches(&app.rest).to_owned()
    }] {
        let (status, headers, body) = get(&app, key, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers["vary"], "Accept, Cookie");
        let etag = headers["etag"].to_str().expect("ascii").to_owned();
        // Weak (`rest::conditional` says why), where djblets' is strong.
        assert!(etag.starts_with("W/\"") && etag.ends_with('"'), "{etag}");
        let (again, headers, empty) = get(&app, key, &path, Some(&etag)).await;
        assert_eq!(again, StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(headers["etag"], etag.as_str());
        assert!(empty.is_null(), "no body with 304");
        let (changed, _, same) = get(&app, key, &path, Some("\"other\"")).await;
        assert_eq!(changed, StatusCode::OK);
        assert_eq!(same, body);
    }
}

backend_tests!(
    paging_parameters_behave_as_djblets,
    http_headers_behave_as_djblets,
);
