//! Conditional requests (RFC 9110 §13), in one place for the canonical API
//! and the Review Board dialect: a layer in front of their handlers.
//!
//! - Every successful GET (or HEAD) of a listing, a count or one resource
//!   carries an `ETag`: the core's validator (`Registry::validator`) of the
//!   request, made from the organization's version (one primary-key read;
//!   token answers also the status window, cached per version) before the
//!   handler runs. An `If-None-Match` that names it is answered
//!   `304 Not Modified`, with the `ETag` and no body, without running the
//!   handler: a poller whose data did not change costs one version read
//!   and no listing or count query.
//! - On the faces that allow it (canonical updates and deletes), an
//!   `If-Match` whose validator was made at another version than the
//!   organization's current one is `412 Precondition Failed`.
//!
//! **Weak validators** (`W/"…"`), always: one validator stands for every
//! answer that shows the same data, not for one byte sequence. A listing's
//! `nextPageToken` carries the instant and version its walk started at,
//! and gzip or zstd recodes the bytes, so the same data has many byte
//! forms; a strong validator would promise byte identity we cannot keep.
//! RFC 9110 has `If-Match` compare strongly, under which a weak validator
//! never matches; here the validator is derived from the data's version,
//! not the bytes, so equal validators do mean "unchanged", which is what
//! `If-Match` guards, and it is compared weakly too.
//!
//! **What a validator covers**: the organization and its version (any
//! write, through any replica, changes it), the status window for token
//! answers that show status (a token expiring changes it), the request
//! (scheme and host, which Review Board's links echo, the path, and the
//! query with its parameters in a stable order) and the caller's identity
//! where answers differ by caller (the user a key acts as, superuser).
//! It is an HMAC with the server key every replica shares: any replica
//! accepts another's, and none can be forged. `If-Match` takes the
//! validator of a GET of the same path (its query is not part of it). It is
//! checked twice: here, after one version read (a stale one is refused
//! before the handler runs), and inside the write's transaction, under the
//! organization's lock (`Registry::expecting`), so a write that lands in
//! between is caught too.

use axum::Extension;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ETAG, HOST, IF_MATCH, IF_NONE_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::answers::Answers;
use super::auth::{self, Refusal, Verified};
use crate::domain::Timestamp;
use crate::domain::auth::{Caller, Permission};
use crate::service::{Registry, Validator};

/// A face whose GETs carry validators: which paths, and how it words a
/// failed precondition.
pub(super) trait Conditional: Refusal {
    /// What the resource at `path` is, if it has validators.
    fn resource(path: &str) -> Option<Resource>;
    /// The face's `412 Precondition Failed`.
    fn precondition_failed(path: &str) -> Response;
}

/// A resource with validators.
#[derive(Debug, Clone, Copy)]
pub(super) struct Resource {
    /// Needed to read it (and so to learn its validator).
    pub read: Permission,
    /// Needed to change it; `None`: `If-Match` is not honoured here.
    pub write: Option<Permission>,
    /// Its answers show or filter by token status (moved by the clock).
    pub clock: bool,
    /// Its handler answers from one listing or count, read at a version
    /// the core notes (`Registry::observing`), before or with every other
    /// read of the answer: a GET without `If-None-Match` then gets its
    /// validator from that version after the handler, with no version read
    /// of its own. Other GETs make it before the handler runs.
    pub listing: bool,
    /// Its 200 answer is a function of its validator alone (no instant,
    /// cursor or request id in it): kept and sent again while the
    /// validator holds (`rest::answers`).
    pub reusable: bool,
}

