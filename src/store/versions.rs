//! How each backend numbers the change feed so that versions become
//! visible in commit order (docs/change-feed.md, "Versions commit in
//! order"), and the SQL that depends on it.
//!
//! - **SQLite** serializes every write (`BEGIN IMMEDIATE`), so a counter
//!   row per organization (`org_versions.version`), bumped by the write's
//!   append, numbers changes 1, 2, 3… in commit order.
//! - **PostgreSQL** takes no shared counter, so writers of one
//!   organization commit in parallel: a change's version is its
//!   transaction's id shifted left by [`WATERMARK_BITS`] plus its ordinal in
//!   the transaction, and the feed is read only below the *watermark*, the
//!   oldest transaction still running (`pg_snapshot_xmin`): every
//!   transaction below it has finished, so what a reader sees there never
//!   grows behind its position. Transaction ids are taken at a
//!   transaction's first write; two writers of one row must take them in
//!   the order they commit, so each write first takes transaction-scoped
//!   advisory locks ([`WriteLocks`], in its `BEGIN`, before it has an id):
//!   exclusive on each row it writes, and shared on its organization
//!   (exclusive for a forced client delete, whose cascade reaches rows it
//!   did not lock, and for a conditional write, which must see the
//!   organization still).

use sha2::{Digest, Sha256};

use crate::domain::change::{ResourceKind, WATERMARK_BITS};
use crate::domain::ids::OrgId;

use super::sql::{Engine, Param, Sql};

const _: () = assert!(WATERMARK_BITS == 24, "the SQL below shifts by 24");

/// Where an organization's feed stands, read in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedState {
    /// Every change at or below it has committed (or never will).
    pub head: i64,
    /// Changes at or below it are no longer kept.
    pub floor: i64,
    /// The newest committed change of the organization, if any is kept.
    pub top: Option<i64>,
}

impl FeedState {
    /// The organization's version for a listing or a cache: its newest
    /// change when nothing of it waits above the head (then it moves only
    /// when the organization is written), else the head, a watermark
    /// (`Version::is_watermark`).
    pub fn version(&self) -> i64 {
        match self.top {
            Some(top) if top <= self.head => top,
            Some(_) => self.head,
            None => self.floor.min(self.head),
        }
    }

    /// The state as a reader of the feed is shown it: the head lowered to
    /// [`FeedState::version`], so a caught-up watcher rests at the
    /// organization's newest change (what a listing reports), not at a
    /// watermark that moves with every other organization's writes. No
    /// change of the organization lies between the two.
    pub fn for_readers(self) -> Self {
        Self {
            head: self.version(),
            ..self
        }
    }

    /// Changes committed above the head wait for an older transaction.
    pub fn pending(&self) -> bool {
        self.top.is_some_and(|top| top > self.head)
    }
}

/// The query for [`FeedState`]: head, floor, top; one parameter (org).
pub fn feed_state_sql(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => {
            "SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 24) - 1, \
             COALESCE((SELECT floor FROM org_versions WHERE org_id = $1), 0), \
             (SELECT MAX(version) FROM changes WHERE org_id = $1)"
        }
        Engine::Sqlite => {
            "SELECT COALESCE(MAX(version), 0), COALESCE(MAX(floor), 0), MAX(NULLIF(version, 0)) \
             FROM org_versions WHERE org_id = $1"
        }
    }
}

/// PostgreSQL: `list` (a listing's `SELECT`) with the organization's feed
/// state beside its rows, in one statement: one snapshot, so the version is
/// exactly the one the rows show, and one round trip instead of two (a
/// first page paid a second ~0.1 ms for its version). Every row carries
/// `feed_head`, `feed_floor` and `feed_top` (as [`feed_state_sql`]) after
/// the listing's columns (rows decode by position); a
/// listing with no rows is one row whose listing columns are NULL. The
/// join has no equality to hash or merge on, so PostgreSQL can only run
/// it as a nested loop over the one state row, which returns the listing's
/// rows in the listing's own order.
pub fn pg_with_feed_state(list: Sql, org_id: &OrgId) -> Sql {
    let mut params = list.params;
    params.push(Param::Text(org_id.as_str().to_owned()));
    let org = format!("${}", params.len());
    let text = format!(
        "SELECT t.*, f.feed_head, f.feed_floor, f.feed_top FROM (SELECT \
         (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 24) - 1 AS feed_head, \
         COALESCE((SELECT floor FROM org_versions WHERE org_id = {org}), 0) AS feed_floor, \
         (SELECT MAX(version) FROM changes WHERE org_id = {org}) AS feed_top) f \
         LEFT JOIN LATERAL ({}) t ON true",
        list.text
    );
    let mut sql = Sql::new(Engine::Postgres, &text);
    sql.params = params;
    sql.limit = list.limit;
    sql.stable_plan = list.stable_plan;
    sql
}

