//! WatchTokens over gRPC, on both backends: events in order with whole
//! rows and no secret, resume with no gap and no duplicate, bookmarks while
//! nothing matches, before-or-after matching, the floor (re-list) and bad
//! starts. `watch_access.rs`: tenancy, scopes, clients, limits, drain.

use std::time::Duration;

use crate::common::{Backend, TestApp, authed, spawn_app, spawn_with};
use oauth_registry::grpc::pb;
use tonic::{Code, Streaming};

pub(crate) type Events = Streaming<pb::WatchTokensResponse>;

pub(crate) async fn watch(
    app: &TestApp,
    key: &str,
    req: pb::WatchTokensRequest,
) -> Result<Events, tonic::Status> {
    Ok(app
        .tokens()
        .watch_tokens(authed(key, req))
        .await?
        .into_inner())
}

pub(crate) async fn next(events: &mut Events) -> pb::WatchTokensResponse {
    tokio::time::timeout(Duration::from_secs(10), events.message())
        .await
        .expect("an event within 10 s")
        .expect("no error")
        .expect("stream open")
}

/// The next event that is not a bookmark.
pub(crate) async fn next_change(events: &mut Events) -> pb::WatchTokensResponse {
    loop {
        let e = next(events).await;
        if e.kind != pb::ChangeKind::Bookmark as i32 {
            return e;
        }
    }
}

pub(crate) fn new_token(name: &str) -> pb::Token {
    pb::Token {
        user_id: "alice".into(),
        name: name.into(),
        ..Default::default()
    }
}

fn from(version: i64) -> pb::WatchTokensRequest {
    pb::WatchTokensRequest {
        start_version: Some(version),
        ..Default::default()
    }
}

async fn events_in_order_then_resume(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut events = watch(&app, &app.key_a, pb::WatchTokensRequest::default())
        .await
        .expect("watch from now");
    // Caught up at once: a bookmark at the current version.
    let first = next(&mut events).await;
    assert_eq!(first.kind, pb::ChangeKind::Bookmark as i32);
    assert!(first.token.is_none() && !first.resume_token.is_empty());

    let (t, secret) = app.create_token(&app.key_a, new_token("one")).await;
    let mut api = app.tokens();
    api.revoke_token(authed(
        &app.key_a,
        pb::RevokeTokenRequest { id: t.id.clone() },
    ))
    .await
    .expect("revoke");
    api.delete_token(authed(
        &app.key_a,
        pb::DeleteTokenRequest {
            id: t.id.clone(),
            ..Default::default()
        },
    ))
    .await
    .expect("delete");
    let mut seen = Vec::new();
    for kind in [
        pb::ChangeKind::Created,
        pb::ChangeKind::Revoked,
        pb::ChangeKind::Deleted,
    ] {
        let e = next_change(&mut events).await;
        assert_eq!(e.kind, kind as i32);
        let row = e.token.clone().expect("a row");
        assert_eq!(row.id, t.id);
        assert!(e.change_time.is_some() && !e.resume_token.is_empty());
        assert!(!format!("{e:?}").contains(&secret), "no secret in events");
        seen.push(e);
    }
    assert!(seen[1].token.as_ref().expect("row").revoke_time.is_some());
    assert!(seen.windows(2).all(|w| w[1].version > w[0].version));

    // Resume after the first: exactly the second and third, on a new call.
    let mut resumed = watch(
        &app,
        &app.key_a,
        pb::WatchTokensRequest {
            resume_token: seen[0].resume_token.clone(),
            ..Default::default()
        },
    )
    .await
    .expect("resume");
    assert_eq!(next_change(&mut resumed).await.version, seen[1].version);
    assert_eq!(next_change(&mut resumed).await.version, seen[2].version);
    // Then nothing but a bookmark at the head.
    let b = next(&mut resumed).await;
    assert_eq!(
        (b.kind, b.version),
        (pb::ChangeKind::Bookmark as i32, seen[2].version)
    );

    // start_version is the same position as the version's resume token.
    let mut again = watch(&app, &app.key_a, from(seen[1].version))
        .await
        .expect("from version");
    assert_eq!(next_change(&mut again).await.version, seen[2].version);
}

