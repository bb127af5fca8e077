//! `oauth-registry serve`: the server's flags (each with an environment
//! variable) and their translation into a [`ServerConfig`].

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::{self, ConnectionLimits, DEFAULT_GRPC_ADDR, DEFAULT_REST_ADDR, ServerConfig};
use crate::store::StoreOptions;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// gRPC listen address: host:port (a name such as localhost, or an IP).
    #[arg(long, env = "OAUTH_REGISTRY_GRPC_ADDR", default_value = DEFAULT_GRPC_ADDR, value_parser = listen_addr)]
    pub grpc_addr: SocketAddr,
    /// REST gateway listen address: host:port.
    #[arg(long, env = "OAUTH_REGISTRY_REST_ADDR", default_value = DEFAULT_REST_ADDR, value_parser = listen_addr)]
    pub rest_addr: SocketAddr,
    /// Turn the REST gateway off.
    #[arg(long, env = "OAUTH_REGISTRY_NO_REST")]
    pub no_rest: bool,
    /// Do not run migrations at start-up.
    #[arg(long, env = "OAUTH_REGISTRY_NO_MIGRATE")]
    pub no_migrate: bool,
    /// Database health probe interval, in milliseconds.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_HEALTH_INTERVAL_MS",
        default_value_t = config::DEFAULT_HEALTH_INTERVAL_MS
    )]
    pub health_interval_ms: u64,
    /// Longest wait for in-flight calls on shutdown, in seconds.
    #[arg(long, env = "OAUTH_REGISTRY_SHUTDOWN_GRACE_SECS", default_value_t = config::DEFAULT_SHUTDOWN_GRACE_SECS)]
    pub shutdown_grace_secs: u64,
    /// HTTP/2 streams one connection may have open at once.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_MAX_CONCURRENT_STREAMS",
        default_value_t = config::DEFAULT_MAX_CONCURRENT_STREAMS
    )]
    pub max_concurrent_streams: u32,
    /// Calls one connection may have in progress before new ones are refused
    /// with RESOURCE_EXHAUSTED.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_MAX_CALLS_PER_CONNECTION",
        default_value_t = config::DEFAULT_MAX_CALLS_PER_CONNECTION
    )]
    pub max_calls_per_connection: usize,
    /// Streams (StreamTokens, StreamClients, WatchTokens, WatchClients) the whole server may have in
    /// progress, over all connections; beyond it RESOURCE_EXHAUSTED (0: no limit).
    #[arg(long, env = "OAUTH_REGISTRY_MAX_STREAMS", default_value_t = config::DEFAULT_MAX_STREAMS)]
    pub max_streams: usize,
    /// Delete tokens expired or revoked more than this many days ago (0: keep all).
    #[arg(long, env = "OAUTH_REGISTRY_RETENTION_DAYS", default_value_t = 0)]
    pub retention_days: u32,
    /// Seconds between retention sweeps.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_RETENTION_INTERVAL_SECS",
        default_value_t = config::DEFAULT_RETENTION_INTERVAL_SECS
    )]
    pub retention_interval_secs: u64,
    /// PostgreSQL: seconds between checks for planner statistics gone
    /// stale in tables autovacuum does not keep (it is off); those are
    /// analyzed (0: never).
    #[arg(
        long,
        env = "OAUTH_REGISTRY_STATISTICS_INTERVAL_SECS",
        default_value_t = config::DEFAULT_STATISTICS_INTERVAL_SECS
    )]
    pub statistics_interval_secs: u64,
    /// Keep change-feed events (what WatchTokens/WatchClients resume from)
    /// this many hours; a watch resumed from before the oldest kept event
    /// gets FAILED_PRECONDITION and must re-list.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_CHANGE_RETENTION_HOURS",
        default_value_t = config::DEFAULT_CHANGE_RETENTION_HOURS
    )]
    pub change_retention_hours: u64,
    /// Keep at most this many change-feed events per organization.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_CHANGE_RETENTION_COUNT",
        default_value_t = config::DEFAULT_CHANGE_RETENTION_COUNT
    )]
    pub change_retention_count: u64,
    /// Seconds between a watch's bookmarks (progress events carrying a
    /// resume token while nothing matching happens).
    #[arg(
        long,
        env = "OAUTH_REGISTRY_WATCH_BOOKMARK_SECS",
        default_value_t = config::DEFAULT_WATCH_BOOKMARK_SECS
    )]
    pub watch_bookmark_secs: u64,
    /// Seconds a verified API key is trusted without a database lookup: a
    /// key revoked through another replica or the admin CLI still works on
    /// this one for at most this long (through this one: refused at once).
    /// 0 looks the key up on every call.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_KEY_CACHE_SECS",
        default_value_t = config::DEFAULT_KEY_CACHE_SECS
    )]
    pub key_cache_secs: u64,
    /// Audit only writes: reads (List, Stream, Count, Get, Watch, Lookup)
    /// are not recorded in the audit trail.
    #[arg(long, env = "OAUTH_REGISTRY_NO_AUDIT_READS")]
    pub no_audit_reads: bool,
    /// Delete audit events older than this many days.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_AUDIT_RETENTION_DAYS",
        default_value_t = config::DEFAULT_AUDIT_RETENTION_DAYS
    )]
    pub audit_retention_days: u64,
    /// Requests per second each API key may make, in bursts of up to one
    /// second's worth; over it, RESOURCE_EXHAUSTED / HTTP 429 (0: unlimited).
    #[arg(long, env = "OAUTH_REGISTRY_RATE_LIMIT_PER_KEY", default_value_t = 0)]
    pub rate_limit_per_key: u32,
    /// Serve gRPC and REST over TLS with this PEM certificate chain (needs
    /// --tls-key). Without it both ports speak plaintext (h2c for gRPC).
    #[arg(long, env = "OAUTH_REGISTRY_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, env = "OAUTH_REGISTRY_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// REST: longest wait for a request's head, from connecting or from the
    /// previous response (so also the keep-alive idle limit), in seconds.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_REST_HEADER_TIMEOUT_SECS",
        default_value_t = config::DEFAULT_REST_HEADER_TIMEOUT_SECS
    )]
    pub rest_header_timeout_secs: u64,
    /// REST: longest pause while receiving a request body, in seconds (408).
    #[arg(
        long,
        env = "OAUTH_REGISTRY_REST_BODY_TIMEOUT_SECS",
        default_value_t = config::DEFAULT_REST_BODY_TIMEOUT_SECS
    )]
    pub rest_body_timeout_secs: u64,
    /// REST: connections served at once (more wait in the listen backlog).
    #[arg(
        long,
        env = "OAUTH_REGISTRY_REST_MAX_CONNECTIONS",
        default_value_t = config::DEFAULT_REST_MAX_CONNECTIONS
    )]
    pub rest_max_connections: usize,
    /// gRPC: longest wait for a new connection's first bytes (the HTTP/2
    /// preface or a TLS ClientHello), in seconds; silent ones are closed.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_GRPC_PREFACE_TIMEOUT_SECS",
        default_value_t = config::DEFAULT_GRPC_PREFACE_TIMEOUT_SECS
    )]
    pub grpc_preface_timeout_secs: u64,
    /// After SIGTERM/SIGINT, keep accepting and serving this many seconds
    /// with readiness NOT_SERVING (lame duck) before draining, so callers
    /// stop routing here before connections are refused.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_SHUTDOWN_DELAY_SECS",
        default_value_t = config::DEFAULT_SHUTDOWN_DELAY_SECS
    )]
    pub shutdown_delay_secs: u64,
    /// Send GOAWAY to a gRPC connection after this many seconds (±10 %), so
    /// long-lived clients reconnect and spread over new replicas (0: never).
    #[arg(
        long,
        env = "OAUTH_REGISTRY_MAX_CONNECTION_AGE_SECS",
        alias = "max-connection-age",
        default_value_t = config::DEFAULT_MAX_CONNECTION_AGE_SECS
    )]
    pub max_connection_age_secs: u64,
    /// Calls still running on an aged connection get this many seconds to
    /// finish before it is closed.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_MAX_CONNECTION_AGE_GRACE_SECS",
        alias = "max-connection-age-grace",
        default_value_t = config::DEFAULT_MAX_CONNECTION_AGE_GRACE_SECS
    )]
    pub max_connection_age_grace_secs: u64,
    /// Ping a gRPC connection after this many idle seconds (0: never).
    #[arg(
        long,
        env = "OAUTH_REGISTRY_HTTP2_KEEPALIVE_INTERVAL_SECS",
        alias = "http2-keepalive-interval",
        default_value_t = config::DEFAULT_HTTP2_KEEPALIVE_INTERVAL_SECS
    )]
    pub http2_keepalive_interval_secs: u64,
    /// Close a gRPC connection whose ping is unanswered after this many seconds.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_HTTP2_KEEPALIVE_TIMEOUT_SECS",
        alias = "http2-keepalive-timeout",
        default_value_t = config::DEFAULT_HTTP2_KEEPALIVE_TIMEOUT_SECS
    )]
    pub http2_keepalive_timeout_secs: u64,
    /// TCP keepalive idle time of gRPC connections, in seconds (0: off).
    #[arg(
        long,
        env = "OAUTH_REGISTRY_TCP_KEEPALIVE_SECS",
        alias = "tcp-keepalive",
        default_value_t = config::DEFAULT_TCP_KEEPALIVE_SECS
    )]
    pub tcp_keepalive_secs: u64,
    /// Client pings closer together than this many seconds (with no data
    /// sent between them) are strikes; the third closes the connection with
    /// GOAWAY ENHANCE_YOUR_CALM "too_many_pings" (0: any rate is fine).
    #[arg(
        long,
        env = "OAUTH_REGISTRY_MIN_PING_INTERVAL_SECS",
        alias = "min-ping-interval",
        default_value_t = config::DEFAULT_MIN_PING_INTERVAL_SECS
    )]
    pub min_ping_interval_secs: u64,
    /// Do not answer gRPC-Web (which also allows HTTP/1.1) on the gRPC port.
    #[arg(long, env = "OAUTH_REGISTRY_NO_GRPC_WEB")]
    pub no_grpc_web: bool,
    /// A browser origin (e.g. https://admin.example.com) allowed to call
    /// gRPC-Web; repeat or comma-separate. None: no CORS (browsers on other
    /// origins are refused).
    #[arg(long, env = "OAUTH_REGISTRY_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origin: Vec<String>,
}

