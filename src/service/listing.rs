//! Paging, once for every listing: keyset cursors (fetch one row more than
//! the page to know exactly whether another page exists, with no count
//! query), offset/page-number modes, opt-in totals, and streams of pages.

use futures::Stream;
use tracing::Instrument;

use super::Registry;
use crate::domain::auth::{Caller, Permission};
use crate::domain::change::{ChangePage, Version};
use crate::domain::cursor::{Cursor, query_fingerprint};
use crate::domain::ids::OrgId;
use crate::domain::model::{Client, Token};
use crate::domain::query::{
    ClientFilter, ClientQuery, ClientSortField, Page, PageRequest, PageStart, Position, Query,
    Sort, TokenFilter, TokenQuery, TokenSortField,
};
use crate::domain::{Error, Result, Timestamp};

/// A listing request in canonical form.
#[derive(Debug, Clone)]
pub struct ListRequest<F, S> {
    pub filter: F,
    pub sort: Sort<S>,
    pub page: PageRequest,
    pub include_total: bool,
}

/// Everything that differs between listing tokens and listing clients:
/// what `Registry::list` and `Registry::stream` are generic over. Sealed:
/// only tokens and clients are listable.
pub trait Listable: Sized + Send + 'static + sealed::Sealed {
    type Filter: Clone + Send + Sync + 'static;
    type Field: Copy + Send + Sync + std::fmt::Debug + 'static;
    const KIND: &'static str;
    const PERMISSION: Permission;
    fn canonical(f: &Self::Filter) -> String;
    /// The row's keyset position under `field`.
    fn position(&self, field: Self::Field, now: Timestamp) -> Position;
    fn fetch(
        r: &Registry,
        q: &Query<Self::Filter, Self::Field>,
    ) -> impl Future<Output = Result<Vec<Self>>> + Send;
    /// A page with the organization's version its rows show at least
    /// (`Store::list_tokens_at`).
    fn fetch_at(
        r: &Registry,
        q: &Query<Self::Filter, Self::Field>,
    ) -> impl Future<Output = Result<(Version, Vec<Self>)>> + Send;
    fn count(
        r: &Registry,
        org: &OrgId,
        f: &Self::Filter,
        now: Timestamp,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Whether the filter's result depends on the instant, not only on
    /// the data (see `totals`).
    fn depends_on_clock(f: &Self::Filter) -> bool;
    /// Whether the order by `field` depends on the instant (status).
    fn sorts_by_clock(field: Self::Field) -> bool;
    /// Whether the row is in the filter's result now (for watches).
    fn matches(f: &Self::Filter, row: &Self, now: Timestamp) -> bool;
    /// Up to `limit` of the feed's changes of this kind after `after`.
    fn changes(
        r: &Registry,
        org: &OrgId,
        after: Version,
        limit: u32,
    ) -> impl Future<Output = Result<ChangePage<Self>>> + Send;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Token {}
    impl Sealed for super::Client {}
}

impl Listable for Token {
    type Filter = TokenFilter;
    type Field = TokenSortField;
    const KIND: &'static str = "tokens";
    const PERMISSION: Permission = Permission::TokensRead;

    fn canonical(f: &TokenFilter) -> String {
        f.canonical()
    }

    fn position(&self, field: TokenSortField, now: Timestamp) -> Position {
        Position {
            key: field.value(self, now),
            id: self.id.to_string(),
        }
    }

    async fn fetch(r: &Registry, q: &TokenQuery) -> Result<Vec<Token>> {
        r.store.list_tokens(q).await
    }

    async fn fetch_at(r: &Registry, q: &TokenQuery) -> Result<(Version, Vec<Token>)> {
        r.store.list_tokens_at(q).await
    }

    async fn count(r: &Registry, org: &OrgId, f: &TokenFilter, now: Timestamp) -> Result<u64> {
        r.store.count_tokens(org, f, now).await
    }

    fn depends_on_clock(f: &TokenFilter) -> bool {
        f.depends_on_clock()
    }

    fn sorts_by_clock(field: TokenSortField) -> bool {
        field == TokenSortField::Status
    }

    fn matches(f: &TokenFilter, row: &Token, now: Timestamp) -> bool {
        f.matches(row, now)
    }

