//! The queue between calls and the audit table: `record` never waits; a
//! background task writes what arrives in batches.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::domain::audit::{AuditEvent, AuditKind};
use crate::metrics::SharedMetrics;
use crate::store::Store;

/// Events queued at most; beyond it read events are dropped and counted.
const QUEUE: usize = 65_536;
/// Rows per INSERT transaction.
const BATCH: usize = 500;
/// Longest an event waits for its batch.
const LINGER: Duration = Duration::from_millis(200);

/// Where a call's audit event goes when it is not written with a write.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<AuditEvent>,
    /// Record reads (`--no-audit-reads` turns it off).
    reads: bool,
    metrics: SharedMetrics,
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditSink(..)")
    }
}

impl AuditSink {
    /// Starts the writer task over `store`.
    pub fn start(store: Arc<dyn Store>, metrics: SharedMetrics) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store, rx));
        AuditSink {
            tx,
            reads: true,
            metrics,
        }
    }

    /// Whether reads are audited.
    pub fn with_reads(mut self, reads: bool) -> Self {
        self.reads = reads;
        self
    }

    pub fn reads(&self) -> bool {
        self.reads
    }

    /// Queues `event`; never waits.
    pub fn record(&self, event: AuditEvent) {
        if event.kind == AuditKind::Read && !self.reads {
            return;
        }
        if self.tx.try_send(event).is_err() {
            self.metrics.audit_dropped();
        }
    }
}

async fn write_batches(store: Arc<dyn Store>, mut rx: mpsc::Receiver<AuditEvent>) {
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        let deadline = tokio::time::sleep(LINGER);
        tokio::pin!(deadline);
        while batch.len() < BATCH {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(e) => batch.push(e),
                    None => break,
                },
                () = &mut deadline => break,
            }
        }
        if let Err(e) = store.insert_audit_events(&batch).await {
            tracing::warn!(error = %e, events = batch.len(), "audit events could not be written; dropped");
        }
        batch.clear();
    }
}
