//! A write transaction, and on SQLite the in-process gate its writers
//! queue on.
//!
//! SQLite has one writer at a time. Without a gate, concurrent writers
//! each hold a pooled connection in `BEGIN IMMEDIATE` and wait in SQLite's
//! busy handler, which polls by sleeping 1, 2, 5, 10… ms: the lock sits
//! free while writers sleep, and the tail grows with the queue
//! (bench/RESULTS.md: p99 57–85 ms at 16 concurrent creates). The gate is a
//! fair async mutex held from `BEGIN IMMEDIATE` to the commit (or the
//! rollback when the transaction is dropped), so the next writer starts the
//! moment the last one ends. Another process on the same file (the admin
//! CLI) still meets the busy handler. PostgreSQL needs no gate.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::{Database, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::domain::{Error, Result};

/// The gate of one SQLite database's in-process writers.
#[derive(Debug, Clone, Default)]
pub struct WriteGate(Arc<Mutex<()>>);

impl WriteGate {
    /// Waits for the gate at most `wait` (the store's busy timeout), so a
    /// stuck writer costs its followers an error, not a hang.
    pub async fn enter(&self, wait: Duration) -> Result<OwnedMutexGuard<()>> {
        tokio::time::timeout(wait, self.0.clone().lock_owned())
            .await
            .map_err(|_| Error::Unavailable("the database is busy with other writes; retry".into()))
    }
}

/// A write transaction: derefs to the connection like sqlx's
/// `Transaction`; rolled back if dropped uncommitted, and the gate (if
/// any) released after that.
pub struct WriteTx<DB: Database> {
    // Field order: the transaction (and its rollback) before the gate.
    tx: Transaction<'static, DB>,
    _gate: Option<OwnedMutexGuard<()>>,
}

impl<DB: Database> WriteTx<DB> {
    /// A transaction no gate guards (PostgreSQL).
    pub fn ungated(tx: Transaction<'static, DB>) -> Self {
        Self { tx, _gate: None }
    }

    /// A transaction begun while holding `gate`.
    pub fn gated(tx: Transaction<'static, DB>, gate: OwnedMutexGuard<()>) -> Self {
        Self {
            tx,
            _gate: Some(gate),
        }
    }

    /// Commits, then releases the gate.
    pub async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        let Self { tx, _gate } = self;
        tx.commit().await
    }
}

impl<DB: Database> Deref for WriteTx<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl<DB: Database> DerefMut for WriteTx<DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}
