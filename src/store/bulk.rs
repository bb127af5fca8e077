//! Token inserts: the multi-row `INSERT` both backends share, and the bulk
//! load behind `seed`. A bulk load runs in one transaction; when `tokens` is
//! empty it drops the table's secondary indexes first and rebuilds them at the
//! end, because sorting once beats a million random index inserts (ten indexes
//! made SQLite seeding I/O-bound at ~3k rows/s). Being one transaction, an
//! interrupted load leaves neither rows nor missing indexes behind.
//!
//! Each backend supplies `TOKEN_INDEXES` (a query for the droppable indexes'
//! names and definitions, read from the catalog so the migrations stay their
//! only source), `BULK_SETUP`/`BULK_RESET` (session settings for the load), `BULK_AFTER`
//! (run after the commit) and
//! `begin_write()`.

/// A batch of tokens to load; see `Store::bulk_load_tokens`.
pub type TokenBatches = tokio::sync::mpsc::Receiver<Vec<super::NewTokenRow>>;

macro_rules! bulk_store {
    ($store:ty, $db:ty, $engine:expr, $chunk:expr) => {
        impl $store {
            /// Inserts `rows` on `conn` as multi-row INSERTs of `$chunk` rows.
            async fn insert_rows(
                conn: &mut <$db as sqlx::Database>::Connection,
                rows: &[$crate::store::NewTokenRow],
            ) -> $crate::domain::Result<()> {
                use $crate::store::rows::{TOKEN_COLUMNS, TokenRow};
                let columns = format!("{TOKEN_COLUMNS}, secret_hash");
                for chunk in rows.chunks($chunk) {
                    let sql = $crate::store::sql::insert(
                        "tokens",
                        &columns,
                        chunk.len(),
                        TokenRow::COUNT + 1,
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for r in chunk {
                        q = TokenRow::from(&r.token).bind(q).bind(r.secret_hash.clone());
                    }
                    q.execute(&mut *conn).await?;
                }
                Ok(())
            }

            async fn bulk_load(
                &self,
                mut batches: $crate::store::bulk::TokenBatches,
            ) -> $crate::domain::Result<u64> {
                let mut tx = self.begin_write().await?;
                for stmt in Self::BULK_SETUP {
                    sqlx::query(*stmt).execute(&mut *tx).await?;
                }
                let existing: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM tokens LIMIT 1) t")
                        .fetch_one(&mut *tx)
                        .await?;
                let indexes: Vec<(String, String)> = if existing == 0 {
                    sqlx::query_as(Self::TOKEN_INDEXES)
                        .fetch_all(&mut *tx)
                        .await?
                } else {
                    Vec::new()
                };
                for (name, _) in &indexes {
                    let drop = format!("DROP INDEX \"{}\"", name.replace('"', "\"\""));
                    sqlx::query(sqlx::AssertSqlSafe(drop))
                        .execute(&mut *tx)
                        .await?;
                }
                let mut n = 0u64;
                let mut orgs = std::collections::BTreeSet::new();
                while let Some(batch) = batches.recv().await {
                    Self::insert_rows(&mut tx, &batch).await?;
                    orgs.extend(batch.iter().map(|r| r.token.org_id.clone()));
                    n += batch.len() as u64;
                }
                // No event per loaded row: the load moves each organization's
                // feed on by one version and raises its floor there, so a
                // watch from before it is told to re-list instead of
                // silently missing the rows.
                // (PostgreSQL numbers by transaction: a marker change of
                // its own resource kind, which no watch reads, is that
                // version, so the organization's version moves too.)
                let moved = match Self::ENGINE {
                    $crate::store::sql::Engine::Sqlite => {
                        "INSERT INTO org_versions (org_id, version, floor) VALUES ($1, 1, 1) \
                         ON CONFLICT (org_id) DO UPDATE SET version = org_versions.version + 1, \
                         floor = org_versions.version + 1"
                    }
                    $crate::store::sql::Engine::Postgres => {
                        "WITH m AS (INSERT INTO changes (org_id, version, resource, kind, resource_id, changed_at) \
                         VALUES ($1, (pg_current_xact_id()::text::bigint << 24) + 1, 'load', 'loaded', '', \
                         (extract(epoch FROM clock_timestamp()) * 1000000)::bigint) RETURNING version) \
                         INSERT INTO org_versions (org_id, version, floor) SELECT $1, 0, version FROM m \
                         ON CONFLICT (org_id) DO UPDATE SET floor = excluded.floor"
                    }
                };
                for org_id in &orgs {
                    sqlx::query(moved).bind(org_id).execute(&mut *tx).await?;
                }
                for (_, create) in indexes {
                    sqlx::query(sqlx::AssertSqlSafe(create))
                        .execute(&mut *tx)
                        .await?;
                }
                for stmt in Self::BULK_RESET {
                    sqlx::query(*stmt).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                for stmt in Self::BULK_AFTER {
                    sqlx::query(*stmt).execute(&self.pool).await?;
                }
                Ok(n)
            }
        }
    };
}

pub(crate) use bulk_store;
