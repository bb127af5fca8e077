//! Who may watch what, and the limits: a watch sees only its own
//! organization's events and needs the read scope; WatchClients; watches
//! count against the stream cap and end with a resume point on drain.

use std::time::Duration;

use super::watch::{new_token, next, next_change, watch};
use crate::common::{Backend, authed, spawn_app, spawn_with};
use oauth_registry::domain::auth::Permission;
use oauth_registry::grpc::pb;
use tonic::Code;

fn from(version: i64) -> pb::WatchTokensRequest {
    pb::WatchTokensRequest {
        start_version: Some(version),
        ..Default::default()
    }
}

async fn tenancy_and_scopes(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut b_events = watch(&app, &app.key_b, pb::WatchTokensRequest::default())
        .await
        .expect("b watches");
    let b_start = next(&mut b_events).await;
    let (a_token, _) = app.create_token(&app.key_a, new_token("org-a")).await;
    let (b_token, _) = app.create_token(&app.key_b, new_token("org-b")).await;
    let e = next_change(&mut b_events).await;
    assert_eq!(
        e.token.expect("row").id,
        b_token.id,
        "org B sees only its own"
    );
    assert_ne!(a_token.id, b_token.id);

    // Org A's resume token is refused to org B.
    let mut a_events = watch(&app, &app.key_a, from(0)).await.expect("a watches");
    let a_event = next_change(&mut a_events).await;
    let cross = pb::WatchTokensRequest {
        resume_token: a_event.resume_token,
        ..Default::default()
    };
    assert_eq!(
        watch(&app, &app.key_b, cross)
            .await
            .expect_err("cross")
            .code(),
        Code::InvalidArgument
    );
    assert!(!b_start.resume_token.is_empty());

    let writer = app
        .key(&app.org_a, None, vec![Permission::TokensWrite])
        .await;
    let denied = watch(&app, &writer, pb::WatchTokensRequest::default())
        .await
        .expect_err("no tokens:read");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let tokens_only = app
        .key(&app.org_a, None, vec![Permission::TokensRead])
        .await;
    let clients = app
        .clients()
        .watch_clients(authed(&tokens_only, pb::WatchClientsRequest::default()))
        .await
        .expect_err("no clients:read");
    assert_eq!(clients.code(), Code::PermissionDenied);
}

async fn clients_are_watched_too(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut events = app
        .clients()
        .watch_clients(authed(&app.key_a, pb::WatchClientsRequest::default()))
        .await
        .expect("watch")
        .into_inner();
    let id = app.create_client(&app.key_a, "web").await;
    app.clients()
        .delete_client(authed(
            &app.key_a,
            pb::DeleteClientRequest {
                client_id: id.clone(),
                force: true,
                ..Default::default()
            },
        ))
        .await
        .expect("delete");
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        let e = tokio::time::timeout(Duration::from_secs(10), events.message())
            .await
            .expect("in time")
            .expect("ok")
            .expect("open");
        if let Some(c) = e.client {
            assert_eq!(c.client_id, id);
            kinds.push(e.kind);
        }
    }
    assert_eq!(
        kinds,
        [
            pb::ChangeKind::Created as i32,
            pb::ChangeKind::Deleted as i32
        ]
    );
}

async fn watches_count_as_streams_and_end_on_drain(backend: Backend) {
    let app = spawn_with(backend, |c| c.max_streams = 1).await;
    let mut events = watch(&app, &app.key_a, pb::WatchTokensRequest::default())
        .await
        .expect("first");
    let bookmark = next(&mut events).await;
    let second = watch(&app, &app.key_a, pb::WatchTokensRequest::default())
        .await
        .expect_err("cap");
    assert_eq!(second.code(), Code::ResourceExhausted);

    app.registry.begin_drain();
    let last = next(&mut events).await;
    assert_eq!(
        last.kind,
        pb::ChangeKind::Bookmark as i32,
        "ends with where to resume"
    );
    assert_eq!(last.version, bookmark.version);
    let end = tokio::time::timeout(Duration::from_secs(10), events.message())
        .await
        .expect("ends in time")
        .expect_err("ends with a status");
    assert_eq!(end.code(), Code::Unavailable);
    assert!(end.message().contains("shutting down"), "{}", end.message());
}

crate::backend_tests!(
    tenancy_and_scopes,
    clients_are_watched_too,
    watches_count_as_streams_and_end_on_drain,
);
