//! `/openapi.json` states the rules the handlers enforce (so generated
//! clients and fuzzers send what is accepted), and `Allow` tells the truth
//! about a canonical path's methods, including the custom `:revoke` one.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, spawn_app, token_for};

async fn document(app: &TestApp) -> Value {
    reqwest::get(format!("{}/openapi.json", app.rest))
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

fn param<'a>(op: &'a Value, name: &str) -> &'a Value {
    op["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("parameter {name}"))
}

async fn the_document_states_the_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = document(&app).await;
    let list = &doc["paths"]["/v1/tokens"]["get"];
    assert_eq!(param(list, "pageSize")["schema"]["minimum"], 0);
    assert_eq!(param(list, "skip")["schema"]["maximum"], 10_000_000);
    assert_eq!(param(list, "filter")["schema"]["maxLength"], 4096);
    let get = &doc["paths"]["/v1/tokens/{id}"]["get"];
    assert_eq!(param(get, "id")["schema"]["format"], "uuid");
    let rb = &doc["paths"]["/api/oauth-tokens/{token_id}/"];
    assert_eq!(param(&rb["get"], "token_id")["schema"]["format"], "uuid");
    assert_eq!(rb["put"]["requestBody"]["required"], false);
    let slashid = &doc["paths"]["/oauth2/clients"]["get"];
    assert_eq!(param(slashid, "offset")["schema"]["maximum"], 10_000_000);

    let token = &doc["components"]["schemas"]["Token"]["properties"];
    assert_eq!(token["userId"]["minLength"], 1);
    assert_eq!(token["name"]["maxLength"], 256);
    assert_eq!(token["scopes"]["items"]["maxLength"], 128);
    assert_eq!(token["expireTime"]["type"], json!(["string", "null"]));
    let client = &doc["components"]["schemas"]["Client"]["properties"];
    assert_eq!(client["clientName"]["minLength"], 1);
    assert_eq!(client["redirectUris"]["items"]["maxLength"], 2048);
    assert!(
        token["name"]["pattern"].is_string(),
        "no control characters"
    );
    assert_eq!(client["grantTypes"]["minItems"], 1);
    assert!(client["redirectUris"]["items"]["pattern"].is_string());
    let siro = &doc["paths"]["/v1/core/oauth/apps/{clientId}/access-token"]["get"];
    assert_eq!(param(siro, "owner")["schema"]["minLength"], 1);
    assert_eq!(param(siro, "fromDate")["schema"]["format"], "date-time");
    let create = &doc["paths"]["/v1/clients"]["post"]["requestBody"]["content"]["application/json"];
    assert_eq!(
        create["schema"]["allOf"][1]["required"],
        json!(["clientName", "grantTypes"])
    );
    let status = &doc["components"]["schemas"]["TokenStatus"]["anyOf"];
    assert_eq!(status[1]["type"], "integer", "{status}");

    let links = &doc["paths"]["/v1/tokens"]["post"]["responses"]["200"]["links"];
    for op in ["GetToken", "UpdateToken", "RevokeToken", "DeleteToken"] {
        assert_eq!(links[op]["operationId"], op);
        assert_eq!(links[op]["parameters"]["id"], "$response.body#/token/id");
    }
    let links = &doc["paths"]["/v1/clients"]["post"]["responses"]["200"]["links"];
    assert_eq!(
        links["GetClient"]["parameters"]["id"],
        "$response.body#/client/clientId"
    );

    // What the document now admits is accepted: an enum by number, null
    // for a time.
    let created = reqwest::Client::new()
        .post(format!("{}/v1/tokens", app.rest))
        .bearer_auth(&app.key_a)
        .json(&json!({"userId": "u", "kind": 2, "expireTime": null}))
        .send()
        .await
        .expect("create");
    assert_eq!(
        created.status(),
        StatusCode::OK,
        "{}",
        created.text().await.unwrap_or_default()
    );

    // A Siro page past any offset bound is an empty page, not an error
    // (the document has no way to state a bound on page × limit).
    let client = app.create_client(&app.key_a, "siro").await;
    let far: Value = reqwest::Client::new()
        .get(format!(
            "{}/v1/core/oauth/apps/{client}/access-token?owner=u&page=9999999&limit=100",
            app.rest
        ))
        .bearer_auth(&app.key_a)
        .send()
        .await
        .expect("siro")
        .json()
        .await
        .expect("json");
    assert_eq!(far["data"], json!([]), "{far}");
    assert_eq!(far["hasNextPage"], false);
    // So is Losant's.
    let far: Value = reqwest::Client::new()
        .get(format!(
            "{}/me/oauth-tokens?page=99999999&perPage=1000",
            app.rest
        ))
        .bearer_auth(&app.key_a)
        .send()
        .await
        .expect("losant")
        .json()
        .await
        .expect("json");
    assert_eq!(far["items"], json!([]), "{far}");
    // Review Board's PUT: JSON null means "not sent".
    let (token, _) = app.create_token(&app.key_a, token_for("alice", "rb")).await;
    let put = reqwest::Client::new()
        .put(format!("{}/api/oauth-tokens/{}/", app.rest, token.id))
        .header("Authorization", format!("token {}", app.key_a))
        .json(&json!({"enabled": null, "scope": null}))
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(
        doc["components"]["schemas"]["Token"]["additionalProperties"],
        false
    );

    // A missing credential is reported as such, before a broken body.
    let anonymous = reqwest::Client::new()
        .post(format!("{}/v1/tokens", app.rest))
        .header("Content-Type", "application/json")
        .body("{\"userId\": ")
        .send()
        .await
        .expect("create");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

async fn allow_tells_the_methods(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, _) = app.create_token(&app.key_a, token_for("u", "t")).await;
    let http = reqwest::Client::new();
    let call = |method: Method, path: String| {
        http.request(method, format!("{}{path}", app.rest))
            .bearer_auth(&app.key_a)
            .send()
    };
    let item = format!("/v1/tokens/{}", token.id);
    let action = format!("/v1/tokens/{}:revoke", token.id);
    let r = call(Method::OPTIONS, item.clone()).await.expect("options");
    assert_eq!(r.headers()["allow"], "GET, PATCH, DELETE");
    let r = call(Method::OPTIONS, action.clone())
        .await
        .expect("options");
    assert_eq!(r.headers()["allow"], "POST");
    let r = call(Method::GET, action.clone()).await.expect("get action");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["allow"], "POST");
    let r = call(Method::POST, item.clone()).await.expect("post item");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["allow"], "GET, PATCH, DELETE");
    let body: Value = r.json().await.expect("google.rpc.Status");
    assert_eq!(body["code"], 12);
    // The allowed methods still work.
    assert_eq!(
        call(Method::POST, action).await.expect("revoke").status(),
        StatusCode::OK
    );
    assert_eq!(
        call(Method::GET, item).await.expect("get").status(),
        StatusCode::OK
    );
}

backend_tests!(the_document_states_the_rules, allow_tells_the_methods);
