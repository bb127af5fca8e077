//! Bulk revoke and delete, shared by both backends like `sql_store!`: the
//! count and sample of a dry run, the job row that makes a confirmed run
//! resumable, and one batch: select the next tokens (locked on
//! PostgreSQL), act on them, record their change events and the job's
//! progress, all in one short transaction, so readers and writers wait at
//! most one batch and a crash loses at most the batch in flight (which
//! rolls back whole).

macro_rules! bulk_jobs {
    ($store:ty, $db:ty, $engine:expr) => {
        impl $store {
            fn bulk_sql(s: &$crate::domain::bulk::BulkSelection, limit: u32, lock: bool) -> $crate::store::sql::Sql {
                let unrevoked = s.action == $crate::domain::bulk::BulkAction::Revoke;
                sqlgen::bulk_tokens($engine, &s.org_id, &s.filter, Timestamp::now(), s.as_of, unrevoked, limit, lock)
            }

            async fn bulk_count(&self, s: &$crate::domain::bulk::BulkSelection) -> Result<u64> {
                let unrevoked = s.action == $crate::domain::bulk::BulkAction::Revoke;
                self.query_count(sqlgen::count_bulk($engine, &s.org_id, &s.filter, Timestamp::now(), s.as_of, unrevoked)).await
            }

            async fn bulk_sample(&self, s: &$crate::domain::bulk::BulkSelection, limit: u32) -> Result<Vec<Token>> {
                self.query_tokens(Self::bulk_sql(s, limit, false)).await
            }

            async fn bulk_find_job(&self, org_id: &OrgId, id: &str) -> Result<Option<$crate::domain::bulk::BulkJob>> {
                let row: Option<(i64, i64, i64, Option<i64>)> = sqlx::query_as(
                    "SELECT matched, done, acted_at, finished_at FROM bulk_jobs WHERE org_id = $1 AND id = $2",
                )
                .bind(org_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(matched, done, acted_at, finished)| $crate::domain::bulk::BulkJob {
                    matched: matched.max(0) as u64,
                    done: done.max(0) as u64,
                    acted_at: Timestamp::from_micros(acted_at),
                    finished: finished.is_some(),
                }))
            }

            async fn bulk_start_job(
                &self,
                s: &$crate::domain::bulk::BulkSelection,
                id: &str,
                matched: u64,
                acted_at: Timestamp,
            ) -> Result<$crate::domain::bulk::BulkJob> {
                // Two runs with one token: the first inserts, both continue it.
                sqlx::query(
                    "INSERT INTO bulk_jobs (org_id, id, action, matched, done, acted_at) VALUES ($1, $2, $3, $4, 0, $5) \
                     ON CONFLICT (org_id, id) DO NOTHING",
                )
                .bind(&s.org_id)
                .bind(id)
                .bind(s.action.as_str())
                .bind(i64::try_from(matched).unwrap_or(i64::MAX))
                .bind(acted_at.micros())
                .execute(&self.pool)
                .await?;
                self.bulk_find_job(&s.org_id, id)
                    .await?
                    .ok_or_else(|| $crate::domain::Error::Internal("bulk job vanished".into()))
            }

            async fn bulk_run_batch(
                &self,
                s: &$crate::domain::bulk::BulkSelection,
                id: &str,
                acted_at: Timestamp,
                limit: u32,
            ) -> Result<Option<u64>> {
                use $crate::domain::bulk::BulkAction;
                use $crate::store::versions::WriteLocks;
                // PostgreSQL: pick the batch, lock its rows (`versions.rs`),
                // then read it again in the transaction and keep what was
                // locked and still matches. SQLite's write lock covers all.
                let locks = match Self::ENGINE {
                    $crate::store::sql::Engine::Postgres => {
                        let sql = Self::bulk_sql(s, limit, false);
                        let picked: Vec<TokenRow> = bind_params!(sqlx::query_as(AssertSqlSafe(sql.text)), sql.params)
                            .fetch_all(&self.pool)
                            .await?;
                        Some(picked.into_iter().map(|r| r.id.to_string()).collect::<std::collections::HashSet<String>>())
                    }
                    $crate::store::sql::Engine::Sqlite => None,
                };
                let lock = match &locks {
                    Some(ids) => WriteLocks::shared().rows(&s.org_id, $crate::domain::change::ResourceKind::Token, ids.iter().map(String::as_str)),
                    None => WriteLocks::shared(),
                };
                let mut tx = self.begin_recorded(&s.org_id, lock).await?;
                let sql = Self::bulk_sql(s, limit, true);
                let rows: Vec<TokenRow> = bind_params!(sqlx::query_as(AssertSqlSafe(sql.text)), sql.params)
                    .fetch_all(&mut *tx)
                    .await?;
                let nothing_left = rows.is_empty();
                let before = rows
                    .into_iter()
                    .filter(|r| locks.as_ref().is_none_or(|ids| ids.contains(r.id.as_str())))
                    .map(Token::try_from)
                    .collect::<Result<Vec<_>>>()?;
                if before.is_empty() && !nothing_left {
                    // Matching rows, none of them locked: the next batch
                    // picks them.
                    tx.commit().await?;
                    return Ok(Some(0));
                }
                if before.is_empty() {
                    sqlx::query("UPDATE bulk_jobs SET finished_at = $1 WHERE org_id = $2 AND id = $3 AND finished_at IS NULL")
                        .bind(Timestamp::now().micros())
                        .bind(&s.org_id)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    return Ok(None);
                }
                let ids: Vec<&str> = before.iter().map(|t| t.id.as_str()).collect();
                // Revoke binds the time first; both then the org and the ids.
                let first = if s.action == BulkAction::Revoke { 3 } else { 2 };
                let list = (0..ids.len()).map(|i| format!("${}", i + first)).collect::<Vec<_>>().join(", ");
                let (sql, kind) = match s.action {
                    BulkAction::Revoke => (
                        format!("UPDATE tokens SET revoked_at = $1, updated_at = $1 WHERE org_id = $2 AND revoked_at IS NULL AND id IN ({list}) RETURNING {TOKEN_COLUMNS}"),
                        $crate::domain::change::ChangeKind::Revoked,
                    ),
                    BulkAction::Delete => (
                        format!("DELETE FROM tokens WHERE org_id = $1 AND id IN ({list}) RETURNING {TOKEN_COLUMNS}"),
                        $crate::domain::change::ChangeKind::Deleted,
                    ),
                };
                let mut q = sqlx::query_as::<_, TokenRow>(AssertSqlSafe(sql));
                if s.action == BulkAction::Revoke {
                    q = q.bind(acted_at.micros());
                }
                q = q.bind(&s.org_id);
                for id in &ids {
                    q = q.bind(*id);
                }
                let after = q.fetch_all(&mut *tx).await?;
                let mut by_id: std::collections::HashMap<String, Token> =
                    before.into_iter().map(|t| (t.id.to_string(), t)).collect();
                let mut records = Vec::with_capacity(after.len());
                for row in after {
                    let t = Token::try_from(row)?;
                    let old = by_id.remove(t.id.as_str());
                    records.push(match kind {
                        $crate::domain::change::ChangeKind::Deleted => changes::change(kind, Some(&t), None),
                        _ => changes::change(kind, old.as_ref(), Some(&t)),
                    });
                }
                let n = records.len() as u64;
                sqlx::query("UPDATE bulk_jobs SET done = done + $1 WHERE org_id = $2 AND id = $3")
                    .bind(n as i64)
                    .bind(&s.org_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                self.commit_changes(tx, &s.org_id, &records).await?;
                // Rows another writer revoked or deleted between the read
                // and the write (SQLite reads and writes under one lock;
                // PostgreSQL locks the rows) are skipped: `n` may be below
                // the batch, and the run goes on.
                Ok(Some(n))
            }
        }
    };
}

pub(crate) use bulk_jobs;
