#![doc = include_str!("../../../docs/dialects/reviewboard.md")]

mod body;
mod fail;
mod http_semantics;
mod list;
mod resource;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::get;
use utoipa::IntoParams;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::dialects::{RbError, RbItem, RbListing};
use super::route_errors::own;
use crate::service::Registry;
use list::list_tokens;
use resource::{Fail, SiteCaller, delete_item, get_item, put_item};

pub fn routes() -> OpenApiRouter<Registry> {
    own::<Fail>(
        OpenApiRouter::with_openapi(Schemas::openapi())
            .routes(routes!(list))
            .routes(routes!(item_get, item_put, item_delete))
            // The same resources on a local site: the same handlers, and
            // the same documentation (`local_sites` copies it).
            .route(SITE_LIST, get(list))
            .route(SITE_ITEM, get(item_get).put(item_put).delete(item_delete)),
    )
    .layer(axum::middleware::from_fn(
        super::conditional::conditional::<Fail>,
    ))
    .layer(axum::middleware::from_fn(http_semantics::djblets_headers))
}

/// The errors of an item route, in the order Review Board checks.
/// The error bodies `ItemErrors` refers to, for the document's components.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(RbError)))]
struct Schemas;

#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "describes the responses Fail builds")]
enum ItemErrors {
    /// 105: bad parameters
    #[response(status = 400)]
    BadParameters(RbError),
    /// 103: no or bad API key
    #[response(status = 401)]
    NotLoggedIn(RbError),
    /// 101, 112 or 113
    #[response(status = 403)]
    Forbidden(RbError),
    /// 100: no such token
    #[response(status = 404)]
    NoSuchToken(RbError),
}

/// Where a local site's copies of the routes are.
const SITE_LIST: &str = "/s/{local_site}/api/oauth-tokens/";
const SITE_ITEM: &str = "/s/{local_site}/api/oauth-tokens/{token_id}/";

/// The token of an item route, on a local site or not (`SiteCaller` reads
/// the site).
#[derive(serde::Deserialize)]
struct TokenPath {
    token_id: String,
}

/// Documents the local-site routes: each `/api/oauth-tokens/...` operation
/// again under `/s/{local_site}`, with the site parameter, and `Site` in its
/// operation id (`ReviewBoardGetSiteToken`).
pub(in crate::rest) fn local_sites(doc: &mut serde_json::Value) {
    let Some(paths) = doc
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    let site = serde_json::json!({"name": "local_site", "in": "path", "required": true,
        "description": "The organization's id or name", "schema": {"type": "string"}});
    let copies: Vec<(String, serde_json::Value)> = paths
        .iter()
        .filter(|(path, _)| path.starts_with("/api/"))
        .map(|(path, item)| {
            let mut item = item.clone();
            for op in item.as_object_mut().into_iter().flatten().map(|(_, op)| op) {
                if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                    op["operationId"] = id.replacen("Token", "SiteToken", 1).into();
                }
                let mut parameters = vec![site.clone()];
                if let Some(serde_json::Value::Array(rest)) = op.get("parameters") {
                    parameters.extend(rest.iter().cloned());
                }
                op["parameters"] = parameters.into();
            }
            (format!("/s/{{local_site}}{path}"), item)
        })
        .collect();
    paths.extend(copies);
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "describes parameters read from the raw query")]
struct ListQuery {
    /// 0-based index of the first result. As in Review Board, a value that
    /// is not an integer means 0, a negative one is 0, and one past the end
    /// gives an empty page.
    start: Option<String>,
    /// Default 25 (also for a value that is not an integer); above 200 is
    /// silently 200; 0 or less gives an empty page.
    #[param(rename = "max-results")]
    max_results: Option<String>,
    /// Any non-empty value: answer only `{"count", "stat"}`.
    #[param(rename = "counts-only")]
    counts_only: Option<String>,
}

/// The PUT fields (form-encoded or JSON).
#[derive(utoipa::ToSchema)]
#[schema(as = RbPutForm)]
#[expect(dead_code, reason = "describes the body read by put_fields")]
struct PutForm {
    /// Comma-separated scopes (or a JSON list).
    scope: Option<String>,
    /// `false` revokes the token.
    enabled: Option<bool>,
}

/// List the OAuth2 tokens the key may see.
#[utoipa::path(
    get,
    path = "/api/oauth-tokens/",
    tag = "reviewboard",
    operation_id = "ReviewBoardListTokens",
    params(ListQuery),
    responses(
        (status = 200, body = RbListing, content_type = "application/vnd.reviewboard.org.oauth-tokens+json"),
        (status = 304, description = "Not modified: If-None-Match matched the ETag"),
        (status = 401, description = "103: no or bad API key", body = RbError),
        (status = 403, description = "101, 112 or 113", body = RbError),
    ),
    security(("rbToken" = []), ("bearer" = []))
)]
async fn list(
    c: SiteCaller,
    State(r): State<Registry>,
    headers: HeaderMap,
    uri: Uri,
    q: RawQuery,
) -> Result<Response, Fail> {
    list_tokens(c, r, headers, uri, q).await
}

/// One token (owner or superuser).
#[utoipa::path(
    get,
    path = "/api/oauth-tokens/{token_id}/",
    tag = "reviewboard",
    operation_id = "ReviewBoardGetToken",
    params(("token_id" = String, Path)),
    responses(
        (status = 200, body = RbItem, content_type = "application/vnd.reviewboard.org.oauth-token+json"),
        (status = 304, description = "Not modified: If-None-Match matched the ETag"),
        ItemErrors,
    ),
    security(("rbToken" = []), ("bearer" = []))
)]
async fn item_get(
    c: SiteCaller,
    State(r): State<Registry>,
    h: HeaderMap,
    Path(TokenPath { token_id: id }): Path<TokenPath>,
) -> Result<Response, Fail> {
    get_item(c, r, h, id).await
}

/// Change scopes or revoke (`enabled=false`).
#[utoipa::path(
    put,
    path = "/api/oauth-tokens/{token_id}/",
    tag = "reviewboard",
    operation_id = "ReviewBoardUpdateToken",
    params(("token_id" = String, Path)),
    request_body(content = PutForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = RbItem, content_type = "application/vnd.reviewboard.org.oauth-token+json"),
        ItemErrors,
    ),
    security(("rbToken" = []), ("bearer" = []))
)]
async fn item_put(
    c: SiteCaller,
    State(r): State<Registry>,
    h: HeaderMap,
    Path(TokenPath { token_id: id }): Path<TokenPath>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    put_item(c, r, h, id, b).await
}

/// Delete a token.
#[utoipa::path(
    delete,
    path = "/api/oauth-tokens/{token_id}/",
    tag = "reviewboard",
    operation_id = "ReviewBoardDeleteToken",
    params(("token_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        ItemErrors,
    ),
    security(("rbToken" = []), ("bearer" = []))
)]
async fn item_delete(
    c: SiteCaller,
    State(r): State<Registry>,
    Path(TokenPath { token_id: id }): Path<TokenPath>,
) -> Result<Response, Fail> {
    delete_item(c, r, id).await
}
