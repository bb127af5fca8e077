//! The gateway's accept loop, with the limits `axum::serve` has no knobs
//! for: at most `max_connections` open at once (the rest wait in the
//! kernel's backlog), a time limit on reading each request's head (which
//! also closes a keep-alive connection idle that long, and one that sent
//! nothing at all), and a time limit on reading a body (the request then
//! fails with 408 in its dialect's format). A stalled client costs one
//! connection slot for at most those limits, never a task forever.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::serve::Listener;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;

use crate::config::RestLimits;

/// Serves `app` on every connection `listener` yields until `shutdown`
/// resolves; then stops accepting and lets in-flight requests finish.
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    limits: RestLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    L: Listener,
    L::Io: Unpin,
{
    let app = app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_timeout,
    ));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (io, _peer) = tokio::select! {
            _ = &mut shutdown => break,
            conn = listener.accept() => conn,
        };
        let service = TowerToHyperService::new(app.clone());
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(io), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _slot = permit;
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "REST connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
