//! The canonical REST API: the protobuf JSON mapping of `oauth_registry.v1`
//! under `/v1/`, with the same field names grpcurl prints. Each route builds
//! the gRPC request message from the path, query string and body, calls the
//! gRPC service implementation in-process, and writes the response message
//! as JSON, so REST and gRPC share every rule. Errors are `google.rpc.Status`
//! JSON (`code`, `message`, `details` with `BadRequest` field violations)
//! with the HTTP status grpc-gateway uses for each code.
//!
//! | route | RPC |
//! |---|---|
//! | `GET /v1/tokens` | ListTokens (`pageSize`, `pageToken`, `filter`, `orderBy`, `skip`, `pageNumber`, `includeTotalSize`) |
//! | `GET /v1/tokens:count` | CountTokens (`filter`) |
//! | `POST /v1/tokens` | CreateToken (body: Token) |
//! | `GET /v1/tokens/{id}` | GetToken |
//! | `PATCH /v1/tokens/{id}` | UpdateToken (body: Token; `updateMask=a,b`) |
//! | `POST /v1/tokens/{id}:revoke` | RevokeToken |
//! | `DELETE /v1/tokens/{id}` | DeleteToken |
//! | `GET /v1/clients`, `POST /v1/clients` | ListClients, CreateClient |
//! | `GET`/`PATCH`/`DELETE /v1/clients/{id}` | GetClient, UpdateClient, DeleteClient (`force`) |

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::de::DeserializeOwned;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::params::{self, Params};
use crate::domain::Error;
use crate::grpc::pb::client_service_server::ClientService;
use crate::grpc::pb::token_service_server::TokenService;
use crate::grpc::{ClientApi, TokenApi, pb};
use crate::service::Registry;

pub fn routes() -> Router<Registry> {
    Router::new()
        .route("/v1/tokens", get(list_tokens).post(create_token))
        .route("/v1/tokens:count", get(count_tokens))
        .route(
            "/v1/tokens/{id}",
            get(get_token)
                .patch(update_token)
                .delete(delete_token)
                .post(token_action),
        )
        .route("/v1/clients", get(list_clients).post(create_client))
        .route(
            "/v1/clients/{id}",
            get(get_client).patch(update_client).delete(delete_client),
        )
}

/// The HTTP status for a gRPC code (as grpc-gateway maps them).
fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A `tonic::Status` as a `google.rpc.Status` JSON response.
fn error_response(status: &Status) -> Response {
    let mut details = Vec::new();
    if let Some(bad) = status.get_details_bad_request() {
        let violations: Vec<_> = bad
            .field_violations
            .iter()
            .map(|v| serde_json::json!({"field": v.field, "description": v.description}))
            .collect();
        details.push(serde_json::json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": violations,
        }));
    }
    let body = serde_json::json!({
        "code": status.code() as i32,
        "message": status.message(),
        "details": details,
    });
    (http_status(status.code()), Json(body)).into_response()
}

fn respond<T: serde::Serialize>(result: Result<tonic::Response<T>, Status>) -> Response {
    match result {
        Ok(r) => Json(r.into_inner()).into_response(),
        Err(s) => error_response(&s),
    }
}

/// A gRPC request carrying the HTTP request's credentials.
fn grpc<T>(headers: &HeaderMap, msg: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    if let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Ok(v) = v.parse()
    {
        req.metadata_mut().insert("authorization", v);
    }
    req
}

fn invalid(field: &str, why: &str) -> Status {
    Status::from(Error::invalid(field, why))
}

/// A parameter by its JSON name or its proto name (both are accepted).
fn param<'a>(p: &'a Params, json: &str, proto: &str) -> Option<&'a str> {
    p.get(json).or_else(|| p.get(proto))
}

fn int(p: &Params, json: &str, proto: &str) -> Result<i32, Status> {
    param(p, json, proto)
        .map(|v| {
            v.parse::<i32>()
                .map_err(|_| invalid(proto, "must be a 32-bit integer"))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

fn boolean(p: &Params, json: &str, proto: &str) -> Result<bool, Status> {
    match param(p, json, proto) {
        None => Ok(false),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(_) => Err(invalid(proto, "must be true or false")),
    }
}

fn text(p: &Params, json: &str, proto: &str) -> String {
    param(p, json, proto).unwrap_or_default().to_owned()
}

/// The JSON body as a message; an unreadable body is INVALID_ARGUMENT on
/// `body` (HTTP 413 when it is over the size limit, 400 otherwise).
/// The error is boxed: a `Response` is large and this is the cold path.
fn body<T: DeserializeOwned>(bytes: Result<Bytes, BytesRejection>) -> Result<T, Box<Response>> {
    let bytes = params::body(bytes).map_err(|e| {
        let mut resp = error_response(&invalid("body", &e.message));
        *resp.status_mut() = e.status;
        Box::new(resp)
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Box::new(error_response(&invalid(
            "body",
            &format!("not a valid JSON message: {e}"),
        )))
    })
}

fn update_mask(p: &Params) -> Option<pbjson_types::FieldMask> {
    param(p, "updateMask", "update_mask").map(|m| pbjson_types::FieldMask {
        paths: m
            .split(',')
            .filter(|s| !s.is_empty())
            .map(snake_case)
            .collect(),
    })
}

/// `expireTime` → `expire_time` (field masks in JSON use lowerCamelCase).
fn snake_case(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

macro_rules! try_response {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return *r,
        }
    };
}

macro_rules! try_status {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(s) => return error_response(&s),
        }
    };
}

