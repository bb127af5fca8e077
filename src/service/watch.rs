//! Watches: the change feed as a stream, once for tokens and clients and
//! every face. A watch starts after a version (a listing's `read_version`,
//! a resume token's, or the feed's head), reads the organization's changes
//! in version order a page at a time, delivers those whose row matches the
//! filter before or after the change, and then waits for a wake-up hint
//! (`Store::subscribe_changes`) or the bookmark tick, never polling fast.
//!
//! Guarantees: every change after the start is delivered once, in version
//! (= commit) order, or the stream ends with an error; a resume token
//! continues with no gap and no duplicate on any replica; a start below the
//! feed's floor is refused (FAILED_PRECONDITION: re-list). Memory per
//! watch is one page of changes plus a small channel: a slow watcher falls
//! behind on the database, not in RAM.

use std::time::Duration;

use futures::Stream;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::Registry;
use super::listing::Listable;
use crate::domain::auth::Caller;
use crate::domain::change::{
    ChangeKind, ChangePage, FeedMoved, Version, resume_token, resume_version,
};
use crate::domain::{Error, Result, Timestamp};

/// Changes read per query.
const BATCH: u32 = 500;
/// Events buffered between the reader and the connection.
const BUFFER: usize = 64;
/// Default time between bookmarks (`--watch-bookmark-secs`).
pub const DEFAULT_BOOKMARK_EVERY: Duration = Duration::from_secs(15);

/// Where a watch starts.
#[derive(Debug, Clone)]
pub enum WatchStart {
    /// At the feed's current version: only changes from now on.
    Now,
    /// After this version (e.g. a listing's `read_version`).
    After(Version),
    /// After the version a resume token names.
    Resume(String),
}

/// A watch request in canonical form.
#[derive(Debug, Clone)]
pub struct WatchRequest<F> {
    pub filter: F,
    pub start: WatchStart,
}

/// One item of a watch.
#[derive(Debug, Clone)]
pub enum WatchEvent<T> {
    /// A change whose row matched the filter before or after it. `row` is
    /// the row after the change, or before it for a delete.
    Change {
        kind: ChangeKind,
        row: T,
        version: Version,
        resume_token: String,
        at: Timestamp,
    },
    /// Progress: the watch has seen everything up to `version`.
    Bookmark {
        version: Version,
        resume_token: String,
    },
}

/// What the producer needs besides the registry.
struct Watcher<T: Listable> {
    registry: Registry,
    caller: Caller,
    filter: T::Filter,
    position: Version,
    tx: mpsc::Sender<Result<WatchEvent<T>>>,
    /// Recorded when the watch ends: events delivered, how it ended.
    audit: crate::audit::Deferred,
}

impl Registry {
    /// Starts a watch of `T` for `caller`. Refused before any event when
    /// the start is invalid, ahead of the feed or below its floor, or when
    /// the server's stream limit is reached (a watch is a stream).
    pub async fn watch<T: Listable + Sync + Clone>(
        &self,
        caller: Caller,
        req: WatchRequest<T::Filter>,
    ) -> Result<impl Stream<Item = Result<WatchEvent<T>>> + Send + 'static> {
        caller.require(T::PERMISSION)?;
        let org = caller.org_id.clone();
        let (field, start) = match &req.start {
            WatchStart::Now => ("", None),
            WatchStart::After(v) if v.0 < 0 => {
                return Err(Error::invalid("start_version", "must not be negative"));
            }
            WatchStart::After(v) => ("start_version", Some(*v)),
            WatchStart::Resume(t) => (
                "resume_token",
                Some(resume_version(&self.cursors, "resume_token", t, &org)?),
            ),
        };
        let permit = self.streams.clone().try_acquire_owned().map_err(|_| {
            Error::ResourceExhausted(
                "too many streams in progress on this server; retry later".into(),
            )
        })?;
        // Subscribed before the first read, so no wake-up falls between.
        let signals = self.store.subscribe_changes();
        let (position, first) = match start {
            None => (self.store.read_version(&org).await?, None),
            Some(v) => {
                let page = T::changes(self, &org, v, BATCH).await?;
                if v > page.head {
                    return Err(Error::invalid(
                        field,
                        format!(
                            "is ahead of the organization's feed (at version {})",
                            page.head.0
                        ),
                    ));
                }
                check_floor(v, page.floor)?;
                (v, Some(page))
            }
        };
        let (tx, rx) = mpsc::channel(BUFFER);
        let audit = crate::audit::Deferred::start(&self.audit, Some(&T::canonical(&req.filter)));
        let watcher = Watcher::<T> {
            registry: self.clone(),
            caller,
            filter: req.filter,
            position,
            tx,
            audit,
        };
        let producer = async move {
            let _permit = permit;
            watcher.run(first, signals).await;
        };
        tokio::spawn(producer.instrument(tracing::Span::current()));
        Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
    }
}

