//! The vendor dialects' bodies, byte for byte, on both backends: Review
//! Board's list, page links, count and item; Losant's list and create;
//! SlashID's list (a client never used, and used); from the rows `rest_canonical_bytes` fixes. Pins the exact
//! output (key order included) so the way bodies are encoded can change
//! without a client noticing. The server's address, and values random by
//! design (ids, secrets and times of created tokens), are replaced first.

use crate::common::{Backend, TestApp, spawn_app};
use crate::rest_canonical_bytes::{FULL, fixed_rows};
use oauth_registry::domain::auth::Permission;
use oauth_registry::domain::secret::ExposeSecret;
use reqwest::{Method, StatusCode};

/// The body of `method path` as text: the server's origin written
/// `<origin>`, and the values at the JSON pointers `random` as `<name>`.
async fn body(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    json: Option<&str>,
    random: &[&str],
) -> (StatusCode, String, String) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", app.rest));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(j) = json {
        req = req
            .header("Content-Type", "application/json")
            .body(j.to_owned());
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let content_type = r.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let mut text = r.text().await.expect("body");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    for field in random {
        if let Some(s) = v.pointer(field).and_then(|s| s.as_str()) {
            text = text.replace(s, &format!("<{}>", &field[1..]));
        }
    }
    (status, content_type, text.replace(&app.rest, "<origin>"))
}

async fn dialect_bodies_are_byte_for_byte_stable(backend: Backend) {
    let app = spawn_app(backend).await;
    fixed_rows(&app).await;
    let root = app
        .registry
        .create_api_key(
            &app.org_a,
            Some("root".into()),
            vec![Permission::Admin],
            true,
            None,
        )
        .await
        .expect("superuser key");
    let rb = format!("token {}", root.secret.expose_secret());
    let rb = [("Authorization", rb.as_str())];
    let get = Method::GET;
    let list_type = "application/vnd.reviewboard.org.oauth-tokens+json";
    let item_type = "application/vnd.reviewboard.org.oauth-token+json";

    let got = body(&app, get.clone(), "/api/oauth-tokens/", &rb, None, &[]).await;
    assert_eq!(got, (StatusCode::OK, list_type.into(), RB_LIST.into()));
    let path = "/api/oauth-tokens/?max-results=1&x=%C3%A9";
    let got = body(&app, get.clone(), path, &rb, None, &[]).await;
    assert_eq!(got, (StatusCode::OK, list_type.into(), RB_FIRST.into()));
    let path = "/s/org-a/api/oauth-tokens/?start=1&max-results=1";
    let got = body(&app, get.clone(), path, &rb, None, &[]).await;
    assert_eq!(got, (StatusCode::OK, list_type.into(), RB_LAST.into()));
    let path = "/api/oauth-tokens/?counts-only=1";
    let got = body(&app, get.clone(), path, &rb, None, &[]).await;
    let count = r#"{"count":2,"stat":"ok"}"#;
    assert_eq!(got, (StatusCode::OK, list_type.into(), count.into()));
    let path = format!("/api/oauth-tokens/{FULL}/");
    let got = body(&app, get.clone(), &path, &rb, None, &[]).await;
    assert_eq!(got, (StatusCode::OK, item_type.into(), RB_ITEM.into()));

    let json = "application/json".to_owned();
    let org = app.org_a.to_string();
    let slash = [
        ("SlashID-API-Key", app.key_a.as_str()),
        ("SlashID-OrgID", org.as_str()),
    ];
    let clients = "/oauth2/clients?limit=5";
    let got = body(&app, get.clone(), clients, &slash, None, &[]).await;
    assert_eq!(got, (StatusCode::OK, json.clone(), SLASHID_LIST.into()));

    let bearer = format!("Bearer {}", app.key_a);
    let losant = [("Authorization", bearer.as_str())];
    let got = body(&app, get.clone(), "/me/oauth-tokens", &losant, None, &[]).await;
    assert_eq!(got, (StatusCode::OK, json.clone(), LOSANT_LIST.into()));
    let path = "/me/oauth-tokens?filterField=name&filter=pin*&sortField=lastUpdated&sortDirection=desc&perPage=5";
    let got = body(&app, get.clone(), path, &losant, None, &[]).await;
    assert_eq!(got, (StatusCode::OK, json.clone(), LOSANT_FILTERED.into()));
    let post = format!(
        r#"{{"name":"new","scope":["read"],"oauth":{{"client_id":"{}","redirect_uri":"https://app.example.com/cb","code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","code_challenge_method":"S256","resource":["https://api.example.com"]}}}}"#,
        crate::rest_canonical_bytes::CLIENT
    );
    let random = ["/id", "/token", "/creationDate", "/lastUpdated"];
    let got = body(
        &app,
        Method::POST,
        "/me/oauth-tokens",
        &losant,
        Some(&post),
        &random,
    )
    .await;
    assert_eq!(
        got,
        (StatusCode::CREATED, json.clone(), LOSANT_CREATED.into())
    );

    // The client was used by the token just created: `last_used` appears.
    let used = ["/result/0/last_used"];
    let got = body(&app, get.clone(), clients, &slash, None, &used).await;
    assert_eq!(got, (StatusCode::OK, json.clone(), SLASHID_USED.into()));
}

