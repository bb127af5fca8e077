//! `GET /openapi.json`: the OpenAPI 3.1 document of every REST route. It is
//! assembled from the code that serves the routes: each handler carries its
//! `#[utoipa::path]`, and the router is built from those same annotations
//! (utoipa-axum), so a route cannot be served without being documented. The
//! canonical bodies' schemas come from the protobuf descriptors (`proto`).

mod constraints;

pub use constraints::apply as constrain;
pub mod dialects;
pub mod proto;

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, PathItem, RefOr};
use utoipa::{Modify, ToSchema};

/// The top of the document; paths and schemas are added by the routers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "oauth-registry REST gateway",
        description = "The canonical JSON API (the protobuf JSON mapping of \
            oauth_registry.v1, as grpcurl prints it) and the Siro, SlashID, \
            Review Board and Losant dialects, all over the same core.",
        license(name = "MIT OR Apache-2.0"),
    ),
    modifiers(&Security),
    tags(
        (name = "canonical", description = "oauth_registry.v1 over HTTP/JSON"),
        (name = "siro", description = "Siro: list an OAuth app's access tokens"),
        (name = "slashid", description = "SlashID: list OAuth 2.0 clients"),
        (name = "reviewboard", description = "Review Board: OAuth2 token resources"),
        (name = "losant", description = "Losant: the user's OAuth tokens"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

/// The three ways a request can carry an API key.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`Authorization: Bearer <api key>`"))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "rbToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "Review Board's `Authorization: token <api key>`",
            ))),
        );
        c.add_security_scheme(
            "slashidKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("SlashID-API-Key"))),
        );
    }
}

/// The canonical error body: `google.rpc.Status` in JSON.
#[derive(ToSchema)]
#[schema(as = Status)]
#[expect(dead_code, reason = "describes a body built from tonic::Status")]
pub struct RpcStatus {
    /// The gRPC status code (3 = INVALID_ARGUMENT, 5 = NOT_FOUND, ...).
    code: i32,
    message: String,
    /// `google.rpc.BadRequest` with `fieldViolations[{field, description}]`
    /// when input was invalid.
    details: Vec<serde_json::Value>,
}

/// Where `POST /v1/tokens/{id}` is documented: the router matches the whole
/// `{id}:revoke` segment (axum cannot split a segment), the document shows
/// the custom method as clients call it (AIP-136).
pub const REVOKE_ROUTE: &str = "/v1/tokens/{id}";
const REVOKE_PATH: &str = "/v1/tokens/{id}:revoke";

/// Final touches on the generated document: the custom method's path, and
/// the HTTP reason phrase as the description of any response without one
/// (OpenAPI requires a description).
pub fn finish(doc: &mut OpenApi) {
    if let Some(item) = doc.paths.paths.get_mut(REVOKE_ROUTE)
        && let Some(post) = item.post.take()
    {
        let mut revoke = PathItem::default();
        revoke.post = Some(post);
        doc.paths.paths.insert(REVOKE_PATH.to_owned(), revoke);
    }
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(r) = response
                    && r.description.is_empty()
                {
                    r.description = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Response")
                        .to_owned();
                }
            }
        }
    }
}

static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| serde_json::to_string_pretty(&super::openapi()).unwrap_or_default());

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    operation_id = "OpenApi",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT.as_str())
}
