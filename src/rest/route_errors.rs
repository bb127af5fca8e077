//! Errors the router makes rather than a handler: no route for the path, a
//! method the route does not have, an extractor's rejection (a path segment
//! that is not UTF-8, say). axum words these as plain text; a client of a
//! dialect should only ever have to parse that dialect's error body. So
//! each dialect says how it words them ([`RouteErrors`]) and wraps its own
//! router with [`own`], which answers the paths under its prefixes that no
//! route matches and rewords axum's plain responses on its routes. This
//! module knows no dialect; `rest/mod.rs` only picks the words for paths
//! that belong to none.

use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{StatusCode, Uri};
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use axum::routing::any;
use utoipa_axum::router::OpenApiRouter;

use crate::service::Registry;

/// How a dialect words a routing error.
pub trait RouteErrors: Send + 'static {
    /// The path prefixes the dialect owns (`/api/`): unknown paths under
    /// them get its 404.
    const PREFIXES: &'static [&'static str];

    /// The dialect's error body for `status` and axum's `message`, on `path`.
    fn route_error(status: StatusCode, message: &str, path: &str) -> Response;
}

/// `router` with `D`'s routing errors: catch-alls for its prefixes (they
/// rank below every real route, so they only see unknown paths; they are
/// not documented) and the rewording layer.
pub fn own<D: RouteErrors>(router: OpenApiRouter<Registry>) -> OpenApiRouter<Registry> {
    D::PREFIXES
        .iter()
        .fold(router, |r, prefix| {
            // A catch-all needs one character at least: the bare prefix too.
            r.route(prefix, any(no_route::<D>))
                .route(&format!("{prefix}{{*rest}}"), any(no_route::<D>))
        })
        .layer(from_fn(reword::<D>))
}

/// A 404 in `D`'s words.
pub async fn no_route<D: RouteErrors>(uri: Uri) -> Response {
    D::route_error(StatusCode::NOT_FOUND, "no such route", uri.path())
}

/// Rewrites axum's own client errors (plain text, or no body at all, as its
/// 405) into `D`'s error body, keeping their status and headers (`Allow`).
/// Handlers' errors are JSON already and pass untouched.
async fn reword<D: RouteErrors>(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let plain = match resp.headers().get(CONTENT_TYPE) {
        None => true,
        Some(v) => v.as_bytes().starts_with(b"text/plain"),
    };
    if !(plain && resp.status().is_client_error()) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let message = match (text.trim(), parts.status) {
        ("", StatusCode::METHOD_NOT_ALLOWED) => "method not allowed on this route",
        ("", StatusCode::NOT_FOUND) => "no such route",
        (t, _) => t,
    };
    let mut reworded = D::route_error(parts.status, message, &path);
    parts.headers.remove(CONTENT_TYPE);
    parts.headers.remove(CONTENT_LENGTH);
    for (name, value) in parts.headers.drain().filter_map(|(n, v)| Some((n?, v))) {
        reworded.headers_mut().entry(name).or_insert(value);
    }
    reworded
}