const RB_LIST: &str = r#"{"links":{"self":{"href":"<origin>/api/oauth-tokens/","method":"GET"}},"oauth_tokens":[{"application":"pinned app","expires":"2099-01-01T00:00:00+00:00","links":{"delete":{"href":"<origin>/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a001/","method":"DELETE"},"self":{"href":"<origin>/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a001/","method":"GET"},"update":{"href":"<origin>/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a001/","method":"PUT"}},"scope":["read","write"],"token":"oat_pinned01"},{"application":"","expires":"2020-01-01T00:00:00+00:00","links":{"delete":{"href":"<origin>/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a002/","method":"DELETE"},"self":{"href":"<origin>/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a002/","method":"GET"},"update":{"href":"<origin>/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a002/","method":"PUT"}},"scope":[],"token":"oat_pinned02"}],"stat":"ok","total_results":2}"#;
const RB_FIRST: &str = r#"{"links":{"next":{"href":"<origin>/api/oauth-tokens/?start=1&max-results=1&x=%C3%A9","method":"GET"},"self":{"href":"<origin>/api/oauth-tokens/?max-results=1&x=%C3%A9","method":"GET"}},"oauth_tokens":[{"application":"pinned app","expires":"2099-01-01T00:00:00+00:00","links":{"delete":{"href":"<origin>/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a001/","method":"DELETE"},"self":{"href":"<origin>/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a001/","method":"GET"},"update":{"href":"<origin>/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a001/","method":"PUT"}},"scope":["read","write"],"token":"oat_pinned01"}],"stat":"ok","total_results":2}"#;
const RB_LAST: &str = r#"{"links":{"prev":{"href":"<origin>/s/org-a/api/oauth-tokens/?start=0&max-results=1","method":"GET"},"self":{"href":"<origin>/s/org-a/api/oauth-tokens/?start=1&max-results=1","method":"GET"}},"oauth_tokens":[{"application":"","expires":"2020-01-01T00:00:00+00:00","links":{"delete":{"href":"<origin>/s/org-a/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a002/","method":"DELETE"},"self":{"href":"<origin>/s/org-a/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a002/","method":"GET"},"update":{"href":"<origin>/s/org-a/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a002/","method":"PUT"}},"scope":[],"token":"oat_pinned02"}],"stat":"ok","total_results":2}"#;
const RB_ITEM: &str = r#"{"oauth_token":{"application":"pinned app","expires":"2099-01-01T00:00:00+00:00","links":{"delete":{"href":"<origin>/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a001/","method":"DELETE"},"self":{"href":"<origin>/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a001/","method":"GET"},"update":{"href":"<origin>/api/oauth-tokens/0190f1d2-0000-7000-8000-00000000a001/","method":"PUT"}},"scope":["read","write"],"token":"oat_pinned01"},"stat":"ok"}"#;
const LOSANT_LIST: &str = r#"{"count":1,"items":[{"creationDate":"2024-02-03T04:05:06.100Z","defaultRole":"view","description":"with \"quotes\" and ünïcode","id":"0190f1d2-0000-7000-8000-00000000a001","lastUpdated":"2024-02-03T04:05:06.100Z","name":"pinned","oauth":{"authorizationStatus":"authorized","client_id":"0190f1d2-0000-7000-8000-00000000c001","code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","code_challenge_method":"S256","redirect_uri":"https://app.example.com/cb","resource":["https://api.example.com"]},"oauthTokenId":"0190f1d2-0000-7000-8000-00000000a001","orgRoles":[],"scope":["read","write"],"status":"active"}],"page":0,"perPage":100,"sortDirection":"asc","sortField":"name","totalCount":1}"#;
const LOSANT_FILTERED: &str = r#"{"count":1,"filter":"pin*","filterField":"name","items":[{"creationDate":"2024-02-03T04:05:06.100Z","defaultRole":"view","description":"with \"quotes\" and ünïcode","id":"0190f1d2-0000-7000-8000-00000000a001","lastUpdated":"2024-02-03T04:05:06.100Z","name":"pinned","oauth":{"authorizationStatus":"authorized","client_id":"0190f1d2-0000-7000-8000-00000000c001","code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","code_challenge_method":"S256","redirect_uri":"https://app.example.com/cb","resource":["https://api.example.com"]},"oauthTokenId":"0190f1d2-0000-7000-8000-00000000a001","orgRoles":[],"scope":["read","write"],"status":"active"}],"page":0,"perPage":5,"sortDirection":"desc","sortField":"lastUpdated","totalCount":1}"#;
const LOSANT_CREATED: &str = r#"{"creationDate":"<creationDate>","defaultRole":"","description":"","id":"<id>","lastUpdated":"<creationDate>","name":"new","oauth":{"authorizationStatus":"authorized","client_id":"0190f1d2-0000-7000-8000-00000000c001","code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","code_challenge_method":"S256","redirect_uri":"https://app.example.com/cb","resource":["https://api.example.com"]},"oauthTokenId":"<id>","orgRoles":[],"scope":["read"],"status":"active","token":"<token>"}"#;
const SLASHID_LIST: &str = r#"{"meta":{"pagination":{"limit":5,"offset":0,"total_count":1}},"result":[{"access_token_duration":86400,"client_id":"0190f1d2-0000-7000-8000-00000000c001","client_name":"pinned app","created_at":"2024-01-02T03:04:05.120Z","grant_types":["authorization_code","refresh_token"],"public":false,"redirect_uris":["https://app.example.com/cb"],"refresh_token_duration":864000,"response_types":[["code"]],"scopes":["read","write"]}]}"#;
const SLASHID_USED: &str = r#"{"meta":{"pagination":{"limit":5,"offset":0,"total_count":1}},"result":[{"access_token_duration":86400,"client_id":"0190f1d2-0000-7000-8000-00000000c001","client_name":"pinned app","created_at":"2024-01-02T03:04:05.120Z","grant_types":["authorization_code","refresh_token"],"last_used":"<result/0/last_used>","public":false,"redirect_uris":["https://app.example.com/cb"],"refresh_token_duration":864000,"response_types":[["code"]],"scopes":["read","write"]}]}"#;

backend_tests!(dialect_bodies_are_byte_for_byte_stable);
