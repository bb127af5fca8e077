//! The REST/JSON gateway: an optional second face over the same core, on its
//! own port. `canonical` is the protobuf JSON mapping of the gRPC API under
//! `/v1/` (transcoded in-process onto the gRPC service, so the two cannot
//! drift); each vendor dialect (`siro`, ...) is one file that translates its
//! parameters into the core query model and the results into its own JSON,
//! with its own error bodies. No dialect has its own SQL.

mod auth;
mod canonical;
mod losant;
mod params;
mod reviewboard;
mod siro;
mod slashid;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;

use crate::service::Registry;
use crate::trace::TraceLayer;

/// Largest accepted request body (JSON bodies here are a few KiB at most).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every REST route.
pub fn router(registry: Registry) -> Router {
    Router::new()
        .merge(canonical::routes())
        .merge(losant::routes())
        .merge(reviewboard::routes())
        .merge(siro::routes())
        .merge(slashid::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer)
        .with_state(registry)
}

/// Serves the gateway on `listener` until `shutdown` resolves, then lets
/// in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    registry: Registry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(registry))
        .with_graceful_shutdown(shutdown)
        .await
}