impl ServeArgs {
    /// The server settings these flags ask for.
    pub fn config(
        &self,
        database_url: String,
        store: StoreOptions,
    ) -> anyhow::Result<ServerConfig> {
        Ok(ServerConfig {
            database_url,
            grpc_addr: self.grpc_addr,
            rest_addr: (!self.no_rest).then_some(self.rest_addr),
            store,
            migrate: !self.no_migrate,
            health_interval: Duration::from_millis(self.health_interval_ms.max(50)),
            shutdown_delay: Duration::from_secs(self.shutdown_delay_secs),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            max_concurrent_streams: self.max_concurrent_streams.max(1),
            max_calls_per_connection: self.max_calls_per_connection.max(1),
            max_streams: self.max_streams,
            retention: (self.retention_days > 0)
                .then(|| Duration::from_secs(u64::from(self.retention_days) * 86_400)),
            retention_interval: Duration::from_secs(self.retention_interval_secs.max(1)),
            statistics_interval: (self.statistics_interval_secs > 0)
                .then(|| Duration::from_secs(self.statistics_interval_secs)),
            change_retention: Duration::from_secs(self.change_retention_hours.saturating_mul(3600)),
            change_retention_count: self.change_retention_count,
            watch_bookmark_every: Duration::from_secs(self.watch_bookmark_secs.max(1)),
            audit_reads: !self.no_audit_reads,
            key_cache: Duration::from_secs(self.key_cache_secs),
            audit_retention: Duration::from_secs(self.audit_retention_days.saturating_mul(86_400)),
            rate_limit_per_key: self.rate_limit_per_key,
            tls: match (&self.tls_cert, &self.tls_key) {
                (Some(cert), Some(key)) => Some(crate::tls::TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                }),
                _ => None,
            },
            rest_limits: crate::config::RestLimits {
                header_timeout: Duration::from_secs(self.rest_header_timeout_secs.max(1)),
                body_timeout: Duration::from_secs(self.rest_body_timeout_secs.max(1)),
                max_connections: self.rest_max_connections.max(1),
            },
            grpc_preface_timeout: Duration::from_secs(self.grpc_preface_timeout_secs.max(1)),
            connections: ConnectionLimits {
                max_age: secs(self.max_connection_age_secs),
                max_age_grace: Duration::from_secs(self.max_connection_age_grace_secs),
                keepalive_interval: secs(self.http2_keepalive_interval_secs),
                keepalive_timeout: Duration::from_secs(self.http2_keepalive_timeout_secs.max(1)),
                tcp_keepalive: secs(self.tcp_keepalive_secs),
                min_ping_interval: Duration::from_secs(self.min_ping_interval_secs),
            },
            grpc_web: !self.no_grpc_web,
            cors_origins: self.cors_origin.clone(),
        })
    }
}

/// Seconds, where 0 means "off".
fn secs(n: u64) -> Option<Duration> {
    (n > 0).then(|| Duration::from_secs(n))
}

/// `host:port` to a socket address, resolving a host name (`localhost`).
fn listen_addr(s: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    let shown: String = s.chars().take(64).collect();
    if s.rsplit_once(':')
        .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
    {
        return Err(format!(
            "{shown:?} is not host:port (e.g. 127.0.0.1:50051, localhost:50051 or [::1]:50051)"
        ));
    }
    s.to_socket_addrs()
        .map_err(|e| format!("cannot resolve {shown:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{shown:?} resolves to no address"))
}
