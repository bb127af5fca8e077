//! Per-key rate limiting: over its rate a key gets RESOURCE_EXHAUSTED (gRPC)
//! or 429 (REST, in the dialect's own error shape), other keys are not
//! affected, and the key recovers once the rate allows.

use std::time::Duration;

use crate::common::{Backend, authed, spawn_with};
use oauth_registry::grpc::pb;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_over_their_rate_are_refused_then_recover() {
    let app = spawn_with(Backend::Sqlite, |c| c.rate_limit_per_key = 5).await;
    let mut tokens = app.tokens();
    let mut codes = Vec::new();
    for _ in 0..20 {
        let r = tokens
            .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
            .await;
        codes.push(r.map(|_| Code::Ok).unwrap_or_else(|s| s.code()));
    }
    let ok = codes.iter().filter(|c| **c == Code::Ok).count();
    let limited = codes
        .iter()
        .filter(|c| **c == Code::ResourceExhausted)
        .count();
    assert_eq!(ok + limited, 20, "{codes:?}");
    assert!(
        (5..=7).contains(&ok),
        "a burst of about one second's worth: {codes:?}"
    );

    // Another key is not affected.
    tokens
        .list_tokens(authed(&app.key_b, pb::ListTokensRequest::default()))
        .await
        .expect("key B has its own budget");

    // REST: 429 in each dialect's shape.
    let http = reqwest::Client::new();
    for path in [
        "/v1/tokens",
        "/oauth2/clients",
        "/api/oauth-tokens/",
        "/me/oauth-tokens",
    ] {
        // Spend whatever the budget refilled since (a slow machine can
        // take longer than one refill between two calls): this checks each
        // dialect's 429, not the machine's speed.
        for _ in 0..3 {
            let _ = tokens
                .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
                .await;
        }
        let resp = http
            .get(format!("{}{path}", app.rest))
            .bearer_auth(&app.key_a)
            .send()
            .await
            .expect("REST");
        assert_eq!(
            resp.status(),
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            "{path}"
        );
        assert_eq!(resp.headers()["retry-after"], "1", "{path}");
    }
    let status = tokens
        .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
        .await
        .expect_err("still limited");
    assert!(status.message().contains("rate limit"), "{status:?}");
    // gRPC's Retry-After: google.rpc.RetryInfo.
    use tonic_types::StatusExt;
    let retry = status.get_details_retry_info().expect("RetryInfo");
    assert_eq!(retry.retry_delay, Some(Duration::from_secs(1)));

    tokio::time::sleep(Duration::from_millis(1100)).await;
    tokens
        .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
        .await
        .expect("recovered after a second");
}
