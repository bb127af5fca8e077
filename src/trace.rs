//! One tracing span per request (gRPC call or REST request) with a request
//! id, method or path, organization, status code and latency, and the
//! request metrics. Authentication fills `org` once the caller is known.
//! Shared by both faces. The request id and the span are tower-http's
//! layers; only the metric recording is ours.
//!
//! The request id is the caller's `x-request-id` when it sends a sane one
//! (so one id follows a call through a mesh), else a new UUID; either way it
//! is logged on every line of the request and returned in `x-request-id`.

use std::collections::HashSet;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use http::{HeaderName, HeaderValue};
use tower::{Layer, Service};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::request_id::{PropagateRequestId, PropagateRequestIdLayer};
use tower_http::set_header::{MakeHeaderValue, SetRequestHeader, SetRequestHeaderLayer};
use tower_http::trace::{MakeSpan, OnResponse};
use tracing::field;

use crate::metrics::SharedMetrics;

/// The `method` label of requests that are not one of the service's own
/// RPCs or routes: callers choose paths and methods, so labelling them
/// as sent would let anyone grow `/metrics` without bound.
pub const UNKNOWN: &str = "unknown";

/// The service's own RPC paths and REST first path segments: the only
/// values a metric label may take besides [`UNKNOWN`].
#[derive(Clone, Default)]
pub struct KnownMethods {
    grpc: Arc<HashSet<String>>,
    rest_segments: Arc<HashSet<String>>,
}

impl KnownMethods {
    pub fn new(
        grpc_paths: impl IntoIterator<Item = String>,
        rest_segments: impl IntoIterator<Item = String>,
    ) -> Self {
        KnownMethods {
            grpc: Arc::new(grpc_paths.into_iter().collect()),
            rest_segments: Arc::new(rest_segments.into_iter().collect()),
        }
    }

    /// `/package.Service/Method` for gRPC; `GET /segment` for REST.
    pub fn label(&self, method: &http::Method, path: &str, is_grpc: bool) -> String {
        if is_grpc {
            return match self.grpc.contains(path) {
                true => path.to_owned(),
                false => UNKNOWN.to_owned(),
            };
        }
        let first = path.split('/').nth(1).unwrap_or_default();
        let standard = [
            http::Method::GET,
            http::Method::POST,
            http::Method::PUT,
            http::Method::PATCH,
            http::Method::DELETE,
            http::Method::HEAD,
            http::Method::OPTIONS,
        ];
        if standard.contains(method) && self.rest_segments.contains(first) {
            format!("{method} /{first}")
        } else {
            UNKNOWN.to_owned()
        }
    }
}

/// Every request's layers, outermost first: a sane `x-request-id` (the
/// caller's, or a new one) that is returned on the response (tower-http's
/// set-header and request-id), one span per request (tower-http's trace),
/// and our own metric recording ([`Metered`]).
#[derive(Clone)]
pub struct TraceLayer {
    metrics: SharedMetrics,
    known: KnownMethods,
}

impl TraceLayer {
    pub fn new(metrics: SharedMetrics, known: KnownMethods) -> Self {
        TraceLayer { metrics, known }
    }
}

type Spanned<S> = tower_http::trace::Trace<
    Metered<S>,
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
        let metered = Metered {
            inner,
            metrics: self.metrics.clone(),
            known: self.known.clone(),
        };
        let spanned = tower_http::trace::TraceLayer::new_for_http()
            .make_span_with(RequestSpan)
            .on_request(())
            .on_response(Finished)
            .on_body_chunk(())
            .on_eos(())
            .on_failure(())
            .layer(metered);
        let propagated = PropagateRequestIdLayer::x_request_id().layer(spanned);
        SetRequestHeaderLayer::overriding(REQUEST_ID, SaneRequestId).layer(propagated)
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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

/// The request's span: its id, method and path; `org` is filled by
/// authentication, `code` by [`Metered`], `latency_ms` by [`Finished`].
#[derive(Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &http::Request<B>) -> tracing::Span {
        let request_id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            request_id = %request_id,
            method = %req.method(),
            path = %req.uri().path(),
            org = field::Empty,
            code = field::Empty,
            latency_ms = field::Empty,
        )
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

/// Counts each request into the application's metrics, by method label and
/// code, and records the code on the request's span.
#[derive(Clone)]
pub struct Metered<S> {
    inner: S,
    metrics: SharedMetrics,
    known: KnownMethods,
}

impl<S, B, RB> Service<http::Request<B>> for Metered<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>> + Send,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let start = Instant::now();
        let is_grpc = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        let label = self.known.label(req.method(), req.uri().path(), is_grpc);
        let fut = self.inner.call(req);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let result = fut.await;
            match &result {
                Ok(resp) => {
                    // Errors are "trailers-only" responses with the status in
                    // the headers; a successful call's status comes later in
                    // the trailers and is OK unless a stream fails mid-way.
                    let code = resp
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                        .unwrap_or_else(|| match is_grpc {
                            true => "0".to_owned(),
                            false => resp.status().as_u16().to_string(),
                        });
                    tracing::Span::current().record("code", code.as_str());
                    metrics.record_request(&label, &code, start.elapsed().as_secs_f64());
                }
                Err(e) => tracing::warn!(error = %e, "request failed in transport"),
            }
            result
        })
    }
}
