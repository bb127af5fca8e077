//! Answers kept by validator, for the faces whose 200 answer to a GET is a
//! function of its validator alone (`conditional::Resource::reusable`:
//! Review Board's listing and items, whose bodies hold no instant, cursor
//! or request id). A poller that sends no `If-None-Match` asks the same
//! page again and again; while the organization's version is the same,
//! the bytes it gets are the same, so they are kept and sent again after
//! one version read, without the listing, the count, the page's clients
//! or the JSON.
//!
//! Why this is never stale: the key is the validator (`Registry::validator`:
//! organization, version, request with its normalized query, the user a
//! key acts as) and the key id, and the validator of a lookup is made from
//! a version read *for that request*. Any write, through any replica,
//! moves the version in the shared database, so a later request makes
//! another validator and misses. An answer is kept only under the
//! validator of the version its data was read at (the core's `observing`
//! says which; a write in between means it is not kept).
//!
//! Why per key, not per user: a key's scopes and site are checked by the
//! handler, which a hit skips; the same key passed them at the same
//! version (keys change only by revocation, which authentication refuses
//! before this). Bounded by bytes ([`BYTES`]), answers of over [`LARGEST`]
//! bytes are not kept, and entries of old versions are evicted first by
//! quick_cache's CLOCK-Pro, as they are never asked for again.
//! `OAUTH_REGISTRY_ANSWER_CACHE=off` turns the cache off (for A/B runs).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::domain::auth::Caller;
use crate::service::{Registry, Validator};

/// Memory the kept answers may take, about.
const BYTES: u64 = 16 * 1024 * 1024;
/// Entries, about (the bound that holds is [`BYTES`]).
const ENTRIES: usize = 1024;
/// The largest body kept: a 200-row Review Board page is ~90 KB.
const LARGEST: usize = 512 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    key_id: String,
    validator: String,
}

#[derive(Debug, Clone)]
struct Answer {
    headers: HeaderMap,
    body: Bytes,
    /// The audit report of the call that made it (filter hash, rows).
    audit: (String, u64),
}

#[derive(Debug, Clone, Copy)]
struct ByBytes;

impl Weighter<Key, Answer> for ByBytes {
    fn weight(&self, key: &Key, answer: &Answer) -> u64 {
        let headers: usize = answer
            .headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 32)
            .sum();
        (key.key_id.len() + key.validator.len() + answer.body.len() + headers + 128) as u64
    }
}

/// The kept answers, shared by the REST router's clones (an extension).
#[derive(Debug, Clone)]
pub(super) struct Answers(Option<Arc<Cache<Key, Answer, ByBytes>>>);

impl Answers {
    /// The cache, unless `OAUTH_REGISTRY_ANSWER_CACHE` is `off`.
    pub(super) fn from_env() -> Self {
        let off = std::env::var("OAUTH_REGISTRY_ANSWER_CACHE").is_ok_and(|v| v == "off");
        Self::new(!off)
    }

    pub(super) fn new(on: bool) -> Self {
        Answers(on.then(|| Arc::new(Cache::with_weighter(ENTRIES, BYTES, ByBytes))))
    }

    pub(super) fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// The answer kept for `caller`'s request with `validator`, as a new
    /// response (the caller adds the `ETag`); replays its audit report.
    pub(super) fn get(
        &self,
        registry: &Registry,
        caller: &Caller,
        validator: &Validator,
    ) -> Option<Response> {
        let cache = self.0.as_ref()?;
        let found = cache.get(&key(caller, validator));
        registry.metrics().cache_lookup("answer", found.is_some());
        let answer = found?;
        if let Some(call) = crate::audit::current() {
            call.rows(Some(answer.audit.0), answer.audit.1);
        }
        let mut resp = Response::new(Body::from(answer.body));
        *resp.headers_mut() = answer.headers;
        Some(resp)
    }

    /// Keeps `resp` (a 200 made at `validator`'s version) if it is small
    /// enough and its body is whole; returns it to be sent either way.
    pub(super) async fn keep(
        &self,
        caller: &Caller,
        validator: &Validator,
        resp: Response,
    ) -> Response {
        let Some(cache) = self.0.as_ref() else {
            return resp;
        };
        let whole = resp.body().size_hint().exact();
        if resp.status() != StatusCode::OK || whole.is_none_or(|n| n > LARGEST as u64) {
            return resp;
        }
        let (parts, body) = resp.into_parts();
        // A body of known, bounded size: collecting it does not wait.
        let bytes = match axum::body::to_bytes(body, LARGEST).await {
            Ok(bytes) => bytes,
            // Only a failing body gets here, and its answer is lost.
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
        let audit = crate::audit::current().map_or_else(Default::default, |c| c.reported());
        cache.insert(
            key(caller, validator),
            Answer {
                headers: parts.headers.clone(),
                body: bytes.clone(),
                audit,
            },
        );
        Response::from_parts(parts, Body::from(bytes))
    }
}

fn key(caller: &Caller, validator: &Validator) -> Key {
    Key {
        key_id: caller.key_id.as_str().to_owned(),
        validator: validator.text.clone(),
    }
}
