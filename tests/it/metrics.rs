//! `GET /metrics`: Prometheus text with requests by method and code,
//! latency histograms, streams in flight and database pool gauges, all
//! moving with real traffic.

use crate::common::{Backend, authed, insert_tokens, spawn_app};
use oauth_registry::grpc::pb;

async fn scrape(rest: &str) -> String {
    let resp = reqwest::get(format!("{rest}/metrics"))
        .await
        .expect("scrape");
    assert!(resp.status().is_success());
    let ct = resp.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    resp.text().await.expect("body")
}

/// The value of the sample line starting with `series` (labels included).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_traffic() {
    let app = spawn_app(Backend::Sqlite).await;
    insert_tokens(&app, &app.org_a, 3000).await;
    const LIST: &str = "/oauth_registry.v1.TokenService/ListTokens";
    let ok = format!("oauth_registry_requests_total{{method=\"{LIST}\",code=\"0\"}}");
    let denied = format!("oauth_registry_requests_total{{method=\"{LIST}\",code=\"16\"}}");
    let before = scrape(&app.rest).await;

    for _ in 0..3 {
        app.tokens()
            .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
            .await
            .expect("list");
    }
    let refused = app
        .tokens()
        .list_tokens(tonic::Request::new(pb::ListTokensRequest::default()))
        .await;
    assert!(refused.is_err());
    // A stream held open (small window, unread) while scraping.
    let channel = crate::common::process::small_window_channel(app.addr).await;
    let mut stream = pb::token_service_client::TokenServiceClient::new(channel)
        .stream_tokens(authed(
            &app.key_a,
            pb::StreamTokensRequest {
                page_size: 10,
                ..Default::default()
            },
        ))
        .await
        .expect("stream")
        .into_inner();
    stream.message().await.expect("page").expect("a page");

    let during = scrape(&app.rest).await;
    assert_eq!(value(&during, &ok) - value(&before, &ok), 3.0, "{during}");
    assert_eq!(value(&during, &denied) - value(&before, &denied), 1.0);
    assert!(value(&during, "oauth_registry_streams_in_flight") >= 1.0);
    let count = format!("oauth_registry_request_duration_seconds_count{{method=\"{LIST}\"}}");
    assert!(
        value(&during, &count) >= 4.0,
        "latency histogram observed the calls"
    );
    assert!(during.contains("oauth_registry_request_duration_seconds_bucket{le="));
    assert!(value(&during, "oauth_registry_db_pool_connections") >= 1.0);
    assert!(during.contains("oauth_registry_db_pool_idle_connections"));
    // REST requests are labelled by HTTP method and first path segment only.
    assert!(during.contains("method=\"GET /metrics\""), "{during}");

    drop(stream);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let after = scrape(&app.rest).await;
    assert_eq!(value(&after, "oauth_registry_streams_in_flight"), 0.0);
}

/// The label sets of every sample line (names with their labels).
fn series(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(s, _)| s.to_owned()))
        .collect()
}

/// Callers choose paths and methods; only the service's own RPCs and
/// routes become label values, everything else is `unknown`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_paths_and_methods_add_no_series() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut grpc = tonic::client::Grpc::new(app.channel.clone());
    let http = reqwest::Client::new();
    let mut noise = async |i: usize| {
        let path: http::uri::PathAndQuery = format!("/x{i}.Y{i}/M{i}").parse().expect("path");
        grpc.ready().await.expect("ready");
        let refused = grpc
            .unary(
                tonic::Request::new(pbjson_types::Empty {}),
                path,
                tonic_prost::ProstCodec::<pbjson_types::Empty, pbjson_types::Empty>::default(),
            )
            .await
            .expect_err("no such method");
        assert_eq!(refused.code(), tonic::Code::Unimplemented);
        let method = reqwest::Method::from_bytes(format!("M{i}").as_bytes()).expect("method");
        http.request(method, format!("{}/seg{i}/x", app.rest))
            .send()
            .await
            .expect("custom method");
        http.get(format!("{}/other{i}", app.rest))
            .send()
            .await
            .expect("unknown route");
    };
    // One of each kind first, so the `unknown` series exist (and one
    // scrape, so `GET /metrics` does).
    noise(0).await;
    scrape(&app.rest).await;
    let before = series(&scrape(&app.rest).await);
    for i in 1..=1000 {
        noise(i).await;
    }
    let after = series(&scrape(&app.rest).await);
    let added: Vec<&String> = after.difference(&before).collect();
    assert!(added.is_empty(), "new series: {added:?}");
    assert!(before.iter().any(|s| s.contains("method=\"unknown\"")));
}
