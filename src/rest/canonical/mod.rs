#![doc = include_str!("../../../docs/dialects/canonical.md")]

mod incident;
mod json;
pub(super) mod methods;
mod preconditions;
mod transcode;
mod watch;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use tonic::Status;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::openapi::{RpcStatus, proto};
use super::params::Params;
use super::route_errors::own;
use crate::grpc::pb::client_service_server::ClientService;
use crate::grpc::pb::token_service_server::TokenService;
use crate::grpc::{ClientApi, TokenApi, pb};
use crate::service::Registry;
pub(super) use transcode::Fail;
use transcode::{body, boolean, grpc, int, respond, text, update_mask};

pub fn routes() -> OpenApiRouter<Registry> {
    own::<Fail>(
        OpenApiRouter::new()
            .routes(routes!(list_tokens, create_token))
            .routes(routes!(count_tokens))
            .routes(routes!(get_token, update_token, delete_token, token_action))
            .routes(routes!(list_clients, create_client))
            .routes(routes!(get_client, update_client, delete_client))
            .merge(watch::routes())
            .merge(incident::routes()),
    )
    .layer(axum::middleware::from_fn(
        super::conditional::conditional::<Fail>,
    ))
    .layer(axum::middleware::from_fn(methods::allowed_methods))
}

/// Query parameters of the List methods (AIP-132/158).
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[expect(dead_code, reason = "describes parameters read by transcode")]
struct ListQuery {
    /// Items per page: 0 or absent means 50; above 1000 is 1000 (AIP-158).
    #[param(minimum = 0)]
    page_size: Option<i32>,
    /// `nextPageToken` of the previous page.
    page_token: Option<String>,
    /// AIP-160 subset, e.g. `user_id = "alice" AND status = ACTIVE`.
    #[param(max_length = 4096)]
    filter: Option<String>,
    /// One field and `asc`/`desc`; default `create_time desc`.
    order_by: Option<String>,
    /// Rows to skip (offset mode; exclusive with pageToken and pageNumber);
    /// deeper than 10,000,000 needs page tokens.
    #[param(minimum = 0, maximum = 10_000_000)]
    skip: Option<i32>,
    /// 1-based page number (exclusive with pageToken and skip); 0 or
    /// absent means not set.
    #[param(minimum = 0)]
    page_number: Option<i32>,
    /// Fill `totalSize` (costs a count).
    include_total_size: Option<bool>,
}

/// The `filter` of CountTokens.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "describes parameters read by transcode")]
struct CountQuery {
    /// The same filter language as ListTokens.
    #[param(max_length = 4096)]
    filter: Option<String>,
}

/// The field mask of the Update methods.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[expect(dead_code, reason = "describes parameters read by transcode")]
struct UpdateQuery {
    /// Comma-separated fields to update (`name,expireTime`); empty means the
    /// fields set in the body, `*` means all.
    update_mask: Option<String>,
}

/// DeleteClient's `force`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "describes parameters read by transcode")]
struct DeleteQuery {
    /// Also delete the client's tokens (otherwise a client with tokens is
    /// FAILED_PRECONDITION).
    force: Option<bool>,
    /// The client's `etag` as last read (AIP-154): delete only if it is
    /// unchanged, else 400 FAILED_PRECONDITION.
    etag: Option<String>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "describes parameters read by transcode")]
