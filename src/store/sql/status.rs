//! Status, in SQL. A token's status is derived from `revoked_at`,
//! `expires_at` and the walk's instant, so no index holds it: the status
//! filter is a predicate over those columns, and sorting by status is three
//! index-served runs, one per status.

use std::fmt::Write;

use super::{Engine, Sql, TOKEN_COLUMNS, token_where_slice};
use crate::domain::Timestamp;
use crate::domain::model::TokenStatus;
use crate::domain::query::{Direction, SortValue, TokenQuery};

/// Which tokens a status predicate may use: for the status sort's runs each
/// of active and expired is two index-served parts, tokens not revoked
/// (the `revoked_at IS NULL` partial index) and tokens revoked after the
/// walk's instant (a small range of the `revoked_at` index).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Slice {
    Both,
    Live,
    RevokedLater,
}

/// Status as of the walk's instant `now` (see `TokenStatus::at`): revoked
/// means revoked at or before it; a token revoked later is still active or
/// expired, so a walk sees each row in one status from start to end.
pub(super) fn status_clause(
    sql: &mut Sql,
    status: Option<TokenStatus>,
    now: Timestamp,
    slice: Slice,
) {
    let Some(status) = status else { return };
    if status == TokenStatus::Revoked {
        // `+ 0`: a filter only. As an index condition on revoked_at it would
        // tempt planners to read every revoked token and sort them, instead
        // of walking the revoked tokens' (org_id, id) index in order.
        sql.push(" AND revoked_at IS NOT NULL AND revoked_at + 0 <= ");
        sql.int(now.micros());
        return;
    }
    match slice {
        Slice::Both => {
            sql.push(" AND (revoked_at IS NULL OR revoked_at > ");
            sql.int(now.micros());
            sql.push(")");
        }
        Slice::Live => {
            sql.push(" AND revoked_at IS NULL");
        }
        Slice::RevokedLater => {
            sql.push(" AND revoked_at IS NOT NULL AND revoked_at > ");
            sql.int(now.micros());
        }
    }
    let op = if status == TokenStatus::Active {
        ">"
    } else {
        "<="
    };
    let _ = write!(sql.text, " AND expires_at {op} ");
    sql.int(now.micros());
}

impl Slice {
    fn suffix(self) -> &'static str {
        match self {
            Slice::Both => "",
            Slice::Live => "_live",
            Slice::RevokedLater => "_later",
        }
    }
}

/// Status is derived (it depends on the walk's instant `now`), so no index
/// can hold it. Sorting by (status, id) is instead the concatenation of three
/// id-ordered runs, one per status, each index-served: revoked tokens by the
/// partial index on revoked ones; active and expired each by the partial
/// index on live tokens plus the few revoked after the instant (a range of
/// the `revoked_at` index, sorted). A UNION ALL of at most five small,
/// limited subqueries is sorted by (rank, id). The cursor's rank skips the
/// runs already walked and its id seeks within the current one.
pub(super) fn list_tokens_by_status(engine: Engine, q: &TokenQuery) -> Sql {
    let ranks: [TokenStatus; 3] = [
        TokenStatus::Active,
        TokenStatus::Expired,
        TokenStatus::Revoked,
    ];
    let (cmp, d) = match q.sort.direction {
        Direction::Asc => (">", "ASC"),
        Direction::Desc => ("<", "DESC"),
    };
    let cursor = q.after.as_ref().map(|p| {
        let rank = match p.key {
            Some(SortValue::Int(r)) => r,
            _ => 0,
        };
        (rank, p.id.as_str())
    });
    let inner_limit = i64::from(q.limit).saturating_add(q.offset as i64);
    let mut sql = Sql::new(engine, "SELECT ");
    sql.push(TOKEN_COLUMNS).push(" FROM (");
    let mut first = true;
    for status in ranks {
        let rank = status.rank();
        // Runs entirely before the cursor's run are done.
        let skip = cursor.is_some_and(|(r, _)| match q.sort.direction {
            Direction::Asc => rank < r,
            Direction::Desc => rank > r,
        });
        if skip || q.filter.status.is_some_and(|s| s != status) {
            continue;
        }
        let slices: &[Slice] = match status {
            TokenStatus::Revoked => &[Slice::Both],
            _ => &[Slice::Live, Slice::RevokedLater],
        };
        for &slice in slices {
            if !first {
                sql.push(" UNION ALL ");
            }
            first = false;
            // SQLite's planner, seeing ORDER BY id, would walk every revoked
            // token by id to find the few revoked after the instant; the
            // revoked_at index finds them directly (then they are sorted).
            let from = match (slice, engine) {
                (Slice::RevokedLater, Engine::Sqlite) => "tokens INDEXED BY tokens_org_revoked_at",
                _ => "tokens",
            };
            let _ = write!(
                sql.text,
                "SELECT * FROM (SELECT {TOKEN_COLUMNS}, {rank} AS status_rank FROM {from}"
            );
            let mut filter = q.filter.clone();
            filter.status = Some(status);
            token_where_slice(&mut sql, &q.org_id, &filter, q.now, slice);
            if let Some((r, id)) = cursor
                && r == rank
            {
                let _ = write!(sql.text, " AND id {cmp} ");
                sql.text_param(id);
            }
            let _ = write!(sql.text, " ORDER BY id {d} ");
            sql.limit(inner_limit, 0);
            let _ = write!(sql.text, ") AS run{rank}{}", slice.suffix());
        }
    }
    if first {
        // Every run is excluded: an empty result of the right shape.
        sql.push("SELECT * FROM (SELECT ");
        sql.push(TOKEN_COLUMNS)
            .push(", 0 AS status_rank FROM tokens WHERE 1 = 0) AS none");
    }
    let _ = write!(sql.text, ") AS runs ORDER BY status_rank {d}, id {d} ");
    sql.limit(i64::from(q.limit), q.offset);
    sql
}

/// The four bounds of an organization's status window around `$2`
/// (`domain::freshness::StatusWindow`): the latest expiry and revocation
/// at or before it, the earliest after it. Each is one seek into an index
/// (`tokens_org_expires`, the partial `tokens_org_revoked_at`), so the
/// whole is four index probes whatever the organization's size.
pub const STATUS_WINDOW: &str = "SELECT \
     (SELECT expires_at FROM tokens WHERE org_id = $1 AND expires_at <= $2 ORDER BY expires_at DESC LIMIT 1), \
     (SELECT revoked_at FROM tokens WHERE org_id = $1 AND revoked_at IS NOT NULL AND revoked_at <= $2 ORDER BY revoked_at DESC LIMIT 1), \
     (SELECT expires_at FROM tokens WHERE org_id = $1 AND expires_at > $2 ORDER BY expires_at LIMIT 1), \
     (SELECT revoked_at FROM tokens WHERE org_id = $1 AND revoked_at IS NOT NULL AND revoked_at > $2 ORDER BY revoked_at LIMIT 1)";
