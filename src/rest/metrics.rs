//! `GET /metrics`: Prometheus metrics on the REST port.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::service::Registry;

/// Prometheus metrics (no authentication: scrape it from inside the mesh;
/// it holds counts and timings, no tenant data).
#[utoipa::path(get, path = "/metrics", tag = "meta", operation_id = "Metrics", responses(
    (status = 200, description = "Metrics in OpenMetrics text format", content_type = "application/openmetrics-text")
))]
pub async fn metrics(State(registry): State<Registry>) -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        registry.metrics().render(registry.store().as_ref()),
    )
}
