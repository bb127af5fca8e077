//! Streams of pages (StreamTokens, StreamClients): one producer task per
//! stream reads runs of pages ahead of the consumer, bounded in rows.

use futures::Stream;
use tracing::Instrument;

use super::Registry;
use super::listing::{ListRequest, Listable};
use crate::domain::auth::Caller;
use crate::domain::query::{Page, PageStart};
use crate::domain::{Error, Result};

impl Registry {
    /// Pages from `req` on, until the end or `max_pages` (0 = no limit).
    /// After the first page (read alone, so a stream's first answer is as
    /// quick as a List call's) a task reads runs of pages, as many rows per
    /// query as the store asks (`Store::stream_run_rows`), never more than
    /// `max_pages` allows, and queues up to a run (at most five pages) ahead of the consumer: the
    /// next query overlaps the sending of the run before, a slow client
    /// still slows the queries, and memory stays at about two runs. No pool
    /// connection is held while the task waits on the client: a run is read
    /// whole before its pages are sent.
    /// When the consumer goes away the task stops, abandoning a query in
    /// progress, and issues no further queries. When the server drains, the
    /// stream ends after the page in hand with UNAVAILABLE; that page's
    /// `next_page_token` resumes it on any replica. Past the server-wide
    /// stream limit the call is refused before any query.
    pub(super) fn pages<T: Listable + Sync>(
        &self,
        caller: Caller,
        mut req: ListRequest<T::Filter, T::Field>,
        max_pages: u32,
    ) -> Result<impl Stream<Item = Result<Page<T>>> + Send + 'static> {
        let permit = self.streams.clone().try_acquire_owned().map_err(|_| {
            Error::ResourceExhausted(
                "too many streams in progress on this server; retry later or page with List".into(),
            )
        })?;
        req.include_total = false;
        let mut audit =
            crate::audit::Deferred::start(&self.audit, Some(&T::canonical(&req.filter)));
        let run_pages = (self.store.stream_run_rows() / req.page.size.get()).max(1);
        // At most five pages queued: pages ready ahead are encoded ahead
        // too, into the connection's buffers, past a deadline's reach.
        let (tx, rx) = tokio::sync::mpsc::channel(run_pages.min(5) as usize);
        let this = self.clone();
        let producer = async move {
            let _permit = permit;
            let mut sent = 0u32;
            let mut failed = false;
            'walk: while max_pages == 0 || sent < max_pages {
                let mut want = if sent == 0 { 1 } else { run_pages };
                if max_pages > 0 {
                    want = want.min(max_pages - sent);
                }
                let run = tokio::select! {
                    run = this.page_run::<T>(&caller, &req, want) => run,
                    () = tx.closed() => return,
                };
                let run = match run {
                    Ok(run) => run,
                    Err(e) => {
                        audit.outcome(e.code_name());
                        failed = true;
                        let _ = tx.send(Err(e)).await;
                        break;
                    }
                };
                for page in run {
                    if sent > 0 && this.is_draining() {
                        audit.outcome("UNAVAILABLE");
                        let _ = tx.send(Err(super::drained())).await;
                        return;
                    }
                    audit.rows(page.items.len() as u64);
                    let next = page.next_page_token.clone();
                    if tx.send(Ok(page)).await.is_err() {
                        return;
                    }
                    sent += 1;
                    match next {
                        Some(token) => req.page.start = PageStart::Cursor(token),
                        None => break 'walk,
                    }
                }
            }
            if !failed {
                audit.outcome("OK");
            }
        };
        tokio::spawn(producer.instrument(tracing::Span::current()));
        Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
    }
}
