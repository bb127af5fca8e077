//! The retention sweeper on both backends: only tokens expired or revoked
//! longer ago than the period go, in every organization, across batches;
//! live tokens and recent ones stay. Also run by the server itself when
//! configured.

use std::time::Duration;

use crate::common::{Backend, TestApp, spawn_app, spawn_with, token_rows};
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::ids::OrgId;
use oauth_registry::domain::query::TokenFilter;

const DAY: i64 = 86_400_000_000;

async fn count(app: &TestApp, org: &OrgId) -> u64 {
    app.registry
        .store()
        .count_tokens(org, &TokenFilter::default(), Timestamp::now())
        .await
        .expect("count")
}

/// `n` tokens in `org`, expiring `expires` µs from now, revoked `revoked`
/// µs from now (if some).
async fn add(app: &TestApp, org: &OrgId, n: usize, expires: i64, revoked: Option<i64>) {
    let now = Timestamp::now().micros();
    let mut rows = token_rows(org, n);
    for r in &mut rows {
        r.token.created_at = Timestamp::from_micros(now - 100 * DAY);
        r.token.updated_at = r.token.created_at;
        r.token.expires_at = Timestamp::from_micros(now + expires);
        r.token.revoked_at = revoked.map(|d| Timestamp::from_micros(now + d));
    }
    app.registry
        .store()
        .insert_tokens(&rows)
        .await
        .expect("insert");
}

async fn sweeps_only_what_is_past_retention(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, b) = (app.org_a.clone(), app.org_b.clone());
    add(&app, &a, 1200, -40 * DAY, None).await; // long expired: more than two batches
    add(&app, &a, 5, 300 * DAY, Some(-40 * DAY)).await; // long revoked
    add(&app, &a, 7, -DAY, None).await; // expired recently: kept
    add(&app, &a, 4, 300 * DAY, Some(-DAY)).await; // revoked recently: kept
    add(&app, &a, 9, 300 * DAY, None).await; // active: kept
    add(&app, &b, 3, -40 * DAY, None).await; // another organization's, long expired
    add(&app, &b, 2, 300 * DAY, None).await;

    let deleted = app
        .registry
        .sweep_expired(Duration::from_secs(30 * 86_400))
        .await
        .expect("sweep");
    assert_eq!(deleted, 1200 + 5 + 3);
    assert_eq!(count(&app, &a).await, 7 + 4 + 9);
    assert_eq!(count(&app, &b).await, 2);
    // Nothing left to do on a second pass.
    let again = app
        .registry
        .sweep_expired(Duration::from_secs(30 * 86_400))
        .await
        .expect("sweep");
    assert_eq!(again, 0);
}

async fn the_server_sweeps_when_configured(backend: Backend) {
    let app = spawn_with(backend, |c| {
        c.retention = Some(Duration::from_secs(86_400));
        c.retention_interval = Duration::from_millis(100);
    })
    .await;
    add(&app, &app.org_a, 10, -3 * DAY, None).await;
    add(&app, &app.org_a, 2, 300 * DAY, None).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while count(&app, &app.org_a).await != 2 {
        assert!(std::time::Instant::now() < deadline, "swept within 5 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

backend_tests!(
    sweeps_only_what_is_past_retention,
    the_server_sweeps_when_configured
);
