//! Which methods a canonical resource path allows. A custom method (AIP-136,
//! `POST /v1/tokens/{id}:revoke`) shares its path pattern with the token
//! itself, so the router alone would advertise POST on `/v1/tokens/{id}`
//! and GET on `…:revoke`. Here the path's shape decides: an action path
//! allows POST only; a token path GET, PATCH and DELETE; the watch streams
//! (`/v1/tokens:watch`, `/v1/clients:watch`) GET only. Other methods get
//! 405 with the right `Allow`, and OPTIONS a 204 with it.

use axum::extract::Request;
use axum::http::header::ALLOW;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Fail;
use crate::rest::route_errors::RouteErrors;

pub(super) async fn allowed_methods(req: Request, next: Next) -> Response {
    let Some(allowed) = allowed_on(req.uri().path()) else {
        return next.run(req).await;
    };
    let allow = HeaderValue::from_static(allowed.header);
    if req.method() == Method::OPTIONS {
        return (StatusCode::NO_CONTENT, [(ALLOW, allow)]).into_response();
    }
    let mut resp = if allowed.methods.contains(req.method()) {
        next.run(req).await
    } else {
        Fail::route_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this route",
            req.uri().path(),
        )
    };
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED || resp.headers().contains_key(ALLOW) {
        resp.headers_mut().insert(ALLOW, allow);
    }
    resp
}

struct Allowed {
    methods: &'static [Method],
    header: &'static str,
}

const ACTION: Allowed = Allowed {
    methods: &[Method::POST],
    header: "POST",
};
const RESOURCE: Allowed = Allowed {
    methods: &[Method::GET, Method::PATCH, Method::DELETE],
    header: "GET, PATCH, DELETE",
};
const WATCH: Allowed = Allowed {
    methods: &[Method::GET],
    header: "GET",
};

/// The methods of `/v1/tokens/{id}`, `/v1/tokens/{id}:action`,
/// `/v1/clients/{id}` and the watch streams; `None` for every other path.
fn allowed_on(path: &str) -> Option<&'static Allowed> {
    if matches!(path, "/v1/tokens:watch" | "/v1/clients:watch") {
        return Some(&WATCH);
    }
    let (collection, name) = path
        .strip_prefix("/v1/tokens/")
        .map(|n| ("tokens", n))
        .or_else(|| path.strip_prefix("/v1/clients/").map(|n| ("clients", n)))?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    Some(match (collection, name.contains(':')) {
        ("tokens", true) => &ACTION,
        _ => &RESOURCE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_shape_decides() {
        assert_eq!(
            allowed_on("/v1/tokens/abc").map(|a| a.header),
            Some(RESOURCE.header)
        );
        assert_eq!(
            allowed_on("/v1/tokens/abc:revoke").map(|a| a.header),
            Some("POST")
        );
        assert_eq!(
            allowed_on("/v1/clients/abc").map(|a| a.header),
            Some(RESOURCE.header)
        );
        assert_eq!(
            allowed_on("/v1/tokens:watch").map(|a| a.header),
            Some("GET")
        );
        assert_eq!(
            allowed_on("/v1/clients:watch").map(|a| a.header),
            Some("GET")
        );
        assert!(allowed_on("/v1/tokens").is_none());
        assert!(allowed_on("/v1/tokens:count").is_none());
        assert!(allowed_on("/v1/tokens/a/b").is_none());
    }
}
