//! Review Board's JSON bodies, serialized straight into the response. Fields
//! are declared in byte order, the order the former `serde_json::Value`
//! bodies had (its map sorts keys), so responses stay byte for byte the same
//! (`tests/it/rest_dialect_bytes.rs`); `openapi::dialects` describes them.

use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::fail::Fail;
use crate::domain::Error;
use crate::domain::error::Fault;
use crate::domain::model::Token;
use crate::domain::oauth::Scope;

pub(super) const LIST_TYPE: &str = "application/vnd.reviewboard.org.oauth-tokens+json";
pub(super) const ITEM_TYPE: &str = "application/vnd.reviewboard.org.oauth-token+json";

/// `body` as a response of `content_type`, with the headers Review Board
/// sends.
pub(super) fn respond(content_type: &'static str, body: &impl Serialize) -> Result<Response, Fail> {
    let bytes = serde_json::to_vec(body)
        .map_err(|e| Error::Internal(Fault::caused_by("encoding the response", e)))?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if content_type == LIST_TYPE {
        h.insert("item-content-type", HeaderValue::from_static(ITEM_TYPE));
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}

#[derive(Serialize)]
pub(super) struct Link {
    href: String,
    method: &'static str,
}

pub(super) fn link(href: String, method: &'static str) -> Link {
    Link { href, method }
}

#[derive(Serialize)]
struct ItemLinks {
    delete: Link,
    #[serde(rename = "self")]
    self_: Link,
    update: Link,
}

/// One token resource.
#[derive(Serialize)]
pub(super) struct Item<'a> {
    application: &'a str,
    expires: String,
    links: ItemLinks,
    scope: &'a [Scope],
    token: &'a str,
}

pub(super) fn item<'a>(t: &'a Token, application: &'a str, items_url: &str) -> Item<'a> {
    let href = format!("{items_url}{}/", t.id);
    Item {
        application,
        expires: expires(t.expires_at),
        links: ItemLinks {
            delete: link(href.clone(), "DELETE"),
            self_: link(href.clone(), "GET"),
            update: link(href, "PUT"),
        },
        scope: &t.scopes,
        token: &t.secret_prefix,
    }
}

/// Python's `isoformat()` of an aware UTC datetime, as Review Board writes it.
fn expires(t: crate::domain::Timestamp) -> String {
    let d = t.to_datetime();
    let micros = t.micros().rem_euclid(1_000_000);
    let base = d.format("%Y-%m-%dT%H:%M:%S");
    if micros == 0 {
        format!("{base}+00:00")
    } else {
        format!("{base}.{micros:06}+00:00")
    }
}

/// `{"oauth_token": ..., "stat": "ok"}`.
#[derive(Serialize)]
pub(super) struct One<'a> {
    pub oauth_token: Item<'a>,
    pub stat: &'static str,
}

/// A list's links: `next` and `prev` only when there is such a page.
#[derive(Serialize)]
pub(super) struct ListLinks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<Link>,
    #[serde(rename = "self")]
    pub self_: Link,
}

#[derive(Serialize)]
pub(super) struct List<'a> {
    pub links: ListLinks,
    pub oauth_tokens: Vec<Item<'a>>,
    pub stat: &'static str,
    pub total_results: i64,
}

/// The `counts-only` answer.
#[derive(Serialize)]
pub(super) struct Count {
    pub count: u64,
    pub stat: &'static str,
}
