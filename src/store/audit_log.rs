//! The audit table's SQL, shared by both backends like `sql_store!`:
//! batches of events from the sink, one event inside a write's
//! transaction, a filtered page (newest first), and retention.

use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::ids::{KeyId, OrgId};
use crate::domain::{Error, Result, Timestamp};

/// Columns of `audit_events`, in insert and select order.
pub const AUDIT_COLUMNS: &str = "org_id, id, at, key_id, user_id, kind, method, dialect, \
     filter_hash, rows, outcome, http_status, request_id, trace_id";
/// Placeholders per row.
pub const AUDIT_COUNT: usize = 14;
/// Rows per INSERT statement.
pub const AUDIT_CHUNK: usize = 50;

/// `events` cut into INSERT statements: chunks of `AUDIT_CHUNK` rows, then
/// the rest in powers of two (32, 16, .., 1). A batch is whatever queued in
/// one linger, so its last chunk could be any size from 1 to 49, each size
/// a statement text of its own: the per-connection statement caches then
/// missed, and parsing the INSERT was ~7% of a 304's instructions. With
/// powers of two there are at most 7 texts.
pub fn audit_chunks<T>(events: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = events;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = if rest.len() >= AUDIT_CHUNK {
            AUDIT_CHUNK
        } else {
            1 << rest.len().ilog2()
        };
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

/// A stored row, as read back.
pub type AuditRow = (
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<i32>,
    String,
    String,
);

pub fn decode(r: AuditRow) -> Result<AuditEvent> {
    let (org, id, at, key, user, kind, method, dialect, filter_hash, rows, outcome, http, rid, tid) =
        r;
    Ok(AuditEvent {
        org_id: OrgId::from_trusted(org),
        id,
        at: Timestamp::from_micros(at),
        key_id: KeyId::from_trusted(key),
        user_id: user,
        kind: AuditKind::parse(&kind)
            .ok_or_else(|| Error::Internal("corrupt audit kind".into()))?,
        method,
        dialect,
        filter_hash,
        rows: rows.max(0) as u64,
        outcome,
        http_status: http.and_then(|h| u16::try_from(h).ok()),
        request_id: rid,
        trace_id: tid,
    })
}

macro_rules! audit_log {
    ($store:ty, $db:ty, $engine:expr) => {
        impl $store {
            /// Binds `e`'s [`AUDIT_COLUMNS`](crate::store::audit_log::AUDIT_COLUMNS) in order.
            fn bind_audit<'q>(
                q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                e: &'q $crate::domain::audit::AuditEvent,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                q.bind(&e.org_id)
                    .bind(e.id.as_str())
                    .bind(e.at.micros())
                    .bind(&e.key_id)
                    .bind(e.user_id.as_deref())
                    .bind(e.kind.as_str())
                    .bind(e.method.as_str())
                    .bind(e.dialect.as_str())
                    .bind(e.filter_hash.as_str())
                    .bind(i64::try_from(e.rows).unwrap_or(i64::MAX))
                    .bind(e.outcome.as_str())
                    .bind(e.http_status.map(i32::from))
                    .bind(e.request_id.as_str())
                    .bind(e.trace_id.as_str())
            }

            /// Inserts `events` with `conn` (in the chunks of `audit_chunks`).
            async fn audit_insert(
                conn: &mut <$db as sqlx::Database>::Connection,
                events: &[$crate::domain::audit::AuditEvent],
            ) -> Result<()> {
                use $crate::store::audit_log::{AUDIT_COLUMNS, AUDIT_COUNT, audit_chunks};
                for chunk in audit_chunks(events) {
                    let sql = $crate::store::sql::insert_for(
                        $engine,
                        "audit_events",
                        AUDIT_COLUMNS,
                        chunk.len(),
                        AUDIT_COUNT,
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql));
                    for e in chunk {
                        q = Self::bind_audit(q, e);
                    }
                    q.execute(&mut *conn).await?;
                }
                Ok(())
            }

            async fn audit_insert_batch(
                &self,
                events: &[$crate::domain::audit::AuditEvent],
            ) -> Result<()> {
                if events.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                Self::audit_insert(&mut tx, events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn audit_list(
                &self,
                org_id: &OrgId,
                q: &$crate::domain::audit::AuditQuery,
            ) -> Result<Vec<$crate::domain::audit::AuditEvent>> {
                use $crate::store::sql::Param;
                let mut sql = format!(
                    "SELECT {} FROM audit_events WHERE org_id = $1",
                    $crate::store::audit_log::AUDIT_COLUMNS
                );
                let mut params = vec![Param::Text(org_id.to_string())];
                let mut push = |sql: &mut String, cond: &str, p: Param| {
                    params.push(p);
                    sql.push_str(&cond.replace('?', &format!("${}", params.len())));
                };
                if let Some(k) = &q.key_id {
                    push(&mut sql, " AND key_id = ?", Param::Text(k.clone()));
                }
                if let Some(u) = &q.user_id {
                    push(&mut sql, " AND user_id = ?", Param::Text(u.clone()));
                }
                if let Some(k) = q.kind {
                    push(
                        &mut sql,
                        " AND kind = ?",
                        Param::Text(k.as_str().to_owned()),
                    );
                }
                if let Some(f) = q.from {
                    push(&mut sql, " AND at >= ?", Param::Int(f.micros()));
                }
                if let Some(t) = q.to {
                    push(&mut sql, " AND at < ?", Param::Int(t.micros()));
                }
                if let Some((at, id)) = &q.before {
                    push(&mut sql, " AND (at < ?", Param::Int(at.micros()));
                    push(&mut sql, " OR (at = ?", Param::Int(at.micros()));
                    push(&mut sql, " AND id < ?))", Param::Text(id.clone()));
                }
                sql.push_str(&format!(" ORDER BY at DESC, id DESC LIMIT {}", q.limit));
                let rows: Vec<$crate::store::audit_log::AuditRow> =
                    bind_params!(sqlx::query_as(AssertSqlSafe(sql)), params)
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter()
                    .map($crate::store::audit_log::decode)
                    .collect()
            }

            async fn audit_trim(&self, before: Timestamp, limit: u32) -> Result<u64> {
                let n = sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM audit_events WHERE (org_id, id) IN \
                     (SELECT org_id, id FROM audit_events WHERE at < $1 LIMIT {limit})"
                )))
                .bind(before.micros())
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(n)
            }
        }
    };
}

pub(crate) use audit_log;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event once, in order, in at most 7 distinct chunk sizes.
    #[test]
    fn chunks_cover_every_event_in_few_sizes() {
        let mut sizes = std::collections::BTreeSet::new();
        for n in 0..=260usize {
            let events: Vec<usize> = (0..n).collect();
            let chunks: Vec<&[usize]> = audit_chunks(&events).collect();
            assert_eq!(chunks.concat(), events, "{n} events");
            sizes.extend(chunks.iter().map(|c| c.len()));
        }
        assert_eq!(
            sizes.into_iter().collect::<Vec<_>>(),
            vec![1, 2, 4, 8, 16, 32, 50]
        );
    }
}