    async fn changes(
        r: &Registry,
        org: &OrgId,
        after: Version,
        limit: u32,
    ) -> Result<ChangePage<Token>> {
        r.store.token_changes(org, after, limit).await
    }
}

impl Listable for Client {
    type Filter = ClientFilter;
    type Field = ClientSortField;
    const KIND: &'static str = "clients";
    const PERMISSION: Permission = Permission::ClientsRead;

    fn canonical(f: &ClientFilter) -> String {
        f.canonical()
    }

    fn position(&self, field: ClientSortField, _now: Timestamp) -> Position {
        Position {
            key: field.value(self),
            id: self.id.to_string(),
        }
    }

    async fn fetch(r: &Registry, q: &ClientQuery) -> Result<Vec<Client>> {
        r.store.list_clients(q).await
    }

    async fn fetch_at(r: &Registry, q: &ClientQuery) -> Result<(Version, Vec<Client>)> {
        let version = r.store.read_version(&q.org_id).await?;
        Ok((version, r.store.list_clients(q).await?))
    }

    async fn count(r: &Registry, org: &OrgId, f: &ClientFilter, _now: Timestamp) -> Result<u64> {
        r.store.count_clients(org, f).await
    }

    fn depends_on_clock(_: &ClientFilter) -> bool {
        false
    }

    fn sorts_by_clock(_: ClientSortField) -> bool {
        false
    }

    fn matches(f: &ClientFilter, row: &Client, _now: Timestamp) -> bool {
        f.matches(row)
    }

    async fn changes(
        r: &Registry,
        org: &OrgId,
        after: Version,
        limit: u32,
    ) -> Result<ChangePage<Client>> {
        r.store.client_changes(org, after, limit).await
    }
}

fn fingerprint<T: Listable>(f: &T::Filter, sort: &Sort<T::Field>) -> String {
    query_fingerprint(
        T::KIND,
        &T::canonical(f),
        &format!("{:?} {}", sort.field, sort.direction.as_str()),
    )
}

impl Registry {
    async fn page<T: Listable>(
        &self,
        caller: &Caller,
        req: &ListRequest<T::Filter, T::Field>,
    ) -> Result<Page<T>> {
        caller.require(T::PERMISSION)?;
        let fp = fingerprint::<T>(&req.filter, &req.sort);
        // A walk's read version is its first page's, read with its rows:
        // every change after it is in the feed, whatever the pages show.
        let (after, now, offset, walk_version) = match &req.page.start {
            PageStart::First => (None, Timestamp::now(), 0, None),
            PageStart::Offset(n) => (None, Timestamp::now(), *n, None),
            PageStart::Cursor(token) => {
                let c = self
                    .cursors
                    .decode("page_token", token, &caller.org_id, &fp)?;
                (Some(c.position), c.now, 0, Some(c.read_version))
            }
        };
        let size = req.page.size.get();
        self.metrics.page_fetched();
        let mut query = Query {
            org_id: caller.org_id.clone(),
            filter: req.filter.clone(),
            sort: req.sort,
            now,
            after,
            offset,
            limit: size + 1,
        };
        // A version read with the rows also validates a cached total; a
        // cursor's is the walk's start, so a total reads its own.
        let (read_version, fresh, mut items) = match walk_version {
            Some(v) => (v, None, T::fetch(self, &query).await?),
            None if offset < super::anchors::MIN_OFFSET => {
                let (v, items) = T::fetch_at(self, &query).await?;
                (v, Some(v), items)
            }
            None => {
                // A deep offset's anchor is looked up by the version, so
                // it is read first (the rows then show at least it).
                let v = self.store.read_version(&caller.org_id).await?;
                let items = self.deep_page::<T>(&fp, &mut query, size, v, req).await?;
                (v, Some(v), items)
            }
        };
        let noted_at = walk_version.map_or(now, |_| Timestamp::now());
        super::freshness::note_read(read_version, noted_at);
        let next_page_token = if items.len() > size as usize {
            items.truncate(size as usize);
            items.last().map(|last| {
                let cursor = Cursor {
                    position: last.position(req.sort.field, now),
                    now,
                    read_version,
                };
                self.cursors.encode(&caller.org_id, &fp, &cursor)
            })
        } else {
            None
        };
        super::audit_rows(Some(&T::canonical(&req.filter)), items.len() as u64);
        let total_size = if req.include_total {
            Some(
                self.total::<T>(&caller.org_id, &req.filter, now, fresh)
                    .await?,
            )
        } else {
            None
        };
        Ok(Page {
            items,
            next_page_token,
            total_size,
            read_version,
        })
    }

