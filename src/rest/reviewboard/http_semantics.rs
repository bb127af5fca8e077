//! The HTTP around Review Board's bodies, as djblets sends it: `Vary:
//! Accept, Cookie` on every answer, `WWW-Authenticate` with error 103 (not
//! logged in), and an `ETag` on every successful GET, with `304 Not
//! Modified` (and no body) when the request's `If-None-Match` names it.
//! The ETag is a hash of the body, so it changes exactly when the answer
//! does.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ETAG, IF_NONE_MATCH, VARY, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Bodies larger than this are passed through without an ETag (answers
/// here are at most a few hundred KiB: 200 items).
const MAX_HASHED: usize = 4 * 1024 * 1024;

pub(super) async fn djblets_headers(req: Request, next: Next) -> Response {
    let conditional = (req.method() == Method::GET)
        .then(|| req.headers().get(IF_NONE_MATCH).cloned())
        .flatten();
    let is_get = req.method() == Method::GET;
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    headers.insert(VARY, HeaderValue::from_static("Accept, Cookie"));
    if resp.status() == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Web API\""),
        );
    }
    if !is_get || resp.status() != StatusCode::OK {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_HASHED).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let digest = Sha256::digest(&bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{hex}\"");
    if let Ok(value) = HeaderValue::from_str(&etag) {
        parts.headers.insert(ETAG, value);
    }
    let matched = conditional
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        });
    if matched {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(axum::http::header::CONTENT_TYPE);
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}
