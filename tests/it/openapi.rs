//! `/openapi.json`: a valid OpenAPI 3.1 document (checked against the
//! OpenAPI Initiative's own JSON Schema, vendored in `tests/fixtures`), that
//! lists every route the router serves, and whose response schemas match
//! what the routes really answer, success and error alike.

use std::collections::BTreeSet;

use crate::common::{Backend, TestApp, spawn_app, token_for};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OAS_31_SCHEMA: &str = include_str!("../fixtures/openapi-3.1.schema.json");

/// Every route the REST issue asks for, as `METHOD path`.
const REQUIRED: [&str; 33] = [
    "GET /v1/tokens",
    "POST /v1/tokens",
    "GET /v1/tokens:count",
    "GET /v1/tokens/{id}",
    "PATCH /v1/tokens/{id}",
    "DELETE /v1/tokens/{id}",
    "POST /v1/tokens/{id}:revoke",
    "GET /v1/clients",
    "POST /v1/clients",
    "GET /v1/clients/{id}",
    "PATCH /v1/clients/{id}",
    "DELETE /v1/clients/{id}",
    "GET /v1/tokens:watch",
    "GET /v1/clients:watch",
    "POST /v1/tokens:lookup",
    "POST /v1/oauth/revoke",
    "POST /v1/tokens:revoke",
    "POST /v1/tokens:delete",
    "POST /v1/clients/{id}/tokens:revoke",
    "GET /openapi.json",
    "GET /metrics",
    "GET /livez",
    "GET /readyz",
    "GET /v1/core/oauth/apps/{clientId}/access-token",
    "GET /oauth2/clients",
    "GET /api/oauth-tokens/",
    "GET /s/{local_site}/api/oauth-tokens/",
    "GET /api/oauth-tokens/{token_id}/",
    "PUT /api/oauth-tokens/{token_id}/",
    "DELETE /api/oauth-tokens/{token_id}/",
    "PUT /s/{local_site}/api/oauth-tokens/{token_id}/",
    "GET /me/oauth-tokens",
    "POST /me/oauth-tokens",
];

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn document(app: &TestApp) -> Value {
    let resp = reqwest::get(format!("{}/openapi.json", app.rest))
        .await
        .expect("GET /openapi.json");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    resp.json().await.expect("JSON document")
}

/// Ids the requests use; each delete gets a token of its own.
struct Fixture {
    client: String,
    spare_client: String,
    token: String,
    /// The secret of `token`.
    secret: String,
    delete: [String; 3],
}

impl Fixture {
    async fn new(app: &TestApp) -> Fixture {
        let client = app.create_client(&app.key_a, "docs").await;
        let spare_client = app.create_client(&app.key_a, "spare").await;
        let mut ids = Vec::new();
        let mut secrets = Vec::new();
        for i in 0..4 {
            let mut t = token_for("alice", &format!("t{i}"));
            t.client_id = client.clone();
            t.redirect_uri = "https://app.example.com/cb".into();
            let (t, secret) = app.create_token(&app.key_a, t).await;
            ids.push(t.id);
            secrets.push(secret);
        }
        Fixture {
            client,
            spare_client,
            token: ids[0].clone(),
            secret: secrets[0].clone(),
            delete: [ids[1].clone(), ids[2].clone(), ids[3].clone()],
        }
    }

