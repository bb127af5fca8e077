//! The REST/JSON gateway: an optional second face over the same core, on its
//! own port. `canonical` is the protobuf JSON mapping of the gRPC API under
//! `/v1/` (transcoded in-process onto the gRPC service, so the two cannot
//! drift); each vendor dialect (`siro`, ...) is one module that translates
//! its parameters into the core query model and the results into its own
//! JSON. Each has one error type (`Fail`: its error body for a domain error,
//! a refused credential and a routing error), takes the caller from
//! `auth::Authenticated<Fail>` (the only code here that reads credentials),
//! and owns its routing errors (`route_errors::own`). This module only
//! merges the dialects' routers and adds what every route shares (body
//! limit, `Retry-After`, compression, request ids, spans and metrics). No dialect has its
//! own SQL.

mod answers;
mod auth;
mod canonical;
mod conditional;
mod losant;
mod metrics;
pub mod openapi;
mod params;
mod probes;
mod reviewboard;
mod route_errors;
mod serve;
mod siro;
mod slashid;
mod tls_listener;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::Response;
use tokio::net::TcpListener;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::RestLimits;
use crate::domain::Error;
use crate::metrics::{KnownMethods, MeterLayer, RouteTemplate};
use crate::service::Registry;
use crate::trace::TraceLayer;

/// Largest accepted request body (JSON bodies here are a few KiB at most).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every REST route, with its OpenAPI description.
fn documented() -> OpenApiRouter<Registry> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(canonical::routes())
        .merge(losant::routes())
        .merge(reviewboard::routes())
        .merge(siro::routes())
        .merge(slashid::routes())
        .routes(routes!(openapi::document))
        .routes(routes!(metrics::metrics))
        .routes(routes!(probes::livez))
        .routes(routes!(probes::readyz))
}

/// The OpenAPI document of [`router`]'s routes, as served at
/// `/openapi.json`: generated from the handlers' annotations, then
/// tightened with the rules the handlers enforce (`openapi::constraints`).
pub fn openapi() -> serde_json::Value {
    let (_, mut doc) = documented().split_for_parts();
    openapi::finish(&mut doc);
    let mut json = serde_json::to_value(&doc).unwrap_or_default();
    openapi::constrain(&mut json);
    conditional::document::<canonical::Fail>(&mut json);
    json
}

/// The first path segment of every documented route (`v1`, `api`, `me`,
/// ...): the REST values the request metrics may label.
fn route_segments() -> Vec<String> {
    let mut segments: Vec<String> = openapi()["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(p, _)| p.split('/').nth(1).map(str::to_owned))
        .collect();
    segments.sort();
    segments.dedup();
    segments
}

/// Every REST route.
pub fn router(registry: Registry) -> Router {
    let (routes, _) = documented().split_for_parts();
    routes
        .route_layer(axum::middleware::from_fn_with_state(
            registry.clone(),
            route_template,
        ))
        // A path no dialect owns is answered in the canonical API's words.
        .fallback(route_errors::no_route::<canonical::Fail>)
        .layer(axum::middleware::map_response(retry_after))
        // For layers of the faces' routers (`conditional`), which are built
        // before there is a registry to give them as state.
        .layer(axum::Extension(registry.clone()))
        .layer(axum::Extension(answers::Answers::from_env()))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // gzip or zstd when the client's Accept-Encoding allows; small
        // bodies (under 32 bytes) and images stay as they are. The fastest
        // level: JSON pages still shrink ~6x, at a fraction of the CPU of
        // the default level (bench/RESULTS.md).
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Fastest),
        )
        .layer(MeterLayer::new(
            registry.metrics().clone(),
            KnownMethods::new([], route_segments()),
        ))
        .layer(TraceLayer)
        .with_state(registry)
}

