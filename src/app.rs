//! `Application`: the server you can start from `main` or from a test.
//! `build` connects, migrates, binds (port 0 allowed) and reports its address;
//! `run_until` serves until a shutdown future resolves, then drains.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::Server;
use tower::Layer;

use crate::config::ServerConfig;
use crate::grpc::AuthLayer;
use crate::grpc::pb::audit_service_server::AuditServiceServer;
use crate::grpc::pb::client_service_server::ClientServiceServer;
use crate::grpc::pb::token_service_server::TokenServiceServer;
use crate::grpc::{AuditApi, ClientApi, TokenApi, pb};
use crate::health::{self, Health};
use crate::incoming::ConnectionPolicy;
use crate::metrics::{KnownMethods, MeterLayer};
use crate::service::Registry;
use crate::store;
use crate::tls::TlsIdentity;
use crate::trace::TraceLayer;

pub struct Application {
    listener: TcpListener,
    grpc_addr: SocketAddr,
    rest: Option<(TcpListener, SocketAddr)>,
    registry: Registry,
    tls: Option<TlsIdentity>,
    config: ServerConfig,
}

impl Application {
    /// Connects to the database, migrates if configured, and binds the port.
    pub async fn build(config: ServerConfig) -> anyhow::Result<Self> {
        // Certificate problems stop start-up before anything else happens.
        let tls = config.tls.as_ref().map(|files| files.load()).transpose()?;
        let store = store::connect(&config.database_url, &config.store).await?;
        if config.migrate {
            store.migrate().await?;
        } else {
            let pending = store.pending_migrations().await?;
            anyhow::ensure!(
                pending.is_empty(),
                "the {} database lacks {} of this build's migrations (first: {}): run `oauth-registry migrate` with the same --database-url, or start without --no-migrate",
                store.backend(),
                pending.len(),
                pending[0]
            );
        }
        let registry = Registry::new(store)
            .await?
            .with_rate_limit(config.rate_limit_per_key)
            .with_stream_limit(config.max_streams)
            .with_bookmark_every(config.watch_bookmark_every)
            .with_read_audit(config.audit_reads)
            .with_key_cache(config.key_cache);
        let listener = bind(config.grpc_addr, "gRPC", "--grpc-addr").await?;
        let grpc_addr = listener.local_addr()?;
        let rest = match config.rest_addr {
            Some(addr) if cfg!(feature = "rest") => {
                let l = bind(addr, "the REST gateway", "--rest-addr (or --no-rest)").await?;
                let a = l.local_addr()?;
                Some((l, a))
            }
            Some(_) => {
                tracing::warn!("built without the `rest` feature; the REST gateway is off");
                None
            }
            None => None,
        };
        Ok(Application {
            listener,
            grpc_addr,
            rest,
            registry,
            tls,
            config,
        })
    }

