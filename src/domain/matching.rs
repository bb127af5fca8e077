//! Filters evaluated on one row in memory, by the rules the store's SQL
//! applies: the change feed decides with them whether an event belongs to a
//! watch (the row matches before or after the change). A test compares the
//! two on varied rows and every pair of conditions (tests/it/watch_matching.rs),
//! so a watch and a listing never disagree.

use super::model::{Client, Token};
use super::query::{ClientFilter, TokenFilter};
use super::time::Timestamp;

fn in_range(t: Timestamp, from: Option<Timestamp>, to: Option<Timestamp>) -> bool {
    from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e)
}

impl TokenFilter {
    /// Whether `t` is in this filter's result as of `now` (status evaluated
    /// at `now`, as a listing's first page does).
    pub fn matches(&self, t: &Token, now: Timestamp) -> bool {
        let TokenFilter {
            client_id,
            user_id,
            status,
            created_from,
            created_to,
            updated_from,
            updated_to,
            scopes,
            name,
            kind,
        } = self;
        client_id
            .as_deref()
            .is_none_or(|c| t.client_id.as_ref().is_some_and(|id| id.as_str() == c))
            && user_id.as_deref().is_none_or(|u| t.user_id == u)
            && status.is_none_or(|s| t.status_at(now) == s)
            && in_range(t.created_at, *created_from, *created_to)
            && in_range(t.updated_at, *updated_from, *updated_to)
            && scopes.iter().all(|s| t.scopes.contains(s))
            && name.as_ref().is_none_or(|g| g.matches(&t.name))
            && kind.is_none_or(|k| t.kind == k)
    }
}

impl ClientFilter {
    /// Whether `c` is in this filter's result.
    pub fn matches(&self, c: &Client) -> bool {
        let ClientFilter {
            name,
            grant_type,
            public,
        } = self;
        name.as_ref().is_none_or(|g| g.matches(&c.name))
            && grant_type.is_none_or(|g| c.grant_types.contains(&g))
            && public.is_none_or(|p| c.public == p)
    }
}