/// PostgreSQL: the version of this transaction's first change minus one
/// (assigns the transaction its id if it has none yet).
pub const PG_TRANSACTION_BASE: &str = "SELECT pg_current_xact_id()::text::bigint << 24";
/// PostgreSQL: the same, as an expression for an insert.
pub const PG_TRANSACTION_BASE_EXPR: &str = "(pg_current_xact_id()::text::bigint << 24)";
/// Most changes one transaction may record on PostgreSQL (its ordinals
/// must stay below the watermark bits).
pub const MAX_CHANGES_PER_TRANSACTION: usize = (1 << WATERMARK_BITS) - 2;

/// The advisory locks a recorded write takes in its `BEGIN` (PostgreSQL;
/// SQLite's write lock already serializes everything).
#[derive(Debug, Clone, Default)]
pub struct WriteLocks {
    exclusive: bool,
    rows: Vec<i64>,
}

/// `pg_advisory_xact_lock(int, int)` class of organization locks (the
/// two-int key space, apart from the rows' one-bigint keys).
const ORG_CLASS: i32 = 0x4f52_4731;

fn digest(parts: &[&str]) -> [u8; 8] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

impl WriteLocks {
    /// A write of some rows of the organization.
    pub fn shared() -> Self {
        Self::default()
    }

    /// A write that must exclude every other writer of the organization.
    pub fn exclusive() -> Self {
        Self {
            exclusive: true,
            rows: Vec::new(),
        }
    }

    /// Exclusive when `condition` (a conditional write), else shared.
    pub fn exclusive_if(condition: bool) -> Self {
        if condition {
            Self::exclusive()
        } else {
            Self::shared()
        }
    }

    /// Also lock the row `id` of `resource` (stable across builds and
    /// replicas: a SHA-256 prefix, never the std hasher).
    pub fn row(mut self, org: &OrgId, resource: ResourceKind, id: &str) -> Self {
        let key = i64::from_be_bytes(digest(&[org.as_str(), resource.as_str(), id]));
        self.rows.push(key);
        self
    }

    /// Also lock each of `ids`.
    pub fn rows<'a>(
        mut self,
        org: &OrgId,
        resource: ResourceKind,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        for id in ids {
            self = self.row(org, resource, id);
        }
        self
    }

    /// The `BEGIN` of a recorded write of `org` on `engine`: on PostgreSQL
    /// it takes the organization's lock, then the rows' in key order (one
    /// order for every writer, so they cannot deadlock), all before the
    /// transaction has an id. Only integers are spliced in.
    pub fn begin(&self, engine: Engine, org: &OrgId) -> String {
        match engine {
            Engine::Sqlite => "BEGIN IMMEDIATE".to_owned(),
            Engine::Postgres => {
                let o = digest(&[org.as_str()]);
                let org_key = i32::from_be_bytes([o[0], o[1], o[2], o[3]]);
                let mode = if self.exclusive { "" } else { "_shared" };
                let mut sql =
                    format!("BEGIN; SELECT pg_advisory_xact_lock{mode}({ORG_CLASS}, {org_key})");
                let mut keys = self.rows.clone();
                keys.sort_unstable();
                keys.dedup();
                for chunk in keys.chunks(100) {
                    let calls: Vec<String> = chunk
                        .iter()
                        .map(|k| format!("pg_advisory_xact_lock({k})"))
                        .collect();
                    sql.push_str("; SELECT ");
                    sql.push_str(&calls.join(", "));
                }
                sql
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> OrgId {
        OrgId::generate()
    }

    #[test]
    fn feed_state_reports_the_top_only_once_settled() {
        let settled = FeedState {
            head: (7 << 24) - 1,
            floor: 0,
            top: Some((5 << 24) + 2),
        };
        assert_eq!(settled.version(), (5 << 24) + 2);
        assert!(!settled.pending());
        let waiting = FeedState {
            top: Some((9 << 24) + 1),
            ..settled
        };
        assert_eq!(waiting.version(), (7 << 24) - 1);
        assert!(waiting.pending());
        assert!(crate::domain::change::Version(waiting.version()).is_watermark());
        assert!(!crate::domain::change::Version(settled.version()).is_watermark());
        let empty = FeedState {
            top: None,
            floor: 3,
            ..settled
        };
        assert_eq!(empty.version(), 3);
    }

    #[test]
    fn locks_are_sorted_deduplicated_and_only_integers() {
        let o = org();
        let l = WriteLocks::shared()
            .row(&o, ResourceKind::Token, "b")
            .row(&o, ResourceKind::Token, "a'; DROP TABLE tokens; --")
            .row(&o, ResourceKind::Token, "b");
        let sql = l.begin(Engine::Postgres, &o);
        assert!(sql.starts_with("BEGIN; SELECT pg_advisory_xact_lock_shared("));
        assert!(!sql.contains("DROP"));
        assert_eq!(sql.matches("pg_advisory_xact_lock(").count(), 2);
        let keys: Vec<i64> = sql
            .split("pg_advisory_xact_lock(")
            .skip(1)
            .map(|s| {
                s.split(')')
                    .next()
                    .unwrap_or("")
                    .parse()
                    .expect("integer key")
            })
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert!(
            WriteLocks::exclusive()
                .begin(Engine::Postgres, &o)
                .contains("pg_advisory_xact_lock(1330792241")
        );
        assert_eq!(l.begin(Engine::Sqlite, &o), "BEGIN IMMEDIATE");
    }
}