    /// The bound gRPC address (the real port when built with port 0).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound REST address, when the gateway is on.
    pub fn rest_addr(&self) -> Option<SocketAddr> {
        self.rest.as_ref().map(|(_, a)| *a)
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Serves until `shutdown` resolves. Readiness turns NOT_SERVING first
    /// while the server keeps accepting and serving for the shutdown delay
    /// (load balancers and endpoint lists catch up), then connections get
    /// GOAWAY and in-flight calls up to the grace period to finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (reporter, health_service) = tonic_health::server::health_reporter();
        let reflection_v1 = reflection().build_v1()?;
        let reflection_v1alpha = reflection().build_v1alpha()?;

        // Report a status before accepting the first call.
        let interval = self.config.health_interval;
        let ok = health::ping(&self.registry, interval).await;
        let health = Health::new(reporter, self.registry.health().clone(), ok).await;
        let probe = tokio::spawn(health::probe_database(
            self.registry.clone(),
            health.clone(),
            interval,
            ok,
        ));
        let sweeper = tokio::spawn(sweep_periodically(
            self.registry.clone(),
            self.config.clone(),
        ));
        let statistics = self
            .config
            .statistics_interval
            .map(|every| tokio::spawn(keep_statistics(self.registry.clone(), every)));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (drain_tx, drain_rx) = tokio::sync::watch::channel(false);
        let drain_registry = self.registry.clone();
        let delay = self.config.shutdown_delay;
        let signal = async move {
            shutdown.await;
            health.stopping().await;
            tracing::info!(
                ?delay,
                "shutdown requested; not ready, still serving (lame duck)"
            );
            tokio::time::sleep(delay).await;
            tracing::info!("draining");
            drain_registry.begin_drain();
            let _ = drain_tx.send(true);
            let _ = stop_tx.send(());
        };
        let rest = self.rest.map(|(listener, addr)| {
            tracing::info!(%addr, "REST gateway listening");
            let mut drain = drain_rx.clone();
            let drained = async move {
                let _ = drain.wait_for(|d| *d).await;
            };
            let tls = self.tls.as_ref().map(TlsIdentity::rest_acceptor);
            tokio::spawn(serve_rest(
                listener,
                self.registry.clone(),
                tls,
                self.config.rest_limits,
                drained,
            ))
        });

        tracing::info!(addr = %self.grpc_addr, backend = self.registry.store().backend(), tls = self.tls.is_some(), "gRPC listening");
        let auth = AuthLayer::new(self.registry.clone());
        let audit = crate::audit::layer::AuditLayer::new(self.registry.audit().clone());
        let conns = self.config.connections;
        let mut builder = Server::builder()
            .http2_keepalive_interval(conns.keepalive_interval)
            .http2_keepalive_timeout(Some(conns.keepalive_timeout))
            // gRPC-Web from browsers comes over HTTP/1.1.
            .accept_http1(self.config.grpc_web);
        if let Some(age) = conns.max_age {
            builder = builder
                .max_connection_age(jittered(age))
                .max_connection_age_grace(conns.max_age_grace);
        }
        // Overload: a connection's calls beyond the limit are shed at once
        // (RESOURCE_EXHAUSTED) rather than queued without bound.
        let server = builder
            .max_concurrent_streams(Some(self.config.max_concurrent_streams))
            .concurrency_limit_per_connection(self.config.max_calls_per_connection)
            .load_shed(true)
            .layer(TraceLayer)
            .layer(tower::util::option_layer(grpc_web_cors(&self.config)?))
            .layer(tower::util::option_layer(
                self.config.grpc_web.then(tonic_web::GrpcWebLayer::new),
            ))
            // Inside gRPC-Web, so browsers' calls are counted as gRPC.
            .layer(MeterLayer::new(
                self.registry.metrics().clone(),
                KnownMethods::new(crate::grpc::known_methods(), []),
            ))
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(audit.layer(auth.layer(compressed(TokenServiceServer::new(
                TokenApi::new(self.registry.clone()),
            )))))
            .add_service(audit.layer(auth.layer(compressed(ClientServiceServer::new(
                ClientApi::new(self.registry.clone()),
            )))))
            .add_service(auth.layer(compressed(AuditServiceServer::new(AuditApi::new(
                self.registry.clone(),
            )))))
            .serve_with_incoming_shutdown(
                crate::incoming::incoming(
                    self.listener,
                    ConnectionPolicy {
                        first_bytes_within: self.config.grpc_preface_timeout,
                        tls: self.tls.as_ref().map(TlsIdentity::grpc_acceptor),
                        tcp_keepalive: conns.tcp_keepalive,
                        min_ping_interval: conns.min_ping_interval,
                    },
                ),
                signal,
            );

        let grace = self.config.shutdown_grace;
        tokio::pin!(server);
        let result = tokio::select! {
            r = &mut server => r.map_err(anyhow::Error::from),
            _ = async { let _ = stop_rx.await; tokio::time::sleep(grace).await } => {
                tracing::warn!(?grace, "grace period over; closing remaining calls");
                Ok(())
            }
        };
        probe.abort();
        sweeper.abort();
        if let Some(statistics) = statistics {
            statistics.abort();
        }
        if let Some(rest) = rest {
            rest.abort();
        }
        result
    }
}

/// Binds `addr`, or says which listener could not and what to change.
async fn bind(addr: SocketAddr, what: &str, flag: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                format!("; another process is listening there: stop it or pick another address with {flag}")
            }
            std::io::ErrorKind::AddrNotAvailable => {
                format!("; no interface of this machine has that address: use one it has with {flag}")
            }
            std::io::ErrorKind::PermissionDenied => {
                format!("; ports below 1024 need privileges: pick a higher one with {flag}")
            }
            _ => String::new(),
        };
        anyhow::anyhow!("cannot listen for {what} on {addr}: {e}{hint}")
    })
}

