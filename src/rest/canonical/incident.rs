//! Incident response over REST. Bulk revoke and delete, through the gRPC
//! service like every canonical route (JSON body = the request message):
//! - `POST /v1/tokens:revoke` (RevokeTokens), `POST /v1/tokens:delete`
//!   (DeleteTokens), `POST /v1/clients/{id}/tokens:revoke`
//!   (RevokeClientTokens; the client from the path).
//!
//! Finding and revoking tokens by secret:
//! - `POST /v1/tokens:lookup` (LookupToken): `{"secret": "oat_…"}` in, the
//!   token out, in the canonical API's JSON and errors;
//! - `POST /v1/oauth/revoke`: token revocation as RFC 7009 defines it, for
//!   tools that already speak it. A form body (`token`, optional
//!   `token_type_hint`, which is ignored as §2.1 allows: every kind is
//!   searched), the API key in place of client authentication, `200` with
//!   an empty body whether or not the token existed (§2.2: an unknown or
//!   already revoked token is not an error), and RFC 6749 §5.2 error bodies
//!   (`invalid_request`, `invalid_client`, …).
//!
//! A secret is only ever read from a body (never the query string, which
//! access logs and proxies keep), straight into a redacting `SecretString`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Fail;
use super::transcode::{body, grpc, respond};
use crate::domain::Error;
use crate::domain::secret::SecretString;
use crate::grpc::pb::token_service_server::TokenService;
use crate::grpc::{TokenApi, pb};
use crate::rest::auth::{Authenticated, Refusal};
use crate::rest::openapi::{RpcStatus, proto};
use crate::service::Registry;

pub(super) fn routes() -> OpenApiRouter<Registry> {
    OpenApiRouter::new()
        .routes(routes!(lookup_token))
        .routes(routes!(revoke))
        .routes(routes!(revoke_tokens))
        .routes(routes!(delete_tokens))
        .routes(routes!(revoke_client_tokens))
}

#[utoipa::path(
    post,
    path = "/v1/tokens:revoke",
    tag = "canonical",
    operation_id = "RevokeTokens",
    request_body = proto::RevokeTokensRequest,
    responses((status = 200, body = proto::BulkTokensResponse, description = "A dry run's count, sample and confirmationToken, or a finished run's counts"), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status (400 with code 9 for a stale confirmation token)", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn revoke_tokens(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let msg: pb::RevokeTokensRequest = body(bytes)?;
    respond(TokenApi::new(r).revoke_tokens(grpc(caller, msg)).await?)
}

#[utoipa::path(
    post,
    path = "/v1/tokens:delete",
    tag = "canonical",
    operation_id = "DeleteTokens",
    request_body = proto::DeleteTokensRequest,
    responses((status = 200, body = proto::BulkTokensResponse, description = "A dry run's count, sample and confirmationToken, or a finished run's counts"), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn delete_tokens(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let msg: pb::DeleteTokensRequest = body(bytes)?;
    respond(TokenApi::new(r).delete_tokens(grpc(caller, msg)).await?)
}

#[utoipa::path(
    post,
    path = "/v1/clients/{id}/tokens:revoke",
    tag = "canonical",
    operation_id = "RevokeClientTokens",
    params(("id" = String, Path, description = "The client whose tokens to revoke")),
    request_body = proto::RevokeClientTokensRequest,
    responses((status = 200, body = proto::BulkTokensResponse, description = "A dry run's count, sample and confirmationToken, or a finished run's counts"), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn revoke_client_tokens(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    Path(id): Path<String>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let mut msg: pb::RevokeClientTokensRequest = body(bytes)?;
    msg.client_id = id;
    respond(
        TokenApi::new(r)
            .revoke_client_tokens(grpc(caller, msg))
            .await?,
    )
}

#[utoipa::path(
    post,
    path = "/v1/tokens:lookup",
    tag = "canonical",
    operation_id = "LookupToken",
    request_body = proto::LookupTokenRequest,
    responses((status = 200, body = proto::Token), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status; 404 when no token of the organization has the secret", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn lookup_token(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let msg: pb::LookupTokenRequest = body(bytes)?;
    respond(TokenApi::new(r).lookup_token(grpc(caller, msg)).await?)
}

/// An RFC 6749 §5.2 error response.
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn invalid_request(description: &str) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.to_owned(),
        }
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        let status = crate::rest::http_status(&e);
        let error = match &e {
            Error::InvalidArgument(_) | Error::FailedPrecondition(_) => "invalid_request",
            Error::Unauthenticated(_) => "invalid_client",
            Error::PermissionDenied(_) => "insufficient_scope",
            Error::ResourceExhausted(_) | Error::Unavailable(_) | Error::Draining(_) => {
                "temporarily_unavailable"
            }
            _ => "server_error",
        };
        let description = match e {
            Error::Internal(m) | Error::Unavailable(m) => {
                tracing::error!(error = %m.chain(), "oauth revoke failed");
                "the request could not be completed".to_owned()
            }
            other => other.to_string(),
        };
        OAuthError {
            status,
            error,
            description,
        }
    }
}

impl Refusal for OAuthError {}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            axum::Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// The form of an RFC 7009 request.
#[derive(utoipa::ToSchema)]
#[expect(dead_code, reason = "documents the form read by `revoke`")]
struct RevocationForm {
    /// The token's secret (`oat_…`).
    token: String,
    /// `access_token` or `refresh_token`; a hint only, ignored.
    token_type_hint: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/oauth/revoke",
    tag = "canonical",
    operation_id = "RevokeTokenRfc7009",
    request_body(content = RevocationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or no such token (RFC 7009 §2.2): empty body"),
        (status = 400, description = "RFC 6749 §5.2 error: invalid_request"),
        (status = 401, description = "RFC 6749 §5.2 error: invalid_client (no or a bad API key)"),
        (status = 403, description = "insufficient_scope: the key lacks tokens:write"),
    ),
    security(("bearer" = []))
)]
async fn revoke(
    Authenticated { caller, .. }: Authenticated<OAuthError>,
    State(r): State<Registry>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let raw = raw.map_err(|e| OAuthError::invalid_request(&e.body_text()))?;
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut token = None;
    for (name, value) in form_urlencoded::parse(&raw) {
        if name == "token" {
            // RFC 6749 §3.2: parameters must not be repeated.
            if token.is_some() {
                return Err(OAuthError::invalid_request("token is given more than once"));
            }
            token = Some(SecretString::from(value.into_owned()));
        }
    }
    let Some(token) = token else {
        return Err(OAuthError::invalid_request("token is required"));
    };
    match r.revoke_token_by_secret(&caller, &token).await {
        Ok(_) | Err(Error::NotFound { .. }) => Ok((
            StatusCode::OK,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}
