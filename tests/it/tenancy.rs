//! Tenancy and authorization on both backends: a key of organization B never
//! reads, counts, changes, revokes or deletes organization A's rows, through
//! any RPC; every RPC enforces its scope; bad credentials are refused.

use crate::common::{Backend, TestApp, authed, spawn_app, token_for};
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::auth::Permission;
use oauth_registry::domain::secret::ExposeSecret;
use oauth_registry::grpc::pb;
use pbjson_types::FieldMask;
use tonic::Code;

/// Everything org A can see, for before/after comparison.
async fn snapshot(app: &TestApp, key: &str) -> (Vec<pb::Token>, Vec<pb::Client>) {
    let tokens = app
        .tokens()
        .list_tokens(authed(
            key,
            pb::ListTokensRequest {
                page_size: 1000,
                order_by: "id".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("list tokens")
        .into_inner()
        .tokens;
    let clients = app
        .clients()
        .list_clients(authed(
            key,
            pb::ListClientsRequest {
                page_size: 1000,
                order_by: "client_id".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("list clients")
        .into_inner()
        .clients;
    (tokens, clients)
}

/// The status code of a streaming call, whether it fails at once or on the
/// first message; `Code::Ok` with the number of rows otherwise.
async fn stream_tokens(app: &TestApp, key: &str, filter: &str) -> (Code, usize) {
    let req = pb::StreamTokensRequest {
        filter: filter.into(),
        ..Default::default()
    };
    match app.tokens().stream_tokens(authed(key, req)).await {
        Err(s) => (s.code(), 0),
        Ok(r) => {
            let mut s = r.into_inner();
            let mut n = 0;
            loop {
                match s.message().await {
                    Ok(Some(p)) => n += p.tokens.len(),
                    Ok(None) => return (Code::Ok, n),
                    Err(e) => return (e.code(), n),
                }
            }
        }
    }
}

async fn org_b_never_touches_org_a(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, b) = (app.key_a.clone(), app.key_b.clone());
    let client_a = app.create_client(&a, "a-client").await;
    let (t1, _) = app
        .create_token(
            &a,
            pb::Token {
                client_id: client_a.clone(),
                redirect_uri: "https://app.example.com/cb".into(),
                ..token_for("alice", "a1")
            },
        )
        .await;
    app.create_token(&a, token_for("alice", "a2")).await;
    let before = snapshot(&app, &a).await;
    let id = t1.id.clone();

    let mut tok = app.tokens();
    let mut cli = app.clients();
    let codes = vec![
        (
            "GetToken",
            tok.get_token(authed(&b, pb::GetTokenRequest { id: id.clone() }))
                .await
                .map(|_| ())
                .unwrap_err()
                .code(),
        ),
        (
            "UpdateToken",
            tok.update_token(authed(
                &b,
                pb::UpdateTokenRequest {
                    token: Some(pb::Token {
                        id: id.clone(),
                        name: "pwned".into(),
                        ..Default::default()
                    }),
                    update_mask: Some(FieldMask {
                        paths: vec!["name".into()],
                    }),
                },
            ))
            .await
            .map(|_| ())
            .unwrap_err()
            .code(),
        ),
        (
            "RevokeToken",
            tok.revoke_token(authed(&b, pb::RevokeTokenRequest { id: id.clone() }))
                .await
                .map(|_| ())
                .unwrap_err()
                .code(),
        ),
        (
            "DeleteToken",
            tok.delete_token(authed(
                &b,
                pb::DeleteTokenRequest {
                    id: id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .map(|_| ())
            .unwrap_err()
            .code(),
        ),
        (
            "GetClient",
            cli.get_client(authed(
                &b,
                pb::GetClientRequest {
                    client_id: client_a.clone(),
                },
            ))
            .await
            .map(|_| ())
            .unwrap_err()
            .code(),
        ),
        (
            "UpdateClient",
            cli.update_client(authed(
                &b,
                pb::UpdateClientRequest {
                    client: Some(pb::Client {
                        client_id: client_a.clone(),
                        client_name: "pwned".into(),
                        ..Default::default()
                    }),
                    update_mask: None,
                },
            ))
            .await
            .map(|_| ())
            .unwrap_err()
            .code(),
        ),
        (
            "DeleteClient",
            cli.delete_client(authed(
                &b,
                pb::DeleteClientRequest {
                    client_id: client_a.clone(),
                    force: false,
                    ..Default::default()
                },
            ))
            .await
            .map(|_| ())
            .unwrap_err()
            .code(),
        ),
        (
            "DeleteClient force",
            cli.delete_client(authed(
                &b,
                pb::DeleteClientRequest {
                    client_id: client_a.clone(),
                    force: true,
                    ..Default::default()
                },
            ))
            .await
            .map(|_| ())
            .unwrap_err()
            .code(),
        ),
        (
            "CreateToken via A's client",
            tok.create_token(authed(
                &b,
                pb::CreateTokenRequest {
                    token: Some(pb::Token {
                        client_id: client_a.clone(),
                        ..token_for("bob", "x")
                    }),
                },
            ))
            .await
            .map(|_| ())
            .unwrap_err()
            .code(),
        ),
    ];
    for (rpc, code) in codes {
        assert_eq!(code, Code::NotFound, "{rpc} across organizations");
    }

    // B's listings, counts and streams see nothing of A's, whatever the filter.
    for filter in [
        "",
        "user_id = \"alice\"",
        &format!("client_id = \"{client_a}\""),
        "name = \"a*\"",
    ] {
        let page = tok
            .list_tokens(authed(
                &b,
                pb::ListTokensRequest {
                    filter: filter.into(),
                    include_total_size: true,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(
            page.tokens.is_empty() && page.total_size == Some(0),
            "list {filter:?}"
        );
        let n = tok
            .count_tokens(authed(
                &b,
                pb::CountTokensRequest {
                    filter: filter.into(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .total_size;
        assert_eq!(n, 0, "count {filter:?}");
        assert_eq!(
            stream_tokens(&app, &b, filter).await,
            (Code::Ok, 0),
            "stream {filter:?}"
        );
    }
    let clients = cli
        .list_clients(authed(&b, pb::ListClientsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(clients.clients.is_empty());
    let mut s = cli
        .stream_clients(authed(&b, pb::StreamClientsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    while let Some(p) = s.message().await.unwrap() {
        assert!(p.clients.is_empty());
    }

    // With rows of its own, B sees exactly those.
    let (mine, _) = app.create_token(&b, token_for("alice", "b-owned")).await;
    let page = tok
        .list_tokens(authed(
            &b,
            pb::ListTokensRequest {
                filter: "user_id = \"alice\"".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        page.tokens.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        vec![mine.id]
    );

    // A's page token is no key to A's rows for B.
    let a_page = tok
        .list_tokens(authed(
            &a,
            pb::ListTokensRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let err = tok
        .list_tokens(authed(
            &b,
            pb::ListTokensRequest {
                page_size: 1,
                page_token: a_page.next_page_token,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    assert_eq!(snapshot(&app, &a).await, before, "org A is untouched");
}

/// Calls `rpc` with `key` on fresh fixtures; returns the status code.
async fn call(app: &TestApp, rpc: &str, key: &str) -> Code {
    let admin = &app.key_a;
    let (t, _) = app.create_token(admin, token_for("alice", "fixture")).await;
    let client = app.create_client(admin, "fixture").await;
    let mut tok = app.tokens();
    let mut cli = app.clients();
    let r = match rpc {
        "ListTokens" => tok
            .list_tokens(authed(key, pb::ListTokensRequest::default()))
            .await
            .map(|_| ()),
        "StreamTokens" => return stream_tokens(app, key, "").await.0,
        "CountTokens" => tok
            .count_tokens(authed(key, pb::CountTokensRequest::default()))
            .await
            .map(|_| ()),
        "GetToken" => tok
            .get_token(authed(key, pb::GetTokenRequest { id: t.id }))
            .await
            .map(|_| ()),
        "CreateToken" => tok
            .create_token(authed(
                key,
                pb::CreateTokenRequest {
                    token: Some(token_for("u", "n")),
                },
            ))
            .await
            .map(|_| ()),
        "UpdateToken" => tok
            .update_token(authed(
                key,
                pb::UpdateTokenRequest {
                    token: Some(pb::Token {
                        id: t.id,
                        name: "n2".into(),
                        ..Default::default()
                    }),
                    update_mask: None,
                },
            ))
            .await
            .map(|_| ()),
        "RevokeToken" => tok
            .revoke_token(authed(key, pb::RevokeTokenRequest { id: t.id }))
            .await
            .map(|_| ()),
        "DeleteToken" => tok
            .delete_token(authed(
                key,
                pb::DeleteTokenRequest {
                    id: t.id,
                    ..Default::default()
                },
            ))
            .await
            .map(|_| ()),
        "ListClients" => cli
            .list_clients(authed(key, pb::ListClientsRequest::default()))
            .await
            .map(|_| ()),
        "StreamClients" => match cli
            .stream_clients(authed(key, pb::StreamClientsRequest::default()))
            .await
        {
            Err(e) => Err(e),
            Ok(r) => r.into_inner().message().await.map(|_| ()),
        },
        "GetClient" => cli
            .get_client(authed(key, pb::GetClientRequest { client_id: client }))
            .await
            .map(|_| ()),
        "CreateClient" => cli
            .create_client(authed(
                key,
                pb::CreateClientRequest {
                    client: Some(pb::Client {
                        client_name: "c".into(),
                        grant_types: vec!["client_credentials".into()],
                        ..Default::default()
                    }),
                },
            ))
            .await
            .map(|_| ()),
        "UpdateClient" => cli
            .update_client(authed(
                key,
                pb::UpdateClientRequest {
                    client: Some(pb::Client {
                        client_id: client,
                        client_name: "c2".into(),
                        ..Default::default()
                    }),
                    update_mask: None,
                },
            ))
            .await
            .map(|_| ()),
        "DeleteClient" => cli
            .delete_client(authed(
                key,
                pb::DeleteClientRequest {
                    client_id: client,
                    force: true,
                    ..Default::default()
                },
            ))
            .await
            .map(|_| ()),
        other => panic!("unknown rpc {other}"),
    };
    r.map_or_else(|s| s.code(), |()| Code::Ok)
}

const RPCS: [(&str, Permission); 14] = [
    ("ListTokens", Permission::TokensRead),
    ("StreamTokens", Permission::TokensRead),
    ("CountTokens", Permission::TokensRead),
    ("GetToken", Permission::TokensRead),
    ("CreateToken", Permission::TokensWrite),
    ("UpdateToken", Permission::TokensWrite),
    ("RevokeToken", Permission::TokensWrite),
    ("DeleteToken", Permission::TokensWrite),
    ("ListClients", Permission::ClientsRead),
    ("StreamClients", Permission::ClientsRead),
    ("GetClient", Permission::ClientsRead),
    ("CreateClient", Permission::ClientsWrite),
    ("UpdateClient", Permission::ClientsWrite),
    ("DeleteClient", Permission::ClientsWrite),
];

async fn scopes_are_enforced_per_rpc(backend: Backend) {
    let app = spawn_app(backend).await;
    for scope in [
        Permission::TokensRead,
        Permission::TokensWrite,
        Permission::ClientsRead,
        Permission::ClientsWrite,
    ] {
        let key = app.key(&app.org_a, Some("alice"), vec![scope]).await;
        for (rpc, needs) in RPCS {
            let code = call(&app, rpc, &key).await;
            if needs == scope {
                assert_eq!(code, Code::Ok, "{rpc} with {}", scope.as_str());
            } else {
                assert_eq!(
                    code,
                    Code::PermissionDenied,
                    "{rpc} with only {}",
                    scope.as_str()
                );
            }
        }
    }
    let none = app.key(&app.org_a, None, vec![]).await;
    for (rpc, _) in RPCS {
        assert_eq!(
            call(&app, rpc, &none).await,
            Code::PermissionDenied,
            "{rpc} with no scope"
        );
    }
}

async fn bad_credentials_are_unauthenticated(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut unknown = app.key_a.clone();
    let last = unknown.pop().expect("non-empty key");
    unknown.push(if last == 'A' { 'B' } else { 'A' });
    let expired = app
        .registry
        .create_api_key(
            &app.org_a,
            None,
            vec![Permission::Admin],
            false,
            Some(Timestamp::from_micros(Timestamp::now().micros() - 1)),
        )
        .await
        .expect("expired key")
        .secret
        .expose_secret()
        .to_owned();
    let headers: Vec<Option<String>> = vec![
        None,
        Some("Bearer".into()),
        Some("Bearer garbage".into()),
        Some(format!("Bearer {unknown}")),
        Some(format!("Basic {}", app.key_a)),
        Some(format!("Bearer {expired}")),
        Some(format!("Bearer {}", &app.key_a[..12])),
    ];
    for h in headers {
        for rpc in ["ListTokens", "CreateToken"] {
            let mut req = tonic::Request::new(pb::ListTokensRequest::default());
            if let Some(h) = &h {
                req.metadata_mut()
                    .insert("authorization", h.parse().expect("ascii"));
            }
            let code = if rpc == "ListTokens" {
                app.tokens()
                    .list_tokens(req)
                    .await
                    .map(|_| ())
                    .unwrap_err()
                    .code()
            } else {
                let mut c = tonic::Request::new(pb::CreateTokenRequest {
                    token: Some(token_for("u", "n")),
                });
                *c.metadata_mut() = req.metadata().clone();
                app.tokens()
                    .create_token(c)
                    .await
                    .map(|_| ())
                    .unwrap_err()
                    .code()
            };
            assert_eq!(code, Code::Unauthenticated, "{rpc} with {h:?}");
        }
    }
}

/// A revoked key is refused on its very next call, over gRPC and REST; one
/// organization cannot revoke another's key.
async fn revoked_key_is_refused_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .registry
        .create_api_key(&app.org_a, None, vec![Permission::TokensRead], false, None)
        .await
        .expect("key");
    let list = |key: String| {
        let app = &app;
        async move {
            app.tokens()
                .list_tokens(authed(&key, pb::ListTokensRequest::default()))
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        }
    };
    assert_eq!(
        list(created.secret.expose_secret().to_owned()).await,
        Ok(())
    );
    let cross = app
        .registry
        .revoke_api_key(&app.org_b, &created.key.id)
        .await;
    assert!(cross.is_err(), "organization B cannot revoke A's key");
    assert_eq!(
        list(created.secret.expose_secret().to_owned()).await,
        Ok(()),
        "still valid"
    );

    app.registry
        .revoke_api_key(&app.org_a, &created.key.id)
        .await
        .expect("revoke");
    assert_eq!(
        list(created.secret.expose_secret().to_owned()).await,
        Err(Code::Unauthenticated)
    );
    let rest = reqwest::Client::new()
        .get(format!("{}/v1/tokens", app.rest))
        .bearer_auth(created.secret.expose_secret())
        .send()
        .await
        .expect("REST call");
    assert_eq!(rest.status(), reqwest::StatusCode::UNAUTHORIZED);
}

backend_tests!(
    org_b_never_touches_org_a,
    scopes_are_enforced_per_rpc,
    bad_credentials_are_unauthenticated,
    revoked_key_is_refused_at_once
);
