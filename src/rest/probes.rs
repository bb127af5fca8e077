//! `GET /livez` and `GET /readyz`: plain-text probes for HTTP health checks
//! (Kubernetes `httpGet`, load balancers). No key: they say nothing about
//! any tenant. Liveness never looks at the database, so an outage never
//! restarts a replica; readiness follows it and turns 503 once shutdown
//! begins (see `health`).

use axum::extract::State;
use axum::http::StatusCode;

use crate::service::Registry;

/// 200 "ok" whenever this process answers.
#[utoipa::path(get, path = "/livez", tag = "meta", operation_id = "Livez", responses(
    (status = 200, description = "The process is alive", content_type = "text/plain")
))]
pub async fn livez() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
}

/// 200 "ready" while the database answers and shutdown has not begun, else
/// 503 with the reason.
#[utoipa::path(get, path = "/readyz", tag = "meta", operation_id = "Readyz", responses(
    (status = 200, description = "Ready for traffic", content_type = "text/plain"),
    (status = 503, description = "Not ready: the database does not answer, or the server is shutting down", content_type = "text/plain")
))]
pub async fn readyz(State(registry): State<Registry>) -> (StatusCode, &'static str) {
    let health = registry.health();
    if health.is_ready() {
        (StatusCode::OK, "ready\n")
    } else if health.is_stopping() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
    }
}
