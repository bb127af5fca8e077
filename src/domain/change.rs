//! The change feed's values: what happened to a token or client, at which
//! version of its organization. Versions increase in commit order within an
//! organization's feed (SQLite numbers them 1, 2, 3…; PostgreSQL by
//! transaction, with gaps, see docs/change-feed.md); a watch resumes after
//! the last version it delivered (`Version`), on any replica.

use super::Timestamp;
use super::cursor::CursorCodec;
use super::error::{Error, Result};
use super::ids::OrgId;

/// A position in an organization's change feed: the number of the last
/// change applied. 0 is "before anything".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version(pub i64);

/// The low bits of a version that number the changes of one transaction on
/// PostgreSQL (the transaction id is above them).
pub const WATERMARK_BITS: u32 = 24;
const WATERMARK_MASK: i64 = (1 << WATERMARK_BITS) - 1;

impl Version {
    /// Whether this is a *watermark*: a position between writes, which a
    /// store reports while some of the organization's writes are still
    /// settling (committed after a write that is still running). It is a
    /// sound place to watch from, but the same watermark read twice does
    /// not mean nothing was written in between, so caches and validators
    /// never reuse an answer made at one. Its low bits are all set, which
    /// no change's own version has.
    pub fn is_watermark(self) -> bool {
        self.0 > 0 && self.0 & WATERMARK_MASK == WATERMARK_MASK
    }

    /// Whether answers made at this version may be reused while the
    /// organization stays at it (not a watermark).
    pub fn is_exact(self) -> bool {
        !self.is_watermark()
    }
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    Created,
    Updated,
    Revoked,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Revoked => "revoked",
            ChangeKind::Deleted => "deleted",
        }
    }

    /// The stored name back; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => ChangeKind::Created,
            "updated" => ChangeKind::Updated,
            "revoked" => ChangeKind::Revoked,
            "deleted" => ChangeKind::Deleted,
            _ => return None,
        })
    }
}

/// Which kind of row a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    Token,
    Client,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Token => "token",
            ResourceKind::Client => "client",
        }
    }
}

/// One change of a `T` (a `Token` or `Client`): the row before and after
/// (`None` before a create, after a delete). Never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<T> {
    pub org_id: OrgId,
    pub version: Version,
    pub kind: ChangeKind,
    pub id: String,
    pub before: Option<T>,
    pub after: Option<T>,
    pub at: Timestamp,
}

/// A read of the feed: the changes after a version (in version order),
/// and where the feed stood at that moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePage<T> {
    pub changes: Vec<Change<T>>,
    /// The organization's last version when read: a watcher with nothing
    /// to deliver up to here can still move its resume point.
    pub head: Version,
    /// Changes at or below it are no longer kept.
    pub floor: Version,
    /// Changes of the organization have committed above `head` and wait
    /// for an older write that is still running: read again soon, since
    /// that write's commit may announce nothing to this organization.
    pub pending: bool,
}

/// A hint that an organization's feed moved (`None`: any organization's
/// may have, e.g. after the notification connection was re-established).
/// Watchers wake on it and read the feed; a hint is never the event itself,
/// so a lost or repeated one costs a read, never an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedMoved(pub Option<OrgId>);

#[derive(serde::Serialize, serde::Deserialize)]
struct ResumePayload {
    /// Format version.
    v: u8,
    /// Organization id.
    o: String,
    /// The version delivered last.
    p: i64,
}

/// A watch's resume token: the organization and the last version it
/// delivered, signed like page tokens (so any replica accepts it and no
/// caller can forge one or use another organization's).
pub fn resume_token(codec: &CursorCodec, org_id: &OrgId, version: Version) -> String {
    let payload = ResumePayload {
        v: 1,
        o: org_id.to_string(),
        p: version.0,
    };
    codec.seal(serde_json::to_vec(&payload).unwrap_or_default())
}

/// The version a resume token continues after; `field` names the request
/// field in errors.
pub fn resume_version(
    codec: &CursorCodec,
    field: &str,
    token: &str,
    org_id: &OrgId,
) -> Result<Version> {
    let body = codec.open(field, "resume token", token)?;
    let p: ResumePayload = serde_json::from_slice(&body)
        .map_err(|_| Error::invalid(field, "resume token is malformed"))?;
    if p.v != 1 || p.o != org_id.as_str() || p.p < 0 {
        return Err(Error::invalid(
            field,
            "resume token does not belong to this caller's organization",
        ));
    }
    Ok(Version(p.p))
}
