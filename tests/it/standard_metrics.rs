//! The standard families on `GET /metrics`: go-grpc-prometheus's
//! `grpc_server_*` (code names, stream message counts, a stream's real end),
//! `http_server_*` by route template, `process_*` and build info.

use std::time::Duration;

use prost::Message;

use crate::common::{Backend, authed, insert_tokens, spawn_app};
use oauth_registry::grpc::pb;

async fn scrape(rest: &str) -> String {
    reqwest::get(format!("{rest}/metrics"))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body")
}

/// The value of the sample whose series is exactly `series`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(s, _)| *s == series)
        .and_then(|(_, v)| v.parse().ok())
}

fn grpc(family: &str, kind: &str, method: &str, code: Option<&str>) -> String {
    let code = code
        .map(|c| format!(",grpc_code=\"{c}\""))
        .unwrap_or_default();
    format!(
        "{family}{{grpc_type=\"{kind}\",grpc_service=\"oauth_registry.v1.TokenService\",grpc_method=\"{method}\"{code}}}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_http_process_and_build_families() {
    let app = spawn_app(Backend::Sqlite).await;
    let tokens = insert_tokens(&app, &app.org_a, 95).await;
    let fresh = scrape(&app.rest).await;
    // Every method has its series before its first call.
    for method in ["ListTokens", "DeleteToken", "RevokeToken"] {
        assert_eq!(
            value(
                &fresh,
                &grpc("grpc_server_started_total", "unary", method, None)
            ),
            Some(0.0),
            "{method}"
        );
    }

    for _ in 0..3 {
        app.tokens()
            .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
            .await
            .expect("list");
    }
    app.tokens()
        .list_tokens(tonic::Request::new(pb::ListTokensRequest::default()))
        .await
        .expect_err("no key");
    // One stream read to its end (10 pages), one abandoned after a page.
    let mut stream = app
        .tokens()
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
    let mut pages = 0;
    while stream.message().await.expect("page").is_some() {
        pages += 1;
    }
    let channel = crate::common::process::small_window_channel(app.addr).await;
    let mut abandoned = pb::token_service_client::TokenServiceClient::new(channel)
        .stream_tokens(authed(
            &app.key_a,
            pb::StreamTokensRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("stream")
        .into_inner();
    abandoned.message().await.expect("page").expect("a page");
    drop(abandoned);
    // A gRPC-Web call is counted like any other.
    let mut framed = vec![0u8];
    let msg = pb::ListTokensRequest::default().encode_to_vec();
    framed.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    framed.extend_from_slice(&msg);
    let web = reqwest::Client::new()
        .post(format!(
            "http://{}/oauth_registry.v1.TokenService/ListTokens",
            app.addr
        ))
        .header("content-type", "application/grpc-web+proto")
        .bearer_auth(&app.key_a)
        .body(framed)
        .send()
        .await
        .expect("grpc-web");
    assert_eq!(web.status(), 200);
    web.bytes().await.expect("body");
    // REST: labelled by the route template, not the path.
    for t in &tokens[..2] {
        let resp = reqwest::Client::new()
            .get(format!("{}/v1/tokens/{}", app.rest, t.id))
            .bearer_auth(&app.key_a)
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 200);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let text = scrape(&app.rest).await;
    let v = |s: String| value(&text, &s).unwrap_or_else(|| panic!("no {s} in\n{text}"));
    assert_eq!(
        v(grpc(
            "grpc_server_started_total",
            "unary",
            "ListTokens",
            None
        )),
        5.0
    );
    assert_eq!(
        v(grpc(
            "grpc_server_handled_total",
            "unary",
            "ListTokens",
            Some("OK")
        )),
        4.0
    );
    assert_eq!(
        v(grpc(
            "grpc_server_handled_total",
            "unary",
            "ListTokens",
            Some("Unauthenticated")
        )),
        1.0
    );
    assert_eq!(
        v(grpc(
            "grpc_server_msg_received_total",
            "unary",
            "ListTokens",
            None
        )),
        5.0
    );
    assert_eq!(
        v(grpc(
            "grpc_server_msg_sent_total",
            "unary",
            "ListTokens",
            None
        )),
        4.0
    );
    assert_eq!(
        v(grpc(
            "grpc_server_handling_seconds_count",
            "unary",
            "ListTokens",
            None
        )),
        5.0
    );
    assert!(text.contains("grpc_server_handling_seconds_bucket{le=\"0.005\",grpc_type=\"unary\",grpc_service=\"oauth_registry.v1.TokenService\",grpc_method=\"ListTokens\"}"));
    let stream = "StreamTokens";
    assert_eq!(
        v(grpc(
            "grpc_server_started_total",
            "server_stream",
            stream,
            None
        )),
        2.0
    );
    assert_eq!(
        v(grpc(
            "grpc_server_handled_total",
            "server_stream",
            stream,
            Some("OK")
        )),
        1.0
    );
    assert_eq!(
        v(grpc(
            "grpc_server_handled_total",
            "server_stream",
            stream,
            Some("Canceled")
        )),
        1.0,
        "an abandoned stream ends Canceled"
    );
    let sent = v(grpc(
        "grpc_server_msg_sent_total",
        "server_stream",
        stream,
        None,
    ));
    assert!(
        sent >= f64::from(pages) + 1.0,
        "{pages} + 1 pages, counted {sent}"
    );

    let route = "http_server_requests_total{http_request_method=\"GET\",http_route=\"/v1/tokens/{id}\",http_response_status_code=\"200\"}";
    assert_eq!(v(route.to_owned()), 2.0);
    assert!(text.contains("http_server_request_duration_seconds_bucket{le=\"0.005\",http_request_method=\"GET\",http_route=\"/v1/tokens/{id}\""));

    assert!(v("process_resident_memory_bytes".to_owned()) > 1e6);
    assert!(v("process_open_fds".to_owned()) > 3.0);
    assert!(v("process_cpu_seconds_total".to_owned()) > 0.0);
    assert!(v("process_start_time_seconds".to_owned()) > 1.7e9);
    let build = text
        .lines()
        .find(|l| l.starts_with("oauth_registry_build_info{"))
        .expect("build info");
    assert!(
        build.starts_with(&format!(
            "oauth_registry_build_info{{version=\"{}\",git_sha=\"",
            env!("CARGO_PKG_VERSION")
        )),
        "{build}"
    );
    assert!(build.ends_with(" 1"), "{build}");
}
