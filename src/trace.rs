//! One tracing span per request (gRPC call or REST request) with a request
//! id, method or path, organization, status code and latency.
//! Authentication fills `org` once the caller is known, the metrics layer
//! `code`. Shared by both faces; the request id and the span are
//! tower-http's layers.
//!
//! The request id is the caller's `x-request-id` when it sends a sane one
//! (so one id follows a call through a mesh), else a new UUID; either way it
//! is logged on every line of the request and returned in `x-request-id`.

use std::time::Duration;

use http::{HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tower::Layer;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::request_id::{PropagateRequestId, PropagateRequestIdLayer};
use tower_http::set_header::{MakeHeaderValue, SetRequestHeader, SetRequestHeaderLayer};
use tower_http::trace::{MakeSpan, OnResponse};
use tracing::field;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Every request's layers, outermost first: a sane `x-request-id` (the
/// caller's, or a new one) that is returned on the response (tower-http's
/// set-header and request-id) and one span per request (tower-http's
/// trace). Metrics are `metrics::MeterLayer`, inside this.
#[derive(Clone, Copy, Default)]
pub struct TraceLayer;

type Spanned<S> = tower_http::trace::Trace<
    S,
    SharedClassifier<ServerErrorsAsFailures>,
    RequestSpan,
    (),
    Finished,
    (),
    (),
    (),
>;

impl<S> Layer<S> for TraceLayer {
    type Service = SetRequestHeader<PropagateRequestId<Spanned<S>>, SaneRequestId>;

    fn layer(&self, inner: S) -> Self::Service {
        let spanned = tower_http::trace::TraceLayer::new_for_http()
            .make_span_with(RequestSpan)
            .on_request(())
            .on_response(Finished)
            .on_body_chunk(())
            .on_eos(())
            .on_failure(())
            .layer(inner);
        let propagated = PropagateRequestIdLayer::x_request_id().layer(spanned);
        SetRequestHeaderLayer::overriding(REQUEST_ID, SaneRequestId).layer(propagated)
    }
}

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The caller's `x-request-id` if it is 1–64 visible ASCII characters
/// (anything else could forge log lines), else a fresh UUID.
#[derive(Clone, Copy)]
pub struct SaneRequestId;

impl<B> MakeHeaderValue<http::Request<B>> for SaneRequestId {
    fn make_header_value(&mut self, req: &http::Request<B>) -> Option<HeaderValue> {
        req.headers()
            .get(REQUEST_ID)
            .filter(|v| {
                !v.is_empty() && v.len() <= 64 && v.as_bytes().iter().all(u8::is_ascii_graphic)
            })
            .cloned()
            .or_else(|| HeaderValue::from_str(&uuid::Uuid::now_v7().to_string()).ok())
    }
}

/// The request's span: its id, method and path, and the OpenTelemetry
/// attributes of a server span (`rpc.*` for gRPC, `http.*` for REST).
/// `org` is filled by authentication, `code` and the status attributes by
/// the metrics layer, `http.route` by the REST router, `latency_ms` by
/// [`Finished`]. Its parent is the caller's `traceparent`, if any, and its
/// `trace_id` is logged with every line of the request.
#[derive(Clone, Copy)]
pub struct RequestSpan;

/// Longest gRPC service or method name put on a span as sent (callers
/// choose unknown paths).
const MAX_NAME: usize = 128;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &http::Request<B>) -> tracing::Span {
        let request_id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let path = req.uri().path();
        let is_grpc = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        let span = if is_grpc {
            let (service, method) = path
                .trim_start_matches('/')
                .split_once('/')
                .unwrap_or(("unknown", "unknown"));
            let (service, method) = (bounded(service), bounded(method));
            tracing::info_span!(
                "request",
                request_id = %request_id,
                method = %req.method(),
                path = %path,
                org = field::Empty,
                code = field::Empty,
                latency_ms = field::Empty,
                trace_id = field::Empty,
                otel.name = %format_args!("{service}/{method}"),
                otel.kind = "server",
                otel.status_code = field::Empty,
                rpc.system = "grpc",
                rpc.service = %service,
                rpc.method = %method,
                rpc.grpc.status_code = field::Empty,
            )
        } else {
            tracing::info_span!(
                "request",
                request_id = %request_id,
                method = %req.method(),
                path = %path,
                org = field::Empty,
                code = field::Empty,
                latency_ms = field::Empty,
                trace_id = field::Empty,
                otel.name = %req.method(),
                otel.kind = "server",
                otel.status_code = field::Empty,
                http.request.method = %req.method(),
                http.route = field::Empty,
                http.response.status_code = field::Empty,
            )
        };
        let parent = TraceContextPropagator::new().extract(&Headers(req.headers()));
        // Without an OpenTelemetry layer (embedded, tests) there is no trace.
        if span.set_parent(parent).is_ok() {
            let trace_id = span.context().span().span_context().trace_id();
            if trace_id != TraceId::INVALID {
                span.record("trace_id", field::display(trace_id));
            }
        }
        span
    }
}

fn bounded(name: &str) -> &str {
    match name.char_indices().nth(MAX_NAME) {
        Some((at, _)) => &name[..at],
        None => name,
    }
}

/// Reads `traceparent`/`tracestate` from request headers.
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Records how a call ended on its span: the gRPC code (as a number) or
/// HTTP status, and an error status for the server-side failures
/// OpenTelemetry's conventions name (gRPC UNKNOWN, DEADLINE_EXCEEDED,
/// UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS; HTTP 5xx).
pub fn record_outcome(span: &tracing::Span, grpc_code: Option<i64>, http_status: u16) {
    match grpc_code {
        Some(code) => {
            span.record("rpc.grpc.status_code", code);
            if matches!(code, 2 | 4 | 12 | 13 | 14 | 15) {
                span.record("otel.status_code", "ERROR");
            }
        }
        None => {
            span.record("http.response.status_code", http_status);
            if http_status >= 500 {
                span.record("otel.status_code", "ERROR");
            }
        }
    }
}

/// Logs the end of every request with its latency.
#[derive(Clone, Copy)]
pub struct Finished;

impl<B> OnResponse<B> for Finished {
    fn on_response(self, _: &http::Response<B>, latency: Duration, span: &tracing::Span) {
        span.record("latency_ms", latency.as_secs_f64() * 1000.0);
        tracing::info!("request finished");
    }
}
