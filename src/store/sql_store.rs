//! The body of `Store`, written once and instantiated for SQLite and
//! PostgreSQL. A macro rather than generics over `sqlx::Database`: the
//! statements are identical, and spelling out sqlx's per-type trait bounds for
//! every column would bury the SQL. Each backend supplies `pool`,
//! `begin_write()` (SQLite: `BEGIN IMMEDIATE`), `run_migrations()`, and the
//! listing reads `query_tokens()`/`query_count()` (SQLite runs those outside
//! sqlx, see `sqlite_read.rs`).
//! The writes that record change events live in `writes.rs`
//! (`recorded_writes!`), the change log's own SQL in `changes.rs`.

/// Binds `Param`s to any sqlx query type, in placeholder order.
macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut q = $query;
        for p in $params {
            q = match p {
                $crate::store::sql::Param::Text(s) => q.bind(s),
                $crate::store::sql::Param::Int(i) => q.bind(i),
                $crate::store::sql::Param::Bool(b) => q.bind(b),
            };
        }
        q
    }};
}

macro_rules! sql_store {
    ($store:ty, $db:ty, $engine:expr, $backend:literal) => {
        use $crate::store::list_column::to_json_list;
        use $crate::store::rows::{ApiKeyRow, ClientRow, OrgRow, TokenRow};
        use $crate::store::sql::{self as sqlgen, API_KEY_COLUMNS, CLIENT_COLUMNS, ORG_COLUMNS, TOKEN_COLUMNS};
        use $crate::store::{DeleteClientOutcome, NewTokenRow, OrgSummary, Store};
        use $crate::domain::auth::ApiKey;
        use $crate::domain::ids::{ClientId, KeyId, OrgId, TokenId};
        use $crate::domain::model::{Client, Org, Token};
        use $crate::domain::patch::{ClientPatch, TokenPatch};
        use $crate::domain::query::{ClientFilter, ClientQuery, TokenFilter, TokenQuery};
        use $crate::domain::{Result, Timestamp};
        use sqlx::AssertSqlSafe;
        use $crate::domain::change::{ChangeKind, ChangePage, Version};
        use $crate::domain::freshness::Preconditions;
        use $crate::store::changes;

        changes::change_log!($store, $db);
        $crate::store::writes::recorded_writes!($store, $db);
        $crate::store::bulk_jobs::bulk_jobs!($store, $db, $engine);
        $crate::store::audit_log::audit_log!($store, $db, $engine);


        impl $store {
            async fn fetch_token(
                conn: &mut <$db as sqlx::Database>::Connection,
                org_id: &OrgId,
                id: &TokenId,
            ) -> Result<Option<Token>> {
                let row: Option<TokenRow> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens WHERE org_id = $1 AND id = $2"
                )))
                .bind(org_id)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                row.map(Token::try_from).transpose()
            }

            async fn fetch_client(
                conn: &mut <$db as sqlx::Database>::Connection,
                org_id: &OrgId,
                id: &ClientId,
            ) -> Result<Option<Client>> {
                let row: Option<ClientRow> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients WHERE org_id = $1 AND id = $2"
                )))
                .bind(org_id)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                row.map(Client::try_from).transpose()
            }
        }

        #[async_trait::async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn pool_stats(&self) -> $crate::store::PoolStats {
                self.pool_sizes()
            }

            fn stream_run_rows(&self) -> u32 {
                <$store>::STREAM_RUN_ROWS
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn migrate(&self) -> Result<()> {
                self.run_migrations().await
            }

            async fn pending_migrations(&self) -> Result<Vec<i64>> {
                // No bookkeeping table yet means nothing was ever applied.
                let applied: Vec<i64> =
                    match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                        .fetch_all(&self.pool)
                        .await
                    {
                        Ok(v) => v,
                        Err(sqlx::Error::Database(_)) => Vec::new(),
                        Err(e) => return Err(e.into()),
                    };
                Ok(Self::migrator()
                    .iter()
                    .map(|m| m.version)
                    .filter(|v| !applied.contains(v))
                    .collect())
            }

            async fn server_key(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>> {
                sqlx::query("INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                    .bind(name)
                    .bind(candidate)
                    .execute(&self.pool)
                    .await?;
                let v: Vec<u8> = sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1")
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(v)
            }

            async fn insert_org(&self, org: &Org) -> Result<()> {
                let sql = sqlgen::insert("orgs", ORG_COLUMNS, 1, OrgRow::COUNT);
                OrgRow::from(org)
                    .bind(sqlx::query(AssertSqlSafe(sql)))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn find_org(&self, id: &OrgId) -> Result<Option<Org>> {
                let row: Option<OrgRow> =
                    sqlx::query_as(AssertSqlSafe(format!("SELECT {ORG_COLUMNS} FROM orgs WHERE id = $1")))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(Org::from))
            }

            async fn find_org_by_name(&self, name: &str) -> Result<Option<Org>> {
                let row: Option<OrgRow> =
                    sqlx::query_as(AssertSqlSafe(format!("SELECT {ORG_COLUMNS} FROM orgs WHERE name = $1")))
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(Org::from))
            }

            async fn list_orgs(&self) -> Result<Vec<OrgSummary>> {
                let rows: Vec<(OrgId, String, i64, i64, i64, i64)> = sqlx::query_as(
                    "SELECT o.id, o.name, o.created_at, \
                     (SELECT COUNT(*) FROM api_keys k WHERE k.org_id = o.id), \
                     (SELECT COUNT(*) FROM clients c WHERE c.org_id = o.id), \
                     (SELECT COUNT(*) FROM tokens t WHERE t.org_id = o.id) \
                     FROM orgs o ORDER BY o.name",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, name, created_at, keys, clients, tokens)| OrgSummary {
                        org: Org::from(OrgRow { id, name, created_at }),
                        api_keys: keys as u64,
                        clients: clients as u64,
                        tokens: tokens as u64,
                    })
                    .collect())
            }

            async fn list_api_keys(&self, org_id: &OrgId) -> Result<Vec<ApiKey>> {
                let rows: Vec<ApiKeyRow> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE org_id = $1 ORDER BY created_at, id"
                )))
                .bind(org_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(ApiKey::try_from).collect()
            }

            async fn insert_api_key(&self, k: &ApiKey) -> Result<()> {
                let sql = sqlgen::insert("api_keys", API_KEY_COLUMNS, 1, ApiKeyRow::COUNT);
                ApiKeyRow::from(k)
                    .bind(sqlx::query(AssertSqlSafe(sql)))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn find_api_key(&self, prefix: &str) -> Result<Option<ApiKey>> {
                let row: Option<ApiKeyRow> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE prefix = $1"
                )))
                .bind(prefix)
                .fetch_optional(&self.pool)
                .await?;
                row.map(ApiKey::try_from).transpose()
            }

            async fn touch_api_key(&self, id: &KeyId, at: Timestamp) -> Result<()> {
                sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                    .bind(at.micros())
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn revoke_api_key(&self, org_id: &OrgId, id: &KeyId, at: Timestamp) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE org_id = $2 AND id = $3",
                )
                .bind(at.micros())
                .bind(org_id)
                .bind(id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn insert_client(&self, c: &Client, secret_hash: Option<&[u8]>) -> Result<()> {
                let columns = format!("{CLIENT_COLUMNS}, secret_hash");
                let sql = sqlgen::insert("clients", &columns, 1, ClientRow::COUNT + 1);
                let mut tx = self.begin_recorded(&c.org_id, $crate::store::versions::WriteLocks::shared()).await?;
                ClientRow::from(c)
                    .bind(sqlx::query(AssertSqlSafe(sql)))
                    .bind(secret_hash)
                    .execute(&mut *tx)
                    .await?;
                let change = changes::change(ChangeKind::Created, None, Some(c));
                self.commit_changes(tx, &c.org_id, &[change]).await?;
                Ok(())
            }

            async fn get_client(&self, org_id: &OrgId, id: &ClientId) -> Result<Option<Client>> {
                let mut conn = self.pool.acquire().await?;
                Self::fetch_client(&mut conn, org_id, id).await
            }

            async fn get_clients(&self, org_id: &OrgId, ids: &[ClientId]) -> Result<Vec<Client>> {
                // One bound parameter per id, each id once (in two IN
                // lists it would come back twice); callers pass a page's worth.
                let mut ids = ids.to_vec();
                ids.sort();
                ids.dedup();
                let mut clients = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(sqlgen::MAX_IN_LIST) {
                    let sql = sqlgen::clients_by_id($engine, org_id, chunk);
                    clients.append(&mut self.query_clients(sql).await?);
                }
                Ok(clients)
            }

            async fn update_client(&self, org_id: &OrgId, id: &ClientId, patch: &ClientPatch, now: Timestamp, expect: Preconditions) -> Result<Option<Client>> {
                self.recorded_update_client(org_id, id, patch, now, expect).await
            }

            async fn delete_client(&self, org_id: &OrgId, id: &ClientId, force: bool, expect: Preconditions) -> Result<DeleteClientOutcome> {
                self.recorded_delete_client(org_id, id, force, expect).await
            }

            async fn list_clients(&self, q: &ClientQuery) -> Result<Vec<Client>> {
                let sql = sqlgen::list_clients($engine, q);
                let rows: Vec<ClientRow> = bind_params!(sqlx::query_as(AssertSqlSafe(sql.text)), sql.params)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(Client::try_from).collect()
            }

            async fn count_clients(&self, org_id: &OrgId, f: &ClientFilter) -> Result<u64> {
                self.query_count(sqlgen::count_clients($engine, org_id, f)).await
            }

            async fn insert_tokens(&self, rows: &[NewTokenRow]) -> Result<()> {
                self.recorded_insert_tokens(rows).await
            }

            async fn bulk_load_tokens(&self, batches: $crate::store::bulk::TokenBatches) -> Result<u64> {
                self.bulk_load(batches).await
            }

            async fn get_token(&self, org_id: &OrgId, id: &TokenId) -> Result<Option<Token>> {
                let sql = sqlgen::token_by_id($engine, org_id, id);
                Ok(self.query_tokens(sql).await?.pop())
            }

            async fn find_token_by_secret(&self, org_id: &OrgId, secret_hash: &[u8]) -> Result<Option<(Token, Vec<u8>)>> {
                use sqlx::Row;
                let row = sqlx::query(AssertSqlSafe(format!(
                    "SELECT {TOKEN_COLUMNS}, secret_hash FROM tokens WHERE org_id = $1 AND secret_hash = $2"
                )))
                .bind(org_id)
                .bind(secret_hash)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let stored: Vec<u8> = row.try_get("secret_hash")?;
                let token = Token::try_from(<TokenRow as sqlx::FromRow<_>>::from_row(&row)?)?;
                Ok(Some((token, stored)))
            }

            async fn update_token(&self, org_id: &OrgId, id: &TokenId, patch: &TokenPatch, now: Timestamp, expect: Preconditions) -> Result<Option<Token>> {
                self.recorded_update_token(org_id, id, patch, now, expect).await
            }

            async fn revoke_token(&self, org_id: &OrgId, id: &TokenId, at: Timestamp) -> Result<Option<Token>> {
                self.recorded_revoke_token(org_id, id, at).await
            }

            async fn delete_token(&self, org_id: &OrgId, id: &TokenId, expect: Preconditions) -> Result<bool> {
                self.recorded_delete_token(org_id, id, expect).await
            }

            async fn org_ids(&self) -> Result<Vec<OrgId>> {
                Ok(sqlx::query_scalar("SELECT id FROM orgs ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn sweep_tokens(&self, org_id: &OrgId, before: Timestamp, limit: u32) -> Result<u64> {
                self.recorded_sweep_tokens(org_id, before, limit).await
            }

            async fn list_tokens(&self, q: &TokenQuery) -> Result<Vec<Token>> {
                self.query_tokens(sqlgen::list_tokens($engine, q)).await
            }

            async fn list_tokens_at(&self, q: &TokenQuery) -> Result<(Version, Vec<Token>)> {
                self.query_tokens_at(q).await
            }

            async fn count_tokens(&self, org_id: &OrgId, f: &TokenFilter, now: Timestamp) -> Result<u64> {
                self.query_count(sqlgen::count_tokens($engine, org_id, f, now)).await
            }

            async fn insert_audit_events(&self, events: &[$crate::domain::audit::AuditEvent]) -> Result<()> {
                self.audit_insert_batch(events).await
            }

            async fn list_audit_events(&self, org_id: &OrgId, q: &$crate::domain::audit::AuditQuery) -> Result<Vec<$crate::domain::audit::AuditEvent>> {
                self.audit_list(org_id, q).await
            }

            async fn trim_audit_events(&self, before: Timestamp, limit: u32) -> Result<u64> {
                self.audit_trim(before, limit).await
            }

            async fn count_bulk(&self, s: &$crate::domain::bulk::BulkSelection) -> Result<u64> {
                self.bulk_count(s).await
            }

            async fn sample_bulk(&self, s: &$crate::domain::bulk::BulkSelection, limit: u32) -> Result<Vec<Token>> {
                self.bulk_sample(s, limit).await
            }

            async fn find_bulk_job(&self, org_id: &OrgId, id: &str) -> Result<Option<$crate::domain::bulk::BulkJob>> {
                self.bulk_find_job(org_id, id).await
            }

            async fn start_bulk_job(&self, s: &$crate::domain::bulk::BulkSelection, id: &str, matched: u64, acted_at: Timestamp) -> Result<$crate::domain::bulk::BulkJob> {
                self.bulk_start_job(s, id, matched, acted_at).await
            }

            async fn bulk_batch(&self, s: &$crate::domain::bulk::BulkSelection, id: &str, acted_at: Timestamp, limit: u32) -> Result<Option<u64>> {
                self.bulk_run_batch(s, id, acted_at, limit).await
            }

            async fn read_version(&self, org_id: &OrgId) -> Result<Version> {
                Ok(Version(self.read_feed_state(org_id).await?.version()))
            }

            async fn status_window(&self, org_id: &OrgId, at: Timestamp) -> Result<$crate::domain::freshness::StatusWindow> {
                let t = |us: Option<i64>| us.map(Timestamp::from_micros);
                let (a, b, c, d): (Option<i64>, Option<i64>, Option<i64>, Option<i64>) =
                    sqlx::query_as(sqlgen::STATUS_WINDOW).bind(org_id).bind(at.micros()).fetch_one(&self.pool).await?;
                Ok($crate::domain::freshness::StatusWindow::around(t(a), t(b), t(c), t(d)))
            }

            fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<$crate::domain::change::FeedMoved> {
                self.listen_for_changes();
                self.signals.subscribe()
            }

            async fn settle(&self) {
                self.settle_announcements().await
            }

            async fn keep_statistics(&self) -> Result<Vec<String>> {
                self.keep_planner_statistics().await
            }

            async fn trim_changes(&self, org_id: &OrgId, older_than: Timestamp, keep: u64, limit: u32) -> Result<u64> {
                let by_time = self.version_before(org_id, older_than).await?;
                let by_count = self.version_keeping(org_id, keep).await?;
                self.trim_feed(org_id, by_time.max(by_count), limit).await
            }

            async fn token_changes(&self, org_id: &OrgId, after: Version, limit: u32) -> Result<ChangePage<Token>> {
                let read = self.read_changes(org_id, $crate::domain::change::ResourceKind::Token, after.0, limit).await?;
                changes::decode(org_id, read, TokenRow::from_json)
            }

            async fn client_changes(&self, org_id: &OrgId, after: Version, limit: u32) -> Result<ChangePage<Client>> {
                let read = self.read_changes(org_id, $crate::domain::change::ResourceKind::Client, after.0, limit).await?;
                changes::decode(org_id, read, ClientRow::from_json)
            }
        }
    };
}

pub(crate) use {bind_params, sql_store};
