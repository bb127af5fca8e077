//! The audit trail, on both backends: every RPC of TokenService and
//! ClientService and a route of every REST face (every REST route:
//! audit_routes.rs) leaves one event with the
//! caller, method, dialect, rows and outcome; a write's event is in the
//! database when the write returns (same transaction); no secret is ever
//! in the table; reads can be turned off; ListAuditEvents filters, pages
//! and keeps organizations apart; ExportAuditEvents streams.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::{Backend, TestApp, authed, spawn_app, spawn_with, token_for};
use oauth_registry::domain::audit::{AuditEvent, AuditQuery};
use oauth_registry::domain::auth::Permission;
use oauth_registry::grpc::pb;
use pbjson_types::FieldMask;
use tonic::Code;

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

/// Waits (up to 5 s) until `n` events are stored: reads are batched.
async fn at_least(app: &TestApp, n: usize) -> Vec<AuditEvent> {
    for _ in 0..100 {
        let e = events(app).await;
        if e.len() >= n {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    events(app).await
}

/// Every method of the two data services, from the descriptor.
fn data_methods() -> BTreeSet<String> {
    oauth_registry::grpc::known_methods()
        .into_iter()
        .map(|(path, _)| path.trim_start_matches('/').to_owned())
        .filter(|p| p.contains(".TokenService/") || p.contains(".ClientService/"))
        .collect()
}

async fn every_rpc_and_face_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = &app.key_a;
    let (mut t, mut c) = (app.tokens(), app.clients());
    let client = app.create_client(key, "audited").await;
    let (tok, secret) = app.create_token(key, token_for("alice", "a")).await;
    let (gone, _) = app.create_token(key, token_for("alice", "b")).await;
    let id = |id: &str| pb::GetTokenRequest { id: id.into() };
    t.list_tokens(authed(key, pb::ListTokensRequest::default()))
        .await
        .expect("list");
    let mut s = t
        .stream_tokens(authed(key, pb::StreamTokensRequest::default()))
        .await
        .expect("stream")
        .into_inner();
    while s.message().await.expect("page").is_some() {}
    t.count_tokens(authed(key, pb::CountTokensRequest::default()))
        .await
        .expect("count");
    t.get_token(authed(key, id(&tok.id))).await.expect("get");
    let rename = pb::Token {
        id: tok.id.clone(),
        name: "renamed".into(),
        ..Default::default()
    };
    let mask = Some(FieldMask {
        paths: vec!["name".into()],
    });
    t.update_token(authed(
        key,
        pb::UpdateTokenRequest {
            token: Some(rename),
            update_mask: mask,
        },
    ))
    .await
    .expect("update");
    t.lookup_token(authed(
        key,
        pb::LookupTokenRequest {
            secret: secret.clone(),
        },
    ))
    .await
    .expect("lookup");
    t.revoke_token_by_secret(authed(
        key,
        pb::RevokeTokenBySecretRequest {
            secret: secret.clone(),
        },
    ))
    .await
    .expect("by secret");
    t.revoke_token(authed(key, pb::RevokeTokenRequest { id: tok.id.clone() }))
        .await
        .expect("revoke");
    t.delete_token(authed(
        key,
        pb::DeleteTokenRequest {
            id: gone.id.clone(),
            ..Default::default()
        },
    ))
    .await
    .expect("delete");
    let dry = |filter: &str| pb::RevokeTokensRequest {
        filter: filter.into(),
        dry_run: true,
        ..Default::default()
    };
    t.revoke_tokens(authed(key, dry(r#"user_id = "nobody""#)))
        .await
        .expect("bulk revoke");
    let del = pb::DeleteTokensRequest {
        filter: r#"user_id = "nobody""#.into(),
        dry_run: true,
        ..Default::default()
    };
    t.delete_tokens(authed(key, del))
        .await
        .expect("bulk delete");
    let per_client = pb::RevokeClientTokensRequest {
        client_id: client.clone(),
        dry_run: true,
        ..Default::default()
    };
    t.revoke_client_tokens(authed(key, per_client))
        .await
        .expect("client tokens");
    let mut w = t
        .watch_tokens(authed(key, pb::WatchTokensRequest::default()))
        .await
        .expect("watch")
        .into_inner();
    w.message().await.expect("bookmark");
    drop(w);
    c.list_clients(authed(key, pb::ListClientsRequest::default()))
        .await
        .expect("clients");
    let mut s = c
        .stream_clients(authed(key, pb::StreamClientsRequest::default()))
        .await
        .expect("stream")
        .into_inner();
    while s.message().await.expect("page").is_some() {}
    c.get_client(authed(
        key,
        pb::GetClientRequest {
            client_id: client.clone(),
        },
    ))
    .await
    .expect("get client");
    let upd = pb::Client {
        client_id: client.clone(),
        client_name: "renamed".into(),
        ..Default::default()
    };
    let mask = Some(FieldMask {
        paths: vec!["client_name".into()],
    });
    c.update_client(authed(
        key,
        pb::UpdateClientRequest {
            client: Some(upd),
            update_mask: mask,
        },
    ))
    .await
    .expect("update client");
    let mut w = c
        .watch_clients(authed(key, pb::WatchClientsRequest::default()))
        .await
        .expect("watch")
        .into_inner();
    w.message().await.expect("bookmark");
    drop(w);
    let spare = app.create_client(key, "spare").await;
    c.delete_client(authed(
        key,
        pb::DeleteClientRequest {
            client_id: spare,
            force: false,
            ..Default::default()
        },
    ))
    .await
    .expect("delete client");
    // A refused call is audited too, with its outcome.
    let e = t
        .get_token(authed(key, id(&uuid::Uuid::now_v7().to_string())))
        .await
        .expect_err("missing");
    assert_eq!(e.code(), Code::NotFound);

    // One route of every REST face.
    let http = reqwest::Client::new();
    for path in [
        "/v1/tokens".to_owned(),
        "/api/oauth-tokens/".to_owned(),
        "/me/oauth-tokens".to_owned(),
        format!("/v1/core/oauth/apps/{client}/access-token?owner=alice"),
        "/oauth2/clients".to_owned(),
    ] {
        let r = http
            .get(format!("{}{path}", app.rest))
            .bearer_auth(key)
            .header("SlashID-OrgID", app.org_a.to_string())
            .send()
            .await
            .expect("rest");
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }

    let all = at_least(&app, 40).await;
    let grpc: BTreeSet<String> = all
        .iter()
        .filter(|e| e.dialect == "grpc")
        .map(|e| e.method.clone())
        .collect();
    let missing: Vec<_> = data_methods().difference(&grpc).cloned().collect();
    assert!(
        missing.is_empty(),
        "RPCs without an audit event: {missing:?}"
    );
    let dialects: BTreeSet<&str> = all.iter().map(|e| e.dialect.as_str()).collect();
    for d in [
        "grpc",
        "canonical",
        "reviewboard",
        "losant",
        "siro",
        "slashid",
    ] {
        assert!(dialects.contains(d), "no {d} event: {dialects:?}");
    }
    assert!(
        all.iter()
            .all(|e| e.key_id.as_str() != "" && e.user_id.as_deref() == Some("alice"))
    );
    let list = all
        .iter()
        .find(|e| e.method.ends_with("/ListTokens"))
        .expect("list event");
    assert_eq!(
        (list.kind.as_str(), list.rows, list.outcome.as_str()),
        ("read", 2, "OK")
    );
    assert!(!list.filter_hash.is_empty() && !list.request_id.is_empty());
    // A bulk dry run changes nothing: it is a read.
    let dry = all
        .iter()
        .find(|e| e.method.ends_with("/RevokeTokens"))
        .expect("dry run event");
    assert_eq!((dry.kind.as_str(), dry.outcome.as_str()), ("read", "OK"));
    let missing = all
        .iter()
        .find(|e| e.outcome == "NOT_FOUND")
        .expect("the refused call");
    assert!(missing.method.ends_with("/GetToken"));
    let update = all
        .iter()
        .find(|e| e.method.ends_with("/UpdateToken"))
        .expect("update");
    assert_eq!((update.kind.as_str(), update.rows), ("write", 1));
    let rest = all
        .iter()
        .find(|e| e.method == "GET /v1/tokens")
        .expect("canonical list");
    assert_eq!((rest.http_status, rest.outcome.as_str()), (Some(200), "OK"));

    // No secret anywhere in the audit table.
    let dump = format!("{all:?}");
    for s in [secret.as_str(), app.key_a.as_str()] {
        assert!(
            !dump.contains(s) && !dump.contains(&s[..20]),
            "a secret in the audit trail"
        );
    }
}

async fn a_write_is_audited_in_its_transaction(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_token(&app.key_a, token_for("alice", "now"))
        .await;
    // No wait: the event committed with the token.
    let now = events(&app).await;
    assert!(
        now.iter().any(|e| e.method.ends_with("/CreateToken")
            && e.kind.as_str() == "write"
            && e.rows >= 1),
        "{now:?}"
    );
}

async fn reads_can_be_left_out(backend: Backend) {
    let app = spawn_with(backend, |c| c.audit_reads = false).await;
    app.tokens()
        .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
        .await
        .expect("list");
    app.create_token(&app.key_a, token_for("alice", "w")).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let all = events(&app).await;
    assert!(all.iter().all(|e| e.kind.as_str() == "write"), "{all:?}");
    assert!(!all.is_empty());
}

async fn list_filter_page_and_export(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..3 {
        app.create_token(&app.key_a, token_for("alice", &format!("p{i}")))
            .await;
        app.tokens()
            .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
            .await
            .expect("list");
    }
    app.create_token(&app.key_b, token_for("bob", "b")).await;
    at_least(&app, 6).await;
    let mut audit = pb::audit_service_client::AuditServiceClient::new(app.channel.clone());
    let writes = pb::ListAuditEventsRequest {
        kind: pb::AuditKind::Write.into(),
        page_size: 2,
        ..Default::default()
    };
    let p1 = audit
        .list_audit_events(authed(&app.key_a, writes.clone()))
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(p1.events.len(), 2);
    assert!(
        p1.events
            .iter()
            .all(|e| e.kind == pb::AuditKind::Write as i32 && e.method.ends_with("/CreateToken"))
    );
    let p2 = audit
        .list_audit_events(authed(
            &app.key_a,
            pb::ListAuditEventsRequest {
                page_token: p1.next_page_token.clone(),
                ..writes.clone()
            },
        ))
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(p2.events.len(), 1, "three writes in org A");
    assert!(p2.next_page_token.is_empty());
    assert!(
        p1.events[0].id > p1.events[1].id && p1.events[1].id > p2.events[0].id,
        "newest first"
    );
    // Another filter with the same token: refused.
    let reads = pb::ListAuditEventsRequest {
        kind: pb::AuditKind::Read.into(),
        page_token: p1.next_page_token,
        ..Default::default()
    };
    let e = audit
        .list_audit_events(authed(&app.key_a, reads))
        .await
        .expect_err("token of another query");
    assert_eq!(e.code(), Code::InvalidArgument);
    // Org B sees its own event only; a key without admin sees none.
    let b = audit
        .list_audit_events(authed(&app.key_b, pb::ListAuditEventsRequest::default()))
        .await
        .expect("b")
        .into_inner();
    assert!(
        b.events.iter().all(|e| e.user_id == "bob"),
        "{:?}",
        b.events
    );
    let reader = app
        .key(&app.org_a, None, vec![Permission::TokensRead])
        .await;
    let e = audit
        .list_audit_events(authed(&reader, pb::ListAuditEventsRequest::default()))
        .await
        .expect_err("admin only");
    assert_eq!(e.code(), Code::PermissionDenied);
    // Export: every event of org A, streamed.
    let mut s = audit
        .export_audit_events(authed(&app.key_a, pb::ExportAuditEventsRequest::default()))
        .await
        .expect("export")
        .into_inner();
    let mut n = 0;
    while let Some(page) = s.message().await.expect("page") {
        n += page.events.len();
    }
    assert!(n >= 6, "{n}");
}

crate::backend_tests!(
    every_rpc_and_face_is_audited,
    a_write_is_audited_in_its_transaction,
    reads_can_be_left_out,
    list_filter_page_and_export,
);
