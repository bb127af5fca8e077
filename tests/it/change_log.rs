//! The change log under the store, on both backends: every write of a
//! token or client appends its events in the same transaction with the
//! organization's next versions; events carry the row before and after;
//! an organization sees only its own; and under overlapping writers a
//! reader that follows the feed never skips or repeats a version.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::common::{Backend, TestApp, spawn_app, token_rows};
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::change::{ChangeKind, Version};
use oauth_registry::domain::ids::OrgId;
use oauth_registry::domain::patch::TokenPatch;
use oauth_registry::store::Store;

fn store(app: &TestApp) -> Arc<dyn Store> {
    app.registry.store().clone()
}

async fn token_events(
    store: &Arc<dyn Store>,
    org: &OrgId,
    after: i64,
) -> Vec<(i64, ChangeKind, String)> {
    store
        .token_changes(org, Version(after), 1000)
        .await
        .expect("changes")
        .changes
        .into_iter()
        .map(|c| (c.version.0, c.kind, c.id))
        .collect()
}

async fn every_write_appends_its_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = store(&app);
    let org = app.org_a.clone();
    assert_eq!(store.read_version(&org).await.expect("version"), Version(0));

    let rows = token_rows(&org, 3);
    store.insert_tokens(&rows).await.expect("insert");
    let ids: Vec<_> = rows.iter().map(|r| r.token.id.clone()).collect();
    let created = crate::common::settled_version(&store, &org).await;

    let patch = TokenPatch {
        name: Some("renamed".into()),
        ..Default::default()
    };
    store
        .update_token(&org, &ids[0], &patch, Timestamp::now(), Default::default())
        .await
        .expect("update");
    store
        .revoke_token(&org, &ids[1], Timestamp::now())
        .await
        .expect("revoke");
    // Revoking again changes nothing and records nothing.
    store
        .revoke_token(&org, &ids[1], Timestamp::now())
        .await
        .expect("revoke again");
    assert!(
        store
            .delete_token(&org, &ids[2], Default::default())
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_token(&org, &ids[2], Default::default())
            .await
            .expect("delete again")
    );

    let last = crate::common::settled_version(&store, &org).await;
    let events = token_events(&store, &org, 0).await;
    let kinds: Vec<_> = events.iter().map(|(_, k, _)| *k).collect();
    assert_eq!(
        kinds,
        vec![
            ChangeKind::Created,
            ChangeKind::Created,
            ChangeKind::Created,
            ChangeKind::Updated,
            ChangeKind::Revoked,
            ChangeKind::Deleted,
        ]
    );
    let v: Vec<i64> = events.iter().map(|(v, _, _)| *v).collect();
    // One transaction's events are consecutive; later ones above them
    // (SQLite numbers 1, 2, 3…; PostgreSQL by transaction, with gaps).
    assert_eq!((v[1], v[2]), (v[0] + 1, v[0] + 2));
    assert!(v.windows(2).all(|w| w[0] < w[1]), "in order: {v:?}");
    assert_eq!(created, Version(v[2]), "the version after the insert");
    assert_eq!(last, Version(v[5]), "the version is the last change");
    if backend == Backend::Sqlite {
        assert_eq!(v, vec![1, 2, 3, 4, 5, 6]);
    }
    let page = store
        .token_changes(&org, created, 10)
        .await
        .expect("changes");
    assert!(page.head >= last);
    let [update, revoke, delete] = &page.changes[..] else {
        panic!("three changes after version 3: {:?}", page.changes);
    };
    assert_eq!(
        update.before.as_ref().expect("before").name,
        rows[0].token.name
    );
    assert_eq!(update.after.as_ref().expect("after").name, "renamed");
    assert!(revoke.before.as_ref().expect("before").revoked_at.is_none());
    assert!(revoke.after.as_ref().expect("after").revoked_at.is_some());
    assert_eq!(delete.before.as_ref().expect("before").id, ids[2]);
    assert!(delete.after.is_none());
    // Resuming after the last one: nothing, at the head.
    let rest = store.token_changes(&org, last, 10).await.expect("changes");
    assert!(rest.changes.is_empty());
    assert!(rest.head >= last);

    // The other organization sees none of it.
    let other = store
        .token_changes(&app.org_b, Version(0), 10)
        .await
        .expect("changes");
    assert!(other.changes.is_empty());
    assert_eq!(
        store.read_version(&app.org_b).await.expect("version"),
        Version(0)
    );
}

