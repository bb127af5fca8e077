//! The `oauth-registry` command line: `serve`, `migrate`, `seed`, `admin`.
//! Every setting is a flag with an environment variable behind it.

mod admin;
mod healthcheck;
mod seed;

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::app::{Application, shutdown_signal};
use crate::config::{
    self, DEFAULT_DATABASE_URL, DEFAULT_GRPC_ADDR, DEFAULT_REST_ADDR, ServerConfig,
};
use crate::store::{self, StoreOptions};
use crate::telemetry::{self, LogFormat};

#[derive(Debug, Parser)]
#[command(
    name = "oauth-registry",
    version,
    about = "Keeps an organization's OAuth 2.0 clients and tokens; serves them over gRPC and a REST gateway."
)]
pub struct Cli {
    /// Database: sqlite://path (created if missing) or postgres://...
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// Log format.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_LOG_FORMAT",
        value_enum,
        default_value = "human",
        global = true
    )]
    pub log_format: LogFormat,
    /// Database connection pool size.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_DB_MAX_CONNECTIONS",
        default_value_t = config::DEFAULT_DB_MAX_CONNECTIONS,
        global = true
    )]
    pub db_max_connections: u32,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC server (migrates the database first).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create demo data: an organization, an API key (printed once), clients and tokens.
    Seed(seed::SeedArgs),
    /// Manage organizations and API keys.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Print the REST gateway's OpenAPI document (as served at /openapi.json).
    #[cfg(feature = "rest")]
    Openapi,
    /// Ask a running server's grpc.health.v1 service; exit 0 only if SERVING
    /// (for container health checks and scripts that wait for start-up).
    Healthcheck(healthcheck::HealthcheckArgs),
}

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
    /// Streams (StreamTokens, StreamClients) the whole server may have in
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
}

impl Cli {
    fn store_options(&self) -> StoreOptions {
        StoreOptions {
            max_connections: self.db_max_connections.max(1),
            ..StoreOptions::default()
        }
    }
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

/// Runs the parsed command line.
pub async fn run(mut cli: Cli) -> anyhow::Result<()> {
    // DATABASE_URL= (set but empty) means the default, as no variable does.
    if cli.database_url.trim().is_empty() {
        cli.database_url = DEFAULT_DATABASE_URL.to_owned();
    }
    let default_filter = match cli.command {
        Command::Seed(_) => "info,sqlx::query=error",
        _ => "info",
    };
    telemetry::init(cli.log_format, default_filter);
    match &cli.command {
        Command::Serve(args) => {
            let config = ServerConfig {
                database_url: cli.database_url.clone(),
                grpc_addr: args.grpc_addr,
                rest_addr: (!args.no_rest).then_some(args.rest_addr),
                store: cli.store_options(),
                migrate: !args.no_migrate,
                health_interval: Duration::from_millis(args.health_interval_ms.max(50)),
                shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
                max_concurrent_streams: args.max_concurrent_streams.max(1),
                max_calls_per_connection: args.max_calls_per_connection.max(1),
                max_streams: args.max_streams,
                retention: (args.retention_days > 0)
                    .then(|| Duration::from_secs(u64::from(args.retention_days) * 86_400)),
                retention_interval: Duration::from_secs(args.retention_interval_secs.max(1)),
                rate_limit_per_key: args.rate_limit_per_key,
                tls: match (&args.tls_cert, &args.tls_key) {
                    (Some(cert), Some(key)) => Some(crate::tls::TlsFiles {
                        cert: cert.clone(),
                        key: key.clone(),
                    }),
                    _ => None,
                },
                rest_limits: crate::config::RestLimits {
                    header_timeout: Duration::from_secs(args.rest_header_timeout_secs.max(1)),
                    body_timeout: Duration::from_secs(args.rest_body_timeout_secs.max(1)),
                    max_connections: args.rest_max_connections.max(1),
                },
                grpc_preface_timeout: Duration::from_secs(args.grpc_preface_timeout_secs.max(1)),
            };
            let app = Application::build(config).await?;
            app.run_until(shutdown_signal()).await
        }
        Command::Migrate => {
            let store = store::connect(&cli.database_url, &cli.store_options()).await?;
            store.migrate().await?;
            println!("migrations applied ({})", store.backend());
            Ok(())
        }
        Command::Seed(args) => seed::run(&cli.database_url, &cli.store_options(), args).await,
        #[cfg(feature = "rest")]
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&crate::rest::openapi())?);
            Ok(())
        }
        Command::Admin(cmd) => admin::run(&cli.database_url, &cli.store_options(), cmd).await,
        Command::Healthcheck(args) => healthcheck::run(args).await,
    }
}

/// Opens and migrates the store and builds the core, for one-shot commands.
async fn open(database_url: &str, opts: &StoreOptions) -> anyhow::Result<crate::service::Registry> {
    let store = store::connect(database_url, opts).await?;
    store.migrate().await?;
    Ok(crate::service::Registry::new(store).await?)
}
