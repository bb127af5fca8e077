//! AIP-154 etags on the resources: every token and client carries an
//! `etag` that changes with each write of it; an update or delete that
//! sends one is refused with FAILED_PRECONDITION (nothing written) when the
//! resource changed since, over gRPC and canonical REST (body `etag` on
//! PATCH, `?etag=` on DELETE). Another organization's etag opens nothing.

use crate::common::{Backend, TestApp, authed, spawn_app};
use oauth_registry::grpc::pb;
use pbjson_types::FieldMask;
use reqwest::StatusCode;
use tonic::Code;

fn mask(path: &str) -> Option<FieldMask> {
    Some(FieldMask {
        paths: vec![path.into()],
    })
}

async fn rename(
    app: &TestApp,
    id: &str,
    name: &str,
    etag: &str,
) -> Result<pb::Token, tonic::Status> {
    app.tokens()
        .update_token(authed(
            &app.key_a,
            pb::UpdateTokenRequest {
                token: Some(pb::Token {
                    id: id.into(),
                    name: name.into(),
                    etag: etag.into(),
                    ..Default::default()
                }),
                update_mask: mask("name"),
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn get(app: &TestApp, key: &str, id: &str) -> Result<pb::Token, tonic::Status> {
    app.tokens()
        .get_token(authed(key, pb::GetTokenRequest { id: id.into() }))
        .await
        .map(tonic::Response::into_inner)
}

/// A token of alice's in organization A named `name`.
async fn alices_token(app: &TestApp, name: &str) -> pb::Token {
    let token = pb::Token {
        user_id: "alice".into(),
        name: name.into(),
        ..Default::default()
    };
    app.create_token(&app.key_a, token).await.0
}

async fn a_stale_etag_refuses_token_writes(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = alices_token(&app, "first").await;
    assert!(!created.etag.is_empty(), "a created token has an etag");
    let read = get(&app, &app.key_a, &created.id).await.expect("get");
    assert_eq!(read.etag, created.etag, "reading does not change it");
    let listed = app
        .tokens()
        .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
        .await
        .expect("list")
        .into_inner()
        .tokens;
    assert_eq!(
        listed[0].etag, created.etag,
        "a listing carries the same etag"
    );

    let renamed = rename(&app, &created.id, "second", &created.etag)
        .await
        .expect("the current etag lets the update through");
    assert_eq!(renamed.name, "second");
    assert_ne!(renamed.etag, created.etag, "the update moved the etag");

    let stale = rename(&app, &created.id, "third", &created.etag)
        .await
        .expect_err("a stale etag is refused");
    assert_eq!(stale.code(), Code::FailedPrecondition, "{stale:?}");
    assert!(stale.message().contains("etag"), "{}", stale.message());
    let now = get(&app, &app.key_a, &created.id).await.expect("get");
    assert_eq!(now.name, "second", "nothing was written");
    assert_eq!(now.etag, renamed.etag);

    // Two updates in a row from the same read: the second loses, even when
    // both land in the same microsecond.
    let again = rename(&app, &created.id, "fourth", &renamed.etag)
        .await
        .expect("current etag");
    assert_ne!(again.etag, renamed.etag);
    assert_eq!(
        rename(&app, &created.id, "fifth", &renamed.etag)
            .await
            .expect_err("stale")
            .code(),
        Code::FailedPrecondition
    );

    // A revocation is a write of the token: it moves the etag too.
    let revoked = app
        .tokens()
        .revoke_token(authed(
            &app.key_a,
            pb::RevokeTokenRequest {
                id: created.id.clone(),
            },
        ))
        .await
        .expect("revoke")
        .into_inner();
    assert_ne!(revoked.etag, again.etag);

    let delete = |etag: String| {
        let mut api = app.tokens();
        let id = created.id.clone();
        let key = app.key_a.clone();
        async move {
            api.delete_token(authed(&key, pb::DeleteTokenRequest { id, etag }))
                .await
        }
    };
    let refused = delete(again.etag.clone()).await.expect_err("stale delete");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        get(&app, &app.key_a, &created.id).await.is_ok(),
        "still there"
    );
    delete(revoked.etag.clone())
        .await
        .expect("current etag deletes");
    assert_eq!(
        get(&app, &app.key_a, &created.id)
            .await
            .expect_err("gone")
            .code(),
        Code::NotFound
    );
}

async fn an_empty_etag_is_unconditional(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = alices_token(&app, "").await;
    rename(&app, &created.id, "a", "").await.expect("no etag");
    rename(&app, &created.id, "b", "").await.expect("no etag");
}

/// Organization B holds A's token's etag: the write is NOT_FOUND, as any
/// write of another organization's token is, and A's token is untouched.
async fn an_etag_does_not_cross_tenants(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = alices_token(&app, "mine").await;
    let by_b = app
        .tokens()
        .update_token(authed(
            &app.key_b,
            pb::UpdateTokenRequest {
                token: Some(pb::Token {
                    id: created.id.clone(),
                    name: "theirs".into(),
                    etag: created.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask("name"),
            },
        ))
        .await
        .expect_err("another organization's token");
    assert_eq!(by_b.code(), Code::NotFound);
    let deleted_by_b = app
        .tokens()
        .delete_token(authed(
            &app.key_b,
            pb::DeleteTokenRequest {
                id: created.id.clone(),
                etag: created.etag.clone(),
            },
        ))
        .await
        .expect_err("another organization's token");
    assert_eq!(deleted_by_b.code(), Code::NotFound);
    let mine = get(&app, &app.key_a, &created.id).await.expect("get");
    assert_eq!((mine.name.as_str(), mine.etag), ("mine", created.etag));
}

async fn client_etags_follow_settings_not_use(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app
        .clients()
        .create_client(authed(
            &app.key_a,
            pb::CreateClientRequest {
                client: Some(pb::Client {
                    client_name: "app".into(),
                    grant_types: vec!["client_credentials".into()],
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("client")
        .into_inner()
        .client
        .expect("client");
    assert!(!client.etag.is_empty());
    // A token issued through the client marks it used; its etag stays.
    app.create_token(
        &app.key_a,
        pb::Token {
            client_id: client.client_id.clone(),
            user_id: "alice".into(),
            ..Default::default()
        },
    )
    .await;
    let used = app
        .clients()
        .get_client(authed(
            &app.key_a,
            pb::GetClientRequest {
                client_id: client.client_id.clone(),
            },
        ))
        .await
        .expect("get")
        .into_inner();
    assert!(used.last_use_time.is_some());
    assert_eq!(used.etag, client.etag, "use is not a change of settings");

    let update = |name: &str, etag: &str| {
        let mut api = app.clients();
        let req = authed(
            &app.key_a,
            pb::UpdateClientRequest {
                client: Some(pb::Client {
                    client_id: client.client_id.clone(),
                    client_name: name.into(),
                    etag: etag.into(),
                    ..Default::default()
                }),
                update_mask: mask("client_name"),
            },
        );
        async move {
            api.update_client(req)
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let renamed = update("renamed", &client.etag).await.expect("current etag");
    assert_ne!(renamed.etag, client.etag);
    let stale = update("again", &client.etag).await.expect_err("stale");
    assert_eq!(stale.code(), Code::FailedPrecondition);

    let delete = |etag: &str| {
        let mut api = app.clients();
        let req = authed(
            &app.key_a,
            pb::DeleteClientRequest {
                client_id: client.client_id.clone(),
                force: true,
                etag: etag.into(),
            },
        );
        async move { api.delete_client(req).await }
    };
    let refused = delete(&client.etag).await.expect_err("stale delete");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let tokens = app
        .tokens()
        .count_tokens(authed(&app.key_a, pb::CountTokensRequest::default()))
        .await
        .expect("count")
        .into_inner();
    assert_eq!(
        tokens.total_size, 1,
        "a refused forced delete deletes no token"
    );
    delete(&renamed.etag).await.expect("current etag deletes");
}

/// Canonical REST transcodes the same fields: `etag` in the JSON, in a
/// PATCH body, and as DELETE's query parameter; a mismatch is
/// FAILED_PRECONDITION (HTTP 400, as grpc-gateway maps it).
async fn canonical_rest_carries_the_etag(backend: Backend) {
    let app = spawn_app(backend).await;
    let http = reqwest::Client::new();
    let auth = format!("Bearer {}", app.key_a);
    let created: serde_json::Value = http
        .post(format!("{}/v1/tokens", app.rest))
        .header("authorization", &auth)
        .json(&serde_json::json!({"userId": "alice", "name": "one"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let token = &created["token"];
    let (id, etag) = (
        token["id"].as_str().expect("id").to_owned(),
        token["etag"].as_str().expect("etag").to_owned(),
    );
    let patch = |name: &str, etag: &str| {
        http.patch(format!("{}/v1/tokens/{id}?updateMask=name", app.rest))
            .header("authorization", &auth)
            .json(&serde_json::json!({"name": name, "etag": etag}))
            .send()
    };
    let ok = patch("two", &etag).await.expect("patch");
    assert_eq!(ok.status(), StatusCode::OK);
    let body: serde_json::Value = ok.json().await.expect("json");
    let current = body["etag"].as_str().expect("etag").to_owned();
    assert_ne!(current, etag);
    let stale = patch("three", &etag).await.expect("patch");
    assert_eq!(stale.status(), StatusCode::BAD_REQUEST);
    let error: serde_json::Value = stale.json().await.expect("json");
    assert_eq!(error["code"], 9, "FAILED_PRECONDITION: {error}");

    let delete = |etag: &str| {
        http.delete(format!("{}/v1/tokens/{id}", app.rest))
            .query(&[("etag", etag)])
            .header("authorization", &auth)
            .send()
    };
    assert_eq!(
        delete(&etag).await.expect("delete").status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        delete(&current).await.expect("delete").status(),
        StatusCode::OK
    );
}

backend_tests!(
    a_stale_etag_refuses_token_writes,
    an_empty_etag_is_unconditional,
    an_etag_does_not_cross_tenants,
    client_etags_follow_settings_not_use,
    canonical_rest_carries_the_etag,
);
