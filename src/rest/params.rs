//! Query strings and bodies, read leniently so that every malformed input
//! becomes the calling face's own error naming the parameter, never an
//! extractor's plain-text rejection.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;

/// The decoded query string, in order (repeated names allowed). Decoding
/// never fails: invalid percent-escapes are kept literally, invalid UTF-8 is
/// replaced, and the face then rejects the value it does not accept.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new(RawQuery(query): RawQuery) -> Self {
        let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
        Params(pairs)
    }

    /// The last value given for `name` (later values win, as in most servers).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Like `get`, treating an empty value as absent.
    pub fn non_blank(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

/// Why a request body could not be read: 413 when over the size limit, 408
/// when it stalled past the body time limit, 400 otherwise, with a message
/// for the face's own error format.
#[derive(Debug)]
pub struct BodyError {
    pub status: StatusCode,
    pub message: String,
}

/// The request body, or a `BodyError`.
pub fn body(b: Result<Bytes, BytesRejection>) -> Result<Bytes, BodyError> {
    b.map_err(|e| {
        if timed_out(&e) {
            return BodyError {
                status: StatusCode::REQUEST_TIMEOUT,
                message: "the request body did not arrive in time".into(),
            };
        }
        let too_large = e.status() == StatusCode::PAYLOAD_TOO_LARGE;
        BodyError {
            status: if too_large {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            },
            message: if too_large {
                format!(
                    "the request body is larger than {} bytes",
                    super::MAX_BODY_BYTES
                )
            } else {
                e.body_text()
            },
        }
    })
}

/// Whether reading the body failed because it stalled (see `serve.rs`).
fn timed_out(e: &BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}
