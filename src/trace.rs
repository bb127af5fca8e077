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
use tower::Layer;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::request_id::{PropagateRequestId, PropagateRequestIdLayer};
use tower_http::set_header::{MakeHeaderValue, SetRequestHeader, SetRequestHeaderLayer};
use tower_http::trace::{MakeSpan, OnResponse};
use tracing::field;

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
/// authentication, `code` by the metrics layer, `latency_ms` by [`Finished`].
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
