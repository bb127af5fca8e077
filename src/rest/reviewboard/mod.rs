#![doc = include_str!("../../../docs/dialects/reviewboard.md")]

mod http_semantics;
mod list;
mod resource;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::dialects::{RbError, RbItem, RbListing};
use super::route_errors::own;
use crate::service::Registry;
use list::list_tokens;
use resource::{Fail, SiteCaller, delete_item, get_item, put_item};

pub fn routes() -> OpenApiRouter<Registry> {
    own::<Fail>(
        OpenApiRouter::new()
            .routes(routes!(list))
            .routes(routes!(list_on_site))
            .routes(routes!(item_get, item_put, item_delete))
            .routes(routes!(site_item_get, site_item_put, site_item_delete)),
    )
    .layer(axum::middleware::from_fn(http_semantics::djblets_headers))
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

/// List the OAuth2 tokens on a local site (the key's organization).
#[utoipa::path(
    get,
    path = "/s/{local_site}/api/oauth-tokens/",
    tag = "reviewboard",
    operation_id = "ReviewBoardListSiteTokens",
    params(("local_site" = String, Path, description = "The organization's id or name"), ListQuery),
    responses(
        (status = 200, body = RbListing, content_type = "application/vnd.reviewboard.org.oauth-tokens+json"),
        (status = 304, description = "Not modified: If-None-Match matched the ETag"),
        (status = 401, description = "103: no or bad API key", body = RbError),
        (status = 403, description = "101, 112 or 113", body = RbError),
    ),
    security(("rbToken" = []), ("bearer" = []))
)]
async fn list_on_site(
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
        (status = 400, description = "105: bad parameters", body = RbError),
        (status = 401, description = "103: no or bad API key", body = RbError),
        (status = 403, description = "101, 112 or 113", body = RbError),
        (status = 404, description = "100: no such token", body = RbError),
    ),
    security(("rbToken" = []), ("bearer" = []))
)]
async fn item_get(
    c: SiteCaller,
    State(r): State<Registry>,
    h: HeaderMap,
    Path(id): Path<String>,
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
        (status = 400, description = "105: bad parameters", body = RbError),
        (status = 401, description = "103: no or bad API key", body = RbError),
        (status = 403, description = "101, 112 or 113", body = RbError),
        (status = 404, description = "100: no such token", body = RbError),
    ),
    security(("rbToken" = []), ("bearer" = []))
)]
async fn item_put(
    c: SiteCaller,
    State(r): State<Registry>,
    h: HeaderMap,
    Path(id): Path<String>,
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
        (status = 400, description = "105: bad parameters", body = RbError),
        (status = 401, description = "103: no or bad API key", body = RbError),
        (status = 403, description = "101, 112 or 113", body = RbError),
        (status = 404, description = "100: no such token", body = RbError),
    ),
    security(("rbToken" = []), ("bearer" = []))
)]
async fn item_delete(
    c: SiteCaller,
    State(r): State<Registry>,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    delete_item(c, r, id).await
}

/// One token on a local site.
#[utoipa::path(
    get,
    path = "/s/{local_site}/api/oauth-tokens/{token_id}/",
    tag = "reviewboard",
    operation_id = "ReviewBoardGetSiteToken",
    params(("local_site" = String, Path), ("token_id" = String, Path)),
    responses(
        (status = 200, body = RbItem, content_type = "application/vnd.reviewboard.org.oauth-token+json"),
        (status = 304, description = "Not modified: If-None-Match matched the ETag"),
        (status = 400, description = "105: bad parameters", body = RbError),
        (status = 401, description = "103: no or bad API key", body = RbError),
        (status = 403, description = "101, 112 or 113", body = RbError),
        (status = 404, description = "100: no such token", body = RbError),
    ),
    security(("rbToken" = []), ("bearer" = []))
)]
async fn site_item_get(
    c: SiteCaller,
    State(r): State<Registry>,
    h: HeaderMap,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, Fail> {
    get_item(c, r, h, id).await
}

/// Change or revoke a token on a local site.
#[utoipa::path(
    put,
    path = "/s/{local_site}/api/oauth-tokens/{token_id}/",
    tag = "reviewboard",
    operation_id = "ReviewBoardUpdateSiteToken",
    params(("local_site" = String, Path), ("token_id" = String, Path)),
    request_body(content = PutForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = RbItem, content_type = "application/vnd.reviewboard.org.oauth-token+json"),
        (status = 400, description = "105: bad parameters", body = RbError),
        (status = 401, description = "103: no or bad API key", body = RbError),
        (status = 403, description = "101, 112 or 113", body = RbError),
        (status = 404, description = "100: no such token", body = RbError),
    ),
    security(("rbToken" = []), ("bearer" = []))
)]
async fn site_item_put(
    c: SiteCaller,
    State(r): State<Registry>,
    h: HeaderMap,
    Path((_, id)): Path<(String, String)>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    put_item(c, r, h, id, b).await
}

/// Delete a token on a local site.
#[utoipa::path(
    delete,
    path = "/s/{local_site}/api/oauth-tokens/{token_id}/",
    tag = "reviewboard",
    operation_id = "ReviewBoardDeleteSiteToken",
    params(("local_site" = String, Path), ("token_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "105: bad parameters", body = RbError),
        (status = 401, description = "103: no or bad API key", body = RbError),
        (status = 403, description = "101, 112 or 113", body = RbError),
        (status = 404, description = "100: no such token", body = RbError),
    ),
    security(("rbToken" = []), ("bearer" = []))
)]
async fn site_item_delete(
    c: SiteCaller,
    State(r): State<Registry>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, Fail> {
    delete_item(c, r, id).await
}
