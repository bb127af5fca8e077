//! The one error type of the core. Faces map it once each: `grpc::status`
//! turns it into a `tonic::Status` with `google.rpc.BadRequest` details, and
//! each REST dialect into its own error body. Nothing below a face knows about
//! gRPC codes or HTTP statuses.

use std::fmt;

/// At most this many bytes of a caller's value are quoted back in an error:
/// enough to recognise it, never enough to turn an error into a large
/// response (grpcio refuses trailers over 8 KiB).
pub const QUOTE_MAX: usize = 64;

/// A caller's value as an error quotes it: Rust-escaped and in quotes, cut
/// after `QUOTE_MAX` bytes (on a character boundary) with a note of the
/// full length.
pub fn quote(s: &str) -> Quoted<'_> {
    Quoted(s)
}

/// The first `QUOTE_MAX` bytes of `s` (on a character boundary), with `…`
/// if cut: for error formats that quote values their own way.
pub fn clip(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= QUOTE_MAX {
        return s.into();
    }
    let mut end = QUOTE_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end]).into()
}

/// See [`quote`].
pub struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s.len() <= QUOTE_MAX {
            return write!(f, "{s:?}");
        }
        let mut end = QUOTE_MAX;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        write!(f, "{:?}… ({} bytes)", &s[..end], s.len())
    }
}

/// Which request field was wrong, and why (becomes a `FieldViolation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// Everything that can go wrong in a request, in domain terms.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; every offending field is named.
    #[error("invalid argument: {}", join(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// No, or an unknown, revoked or expired credential.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The credential lacks the scope or ownership the call needs.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The resource does not exist in the caller's organization.
    #[error("{kind} not found: {}", quote(.id))]
    NotFound { kind: &'static str, id: String },
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The request is valid but the current state forbids it.
    #[error("failed precondition: {0}")]
    FailedPrecondition(String),
    /// The caller went over a limit (its API key's request rate); retrying
    /// later works.
    #[error("{0}")]
    ResourceExhausted(String),
    /// The server is shutting down (draining): retry at once, on another
    /// replica; the message says where a stream resumes from.
    #[error("unavailable: {0}")]
    Draining(String),
    /// The database cannot be reached; retrying later may work.
    #[error("unavailable: {0}")]
    Unavailable(#[source] Fault),
    /// A bug or an unexpected storage failure; details go to the log only.
    #[error("internal error: {0}")]
    Internal(#[source] Fault),
}

/// What went wrong inside, for the log only: a message and, when a library
/// reported it, that error itself, so the log keeps its type and its own
/// chain of causes rather than only its text. Faces never send it.
#[derive(Debug, Clone)]
pub struct Fault {
    message: String,
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl Fault {
    /// A fault caused by `source`, described as `message`.
    pub fn caused_by(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Fault {
            message: message.into(),
            source: Some(std::sync::Arc::new(source)),
        }
    }

    /// The message and every cause below it, `: `-separated, for a log line.
    pub fn chain(&self) -> String {
        let mut out = self.message.clone();
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            let text = e.to_string();
            if !out.contains(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            next = e.source();
        }
        out
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fault {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for Fault {
    fn from(message: String) -> Self {
        Fault {
            message,
            source: None,
        }
    }
}

impl From<&str> for Fault {
    fn from(message: &str) -> Self {
        Fault::from(message.to_owned())
    }
}

fn join(v: &[FieldViolation]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// Shorthand for a single-field `InvalidArgument`.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// The gRPC status code name this error is answered with (also the
    /// audit trail's outcome).
    pub fn code_name(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::PermissionDenied(_) => "PERMISSION_DENIED",
            Error::NotFound { .. } => "NOT_FOUND",
            Error::AlreadyExists(_) => "ALREADY_EXISTS",
            Error::FailedPrecondition(_) => "FAILED_PRECONDITION",
            Error::ResourceExhausted(_) => "RESOURCE_EXHAUSTED",
            Error::Draining(_) | Error::Unavailable(_) => "UNAVAILABLE",
            Error::Internal(_) => "INTERNAL",
        }
    }

    pub fn not_found(kind: &'static str, id: impl AsRef<str>) -> Self {
        Error::NotFound {
            kind,
            id: id.as_ref().to_owned(),
        }
    }

    /// Prefixes every violated field with `prefix.` (e.g. `token.`), so a face
    /// can report paths relative to its own request message.
    pub fn prefix_fields(self, prefix: &str) -> Self {
        match self {
            Error::InvalidArgument(v) => Error::InvalidArgument(
                v.into_iter()
                    .map(|f| FieldViolation::new(format!("{prefix}.{}", f.field), f.description))
                    .collect(),
            ),
            other => other,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_bounded_and_cut_on_a_character_boundary() {
        assert_eq!(quote("abc").to_string(), "\"abc\"");
        let long = "é".repeat(1000);
        let q = quote(&long).to_string();
        assert!(q.len() < QUOTE_MAX + 40, "{q}");
        assert!(q.ends_with("… (2000 bytes)"), "{q}");
        let nf = Error::not_found("token", "x".repeat(100_000)).to_string();
        assert!(nf.len() < 200, "{nf}");
    }
}
