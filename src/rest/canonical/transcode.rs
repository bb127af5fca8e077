//! Transcoding between HTTP and the gRPC messages: query parameters (by
//! their JSON or proto name), JSON bodies, field masks, and `tonic::Status`
//! as a `google.rpc.Status` JSON body with grpc-gateway's HTTP status.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde::de::DeserializeOwned;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::json::Out;
use crate::domain::Error;
use crate::domain::auth::Caller;
use crate::domain::error::clip;
use crate::rest::auth::Refusal;
use crate::rest::params::{self, Params};
use crate::rest::route_errors::RouteErrors;

/// The HTTP status for a gRPC code (as grpc-gateway maps them).
pub(super) fn http_status(code: Code) -> StatusCode {
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
pub(super) fn error_response(status: &Status) -> Response {
    (http_status(status.code()), Json(status_json(status))).into_response()
}

/// A `tonic::Status` as `google.rpc.Status` JSON (`code`, `message`,
/// `details` with `BadRequest` field violations).
pub(super) fn status_json(status: &Status) -> serde_json::Value {
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
    serde_json::json!({
        "code": status.code() as i32,
        "message": status.message(),
        "details": details,
    })
}

/// Canonical's one error type: a `tonic::Status` as a `google.rpc.Status`
/// JSON body, with grpc-gateway's HTTP status unless `http` overrides it
/// (413 for a body over the limit).
pub(in crate::rest) struct Fail {
    status: Status,
    http: Option<StatusCode>,
}

impl From<Status> for Fail {
    fn from(status: Status) -> Fail {
        Fail { status, http: None }
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::from(Status::from(e))
    }
}

impl Refusal for Fail {}

impl RouteErrors for Fail {
    const PREFIXES: &'static [&'static str] = &["/v1/"];

    /// NOT_FOUND for an unknown path, UNIMPLEMENTED for the rest (a method
    /// the resource lacks, a path that cannot be read), as grpc-gateway.
    fn route_error(status: StatusCode, message: &str, path: &str) -> Response {
        let code = match status {
            StatusCode::NOT_FOUND => 5,
            _ => 12,
        };
        let body = serde_json::json!({"code": code, "message": format!("{message}: {}", clip(path)), "details": []});
        (status, Json(body)).into_response()
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let mut resp = error_response(&self.status);
        if let Some(http) = self.http {
            *resp.status_mut() = http;
        }
        resp
    }
}

/// The response message as the body, serialized straight into it
/// (`json::Out`: the protobuf JSON mapping, timestamps as grpcurl prints
/// them).
pub(super) fn respond<T>(resp: tonic::Response<T>) -> Result<Response, Fail>
where
    for<'a> Out<'a, T>: serde::Serialize,
{
    // Started at 8 KiB rather than serde_json's 128 bytes: a 100-token page
    // (~55 KB) then grows 3 times instead of 9, each a copy.
    let mut body = Vec::with_capacity(8 * 1024);
    serde_json::to_writer(&mut body, &Out(resp.get_ref()))
        .map_err(|e| Status::internal(format!("encoding the response: {e}")))?;
    let json = HeaderValue::from_static("application/json");
    Ok(([(CONTENT_TYPE, json)], body).into_response())
}

/// A gRPC request on behalf of the authenticated caller (what the gRPC
/// face's authentication layer would have put there).
pub(super) fn grpc<T>(caller: Caller, msg: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    req.extensions_mut().insert(caller);
    req
}

pub(super) fn invalid(field: &str, why: &str) -> Status {
    Status::from(Error::invalid(field, why))
}

/// A parameter by its JSON name or its proto name (both are accepted).
pub(super) fn param<'a>(p: &'a Params, json: &str, proto: &str) -> Option<&'a str> {
    p.get(json).or_else(|| p.get(proto))
}

pub(super) fn int(p: &Params, json: &str, proto: &str) -> Result<i32, Status> {
    param(p, json, proto)
        .map(|v| {
            v.parse::<i32>()
                .map_err(|_| invalid(proto, "must be a 32-bit integer"))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

pub(super) fn boolean(p: &Params, json: &str, proto: &str) -> Result<bool, Status> {
    match param(p, json, proto) {
        None => Ok(false),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(_) => Err(invalid(proto, "must be true or false")),
    }
}

pub(super) fn text(p: &Params, json: &str, proto: &str) -> String {
    param(p, json, proto).unwrap_or_default().to_owned()
}

/// The JSON body as a message; an unreadable body is INVALID_ARGUMENT on
/// `body` (HTTP 413 when it is over the size limit, 400 otherwise).
pub(super) fn body<T: DeserializeOwned>(bytes: Result<Bytes, BytesRejection>) -> Result<T, Fail> {
    let bytes = params::body(bytes).map_err(|e| Fail {
        status: invalid("body", &e.message),
        http: Some(e.status),
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Fail::from(invalid("body", &format!("not a valid JSON message: {e}"))))
}

pub(super) fn update_mask(p: &Params) -> Option<pbjson_types::FieldMask> {
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