async fn bookmarks_move_while_nothing_matches(backend: Backend) {
    let app = spawn_with(backend, |c| {
        c.watch_bookmark_every = Duration::from_millis(200)
    })
    .await;
    let quiet = pb::WatchTokensRequest {
        filter: r#"user_id = "nobody""#.into(),
        ..Default::default()
    };
    let mut events = watch(&app, &app.key_a, quiet.clone()).await.expect("watch");
    let start = next(&mut events).await.version;
    for i in 0..3 {
        app.create_token(&app.key_a, new_token(&format!("n{i}")))
            .await;
    }
    let head = crate::common::settled_version(app.registry.store(), &app.org_a)
        .await
        .0;
    let mut last = start;
    while last < head {
        let e = next(&mut events).await;
        assert_eq!(
            e.kind,
            pb::ChangeKind::Bookmark as i32,
            "nothing matches the filter"
        );
        last = e.version;
    }
    assert_eq!(last, head);
    // A bookmark's token resumes at its version.
    let tail = next(&mut events).await;
    let mut resumed = watch(
        &app,
        &app.key_a,
        pb::WatchTokensRequest {
            resume_token: tail.resume_token,
            ..quiet
        },
    )
    .await
    .expect("resume from a bookmark");
    assert_eq!(next(&mut resumed).await.version, head);
}

async fn matching_before_or_after(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut events = watch(
        &app,
        &app.key_a,
        pb::WatchTokensRequest {
            filter: "status = ACTIVE".into(),
            ..Default::default()
        },
    )
    .await
    .expect("watch");
    next(&mut events).await;
    let (t, _) = app.create_token(&app.key_a, new_token("leaves")).await;
    app.tokens()
        .revoke_token(authed(
            &app.key_a,
            pb::RevokeTokenRequest { id: t.id.clone() },
        ))
        .await
        .expect("revoke");
    // Revoked no longer matches, but did before: delivered, so the
    // watcher can drop it. A later change of the revoked row is not.
    app.tokens()
        .delete_token(authed(
            &app.key_a,
            pb::DeleteTokenRequest {
                id: t.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("delete");
    let (u, _) = app.create_token(&app.key_a, new_token("stays")).await;
    let a = next_change(&mut events).await;
    let b = next_change(&mut events).await;
    let c = next_change(&mut events).await;
    assert_eq!(
        (a.kind, a.token.expect("row").id),
        (pb::ChangeKind::Created as i32, t.id.clone())
    );
    assert_eq!(
        (b.kind, b.token.expect("row").id),
        (pb::ChangeKind::Revoked as i32, t.id)
    );
    assert_eq!(
        (c.kind, c.token.expect("row").id),
        (pb::ChangeKind::Created as i32, u.id)
    );
}

async fn floor_and_bad_starts(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..10 {
        app.create_token(&app.key_a, new_token(&format!("f{i}")))
            .await;
    }
    let head = crate::common::settled_version(app.registry.store(), &app.org_a)
        .await
        .0;
    let versions: Vec<i64> = app
        .registry
        .store()
        .token_changes(&app.org_a, oauth_registry::domain::change::Version(0), 100)
        .await
        .expect("changes")
        .changes
        .iter()
        .map(|c| c.version.0)
        .collect();
    assert_eq!((versions.len(), versions[9]), (10, head));
    app.registry
        .trim_changes(Duration::from_secs(3600), 3)
        .await
        .expect("trim");
    let e = watch(&app, &app.key_a, from(0))
        .await
        .expect_err("below the floor");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("re-list"), "{}", e.message());
    // Three kept: the floor is the fourth newest.
    let mut ok = watch(&app, &app.key_a, from(versions[6]))
        .await
        .expect("at the floor");
    assert_eq!(next_change(&mut ok).await.version, versions[7]);

    let ahead = watch(&app, &app.key_a, from(head + 1))
        .await
        .expect_err("ahead");
    assert_eq!(ahead.code(), Code::InvalidArgument);
    let negative = watch(&app, &app.key_a, from(-1))
        .await
        .expect_err("negative");
    assert_eq!(negative.code(), Code::InvalidArgument);
    let both = pb::WatchTokensRequest {
        resume_token: "x".into(),
        start_version: Some(1),
        ..Default::default()
    };
    assert_eq!(
        watch(&app, &app.key_a, both)
            .await
            .expect_err("both")
            .code(),
        Code::InvalidArgument
    );
    let forged = pb::WatchTokensRequest {
        resume_token: "eyJ2IjoxfQ".into(),
        ..Default::default()
    };
    assert_eq!(
        watch(&app, &app.key_a, forged)
            .await
            .expect_err("forged")
            .code(),
        Code::InvalidArgument
    );
    let bad_filter = pb::WatchTokensRequest {
        filter: "nope ==".into(),
        ..Default::default()
    };
    assert_eq!(
        watch(&app, &app.key_a, bad_filter)
            .await
            .expect_err("filter")
            .code(),
        Code::InvalidArgument
    );
}

crate::backend_tests!(
    events_in_order_then_resume,
    bookmarks_move_while_nothing_matches,
    matching_before_or_after,
    floor_and_bad_starts,
);
