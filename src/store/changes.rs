//! The change log's SQL, shared by both backends like `sql_store!`: append
//! a write's events inside its transaction, read them back after a version.
//!
//! Ordering (`versions.rs`): on SQLite `append` bumps the organization's
//! counter row in `org_versions` as the last statement before COMMIT, under
//! the database's write lock; on PostgreSQL a change's version comes from
//! its transaction's id, the write took its advisory locks in its `BEGIN`,
//! and readers stop at the watermark. Either way a reader that sees
//! version n sees every version below it.

use crate::domain::change::{Change, ChangeKind, ChangePage, ResourceKind, Version};
use crate::domain::ids::OrgId;
use crate::domain::model::{Client, Token};
use crate::domain::{Error, Result, Timestamp};

use super::rows::{ClientRow, TokenRow};

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

/// The stored changes' time column for `at`.
pub fn micros(at: Timestamp) -> i64 {
    at.micros()
}

/// Decodes stored changes of one resource kind into a page.
pub fn decode<R, T>(
    org_id: &OrgId,
    (rows, state): (Vec<StoredChange>, super::versions::FeedState),
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
        head: Version(state.head),
        floor: Version(state.floor),
        pending: state.pending(),
    })
}

macro_rules! change_log {
    ($store:ty, $db:ty) => {
        impl $store {
            /// The SQL of a one-statement append (`append_sql.rs`), with a
            /// token's insert first when `lead`.
            fn one_statement_sql(events: usize, audit: bool, lead: bool) -> String {
                use $crate::store::rows::{TOKEN_COLUMNS, TokenRow};
                let columns = format!("{TOKEN_COLUMNS}, secret_hash");
                let lead_sql = lead.then(|| $crate::store::sql::insert("tokens", &columns, 1, TokenRow::COUNT + 1));
                let lead_arg = lead_sql.as_deref().map(|l| (l, TokenRow::COUNT + 1));
                $crate::store::append_sql::one_statement_append(Self::ENGINE, events, audit, lead_arg)
            }

            /// `sql` (from `one_statement_sql`, possibly wrapped in more
            /// statements without parameters) with its parameters bound.
            fn one_statement_query<'q>(
                sql: String,
                org_id: &'q $crate::domain::ids::OrgId,
                records: &'q [$crate::store::changes::ChangeRecord],
                audit: Option<&'q $crate::domain::audit::AuditEvent>,
                lead: Option<&'q $crate::store::NewTokenRow>,
                at: i64,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                if let Some(r) = lead {
                    q = $crate::store::rows::TokenRow::from(&r.token).bind(q).bind(r.secret_hash.clone());
                }
                q = q.bind(org_id).bind(records.len() as i64);
                for (k, r) in records.iter().enumerate() {
                    q = q
                        .bind(k as i64 + 1)
                        .bind(r.resource.as_str())
                        .bind(r.kind.as_str())
                        .bind(r.id.as_str())
                        .bind(r.before.as_deref())
                        .bind(r.after.as_deref())
                        .bind(at);
                }
                if let Some(e) = audit {
                    q = Self::bind_audit(q, e);
                }
                q
            }

            /// Appends `records` for `org_id` with the next versions, and
            /// the call's `audit` event; the last statement before the
            /// transaction commits (see the module's ordering note).
            /// Returns the number of events written.
            async fn append_changes(
                conn: &mut <$db as sqlx::Database>::Connection,
                org_id: &$crate::domain::ids::OrgId,
                records: &[$crate::store::changes::ChangeRecord],
                audit: Option<&$crate::domain::audit::AuditEvent>,
                lead: Option<&$crate::store::NewTokenRow>,
            ) -> $crate::domain::Result<i64> {
                let at = $crate::domain::Timestamp::now();
                use $crate::store::changes::{CHANGE_CHUNK, CHANGE_COLUMNS, CHANGE_COUNT};
                let n = records.len() as i64;
                if !records.is_empty() && records.len() <= $crate::store::append_sql::ONE_STATEMENT_EVENTS {
                    // One statement, one round trip (SQLite: one hand-off to
                    // its connection's thread), with the token insert first
                    // when there is one.
                    let sql = Self::one_statement_sql(records.len(), audit.is_some(), lead.is_some());
                    Self::one_statement_query(sql, org_id, records, audit, lead, at.micros())
                        .execute(&mut *conn)
                        .await?;
                    return Ok(n);
                }
                if let Some(r) = lead {
                    Self::insert_rows(&mut *conn, std::slice::from_ref(r)).await?;
                }
                if let Some(e) = audit {
                    Self::audit_insert(&mut *conn, std::slice::from_ref(e)).await?;
                }
                if records.is_empty() {
                    return Ok(0);
                }
                let mut version: i64 = match Self::ENGINE {
                    $crate::store::sql::Engine::Postgres => {
                        if records.len() > $crate::store::versions::MAX_CHANGES_PER_TRANSACTION {
                            return Err($crate::domain::Error::Internal("too many changes for one transaction".into()));
                        }
                        sqlx::query_scalar($crate::store::versions::PG_TRANSACTION_BASE)
                            .fetch_one(&mut *conn)
                            .await?
                    }
                    $crate::store::sql::Engine::Sqlite => {
                        let last: i64 = sqlx::query_scalar(
                            "INSERT INTO org_versions (org_id, version) VALUES ($1, $2) \
                             ON CONFLICT (org_id) DO UPDATE SET version = org_versions.version + excluded.version \
                             RETURNING version",
                        )
                        .bind(org_id)
                        .bind(n)
                        .fetch_one(&mut *conn)
                        .await?;
                        last - n
                    }
                };
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
                tx: $crate::store::write_tx::WriteTx<$db>,
                org_id: &$crate::domain::ids::OrgId,
                records: &[$crate::store::changes::ChangeRecord],
            ) -> $crate::domain::Result<()> {
                self.commit_changes_after(tx, org_id, records, None).await
            }

            /// As `commit_changes`, inserting `lead` (a token) in the same
            /// round trip as the events.
            async fn commit_changes_after(
                &self,
                mut tx: $crate::store::write_tx::WriteTx<$db>,
                org_id: &$crate::domain::ids::OrgId,
                records: &[$crate::store::changes::ChangeRecord],
                lead: Option<&$crate::store::NewTokenRow>,
            ) -> $crate::domain::Result<()> {
                let audit = $crate::audit::current().and_then(|c| c.write_event(records.len() as u64));
                let written = Self::append_changes(&mut tx, org_id, records, audit.as_ref(), lead).await?;
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
                let state = Self::feed_state(&mut tx, org_id).await?;
                let (head, old) = (state.head, state.floor);
                let floor = floor.min(head).max(old);
                if floor > old {
                    // Upserted: on PostgreSQL writes keep no counter row.
                    sqlx::query(
                        "INSERT INTO org_versions (org_id, version, floor) VALUES ($2, 0, $1) \
                         ON CONFLICT (org_id) DO UPDATE SET floor = excluded.floor",
                    )
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

            /// The newest version that leaves the newest `keep` changes
            /// above it (0 if there are no more than `keep`); versions
            /// have gaps on PostgreSQL, so it is read, not subtracted.
            async fn version_keeping(&self, org_id: &$crate::domain::ids::OrgId, keep: u64) -> $crate::domain::Result<i64> {
                let v: Option<i64> = sqlx::query_scalar(
                    "SELECT version FROM changes WHERE org_id = $1 ORDER BY version DESC LIMIT 1 OFFSET $2",
                )
                .bind(org_id)
                .bind(i64::try_from(keep).unwrap_or(i64::MAX))
                .fetch_optional(&self.pool)
                .await?;
                Ok(v.unwrap_or(0))
            }

            /// Where the organization's feed stands (`versions.rs`).
            async fn feed_state(
                conn: &mut <$db as sqlx::Database>::Connection,
                org_id: &$crate::domain::ids::OrgId,
            ) -> $crate::domain::Result<$crate::store::versions::FeedState> {
                let (head, floor, top): (i64, i64, Option<i64>) =
                    sqlx::query_as($crate::store::versions::feed_state_sql(Self::ENGINE))
                        .bind(org_id)
                        .fetch_one(&mut *conn)
                        .await?;
                Ok($crate::store::versions::FeedState { head, floor, top })
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
            ) -> $crate::domain::Result<(Vec<$crate::store::changes::StoredChange>, $crate::store::versions::FeedState)> {
                let mut conn = self.pool.acquire().await?;
                let state = Self::feed_state(&mut conn, org_id).await?.for_readers();
                let (head, floor) = (state.head, state.floor);
                if after < floor || after >= head {
                    return Ok((Vec::new(), state));
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
                Ok((rows, state))
            }
        }
    };
}

pub(crate) use change_log;
