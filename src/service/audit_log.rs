//! Reading the audit trail: a page of an organization's events (newest
//! first, keyset-paged with signed tokens bound to the organization and the
//! filters, like listings), and an export that streams every page. Needs
//! `admin`: the trail says who looked at what.

use futures::Stream;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use super::Registry;
use crate::domain::audit::{AuditEvent, AuditQuery};
use crate::domain::auth::{Caller, Permission};
use crate::domain::{Error, Result, Timestamp};

/// A page of audit events and the token for the next one.
pub type AuditPage = (Vec<AuditEvent>, Option<String>);

/// Rows per exported page.
const EXPORT_PAGE: u32 = 1000;

#[derive(Serialize, Deserialize)]
struct Position {
    v: u8,
    o: String,
    /// The filters' fingerprint.
    q: String,
    t: i64,
    i: String,
}

fn fingerprint(q: &AuditQuery) -> String {
    let text = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}",
        q.key_id,
        q.user_id,
        q.kind.map(|k| k.as_str()),
        q.from.map(Timestamp::micros),
        q.to.map(Timestamp::micros)
    );
    crate::domain::audit::filter_hash(&text)
}

impl Registry {
    /// One page of `q`'s events (`q.limit` is the page size), after
    /// `page_token`.
    pub async fn list_audit_events(
        &self,
        caller: &Caller,
        mut q: AuditQuery,
        page_token: &str,
    ) -> Result<AuditPage> {
        caller.require(Permission::Admin)?;
        let fp = fingerprint(&q);
        q.before = if page_token.is_empty() {
            None
        } else {
            let body = self.cursors.open("page_token", "page token", page_token)?;
            let p: Position = serde_json::from_slice(&body)
                .map_err(|_| Error::invalid("page_token", "page token is malformed"))?;
            if p.v != 1 || p.o != caller.org_id.as_str() || p.q != fp {
                return Err(Error::invalid(
                    "page_token",
                    "page token does not belong to this query (filters or caller changed)",
                ));
            }
            Some((Timestamp::from_micros(p.t), p.i))
        };
        let size = q.limit.max(1);
        q.limit = size + 1;
        let mut events = self.store.list_audit_events(&caller.org_id, &q).await?;
        let next = if events.len() > size as usize {
            events.truncate(size as usize);
            events.last().map(|e| {
                let p = Position {
                    v: 1,
                    o: caller.org_id.to_string(),
                    q: fp.clone(),
                    t: e.at.micros(),
                    i: e.id.clone(),
                };
                self.cursors
                    .seal(serde_json::to_vec(&p).unwrap_or_default())
            })
        } else {
            None
        };
        Ok((events, next))
    }

    /// Every page of `q`'s events from `page_token` on, as a stream that
    /// counts against the stream limit and ends early on drain (resume
    /// from the last page's token).
    pub async fn export_audit_events(
        &self,
        caller: Caller,
        mut q: AuditQuery,
        page_token: String,
    ) -> Result<impl Stream<Item = Result<AuditPage>> + Send + 'static> {
        caller.require(Permission::Admin)?;
        let permit = self.streams.clone().try_acquire_owned().map_err(|_| {
            Error::ResourceExhausted(
                "too many streams in progress on this server; retry later".into(),
            )
        })?;
        q.limit = EXPORT_PAGE;
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let this = self.clone();
        let producer = async move {
            let _permit = permit;
            let mut token = page_token;
            loop {
                if this.is_draining() {
                    let _ = tx.send(Err(super::drained())).await;
                    return;
                }
                let page = tokio::select! {
                    page = this.list_audit_events(&caller, q.clone(), &token) => page,
                    () = tx.closed() => return,
                };
                let next = page.as_ref().ok().and_then(|(_, n)| n.clone());
                if tx.send(page).await.is_err() {
                    return;
                }
                match next {
                    Some(n) => token = n,
                    None => return,
                }
            }
        };
        tokio::spawn(producer.instrument(tracing::Span::current()));
        Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
    }

    /// Retention of the audit trail: deletes events older than `age`, in
    /// batches; returns how many.
    pub async fn trim_audit_events(&self, age: std::time::Duration) -> Result<u64> {
        let age = i64::try_from(age.as_micros()).unwrap_or(i64::MAX);
        let before = Timestamp::from_micros(Timestamp::now().micros().saturating_sub(age));
        let mut total = 0;
        loop {
            let n = self.store.trim_audit_events(before, 5000).await?;
            total += n;
            if n < 5000 {
                return Ok(total);
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}
