//! Updating a token applies the rules creating one does: a token issued
//! through a client cannot be widened past the client's scopes, and an
//! expiry must be in the future, over gRPC (UpdateToken), canonical REST
//! (PATCH) and Review Board (PUT). Clients accept RFC 8252 redirect URIs
//! (loopback and private-use reverse-domain schemes).

use crate::common::{Backend, TestApp, authed, spawn_app, violated_fields};
use oauth_registry::grpc::pb;
use pbjson_types::{FieldMask, Timestamp as PbTimestamp};
use reqwest::StatusCode;
use tonic::Code;

/// A client with only the `read` scope and one token issued through it.
async fn client_token(app: &TestApp) -> (String, String) {
    let client = app
        .clients()
        .create_client(authed(
            &app.key_a,
            pb::CreateClientRequest {
                client: Some(pb::Client {
                    client_name: "narrow".into(),
                    grant_types: vec!["client_credentials".into()],
                    scopes: vec!["read".into()],
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("client")
        .into_inner()
        .client
        .expect("client")
        .client_id;
    let (token, _) = app
        .create_token(
            &app.key_a,
            pb::Token {
                client_id: client.clone(),
                user_id: "alice".into(),
                scopes: vec!["read".into()],
                ..Default::default()
            },
        )
        .await;
    (client, token.id)
}

async fn update(app: &TestApp, token: pb::Token, mask: &str) -> Result<pb::Token, tonic::Status> {
    app.tokens()
        .update_token(authed(
            &app.key_a,
            pb::UpdateTokenRequest {
                token: Some(token),
                update_mask: Some(FieldMask {
                    paths: vec![mask.into()],
                }),
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn updates_follow_the_create_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, id) = client_token(&app).await;

    let widened = update(
        &app,
        pb::Token {
            id: id.clone(),
            scopes: vec!["admin".into(), "write".into()],
            ..Default::default()
        },
        "scopes",
    )
    .await
    .expect_err("scopes beyond the client's");
    assert_eq!(widened.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&widened),
        ["token.scopes[0]", "token.scopes[1]"]
    );

    let past = update(
        &app,
        pb::Token {
            id: id.clone(),
            expire_time: Some(PbTimestamp {
                seconds: 1_000_000_000,
                nanos: 0,
            }),
            ..Default::default()
        },
        "expire_time",
    )
    .await
    .expect_err("expiry in the past");
    assert_eq!(violated_fields(&past), ["token.expire_time"]);

    // Within the client's scopes it works; nothing above changed the token.
    let ok = update(
        &app,
        pb::Token {
            id: id.clone(),
            scopes: vec!["read".into()],
            ..Default::default()
        },
        "scopes",
    )
    .await
    .expect("scopes within the client's");
    assert_eq!(ok.scopes, ["read"]);

    // A token without a client is bounded by nothing.
    let (free, _) = app
        .create_token(&app.key_a, crate::common::token_for("bob", "free"))
        .await;
    update(
        &app,
        pb::Token {
            id: free.id,
            scopes: vec!["admin".into()],
            ..Default::default()
        },
        "scopes",
    )
    .await
    .expect("no client, no bound");

    // Canonical REST: PATCH with an update mask.
    let resp = reqwest::Client::new()
        .patch(format!("{}/v1/tokens/{id}?updateMask=scopes", app.rest))
        .bearer_auth(&app.key_a)
        .json(&serde_json::json!({"scopes": ["admin"]}))
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert!(body.to_string().contains("token.scopes[0]"), "{body}");

    // Review Board: PUT scope=... answers 105 naming `scope`.
    let resp = reqwest::Client::new()
        .put(format!("{}/api/oauth-tokens/{id}/", app.rest))
        .header("Authorization", format!("token {}", app.key_a))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("scope=read,admin")
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["err"]["code"], 105, "{body}");
    assert!(body["fields"]["scope"].is_array(), "{body}");

    let got = app
        .tokens()
        .get_token(authed(&app.key_a, pb::GetTokenRequest { id }))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.scopes, ["read"], "refused updates changed nothing");
}

async fn native_app_redirect_uris_are_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let create = |uri: &str| pb::CreateClientRequest {
        client: Some(pb::Client {
            client_name: "native".into(),
            grant_types: vec!["authorization_code".into()],
            redirect_uris: vec![uri.into()],
            public: true,
            ..Default::default()
        }),
    };
    for ok in [
        "com.example.app:/oauth2redirect/example-provider",
        "http://127.0.0.1:49152/cb",
        "http://[::1]:49152/cb",
    ] {
        app.clients()
            .create_client(authed(&app.key_a, create(ok)))
            .await
            .unwrap_or_else(|e| panic!("{ok}: {e:?}"));
    }
    for bad in [
        "com.example.app:/cb#fragment",
        "/relative/cb",
        "cb",
        "example:/no-dot",
    ] {
        let e = app
            .clients()
            .create_client(authed(&app.key_a, create(bad)))
            .await
            .expect_err(bad);
        assert_eq!(e.code(), Code::InvalidArgument, "{bad}");
        assert_eq!(violated_fields(&e), ["client.redirect_uris[0]"], "{bad}");
    }
}

/// AIP-203: output-only fields in a create request are ignored, as the
/// proto says, not refused.
async fn output_only_fields_are_ignored_on_create(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, _) = app
        .create_token(
            &app.key_a,
            pb::Token {
                id: "chosen-by-caller".into(),
                user_id: "alice".into(),
                status: pb::TokenStatus::Revoked as i32,
                secret_prefix: "oat_fake".into(),
                create_time: Some(PbTimestamp {
                    seconds: 1,
                    nanos: 0,
                }),
                ..Default::default()
            },
        )
        .await;
    assert_ne!(token.id, "chosen-by-caller");
    assert_eq!(token.status, pb::TokenStatus::Active as i32);
    assert_ne!(token.secret_prefix, "oat_fake");
    assert!(token.create_time.expect("create_time").seconds > 1_000_000_000);
}

backend_tests!(
    updates_follow_the_create_rules,
    output_only_fields_are_ignored_on_create,
    native_app_redirect_uris_are_accepted,
);
