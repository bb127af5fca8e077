//! Arbitrary REST calls over every dialect's routes, shared by the proptest
//! (tests/rest_properties.rs, in CI) and the cargo-fuzz target
//! (fuzz/fuzz_targets/rest_dialects.rs): the same routes and the same way of
//! turning raw input into a request, so both exercise the same parsing.

use axum::body::Body;
use http::{Method, Request};

/// (method, path with `{id}` for a resource id) for every dialect's route.
pub const ROUTES: &[(Method, &str)] = &[
    // canonical /v1 (protobuf JSON mapping)
    (Method::GET, "/v1/tokens"),
    (Method::POST, "/v1/tokens"),
    (Method::GET, "/v1/tokens:count"),
    (Method::GET, "/v1/tokens/{id}"),
    (Method::PATCH, "/v1/tokens/{id}"),
    (Method::DELETE, "/v1/tokens/{id}"),
    (Method::POST, "/v1/tokens/{id}:revoke"),
    (Method::GET, "/v1/clients"),
    (Method::POST, "/v1/clients"),
    (Method::GET, "/v1/clients/{id}"),
    (Method::PATCH, "/v1/clients/{id}"),
    // Review Board
    (Method::GET, "/api/oauth-tokens/"),
    (Method::GET, "/api/oauth-tokens/{id}/"),
    (Method::PUT, "/api/oauth-tokens/{id}/"),
    (Method::DELETE, "/api/oauth-tokens/{id}/"),
    (Method::GET, "/s/{id}/api/oauth-tokens/"),
    // Losant
    (Method::GET, "/me/oauth-tokens"),
    (Method::POST, "/me/oauth-tokens"),
    // SlashID
    (Method::GET, "/oauth2/clients"),
    // Siro
    (Method::GET, "/v1/core/oauth/apps/{id}/access-token"),
];

pub const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=x",
];

/// One call, as raw as a fuzzer or a strategy produces it.
#[derive(Debug, Clone)]
pub struct RawCall {
    pub route: usize,
    /// 0: a real token id, 1: a real client id, else `segment`.
    pub id: u8,
    pub segment: String,
    pub query: String,
    pub content_type: usize,
    /// Review Board's auth scheme (`token`) instead of `Bearer`.
    pub rb_auth: bool,
    pub body: Vec<u8>,
}

/// Ids that exist in the fixture, so calls reach past "not found".
pub struct Known<'a> {
    pub key: &'a str,
    pub token_id: &'a str,
    pub client_id: &'a str,
}

/// Percent-encodes what a URI may not hold as is, keeping `%` so malformed
/// escapes reach the parsers too.
fn escape(s: &str, keep: &[u8]) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~%".contains(&b) || keep.contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The request for `call`, or None when no valid URI can carry it.
pub fn request(call: &RawCall, known: &Known<'_>) -> Option<Request<Body>> {
    let (method, template) = &ROUTES[call.route % ROUTES.len()];
    let id = match call.id {
        0 => known.token_id.to_owned(),
        1 => known.client_id.to_owned(),
        _ => escape(&call.segment, b":"),
    };
    let path = template.replace("{id}", &id);
    let uri: http::Uri = format!("{path}?{}", escape(&call.query, b"=&+,:"))
        .parse()
        .ok()?;
    let scheme = if call.rb_auth { "token" } else { "Bearer" };
    Request::builder()
        .method(method.clone())
        .uri(uri)
        .header("authorization", format!("{scheme} {}", known.key))
        .header(
            "content-type",
            CONTENT_TYPES[call.content_type % CONTENT_TYPES.len()],
        )
        .body(Body::from(call.body.clone()))
        .ok()
}
