//! `GET /api/oauth-tokens/`: the listing, paged the way djblets (Review
//! Board's web API framework) pages: `start` and `max-results` that do not
//! parse fall back to their defaults, a negative `start` is 0,
//! `max-results` is capped at 200 without complaint, a `start` past the end
//! (or past any bound) is an empty page, `counts-only` with any non-empty
//! value answers only the count, and `next`/`prev` links keep the request's
//! other query parameters.

use super::body::{Count, LIST_TYPE, List, ListLinks, item, link, respond};
use super::resource::{
    Fail, SiteCaller, application_names, application_of, origin, owner_filter, site_prefix,
};
use crate::domain::model::Token;
use crate::domain::query::{
    Direction, MAX_OFFSET, PageRequest, PageSize, PageStart, Sort, TokenFilter, TokenSortField,
};
use crate::rest::params::Params;
use crate::service::{ListRequest, Registry};
use axum::extract::RawQuery;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

pub(super) const DEFAULT_MAX_RESULTS: i64 = 25;
pub(super) const MAX_RESULTS_CAP: i64 = 200;

pub(super) async fn list_tokens(
    SiteCaller { caller, site }: SiteCaller,
    registry: Registry,
    headers: HeaderMap,
    uri: Uri,
    query: RawQuery,
) -> Result<Response, Fail> {
    let raw = query.0.clone().unwrap_or_default();
    let p = Params::new(query);
    let int = |name: &str| p.get(name).and_then(|v| v.trim().parse::<i64>().ok());
    let start = int("start").unwrap_or(0).max(0);
    // djblets: min(int(max-results), cap); 0 or less selects nothing.
    let max = int("max-results")
        .unwrap_or(DEFAULT_MAX_RESULTS)
        .min(MAX_RESULTS_CAP);
    let filter = TokenFilter {
        user_id: owner_filter(&caller)?,
        ..TokenFilter::default()
    };
    if p.get("counts-only").is_some_and(|v| !v.is_empty()) {
        let count = registry.count_tokens(&caller, &filter).await?;
        return respond(LIST_TYPE, &Count { count, stat: "ok" });
    }
    let (items, total) = if max < 1 || start as u64 > MAX_OFFSET {
        // Nothing to select: only the total is needed.
        (
            Vec::new(),
            registry.count_tokens(&caller, &filter).await? as i64,
        )
    } else {
        let request = ListRequest {
            filter,
            sort: Sort {
                field: TokenSortField::Created,
                direction: Direction::Asc,
            },
            page: PageRequest {
                size: PageSize::clamped(max, MAX_RESULTS_CAP as u32),
                start: PageStart::offset("start", start as u64)?,
            },
            include_total: true,
        };
        let page = registry.list::<Token>(&caller, &request).await?;
        (page.items, page.total_size.unwrap_or(0) as i64)
    };
    let base = origin(&headers);
    let items_url = format!("{base}{}/api/oauth-tokens/", site_prefix(site.as_deref()));
    let page_url = |start: i64| {
        let mut url = format!("{items_url}?start={start}&max-results={}", max.max(1));
        for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
            if k != "start" && k != "max-results" {
                url.push('&');
                url.extend(form_urlencoded::byte_serialize(k.as_bytes()));
                url.push('=');
                url.extend(form_urlencoded::byte_serialize(v.as_bytes()));
            }
        }
        url
    };
    let links = ListLinks {
        next: (max > 0 && start.saturating_add(max) < total)
            .then(|| link(page_url(start + max), "GET")),
        prev: (start > 0).then(|| link(page_url((start - max.max(1)).max(0)), "GET")),
        self_: link(format!("{base}{uri}"), "GET"),
    };
    let names = application_names(&registry, &caller, &items).await;
    let body = List {
        links,
        oauth_tokens: items
            .iter()
            .map(|t| item(t, application_of(&names, t), &items_url))
            .collect(),
        stat: "ok",
        total_results: total,
    };
    respond(LIST_TYPE, &body)
}
