//! Totals without recounting. Every face that shows a total (gRPC
//! CountTokens and `include_total_size`, canonical REST, Review Board's
//! `total_results`, Siro's `total`, Losant's `totalCount`, SlashID's
//! `total_count`) asks here, so a COUNT over every matching row runs once
//! per organization version instead of once per page.
//!
//! An entry is keyed by the organization, the resource and the filter's
//! canonical form (sort and paging do not change a count) and holds the
//! version read *before* counting: while a fresh read returns the same
//! version nothing was written, so the count still holds, on every replica
//! (the version lives in the shared database). A different version is a
//! miss, whether or not it changed anything.
//!
//! Time: a status filter's count also moves with the clock, without a
//! write. Such an entry also holds the organization's status window around
//! the instant it counted at (`domain::freshness`), and is reused only for
//! instants inside it, where no token of the organization changes status;
//! outside it, it is recounted. Skipping the cache for status filters
//! would have been simpler, but the common default views (`status =
//! ACTIVE`) are exactly the ones pollers repeat, and the window costs four
//! index probes once per version, shared with the validators.

use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::Registry;
use super::listing::Listable;
use crate::domain::change::Version;
use crate::domain::freshness::StatusWindow;
use crate::domain::ids::OrgId;
use crate::domain::{Result, Timestamp};

/// Entries kept, about; the bound is on [`BYTES`].
const ENTRIES: usize = 4096;
/// Memory the keys and entries may take, about (a canonical filter is
/// usually under 200 bytes, at most a few KiB).
const BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Key {
    org: OrgId,
    kind: &'static str,
    filter: String,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Total {
    version: Version,
    /// Set for a count that depends on the clock: where it holds.
    window: Option<StatusWindow>,
    count: u64,
}

/// Weighs an entry by the bytes it holds.
#[derive(Debug, Clone, Copy)]
pub(super) struct ByBytes;

impl Weighter<Key, Total> for ByBytes {
    fn weight(&self, key: &Key, _: &Total) -> u64 {
        (key.org.as_str().len() + key.filter.len() + 96) as u64
    }
}

/// The core's cache of totals, shared by clones of a `Registry`.
pub(super) type Totals = Arc<Cache<Key, Total, ByBytes>>;

pub(super) fn totals() -> Totals {
    Arc::new(Cache::with_weighter(ENTRIES, BYTES, ByBytes))
}

impl Registry {
    /// How many `T` in `org` match `filter` at `now`. `version`: the
    /// organization's version if the caller has just read it (before any
    /// of its own reads); otherwise it is read here, before counting.
    pub(super) async fn total<T: Listable>(
        &self,
        org: &OrgId,
        filter: &T::Filter,
        now: Timestamp,
        version: Option<Version>,
    ) -> Result<u64> {
        let version = match version {
            Some(v) => v,
            None => {
                let v = self.store.read_version(org).await?;
                super::freshness::note_read(v, now);
                v
            }
        };
        let key = Key {
            org: org.clone(),
            kind: T::KIND,
            filter: T::canonical(filter),
        };
        // A watermark says nothing about writes in between: never reused.
        if let Some(t) = self.totals.get(&key)
            && version.is_exact()
            && t.version == version
            && t.window.is_none_or(|w| w.contains(now))
        {
            self.metrics.cache_lookup("totals", true);
            return Ok(t.count);
        }
        self.metrics.cache_lookup("totals", false);
        let count = T::count(self, org, filter, now).await?;
        let window = match T::depends_on_clock(filter) {
            true => Some(self.status_window(org, version, now).await?),
            false => None,
        };
        if version.is_exact() {
            self.totals.insert(
                key,
                Total {
                    version,
                    window,
                    count,
                },
            );
        }
        Ok(count)
    }
}
