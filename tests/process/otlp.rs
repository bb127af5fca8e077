//! Trace context and OTLP export from the real binary. A small OTLP
//! receiver (the collector's `TraceService`, served by this test) gets the
//! spans; calls carry a W3C `traceparent`. Checked: the request's server
//! span continues the caller's trace with the caller's span as parent and
//! carries the OpenTelemetry semantic-convention attributes; each database
//! operation is a child span with `db.system`; the JSON log lines of the
//! request carry its `trace_id` and `request_id`.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use tokio::io::AsyncBufReadExt;
use tokio::process::Command;

use crate::common::authed;
use crate::common::process::{BIN, connect_retrying, free_port, seed};
use oauth_registry::grpc::pb::ListTokensRequest;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;

/// Spans received, with their resource's `service.name`.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<(String, Span)>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().expect("lock");
        for rs in request.into_inner().resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| attrs(&r.attributes).get("service.name").cloned())
                .unwrap_or_default();
            for ss in rs.scope_spans {
                spans.extend(ss.spans.into_iter().map(|s| (service.clone(), s)));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attrs(kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> HashMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const GRPC_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const GRPC_PARENT: &str = "00f067aa0ba902b7";
const REST_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const REST_PARENT: &str = "b7ad6b7169203331";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_continue_the_callers_trace_and_reach_the_collector() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let collector = listener.local_addr().expect("addr");
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(incoming),
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let key = seed(&url, 10);
    let (port, rest) = (free_port(), free_port());
    let mut server = Command::new(BIN)
        .args(["--database-url", &url, "--log-format", "json", "serve"])
        .args(["--grpc-addr", &format!("127.0.0.1:{port}")])
        .args(["--rest-addr", &format!("127.0.0.1:{rest}")])
        .args(["--shutdown-delay-secs", "0"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}"))
        .env("OTEL_SERVICE_NAME", "registry-under-test")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the server");
    let stderr = server.stderr.take().expect("stderr");
    let lines = tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let mut all = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            all.push(line);
        }
        all
    });

    let mut request = authed(&key, ListTokensRequest::default());
    let md = request.metadata_mut();
    let traceparent = format!("00-{GRPC_TRACE}-{GRPC_PARENT}-01");
    md.insert("traceparent", traceparent.parse().expect("ascii"));
    md.insert("tracestate", "vendor=opaque".parse().expect("ascii"));
    md.insert("x-request-id", "grpc-trace-test".parse().expect("ascii"));
    TokenServiceClient::new(connect_retrying(port, None).await)
        .list_tokens(request)
        .await
        .expect("list over gRPC");
    let resp = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{rest}/v1/tokens?pageSize=3"))
        .bearer_auth(&key)
        .header("traceparent", format!("00-{REST_TRACE}-{REST_PARENT}-01"))
        .header("x-request-id", "rest-trace-test")
        .send()
        .await
        .expect("list over REST");
    assert_eq!(resp.status(), 200);

    // Wait for both traces' server and database spans.
    let deadline = Instant::now() + Duration::from_secs(15);
    let spans = loop {
        let spans = receiver.0.lock().expect("lock").clone();
        let of = |trace: &str| {
            spans
                .iter()
                .filter(|(_, s)| hex(&s.trace_id) == trace)
                .count()
        };
        if of(GRPC_TRACE) >= 3 && of(REST_TRACE) >= 3 {
            break spans;
        }
        assert!(Instant::now() < deadline, "spans not exported: {spans:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // gRPC: the server span continues the caller's trace under its span.
    let trace: Vec<&Span> = spans
        .iter()
        .filter(|(_, s)| hex(&s.trace_id) == GRPC_TRACE)
        .map(|(service, s)| {
            assert_eq!(service, "registry-under-test");
            s
        })
        .collect();
    let server_span = trace
        .iter()
        .find(|s| s.kind == SpanKind::Server as i32)
        .expect("a server span");
    assert_eq!(
        server_span.name,
        "oauth_registry.v1.TokenService/ListTokens"
    );
    assert_eq!(
        hex(&server_span.parent_span_id),
        GRPC_PARENT,
        "parent is the caller's span"
    );
    let a = attrs(&server_span.attributes);
    assert_eq!(a["rpc.system"], "grpc");
    assert_eq!(a["rpc.service"], "oauth_registry.v1.TokenService");
    assert_eq!(a["rpc.method"], "ListTokens");
    assert_eq!(a["rpc.grpc.status_code"], "0");
    assert_eq!(a["request_id"], "grpc-trace-test");
    assert_eq!(server_span.trace_state, "vendor=opaque");
    // Each database operation is its child, with db.system.
    let db: Vec<&&Span> = trace
        .iter()
        .filter(|s| s.kind == SpanKind::Client as i32)
        .collect();
    let ops: Vec<String> = db
        .iter()
        .map(|s| attrs(&s.attributes)["db.operation.name"].clone())
        .collect();
    // A first page reads its rows with the organization's version.
    assert!(ops.contains(&"list_tokens_at".to_owned()), "{ops:?}");
    assert!(ops.contains(&"find_api_key".to_owned()), "{ops:?}");
    for s in &db {
        assert_eq!(
            s.parent_span_id, server_span.span_id,
            "{} is a child of the call",
            s.name
        );
        assert_eq!(attrs(&s.attributes)["db.system"], "sqlite");
    }

    // REST: the same, with HTTP attributes and the route template.
    let rest_span = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| hex(&s.trace_id) == REST_TRACE && s.kind == SpanKind::Server as i32)
        .expect("a REST server span");
    assert_eq!(rest_span.name, "GET /v1/tokens");
    assert_eq!(hex(&rest_span.parent_span_id), REST_PARENT);
    let a = attrs(&rest_span.attributes);
    assert_eq!(a["http.request.method"], "GET");
    assert_eq!(a["http.route"], "/v1/tokens");
    assert_eq!(a["http.response.status_code"], "200");

    // Every log line of each request carries its trace id and request id.
    let pid = server.id().expect("pid").to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(10), server.wait()).await;
    let lines = lines.await.expect("log lines");
    for (request_id, trace) in [
        ("grpc-trace-test", GRPC_TRACE),
        ("rest-trace-test", REST_TRACE),
    ] {
        let of_request: Vec<serde_json::Value> = lines
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["span"]["request_id"] == request_id)
            .collect();
        assert!(
            !of_request.is_empty(),
            "no log line of {request_id}: {lines:#?}"
        );
        for line in &of_request {
            assert_eq!(line["span"]["trace_id"], trace, "{line}");
        }
    }
}
