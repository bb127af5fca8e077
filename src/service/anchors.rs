//! Offset anchors: a deep offset page (`start=9000`) resumes from where a
//! page before it ended instead of skipping 9,000 rows again.
//!
//! An offset has no position of its own, so every offset page walks the
//! rows it skips, on SQLite through the index (3.3× the CPU of `start=0`
//! at 9,000). But clients that page by offset walk sequentially (Review
//! Board's `next` link, Siro's page numbers) or poll the same page, so the
//! keyset position of the row just before offset `n` is usually known from
//! an earlier page: that page ended there. With it, the page at `n` is a
//! keyset seek (`after = anchor`), the same cost as a cursor page.
//!
//! An anchor is keyed by the organization, the query's fingerprint (kind,
//! filter, sort) and the offset, and holds the organization's version read
//! before its rows. It is used only while a fresh read returns the same
//! exact version, so a write through any replica (the version lives in the
//! shared database) retires every anchor of the organization at once: an
//! insert before the anchor would shift every later offset by one. A sort
//! or filter by status also moves with the clock, so such an anchor also
//! holds the status window it was taken in and is used only inside it.
//!
//! A miss costs one more row: the page is fetched from `offset - 1`, and
//! that lead row's position becomes the anchor for `offset` (the next poll
//! of the same page hits); the page's last row becomes the anchor for the
//! page after it (the next sequential page hits). Shallow offsets skip
//! little and are left alone.

use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::Registry;
use super::listing::Listable;
use crate::domain::Result;
use crate::domain::Timestamp;
use crate::domain::change::Version;
use crate::domain::freshness::StatusWindow;
use crate::domain::ids::OrgId;
use crate::domain::query::{Position, Query, SortValue};

/// Offsets below this are walked: skipping them costs less than a lookup
/// here plus the extra lead row.
pub(super) const MIN_OFFSET: u64 = 200;
/// Entries kept, about; the bound is on [`BYTES`].
const ENTRIES: usize = 4096;
/// Memory keys and anchors may take, about.
const BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Key {
    org: OrgId,
    fingerprint: String,
    offset: u64,
}

#[derive(Debug, Clone)]
pub(super) struct Anchor {
    /// The organization's version read before the rows it came from.
    version: Version,
    /// Set when the filter or sort depends on the clock: where it holds.
    window: Option<StatusWindow>,
    /// The position of the row just before the offset.
    before: Position,
}

impl Anchor {
    fn holds(&self, version: Version, now: Timestamp) -> bool {
        version.is_exact() && self.version == version && self.window.is_none_or(|w| w.contains(now))
    }
}

/// Weighs an entry by the bytes it holds.
#[derive(Debug, Clone, Copy)]
pub(super) struct ByBytes;

impl Weighter<Key, Anchor> for ByBytes {
    fn weight(&self, key: &Key, a: &Anchor) -> u64 {
        let sort_key = match &a.before.key {
            Some(SortValue::Text(s)) => s.len(),
            _ => 8,
        };
        (key.org.as_str().len() + key.fingerprint.len() + a.before.id.len() + sort_key + 96) as u64
    }
}

/// The core's anchors, shared by clones of a `Registry`.
pub(super) type Anchors = Arc<Cache<Key, Anchor, ByBytes>>;

pub(super) fn anchors() -> Anchors {
    Arc::new(Cache::with_weighter(ENTRIES, BYTES, ByBytes))
}

/// A deep offset page in progress: where it starts and whether an anchor
/// was found for it.
#[derive(Debug)]
pub(super) struct Deep {
    key: Key,
    hit: Option<Position>,
}

impl Deep {
    /// Rewrites `q` (an offset page) to seek from the anchor, or on a miss
    /// to fetch one lead row before the offset.
    pub(super) fn plan<F, S>(&self, q: &mut Query<F, S>) {
        match &self.hit {
            Some(before) => {
                q.after = Some(before.clone());
                q.offset = 0;
            }
            None => {
                q.offset = self.key.offset - 1;
                q.limit += 1;
            }
        }
    }
}

impl Registry {
    /// Looks up the anchor for `offset` of the query `fingerprint` in
    /// `org`, valid at `version` (read before the rows) and `now`. `None`:
    /// a shallow offset, to be walked as it is.
    pub(super) fn deep_offset(
        &self,
        org: &OrgId,
        fingerprint: &str,
        offset: u64,
        version: Version,
        now: Timestamp,
    ) -> Option<Deep> {
        if offset < MIN_OFFSET {
            return None;
        }
        let key = Key {
            org: org.clone(),
            fingerprint: fingerprint.to_owned(),
            offset,
        };
        let hit = self
            .anchors
            .get(&key)
            .filter(|a| a.holds(version, now))
            .map(|a| a.before);
        self.metrics.cache_lookup("anchors", hit.is_some());
        Some(Deep { key, hit })
    }

    /// After fetching a deep page planned by `deep`: drops the lead row a
    /// miss fetched and records anchors for this offset (on a miss) and for
    /// the page after this one of `size` rows (when this one is full).
    /// `items` may hold one row beyond the page (the next-page probe).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn leave_anchors<T: Listable>(
        &self,
        deep: Deep,
        items: &mut Vec<T>,
        size: u32,
        version: Version,
        now: Timestamp,
        filter: &T::Filter,
        field: T::Field,
    ) -> Result<()> {
        let lead = match deep.hit {
            Some(_) => None,
            None if items.is_empty() => return Ok(()),
            None => Some(items.remove(0).position(field, now)),
        };
        let last = items
            .get(size as usize - 1)
            .map(|row| row.position(field, now));
        if !version.is_exact() || (lead.is_none() && last.is_none()) {
            return Ok(());
        }
        let window = match T::depends_on_clock(filter) || T::sorts_by_clock(field) {
            true => Some(self.status_window(&deep.key.org, version, now).await?),
            false => None,
        };
        let record = |offset: u64, before: Position| {
            let key = Key {
                offset,
                ..deep.key.clone()
            };
            self.anchors.insert(
                key,
                Anchor {
                    version,
                    window,
                    before,
                },
            );
        };
        if let Some(before) = lead {
            record(deep.key.offset, before);
        }
        if let Some(before) = last {
            record(deep.key.offset + u64::from(size), before);
        }
        Ok(())
    }
}