/// The layer (`axum::middleware::from_fn`) for face `F`; the registry
/// comes as an extension (`rest::router` adds it), as the faces' routers
/// are built without one.
pub(super) async fn conditional<F: Conditional>(
    Extension(registry): Extension<Registry>,
    Extension(answers): Extension<Answers>,
    req: Request,
    next: Next,
) -> Response {
    let Some(resource) = F::resource(req.uri().path()) else {
        return next.run(req).await;
    };
    let read = matches!(*req.method(), Method::GET | Method::HEAD);
    let change = matches!(*req.method(), Method::PATCH | Method::PUT | Method::DELETE);
    let guarded = match resource.write {
        Some(write) if change && req.headers().contains_key(IF_MATCH) => Some(write),
        _ if read => None,
        _ => return next.run(req).await,
    };
    // Authenticated here, once: the handler's extractor takes this caller.
    let (mut parts, body) = req.into_parts();
    let caller = match auth::caller(&registry, &parts.headers).await {
        Ok(caller) => caller,
        Err(e) => return F::refusal(e, &parts).into_response(),
    };
    parts.extensions.insert(Verified(caller.clone()));
    let key = request_key(&parts, read);
    let req = Request::from_parts(parts, body);
    match guarded {
        Some(need) => if_match::<F>(&registry, &caller, need, &key, req, next).await,
        None => {
            // GET only: axum empties a HEAD's body inside the route, and
            // the kept answer would be that empty body.
            let get = req.method() == Method::GET;
            let answers = Some(answers).filter(|a| get && resource.reusable && a.is_on());
            if_none_match(&registry, answers, &caller, resource, &key, req, next).await
        }
    }
}

async fn if_none_match(
    registry: &Registry,
    answers: Option<Answers>,
    caller: &Caller,
    resource: Resource,
    key: &str,
    req: Request,
    next: Next,
) -> Response {
    if resource.listing && answers.is_none() && !req.headers().contains_key(IF_NONE_MATCH) {
        return tagged_after(registry, caller, resource, key, req, next).await;
    }
    let made = registry
        .validator(caller, resource.read, resource.clock, key)
        .await;
    // Without a validator (no permission, a database error) the handler
    // answers, in the face's own words.
    let Some((validator, etag)) = made.ok().and_then(|v| {
        let etag = entity_tag(&v)?;
        Some((v, etag))
    }) else {
        return next.run(req).await;
    };
    let presented = req
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if presented
        .as_deref()
        .is_some_and(|p| tags(p).any(|t| t == validator.text))
    {
        return not_modified(etag);
    }
    let kept = answers
        .as_ref()
        .filter(|_| validator.covers(Timestamp::now()))
        .and_then(|a| a.get(registry, caller, &validator));
    let kept_none = kept.is_none();
    let (mut resp, seen) = match (kept, &answers) {
        (Some(resp), _) => (resp, None),
        // Only an answer that may be kept needs the version it was read at.
        (None, Some(_)) => registry.observing(next.run(req)).await,
        (None, None) => (next.run(req).await, None),
    };
    if resp.status() != StatusCode::OK || !validator.covers(Timestamp::now()) {
        return resp;
    }
    if presented.as_deref().is_some_and(|p| p.trim() == "*") {
        return not_modified(etag);
    }
    // Kept when it was made here and its data read at the validator's
    // version (a listing notes it; one resource's GET reads after the
    // version was read, so its data is at least that new).
    if let Some(answers) = answers.filter(|_| kept_none)
        && seen.is_none_or(|s| s.version == validator.version)
    {
        resp = answers.keep(caller, &validator, resp).await;
    }
    resp.headers_mut().insert(ETAG, etag);
    resp
}

/// A listing's GET with nothing to compare: the handler runs first, and
/// the validator is made from the version its listing or count was read
/// at. Without one (an error, or no read noted) the answer has no `ETag`.
async fn tagged_after(
    registry: &Registry,
    caller: &Caller,
    resource: Resource,
    key: &str,
    req: Request,
    next: Next,
) -> Response {
    let (mut resp, seen) = registry.observing(next.run(req)).await;
    let Some(seen) = seen.filter(|_| resp.status() == StatusCode::OK) else {
        return resp;
    };
    let made = registry
        .validator_at(caller, resource.read, resource.clock, key, seen)
        .await;
    if let Ok(v) = made
        && v.covers(Timestamp::now())
        && let Some(etag) = entity_tag(&v)
    {
        resp.headers_mut().insert(ETAG, etag);
    }
    resp
}

