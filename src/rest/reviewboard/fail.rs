//! Review Board's errors: `{"stat": "fail", "err": {"code", "msg"}}` with
//! its numbered codes (100 no such object, 101 permission, 103 not logged
//! in, 105 bad fields, 112 scope, 113 local site, 114 rate limit), for
//! domain errors, refused credentials and routing errors alike.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::domain::Error;
use crate::rest::auth::Refusal;
use crate::rest::route_errors::RouteErrors;

/// A Review Board error.
#[derive(Debug)]
pub(super) struct Fail {
    code: u16,
    fields: Option<Value>,
}

impl Fail {
    pub(super) fn new(code: u16) -> Fail {
        Fail { code, fields: None }
    }

    pub(super) fn form(field: &str, message: impl Into<String>) -> Fail {
        Fail {
            code: 105,
            fields: Some(json!({ field: [message.into()] })),
        }
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let (status, msg) = match self.code {
            100 => (StatusCode::NOT_FOUND, "Object does not exist"),
            101 => (StatusCode::FORBIDDEN, "You don't have permission for this"),
            103 => (StatusCode::UNAUTHORIZED, "You are not logged in"),
            105 => (StatusCode::BAD_REQUEST, "One or more fields had errors"),
            112 => (
                StatusCode::FORBIDDEN,
                "Your OAuth2 token lacks the necessary scopes for this request.",
            ),
            113 => (
                StatusCode::FORBIDDEN,
                "OAuth2 token access for this resource is prohibited.",
            ),
            114 => (
                StatusCode::TOO_MANY_REQUESTS,
                "API rate limit has been exceeded.",
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "An internal error occurred",
            ),
        };
        let mut body = json!({"stat": "fail", "err": {"code": self.code, "msg": msg}});
        if let Some(f) = self.fields {
            body["fields"] = f;
        }
        let mut resp = (status, body.to_string()).into_response();
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    }
}

impl RouteErrors for Fail {
    const PREFIXES: &'static [&'static str] = &["/api/", "/s/{local_site}/"];

    fn route_error(status: StatusCode, message: &str, _: &str) -> Response {
        let code = match status {
            StatusCode::NOT_FOUND => 100,
            _ => 101,
        };
        let body = json!({"stat": "fail", "err": {"code": code, "msg": message}});
        (status, axum::Json(body)).into_response()
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        match e {
            Error::InvalidArgument(v) => {
                let mut fields = serde_json::Map::new();
                for f in v {
                    fields.insert(f.field, json!([f.description]));
                }
                Fail {
                    code: 105,
                    fields: Some(Value::Object(fields)),
                }
            }
            Error::Unauthenticated(_) => Fail::new(103),
            Error::PermissionDenied(_) => Fail::new(112),
            Error::NotFound { .. } => Fail::new(100),
            Error::ResourceExhausted(_) => Fail::new(114),
            Error::FailedPrecondition(m) | Error::AlreadyExists(m) => Fail::form("__all__", m),
            Error::Draining(_) => Fail::new(500),
            Error::Unavailable(m) | Error::Internal(m) => {
                tracing::error!(error = %m.chain(), "review board request failed");
                Fail::new(500)
            }
        }
    }
}

/// Bad credentials are 103; a rate limit (114) or an outage keep their own
/// code.
impl Refusal for Fail {}
