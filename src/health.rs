//! Liveness and readiness, kept apart so a database outage never restarts a
//! replica. Liveness (the `liveness` name in `grpc.health.v1`, `GET /livez`)
//! is SERVING whenever this process can answer; readiness (`""`, the two
//! service names, `GET /readyz`) follows the database and turns NOT_SERVING
//! the moment shutdown begins, so load balancers stop sending new calls
//! while the server still accepts them (lame duck).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::service::Registry;

/// The `grpc.health.v1` name for liveness: never depends on the database.
pub const LIVENESS: &str = "liveness";

/// The `grpc.health.v1` names for readiness. `""` (the whole server) is
/// readiness too: it is what a client that names no service asks about
/// before sending calls, and what `grpc_health_probe` checks by default.
pub const READINESS: [&str; 3] = [
    "",
    "oauth_registry.v1.TokenService",
    "oauth_registry.v1.ClientService",
];

/// Shared by the gRPC health reporter and the REST probes.
#[derive(Debug, Default)]
pub struct HealthState {
    database_ok: AtomicBool,
    stopping: AtomicBool,
}

impl HealthState {
    /// Ready: the database answered its last probe and shutdown has not begun.
    pub fn is_ready(&self) -> bool {
        self.database_ok.load(Ordering::Acquire) && !self.stopping.load(Ordering::Acquire)
    }

    /// Whether shutdown has begun (readiness is then NOT_SERVING for good).
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}

/// Publishes [`HealthState`] to `grpc.health.v1`.
#[derive(Clone)]
pub struct Health {
    reporter: HealthReporter,
    state: Arc<HealthState>,
}

impl Health {
    /// Liveness SERVING, readiness from `database_ok`.
    pub async fn new(reporter: HealthReporter, state: Arc<HealthState>, database_ok: bool) -> Self {
        state.database_ok.store(database_ok, Ordering::Release);
        let health = Health { reporter, state };
        health
            .reporter
            .set_service_status(LIVENESS, ServingStatus::Serving)
            .await;
        health.publish().await;
        health
    }

    /// Records a database probe's result.
    pub async fn database(&self, ok: bool) {
        self.state.database_ok.store(ok, Ordering::Release);
        self.publish().await;
    }

    /// Shutdown has begun: readiness NOT_SERVING, liveness unchanged.
    pub async fn stopping(&self) {
        self.state.stopping.store(true, Ordering::Release);
        self.publish().await;
    }

    async fn publish(&self) {
        let status = match self.state.is_ready() {
            true => ServingStatus::Serving,
            false => ServingStatus::NotServing,
        };
        for name in READINESS {
            self.reporter.set_service_status(name, status).await;
        }
    }
}

/// Whether the database answers within the probe interval (at least 200 ms).
pub async fn ping(registry: &Registry, interval: Duration) -> bool {
    let limit = interval.max(Duration::from_millis(200));
    matches!(
        tokio::time::timeout(limit, registry.store().ping()).await,
        Ok(Ok(()))
    )
}

/// Keeps readiness in step with the database, probing every `interval`.
pub async fn probe_database(
    registry: Registry,
    health: Health,
    interval: Duration,
    mut last: bool,
) {
    loop {
        tokio::time::sleep(interval).await;
        let ok = ping(&registry, interval).await;
        if ok != last {
            match ok {
                true => tracing::info!("database reachable; ready"),
                false => tracing::warn!("database unreachable; not ready (still live)"),
            }
            health.database(ok).await;
            last = ok;
        }
    }
}
