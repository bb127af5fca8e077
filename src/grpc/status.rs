//! The one mapping from domain errors to gRPC statuses. Invalid input carries
//! `google.rpc.BadRequest` field violations; internal details are logged, not
//! sent.
//!
//! Every text is bounded here as well as where it is written (values are
//! quoted through `domain::error::quote`): a status travels in trailers, and
//! grpcio clients refuse trailers over 8 KiB with RESOURCE_EXHAUSTED, which
//! would hide the real error. With these caps a status stays under ~3 KiB.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::domain::Error;

/// Longest `grpc-message` (before percent-encoding).
const MAX_MESSAGE: usize = 512;
/// Longest field path and description in a `FieldViolation`.
const MAX_FIELD: usize = 100;
const MAX_DESCRIPTION: usize = 200;
/// Violations sent; the message says how many more there were.
const MAX_VIOLATIONS: usize = 5;

/// `s` cut to at most `max` bytes on a character boundary, marked with `…`.
fn bounded(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max - '…'.len_utf8();
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        match e {
            Error::InvalidArgument(violations) => {
                let total = violations.len();
                let mut message = violations
                    .iter()
                    .take(MAX_VIOLATIONS)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                if total > MAX_VIOLATIONS {
                    message = format!("{message}; and {} more", total - MAX_VIOLATIONS);
                }
                let details = ErrorDetails::with_bad_request(
                    violations
                        .into_iter()
                        .take(MAX_VIOLATIONS)
                        .map(|v| {
                            FieldViolation::new(
                                bounded(v.field, MAX_FIELD),
                                bounded(v.description, MAX_DESCRIPTION),
                            )
                        })
                        .collect::<Vec<_>>(),
                );
                Status::with_error_details(
                    Code::InvalidArgument,
                    bounded(message, MAX_MESSAGE),
                    details,
                )
            }
            Error::Unauthenticated(m) => Status::unauthenticated(bounded(m, MAX_MESSAGE)),
            Error::PermissionDenied(m) => Status::permission_denied(bounded(m, MAX_MESSAGE)),
            e @ Error::NotFound { .. } => Status::not_found(bounded(e.to_string(), MAX_MESSAGE)),
            Error::AlreadyExists(m) => Status::already_exists(bounded(m, MAX_MESSAGE)),
            Error::FailedPrecondition(m) => Status::failed_precondition(bounded(m, MAX_MESSAGE)),
            // Tells gRPC clients when to retry, like HTTP's Retry-After: the
            // limits refill within a second.
            Error::ResourceExhausted(m) => Status::with_error_details(
                Code::ResourceExhausted,
                bounded(m, MAX_MESSAGE),
                ErrorDetails::with_retry_info(Some(std::time::Duration::from_secs(1))),
            ),
            Error::Draining(m) => Status::unavailable(bounded(m, MAX_MESSAGE)),
            Error::Unavailable(m) => {
                tracing::warn!(error = %m.chain(), "database unavailable");
                Status::unavailable("the database is unavailable; retry later")
            }
            Error::Internal(m) => {
                tracing::error!(error = %m.chain(), "internal error");
                Status::internal("internal error")
            }
        }
    }
}
