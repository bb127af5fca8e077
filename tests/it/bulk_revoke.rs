//! Bulk revoke and delete by filter, on both backends: dry run then
//! confirm; a stale confirmation is refused; a run interrupted after a
//! batch resumes with the same token and every matched token is revoked
//! exactly once (one event each, one revoke time); delete and per-client
//! revoke; guards; tenancy and scopes; the canonical REST routes.

use std::collections::HashMap;

use crate::common::{Backend, TestApp, authed, spawn_app, token_for};
use oauth_registry::domain::auth::Permission;
use oauth_registry::domain::bulk::{BulkAction, BulkSelection, confirm};
use oauth_registry::domain::change::{ChangeKind, Version};
use oauth_registry::domain::filter_expr::token_filter;
use oauth_registry::grpc::pb;
use tonic::Code;

const VICTIM: &str = r#"user_id = "victim""#;

async fn tokens_of(app: &TestApp, key: &str, user: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            app.create_token(key, token_for(user, &format!("{user}-{i}")))
                .await
                .0
                .id,
        );
    }
    ids
}

fn revoke(filter: &str, dry_run: bool, confirmation_token: &str) -> pb::RevokeTokensRequest {
    pb::RevokeTokensRequest {
        filter: filter.into(),
        dry_run,
        confirmation_token: confirmation_token.into(),
        ..Default::default()
    }
}

