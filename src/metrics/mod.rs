//! Prometheus metrics, served as OpenMetrics text at `GET /metrics` on the
//! REST port. Three kinds, one exposition:
//! - the standard families dashboards and alerts already know: gRPC's
//!   go-grpc-prometheus set ([`grpc`]), REST's `http_server_*` (OpenTelemetry
//!   HTTP semantic-convention names), `process_*` ([`process`]);
//! - `oauth_registry_*`: requests by method and code, latency, streams in
//!   flight, listing pages, database pool, build info.
//!
//! One set per `Application` (owned by its `Registry`, shared by both
//! faces' request layers), so two servers in one process, as in the tests,
//! never count each other's calls. Every label value comes from the
//! server's own method and route tables, never from what a caller sent.

pub mod grpc;
mod layer;
pub mod process;

pub use layer::{KnownMethods, MeterLayer, RouteTemplate, UNKNOWN};

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
use grpc::{GrpcFamilies, GrpcLabels, GrpcType};

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

/// REST requests: the HTTP method (or `_OTHER`), the matched route template
/// (`/v1/tokens/{id}`, or `unknown`), and the status code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub http_request_method: String,
    pub http_route: String,
    pub http_response_status_code: u16,
}

/// A lookup in one of the core's caches (`totals`, `status_window`):
/// both values come from the server's own code, so the family stays small.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    pub cache: &'static str,
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    git_sha: &'static str,
}

type LatencyFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric the service exports.
pub struct Metrics {
    exposition: Exposition,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily<MethodLabels>,
    streams_in_flight: Gauge,
    pages_fetched: Counter,
    audit_dropped: Counter,
    cache_lookups: Family<CacheLabels, Counter>,
    pool_connections: Gauge,
    pool_idle: Gauge,
    grpc: Arc<GrpcFamilies>,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: LatencyFamily<HttpLabels>,
}

/// 0.1 ms to ~1.6 s in 15 doubling buckets.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

/// go-grpc-prometheus's buckets (client_golang's DefBuckets).
fn grpc_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

/// OpenTelemetry's advised buckets for `http.server.request.duration`.
fn http_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh set of metrics, all zero.
    pub fn new() -> Self {
        let mut exposition = Exposition::default();
        let grpc = Arc::new(GrpcFamilies {
            started: Family::default(),
            handled: Family::default(),
            received: Family::default(),
            sent: Family::default(),
            handling: Family::new_with_constructor(grpc_histogram),
        });
        exposition.register(
            "grpc_server_started",
            "Total number of RPCs started on the server.",
            grpc.started.clone(),
        );
        exposition.register(
            "grpc_server_handled",
            "Total number of RPCs completed on the server, regardless of success or failure.",
            grpc.handled.clone(),
        );
        exposition.register(
            "grpc_server_msg_received",
            "Total number of RPC stream messages received on the server.",
            grpc.received.clone(),
        );
        exposition.register(
            "grpc_server_msg_sent",
            "Total number of gRPC stream messages sent by the server.",
            grpc.sent.clone(),
        );
        exposition.register(
            "grpc_server_handling_seconds",
            "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
            grpc.handling.clone(),
        );
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration = LatencyFamily::new_with_constructor(http_histogram as fn() -> _);
        exposition.register(
            "http_server_requests",
            "REST requests answered, by method, route template and status.",
            http_requests.clone(),
        );
        exposition.register(
            "http_server_request_duration_seconds",
            "Duration of REST requests to the response head.",
            http_duration.clone(),
        );
        exposition.register_collector(Box::new(process::ProcessCollector));

        let own = exposition.sub_registry_with_prefix("oauth_registry");
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildLabels {
                version: process::VERSION,
                git_sha: process::GIT_SHA,
            })
            .set(1);
        own.register(
            "build_info",
            "This build's version and commit (always 1)",
            build_info,
        );
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = LatencyFamily::new_with_constructor(latency_histogram as fn() -> _);
        let streams_in_flight = Gauge::default();
        let pages_fetched = Counter::default();
        let audit_dropped = Counter::default();
        let cache_lookups = Family::<CacheLabels, Counter>::default();
        let pool_connections = Gauge::default();
        let pool_idle = Gauge::default();
        own.register(
            "requests",
            "Requests finished, by method and gRPC code (REST: HTTP status)",
            requests.clone(),
        );
        own.register(
            "request_duration_seconds",
            "Time to the response head (whole call for unary RPCs)",
            latency.clone(),
        );
        own.register(
            "streams_in_flight",
            "Streaming RPCs currently sending pages",
            streams_in_flight.clone(),
        );
        own.register(
            "listing_pages",
            "Listing queries issued: one per page, or per run of a stream's pages (a cancelled stream stops adding to it)",
            pages_fetched.clone(),
        );
        own.register(
            "audit_dropped",
            "Audit events of reads dropped because the audit queue was full (the database far behind)",
            audit_dropped.clone(),
        );
        own.register(
            "cache_lookups",
            "Lookups in the core's caches (totals, status_window), by hit or miss",
            cache_lookups.clone(),
        );
        own.register(
            "db_pool_connections",
            "Open database connections in the pool",
            pool_connections.clone(),
        );
        own.register(
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
            audit_dropped,
            cache_lookups,
            pool_connections,
            pool_idle,
            grpc,
            http_requests,
            http_duration,
        }
    }

    /// Zero series for every method (go-grpc-prometheus does the same), so
    /// rates and alerts work before a method's first call.
    pub fn register_methods<'a>(&self, methods: impl IntoIterator<Item = (&'a str, GrpcType)>) {
        for (path, kind) in methods {
            let labels = GrpcLabels::new(path, kind);
            let _ = self.grpc.started.get_or_create(&labels);
            let _ = self.grpc.received.get_or_create(&labels);
            let _ = self.grpc.sent.get_or_create(&labels);
            let _ = self.grpc.handling.get_or_create(&labels);
            let _ = self.grpc.handled.get_or_create(&grpc::GrpcCodeLabels {
                grpc_type: kind,
                grpc_service: labels.grpc_service.clone(),
                grpc_method: labels.grpc_method.clone(),
                grpc_code: "OK",
            });
        }
    }

    /// The gRPC families, for a call's [`grpc::Call`].
    pub fn grpc(&self) -> &Arc<GrpcFamilies> {
        &self.grpc
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

    /// Records a REST request's response head.
    pub fn record_http(&self, labels: HttpLabels, seconds: f64) {
        self.http_requests.get_or_create(&labels).inc();
        self.http_duration.get_or_create(&labels).observe(seconds);
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

    /// Counts an audit event dropped (queue full).
    pub fn audit_dropped(&self) {
        self.audit_dropped.inc();
    }

    /// Counts a lookup in the core cache `cache`.
    pub fn cache_lookup(&self, cache: &'static str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache_lookups
            .get_or_create(&CacheLabels { cache, result })
            .inc();
    }

    /// Lookups in the core cache `cache` so far that hit (`true`) or missed.
    pub fn cache_lookups(&self, cache: &'static str, hit: bool) -> u64 {
        let result = if hit { "hit" } else { "miss" };
        self.cache_lookups
            .get_or_create(&CacheLabels { cache, result })
            .get()
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
