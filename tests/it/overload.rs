//! Overload: a flood of calls on one connection beyond its limit is refused
//! at once with RESOURCE_EXHAUSTED instead of queueing, every other call
//! succeeds, and the server keeps serving afterwards.

use std::time::{Duration, Instant};

use crate::common::{Backend, authed, spawn_with};
use oauth_registry::grpc::pb;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_shed_quickly_with_resource_exhausted() {
    let app = spawn_with(Backend::Sqlite, |c| c.max_calls_per_connection = 2).await;
    let client = app.tokens();
    let start = Instant::now();
    let calls = (0..200).map(|_| {
        let mut client = client.clone();
        let req = authed(&app.key_a, pb::ListTokensRequest::default());
        async move {
            client
                .list_tokens(req)
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        }
    });
    let results = futures::future::join_all(calls).await;
    let took = start.elapsed();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let shed = results
        .iter()
        .filter(|r| **r == Err(Code::ResourceExhausted))
        .count();
    eprintln!("200 concurrent calls, limit 2: {ok} served, {shed} shed, in {took:?}");
    assert_eq!(
        ok + shed,
        200,
        "only success or RESOURCE_EXHAUSTED: {results:?}"
    );
    assert!(ok >= 2 && shed > 0);
    assert!(took < Duration::from_secs(5), "shed quickly: {took:?}");

    // Within the limit everything is served.
    let mut client = app.tokens();
    for _ in 0..20 {
        client
            .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
            .await
            .expect("served after the flood");
    }
}
