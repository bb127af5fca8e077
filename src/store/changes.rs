//! The change log's SQL, shared by both backends like `sql_store!`: append
//! a write's events inside its transaction, read them back after a version.
//!
//! Ordering: `append` bumps the organization's counter row in
//! `org_versions` (an upsert that returns the new last version) and must be
//! the last statement of the writing transaction before COMMIT. The row
//! lock it takes is held until the commit, so a second writer of the same
//! organization gets the next versions only after the first has committed:
//! one organization's versions become visible in order, and a reader that
//! sees version n sees every version below it. (On SQLite every write holds
//! the database's write lock anyway.) docs/change-feed.md compares this
//! with reading up to a snapshot watermark.

use crate::domain::change::{Change, ChangeKind, ChangePage, ResourceKind, Version};
use crate::domain::ids::OrgId;
use crate::domain::model::{Client, Token};
use crate::domain::{Error, Result, Timestamp};

use super::rows::{ClientRow, TokenRow};
use super::sql::Engine;

/// Columns of `changes`, in insert order.
pub const CHANGE_COLUMNS: &str =
    "org_id, version, resource, kind, resource_id, before, after, changed_at";
/// Placeholders per row of [`CHANGE_COLUMNS`].
pub const CHANGE_COUNT: usize = 8;
/// Wake-up hints buffered per watcher; a watcher that lags behind more
/// just reads the feed (a lost hint costs a read, never an event).
pub const SIGNALS: usize = 256;
/// Rows per INSERT statement.
pub const CHANGE_CHUNK: usize = 100;

/// One event ready to be written: its resource kind and the JSON copies.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    pub resource: ResourceKind,
    pub kind: ChangeKind,
    pub id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A row kind the feed records: its kind name, id and JSON copy.
pub trait Recorded {
    const RESOURCE: ResourceKind;
    fn id(&self) -> String;
    fn json(&self) -> String;
}

impl Recorded for Token {
    const RESOURCE: ResourceKind = ResourceKind::Token;
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn json(&self) -> String {
        TokenRow::from(self).to_json().to_string()
    }
}

impl Recorded for Client {
    const RESOURCE: ResourceKind = ResourceKind::Client;
    fn id(&self) -> String {
        self.id.to_string()
    }
    fn json(&self) -> String {
        ClientRow::from(self).to_json().to_string()
    }
}

/// The event of a write that turned `before` into `after`.
pub fn change<T: Recorded>(
    kind: ChangeKind,
    before: Option<&T>,
    after: Option<&T>,
) -> ChangeRecord {
    ChangeRecord {
        resource: T::RESOURCE,
        kind,
        id: after.or(before).map(T::id).unwrap_or_default(),
        before: before.map(T::json),
        after: after.map(T::json),
    }
}

/// A stored event as read back, before its JSON is decoded.
pub type StoredChange = (i64, String, String, Option<String>, Option<String>, i64);

/// Events appended with their write's audit event in one statement (one
/// round trip; larger appends take the chunked path).
pub const ONE_STATEMENT_EVENTS: usize = 32;
/// Parameters per event in [`one_statement_append`].
const EVENT_PARAMS: usize = 7;

/// The append as one statement, and on SQLite one round trip to its
/// connection's thread: bump the organization's counter by `rows`, insert
/// the events numbered below the new value, and, with `audit`, the call's
/// audit event. Parameters: org, rows, then per event its ordinal from 1
/// and the event's columns, then the audit event's
/// ([`super::audit_log::AUDIT_COLUMNS`]). PostgreSQL runs the inserts as
/// data-modifying WITH clauses; SQLite, which has none, as three statements
/// of one query string (sqlx numbers `$n` across them).
pub fn one_statement_append(engine: Engine, rows: usize, audit: bool) -> String {
    use super::audit_log::{AUDIT_COLUMNS, AUDIT_COUNT};
    let pg = engine == Engine::Postgres;
    let casts = [
        "::bigint", "::text", "::text", "::text", "::text", "::text", "::bigint",
    ];
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let cells: Vec<String> = (0..EVENT_PARAMS)
                .map(|i| {
                    let cast = if pg { casts[i] } else { "" };
                    format!("${}{cast}", r * EVENT_PARAMS + i + 3)
                })
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    let values = values.join(", ");
    let audit_values = audit.then(|| {
        let first = rows * EVENT_PARAMS + 3;
        let cells: Vec<String> = (first..first + AUDIT_COUNT)
            .map(|n| format!("${n}"))
            .collect();
        format!(
            "INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES ({})",
            cells.join(", ")
        )
    });
    let bump = "INSERT INTO org_versions (org_id, version) VALUES ($1, $2) \
         ON CONFLICT (org_id) DO UPDATE SET version = org_versions.version + excluded.version";
    if pg {
        let audit = audit_values
            .map(|a| format!("a AS ({a}), "))
            .unwrap_or_default();
        format!(
            "WITH {audit}v AS ({bump} RETURNING version) \
             INSERT INTO changes ({CHANGE_COLUMNS}) \
             SELECT $1, v.version - $2 + e.k, e.resource, e.kind, e.resource_id, e.before, e.after, e.changed_at \
             FROM v, (VALUES {values}) AS e (k, resource, kind, resource_id, before, after, changed_at)"
        )
    } else {
        let audit = audit_values.map(|a| format!("{a}; ")).unwrap_or_default();
        format!(
            "{audit}{bump}; \
             INSERT INTO changes ({CHANGE_COLUMNS}) \
             SELECT $1, (SELECT version FROM org_versions WHERE org_id = $1) - $2 + e.column1, \
             e.column2, e.column3, e.column4, e.column5, e.column6, e.column7 \
             FROM (VALUES {values}) AS e"
        )
    }
}

