//! Arbitrary REST calls over every dialect's routes, shared by the proptest
//! (tests/rest_properties.rs, in CI) and the cargo-fuzz target
//! (fuzz/fuzz_targets/rest_dialects.rs): the same routes and the same way of
//! turning raw input into a request, so both exercise the same parsing.

use std::sync::LazyLock;

use axum::body::Body;
use http::{Method, Request};

/// (method, path template) of every documented route, read from the
/// service's own OpenAPI document, so a new route is fuzzed without an edit
/// here. Path parameters (`{id}`, `{token_id}`, `{local_site}`, ...) are
/// filled in by [`request`].
pub static ROUTES: LazyLock<Vec<(Method, String)>> = LazyLock::new(|| {
    let doc = oauth_registry::rest::openapi();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (verb, _) in item.as_object().into_iter().flatten() {
            if let Ok(method) = Method::from_bytes(verb.to_ascii_uppercase().as_bytes())
                && method != Method::OPTIONS
            {
                routes.push((method, path.clone()));
            }
        }
    }
    routes.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
    routes
});

/// `template` with every `{parameter}` replaced by `value`.
fn fill(template: &str, value: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => {
                out.push_str(value);
                rest = &rest[open + close + 1..];
            }
            None => {
                rest = &rest[open..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

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
    let path = fill(template, &id);
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
