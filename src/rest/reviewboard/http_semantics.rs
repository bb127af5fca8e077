//! The HTTP around Review Board's bodies, as djblets sends it: `Vary:
//! Accept, Cookie` on every answer, `WWW-Authenticate` with error 103 (not
//! logged in), and an `ETag` on every successful GET, with `304 Not
//! Modified` (and no body) when the request's `If-None-Match` names it.
//! The ETag is the core's validator (`rest::conditional`): it changes when
//! anything in the organization is written, so a `304` costs one version
//! read instead of the listing.

use axum::extract::Request;
use axum::http::header::{VARY, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::resource::Fail;
use crate::domain::auth::Permission;
use crate::rest::conditional::{Conditional, Resource};

pub(super) async fn djblets_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    headers.insert(VARY, HeaderValue::from_static("Accept, Cookie"));
    if resp.status() == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Web API\""),
        );
    }
    resp
}

/// The token list and items, on a local site or not, have validators.
/// Their answers show no status (only `expires`), so the clock does not
/// move them; Review Board has no `If-Match`.
impl Conditional for Fail {
    fn resource(path: &str) -> Option<Resource> {
        let path = match path.strip_prefix("/s/") {
            Some(rest) => &rest[rest.find('/')?..],
            None => path,
        };
        let rest = path.strip_prefix("/api/oauth-tokens/")?;
        let one = rest
            .strip_suffix('/')
            .is_some_and(|id| !id.is_empty() && !id.contains('/'));
        (rest.is_empty() || one).then_some(Resource {
            read: Permission::TokensRead,
            write: None,
            clock: false,
            // The listing (and its count) is read at a version the core
            // notes; one token's GET is not.
            listing: rest.is_empty(),
            // Links, `expires` and the data: nothing of the moment.
            reusable: true,
        })
    }

    fn precondition_failed(_: &str) -> Response {
        StatusCode::PRECONDITION_FAILED.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_and_items_have_validators() {
        for path in [
            "/api/oauth-tokens/",
            "/api/oauth-tokens/t1/",
            "/s/acme/api/oauth-tokens/",
            "/s/acme/api/oauth-tokens/t1/",
        ] {
            assert!(Fail::resource(path).is_some(), "{path}");
        }
        for path in ["/api/oauth-tokens/t1", "/api/oauth-tokens/a/b/", "/s/acme"] {
            assert!(Fail::resource(path).is_none(), "{path}");
        }
    }
}