struct DeleteTokenQuery {
    /// The token's `etag` as last read (AIP-154): delete only if it is
    /// unchanged, else 400 FAILED_PRECONDITION.
    etag: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/tokens",
    tag = "canonical",
    operation_id = "ListTokens",
    params(ListQuery),
    responses((status = 200, body = proto::ListTokensResponse), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn list_tokens(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    q: RawQuery,
) -> Result<Response, Fail> {
    let p = Params::new(q);
    let msg = pb::ListTokensRequest {
        page_size: int(&p, "pageSize", "page_size")?,
        page_token: text(&p, "pageToken", "page_token"),
        filter: text(&p, "filter", "filter"),
        order_by: text(&p, "orderBy", "order_by"),
        skip: int(&p, "skip", "skip")?,
        page_number: int(&p, "pageNumber", "page_number")?,
        include_total_size: boolean(&p, "includeTotalSize", "include_total_size")?,
    };
    respond(TokenApi::new(r).list_tokens(grpc(caller, msg)).await?)
}

#[utoipa::path(
    get,
    path = "/v1/tokens:count",
    tag = "canonical",
    operation_id = "CountTokens",
    params(CountQuery),
    responses((status = 200, body = proto::CountTokensResponse), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn count_tokens(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    q: RawQuery,
) -> Result<Response, Fail> {
    let p = Params::new(q);
    let msg = pb::CountTokensRequest {
        filter: text(&p, "filter", "filter"),
    };
    respond(TokenApi::new(r).count_tokens(grpc(caller, msg)).await?)
}

#[utoipa::path(
    get,
    path = "/v1/tokens/{id}",
    tag = "canonical",
    operation_id = "GetToken",
    params(("id" = String, Path)),
    responses((status = 200, body = proto::Token), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn get_token(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    respond(
        TokenApi::new(r)
            .get_token(grpc(caller, pb::GetTokenRequest { id }))
            .await?,
    )
}

#[utoipa::path(
    post,
    path = "/v1/tokens",
    tag = "canonical",
    operation_id = "CreateToken",
    request_body = proto::Token,
    responses((status = 200, body = proto::CreateTokenResponse, description = "The token, with its secret (shown once)"), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn create_token(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let token: pb::Token = body(bytes)?;
    let msg = pb::CreateTokenRequest { token: Some(token) };
    respond(TokenApi::new(r).create_token(grpc(caller, msg)).await?)
}

#[utoipa::path(
    patch,
    path = "/v1/tokens/{id}",
    tag = "canonical",
    operation_id = "UpdateToken",
    params(("id" = String, Path), UpdateQuery),
    request_body = proto::Token,
    responses((status = 200, body = proto::Token), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn update_token(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    Path(id): Path<String>,
    q: RawQuery,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let mut token: pb::Token = body(bytes)?;
    token.id = id;
    let msg = pb::UpdateTokenRequest {
        token: Some(token),
        update_mask: update_mask(&Params::new(q)),
    };
    respond(TokenApi::new(r).update_token(grpc(caller, msg)).await?)
}

/// `POST /v1/tokens/{id}:revoke` (custom method, AIP-136); documented at
/// that path by [`super::openapi::finish`].
#[utoipa::path(
    post,
    path = "/v1/tokens/{id}",
    tag = "canonical",
    operation_id = "RevokeToken",
    params(("id" = String, Path)),
    responses((status = 200, body = proto::Token, description = "The revoked token (idempotent)"), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn token_action(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    Path(name): Path<String>,
) -> Result<Response, Fail> {
    match name.split_once(':') {
        Some((id, "revoke")) => {
            let msg = pb::RevokeTokenRequest { id: id.to_owned() };
            respond(TokenApi::new(r).revoke_token(grpc(caller, msg)).await?)
        }
        _ => Err(Fail::from(Status::not_found(format!(
            "no method POST /v1/tokens/{}",
            crate::domain::error::clip(&name)
        )))),
    }
}

#[utoipa::path(
    delete,
    path = "/v1/tokens/{id}",
    tag = "canonical",
    operation_id = "DeleteToken",
    params(("id" = String, Path), DeleteTokenQuery),
    responses((status = 200, description = "Deleted: `{}`", content_type = "application/json"), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn delete_token(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    Path(id): Path<String>,
    q: RawQuery,
) -> Result<Response, Fail> {
    let etag = text(&Params::new(q), "etag", "etag");
    respond(
        TokenApi::new(r)
            .delete_token(grpc(caller, pb::DeleteTokenRequest { id, etag }))
            .await?,
    )
}

#[utoipa::path(
    get,
    path = "/v1/clients",
    tag = "canonical",
    operation_id = "ListClients",
    params(ListQuery),
    responses((status = 200, body = proto::ListClientsResponse), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn list_clients(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    q: RawQuery,
) -> Result<Response, Fail> {
    let p = Params::new(q);
    let msg = pb::ListClientsRequest {
        page_size: int(&p, "pageSize", "page_size")?,
        page_token: text(&p, "pageToken", "page_token"),
        filter: text(&p, "filter", "filter"),
        order_by: text(&p, "orderBy", "order_by"),
        skip: int(&p, "skip", "skip")?,
        page_number: int(&p, "pageNumber", "page_number")?,
        include_total_size: boolean(&p, "includeTotalSize", "include_total_size")?,
    };
    respond(ClientApi::new(r).list_clients(grpc(caller, msg)).await?)
}

#[utoipa::path(
    get,
    path = "/v1/clients/{id}",
    tag = "canonical",
    operation_id = "GetClient",
    params(("id" = String, Path)),
    responses((status = 200, body = proto::Client), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn get_client(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    Path(client_id): Path<String>,
) -> Result<Response, Fail> {
    respond(
        ClientApi::new(r)
            .get_client(grpc(caller, pb::GetClientRequest { client_id }))
            .await?,
    )
}

#[utoipa::path(
    post,
    path = "/v1/clients",
    tag = "canonical",
    operation_id = "CreateClient",
    request_body = proto::Client,
    responses((status = 200, body = proto::CreateClientResponse, description = "The client, with its secret (shown once)"), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn create_client(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let client: pb::Client = body(bytes)?;
    let msg = pb::CreateClientRequest {
        client: Some(client),
    };
    respond(ClientApi::new(r).create_client(grpc(caller, msg)).await?)
}

#[utoipa::path(
    patch,
    path = "/v1/clients/{id}",
    tag = "canonical",
    operation_id = "UpdateClient",
    params(("id" = String, Path), UpdateQuery),
    request_body = proto::Client,
    responses((status = 200, body = proto::Client), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn update_client(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    Path(client_id): Path<String>,
    q: RawQuery,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let mut client: pb::Client = body(bytes)?;
    client.client_id = client_id;
    let msg = pb::UpdateClientRequest {
        client: Some(client),
        update_mask: update_mask(&Params::new(q)),
    };
    respond(ClientApi::new(r).update_client(grpc(caller, msg)).await?)
}

#[utoipa::path(
    delete,
    path = "/v1/clients/{id}",
    tag = "canonical",
    operation_id = "DeleteClient",
    params(("id" = String, Path), DeleteQuery),
    responses((status = 200, description = "Deleted: `{}`", content_type = "application/json"), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn delete_client(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    Path(client_id): Path<String>,
    q: RawQuery,
) -> Result<Response, Fail> {
    let p = Params::new(q);
    let force = boolean(&p, "force", "force")?;
    let etag = text(&p, "etag", "etag");
    let msg = pb::DeleteClientRequest {
        client_id,
        force,
        etag,
    };
    respond(ClientApi::new(r).delete_client(grpc(caller, msg)).await?)
}
