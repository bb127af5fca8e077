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
    ($store:ty, $db:ty, $dialect:expr, $chunk:expr) => {
        impl $store {
            /// Inserts `rows` on `conn` as multi-row INSERTs of `$chunk` rows.
            async fn insert_rows(
                conn: &mut <$db as sqlx::Database>::Connection,
                rows: &[$crate::store::NewTokenRow],
            ) -> $crate::domain::Result<()> {
                use $crate::domain::Timestamp;
                use $crate::store::rows::to_json_list;
                for chunk in rows.chunks($chunk) {
                    let sql = $crate::store::sql::insert_tokens($dialect, chunk.len());
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for r in chunk {
                        let t = &r.token;
                        q = q
                            .bind(t.id.clone())
                            .bind(t.org_id.clone())
                            .bind(t.client_id.clone())
                            .bind(t.user_id.clone())
                            .bind(t.audience.clone())
                            .bind(t.subject.clone())
                            .bind(to_json_list(&t.scopes))
                            .bind(t.name.clone())
                            .bind(t.description.clone())
                            .bind(t.default_role.clone())
                            .bind(t.pkce.as_ref().map(|p| p.challenge.clone()))
                            .bind(t.pkce.as_ref().map(|p| p.method.as_str().to_owned()))
                            .bind(t.redirect_uri.as_deref())
                            .bind(t.kind.as_str())
                            .bind(t.secret_prefix.clone())
                            .bind(t.expires_at.micros())
                            .bind(t.created_at.micros())
                            .bind(t.updated_at.micros())
                            .bind(t.revoked_at.map(Timestamp::micros))
                            .bind(r.secret_hash.clone());
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
                while let Some(batch) = batches.recv().await {
                    Self::insert_rows(&mut tx, &batch).await?;
                    n += batch.len() as u64;
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
