//! Create, get, update, revoke and delete through gRPC on both backends, with
//! the validation rules: every bad field named, nothing half-written.

use crate::common::{Backend, TestApp, authed, spawn_app, token_for, violated_fields};
use oauth_registry::grpc::pb;
use pbjson_types::{Duration, FieldMask, Timestamp};
use tonic::Code;

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn create_token_err(app: &TestApp, t: pb::Token) -> tonic::Status {
    app.tokens()
        .create_token(authed(
            &app.key_a,
            pb::CreateTokenRequest { token: Some(t) },
        ))
        .await
        .expect_err("create must fail")
}

async fn count(app: &TestApp) -> i64 {
    app.tokens()
        .count_tokens(authed(&app.key_a, pb::CountTokensRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .total_size
}

async fn token_lifecycle(backend: Backend) {
    let app = spawn_app(backend).await;
    let client_id = app.create_client(&app.key_a, "web").await;
    let (t, secret) = app
        .create_token(
            &app.key_a,
            pb::Token {
                client_id: client_id.clone(),
                redirect_uri: "https://app.example.com/cb".into(),
                code_challenge: CHALLENGE.into(),
                code_challenge_method: pb::CodeChallengeMethod::S256 as i32,
                ..token_for("u1", "ci token")
            },
        )
        .await;
    assert!(secret.starts_with("oat_") && secret.len() > 40);
    assert_eq!(t.secret_prefix, secret[..12]);
    assert_eq!(t.subject, "u1", "subject defaults to the owner");
    assert_eq!(t.status, pb::TokenStatus::Active as i32);
    assert_eq!(t.kind, pb::TokenKind::Access as i32);
    let created = t.create_time.unwrap();
    assert_eq!(
        t.expire_time.unwrap().seconds - created.seconds,
        86_400,
        "client's access lifetime"
    );
    assert!(t.revoke_time.is_none());

    let got = app
        .tokens()
        .get_token(authed(&app.key_a, pb::GetTokenRequest { id: t.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, t);
    let client = app
        .clients()
        .get_client(authed(&app.key_a, pb::GetClientRequest { client_id }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        client.last_use_time.is_some(),
        "issuing a token marks the client used"
    );

    // Update only what the mask names.
    let upd = app
        .tokens()
        .update_token(authed(
            &app.key_a,
            pb::UpdateTokenRequest {
                token: Some(pb::Token {
                    id: t.id.clone(),
                    name: "renamed".into(),
                    description: "ignored".into(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["name".into()],
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(upd.name, "renamed");
    assert_eq!(upd.description, "");
    assert!(upd.update_time.unwrap().seconds >= created.seconds);
    let err = app
        .tokens()
        .update_token(authed(
            &app.key_a,
            pb::UpdateTokenRequest {
                token: Some(pb::Token {
                    id: t.id.clone(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["user_id".into()],
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), vec!["update_mask"]);

    // Revoke is idempotent and keeps the first revocation time.
    let r1 = app
        .tokens()
        .revoke_token(authed(
            &app.key_a,
            pb::RevokeTokenRequest { id: t.id.clone() },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r1.status, pb::TokenStatus::Revoked as i32);
    let r2 = app
        .tokens()
        .revoke_token(authed(
            &app.key_a,
            pb::RevokeTokenRequest { id: t.id.clone() },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r1.revoke_time, r2.revoke_time);

    app.tokens()
        .delete_token(authed(
            &app.key_a,
            pb::DeleteTokenRequest {
                id: t.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    for code in [
        app.tokens()
            .get_token(authed(&app.key_a, pb::GetTokenRequest { id: t.id.clone() }))
            .await
            .unwrap_err()
            .code(),
        app.tokens()
            .delete_token(authed(
                &app.key_a,
                pb::DeleteTokenRequest {
                    id: t.id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err()
            .code(),
        app.tokens()
            .revoke_token(authed(
                &app.key_a,
                pb::RevokeTokenRequest { id: t.id.clone() },
            ))
            .await
            .unwrap_err()
            .code(),
    ] {
        assert_eq!(code, Code::NotFound);
    }
    let err = app
        .tokens()
        .get_token(authed(
            &app.key_a,
            pb::GetTokenRequest { id: String::new() },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), vec!["id"]);
}

async fn token_validation_names_every_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let client_id = app.create_client(&app.key_a, "web").await;
    let past = Timestamp {
        seconds: 1_000_000,
        nanos: 0,
    };
    let cases: Vec<(pb::Token, Vec<&str>)> = vec![
        (pb::Token::default(), vec!["token.user_id"]),
        (
            pb::Token {
                scopes: vec!["a b".into()],
                ..token_for("u", "n")
            },
            vec!["token.scopes[0]"],
        ),
        (
            pb::Token {
                code_challenge: "short".into(),
                code_challenge_method: 1,
                client_id: client_id.clone(),
                ..token_for("u", "n")
            },
            vec!["token.code_challenge"],
        ),
        (
            pb::Token {
                code_challenge: CHALLENGE.into(),
                client_id: client_id.clone(),
                ..token_for("u", "n")
            },
            vec!["token.code_challenge_method"],
        ),
        (
            pb::Token {
                code_challenge_method: 9,
                ..token_for("u", "n")
            },
            vec!["token.code_challenge_method"],
        ),
        (
            pb::Token {
                kind: 7,
                ..token_for("u", "n")
            },
            vec!["token.kind"],
        ),
        (
            pb::Token {
                redirect_uri: "not a uri".into(),
                ..token_for("u", "n")
            },
            vec!["token.redirect_uri"],
        ),
        (
            pb::Token {
                expire_time: Some(past),
                ..token_for("u", "n")
            },
            vec!["token.expire_time"],
        ),
        (
            pb::Token {
                name: "x".repeat(300),
                user_id: String::new(),
                ..Default::default()
            },
            vec!["token.user_id", "token.name"],
        ),
        // Rules that need the client.
        (
            pb::Token {
                client_id: client_id.clone(),
                redirect_uri: "https://evil.example.com/cb".into(),
                ..token_for("u", "n")
            },
            vec!["token.redirect_uri"],
        ),
        (
            pb::Token {
                client_id: client_id.clone(),
                scopes: vec!["admin".into()],
                ..token_for("u", "n")
            },
            vec!["token.scopes[0]"],
        ),
        (
            pb::Token {
                redirect_uri: "https://app.example.com/cb".into(),
                ..token_for("u", "n")
            },
            vec!["token.redirect_uri"],
        ),
    ];
    for (t, fields) in cases {
        let err = create_token_err(&app, t.clone()).await;
        assert_eq!(err.code(), Code::InvalidArgument, "{t:?}");
        assert_eq!(violated_fields(&err), fields, "{t:?}");
    }
    let err = create_token_err(
        &app,
        pb::Token {
            client_id: "no-such-client".into(),
            ..token_for("u", "n")
        },
    )
    .await;
    assert_eq!(err.code(), Code::NotFound);
    let err = app
        .tokens()
        .create_token(authed(&app.key_a, pb::CreateTokenRequest { token: None }))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), vec!["token"]);
    assert_eq!(count(&app).await, 0, "no failed create left a row behind");
}

async fn client_lifecycle_and_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = |name: &str| pb::Client {
        client_name: name.into(),
        grant_types: vec!["client_credentials".into()],
        ..Default::default()
    };
    let confidential = app
        .clients()
        .create_client(authed(
            &app.key_a,
            pb::CreateClientRequest {
                client: Some(c("svc")),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(confidential.client_secret.starts_with("ocs_"));
    let cl = confidential.client.unwrap();
    assert_eq!(cl.secret_prefix, confidential.client_secret[..12]);
    assert_eq!(cl.access_token_duration.unwrap().seconds, 86_400);
    assert_eq!(cl.refresh_token_duration.unwrap().seconds, 864_000);
    let public = app
        .clients()
        .create_client(authed(
            &app.key_a,
            pb::CreateClientRequest {
                client: Some(pb::Client {
                    public: true,
                    ..c("spa")
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(public.client_secret.is_empty() && public.client.unwrap().secret_prefix.is_empty());

    let bad: Vec<(pb::Client, Vec<&str>)> = vec![
        (
            pb::Client::default(),
            vec!["client.client_name", "client.grant_types"],
        ),
        (
            pb::Client {
                grant_types: vec!["password".into()],
                ..c("x")
            },
            vec!["client.grant_types[0]"],
        ),
        (
            pb::Client {
                grant_types: vec!["authorization_code".into()],
                ..c("x")
            },
            vec!["client.redirect_uris"],
        ),
        (
            pb::Client {
                response_types: vec!["code code".into()],
                ..c("x")
            },
            vec!["client.response_types[0]"],
        ),
        (
            pb::Client {
                redirect_uris: vec!["https://x/#frag".into()],
                ..c("x")
            },
            vec!["client.redirect_uris[0]"],
        ),
        (
            pb::Client {
                access_token_duration: Some(Duration {
                    seconds: 0,
                    nanos: 0,
                }),
                ..c("x")
            },
            vec!["client.access_token_duration"],
        ),
    ];
    for (cl, fields) in bad {
        let err = app
            .clients()
            .create_client(authed(
                &app.key_a,
                pb::CreateClientRequest {
                    client: Some(cl.clone()),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{cl:?}");
        assert_eq!(violated_fields(&err), fields, "{cl:?}");
    }

    let upd = app
        .clients()
        .update_client(authed(
            &app.key_a,
            pb::UpdateClientRequest {
                client: Some(pb::Client {
                    client_id: cl.client_id.clone(),
                    client_name: "svc-2".into(),
                    scopes: vec!["read".into()],
                    ..Default::default()
                }),
                update_mask: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (upd.client_name.as_str(), upd.scopes.clone()),
        ("svc-2", vec!["read".to_string()])
    );
    assert_eq!(
        upd.grant_types,
        vec!["client_credentials".to_string()],
        "fields not set are kept"
    );

    // A client with tokens is only deleted with force, which takes its tokens along.
    app.create_token(
        &app.key_a,
        pb::Token {
            client_id: cl.client_id.clone(),
            ..token_for("u", "t")
        },
    )
    .await;
    let err = app
        .clients()
        .delete_client(authed(
            &app.key_a,
            pb::DeleteClientRequest {
                client_id: cl.client_id.clone(),
                force: false,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(count(&app).await, 1);
    app.clients()
        .delete_client(authed(
            &app.key_a,
            pb::DeleteClientRequest {
                client_id: cl.client_id.clone(),
                force: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert_eq!(count(&app).await, 0);
    let err = app
        .clients()
        .get_client(authed(
            &app.key_a,
            pb::GetClientRequest {
                client_id: cl.client_id,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

async fn refresh_tokens_use_the_refresh_lifetime(backend: Backend) {
    let app = spawn_app(backend).await;
    let (t, _) = app
        .create_token(
            &app.key_a,
            pb::Token {
                kind: pb::TokenKind::Refresh as i32,
                ..token_for("u", "r")
            },
        )
        .await;
    assert_eq!(
        t.expire_time.unwrap().seconds - t.create_time.unwrap().seconds,
        864_000
    );
    let when = Timestamp {
        seconds: t.create_time.unwrap().seconds + 3600,
        nanos: 123_456_000,
    };
    let (t, _) = app
        .create_token(
            &app.key_a,
            pb::Token {
                expire_time: Some(when),
                ..token_for("u", "e")
            },
        )
        .await;
    assert_eq!(
        t.expire_time,
        Some(when),
        "microsecond precision round-trips"
    );
}

backend_tests!(
    token_lifecycle,
    token_validation_names_every_field,
    client_lifecycle_and_rules,
    refresh_tokens_use_the_refresh_lifetime,
);