async fn if_match<F: Conditional>(
    registry: &Registry,
    caller: &Caller,
    need: Permission,
    key: &str,
    req: Request,
    next: Next,
) -> Response {
    let presented = req
        .headers()
        .get(IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // `*`: any current version; whether the resource exists is the
    // handler's answer (404).
    if presented.trim() == "*" {
        return next.run(req).await;
    }
    let Ok(current) = registry.current_version(caller, need).await else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_owned();
    if !tags(&presented).any(|t| registry.validator_version(caller, key, t) == Some(current)) {
        return F::precondition_failed(&path);
    }
    match registry.expecting(current, next.run(req)).await {
        (_, true) => F::precondition_failed(&path),
        (resp, false) => resp,
    }
}

/// States face `F`'s validators in the OpenAPI document (as JSON): on its
/// GETs the `If-None-Match` header, the `ETag` of a 200 and the `304`; on
/// its guarded PATCH and DELETE the `If-Match` header and the `412`, with
/// the body of the operation's other errors.
pub(super) fn document<F: Conditional>(doc: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let tag = json!({"description": "Weak validator of this answer (the organization's version, the request, the caller)", "schema": {"type": "string"}});
    // `get`/`get_mut` only: indexing a `Value` mutably inserts `null`.
    let paths = doc.get_mut("paths").and_then(Value::as_object_mut);
    for (path, item) in paths.into_iter().flatten() {
        let Some(resource) = F::resource(path) else {
            continue;
        };
        for (method, op) in item.as_object_mut().into_iter().flatten() {
            let (header, status, response) = match method.as_str() {
                "get" => (
                    "If-None-Match",
                    "304",
                    json!({"description": "Not Modified: If-None-Match names the current ETag; no body", "headers": {"ETag": tag}}),
                ),
                "patch" | "delete" if resource.write.is_some() => {
                    let mut failed = json!({"description": "Precondition Failed: If-Match names no current ETag of a GET of this path"});
                    if let Some(content) = op.pointer("/responses/default/content") {
                        failed["content"] = content.clone();
                    }
                    ("If-Match", "412", failed)
                }
                _ => continue,
            };
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            if let Some(ok) = op
                .get_mut("responses")
                .and_then(|r| r.get_mut("200"))
                .and_then(Value::as_object_mut)
                && method == "get"
            {
                ok.insert("headers".into(), json!({"ETag": tag}));
            }
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                responses.insert(status.into(), response);
            }
            let parameter = json!({"name": header, "in": "header", "required": false,
                "description": "An ETag from a GET of this path (`W/\"…\"`)", "schema": {"type": "string"}});
            match op.get_mut("parameters").and_then(Value::as_array_mut) {
                Some(list) => list.push(parameter),
                None => {
                    op.insert("parameters".into(), json!([parameter]));
                }
            }
        }
    }
}

/// The `ETag` header of a validator: always weak (see the module's notes).
fn entity_tag(v: &Validator) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("W/\"{}\"", v.text)).ok()
}

/// `304 Not Modified`: the validator, no body.
fn not_modified(etag: HeaderValue) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NOT_MODIFIED;
    resp.headers_mut().insert(ETAG, etag);
    resp
}

/// The opaque parts of a list of entity tags (`W/"a", "b"`), weak or not.
fn tags(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').filter_map(|t| {
        let t = t.trim();
        let t = t.strip_prefix("W/").unwrap_or(t);
        t.strip_prefix('"')?.strip_suffix('"')
    })
}

/// The request a validator is of: scheme and host (echoed in Review
/// Board's links), path, and for reads the query, its parameters stably
/// sorted by name (repeated ones keep their order: the last one wins).
fn request_key(parts: &Parts, with_query: bool) -> String {
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or_default()
    };
    let mut key = format!(
        "{}://{}{}?",
        header("x-forwarded-proto"),
        header(HOST.as_str()),
        parts.uri.path()
    );
    if with_query {
        let mut pairs: Vec<(String, String)> =
            form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let start = key.len();
        form_urlencoded::Serializer::for_suffix(&mut key, start).extend_pairs(pairs);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tag_lists_parse_weak_and_strong() {
        let got: Vec<&str> = tags(r#"W/"a.b", "c" , bad, W/"""#).collect();
        assert_eq!(got, ["a.b", "c", ""]);
    }

    #[test]
    fn the_query_is_normalized_but_repeats_keep_their_order() {
        let key = |uri: &str| {
            let req = axum::http::Request::get(uri)
                .header(HOST, "h")
                .body(())
                .expect("request");
            request_key(&req.into_parts().0, true)
        };
        assert_eq!(key("/v1/tokens?b=1&a=2"), key("/v1/tokens?a=2&b=1"));
        assert_ne!(key("/v1/tokens?a=1&a=2"), key("/v1/tokens?a=2&a=1"));
        assert_ne!(key("/v1/tokens?a=1"), key("/v1/clients?a=1"));
        assert_eq!(key("/v1/tokens?b=x%20y&a=1"), "://h/v1/tokens?a=1&b=x+y");
    }
}
