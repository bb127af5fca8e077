//! `Application`: the server you can start from `main` or from a test.
//! `build` connects, migrates, binds (port 0 allowed) and reports its address;
//! `run_until` serves until a shutdown future resolves, then drains.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::Layer;

use crate::config::ServerConfig;
use crate::grpc::AuthLayer;
use crate::grpc::pb::client_service_server::ClientServiceServer;
use crate::grpc::pb::token_service_server::TokenServiceServer;
use crate::grpc::{ClientApi, TokenApi, pb};
use crate::service::Registry;
use crate::store;
use crate::tls::TlsIdentity;
use crate::trace::{KnownMethods, TraceLayer};

/// Service names reported by `grpc.health.v1` besides the overall "".
const SERVICES: [&str; 2] = [
    "oauth_registry.v1.TokenService",
    "oauth_registry.v1.ClientService",
];

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
            .with_stream_limit(config.max_streams);
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

    /// Serves until `shutdown` resolves. Health turns NOT_SERVING first, so
    /// load balancers stop routing here, then in-flight calls get up to the
    /// configured grace period to finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (reporter, health_service) = tonic_health::server::health_reporter();
        let reflection_v1 = reflection().build_v1()?;
        let reflection_v1alpha = reflection().build_v1alpha()?;

        // Report a status before accepting the first call.
        let ok = ping(&self.registry, self.config.health_interval).await;
        report(&reporter, ok).await;
        let probe = tokio::spawn(probe_database(
            self.registry.clone(),
            reporter.clone(),
            self.config.health_interval,
            ok,
        ));
        let sweeper = self.config.retention.map(|retention| {
            tokio::spawn(sweep_periodically(
                self.registry.clone(),
                retention,
                self.config.retention_interval,
            ))
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (drain_tx, drain_rx) = tokio::sync::watch::channel(false);
        let drain_reporter = reporter.clone();
        let drain_registry = self.registry.clone();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutdown requested; draining");
            set_all(&drain_reporter, ServingStatus::NotServing).await;
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
        let mut builder = Server::builder();
        if let Some(tls) = &self.tls {
            builder = builder.tls_config(tls.grpc())?;
        }
        // Overload: a connection's calls beyond the limit are shed at once
        // (RESOURCE_EXHAUSTED) rather than queued without bound.
        let server = builder
            .max_concurrent_streams(Some(self.config.max_concurrent_streams))
            .concurrency_limit_per_connection(self.config.max_calls_per_connection)
            .load_shed(true)
            .layer(TraceLayer::new(
                self.registry.metrics().clone(),
                KnownMethods::new(crate::grpc::known_methods(), []),
            ))
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(auth.layer(TokenServiceServer::new(TokenApi::new(
                self.registry.clone(),
            ))))
            .add_service(auth.layer(ClientServiceServer::new(ClientApi::new(
                self.registry.clone(),
            ))))
            .serve_with_incoming_shutdown(
                // Small unary responses must not wait on Nagle's algorithm
                // (40 ms per call with delayed ACKs).
                crate::incoming::incoming(
                    self.listener,
                    self.config.grpc_preface_timeout,
                    self.tls.is_some(),
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
        if let Some(sweeper) = sweeper {
            sweeper.abort();
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

/// The retention sweeper: one pass every `interval`, errors logged and
/// retried next time (the database may be down for a while).
async fn sweep_periodically(registry: Registry, retention: Duration, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match registry.sweep_expired(retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, ?retention, "retention sweep"),
            Err(e) => tracing::warn!(error = %e, "retention sweep failed; retrying next interval"),
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

/// SERVING when the database answered, NOT_SERVING otherwise.
async fn report(reporter: &HealthReporter, database_ok: bool) {
    let status = if database_ok {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    set_all(reporter, status).await;
}

async fn set_all(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for s in SERVICES {
        reporter.set_service_status(s, status).await;
    }
}

async fn ping(registry: &Registry, interval: Duration) -> bool {
    let limit = interval.max(Duration::from_millis(200));
    matches!(
        tokio::time::timeout(limit, registry.store().ping()).await,
        Ok(Ok(()))
    )
}

/// Keeps health in step with the database: SERVING while a ping succeeds,
/// NOT_SERVING while it fails or takes longer than the interval.
async fn probe_database(
    registry: Registry,
    reporter: HealthReporter,
    interval: Duration,
    mut last: bool,
) {
    loop {
        tokio::time::sleep(interval).await;
        let ok = ping(&registry, interval).await;
        if ok != last {
            if ok {
                tracing::info!("database reachable; SERVING");
            } else {
                tracing::warn!("database unreachable; NOT_SERVING");
            }
            report(&reporter, ok).await;
            last = ok;
        }
    }
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
