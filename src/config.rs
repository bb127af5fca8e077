//! Server settings in one place. Layering is defaults → environment →
//! flags (clap reads both; see `cli`). Tests build a `ServerConfig` directly.

use std::net::SocketAddr;
use std::time::Duration;

use crate::store::StoreOptions;

/// Where `serve` keeps its data when no database URL is given.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/oauth-registry.db";
pub const DEFAULT_GRPC_ADDR: &str = "127.0.0.1:50051";
pub const DEFAULT_REST_ADDR: &str = "127.0.0.1:8080";

// Every other default, written once: the command line's flags and
// `ServerConfig::new` both read these.
pub use crate::store::DEFAULT_MAX_CONNECTIONS as DEFAULT_DB_MAX_CONNECTIONS;
pub const DEFAULT_HEALTH_INTERVAL_MS: u64 = 1000;
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 10;
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 256;
pub const DEFAULT_MAX_CALLS_PER_CONNECTION: usize = 128;
pub const DEFAULT_MAX_STREAMS: usize = 256;
pub const DEFAULT_RETENTION_INTERVAL_SECS: u64 = 300;
/// autovacuum's own naptime.
pub const DEFAULT_STATISTICS_INTERVAL_SECS: u64 = 60;
/// Change-feed events are kept this long (hours)...
pub const DEFAULT_CHANGE_RETENTION_HOURS: u64 = 168;
/// ...and at most this many per organization.
pub const DEFAULT_CHANGE_RETENTION_COUNT: u64 = 1_000_000;
/// Audit events are kept this many days.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u64 = 90;
/// Seconds between a watch's bookmarks.
pub const DEFAULT_WATCH_BOOKMARK_SECS: u64 = 15;
/// Seconds a verified API key is trusted without a database lookup.
pub const DEFAULT_KEY_CACHE_SECS: u64 = 5;
pub const DEFAULT_REST_HEADER_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_REST_BODY_TIMEOUT_SECS: u64 = 30;
pub const DEFAULT_REST_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_GRPC_PREFACE_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_SHUTDOWN_DELAY_SECS: u64 = 5;
pub const DEFAULT_MAX_CONNECTION_AGE_SECS: u64 = 300;
pub const DEFAULT_MAX_CONNECTION_AGE_GRACE_SECS: u64 = 30;
pub const DEFAULT_HTTP2_KEEPALIVE_INTERVAL_SECS: u64 = 60;
pub const DEFAULT_HTTP2_KEEPALIVE_TIMEOUT_SECS: u64 = 20;
pub const DEFAULT_TCP_KEEPALIVE_SECS: u64 = 60;
pub const DEFAULT_MIN_PING_INTERVAL_SECS: u64 = 10;

/// How long gRPC connections live and how they are kept alive, for a mesh:
/// connections are re-established now and then so new replicas get a share
/// of long-lived clients (gRFC A9), dead peers are found by pings, and
/// clients that ping too often are told `too_many_pings` (gRFC A8).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// After this long a connection gets GOAWAY (±10 %, chosen once per
    /// process, so replicas started together do not reconnect together);
    /// `None`: connections live for ever.
    pub max_age: Option<Duration>,
    /// Calls still running when a connection reaches its age get this long
    /// to finish before the connection is closed.
    pub max_age_grace: Duration,
    /// Send an HTTP/2 PING after this long without frames from the peer
    /// (`None`: never).
    pub keepalive_interval: Option<Duration>,
    /// Close the connection when a PING is not answered within this long.
    pub keepalive_timeout: Duration,
    /// TCP keepalive idle time (`None`: off).
    pub tcp_keepalive: Option<Duration>,
    /// A client PING sooner than this after the previous one, while the
    /// server has sent no data in between, is a strike; the third strike
    /// closes the connection with GOAWAY ENHANCE_YOUR_CALM `too_many_pings`.
    pub min_ping_interval: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_age: Some(Duration::from_secs(DEFAULT_MAX_CONNECTION_AGE_SECS)),
            max_age_grace: Duration::from_secs(DEFAULT_MAX_CONNECTION_AGE_GRACE_SECS),
            keepalive_interval: Some(Duration::from_secs(DEFAULT_HTTP2_KEEPALIVE_INTERVAL_SECS)),
            keepalive_timeout: Duration::from_secs(DEFAULT_HTTP2_KEEPALIVE_TIMEOUT_SECS),
            tcp_keepalive: Some(Duration::from_secs(DEFAULT_TCP_KEEPALIVE_SECS)),
            min_ping_interval: Duration::from_secs(DEFAULT_MIN_PING_INTERVAL_SECS),
        }
    }
}

/// Time and connection limits of the REST listener.
#[derive(Debug, Clone, Copy)]
pub struct RestLimits {
    /// Longest wait for a request's head, from connecting or from the end
    /// of the previous response (so also the keep-alive idle limit).
    pub header_timeout: Duration,
    /// Longest time to receive a request body.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for RestLimits {
    fn default() -> Self {
        RestLimits {
            header_timeout: Duration::from_secs(DEFAULT_REST_HEADER_TIMEOUT_SECS),
            body_timeout: Duration::from_secs(DEFAULT_REST_BODY_TIMEOUT_SECS),
            max_connections: DEFAULT_REST_MAX_CONNECTIONS,
        }
    }
}