    /// A page at a deep offset: seeks from an anchor when one holds at
    /// `version`, and leaves anchors for the repeats and the next page.
    async fn deep_page<T: Listable>(
        &self,
        fp: &str,
        query: &mut Query<T::Filter, T::Field>,
        size: u32,
        version: Version,
        req: &ListRequest<T::Filter, T::Field>,
    ) -> Result<Vec<T>> {
        let deep = self.deep_offset(&query.org_id, fp, query.offset, version, query.now);
        if let Some(deep) = &deep {
            deep.plan(query);
        }
        let mut items = T::fetch(self, query).await?;
        if let Some(deep) = deep {
            self.leave_anchors::<T>(
                deep,
                &mut items,
                size,
                version,
                query.now,
                &req.filter,
                req.sort.field,
            )
            .await?;
        }
        Ok(items)
    }

    /// Pages from `req` on, until the end or `max_pages` (0 = no limit).
    /// A task queries ahead of the consumer by exactly one page, so the next
    /// page's query overlaps the encoding and sending of the current one
    /// (streaming a million rows took ~40% longer strictly in turn) while a
    /// slow client still slows the query and memory stays at a few pages.
    /// When the consumer goes away the task stops, abandoning a query in
    /// progress, and issues no further queries. When the server drains, the
    /// stream ends after the page in hand with UNAVAILABLE; that page's
    /// `next_page_token` resumes it on any replica. Past the server-wide
    /// stream limit the call is refused before any query.
    fn pages<T: Listable + Sync>(
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
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let this = self.clone();
        let producer = async move {
            let _permit = permit;
            let mut sent = 0u32;
            let mut failed = false;
            while max_pages == 0 || sent < max_pages {
                if sent > 0 && this.is_draining() {
                    audit.outcome("UNAVAILABLE");
                    let _ = tx
                        .send(Err(Error::Draining(
                            "server is shutting down; resume with the last page's next_page_token"
                                .into(),
                        )))
                        .await;
                    return;
                }
                let page = tokio::select! {
                    page = this.page::<T>(&caller, &req) => page,
                    () = tx.closed() => return,
                };
                let next = match &page {
                    Ok(p) => {
                        audit.rows(p.items.len() as u64);
                        p.next_page_token.clone()
                    }
                    Err(e) => {
                        audit.outcome(e.code_name());
                        failed = true;
                        None
                    }
                };
                if tx.send(page).await.is_err() {
                    return;
                }
                sent += 1;
                match next {
                    Some(token) => req.page.start = PageStart::Cursor(token),
                    None => break,
                }
            }
            if !failed {
                audit.outcome("OK");
            }
        };
        tokio::spawn(producer.instrument(tracing::Span::current()));
        Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
    }

    /// One page of `T` (tokens or clients).
    pub async fn list<T: Listable>(
        &self,
        caller: &Caller,
        req: &ListRequest<T::Filter, T::Field>,
    ) -> Result<Page<T>> {
        self.page::<T>(caller, req).await
    }

    /// Pages of `T` from `req` on; see [`Registry::pages`].
    pub fn stream<T: Listable + Sync>(
        &self,
        caller: Caller,
        req: ListRequest<T::Filter, T::Field>,
        max_pages: u32,
    ) -> Result<impl Stream<Item = Result<Page<T>>> + Send + 'static> {
        self.pages::<T>(caller, req, max_pages)
    }

    pub async fn count_tokens(&self, caller: &Caller, filter: &TokenFilter) -> Result<u64> {
        caller.require(Permission::TokensRead)?;
        let n = self
            .total::<Token>(&caller.org_id, filter, Timestamp::now(), None)
            .await?;
        super::audit_rows(Some(&filter.canonical()), n);
        Ok(n)
    }
}