    /// The concrete path and body for one documented operation: JSON, or
    /// a form (`Value::String`) for the form-encoded RFC 7009 route.
    fn request(&self, app: &TestApp, op: &str, template: &str) -> (String, Option<Value>) {
        let token = match op {
            "DeleteToken" => &self.delete[0],
            "ReviewBoardDeleteToken" => &self.delete[1],
            "ReviewBoardDeleteSiteToken" => &self.delete[2],
            _ => &self.token,
        };
        let id = if template.starts_with("/v1/clients/") {
            if op == "DeleteClient" {
                &self.spare_client
            } else {
                &self.client
            }
        } else {
            token
        };
        let path = template
            .replace("{id}", id)
            .replace("{token_id}", token)
            .replace("{clientId}", &self.client)
            .replace("{local_site}", &app.org_a);
        let path = match op {
            "SiroListAccessTokens" => format!("{path}?owner=alice&limit=2"),
            "UpdateToken" => format!("{path}?updateMask=description"),
            "UpdateClient" => format!("{path}?updateMask=clientName"),
            _ => path,
        };
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let body = match op {
            "CreateToken" => Some(json!({"userId": "alice", "name": "new", "scopes": ["read"]})),
            "CreateClient" => {
                Some(json!({"clientName": "new", "grantTypes": ["client_credentials"]}))
            }
            "UpdateToken" => Some(json!({"description": "changed"})),
            "UpdateClient" => Some(json!({"clientName": "changed"})),
            "ReviewBoardUpdateToken" | "ReviewBoardUpdateSiteToken" => {
                Some(json!({"scope": "read"}))
            }
            "LookupToken" => Some(json!({"secret": self.secret})),
            "RevokeTokens" | "DeleteTokens" => {
                Some(json!({"filter": "user_id = \"nobody\"", "dryRun": true}))
            }
            "RevokeClientTokens" => Some(json!({"dryRun": true})),
            // RFC 7009: an unknown token is a success too.
            "RevokeTokenRfc7009" => Some(Value::String("token=oat_unknown".into())),
            "LosantCreateOAuthToken" => Some(json!({
                "name": "from docs", "scope": ["read"],
                "oauth": {"client_id": self.client, "redirect_uri": "https://app.example.com/cb",
                          "code_challenge": challenge, "code_challenge_method": "S256"}})),
            _ => None,
        };
        (path, body)
    }
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> (StatusCode, String, Value) {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", app.rest))
        .header("SlashID-OrgID", app.org_a.to_string());
    if let Some(k) = key {
        req = req.header("Authorization", format!("Bearer {k}"));
    }
    match body {
        Some(Value::String(form)) => {
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.clone());
        }
        Some(b) => req = req.json(b),
        None => {}
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type == "text/event-stream" {
        return (status, content_type, Value::String(first_event(resp).await));
    }
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, content_type, body)
}

/// An event stream does not end: its text up to the first event.
async fn first_event(mut resp: reqwest::Response) -> String {
    let mut text = Vec::new();
    while !text.windows(2).any(|w| w == b"\n\n") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), resp.chunk())
            .await
            .expect("an event within 10 s")
            .expect("read");
        match chunk {
            Some(bytes) => text.extend_from_slice(&bytes),
            None => break,
        }
    }
    String::from_utf8(text).expect("UTF-8")
}

/// Checks `body` against the operation's documented response for `status`.
fn check_response(
    doc: &Value,
    operation: &Value,
    what: &str,
    status: StatusCode,
    ct: &str,
    body: &Value,
) {
    let responses = &operation["responses"];
    let response = responses
        .get(status.as_str())
        .or_else(|| responses.get("default"))
        .unwrap_or_else(|| panic!("{what}: status {status} is not documented"));
    let Some(content) = response["content"].as_object() else {
        return;
    };
    let (media, spec) = content
        .iter()
        .find(|(m, _)| ct.starts_with(m.as_str()))
        .unwrap_or_else(|| panic!("{what}: content type {ct} not documented for {status}"));
    let Some(schema) = spec.get("schema") else {
        return;
    };
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&root)
        .unwrap_or_else(|e| panic!("{what}: schema does not compile: {e}"));
    let errors: Vec<String> = validator.iter_errors(body).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{what} {status} ({media}) does not match its schema: {errors:?}\n{body}"
    );
}

