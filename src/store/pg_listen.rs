//! Change-feed push across replicas on PostgreSQL: one LISTEN connection
//! per process on `oauth_registry_changes`, which every replica notifies
//! after its commits that move a version (`pg_notify.rs`).
//! Each notification becomes a [`FeedMoved`] hint for this process's
//! watchers. When the connection drops, notifications sent meanwhile are
//! lost, so every (re)connection hints "any organization" and watchers
//! re-read; they also re-read at each bookmark tick, so a lost hint delays
//! an event by at most that, and never drops it.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast::Sender;

use crate::domain::change::FeedMoved;
use crate::domain::ids::OrgId;

/// The channel `pg_notify.rs` notifies.
pub const CHANNEL: &str = "oauth_registry_changes";
/// Pause before reconnecting after a failure, doubling up to `MAX_RETRY`
/// while the database stays away (one warning per attempt, not a flood).
const RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Listens until the process ends, reconnecting after failures. The
/// connection is detached from `pool`, which opens a replacement.
pub async fn listen(pool: PgPool, signals: Sender<FeedMoved>) {
    let mut retry = RETRY;
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => {
                    retry = RETRY;
                    let _ = signals.send(FeedMoved(None));
                    relay(&mut listener, &signals).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, ?retry, "change feed: LISTEN failed; retrying")
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, ?retry, "change feed: no LISTEN connection; retrying")
            }
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(MAX_RETRY);
    }
}

/// Forwards notifications until the listener fails for good.
async fn relay(listener: &mut PgListener, signals: &Sender<FeedMoved>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => {
                // An organization id sent by `pg_notify.rs` (empty: any).
                let payload = n.payload();
                let org = (!payload.is_empty() && payload.len() <= 64)
                    .then(|| OrgId::from_trusted(payload.to_owned()));
                let _ = signals.send(FeedMoved(org));
            }
            // The connection dropped; the next call reconnects and
            // re-listens, and what was sent meanwhile is unknown.
            Ok(None) => {
                let _ = signals.send(FeedMoved(None));
            }
            Err(e) => {
                tracing::warn!(error = %e, "change feed: LISTEN connection failed; reconnecting");
                return;
            }
        }
    }
}