/// Everything `Application::build` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub database_url: String,
    /// Port 0 picks a free port (tests); `Application::grpc_addr` reports it.
    pub grpc_addr: SocketAddr,
    /// REST gateway address; `None` turns the gateway off.
    pub rest_addr: Option<SocketAddr>,
    pub store: StoreOptions,
    /// Run pending migrations at start-up.
    pub migrate: bool,
    /// How often health probes the database.
    pub health_interval: Duration,
    /// After a shutdown signal, how long to keep accepting and serving
    /// with readiness NOT_SERVING (lame duck), so endpoints are removed
    /// before connections are refused.
    pub shutdown_delay: Duration,
    /// Longest wait for in-flight calls once draining starts (after the delay).
    pub shutdown_grace: Duration,
    /// HTTP/2 streams (calls) one connection may have open at once; more
    /// wait in the client, per the protocol.
    pub max_concurrent_streams: u32,
    /// Unary calls one connection may have in progress; beyond it calls are
    /// refused at once with RESOURCE_EXHAUSTED instead of queueing.
    pub max_calls_per_connection: usize,
    /// Streams (StreamTokens, StreamClients) in progress across all
    /// connections; beyond it a new one is refused with RESOURCE_EXHAUSTED
    /// (0: no limit).
    pub max_streams: usize,
    /// Delete tokens expired or revoked longer ago than this (off if None),
    /// checking every `retention_interval`.
    pub retention: Option<Duration>,
    pub retention_interval: Duration,
    /// PostgreSQL: how often a running server checks for tables autovacuum
    /// does not keep (it is off) whose planner statistics went stale, and
    /// analyzes them (`store/pg_statistics.rs`); None: never.
    pub statistics_interval: Option<Duration>,
    /// The change feed keeps events this long and at most `change_retention_count`
    /// per organization; a watch from before what is kept must re-list.
    /// Trimmed every `retention_interval`.
    pub change_retention: Duration,
    pub change_retention_count: u64,
    /// Time between a watch's bookmarks.
    pub watch_bookmark_every: Duration,
    /// Record reads in the audit trail too (writes always are).
    pub audit_reads: bool,
    /// How long a verified API key is trusted without a lookup: the
    /// longest a key revoked elsewhere (another replica, the admin CLI)
    /// still works here. Zero: every call looks its key up.
    pub key_cache: Duration,
    /// Audit events are deleted after this long (trimmed every
    /// `retention_interval`).
    pub audit_retention: Duration,
    /// Requests per second each API key may make (0: unlimited).
    pub rate_limit_per_key: u32,
    /// Serve gRPC and REST over TLS with this certificate and key (default:
    /// plaintext, h2c for gRPC).
    pub tls: Option<crate::tls::TlsFiles>,
    /// Time and connection limits of the REST gateway.
    pub rest_limits: RestLimits,
    /// Longest wait for a new gRPC connection's first bytes (the HTTP/2
    /// preface, or a TLS ClientHello); silent connections are closed.
    pub grpc_preface_timeout: Duration,
    /// gRPC connection ageing and keepalive.
    pub connections: ConnectionLimits,
    /// Answer gRPC-Web (HTTP/1.1 or HTTP/2) on the gRPC port.
    pub grpc_web: bool,
    /// Origins allowed to call gRPC-Web from a browser (CORS); empty: no
    /// CORS headers at all, so browsers on other origins are refused.
    pub cors_origins: Vec<String>,
}

impl ServerConfig {
    /// Defaults for a database URL (used by tests and embedders).
    pub fn new(database_url: impl Into<String>) -> Self {
        ServerConfig {
            database_url: database_url.into(),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            rest_addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            store: StoreOptions::default(),
            migrate: true,
            health_interval: Duration::from_millis(DEFAULT_HEALTH_INTERVAL_MS),
            shutdown_delay: Duration::ZERO,
            shutdown_grace: Duration::from_secs(DEFAULT_SHUTDOWN_GRACE_SECS),
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_calls_per_connection: DEFAULT_MAX_CALLS_PER_CONNECTION,
            max_streams: DEFAULT_MAX_STREAMS,
            retention: None,
            retention_interval: Duration::from_secs(DEFAULT_RETENTION_INTERVAL_SECS),
            statistics_interval: Some(Duration::from_secs(DEFAULT_STATISTICS_INTERVAL_SECS)),
            change_retention: Duration::from_secs(DEFAULT_CHANGE_RETENTION_HOURS * 3600),
            change_retention_count: DEFAULT_CHANGE_RETENTION_COUNT,
            watch_bookmark_every: Duration::from_secs(DEFAULT_WATCH_BOOKMARK_SECS),
            audit_reads: true,
            key_cache: Duration::from_secs(DEFAULT_KEY_CACHE_SECS),
            audit_retention: Duration::from_secs(DEFAULT_AUDIT_RETENTION_DAYS * 86_400),
            rate_limit_per_key: 0,
            tls: None,
            rest_limits: RestLimits::default(),
            grpc_preface_timeout: Duration::from_secs(DEFAULT_GRPC_PREFACE_TIMEOUT_SECS),
            connections: ConnectionLimits::default(),
            grpc_web: true,
            cors_origins: Vec::new(),
        }
    }
}
