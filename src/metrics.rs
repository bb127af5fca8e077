//! Prometheus metrics, served as OpenMetrics text at `GET /metrics` on the
//! REST port: requests by method and code, latency histograms by method,
//! streams in flight, and database pool usage. One set per `Application`
//! (owned by its `Registry`, shared by both faces' request layers), so two
//! servers in one process, as in the tests, never count each other's calls.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
// prometheus-client calls its collection a "registry"; here `Registry` is
// only the application core, so the collection is an `Exposition`.
use prometheus_client::registry::Registry as Exposition;

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
    exposition: Exposition,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    streams_in_flight: Gauge,
    pages_fetched: Counter,
    pool_connections: Gauge,
    pool_idle: Gauge,
}

/// 0.1 ms to ~1.6 s in 15 doubling buckets.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh set of metrics, all zero.
    pub fn new() -> Self {
        let mut exposition = Exposition::with_prefix("oauth_registry");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = LatencyFamily::new_with_constructor(latency_histogram);
        let streams_in_flight = Gauge::default();
        let pages_fetched = Counter::default();
        let pool_connections = Gauge::default();
        let pool_idle = Gauge::default();
        exposition.register(
            "requests",
            "Requests finished, by method and gRPC code (REST: HTTP status)",
            requests.clone(),
        );
        exposition.register(
            "request_duration_seconds",
            "Time to the response head (whole call for unary RPCs)",
            latency.clone(),
        );
        exposition.register(
            "streams_in_flight",
            "Streaming RPCs currently sending pages",
            streams_in_flight.clone(),
        );
        exposition.register(
            "listing_pages",
            "Listing queries issued, one per page fetched (a cancelled stream stops adding to it)",
            pages_fetched.clone(),
        );
        exposition.register(
            "db_pool_connections",
            "Open database connections in the pool",
            pool_connections.clone(),
        );
        exposition.register(
            "db_pool_idle_connections",
            "Idle database connections in the pool",
            pool_idle.clone(),
        );
        Metrics {
            exposition,
            requests,
            latency,
            streams_in_flight,
            pages_fetched,
            pool_connections,
            pool_idle,
        }
    }

    /// Records a finished request.
    pub fn record_request(&self, method: &str, code: &str, seconds: f64) {
        let method = method.to_owned();
        self.requests
            .get_or_create(&RequestLabels {
                method: method.clone(),
                code: code.to_owned(),
            })
            .inc();
        self.latency
            .get_or_create(&MethodLabels { method })
            .observe(seconds);
    }

    /// Counts a stream as in flight until the guard is dropped.
    pub fn stream_started(&self) -> StreamGuard {
        self.streams_in_flight.inc();
        StreamGuard(self.streams_in_flight.clone())
    }

    /// Counts one listing query.
    pub fn page_fetched(&self) {
        self.pages_fetched.inc();
    }

    /// Listing queries issued so far.
    pub fn pages_fetched(&self) -> u64 {
        self.pages_fetched.get()
    }

    /// The metrics in OpenMetrics text format, pool gauges read now.
    pub fn render(&self, store: &dyn Store) -> String {
        let pool = store.pool_stats();
        self.pool_connections.set(i64::from(pool.size));
        self.pool_idle.set(pool.idle as i64);
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.exposition).is_err() {
            out.clear();
        }
        out
    }
}

/// A stream counted in `streams_in_flight` until dropped.
pub struct StreamGuard(Gauge);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What the request layers and the registry hold.
pub type SharedMetrics = Arc<Metrics>;
