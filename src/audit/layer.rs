//! Opening and closing a [`Call`] around each request of the token and
//! client APIs: a tower layer on the gRPC services, and a function the REST
//! router's per-route middleware calls. The outcome is read from the
//! response (gRPC's `grpc-status`, or the HTTP status); calls that were
//! recorded already (a write, in its transaction) or handed to a stream are
//! left alone.

use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use opentelemetry::trace::{TraceContextExt as _, TraceId};
use tower::{Layer, Service};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::{AuditSink, Call};
use crate::domain::audit::AuditKind;

/// Longest method name kept (gRPC paths are the caller's choice).
const MAX_METHOD: usize = 128;

/// The current request span's trace id ("" without tracing).
fn trace_id() -> String {
    let id = tracing::Span::current()
        .context()
        .span()
        .span_context()
        .trace_id();
    if id == TraceId::INVALID {
        String::new()
    } else {
        id.to_string()
    }
}

fn request_id<B>(req: &Request<B>) -> String {
    req.headers()
        .get(crate::trace::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(MAX_METHOD)
        .collect()
}

/// The gRPC status code's name.
pub fn code_name(code: i32) -> &'static str {
    match tonic::Code::from_i32(code) {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The gRPC code an HTTP status stands for (grpc-gateway's mapping, read
/// backwards).
fn http_code_name(status: u16) -> &'static str {
    match status {
        200..=299 => "OK",
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ if status >= 500 => "INTERNAL",
        _ => "INVALID_ARGUMENT",
    }
}

/// Audits every call of the wrapped gRPC service.
#[derive(Clone)]
pub struct AuditLayer {
    sink: AuditSink,
}

impl AuditLayer {
    pub fn new(sink: AuditSink) -> Self {
        AuditLayer { sink }
    }
}

impl<S> Layer<S> for AuditLayer {
    type Service = Audited<S>;
    fn layer(&self, inner: S) -> Audited<S> {
        Audited {
            inner,
            sink: self.sink.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Audited<S> {
    inner: S,
    sink: AuditSink,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, RB> Service<Request<B>> for Audited<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<Response<RB>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let method: String = req
            .uri()
            .path()
            .trim_start_matches('/')
            .chars()
            .take(MAX_METHOD)
            .collect();
        let name = method.rsplit('/').next().unwrap_or_default();
        let reads = ["List", "Stream", "Count", "Get", "Watch", "Lookup"];
        let kind = if reads.iter().any(|r| name.starts_with(r)) {
            AuditKind::Read
        } else {
            AuditKind::Write
        };
        let call = Call::new(method, "grpc", kind, request_id(&req), trace_id());
        let fut = super::CALL.sync_scope(call.clone(), || self.inner.call(req));
        let sink = self.sink.clone();
        Box::pin(call.clone().scope(async move {
            let resp = fut.await?;
            let code = resp
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if let Some(event) = call.settle(code_name(code), None) {
                sink.record(event);
            }
            Ok(resp)
        }))
    }
}

/// The REST face a route template belongs to; `None` for routes that are
/// not about tokens or clients (probes, metrics, the document).
fn dialect(template: &str) -> Option<&'static str> {
    Some(match template {
        t if t.starts_with("/v1/core/oauth/") => "siro",
        t if t.starts_with("/v1/") => "canonical",
        t if t.starts_with("/oauth2/") => "slashid",
        t if t.starts_with("/api/") || t.starts_with("/s/") => "reviewboard",
        t if t.starts_with("/me/") => "losant",
        _ => return None,
    })
}

/// Runs a REST request (`next`) inside its audit call, for the router's
/// per-route middleware: `template` is the matched route.
pub async fn rest(
    sink: &AuditSink,
    template: &str,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let Some(dialect) = dialect(template) else {
        return next.run(req).await;
    };
    let kind = if req.method() == http::Method::GET {
        AuditKind::Read
    } else {
        AuditKind::Write
    };
    let method = format!("{} {template}", req.method());
    let call = Call::new(method, dialect, kind, request_id(&req), trace_id());
    let resp = call.clone().scope(next.run(req)).await;
    let status = resp.status().as_u16();
    if let Some(event) = call.settle(http_code_name(status), Some(status)) {
        sink.record(event);
    }
    resp
}

impl<S: tonic::server::NamedService> tonic::server::NamedService for Audited<S> {
    const NAME: &'static str = S::NAME;
}
