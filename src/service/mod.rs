//! The core use cases, shared by every face. A face's authentication layer
//! or extractor turns a credential into a `Caller` (`Registry::authenticate`,
//! the only place one is made), the face parses its parameters into domain
//! types, calls one method here and translates the result back. Listing is
//! generic over the resource (`Registry::list::<Token>`). Rules that do not
//! depend on the wire (scopes, tenancy, cursors, defaults, cross-field checks)
//! live here, once.

mod admin;
mod anchors;
mod audit_log;
mod bulk_ops;
mod freshness;
mod incident;
mod key_cache;
mod listing;
mod rate_limit;
mod resources;
mod retention;
mod streaming;
mod totals;
mod watch;

use std::sync::Arc;

pub use admin::CreatedKey;
pub use audit_log::AuditPage;
pub use bulk_ops::{BulkOutcome, BulkRequest};
pub use freshness::{Seen, Validator};
pub use listing::ListRequest;
pub use resources::{NewClient, NewToken};
pub use watch::{DEFAULT_BOOKMARK_EVERY, WatchEvent, WatchRequest, WatchStart};

/// How long a verified API key is trusted without a lookup
/// (`--key-cache-secs`).
pub const DEFAULT_KEY_CACHE: std::time::Duration = std::time::Duration::from_secs(5);

use crate::domain::Result;
use crate::domain::cursor::CursorCodec;
use crate::domain::secret;
use crate::store::Store;

/// Tells the current call's audit record the rows it read and the hash
/// of its filter (no-op outside a face's call, e.g. the CLI).
/// How a paged stream (tokens, clients, audit export) ends when the server
/// drains: the last page sent carries the token that resumes it anywhere.
fn drained() -> crate::domain::Error {
    crate::domain::Error::Draining(
        "server is shutting down; resume with the last page's next_page_token".into(),
    )
}

fn audit_rows(canonical_filter: Option<&str>, rows: u64) {
    if let Some(call) = crate::audit::current() {
        call.rows(
            canonical_filter.map(crate::domain::audit::filter_hash),
            rows,
        );
    }
}

/// Name of the cursor-signing key in `server_keys`.
const CURSOR_KEY: &str = "cursor_hmac_v1";

/// The application core: the store plus the cursor codec.
#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn Store>,
    cursors: CursorCodec,
    /// Set once the server starts draining: streams stop at the next page.
    draining: Arc<tokio::sync::watch::Sender<bool>>,
    limits: rate_limit::KeyLimits,
    /// Streams in progress across every connection and API; a stream holds
    /// one permit until its producer stops.
    streams: Arc<tokio::sync::Semaphore>,
    /// This application's metrics (both faces count into them).
    metrics: crate::metrics::SharedMetrics,
    /// Liveness and readiness, read by the REST probes.
    health: Arc<crate::health::HealthState>,
    /// Time between a watch's bookmarks (and safety re-reads).
    bookmark_every: std::time::Duration,
    /// Where audit events of reads, streams and failed calls go.
    audit: crate::audit::AuditSink,
    /// Where deep offset pages start, by version (`anchors`).
    anchors: anchors::Anchors,
    /// Counts already taken, by version (`totals`).
    totals: totals::Totals,
    /// Each organization's latest status window (`freshness`).
    windows: freshness::Windows,
    /// Recently verified API keys (`key_cache.rs`).
    keys: Arc<key_cache::KeyCache>,
}

impl Registry {
    /// Builds the core over a migrated store. The cursor key is read from the
    /// database (created on first start), so it survives restarts and every
    /// replica on the same database signs and accepts the same tokens.
    pub async fn new(store: Arc<dyn Store>) -> Result<Self> {
        let key = store.server_key(CURSOR_KEY, &secret::random_key()).await?;
        let metrics: crate::metrics::SharedMetrics = Arc::default();
        let audit = crate::audit::AuditSink::start(store.clone(), metrics.clone());
        Ok(Registry {
            store,
            cursors: CursorCodec::new(key),
            draining: Arc::new(tokio::sync::watch::Sender::new(false)),
            limits: rate_limit::KeyLimits::default(),
            streams: Arc::new(tokio::sync::Semaphore::new(
                tokio::sync::Semaphore::MAX_PERMITS,
            )),
            metrics,
            health: Arc::default(),
            bookmark_every: DEFAULT_BOOKMARK_EVERY,
            audit,
            anchors: anchors::anchors(),
            totals: totals::totals(),
            windows: freshness::windows(),
            keys: Arc::new(key_cache::KeyCache::new(DEFAULT_KEY_CACHE)),
        })
    }

    /// Limits every API key to `per_second` requests a second (0: no limit).
    pub fn with_rate_limit(mut self, per_second: u32) -> Self {
        self.limits = rate_limit::KeyLimits::new(per_second);
        self
    }

    /// Allows at most `max` streams at once across all connections (0: no
    /// limit). HTTP/2's per-connection cap does not bound a fleet of
    /// clients; past this one a new stream is refused with
    /// RESOURCE_EXHAUSTED at once, instead of queueing database work.
    pub fn with_stream_limit(mut self, max: usize) -> Self {
        let permits = match max {
            0 => tokio::sync::Semaphore::MAX_PERMITS,
            n => n.min(tokio::sync::Semaphore::MAX_PERMITS),
        };
        self.streams = Arc::new(tokio::sync::Semaphore::new(permits));
        self
    }

    /// Sends a watch's bookmark (progress event) every `every` (at least
    /// 100 ms); each is also a re-read of the feed, should a wake-up hint
    /// have been lost.
    pub fn with_bookmark_every(mut self, every: std::time::Duration) -> Self {
        self.bookmark_every = every.max(std::time::Duration::from_millis(100));
        self
    }

    /// Keeps verified API keys for `ttl` (zero: looks every call's key up):
    /// the longest a key revoked through another replica still works here.
    pub fn with_key_cache(mut self, ttl: std::time::Duration) -> Self {
        self.keys = Arc::new(key_cache::KeyCache::new(ttl));
        self
    }

    /// Audits reads too (the default), or only writes.
    pub fn with_read_audit(mut self, on: bool) -> Self {
        self.audit = self.audit.with_reads(on);
        self
    }

    /// The audit trail's queue, for the faces' layers.
    pub fn audit(&self) -> &crate::audit::AuditSink {
        &self.audit
    }

    /// Starts a drain: every stream ends after the page it is on, with
    /// UNAVAILABLE and that page's resume token, so clients resume on another
    /// replica instead of the grace period cutting them off mid-page.
    pub fn begin_drain(&self) {
        self.draining.send_replace(true);
    }

    pub(crate) fn is_draining(&self) -> bool {
        *self.draining.borrow()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn metrics(&self) -> &crate::metrics::SharedMetrics {
        &self.metrics
    }

    /// Readiness as the probes report it.
    pub fn health(&self) -> &Arc<crate::health::HealthState> {
        &self.health
    }
}
