//! One tracing span per request (gRPC call or REST request) with a request
//! id, method or path, organization, status code and latency. Handlers fill
//! `org` once the caller is known. Shared by both faces.
//!
//! The request id is the caller's `x-request-id` when it sends a sane one
//! (so one id follows a call through a mesh), else a new UUID; either way it
//! is logged on every line of the request and returned in `x-request-id`.

use std::collections::HashSet;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use tower::{Layer, Service};
use tracing::{Instrument, field};

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

/// The request layer; it counts into the application's own metrics.
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

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;
    fn layer(&self, inner: S) -> Trace<S> {
        Trace {
            inner,
            metrics: self.metrics.clone(),
            known: self.known.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Trace<S> {
    inner: S,
    metrics: SharedMetrics,
    known: KnownMethods,
}

impl<S, B, RB> Service<http::Request<B>> for Trace<S>
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
        let request_id = request_id(req.headers());
        let span = tracing::info_span!(
            "request",
            request_id = %request_id,
            method = %req.method(),
            path = %req.uri().path(),
            org = field::Empty,
            code = field::Empty,
            latency_ms = field::Empty,
        );
        let start = Instant::now();
        let is_grpc = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        let metric_method = self.known.label(req.method(), req.uri().path(), is_grpc);
        let fut = {
            let _enter = span.enter();
            self.inner.call(req)
        };
        let metrics = self.metrics.clone();
        Box::pin(
            async move {
                let mut result = fut.await;
                if let (Ok(resp), Ok(value)) = (&mut result, request_id.parse()) {
                    resp.headers_mut().insert(REQUEST_ID, value);
                }
                let span = tracing::Span::current();
                span.record("latency_ms", start.elapsed().as_secs_f64() * 1000.0);
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
                            .unwrap_or_else(|| {
                                if is_grpc {
                                    "0".to_owned()
                                } else {
                                    resp.status().as_u16().to_string()
                                }
                            });
                        span.record("code", code.as_str());
                        metrics.record_request(
                            &metric_method,
                            &code,
                            start.elapsed().as_secs_f64(),
                        );
                        tracing::info!("request finished");
                    }
                    Err(e) => tracing::warn!(error = %e, "request failed in transport"),
                }
                result
            }
            .instrument(span),
        )
    }
}

const REQUEST_ID: &str = "x-request-id";

/// The caller's `x-request-id` if it is 1–64 visible ASCII characters
/// (anything else could forge log lines), else a fresh UUID.
fn request_id(headers: &http::HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}
