//! Every gRPC call and REST request carries a request id: the caller's
//! `x-request-id` when it is sane, a fresh UUID otherwise, returned in the
//! response's `x-request-id`.

use crate::common::{Backend, authed, spawn_app};
use oauth_registry::grpc::pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_kept_or_made_and_returned() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut req = authed(&app.key_a, pb::ListTokensRequest::default());
    req.metadata_mut()
        .insert("x-request-id", "mesh-trace-42".parse().expect("ascii"));
    let resp = app.tokens().list_tokens(req).await.expect("list");
    assert_eq!(
        resp.metadata().get("x-request-id").expect("id"),
        "mesh-trace-42"
    );

    let resp = app
        .tokens()
        .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
        .await
        .expect("list");
    let made = resp
        .metadata()
        .get("x-request-id")
        .expect("id")
        .to_str()
        .expect("ascii");
    assert!(uuid::Uuid::parse_str(made).is_ok(), "a fresh UUID: {made}");

    // Errors carry one too, and an unsafe id is replaced.
    let mut bad = tonic::Request::new(pb::ListTokensRequest::default());
    bad.metadata_mut()
        .insert("x-request-id", "a b\tc".parse().expect("ascii"));
    let status = app.tokens().list_tokens(bad).await.expect_err("no key");
    let id = status
        .metadata()
        .get("x-request-id")
        .expect("id")
        .to_str()
        .expect("ascii");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "replaced: {id}");

    let rest = reqwest::Client::new()
        .get(format!("{}/v1/tokens", app.rest))
        .bearer_auth(&app.key_a)
        .header("x-request-id", "rest-7")
        .send()
        .await
        .expect("REST");
    assert_eq!(rest.headers().get("x-request-id").expect("id"), "rest-7");
}