async fn revoked_ids(app: &TestApp, key: &str, filter: &str) -> Vec<String> {
    let f = format!("{filter} AND status = REVOKED");
    let page = app
        .tokens()
        .list_tokens(authed(
            key,
            pb::ListTokensRequest {
                filter: f,
                page_size: 1000,
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner();
    page.tokens.into_iter().map(|t| t.id).collect()
}

async fn dry_run_then_confirm(backend: Backend) {
    let app = spawn_app(backend).await;
    let victims = tokens_of(&app, &app.key_a, "victim", 30).await;
    tokens_of(&app, &app.key_a, "other", 5).await;
    let mut api = app.tokens();
    let dry = api
        .revoke_tokens(authed(&app.key_a, revoke(VICTIM, true, "")))
        .await
        .expect("dry")
        .into_inner();
    assert_eq!((dry.matched, dry.remaining, dry.finished), (30, 30, false));
    assert_eq!(dry.sample.len(), 10);
    assert!(dry.sample.iter().all(|t| t.user_id == "victim"));
    assert!(
        revoked_ids(&app, &app.key_a, VICTIM).await.is_empty(),
        "a dry run changes nothing"
    );

    let e = api
        .revoke_tokens(authed(&app.key_a, revoke(VICTIM, false, "")))
        .await
        .expect_err("no token");
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = api
        .revoke_tokens(authed(
            &app.key_a,
            revoke(r#"user_id = "other""#, false, &dry.confirmation_token),
        ))
        .await
        .expect_err("other filter");
    assert_eq!(e.code(), Code::InvalidArgument);

    let run = api
        .revoke_tokens(authed(
            &app.key_a,
            revoke(VICTIM, false, &dry.confirmation_token),
        ))
        .await
        .expect("run")
        .into_inner();
    assert_eq!(
        (run.matched, run.done, run.remaining, run.finished),
        (30, 30, 0, true)
    );
    let mut got = revoked_ids(&app, &app.key_a, VICTIM).await;
    let mut want = victims.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(
        revoked_ids(&app, &app.key_a, r#"user_id = "other""#)
            .await
            .is_empty()
    );
    // The same token again: the finished job, nothing more.
    let again = api
        .revoke_tokens(authed(
            &app.key_a,
            revoke(VICTIM, false, &dry.confirmation_token),
        ))
        .await
        .expect("idempotent")
        .into_inner();
    assert_eq!((again.done, again.finished), (30, true));

    // Guards.
    let e = api
        .revoke_tokens(authed(&app.key_a, revoke("", true, "")))
        .await
        .expect_err("empty filter");
    assert_eq!(e.code(), Code::InvalidArgument);
    let everything = pb::RevokeTokensRequest {
        all: true,
        dry_run: true,
        ..Default::default()
    };
    let all = api
        .revoke_tokens(authed(&app.key_a, everything))
        .await
        .expect("all")
        .into_inner();
    assert_eq!(all.matched, 5, "only the tokens not revoked yet");
    let capped = pb::RevokeTokensRequest {
        max_matches: Some(4),
        ..revoke(r#"user_id = "other""#, true, "")
    };
    let e = api
        .revoke_tokens(authed(&app.key_a, capped))
        .await
        .expect_err("max_matches");
    assert_eq!(e.code(), Code::FailedPrecondition);
}

async fn a_stale_confirmation_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let victims = tokens_of(&app, &app.key_a, "victim", 4).await;
    let mut api = app.tokens();
    let dry = api
        .revoke_tokens(authed(&app.key_a, revoke(VICTIM, true, "")))
        .await
        .expect("dry")
        .into_inner();
    // A token created after the dry run is not part of it: still fresh.
    tokens_of(&app, &app.key_a, "victim", 1).await;
    // One of the matched tokens is revoked on its own: the count moved.
    api.revoke_token(authed(
        &app.key_a,
        pb::RevokeTokenRequest {
            id: victims[0].clone(),
        },
    ))
    .await
    .expect("revoke one");
    let e = api
        .revoke_tokens(authed(
            &app.key_a,
            revoke(VICTIM, false, &dry.confirmation_token),
        ))
        .await
        .expect_err("stale");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("stale"), "{}", e.message());
}

async fn an_interrupted_run_resumes_and_revokes_each_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = app.registry.store().clone();
    let rows = crate::common::token_rows(&app.org_a, 1234);
    let matched = rows.iter().filter(|r| r.token.revoked_at.is_none()).count() as i64;
    store.insert_tokens(&rows).await.expect("insert");
    let filter = r#"name = "*""#;
    let mut api = app.tokens();
    let dry = api
        .revoke_tokens(authed(&app.key_a, revoke(filter, true, "")))
        .await
        .expect("dry")
        .into_inner();
    assert_eq!(dry.matched, matched);
    // Settled versions (PostgreSQL: another test's transaction can hold
    // the watermark below this organization's last writes for a moment).
    let before = crate::common::settled_version(&store, &app.org_a).await;

    // The run that crashed: its job was recorded and one batch committed.
    let parsed = token_filter(filter).expect("filter");
    let c = confirm(
        &testing_codec(&app).await,
        &dry.confirmation_token,
        &app.org_a,
        BulkAction::Revoke,
        &parsed.canonical(),
    )
    .expect("confirm");
    let sel = BulkSelection {
        org_id: app.org_a.clone(),
        filter: parsed,
        as_of: c.as_of,
        action: BulkAction::Revoke,
    };
    let job = store
        .start_bulk_job(
            &sel,
            &c.job_id,
            c.matched,
            oauth_registry::domain::Timestamp::now(),
        )
        .await
        .expect("job");
    let first = store
        .bulk_batch(&sel, &c.job_id, job.acted_at, 500)
        .await
        .expect("batch")
        .expect("some");
    assert_eq!(first, 500);

    let run = api
        .revoke_tokens(authed(
            &app.key_a,
            revoke(filter, false, &dry.confirmation_token),
        ))
        .await
        .expect("resumed")
        .into_inner();
    assert_eq!((run.done, run.finished), (matched, true));
    crate::common::settled_version(&store, &app.org_a).await;
    let page = store
        .token_changes(&app.org_a, before, 10_000)
        .await
        .expect("changes");
    let mut per_token: HashMap<String, usize> = HashMap::new();
    for ch in &page.changes {
        assert_eq!(ch.kind, ChangeKind::Revoked);
        assert_eq!(
            ch.after.as_ref().and_then(|t| t.revoked_at),
            Some(job.acted_at),
            "one revoke time"
        );
        *per_token.entry(ch.id.clone()).or_default() += 1;
    }
    assert_eq!(
        per_token.len() as i64,
        matched,
        "every matched token revoked"
    );
    assert!(per_token.values().all(|n| *n == 1), "each exactly once");
    assert!(page.head > Version(before.0 + 2), "in several batches");
}

/// The registry's signing codec, through a dry run's own token: the test
/// opens tokens with the key the server stored.
async fn testing_codec(app: &TestApp) -> oauth_registry::domain::cursor::CursorCodec {
    let key = app
        .registry
        .store()
        .server_key("cursor_hmac_v1", b"unused")
        .await
        .expect("key");
    oauth_registry::domain::cursor::CursorCodec::new(key)
}

async fn delete_and_per_client_revoke(backend: Backend) {
    let app = spawn_app(backend).await;
    tokens_of(&app, &app.key_a, "victim", 3).await;
    let mut api = app.tokens();
    let del = |dry_run: bool, token: &str| pb::DeleteTokensRequest {
        filter: VICTIM.into(),
        dry_run,
        confirmation_token: token.into(),
        ..Default::default()
    };
    let dry = api
        .delete_tokens(authed(&app.key_a, del(true, "")))
        .await
        .expect("dry")
        .into_inner();
    // A revoke's token does not confirm a delete.
    let e = api
        .revoke_tokens(authed(
            &app.key_a,
            revoke(VICTIM, false, &dry.confirmation_token),
        ))
        .await
        .expect_err("action");
    assert_eq!(e.code(), Code::InvalidArgument);
    let run = api
        .delete_tokens(authed(&app.key_a, del(false, &dry.confirmation_token)))
        .await
        .expect("run")
        .into_inner();
    assert_eq!(run.done, 3);
    let n = api
        .count_tokens(authed(
            &app.key_a,
            pb::CountTokensRequest {
                filter: VICTIM.into(),
            },
        ))
        .await
        .expect("count")
        .into_inner()
        .total_size;
    assert_eq!(n, 0);

    let client = app.create_client(&app.key_a, "leaky").await;
    for i in 0..3 {
        let mut t = token_for("u", &format!("c{i}"));
        t.client_id = client.clone();
        t.redirect_uri = "https://app.example.com/cb".into();
        app.create_token(&app.key_a, t).await;
    }
    tokens_of(&app, &app.key_a, "u", 2).await;
    let per_client = |dry_run: bool, token: &str| pb::RevokeClientTokensRequest {
        client_id: client.clone(),
        dry_run,
        confirmation_token: token.into(),
        ..Default::default()
    };
    let dry = api
        .revoke_client_tokens(authed(&app.key_a, per_client(true, "")))
        .await
        .expect("dry")
        .into_inner();
    assert_eq!(dry.matched, 3);
    let run = api
        .revoke_client_tokens(authed(
            &app.key_a,
            per_client(false, &dry.confirmation_token),
        ))
        .await
        .expect("run")
        .into_inner();
    assert_eq!(run.done, 3);
    assert_eq!(
        revoked_ids(&app, &app.key_a, r#"user_id = "u""#)
            .await
            .len(),
        3
    );
    let unknown = pb::RevokeClientTokensRequest {
        client_id: uuid::Uuid::now_v7().to_string(),
        dry_run: true,
        ..Default::default()
    };
    let e = api
        .revoke_client_tokens(authed(&app.key_a, unknown))
        .await
        .expect_err("unknown client");
    assert_eq!(e.code(), Code::NotFound);
}

async fn tenancy_and_scopes(backend: Backend) {
    let app = spawn_app(backend).await;
    tokens_of(&app, &app.key_a, "victim", 2).await;
    tokens_of(&app, &app.key_b, "victim", 3).await;
    let mut api = app.tokens();
    let dry_b = api
        .revoke_tokens(authed(&app.key_b, revoke(VICTIM, true, "")))
        .await
        .expect("dry b")
        .into_inner();
    assert_eq!(dry_b.matched, 3, "org B counts only its own");
    let e = api
        .revoke_tokens(authed(
            &app.key_a,
            revoke(VICTIM, false, &dry_b.confirmation_token),
        ))
        .await
        .expect_err("B's token for A");
    assert_eq!(e.code(), Code::InvalidArgument);
    api.revoke_tokens(authed(
        &app.key_b,
        revoke(VICTIM, false, &dry_b.confirmation_token),
    ))
    .await
    .expect("run b");
    assert!(
        revoked_ids(&app, &app.key_a, VICTIM).await.is_empty(),
        "org A untouched"
    );
    let reader = app
        .key(&app.org_a, None, vec![Permission::TokensRead])
        .await;
    let e = api
        .revoke_tokens(authed(&reader, revoke(VICTIM, true, "")))
        .await
        .expect_err("needs tokens:write");
    assert_eq!(e.code(), Code::PermissionDenied);
}

async fn over_rest(backend: Backend) {
    let app = spawn_app(backend).await;
    tokens_of(&app, &app.key_a, "victim", 2).await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{}{path}", app.rest))
            .bearer_auth(&app.key_a)
            .json(&body)
            .send()
    };
    let dry: serde_json::Value = post(
        "/v1/tokens:revoke",
        serde_json::json!({"filter": VICTIM, "dryRun": true}),
    )
    .await
    .expect("dry")
    .json()
    .await
    .expect("json");
    assert_eq!(dry["matched"], "2");
    let token = dry["confirmationToken"].as_str().expect("token");
    let run: serde_json::Value = post(
        "/v1/tokens:revoke",
        serde_json::json!({"filter": VICTIM, "confirmationToken": token}),
    )
    .await
    .expect("run")
    .json()
    .await
    .expect("json");
    assert_eq!(
        (run["done"].as_str(), run["finished"].as_bool()),
        (Some("2"), Some(true))
    );
    let stale = post("/v1/tokens:delete", serde_json::json!({"filter": VICTIM}))
        .await
        .expect("no token");
    assert_eq!(stale.status(), 400);
    let client = app.create_client(&app.key_a, "c").await;
    let r = post(
        &format!("/v1/clients/{client}/tokens:revoke"),
        serde_json::json!({"dryRun": true}),
    )
    .await
    .expect("client");
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.expect("json");
    assert!(
        body.get("matched").is_none(),
        "zero is omitted in the JSON mapping: {body}"
    );
}

crate::backend_tests!(
    dry_run_then_confirm,
    a_stale_confirmation_is_refused,
    an_interrupted_run_resumes_and_revokes_each_once,
    delete_and_per_client_revoke,
    tenancy_and_scopes,
    over_rest,
);
