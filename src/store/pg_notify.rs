//! Change-feed push across replicas on PostgreSQL, sending side: after a
//! write commits, its organization is queued here and one task per process
//! sends `NOTIFY oauth_registry_changes, '<org>'` for everything queued
//! since its last send, in one statement of its own.
//!
//! Why not NOTIFY inside the write (a trigger, as migration 0004 did):
//! PostgreSQL serializes the commits of every transaction that notified,
//! database-wide, holding a lock from before the commit until after its WAL
//! flush, so 16 concurrent writers committed one at a time. Sent after the
//! commit instead, one notification covers every write queued meanwhile and
//! no write waits for it. The price: a process that dies between a commit
//! and its send never sends it; other replicas' watchers then see the
//! change at their next bookmark tick (`--watch-bookmark-secs`) or with the
//! organization's next notified write, and never miss it (watchers read
//! the log, the notification is only a wake-up). The send does not wait for
//! its WAL flush (`synchronous_commit` off for that statement only): a lost
//! wake-up costs the same delay and nothing else.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::Notify;

use super::pg_listen::CHANNEL;
use crate::domain::ids::OrgId;

/// Organizations queued at most; past it one "any organization" wake-up
/// (an empty payload) replaces them, so memory stays bounded.
const MAX_PENDING: usize = 1024;
/// How long `flush` waits for the task before giving up.
const FLUSH_LIMIT: Duration = Duration::from_secs(2);

/// The queue of organizations to announce and its sending task.
#[derive(Debug, Clone, Default)]
pub struct Announcer {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    queue: Mutex<Queue>,
    wake: Notify,
    /// Woken after every send, for `flush`.
    sent: Notify,
    started: OnceLock<()>,
}

#[derive(Debug, Default)]
struct Queue {
    orgs: HashSet<OrgId>,
    /// More than `MAX_PENDING` were queued: announce "any organization".
    overflow: bool,
    /// Taken by the task and not sent yet.
    sending: bool,
}

impl Queue {
    fn is_empty(&self) -> bool {
        self.orgs.is_empty() && !self.overflow && !self.sending
    }

    /// The payloads to send now, emptying the queue.
    fn take(&mut self) -> Vec<String> {
        let orgs = std::mem::take(&mut self.orgs);
        self.sending = true;
        if std::mem::take(&mut self.overflow) {
            vec![String::new()]
        } else {
            orgs.into_iter().map(|o| o.as_str().to_owned()).collect()
        }
    }
}

impl Announcer {
    /// Queues `org_id` for the next send (starting the task on first use).
    pub fn announce(&self, pool: &PgPool, org_id: &OrgId) {
        {
            let mut q = self.lock();
            if !q.overflow && !q.orgs.contains(org_id) {
                if q.orgs.len() >= MAX_PENDING {
                    q.overflow = true;
                    q.orgs.clear();
                } else {
                    q.orgs.insert(org_id.clone());
                }
            }
        }
        self.inner.started.get_or_init(|| {
            tokio::spawn(send_loop(self.inner.clone(), pool.clone()));
        });
        self.inner.wake.notify_one();
    }

    /// Waits until what was queued has been sent (at most `FLUSH_LIMIT`),
    /// for short-lived processes such as the admin CLI.
    pub async fn flush(&self) {
        let _ = tokio::time::timeout(FLUSH_LIMIT, async {
            loop {
                let sent = self.inner.sent.notified();
                if self.lock().is_empty() {
                    return;
                }
                sent.await;
            }
        })
        .await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.inner.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sends what is queued whenever woken; runs until the process ends.
async fn send_loop(inner: Arc<Inner>, pool: PgPool) {
    loop {
        inner.wake.notified().await;
        let payloads = inner.queue.lock().unwrap_or_else(|e| e.into_inner()).take();
        if !payloads.is_empty()
            && let Err(e) = send(&pool, &payloads).await
        {
            // Watchers fall back to their bookmark tick; say so once per
            // failed send, which happens at most once per queued batch.
            tracing::warn!(error = %e, "change feed: NOTIFY failed; remote watchers wait for their next tick");
        }
        inner
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sending = false;
        inner.sent.notify_waiters();
    }
}

/// One statement, its own transaction: the notifications, without waiting
/// for the commit's WAL flush.
async fn send(pool: &PgPool, payloads: &[String]) -> sqlx::Result<()> {
    sqlx::query(
        "SELECT set_config('synchronous_commit', 'off', true), \
         count(pg_notify($1, o)) FROM unnest($2::text[]) AS o",
    )
    .bind(CHANNEL)
    .bind(payloads)
    .execute(pool)
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_is_bounded_and_overflows_to_any_organization() {
        let mut q = Queue::default();
        for i in 0..3 {
            q.orgs.insert(OrgId::from_trusted(format!("o{i}")));
        }
        let mut sent = q.take();
        sent.sort();
        assert_eq!(sent, ["o0", "o1", "o2"]);
        assert!(!q.is_empty(), "taken but not sent yet");
        q.sending = false;
        assert!(q.is_empty());
        q.overflow = true;
        assert_eq!(q.take(), [String::new()]);
        q.sending = false;
        assert!(q.is_empty());
    }
}
