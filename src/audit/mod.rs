//! The audit trail's plumbing: one [`Call`] per request that may read or
//! change tokens or clients, made by the face's layer (`layer.rs`) and
//! reachable from the core and the store as a task-local while the request
//! runs. Authentication names the caller in it, the use case the rows and
//! the filter; when the call ends, the layer turns it into an
//! [`AuditEvent`] with the outcome.
//!
//! Where events are written:
//! - **Writes** in the write's own transaction (`Store` writes ask
//!   [`current`] when they commit their change events): a committed change
//!   always has its audit row, and a rolled-back one has none.
//! - **Reads** (and failed calls) through [`AuditSink`]: a bounded queue a
//!   background task drains in batches (up to 500 rows, or every 200 ms),
//!   so a read costs no database round trip. If the process crashes, the
//!   events still queued (at most ~200 ms worth) are lost; if the queue is
//!   full (the database far behind) new read events are dropped and
//!   counted (`oauth_registry_audit_dropped_total`), never blocking a call.
//! - **Streams and watches** when they end (rows delivered, outcome), from
//!   their producer, through the sink.
//! - Bulk runs record one event at the end of the run (rows acted on); the
//!   job row (`bulk_jobs`) and each token's change event are the durable
//!   record of every batch.
//!
//! Calls that never authenticated have no organization to file an event
//! under; they are counted in metrics and logged instead.

pub mod layer;
mod sink;

use std::sync::{Arc, Mutex, PoisonError};

pub use sink::AuditSink;

use crate::domain::Timestamp;
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::auth::Caller;

tokio::task_local! {
    static CALL: Call;
}

/// What is known about a call so far.
#[derive(Debug, Default)]
struct Note {
    method: String,
    dialect: &'static str,
    request_id: String,
    trace_id: String,
    kind: Option<AuditKind>,
    caller: Option<Caller>,
    filter_hash: String,
    rows: u64,
    /// Recorded already (in a write's transaction) or left to a stream.
    settled: bool,
}

/// The audit record of one call in progress (cheap to clone: shared).
#[derive(Debug, Clone)]
pub struct Call(Arc<Mutex<Note>>);

/// The call the current task serves, if a face opened one.
pub fn current() -> Option<Call> {
    CALL.try_with(Clone::clone).ok()
}

impl Call {
    /// A call of `method` through `dialect`; `kind` is the default guess
    /// (from the method), which the use case may refine.
    pub fn new(
        method: String,
        dialect: &'static str,
        kind: AuditKind,
        request_id: String,
        trace_id: String,
    ) -> Self {
        Call(Arc::new(Mutex::new(Note {
            method,
            dialect,
            request_id,
            trace_id,
            kind: Some(kind),
            ..Note::default()
        })))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Note) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs `f` with this call as the task's current one.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        CALL.scope(self, f).await
    }

    /// Authentication's part: who calls.
    pub fn set_caller(&self, caller: &Caller) {
        self.with(|n| n.caller = Some(caller.clone()));
    }

    /// A use case's part: the filter's hash (empty: none) and the rows it
    /// returned or changed. The first report wins (a dialect that also
    /// fetches a page's clients reports the page).
    pub fn rows(&self, filter_hash: Option<String>, rows: u64) {
        self.with(|n| {
            if n.filter_hash.is_empty() && n.rows == 0 {
                n.filter_hash = filter_hash.unwrap_or_default();
                n.rows = rows;
            }
        });
    }

    /// What a use case reported with [`Call::rows`] so far (filter hash,
    /// rows): a face that keeps an answer replays it when it serves the
    /// answer again without the use case.
    pub fn reported(&self) -> (String, u64) {
        self.with(|n| (n.filter_hash.clone(), n.rows))
    }

    /// A use case's part: this call only read, whatever its method (a bulk
    /// operation's dry run counts and samples, and changes nothing).
    pub fn read_only(&self) {
        self.with(|n| n.kind = Some(AuditKind::Read));
    }

    /// Adds rows a stream delivered.
    pub fn add_rows(&self, rows: u64) {
        self.with(|n| n.rows += rows);
    }

    /// Hands the event to a stream's producer: the face's layer will not
    /// record it; the producer calls [`Call::finish`] when it ends.
    pub fn defer(&self, filter_hash: Option<String>) -> Call {
        self.with(|n| {
            n.settled = true;
            n.filter_hash = filter_hash.unwrap_or_default();
        });
        self.clone()
    }

    /// The event of a write that commits `rows` changes now, if this call
    /// has not recorded one yet (one event per call); marks it recorded.
    pub fn write_event(&self, rows: u64) -> Option<AuditEvent> {
        self.with(|n| {
            if n.settled {
                return None;
            }
            n.kind = Some(AuditKind::Write);
            n.rows = rows;
            let event = event(n, "OK", None)?;
            n.settled = true;
            Some(event)
        })
    }

    /// The event of a call that ended with `outcome`, unless it was
    /// recorded already or handed to a stream.
    pub fn settle(&self, outcome: &str, http_status: Option<u16>) -> Option<AuditEvent> {
        self.with(|n| {
            if n.settled {
                return None;
            }
            n.settled = true;
            event(n, outcome, http_status)
        })
    }

    /// A deferred (stream) call's event, when it ends.
    pub fn finish(&self, outcome: &str) -> Option<AuditEvent> {
        self.with(|n| event(n, outcome, None))
    }
}

fn event(n: &Note, outcome: &str, http_status: Option<u16>) -> Option<AuditEvent> {
    let caller = n.caller.as_ref()?;
    Some(AuditEvent {
        org_id: caller.org_id.clone(),
        id: uuid::Uuid::now_v7().to_string(),
        at: Timestamp::now(),
        key_id: caller.key_id.clone(),
        user_id: caller.user_id.clone(),
        kind: n.kind.unwrap_or(AuditKind::Read),
        method: n.method.clone(),
        dialect: n.dialect.to_owned(),
        filter_hash: n.filter_hash.clone(),
        rows: n.rows,
        outcome: outcome.to_owned(),
        http_status,
        request_id: n.request_id.clone(),
        trace_id: n.trace_id.clone(),
    })
}

/// The audit record of a stream or watch: taken from the current call
/// when the stream starts, filled as it delivers, and recorded when the
/// producer ends (drops it). The outcome is CANCELLED unless set: a
/// stream whose reader left.
pub struct Deferred {
    call: Option<Call>,
    sink: AuditSink,
    outcome: &'static str,
}

impl Deferred {
    pub fn start(sink: &AuditSink, canonical_filter: Option<&str>) -> Self {
        let hash = canonical_filter.map(crate::domain::audit::filter_hash);
        Deferred {
            call: current().map(|c| c.defer(hash)),
            sink: sink.clone(),
            outcome: "CANCELLED",
        }
    }

    /// Counts rows delivered.
    pub fn rows(&self, n: u64) {
        if let Some(c) = &self.call {
            c.add_rows(n);
        }
    }

    /// How the stream ended.
    pub fn outcome(&mut self, outcome: &'static str) {
        self.outcome = outcome;
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        if let Some(event) = self.call.take().and_then(|c| c.finish(self.outcome)) {
            self.sink.record(event);
        }
    }
}
