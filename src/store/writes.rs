//! The writes of tokens and clients that record change events, shared by
//! both backends like `sql_store!` (which delegates to them): each begins
//! holding the locks its rows need (`versions.rs`), reads what it changes,
//! writes, and appends the change's events last, in one transaction. A
//! conditional write (`expect`) checks the resource's etag as it reads it
//! and the organization's version just before that append
//! (`expect_version`).

macro_rules! recorded_writes {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Begins a recorded write of `org_id` holding `locks`
            /// (`versions.rs`: PostgreSQL takes them in its `BEGIN`, before
            /// the transaction has an id; SQLite takes its write lock).
            async fn begin_recorded(&self, org_id: &OrgId, locks: $crate::store::versions::WriteLocks) -> Result<$crate::store::write_tx::WriteTx<$db>> {
                match Self::ENGINE {
                    $crate::store::sql::Engine::Sqlite => self.begin_write().await,
                    $crate::store::sql::Engine::Postgres => {
                        let begin = locks.begin(Self::ENGINE, org_id);
                        Ok($crate::store::write_tx::WriteTx::ungated(self.pool.begin_with(AssertSqlSafe(begin)).await?))
                    }
                }
            }

            /// Refuses the write in `tx` unless `org_id` is still at
            /// `expect.version` (if any). No write of the organization can commit between
            /// this check and the commit: SQLite's write lock is held, and
            /// on PostgreSQL a conditional write holds the organization's
            /// advisory lock exclusively (`WriteLocks::exclusive_if`), so
            /// every other writer has committed or waits. A watermark
            /// (`Version::is_watermark`) never matches there.
            async fn expect_version(conn: &mut <$db as sqlx::Database>::Connection, org_id: &OrgId, expect: &Preconditions) -> Result<()> {
                let Some(expect) = expect.version else { return Ok(()) };
                let state = Self::feed_state(&mut *conn, org_id).await?;
                let current = match Self::ENGINE {
                    $crate::store::sql::Engine::Postgres => state.top.unwrap_or(state.floor),
                    $crate::store::sql::Engine::Sqlite => state.version(),
                };
                let exact = Self::ENGINE == $crate::store::sql::Engine::Sqlite || expect.is_exact();
                if exact && current == expect.0 {
                    Ok(())
                } else {
                    Err($crate::domain::freshness::stale(expect))
                }
            }

            async fn recorded_update_client(&self, org_id: &OrgId, id: &ClientId, patch: &ClientPatch, now: Timestamp, expect: Preconditions) -> Result<Option<Client>> {
                let locks = $crate::store::versions::WriteLocks::exclusive_if(expect.needs_org_lock()).row(org_id, $crate::domain::change::ResourceKind::Client, id.as_str());
                let mut tx = self.begin_recorded(org_id, locks).await?;
                let Some(mut c) = Self::fetch_client(&mut tx, org_id, id).await? else {
                    return Ok(None);
                };
                expect.check_etag("client", &c.etag())?;
                let before = c.clone();
                patch.apply(&mut c, now);
                sqlx::query(
                    "UPDATE clients SET name = $1, grant_types = $2, response_types = $3, scopes = $4, \
                     redirect_uris = $5, access_token_duration = $6, refresh_token_duration = $7, updated_at = $8 \
                     WHERE org_id = $9 AND id = $10",
                )
                .bind(&c.name)
                .bind(to_json_list(&c.grant_types))
                .bind(to_json_list(&c.response_types))
                .bind(to_json_list(&c.scopes))
                .bind(to_json_list(&c.redirect_uris))
                .bind(c.access_token_duration)
                .bind(c.refresh_token_duration)
                .bind(c.updated_at.micros())
                .bind(org_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let change = changes::change(ChangeKind::Updated, Some(&before), Some(&c));
                Self::expect_version(&mut tx, org_id, &expect).await?;
                self.commit_changes(tx, org_id, &[change]).await?;
                Ok(Some(c))
            }

            async fn recorded_delete_client(&self, org_id: &OrgId, id: &ClientId, force: bool, expect: Preconditions) -> Result<DeleteClientOutcome> {
                // A forced delete removes tokens it has not locked one by one.
                let locks = $crate::store::versions::WriteLocks::exclusive_if(force || expect.needs_org_lock()).row(org_id, $crate::domain::change::ResourceKind::Client, id.as_str());
                let mut tx = self.begin_recorded(org_id, locks).await?;
                let Some(client) = Self::fetch_client(&mut tx, org_id, id).await? else {
                    return Ok(DeleteClientOutcome::NotFound);
                };
                expect.check_etag("client", &client.etag())?;
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE org_id = $1 AND client_id = $2")
                    .bind(org_id)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                if n > 0 && !force {
                    return Ok(DeleteClientOutcome::HasTokens(n as u64));
                }
                let tokens: Vec<TokenRow> = sqlx::query_as(AssertSqlSafe(format!(
                    "DELETE FROM tokens WHERE org_id = $1 AND client_id = $2 RETURNING {TOKEN_COLUMNS}"
                )))
                .bind(org_id)
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM clients WHERE org_id = $1 AND id = $2")
                    .bind(org_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let mut records = Vec::with_capacity(tokens.len() + 1);
                for row in tokens {
                    let t = Token::try_from(row)?;
                    records.push(changes::change(ChangeKind::Deleted, Some(&t), None));
                }
                records.push(changes::change(ChangeKind::Deleted, Some(&client), None));
                Self::expect_version(&mut tx, org_id, &expect).await?;
                self.commit_changes(tx, org_id, &records).await?;
                Ok(DeleteClientOutcome::Deleted)
            }

            async fn recorded_insert_tokens(&self, rows: &[NewTokenRow]) -> Result<()> {
                let Some(first) = rows.first() else {
                    return Ok(());
                };
                let org_id = &first.token.org_id;
                if rows.iter().any(|r| &r.token.org_id != org_id) {
                    return Err(crate::domain::Error::Internal("tokens of several organizations in one insert".into()));
                }
                if let [one] = rows
                    && self.try_create_in_one_hop(one).await?
                {
                    self.announce(org_id);
                    return Ok(());
                }
                let mut locks = $crate::store::versions::WriteLocks::shared();
                if let [one] = rows
                    && let Some(client_id) = &one.token.client_id
                {
                    // The create below updates the client's `last_used`.
                    locks = locks.row(org_id, $crate::domain::change::ResourceKind::Client, client_id.as_str());
                }
                let mut tx = self.begin_recorded(org_id, locks).await?;
                // One token goes in with its event, one round trip.
                let lead = match rows {
                    [one] => Some(one),
                    _ => {
                        Self::insert_rows(&mut tx, rows).await?;
                        None
                    }
                };
                let mut records: Vec<_> = rows
                    .iter()
                    .map(|r| changes::change(ChangeKind::Created, None, Some(&r.token)))
                    .collect();
                // A single create marks its client as used (a client
                // change too); bulk loads (seed) set `last_used` themselves.
                if let [one] = rows {
                    if let Some(client_id) = &one.token.client_id {
                        let before = Self::fetch_client(&mut tx, org_id, client_id).await?;
                        sqlx::query("UPDATE clients SET last_used = $1 WHERE org_id = $2 AND id = $3")
                            .bind(one.token.created_at.micros())
                            .bind(org_id)
                            .bind(client_id)
                            .execute(&mut *tx)
                            .await?;
                        if let Some(before) = before {
                            let mut after = before.clone();
                            after.last_used = Some(one.token.created_at);
                            records.push(changes::change(ChangeKind::Updated, Some(&before), Some(&after)));
                        }
                    }
                }
                self.commit_changes_after(tx, org_id, &records, lead).await?;
                Ok(())
            }

            async fn recorded_update_token(&self, org_id: &OrgId, id: &TokenId, patch: &TokenPatch, now: Timestamp, expect: Preconditions) -> Result<Option<Token>> {
                let locks = $crate::store::versions::WriteLocks::exclusive_if(expect.needs_org_lock()).row(org_id, $crate::domain::change::ResourceKind::Token, id.as_str());
                let mut tx = self.begin_recorded(org_id, locks).await?;
                let Some(mut t) = Self::fetch_token(&mut tx, org_id, id).await? else {
                    return Ok(None);
                };
                expect.check_etag("token", &t.etag())?;
                let before = t.clone();
                patch.apply(&mut t, now);
                sqlx::query(
                    "UPDATE tokens SET name = $1, description = $2, scopes = $3, default_role = $4, audience = $5, \
                     expires_at = $6, updated_at = $7 WHERE org_id = $8 AND id = $9",
                )
                .bind(&t.name)
                .bind(&t.description)
                .bind(to_json_list(&t.scopes))
                .bind(&t.default_role)
                .bind(&t.audience)
                .bind(t.expires_at.micros())
                .bind(t.updated_at.micros())
                .bind(org_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let change = changes::change(ChangeKind::Updated, Some(&before), Some(&t));
                Self::expect_version(&mut tx, org_id, &expect).await?;
                self.commit_changes(tx, org_id, &[change]).await?;
                Ok(Some(t))
            }

            async fn recorded_revoke_token(&self, org_id: &OrgId, id: &TokenId, at: Timestamp) -> Result<Option<Token>> {
                let locks = $crate::store::versions::WriteLocks::shared().row(org_id, $crate::domain::change::ResourceKind::Token, id.as_str());
                let mut tx = self.begin_recorded(org_id, locks).await?;
                let Some(before) = Self::fetch_token(&mut tx, org_id, id).await? else {
                    return Ok(None);
                };
                if before.revoked_at.is_some() {
                    // Revoking again changes nothing, and records nothing.
                    return Ok(Some(before));
                }
                sqlx::query(
                    "UPDATE tokens SET revoked_at = $1, updated_at = $1 \
                     WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL",
                )
                .bind(at.micros())
                .bind(org_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let t = Self::fetch_token(&mut tx, org_id, id).await?;
                let change = changes::change(ChangeKind::Revoked, Some(&before), t.as_ref());
                self.commit_changes(tx, org_id, &[change]).await?;
                Ok(t)
            }

            async fn recorded_delete_token(&self, org_id: &OrgId, id: &TokenId, expect: Preconditions) -> Result<bool> {
                let locks = $crate::store::versions::WriteLocks::exclusive_if(expect.needs_org_lock()).row(org_id, $crate::domain::change::ResourceKind::Token, id.as_str());
                let mut tx = self.begin_recorded(org_id, locks).await?;
                let row: Option<TokenRow> = sqlx::query_as(AssertSqlSafe(format!(
                    "DELETE FROM tokens WHERE org_id = $1 AND id = $2 RETURNING {TOKEN_COLUMNS}"
                )))
                .bind(org_id)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    return Ok(false);
                };
                let before = Token::try_from(row)?;
                // Refused: the transaction rolls back, the row stays.
                expect.check_etag("token", &before.etag())?;
                let change = changes::change(ChangeKind::Deleted, Some(&before), None);
                Self::expect_version(&mut tx, org_id, &expect).await?;
                self.commit_changes(tx, org_id, &[change]).await?;
                Ok(true)
            }

            async fn recorded_sweep_tokens(&self, org_id: &OrgId, before: Timestamp, limit: u32) -> Result<u64> {
                // Each branch is an index range (expires_at; the revoked
                // partial index), and the LIMIT keeps the write short. The
                // ids are picked first and locked (`versions.rs`), then
                // deleted if they still qualify.
                let pick = format!(
                    "SELECT id FROM tokens WHERE org_id = $1 AND expires_at < $2 \
                     UNION SELECT id FROM tokens WHERE org_id = $1 AND revoked_at IS NOT NULL AND revoked_at < $2 \
                     LIMIT {limit}"
                );
                let ids: Vec<String> = sqlx::query_scalar(AssertSqlSafe(pick))
                    .bind(org_id)
                    .bind(before.micros())
                    .fetch_all(&self.pool)
                    .await?;
                if ids.is_empty() {
                    return Ok(0);
                }
                let locks = $crate::store::versions::WriteLocks::shared().rows(org_id, $crate::domain::change::ResourceKind::Token, ids.iter().map(String::as_str));
                let list = (0..ids.len()).map(|i| format!("${}", i + 3)).collect::<Vec<_>>().join(", ");
                let sql = format!(
                    "DELETE FROM tokens WHERE org_id = $1 AND id IN ({list}) \
                     AND (expires_at < $2 OR (revoked_at IS NOT NULL AND revoked_at < $2)) \
                     RETURNING {TOKEN_COLUMNS}"
                );
                let mut tx = self.begin_recorded(org_id, locks).await?;
                let mut q = sqlx::query_as::<_, TokenRow>(AssertSqlSafe(sql)).bind(org_id).bind(before.micros());
                for id in &ids {
                    q = q.bind(id.as_str());
                }
                let rows: Vec<TokenRow> = q.fetch_all(&mut *tx).await?;
                let swept = rows.len() as u64;
                let records = rows
                    .into_iter()
                    .map(|row| Token::try_from(row).map(|t| changes::change(ChangeKind::Deleted, Some(&t), None)))
                    .collect::<Result<Vec<_>>>()?;
                self.commit_changes(tx, org_id, &records).await?;
                Ok(swept)
            }
        }
    };
}

pub(crate) use recorded_writes;