/// The retention sweeper: one pass every `retention_interval` over the
/// tokens (when token retention is on) and the change log, errors logged
/// and retried next time (the database may be down for a while).
async fn sweep_periodically(registry: Registry, config: ServerConfig) {
    let mut tick = tokio::time::interval(config.retention_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Some(retention) = config.retention {
            match registry.sweep_expired(retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, ?retention, "retention sweep"),
                Err(e) => {
                    tracing::warn!(error = %e, "retention sweep failed; retrying next interval")
                }
            }
        }
        match registry.trim_audit_events(config.audit_retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "audit trail trimmed"),
            Err(e) => tracing::warn!(error = %e, "audit trail trim failed; retrying next interval"),
        }
        let (age, count) = (config.change_retention, config.change_retention_count);
        match registry.trim_changes(age, count).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, ?age, count, "change log trimmed"),
            Err(e) => tracing::warn!(error = %e, "change log trim failed; retrying next interval"),
        }
    }
}

/// Planner statistics where autovacuum does not keep them: a check every
/// `every` (the first one interval after the start, which has just
/// refreshed them), analyzing what went stale.
async fn keep_statistics(registry: Registry, every: std::time::Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match registry.keep_statistics().await {
            Ok(tables) if tables.is_empty() => {}
            Ok(tables) => tracing::info!(
                tables = %tables.join(", "),
                "planner statistics had gone stale (autovacuum is off): analyzed"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "planner statistics check failed; retrying next interval")
            }
        }
    }
}

/// Reflection over every service this server exposes, so `grpcurl list`
/// and `describe` work with no proto files.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(pb::ERROR_DETAILS_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
}

/// Both API services accept gzip and zstd requests and compress responses
/// when the caller's `grpc-accept-encoding` allows (negotiated per call).
fn compressed<S: Compressible>(service: S) -> S {
    use tonic::codec::CompressionEncoding::{Gzip, Zstd};
    service
        .accept_compressed(Gzip)
        .accept_compressed(Zstd)
        .send_compressed(Gzip)
        .send_compressed(Zstd)
}

/// The generated servers' compression switches, so one function sets both.
trait Compressible: Sized {
    fn accept_compressed(self, e: tonic::codec::CompressionEncoding) -> Self;
    fn send_compressed(self, e: tonic::codec::CompressionEncoding) -> Self;
}

macro_rules! compressible {
    ($($server:ty),*) => {$(
        impl Compressible for $server {
            fn accept_compressed(self, e: tonic::codec::CompressionEncoding) -> Self {
                <$server>::accept_compressed(self, e)
            }
            fn send_compressed(self, e: tonic::codec::CompressionEncoding) -> Self {
                <$server>::send_compressed(self, e)
            }
        }
    )*};
}
compressible!(
    TokenServiceServer<TokenApi>,
    ClientServiceServer<ClientApi>,
    AuditServiceServer<AuditApi>
);

/// `age` ±10 %, drawn once per process (gRFC A9): replicas started together
/// do not send their GOAWAYs together.
fn jittered(age: Duration) -> Duration {
    age.mul_f64(rand::random_range(0.9..=1.1))
}

/// CORS for gRPC-Web callers on the listed origins; none listed: no CORS
/// headers, so browsers refuse cross-origin calls (the safe default).
fn grpc_web_cors(config: &ServerConfig) -> anyhow::Result<Option<tower_http::cors::CorsLayer>> {
    if !config.grpc_web || config.cors_origins.is_empty() {
        return Ok(None);
    }
    let origins = config
        .cors_origins
        .iter()
        .map(|o| {
            http::HeaderValue::from_str(o).map_err(|_| {
                anyhow::anyhow!(
                    "--cors-origin {:?} is not a valid origin",
                    o.chars().take(64).collect::<String>()
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let header = http::HeaderName::from_static;
    Ok(Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([http::Method::POST])
            .allow_headers([
                http::header::CONTENT_TYPE,
                http::header::AUTHORIZATION,
                header("x-grpc-web"),
                header("x-user-agent"),
                header("grpc-timeout"),
                header("x-request-id"),
                header("traceparent"),
                header("tracestate"),
            ])
            .expose_headers([
                header("grpc-status"),
                header("grpc-message"),
                header("grpc-status-details-bin"),
                header("x-request-id"),
            ])
            .max_age(Duration::from_secs(600)),
    ))
}

/// Serves the REST gateway; without the `rest` feature there is none (and
/// no REST listener is bound, so this is never reached with one).
async fn serve_rest(
    listener: TcpListener,
    registry: Registry,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: crate::config::RestLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    #[cfg(feature = "rest")]
    if let Err(e) = crate::rest::serve(listener, registry, tls, limits, shutdown).await {
        tracing::error!(error = %e, "REST gateway stopped");
    }
    #[cfg(not(feature = "rest"))]
    drop((listener, registry, tls, limits, shutdown));
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
