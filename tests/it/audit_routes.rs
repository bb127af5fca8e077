//! Every REST route that reads or changes tokens or clients leaves an
//! audit event, whatever its outcome: the routes come from the served
//! OpenAPI document (so a new route is walked without editing this test),
//! each is called once with the path's parameters filled in, and each
//! route template must then have an event `"<METHOD> <template>"`.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::{Backend, TestApp, spawn_with, token_for};
use oauth_registry::domain::audit::{AuditEvent, AuditQuery};

/// Routes that serve no token or client data, so record nothing.
const NOT_DATA: [&str; 4] = ["/livez", "/readyz", "/metrics", "/openapi.json"];

async fn events(app: &TestApp) -> Vec<AuditEvent> {
    let q = AuditQuery {
        limit: 10_000,
        ..Default::default()
    };
    app.registry
        .store()
        .list_audit_events(&app.org_a, &q)
        .await
        .expect("audit events")
}

/// `template` with its parameters replaced by ids that exist.
fn fill(template: &str, token: &str, client: &str, org: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e);
        let name = &rest[start + 1..end];
        let value = match name {
            "local_site" => org,
            "clientId" | "client_id" => client,
            "id" if template.starts_with("/v1/clients") => client,
            _ => token,
        };
        out.push_str(value);
        rest = &rest[(end + 1).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

async fn every_rest_route_is_audited(backend: Backend) {
    // Short bookmarks: a dropped watch's producer notices at the next one
    // and records the watch's event then.
    let app = spawn_with(backend, |c| {
        c.watch_bookmark_every = Duration::from_millis(100)
    })
    .await;
    let key = &app.key_a;
    let client = app.create_client(key, "walked").await;
    let (token, _) = app.create_token(key, token_for("alice", "walked")).await;
    let doc = oauth_registry::rest::openapi();
    let paths = doc["paths"].as_object().expect("paths");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let mut expected = BTreeSet::new();
    // Reads first, deletes last, so every route finds its rows.
    for wanted in ["get", "post", "put", "patch", "delete"] {
        for (template, ops) in paths {
            if NOT_DATA.contains(&template.as_str()) || ops.get(wanted).is_none() {
                continue;
            }
            let method = wanted.to_uppercase();
            expected.insert(format!("{method} {template}"));
            let url = format!(
                "{}{}",
                app.rest,
                fill(template, &token.id, &client, app.org_a.as_str())
            );
            let mut req = http
                .request(method.parse().expect("method"), &url)
                .bearer_auth(key)
                .header("SlashID-OrgID", app.org_a.to_string());
            req = if template == "/v1/oauth/revoke" {
                req.form(&[("token", "not-a-token")])
            } else if wanted != "get" && wanted != "delete" {
                req.json(&serde_json::json!({}))
            } else {
                req
            };
            // The outcome does not matter (a refused call is audited
            // too); a watch is dropped once its headers arrive.
            let response = req.send().await.expect(&url);
            drop(response);
        }
    }
    let mut missing = expected.clone();
    for _ in 0..100 {
        let seen: BTreeSet<String> = events(&app)
            .await
            .into_iter()
            .filter(|e| e.dialect != "grpc")
            .map(|e| e.method)
            .collect();
        missing = expected.difference(&seen).cloned().collect();
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        missing.is_empty(),
        "REST routes without an audit event: {missing:?}"
    );
    assert!(expected.len() >= 25, "walked {} routes", expected.len());
}

crate::backend_tests!(every_rest_route_is_audited);
