//! [`MeterLayer`]: counts every request into the metrics, for both faces.
//! On the gRPC port it sits inside the gRPC-Web translation, so a browser's
//! call is counted like any other (real trailers, real status).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use tower::{Layer, Service};

use super::grpc::{Call, Counted, GrpcLabels, GrpcType, Rebox};
use super::{HttpLabels, SharedMetrics};

/// The `method` label of requests that are not one of the service's own
/// RPCs or routes: callers choose paths and methods, so labelling them
/// as sent would let anyone grow `/metrics` without bound.
pub const UNKNOWN: &str = "unknown";

/// The matched route template of a REST request (`/v1/tokens/{id}`), set
/// on the response by the REST router so the label is bounded.
#[derive(Clone, Debug)]
pub struct RouteTemplate(pub String);

/// The service's own RPC paths (with how each streams) and REST first path
/// segments: the only values a metric label may take besides [`UNKNOWN`].
#[derive(Clone, Default)]
pub struct KnownMethods {
    grpc: Arc<HashMap<String, GrpcType>>,
    rest_segments: Arc<HashSet<String>>,
}

const STANDARD_METHODS: [http::Method; 7] = [
    http::Method::GET,
    http::Method::POST,
    http::Method::PUT,
    http::Method::PATCH,
    http::Method::DELETE,
    http::Method::HEAD,
    http::Method::OPTIONS,
];

impl KnownMethods {
    pub fn new(
        grpc_methods: impl IntoIterator<Item = (String, GrpcType)>,
        rest_segments: impl IntoIterator<Item = String>,
    ) -> Self {
        KnownMethods {
            grpc: Arc::new(grpc_methods.into_iter().collect()),
            rest_segments: Arc::new(rest_segments.into_iter().collect()),
        }
    }

    /// Every known RPC, for zero series before the first call.
    pub fn grpc_methods(&self) -> impl Iterator<Item = (&str, GrpcType)> {
        self.grpc.iter().map(|(p, t)| (p.as_str(), *t))
    }

    /// `/package.Service/Method` for gRPC; `GET /segment` for REST.
    pub fn label(&self, method: &http::Method, path: &str, is_grpc: bool) -> String {
        if is_grpc {
            return match self.grpc.contains_key(path) {
                true => path.to_owned(),
                false => UNKNOWN.to_owned(),
            };
        }
        let first = path.split('/').nth(1).unwrap_or_default();
        if STANDARD_METHODS.contains(method) && self.rest_segments.contains(first) {
            format!("{method} /{first}")
        } else {
            UNKNOWN.to_owned()
        }
    }

    fn grpc_labels(&self, path: &str) -> GrpcLabels {
        match self.grpc.get(path) {
            Some(kind) => GrpcLabels::new(path, *kind),
            None => GrpcLabels::unknown(),
        }
    }
}

/// Counts each request into the application's metrics and records its
/// code on the request's span.
#[derive(Clone)]
pub struct MeterLayer {
    metrics: SharedMetrics,
    known: KnownMethods,
}

impl MeterLayer {
    pub fn new(metrics: SharedMetrics, known: KnownMethods) -> Self {
        metrics.register_methods(known.grpc_methods());
        MeterLayer { metrics, known }
    }
}

impl<S> Layer<S> for MeterLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Metered<S> {
        Metered {
            inner,
            metrics: self.metrics.clone(),
            known: self.known.clone(),
        }
    }
}

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
    RB: Rebox,
{
    type Response = http::Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, S::Error>>;

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
        let call = is_grpc.then(|| {
            let labels = self.known.grpc_labels(req.uri().path());
            Call::start(self.metrics.grpc().clone(), labels, start)
        });
        let http_method = match STANDARD_METHODS.contains(req.method()) {
            true => req.method().to_string(),
            false => "_OTHER".to_owned(),
        };
        let fut = self.inner.call(req);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let result = fut.await;
            let resp = match result {
                Ok(resp) => resp,
                Err(e) => {
                    tracing::warn!(error = %e, "request failed in transport");
                    return Err(e);
                }
            };
            // Errors are "trailers-only" responses with the status in the
            // headers; a successful call's status comes later in the
            // trailers (counted by `Counted` when the call ends).
            let status = resp
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let elapsed = start.elapsed().as_secs_f64();
            let code = status.clone().unwrap_or_else(|| match is_grpc {
                true => "0".to_owned(),
                false => resp.status().as_u16().to_string(),
            });
            tracing::Span::current().record("code", code.as_str());
            metrics.record_request(&label, &code, elapsed);
            if !is_grpc {
                crate::trace::record_outcome(
                    &tracing::Span::current(),
                    None,
                    resp.status().as_u16(),
                );
                let route = resp
                    .extensions()
                    .get::<RouteTemplate>()
                    .map_or_else(|| UNKNOWN.to_owned(), |r| r.0.clone());
                metrics.record_http(
                    HttpLabels {
                        http_request_method: http_method,
                        http_route: route,
                        http_response_status_code: resp.status().as_u16(),
                    },
                    elapsed,
                );
            }
            Ok(resp.map(|body| RB::rebox(Counted::new(body, call, status.as_deref()))))
        })
    }
}