/// First and longest wait before re-reading a feed with pending changes.
const SETTLE_FIRST: std::time::Duration = std::time::Duration::from_millis(10);
const SETTLE_MAX: std::time::Duration = std::time::Duration::from_millis(500);

/// A resume point below the floor lost events to retention.
fn check_floor(position: Version, floor: Version) -> Result<()> {
    if position < floor {
        return Err(Error::FailedPrecondition(format!(
            "the watch's start (version {}) is older than the oldest kept change (version {}): \
             re-list from scratch and watch from the listing's read_version",
            position.0, floor.0
        )));
    }
    Ok(())
}

impl<T: Listable + Sync + Clone> Watcher<T> {
    fn token(&self) -> String {
        resume_token(&self.registry.cursors, &self.caller.org_id, self.position)
    }

    /// Sends `item`; false once the watcher is gone.
    async fn send(&self, item: Result<WatchEvent<T>>) -> bool {
        self.tx.send(item).await.is_ok()
    }

    async fn bookmark(&self) -> bool {
        self.send(Ok(WatchEvent::Bookmark {
            version: self.position,
            resume_token: self.token(),
        }))
        .await
    }

    /// Delivers the matching changes of `page` and moves the position;
    /// returns whether the page was full (more to read at once), or `None`
    /// once the watcher is gone.
    async fn deliver(&mut self, page: ChangePage<T>) -> Option<bool> {
        let full = page.changes.len() >= BATCH as usize;
        let now = Timestamp::now();
        for c in page.changes {
            self.position = c.version;
            let matches = |row: &Option<T>| {
                row.as_ref()
                    .is_some_and(|r| T::matches(&self.filter, r, now))
            };
            if !(matches(&c.before) || matches(&c.after)) {
                continue;
            }
            let Some(row) = c.after.or(c.before) else {
                continue;
            };
            let event = WatchEvent::Change {
                kind: c.kind,
                row,
                version: c.version,
                resume_token: self.token(),
                at: c.at,
            };
            if !self.send(Ok(event)).await {
                return None;
            }
            self.audit.rows(1);
        }
        if !full {
            // Everything up to the head was read: nothing else matched.
            self.position = self.position.max(page.head);
        }
        Some(full)
    }

    async fn run(
        mut self,
        mut first: Option<ChangePage<T>>,
        mut signals: tokio::sync::broadcast::Receiver<FeedMoved>,
    ) {
        let org = self.caller.org_id.clone();
        let mut draining = self.registry.draining.subscribe();
        let every = self.registry.bookmark_every;
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut bookmark_due = true;
        // While the feed has changes waiting on an older write (which may
        // be another organization's, announcing nothing here), re-read on
        // a short timer that backs off: 10 ms doubling to 500 ms.
        let mut settle = SETTLE_FIRST;
        loop {
            if *draining.borrow() {
                self.audit.outcome("UNAVAILABLE");
                // Ends with where to resume, on another replica.
                if self.bookmark().await {
                    let _ = self
                        .send(Err(Error::Draining(
                            "server is shutting down; resume from the last resume_token".into(),
                        )))
                        .await;
                }
                return;
            }
            let page = match first.take() {
                Some(page) => Ok(page),
                None => tokio::select! {
                    page = T::changes(&self.registry, &org, self.position, BATCH) => page,
                    () = self.tx.closed() => return,
                },
            };
            let page = match page.and_then(|p| check_floor(self.position, p.floor).map(|()| p)) {
                Ok(page) => page,
                Err(e) => {
                    self.audit.outcome(e.code_name());
                    let _ = self.send(Err(e)).await;
                    return;
                }
            };
            let pending = page.pending;
            match self.deliver(page).await {
                None => return,
                Some(true) => continue,
                Some(false) => {}
            }
            let recheck = pending.then(|| tokio::time::Instant::now() + settle);
            settle = match pending {
                true => (settle * 2).min(SETTLE_MAX),
                false => SETTLE_FIRST,
            };
            if bookmark_due {
                bookmark_due = false;
                if !self.bookmark().await {
                    return;
                }
            }
            // Caught up: wait for this organization's next commit, the
            // bookmark tick (which also re-reads, in case a hint was lost),
            // a drain, or the watcher leaving.
            loop {
                tokio::select! {
                    () = self.tx.closed() => return,
                    () = tokio::time::sleep_until(recheck.unwrap_or_else(tokio::time::Instant::now)), if recheck.is_some() => break,
                    _ = draining.changed() => break,
                    _ = ticks.tick() => {
                        bookmark_due = true;
                        break;
                    }
                    signal = signals.recv() => match signal {
                        Ok(FeedMoved(Some(o))) if o != org => continue,
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                        // The store went away: the tick still re-reads.
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            ticks.tick().await;
                            bookmark_due = true;
                            break;
                        }
                    },
                }
            }
        }
    }
}