/// The stored changes' time column for `at`.
pub fn micros(at: Timestamp) -> i64 {
    at.micros()
}

/// Decodes stored changes of one resource kind into a page.
pub fn decode<R, T>(
    org_id: &OrgId,
    (rows, head, floor): (Vec<StoredChange>, i64, i64),
    from_json: fn(&serde_json::Value) -> Option<R>,
) -> Result<ChangePage<T>>
where
    T: TryFrom<R, Error = Error>,
{
    let copy = |json: Option<String>| -> Result<Option<T>> {
        json.map(|j| {
            serde_json::from_str(&j)
                .ok()
                .and_then(|v| from_json(&v))
                .ok_or_else(|| Error::Internal("corrupt change record".into()))
                .and_then(T::try_from)
        })
        .transpose()
    };
    let changes = rows
        .into_iter()
        .map(|(version, kind, id, before, after, at)| {
            Ok(Change {
                org_id: org_id.clone(),
                version: Version(version),
                kind: ChangeKind::parse(&kind)
                    .ok_or_else(|| Error::Internal("corrupt change kind".into()))?,
                id,
                before: copy(before)?,
                after: copy(after)?,
                at: Timestamp::from_micros(at),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ChangePage {
        changes,
        head: Version(head),
        floor: Version(floor),
    })
}

macro_rules! change_log {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Appends `records` for `org_id` with the next versions, and
            /// the call's `audit` event; the last statement before the
            /// transaction commits (see the module's ordering note).
            /// Returns the number of events written.
            async fn append_changes(
                conn: &mut <$db as sqlx::Database>::Connection,
                org_id: &$crate::domain::ids::OrgId,
                records: &[$crate::store::changes::ChangeRecord],
                audit: Option<&$crate::domain::audit::AuditEvent>,
            ) -> $crate::domain::Result<i64> {
                let at = $crate::domain::Timestamp::now();
                use $crate::store::changes::{CHANGE_CHUNK, CHANGE_COLUMNS, CHANGE_COUNT};
                let n = records.len() as i64;
                if !records.is_empty() && records.len() <= $crate::store::changes::ONE_STATEMENT_EVENTS {
                    // One statement, one round trip: the counter's row lock
                    // is held for it and the COMMIT only.
                    let sql = $crate::store::changes::one_statement_append(Self::ENGINE, records.len(), audit.is_some());
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org_id).bind(n);
                    for (k, r) in records.iter().enumerate() {
                        q = q
                            .bind(k as i64 + 1)
                            .bind(r.resource.as_str())
                            .bind(r.kind.as_str())
                            .bind(r.id.as_str())
                            .bind(r.before.as_deref())
                            .bind(r.after.as_deref())
                            .bind($crate::store::changes::micros(at));
                    }
                    if let Some(e) = audit {
                        q = Self::bind_audit(q, e);
                    }
                    q.execute(&mut *conn).await?;
                    return Ok(n);
                }
                if let Some(e) = audit {
                    Self::audit_insert(&mut *conn, std::slice::from_ref(e)).await?;
                }
                if records.is_empty() {
                    return Ok(0);
                }
                let last: i64 = sqlx::query_scalar(
                    "INSERT INTO org_versions (org_id, version) VALUES ($1, $2) \
                     ON CONFLICT (org_id) DO UPDATE SET version = org_versions.version + excluded.version \
                     RETURNING version",
                )
                .bind(org_id)
                .bind(n)
                .fetch_one(&mut *conn)
                .await?;
                let mut version = last - n;
                for chunk in records.chunks(CHANGE_CHUNK) {
                    let sql = $crate::store::sql::insert("changes", CHANGE_COLUMNS, chunk.len(), CHANGE_COUNT);
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for r in chunk {
                        version += 1;
                        q = q
                            .bind(org_id)
                            .bind(version)
                            .bind(r.resource.as_str())
                            .bind(r.kind.as_str())
                            .bind(r.id.as_str())
                            .bind(r.before.as_deref())
                            .bind(r.after.as_deref())
                            .bind($crate::store::changes::micros(at));
                    }
                    q.execute(&mut *conn).await?;
                }
                Ok(n)
            }

            /// Appends `records` and the call's audit event (one per call:
            /// a later write of the same call adds none; see
            /// `append_changes`), commits, and wakes the organization's
            /// watchers (`announce`: this process's at once, other
            /// replicas' through PostgreSQL's NOTIFY).
            async fn commit_changes(
                &self,
                mut tx: sqlx::Transaction<'static, $db>,
                org_id: &$crate::domain::ids::OrgId,
                records: &[$crate::store::changes::ChangeRecord],
            ) -> $crate::domain::Result<()> {
                let audit = $crate::audit::current().and_then(|c| c.write_event(records.len() as u64));
                let written = Self::append_changes(&mut tx, org_id, records, audit.as_ref()).await?;
                tx.commit().await?;
                if written > 0 {
                    self.announce(org_id);
                }
                Ok(())
            }

            /// Raises the organization's floor to `floor` (never lowers it)
            /// and deletes up to `limit` kept changes at or below the floor,
            /// oldest first, in one short transaction; returns how many.
            async fn trim_feed(
                &self,
                org_id: &$crate::domain::ids::OrgId,
                floor: i64,
                limit: u32,
            ) -> $crate::domain::Result<u64> {
                let mut tx = self.begin_write().await?;
                let (head, old) = Self::feed_position(&mut tx, org_id).await?;
                let floor = floor.min(head).max(old);
                if floor > old {
                    sqlx::query("UPDATE org_versions SET floor = $1 WHERE org_id = $2")
                        .bind(floor)
                        .bind(org_id)
                        .execute(&mut *tx)
                        .await?;
                }
                let lowest: Option<i64> =
                    sqlx::query_scalar("SELECT MIN(version) FROM changes WHERE org_id = $1")
                        .bind(org_id)
                        .fetch_one(&mut *tx)
                        .await?;
                let Some(lowest) = lowest.filter(|l| *l <= floor) else {
                    tx.commit().await?;
                    return Ok(0);
                };
                let upto = floor.min(lowest.saturating_add(i64::from(limit)) - 1);
                let n = sqlx::query("DELETE FROM changes WHERE org_id = $1 AND version <= $2")
                    .bind(org_id)
                    .bind(upto)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n)
            }

            /// The newest version committed before `before` (0 if none).
            async fn version_before(
                &self,
                org_id: &$crate::domain::ids::OrgId,
                before: $crate::domain::Timestamp,
            ) -> $crate::domain::Result<i64> {
                let v: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(version) FROM changes WHERE org_id = $1 AND changed_at < $2",
                )
                .bind(org_id)
                .bind(before.micros())
                .fetch_one(&self.pool)
                .await?;
                Ok(v.unwrap_or(0))
            }

            /// The organization's last version and floor (0, 0 before any change).
            async fn feed_position(
                conn: &mut <$db as sqlx::Database>::Connection,
                org_id: &$crate::domain::ids::OrgId,
            ) -> $crate::domain::Result<(i64, i64)> {
                let row: Option<(i64, i64)> =
                    sqlx::query_as("SELECT version, floor FROM org_versions WHERE org_id = $1")
                        .bind(org_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                Ok(row.unwrap_or((0, 0)))
            }

            /// Up to `limit` stored changes of `resource` after `after`, up
            /// to the head read first (so the page is a gap-free prefix),
            /// with that head and the floor.
            async fn read_changes(
                &self,
                org_id: &$crate::domain::ids::OrgId,
                resource: $crate::domain::change::ResourceKind,
                after: i64,
                limit: u32,
            ) -> $crate::domain::Result<(Vec<$crate::store::changes::StoredChange>, i64, i64)> {
                let mut conn = self.pool.acquire().await?;
                let (head, floor) = Self::feed_position(&mut conn, org_id).await?;
                if after < floor || after >= head {
                    return Ok((Vec::new(), head, floor));
                }
                let rows: Vec<$crate::store::changes::StoredChange> = sqlx::query_as(
                    "SELECT version, kind, resource_id, before, after, changed_at FROM changes \
                     WHERE org_id = $1 AND version > $2 AND version <= $3 AND resource = $4 \
                     ORDER BY version LIMIT $5",
                )
                .bind(org_id)
                .bind(after)
                .bind(head)
                .bind(resource.as_str())
                .bind(i64::from(limit))
                .fetch_all(&mut *conn)
                .await?;
                Ok((rows, head, floor))
            }
        }
    };
}

pub(crate) use change_log;
