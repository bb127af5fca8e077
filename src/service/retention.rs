//! Retention: deletes tokens that expired or were revoked longer ago than a
//! configured period. It works organization by organization in batches of
//! `SWEEP_BATCH` rows, each its own short write transaction, yielding between
//! batches, so readers never wait on it and writers wait at most one batch.
//! This is the one job that visits every organization; each statement it
//! runs is still scoped to one.

use std::time::Duration;

use super::Registry;
use crate::domain::{Result, Timestamp};

/// Rows deleted per transaction.
pub const SWEEP_BATCH: u32 = 500;
/// Change events deleted per transaction.
pub const TRIM_BATCH: u32 = 5000;

impl Registry {
    /// One pass over every organization; returns how many tokens it deleted.
    pub async fn sweep_expired(&self, retention: Duration) -> Result<u64> {
        let age = i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
        let before = Timestamp::from_micros(Timestamp::now().micros().saturating_sub(age));
        let mut total = 0;
        for org in self.store.org_ids().await? {
            loop {
                let n = self.store.sweep_tokens(&org, before, SWEEP_BATCH).await?;
                total += n;
                if n < u64::from(SWEEP_BATCH) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        Ok(total)
    }

    /// Retention of the change log: in every organization, drops the
    /// events older than `age` and all but the newest `keep`, raising the
    /// feed's floor (watches from below it must re-list), in batches.
    pub async fn trim_changes(&self, age: Duration, keep: u64) -> Result<u64> {
        let age = i64::try_from(age.as_micros()).unwrap_or(i64::MAX);
        let before = Timestamp::from_micros(Timestamp::now().micros().saturating_sub(age));
        let mut total = 0;
        for org in self.store.org_ids().await? {
            loop {
                let n = self
                    .store
                    .trim_changes(&org, before, keep, TRIM_BATCH)
                    .await?;
                total += n;
                if n < u64::from(TRIM_BATCH) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        Ok(total)
    }

    /// Planner statistics where autovacuum does not keep them
    /// (`Store::keep_statistics`); returns the tables analyzed.
    pub async fn keep_statistics(&self) -> Result<Vec<String>> {
        self.store.keep_statistics().await
    }
}