async fn list_tokens(State(r): State<Registry>, headers: HeaderMap, q: RawQuery) -> Response {
    let p = Params::new(q);
    let msg = pb::ListTokensRequest {
        page_size: try_status!(int(&p, "pageSize", "page_size")),
        page_token: text(&p, "pageToken", "page_token"),
        filter: text(&p, "filter", "filter"),
        order_by: text(&p, "orderBy", "order_by"),
        skip: try_status!(int(&p, "skip", "skip")),
        page_number: try_status!(int(&p, "pageNumber", "page_number")),
        include_total_size: try_status!(boolean(&p, "includeTotalSize", "include_total_size")),
    };
    respond(TokenApi::new(r).list_tokens(grpc(&headers, msg)).await)
}

async fn count_tokens(State(r): State<Registry>, headers: HeaderMap, q: RawQuery) -> Response {
    let p = Params::new(q);
    let msg = pb::CountTokensRequest {
        filter: text(&p, "filter", "filter"),
    };
    respond(TokenApi::new(r).count_tokens(grpc(&headers, msg)).await)
}

async fn get_token(
    State(r): State<Registry>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond(
        TokenApi::new(r)
            .get_token(grpc(&headers, pb::GetTokenRequest { id }))
            .await,
    )
}

async fn create_token(
    State(r): State<Registry>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Response {
    let token: pb::Token = try_response!(body(bytes));
    let msg = pb::CreateTokenRequest { token: Some(token) };
    respond(TokenApi::new(r).create_token(grpc(&headers, msg)).await)
}

async fn update_token(
    State(r): State<Registry>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: RawQuery,
    bytes: Result<Bytes, BytesRejection>,
) -> Response {
    let mut token: pb::Token = try_response!(body(bytes));
    token.id = id;
    let msg = pb::UpdateTokenRequest {
        token: Some(token),
        update_mask: update_mask(&Params::new(q)),
    };
    respond(TokenApi::new(r).update_token(grpc(&headers, msg)).await)
}

/// `POST /v1/tokens/{id}:revoke` (custom method, AIP-136).
async fn token_action(
    State(r): State<Registry>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    match name.split_once(':') {
        Some((id, "revoke")) => {
            let msg = pb::RevokeTokenRequest { id: id.to_owned() };
            respond(TokenApi::new(r).revoke_token(grpc(&headers, msg)).await)
        }
        _ => error_response(&Status::not_found(format!(
            "no method POST /v1/tokens/{name}"
        ))),
    }
}

async fn delete_token(
    State(r): State<Registry>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond(
        TokenApi::new(r)
            .delete_token(grpc(&headers, pb::DeleteTokenRequest { id }))
            .await,
    )
}

async fn list_clients(State(r): State<Registry>, headers: HeaderMap, q: RawQuery) -> Response {
    let p = Params::new(q);
    let msg = pb::ListClientsRequest {
        page_size: try_status!(int(&p, "pageSize", "page_size")),
        page_token: text(&p, "pageToken", "page_token"),
        filter: text(&p, "filter", "filter"),
        order_by: text(&p, "orderBy", "order_by"),
        skip: try_status!(int(&p, "skip", "skip")),
        page_number: try_status!(int(&p, "pageNumber", "page_number")),
        include_total_size: try_status!(boolean(&p, "includeTotalSize", "include_total_size")),
    };
    respond(ClientApi::new(r).list_clients(grpc(&headers, msg)).await)
}

async fn get_client(
    State(r): State<Registry>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    respond(
        ClientApi::new(r)
            .get_client(grpc(&headers, pb::GetClientRequest { client_id }))
            .await,
    )
}

async fn create_client(
    State(r): State<Registry>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Response {
    let client: pb::Client = try_response!(body(bytes));
    let msg = pb::CreateClientRequest {
        client: Some(client),
    };
    respond(ClientApi::new(r).create_client(grpc(&headers, msg)).await)
}

async fn update_client(
    State(r): State<Registry>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    q: RawQuery,
    bytes: Result<Bytes, BytesRejection>,
) -> Response {
    let mut client: pb::Client = try_response!(body(bytes));
    client.client_id = client_id;
    let msg = pb::UpdateClientRequest {
        client: Some(client),
        update_mask: update_mask(&Params::new(q)),
    };
    respond(ClientApi::new(r).update_client(grpc(&headers, msg)).await)
}

async fn delete_client(
    State(r): State<Registry>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    q: RawQuery,
) -> Response {
    let force = try_status!(boolean(&Params::new(q), "force", "force"));
    let msg = pb::DeleteClientRequest { client_id, force };
    respond(ClientApi::new(r).delete_client(grpc(&headers, msg)).await)
}
