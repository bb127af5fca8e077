//! The audit trail's values: who (API key, its user, organization) did
//! what (the RPC or REST route, through which face, read or write, with
//! which filter, hashed) to how many rows, with what outcome, in which
//! request and trace. Never a secret: a filter is kept only as a hash, and
//! secrets never reach these values.

use sha2::{Digest, Sha256};

use super::ids::{KeyId, OrgId};
use super::time::Timestamp;

/// Whether a call read or changed tokens or clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    Read,
    Write,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Read => "read",
            AuditKind::Write => "write",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(AuditKind::Read),
            "write" => Some(AuditKind::Write),
            _ => None,
        }
    }
}

/// One audited call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub org_id: OrgId,
    /// UUIDv7 (time-ordered).
    pub id: String,
    pub at: Timestamp,
    pub key_id: KeyId,
    pub user_id: Option<String>,
    pub kind: AuditKind,
    /// `oauth_registry.v1.TokenService/ListTokens` or `GET /v1/tokens`.
    pub method: String,
    /// `grpc`, `canonical`, `siro`, `slashid`, `reviewboard` or `losant`.
    pub dialect: String,
    /// [`filter_hash`] of the call's filter; empty without one.
    pub filter_hash: String,
    /// Rows returned or changed.
    pub rows: u64,
    /// The gRPC status code name (`OK`, `NOT_FOUND`, ...).
    pub outcome: String,
    /// The HTTP status, for REST calls.
    pub http_status: Option<u16>,
    pub request_id: String,
    pub trace_id: String,
}

/// The hash an audit event keeps of a canonical filter (hex, 16 bytes of
/// SHA-256): equal filters have equal hashes, and no value is readable.
pub fn filter_hash(canonical_filter: &str) -> String {
    let d = Sha256::digest(canonical_filter.as_bytes());
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A page request over an organization's audit events, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub key_id: Option<String>,
    pub user_id: Option<String>,
    pub kind: Option<AuditKind>,
    /// `[from, to)`.
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Continue after this (at, id), exclusive.
    pub before: Option<(Timestamp, String)>,
    pub limit: u32,
}
