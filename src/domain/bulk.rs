//! Bulk actions on the tokens a filter selects (incident response): revoke
//! or delete them all, after a dry run. The dry run counts what the action
//! would touch *as of* its instant (tokens created later are never
//! included) and hands out a confirmation token binding the organization,
//! the action, the filter and that count. The real run recounts; if the
//! count moved, the token is stale and refused. Once accepted, a run is a
//! job keyed by the token, so the same token resumes it after a crash or a
//! dropped call instead of being refused as stale.

use super::audit::filter_hash;
use super::cursor::CursorCodec;
use super::error::{Error, Result};
use super::ids::OrgId;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};

/// What a bulk run does to each selected token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    /// Sets `revoke_time` on tokens not yet revoked (each revoked once).
    Revoke,
    /// Deletes the tokens.
    Delete,
}

impl BulkAction {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Revoke => "revoke",
            BulkAction::Delete => "delete",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    v: u8,
    /// Organization.
    o: String,
    /// Action.
    a: String,
    /// Hash of the canonical filter.
    q: String,
    /// Matched count at the dry run.
    n: u64,
    /// The dry run's instant (µs): the selection's `created_at` bound.
    t: i64,
}

/// What a valid confirmation token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub matched: u64,
    pub as_of: Timestamp,
    /// The job's key: a hash of the token (the token itself is not stored).
    pub job_id: String,
}

/// Seals a dry run's result into a confirmation token.
pub fn confirmation_token(
    codec: &CursorCodec,
    org_id: &OrgId,
    action: BulkAction,
    canonical_filter: &str,
    matched: u64,
    as_of: Timestamp,
) -> String {
    let p = Payload {
        v: 1,
        o: org_id.to_string(),
        a: action.as_str().to_owned(),
        q: filter_hash(canonical_filter),
        n: matched,
        t: as_of.micros(),
    };
    codec.seal(serde_json::to_vec(&p).unwrap_or_default())
}

/// Opens a confirmation token for this organization, action and filter.
pub fn confirm(
    codec: &CursorCodec,
    token: &str,
    org_id: &OrgId,
    action: BulkAction,
    canonical_filter: &str,
) -> Result<Confirmation> {
    const FIELD: &str = "confirmation_token";
    let body = codec.open(FIELD, "confirmation token", token)?;
    let p: Payload = serde_json::from_slice(&body)
        .map_err(|_| Error::invalid(FIELD, "confirmation token is malformed"))?;
    if p.v != 1
        || p.o != org_id.as_str()
        || p.a != action.as_str()
        || p.q != filter_hash(canonical_filter)
    {
        return Err(Error::invalid(
            FIELD,
            "confirmation token belongs to another request (action, filter or caller changed)",
        ));
    }
    Ok(Confirmation {
        matched: p.n,
        as_of: Timestamp::from_micros(p.t),
        job_id: filter_hash(token),
    })
}

/// A bulk job as stored: how many it matched and how many it has done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkJob {
    pub matched: u64,
    pub done: u64,
    /// The revoke time every batch of the job uses.
    pub acted_at: Timestamp,
    pub finished: bool,
}

/// What a bulk action selects: the organization's tokens matching
/// `filter`, created by `as_of`, and for a revoke not yet revoked.
#[derive(Debug, Clone)]
pub struct BulkSelection {
    pub org_id: OrgId,
    pub filter: super::query::TokenFilter,
    pub as_of: Timestamp,
    pub action: BulkAction,
}