async fn the_document_is_valid_and_complete(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");

    let meta: Value = serde_json::from_str(OAS_31_SCHEMA).expect("vendored schema");
    let validator = jsonschema::validator_for(&meta).expect("OAS 3.1 schema compiles");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "not valid OpenAPI 3.1: {errors:?}");
    // The check has teeth: a response without its required description fails.
    let mut broken = doc.clone();
    if let Some(r) = broken["paths"]["/v1/tokens"]["get"]["responses"]["200"].as_object_mut() {
        r.remove("description");
    }
    assert!(!validator.is_valid(&broken), "a broken document passed");

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                documented.insert(format!("{} {path}", m.to_uppercase()));
            }
        }
    }
    for r in REQUIRED {
        assert!(documented.contains(r), "{r} is not in /openapi.json");
    }
    let mut op_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS.into_iter().filter(|m| item.get(*m).is_some()) {
            let id = item[m]["operationId"].as_str().expect("operationId");
            assert!(op_ids.insert(id.to_owned()), "duplicate operationId {id}");
            assert!(
                item[m]["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{m} {path} documents no responses"
            );
        }
    }
}

async fn every_documented_route_answers_as_documented(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = document(&app).await;
    let fixture = Fixture::new(&app).await;
    let mut ops: Vec<(String, String, Value)> = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS.into_iter().filter(|m| item.get(*m).is_some()) {
            ops.push((m.to_owned(), path.clone(), item[m].clone()));
        }
    }
    // Deletes last, so every other call finds its rows.
    ops.sort_by_key(|(m, _, _)| *m == "delete");
    let mut checked = 0;
    for (method, template, operation) in &ops {
        let op = operation["operationId"].as_str().unwrap_or_default();
        let (path, body) = fixture.request(&app, op, template);
        let what = format!("{} {path}", method.to_uppercase());

        // Only the document, the metrics and the probes need no key.
        if !["OpenApi", "Metrics", "Livez", "Readyz"].contains(&op) {
            // Without credentials: the documented 401 (or default) body.
            let (status, ct, b) = send(&app, method, &path, body.as_ref(), None).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{what} without a key: {b}"
            );
            check_response(&doc, operation, &what, status, &ct, &b);
        }
        let (status, ct, b) = send(&app, method, &path, body.as_ref(), Some(&app.key_a)).await;
        assert!(status.is_success(), "{what}: {status} {b}");
        check_response(&doc, operation, &what, status, &ct, &b);
        checked += 1;

        // The router serves no method the document does not list.
        let item = &doc["paths"][template.as_str()];
        for other in METHODS.into_iter().filter(|m| item.get(*m).is_none()) {
            if template == "/v1/tokens/{id}:revoke" {
                continue; // shares its route with /v1/tokens/{id}
            }
            let (status, _, _) = send(&app, other, &path, None, Some(&app.key_a)).await;
            // 404 for POST /v1/tokens/{id} without a custom method.
            assert!(
                status == StatusCode::METHOD_NOT_ALLOWED || status == StatusCode::NOT_FOUND,
                "{other} {path} is served but not documented: {status}"
            );
        }
    }
    // A few documented errors, in their documented shapes.
    let errors = [
        ("get", "/v1/tokens?pageSize=x".to_owned(), "/v1/tokens", 400),
        (
            "get",
            format!("/v1/core/oauth/apps/{}/access-token", fixture.client),
            "/v1/core/oauth/apps/{clientId}/access-token",
            422,
        ),
        (
            "get",
            "/oauth2/clients?limit=0".to_owned(),
            "/oauth2/clients",
            400,
        ),
        (
            "get",
            "/api/oauth-tokens/00000000-0000-7000-8000-000000000000/".to_owned(),
            "/api/oauth-tokens/{token_id}/",
            404,
        ),
        (
            "get",
            "/me/oauth-tokens?perPage=0".to_owned(),
            "/me/oauth-tokens",
            400,
        ),
    ];
    for (method, path, template, want) in errors {
        let operation = &doc["paths"][template][method];
        let (status, ct, b) = send(&app, method, &path, None, Some(&app.key_a)).await;
        assert_eq!(status.as_u16(), want, "{path}: {b}");
        check_response(&doc, operation, &path, status, &ct, &b);
    }
    assert_eq!(checked, ops.len());
    eprintln!("operations checked against /openapi.json: {checked}");
}

backend_tests!(
    the_document_is_valid_and_complete,
    every_documented_route_answers_as_documented
);
