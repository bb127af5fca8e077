//! Paging, once for every listing: keyset cursors (fetch one row more than
//! the page to know exactly whether another page exists, with no count
//! query), offset/page-number modes, opt-in totals, and streams of pages.

use futures::Stream;

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
        let run = self.page_run::<T>(caller, req, 1).await?;
        run.into_iter()
            .next()
            .ok_or_else(|| Error::Internal("a listing made no page".into()))
    }

    /// Up to `pages` consecutive pages of `req` read by one query (one
    /// round trip and one index descent instead of `pages`), each with the
    /// cursor of its last row; always at least one page, maybe empty. More
    /// than one only from a keyset position (first page or cursor): an
    /// offset's pages are one at a time.
    pub(super) async fn page_run<T: Listable>(
        &self,
        caller: &Caller,
        req: &ListRequest<T::Filter, T::Field>,
        pages: u32,
    ) -> Result<Vec<Page<T>>> {
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
        let pages = if offset == 0 { pages.max(1) } else { 1 };
        let rows = size.saturating_mul(pages);
        self.metrics.page_fetched();
        let mut query = Query {
            org_id: caller.org_id.clone(),
            filter: req.filter.clone(),
            sort: req.sort,
            now,
            after,
            offset,
            limit: rows.saturating_add(1),
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
        let more = items.len() > rows as usize;
        items.truncate(rows as usize);
        super::audit_rows(Some(&T::canonical(&req.filter)), items.len() as u64);
        let total_size = if req.include_total {
            Some(
                self.total::<T>(&caller.org_id, &req.filter, now, fresh)
                    .await?,
            )
        } else {
            None
        };
        // Cut from the back, so each split moves only the page it cuts.
        let size = size as usize;
        let count = items.len().div_ceil(size).max(1);
        let mut run = Vec::with_capacity(count);
        for i in (0..count).rev() {
            let items = if i == 0 {
                std::mem::take(&mut items)
            } else {
                items.split_off(i * size)
            };
            let next_page_token = if more || i + 1 < count {
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
            run.push(Page {
                items,
                next_page_token,
                total_size,
                read_version,
            });
        }
        run.reverse();
        Ok(run)
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