async fn client_writes_and_cascades_are_recorded(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = store(&app);
    let org = app.org_a.clone();
    let client_id = app.create_client(&app.key_a, "feed-client").await;
    // Each read below waits until the writes are readable (PostgreSQL:
    // another test's transaction can hold the watermark for a moment).
    crate::common::settled_version(&store, &org).await;
    let created = store
        .client_changes(&org, Version(0), 10)
        .await
        .expect("changes");
    assert_eq!(created.changes.len(), 1);
    assert_eq!(created.changes[0].kind, ChangeKind::Created);
    assert_eq!(created.changes[0].id, client_id);
    let after_create = created.head.0;

    // A token issued through the client marks it used: a client change too.
    let mut token = crate::common::token_for("user-1", "through-client");
    token.client_id = client_id.clone();
    app.create_token(&app.key_a, token).await;
    crate::common::settled_version(&store, &org).await;
    let tokens = store
        .token_changes(&org, Version(after_create), 10)
        .await
        .expect("changes");
    assert_eq!(tokens.changes.len(), 1);
    let clients = store
        .client_changes(&org, Version(after_create), 10)
        .await
        .expect("changes");
    assert_eq!(clients.changes.len(), 1);
    assert_eq!(clients.changes[0].kind, ChangeKind::Updated);
    assert!(
        clients.changes[0]
            .before
            .as_ref()
            .expect("before")
            .last_used
            .is_none()
    );
    assert!(
        clients.changes[0]
            .after
            .as_ref()
            .expect("after")
            .last_used
            .is_some()
    );

    // Deleting it with force deletes its token: both are recorded, in one
    // transaction (consecutive versions).
    let head = crate::common::settled_version(&store, &org).await.0;
    let mut clients_api = app.clients();
    clients_api
        .delete_client(crate::common::authed(
            &app.key_a,
            oauth_registry::grpc::pb::DeleteClientRequest {
                client_id: client_id.clone(),
                force: true,
                ..Default::default()
            },
        ))
        .await
        .expect("delete client");
    crate::common::settled_version(&store, &org).await;
    let deleted_tokens = token_events(&store, &org, head).await;
    assert_eq!(deleted_tokens.len(), 1);
    assert_eq!(deleted_tokens[0].1, ChangeKind::Deleted);
    let deleted_clients = store
        .client_changes(&org, Version(head), 10)
        .await
        .expect("changes");
    assert_eq!(deleted_clients.changes.len(), 1);
    assert_eq!(deleted_clients.changes[0].kind, ChangeKind::Deleted);
    assert_eq!(
        deleted_clients.changes[0].version.0,
        deleted_tokens[0].0 + 1
    );
    assert!(deleted_clients.changes[0].after.is_none());
}

/// Writers overlap (several transactions in flight at once, on PostgreSQL
/// truly concurrent up to the counter row) while a reader follows the feed
/// as a watch does: from its last version, moving to the head when a page
/// is short. It must see every version exactly once, in order.
async fn a_follower_never_skips_a_commit(backend: Backend) {
    const WRITERS: usize = 8;
    const EACH: usize = 40;
    let app = spawn_app(backend).await;
    let store = store(&app);
    let org = app.org_a.clone();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (store, org) = (store.clone(), org.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                let rows = token_rows(&org, 1 + (w + i) % 3);
                store.insert_tokens(&rows).await.expect("insert");
                let patch = TokenPatch {
                    description: Some(format!("writer {w} step {i}")),
                    ..Default::default()
                };
                store
                    .update_token(
                        &org,
                        &rows[0].token.id,
                        &patch,
                        Timestamp::now(),
                        Default::default(),
                    )
                    .await
                    .expect("update");
            }
        }));
    }
    let mut seen = Vec::new();
    let mut position = 0i64;
    let done = |writers: &Vec<tokio::task::JoinHandle<()>>| writers.iter().all(|w| w.is_finished());
    loop {
        let finished = done(&writers);
        let page = store
            .token_changes(&org, Version(position), 7)
            .await
            .expect("changes");
        for c in &page.changes {
            assert!(
                c.version.0 > position,
                "out of order: {} after {position}",
                c.version.0
            );
            seen.push(c.version.0);
            position = c.version.0;
        }
        if page.changes.len() < 7 {
            position = page.head.0;
            // Finished writers have committed; `pending` says some of
            // their changes still wait above the head (PostgreSQL).
            if finished && !page.pending {
                break;
            }
        }
    }
    for w in writers {
        w.await.expect("writer");
    }
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a version was delivered twice");
    let stored: BTreeSet<i64> = token_events(&store, &org, 0)
        .await
        .into_iter()
        .map(|(v, _, _)| v)
        .collect();
    let written: usize = (0..WRITERS)
        .flat_map(|w| (0..EACH).map(move |i| 1 + (w + i) % 3 + 1))
        .sum();
    assert_eq!(stored.len(), written);
    assert_eq!(unique, stored, "versions skipped");
}

/// A create that fails half way (a duplicate id: the token insert fails,
/// its event and audit statements never run) leaves nothing behind and no
/// transaction open: the writes after it go through at once (SQLite runs a
/// one-token create as one call to its connection's thread, see
/// `SqliteStore::try_create_in_one_hop`).
async fn a_failed_create_leaves_nothing_open(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = store(&app);
    let org = app.org_a.clone();
    let rows = token_rows(&org, 1);
    store.insert_tokens(&rows).await.expect("first");
    for _ in 0..3 {
        store
            .insert_tokens(&rows)
            .await
            .expect_err("the same id again");
    }
    for _ in 0..5 {
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            store.insert_tokens(&token_rows(&org, 1)),
        )
        .await
        .expect("not blocked by the failed writes")
        .expect("a later write");
    }
    crate::common::settled_version(&store, &org).await;
    let events = token_events(&store, &org, 0).await;
    assert_eq!(events.len(), 6, "one event per created token: {events:?}");
}

crate::backend_tests!(
    a_failed_create_leaves_nothing_open,
    every_write_appends_its_event,
    client_writes_and_cascades_are_recorded,
    a_follower_never_skips_a_commit,
);
