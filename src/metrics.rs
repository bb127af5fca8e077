//! Prometheus metrics, served as OpenMetrics text at `GET /metrics` on the
//! REST port: requests by method and code, latency histograms by method,
//! streams in flight, and database pool usage. Process-wide, because the
//! request layer that counts is shared by both faces and holds no state.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::Store;

/// `method` is the gRPC method path, or for REST the HTTP method and first
/// path segment (ids in REST paths would make the label unbounded).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub method: String,
}

type LatencyFamily = Family<MethodLabels, Histogram, fn() -> Histogram>;

/// Every metric the service exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    streams_in_flight: Gauge,
    pool_connections: Gauge,
    pool_idle: Gauge,
}

/// 0.1 ms to ~1.6 s in 15 doubling buckets.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("oauth_registry");
    let requests = Family::<RequestLabels, Counter>::default();
    let latency = LatencyFamily::new_with_constructor(latency_histogram);
    let streams_in_flight = Gauge::default();
    let pool_connections = Gauge::default();
    let pool_idle = Gauge::default();
    registry.register(
        "requests",
        "Requests finished, by method and gRPC code (REST: HTTP status)",
        requests.clone(),
    );
    registry.register(
        "request_duration_seconds",
        "Time to the response head (whole call for unary RPCs)",
        latency.clone(),
    );
    registry.register(
        "streams_in_flight",
        "Streaming RPCs currently sending pages",
        streams_in_flight.clone(),
    );
    registry.register(
        "db_pool_connections",
        "Open database connections in the pool",
        pool_connections.clone(),
    );
    registry.register(
        "db_pool_idle_connections",
        "Idle database connections in the pool",
        pool_idle.clone(),
    );
    Metrics {
        registry,
        requests,
        latency,
        streams_in_flight,
        pool_connections,
        pool_idle,
    }
});

/// Records a finished request.
pub fn record_request(method: &str, code: &str, seconds: f64) {
    let method = method.to_owned();
    METRICS
        .requests
        .get_or_create(&RequestLabels {
            method: method.clone(),
            code: code.to_owned(),
        })
        .inc();
    METRICS
        .latency
        .get_or_create(&MethodLabels { method })
        .observe(seconds);
}

/// Counts a stream as in flight until dropped.
pub struct StreamGuard(());

impl StreamGuard {
    pub fn new() -> Self {
        METRICS.streams_in_flight.inc();
        StreamGuard(())
    }
}

impl Default for StreamGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        METRICS.streams_in_flight.dec();
    }
}

/// The metrics in OpenMetrics text format, pool gauges read now.
pub fn render(store: &dyn Store) -> String {
    let pool = store.pool_stats();
    METRICS.pool_connections.set(i64::from(pool.size));
    METRICS.pool_idle.set(pool.idle as i64);
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &METRICS.registry).is_err() {
        out.clear();
    }
    out
}