/// Puts the matched route's template on the response, for the metrics'
/// bounded `http_route` label (a path with ids would not be), and runs the
/// request inside its audit record (`audit::layer::rest`).
async fn route_template(
    axum::extract::State(registry): axum::extract::State<Registry>,
    matched: axum::extract::MatchedPath,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let template = RouteTemplate(custom_method_template(matched.as_str(), req.uri().path()));
    let span = tracing::Span::current();
    span.record("http.route", template.0.as_str());
    // The span's OpenTelemetry context already exists (its trace id is
    // logged), so the name is updated on it rather than through `otel.name`.
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    span.context()
        .span()
        .update_name(format!("{} {}", req.method(), template.0));
    let mut resp = crate::audit::layer::rest(registry.audit(), &template.0, req, next).await;
    resp.extensions_mut().insert(template);
    resp
}

/// Custom methods (AIP-136) served under a parameter segment, because axum
/// cannot split `{id}:revoke`: their template is the documented one. Only
/// known verbs, so the label stays bounded whatever a client sends.
const CUSTOM_VERBS: [&str; 1] = ["revoke"];

/// `matched` (the router's template), with the request's custom verb when
/// the template ends in a parameter and the path in `:<known verb>`.
fn custom_method_template(matched: &str, path: &str) -> String {
    let verb = path
        .rsplit('/')
        .next()
        .and_then(|last| last.rsplit_once(':'))
        .map(|(_, verb)| verb)
        .filter(|verb| CUSTOM_VERBS.contains(verb));
    match verb {
        Some(verb) if matched.ends_with('}') => format!("{matched}:{verb}"),
        _ => matched.to_owned(),
    }
}

/// The HTTP status of a domain error, as grpc-gateway maps the gRPC code
/// it becomes: the status every dialect starts from (each words the body
/// its own way, and Siro answers an outage as a 500).
pub(crate) fn http_status(e: &Error) -> StatusCode {
    match e {
        Error::InvalidArgument(_) | Error::FailedPrecondition(_) => StatusCode::BAD_REQUEST,
        Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        Error::PermissionDenied(_) => StatusCode::FORBIDDEN,
        Error::NotFound { .. } => StatusCode::NOT_FOUND,
        Error::AlreadyExists(_) => StatusCode::CONFLICT,
        Error::ResourceExhausted(_) => StatusCode::TOO_MANY_REQUESTS,
        Error::Unavailable(_) | Error::Draining(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Every 429 tells the client when to retry (RFC 9110 §10.2.3). Limits
/// refill within a second (the per-key rate is per second; a stream slot
/// frees as soon as any stream ends), so one second is an upper bound.
async fn retry_after(mut resp: Response) -> Response {
    if resp.status() == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut()
            .entry(axum::http::header::RETRY_AFTER)
            .or_insert(axum::http::HeaderValue::from_static("1"));
    }
    resp
}

/// Serves the gateway on `listener` (over TLS when `tls` is given) until
/// `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    registry: Registry,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: RestLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(registry);
    match tls {
        Some(acceptor) => {
            let listener = tls_listener::TlsListener::new(listener, acceptor)?;
            serve::serve(listener, app, limits, shutdown).await;
        }
        None => serve::serve(NoDelay(listener), app, limits, shutdown).await,
    }
    Ok(())
}

/// Plain TCP connections with Nagle's algorithm off (small responses must
/// not wait for delayed ACKs).
struct NoDelay(TcpListener);

impl axum::serve::Listener for NoDelay {
    type Io = tokio::net::TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.0).await;
        let _ = io.set_nodelay(true);
        (io, addr)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::custom_method_template as t;

    #[test]
    fn custom_methods_keep_their_documented_template() {
        assert_eq!(
            t("/v1/tokens/{id}", "/v1/tokens/abc:revoke"),
            "/v1/tokens/{id}:revoke"
        );
        assert_eq!(t("/v1/tokens/{id}", "/v1/tokens/abc"), "/v1/tokens/{id}");
        assert_eq!(
            t("/v1/tokens/{id}", "/v1/tokens/abc:made-up"),
            "/v1/tokens/{id}"
        );
        assert_eq!(
            t("/v1/tokens:revoke", "/v1/tokens:revoke"),
            "/v1/tokens:revoke"
        );
    }
}
